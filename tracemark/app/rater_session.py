"""Rating a cache as one rater: what an :class:`~.annotation_session.AnnotationSession`
hands to this module in rater mode.

In rater mode the rater-keyed attributes (``RATER_KEYS``: reject, reviewed, onset shift,
the peaks, comment) are this rater's own: they are read from and written to the rater's
journal through the cache package's ``RaterSession`` (one journal per rater beside the
cache, see docs/cache-format.md, "Raters"), with undo and redo over that journal. The cache
itself is open read-only meanwhile, so rating never takes the cache's writer lock and no
rater blocks another. Every view (table, editor, plots, viewer link) is fed the trace's
attributes with the plain rater keys replaced by this rater's values (:meth:`overlay`), so
what a rater sees is what they decided, never the consensus or someone else's choice.

Blind review: the other raters' values of a trace are handed out (:meth:`others`) only
once this rater has finished or has asked to see them (:meth:`set_revealed`).

No Qt here: the session's timer calls :meth:`poll`, which says which traces changed
(another instance of this rater, or another rater while they are shown).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tracemark.domain import trace_attributes as keys
from tracemark.domain.review import UNREVIEWED, review_state
from tracemark.domain.trace_attributes import RATER_KEYS
from tracemark.io_backends.cache import CacheFile, CacheValueError
from tracemark.io_backends.cache.rater_files import raters_folder
from tracemark.io_backends.cache.raters import RaterSession, Ratings, read_ratings

#: Keys the editor sends along with a rater's values that are not the rater's to write:
#: the rater's name is recorded with every record of their journal, and the channel the
#: peaks were read on is the cache's, changed by whoever holds the cache.
RIDING_KEYS = frozenset({keys.EXAMINER, keys.CHANNEL_OF_INTEREST})


def has_raters(cache_path: str | Path) -> bool:
    """Whether the cache at ``cache_path`` is rated by raters (its raters folder exists)."""
    return raters_folder(Path(cache_path).absolute()).is_dir()


class RaterMode:
    """One rater's view of, and writes to, one open cache (see the module docstring)."""

    def __init__(self, cache_path: str | Path, rater: str | RaterSession):
        self.path = Path(cache_path)
        self.session = rater if isinstance(rater, RaterSession) else RaterSession(self.path, rater)
        self.revealed = False
        #: This session wrote a rating: closing may publish it (a file copy, see ``close``).
        self.wrote = False
        #: Everyone's values at the last poll, to tell which traces changed since.
        self._polled: Ratings | None = None

    # -- who and what ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.session.rater

    @property
    def writable(self) -> bool:
        return bool(self.session.writable)

    @property
    def read_only_reason(self) -> str | None:
        return self.session.read_only_reason

    @property
    def finished(self) -> bool:
        return bool(self.session.finished)

    @property
    def others_visible(self) -> bool:
        """Blind until this rater has finished, unless they asked to see the others (the
        rule of ``RaterSession.visible_others``)."""
        return self.revealed or self.finished

    def describe(self) -> str:
        """A short line for the status bar."""
        access = "" if self.writable else f" (read-only: {self.read_only_reason})"
        blind = ("other raters shown" if self.others_visible else "blind: other raters hidden")
        finished = ", finished" if self.finished else ""
        return f"Rating as {self.name}{finished}; {blind}{access}"

    # -- reading -------------------------------------------------------------------------------
    def own(self, index: int) -> dict[str, Any]:
        return dict(self.session.values(index))

    def overlay(self, index: int, attrs: Mapping[str, Any],
                own: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``attrs`` of trace ``index`` with the rater keys this rater's own: a key they
        have not set reads as its default (so an unrated trace shows unreviewed)."""
        own = self.own(index) if own is None else own
        shown = {k: v for k, v in attrs.items() if k not in RATER_KEYS and k != keys.EXAMINER}
        shown.update(own)
        if review_state(own) is not UNREVIEWED:
            shown[keys.EXAMINER] = self.name   # who decided, as far as this rater sees
        return shown

    def own_values(self) -> dict[int, dict[str, Any]]:
        """This rater's values of every trace they have set, read afresh from the journals
        (no shared state: safe on a worker thread while the GUI thread edits)."""
        ratings = read_ratings(self.path)
        if self.name not in ratings.raters:
            return {}
        return {int(i): dict(v) for i, v in ratings.values(self.name).items()}

    def others(self, index: int) -> dict[str, dict[str, Any]]:
        """The other raters' values of trace ``index`` (rater -> values), or nothing while
        this rater reviews blind."""
        if not self.others_visible:
            return {}
        ratings = self.session.ratings()   # read again only after a change (refresh)
        shown = {}
        for rater in ratings.raters:
            if rater != self.name:
                values = {key: ratings.value(rater, index, key) for key in RATER_KEYS}
                shown[rater] = {key: value for key, value in values.items() if value is not None}
        return shown

    # -- writing -------------------------------------------------------------------------------
    def commit(self, index: int, values: Mapping[str, Any], note: str = "") -> dict[str, Any]:
        """Write this rater's part of ``values`` (durable on return). The keys riding along
        that are not a rater's (examiner, channel of interest) are left out; an edit of
        nothing but other keys is refused, naming the file."""
        mine = {k: v for k, v in values.items() if k in RATER_KEYS}
        others = sorted(k for k in values if k not in RATER_KEYS and k not in RIDING_KEYS)
        if others or not mine:
            wanted = ", ".join(others or sorted(values)) or "nothing"
            raise CacheValueError(self.path, f"is rated by raters: as {self.name} you set "
                                             f"only your own {', '.join(RATER_KEYS)}; "
                                             f"{wanted} was not written")
        committed = dict(self.session.commit(index, mine, note=note))
        self.wrote = True
        return committed

    def undo(self) -> list[int]:
        changed = list(self.session.undo())
        self.wrote = self.wrote or bool(changed)
        return changed

    def redo(self) -> list[int]:
        changed = list(self.session.redo())
        self.wrote = self.wrote or bool(changed)
        return changed

    @property
    def can_undo(self) -> bool:
        return self.writable and bool(self.session.can_undo)

    @property
    def can_redo(self) -> bool:
        return self.writable and bool(self.session.can_redo)

    def finish(self) -> None:
        """Mark this rater finished: the others' values become visible to them."""
        self.session.finish()

    def set_revealed(self, revealed: bool) -> None:
        self.revealed = bool(revealed)

    # -- following the others ------------------------------------------------------------------
    def poll(self) -> list[int]:
        """Traces whose shown values changed since the last poll: this rater's own, when
        another instance of them holds their journal; the others', while they are shown."""
        if self.writable and not self.others_visible:   # nothing shown can change elsewhere
            self._polled = None
            return []
        if not self.session.refresh() and self._polled is not None:
            return []
        before, after = self._polled, self.session.ratings()
        self._polled = after
        if before is None:
            return []
        changed: set[int] = set()
        for rater in set(before.raters) | set(after.raters):
            own = rater == self.name
            if (own and not self.writable) or (not own and self.others_visible):
                changed |= _changed(_values(before, rater), _values(after, rater))
        return sorted(changed)

    def close(self) -> None:
        """Release the rater's journal. The only rater of a cache has their values copied
        into its plain attributes here, when its writer lock is free (``RaterSession.close``):
        a checkpoint, which is why a session that wrote is closed on a worker."""
        self.session.close()


def _values(ratings, rater: str) -> Mapping[int, Mapping[str, Any]]:
    return ratings.values(rater) if rater in ratings.raters else {}


def _changed(before: Mapping[int, Mapping[str, Any]], after: Mapping[int, Mapping[str, Any]]) -> set[int]:
    return {i for i in set(before) | set(after) if dict(before.get(i, {})) != dict(after.get(i, {}))}


def open_for_review(path: Path, rater: str | None):
    """The cache at ``path`` opened for the review loop, and the rater mode (or None). As
    ``rater``, the cache is opened read-only (rating never takes its writer lock) and the
    rater's journal beside it; else with ``mode="auto"`` as ever. Runs on a worker."""
    if rater is None:
        return CacheFile(path, mode="auto"), None
    cache = CacheFile(path, mode="r")
    try:
        return cache, RaterMode(path, rater)
    except BaseException:
        cache.close()
        raise
