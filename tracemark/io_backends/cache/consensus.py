"""The values everyone else reads: a consensus of several raters, or the one rater's values.

Both write the cache's plain trace attributes (``reject``, ``onset_shift``, ...) through
the one write path of :class:`~.cachefile.CacheFile`, under the cache's writer lock, and
checkpoint them into the HDF5 file when they close, so that plots, exports and
offspect-style readers, which know nothing of raters, read them as plain attributes.

:func:`adjudicate` records what an adjudicator settled on one trace, with
``consensus_by`` (the adjudicator) and ``consensus_raters`` (whose decisions it settled).
:func:`publish_single_rater` copies the values of a cache's only rater into the plain keys
when nobody adjudicated anything (a cache with one rater needs no consensus).

Before any plain value changes the raters folder exists, so the values from before
raters were kept in ``legacy.json`` (:func:`.rater_files.ensure_folder`): overwriting
the plain keys never loses the legacy rater's decisions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tracemark.domain import trace_attributes as keys

from .cachefile import CacheFile
from .errors import CacheLockedError, CacheValueError
from .rater_files import RATER_KEYS, CacheFacts, check_rater_name, ensure_folder
from .ratings import encode_consensus_raters, read_ratings


def adjudicate(cache_path: str | os.PathLike[str], index: int, values: Mapping[str, Any],
               adjudicator: str, raters: Iterable[str], lock_timeout: float = 5.0, *,
               cache: CacheFile | None = None) -> None:
    """Write the consensus ``values`` of trace ``index`` as its plain attributes, with
    ``consensus_by = adjudicator`` and ``consensus_raters = raters``; durable on return.
    A settled trace is decided, so ``reviewed`` is set true unless ``values`` say otherwise.

    Waits up to ``lock_timeout`` s for the cache's writer lock (:class:`CacheLockedError`
    after it), or writes through ``cache``, a :class:`CacheFile` of the same file this
    process already has open (a window holding the writer lock). Keys outside
    :data:`RATER_KEYS`, unknown raters and values the schema refuses raise
    :class:`CacheValueError`; nothing is written then."""
    path = Path(cache_path).expanduser().absolute()
    adjudicator = check_rater_name(adjudicator, path)
    settled = [check_rater_name(name, path) for name in raters]
    if not settled:
        raise CacheValueError(path, "a consensus settles the decisions of at least one rater; "
                                    "nothing was written")
    _check_rater_keys(path, index, values)
    known = read_ratings(path).raters
    unknown = [name for name in settled if name not in known]
    if unknown:
        raise CacheValueError(path, f"{unknown[0]!r} has not rated this cache (its raters: "
                                    f"{', '.join(known) or 'none'}); nothing was written")
    edit = {keys.REVIEWED: True, **values, keys.CONSENSUS_BY: adjudicator,
            keys.CONSENSUS_RATERS: encode_consensus_raters(settled)}
    note = f"consensus by {adjudicator}"
    if cache is not None:
        _check_same_file(cache, path)
        ensure_folder(cache, CacheFacts.of(cache))
        cache.update(index, edit, note=note)
        return
    with CacheFile(path, mode="w", lock_timeout=lock_timeout) as writer:
        ensure_folder(writer, CacheFacts.of(writer))
        writer.update(index, edit, note=note)


def publish_single_rater(cache_path: str | os.PathLike[str], lock_timeout: float = 0.0, *,
                         cache: CacheFile | None = None) -> bool:
    """Copy the values of the cache's only rater into its plain attributes; ``True`` once
    the plain attributes hold them. ``False``, writing nothing, when the cache has no rater
    with a journal, more than one rater, any adjudicated trace, or when its writer lock
    stays busy for ``lock_timeout`` s. ``cache``: write through this open
    :class:`CacheFile` of the same file instead of opening one.

    A key the rater has no value for (after undoing their only rating of it) keeps its
    plain value: there is no decision of theirs to publish."""
    path = Path(cache_path).expanduser().absolute()
    ratings = read_ratings(path)
    if len(ratings.raters) != 1 or not ratings.journal_raters or ratings.consensus_indexes:
        return False
    rater = ratings.raters[0]
    edits = [(index, found) for index, found in ratings.values(rater).items() if found]
    note = f"values of the only rater, {rater}"
    if cache is not None:
        _check_same_file(cache, path)
        cache.apply_edits(edits, note=note)
        return True
    try:
        with CacheFile(path, mode="w", lock_timeout=lock_timeout) as writer:
            writer.apply_edits(edits, note=note)
    except CacheLockedError:
        return False
    return True


def _check_same_file(cache: CacheFile, path: Path) -> None:
    if cache.path != path:
        raise CacheValueError(path, f"the open cache given is {cache.path}, not this file; "
                                    f"nothing was written")


def _check_rater_keys(path: Path, index: int, values: Mapping[str, Any]) -> None:
    if not values:
        raise CacheValueError(path, f"trace {index}: a consensus needs at least one value; "
                                    f"nothing was written")
    for key in values:
        if key not in RATER_KEYS:
            raise CacheValueError(path, f"trace {index}: {key!r} is not a rater's attribute "
                                        f"({', '.join(RATER_KEYS)}); nothing was written")
