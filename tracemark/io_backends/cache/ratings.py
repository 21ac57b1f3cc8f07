"""Every rater's values of a cache, folded together on read: :func:`read_ratings`.

Reads the cache (read-only), ``legacy.json`` and each rater's journal in its raters folder
(``docs/cache-format.md``, "Raters"), without taking any lock: raters keep rating
meanwhile, and a record they are appending is either whole and read, or not yet read.
Nothing is hidden here; a rater's blind view is :meth:`.raters.RaterSession.visible_others`.
Reading again in the same process continues each journal where the last read stopped.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracemark.domain import trace_attributes as keys
from tracemark.domain.review import UNREVIEWED, review_state

from . import schema
from .cachefile import CacheFile
from .rater_files import (
    JOURNAL_SUFFIX,
    LEGACY_FILE,
    RATER_KEYS,
    CacheFacts,
    Legacy,
    RaterLog,
    StoredValues,
    legacy_values,
    rater_journal_path,
    raters_folder,
    read_legacy_file,
    read_log,
)

_CONSENSUS_RATERS_SPEC = schema.KeySpec(keys.CONSENSUS_RATERS, schema.STRLIST)


@dataclass(frozen=True)
class Ratings:
    """Each rater's decoded values per trace index, who finished, and the consensus.

    ``raters`` lists everyone with values: each rater with a journal and the rater the
    values from before raters are attributed to (``legacy_rater``), sorted by name.
    """

    raters: list[str]
    legacy_rater: str | None
    _values: Mapping[str, dict[int, dict[str, Any]]]
    _finished: Mapping[str, bool]
    _consensus: Mapping[int, dict[str, Any]]
    #: Raters with a journal in the raters folder (the legacy rater only once they rated).
    journal_raters: list[str] = field(default_factory=list)
    #: What could not be read and was left out, one sentence each.
    problems: list[str] = field(default_factory=list)

    def values(self, rater: str) -> dict[int, dict[str, Any]]:
        """``{trace index: {key: decoded value}}`` of the traces ``rater`` has values for."""
        return {index: dict(found) for index, found in self._values.get(rater, {}).items()}

    def value(self, rater: str, index: int, key: str) -> Any | None:
        return self._values.get(rater, {}).get(index, {}).get(key)

    def finished(self, rater: str) -> bool:
        return self._finished.get(rater, False)

    def reviewed_count(self, rater: str) -> int:
        """Traces ``rater`` has decided on: accepted or rejected (:func:`review_state`)."""
        return sum(review_state(found) is not UNREVIEWED
                   for found in self._values.get(rater, {}).values())

    def consensus(self, index: int) -> dict[str, Any] | None:
        """The adjudicated values of a trace (its plain rater keys, ``consensus_by`` and
        ``consensus_raters`` as a list), or ``None`` when nobody adjudicated it."""
        found = self._consensus.get(index)
        return None if found is None else dict(found)

    @property
    def consensus_indexes(self) -> list[int]:
        return sorted(self._consensus)

    @property
    def has_raters_folder(self) -> bool:
        """Whether raters have started on this cache (what adds rater columns to exports)."""
        return bool(self.journal_raters)


def read_ratings(cache_path: str | os.PathLike[str]) -> Ratings:
    """Fold every rater's journal of the cache at ``cache_path`` (see the module docstring).
    Costs one read of the cache's rater keys and of each rater's journal."""
    path = Path(cache_path).expanduser().absolute()
    with CacheFile(path, mode="r") as cache:
        facts = CacheFacts.of(cache)
        folder = raters_folder(path)
        legacy = read_legacy_file(folder) if folder.is_dir() else Legacy(*legacy_values(cache, facts))
        plain = cache.load_only([*RATER_KEYS, keys.CONSENSUS_BY, keys.CONSENSUS_RATERS], raw=True)
    problems = [legacy.problem] if legacy.problem else []
    decoded: dict[str, dict[int, dict[str, Any]]] = {}
    finished: dict[str, bool] = {}
    journal_raters: list[str] = []
    fold = _fold_key(facts, legacy, folder)
    for journal in sorted(folder.glob(f"*{JOURNAL_SUFFIX}")) if folder.is_dir() else []:
        log, values, problem = _follow(journal, facts, legacy, fold)
        if problem:
            problems.append(problem)
        if log is None:
            continue
        if rater_journal_path(path, log.name) != journal:
            problems.append(f"{journal.name} holds the ratings of {log.name!r} but is not "
                            f"that rater's file; not read")
            continue
        decoded[log.name], finished[log.name] = values, log.finished
        journal_raters.append(log.name)
    if legacy.rater is not None and legacy.rater not in decoded:
        # Values from before raters are finished work, as far as anyone can tell.
        decoded[legacy.rater] = _decoded(facts, legacy.values)
        finished[legacy.rater] = True
    return Ratings(sorted(decoded, key=lambda name: (name.casefold(), name)), legacy.rater,
                   decoded, finished, _consensus(plain), sorted(journal_raters), problems)


# Reading again costs what was appended since: each journal's fold is kept (per process,
# for the most recently read journals) with the offset its reading stopped at, and
# continued from there. Values handed out are never changed afterwards: a continued fold
# copies the per-trace mapping before replacing the traces that changed.
_FOLLOWED: OrderedDict[Path, tuple[tuple[object, ...], RaterLog, dict[int, dict[str, Any]]]] = (
    OrderedDict())
_FOLLOWED_LOCK = threading.Lock()
FOLLOWED_JOURNALS = 256


def _fold_key(facts: CacheFacts, legacy: Legacy, folder: Path) -> tuple[object, ...]:
    """What a kept fold depends on besides its journal: the cache and the legacy values."""
    try:
        stamp = os.stat(folder / LEGACY_FILE)
        legacy_file: tuple[int, int, int] | None = (stamp.st_ino, stamp.st_size,
                                                    stamp.st_mtime_ns)
    except OSError:
        legacy_file = None
    return facts.path, facts.cache_id, len(facts.names), legacy.rater, legacy_file


def _follow(journal: Path, facts: CacheFacts, legacy: Legacy, fold: tuple[object, ...]
            ) -> tuple[RaterLog | None, dict[int, dict[str, Any]], str | None]:
    with _FOLLOWED_LOCK:
        kept = _FOLLOWED.pop(journal, None)
    resume = kept[1] if kept is not None and kept[0] == fold else None
    already = len(resume.records) if resume is not None else 0
    log, problem = read_log(journal, facts, legacy, resume)
    if log is None:
        return None, {}, problem
    if kept is not None and log is resume:
        values = dict(kept[2])
        for trace in {(c.origin, c.trace) for r in log.records[already:] for c in r.changes}:
            index = facts.index_of[trace]
            values.pop(index, None)
            if log.values.get(trace):
                values[index] = _decoded_trace(log.values[trace])
        values = dict(sorted(values.items()))
    else:
        values = _decoded(facts, log.values)
    if problem is None:  # a journal with a problem is read anew each time
        with _FOLLOWED_LOCK:
            _FOLLOWED[journal] = (fold, log, values)
            while len(_FOLLOWED) > FOLLOWED_JOURNALS:
                _FOLLOWED.popitem(last=False)
    return log, values, problem


def _decoded(facts: CacheFacts, values: StoredValues) -> dict[int, dict[str, Any]]:
    return {facts.index_of[trace]: _decoded_trace(found)
            for trace, found in sorted(values.items(), key=lambda item: facts.index_of[item[0]])
            if found}


def _decoded_trace(stored: Mapping[str, str]) -> dict[str, Any]:
    return {key: schema.decode(key, raw) for key, raw in stored.items()}


def _consensus(plain: Mapping[str, list[Any]]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for index, by in enumerate(plain[keys.CONSENSUS_BY]):
        if by is None:
            continue
        values = {key: schema.decode(key, plain[key][index]) for key in RATER_KEYS
                  if plain[key][index] is not None}
        values[keys.CONSENSUS_BY] = by
        values[keys.CONSENSUS_RATERS] = consensus_raters(plain[keys.CONSENSUS_RATERS][index])
        found[index] = values
    return found


def encode_consensus_raters(raters: list[str]) -> str:
    """The stored text list of raters a consensus settled: JSON (``["alice", "bob"]``),
    which keeps a name with a comma whole and reads as a list in Python and YAML too."""
    return json.dumps(list(raters), ensure_ascii=False)


def consensus_raters(stored: str | None) -> list[str]:
    """The raters a consensus settled, from their stored text list."""
    if stored is None:
        return []
    try:
        found = json.loads(stored)
        if isinstance(found, list) and all(isinstance(name, str) for name in found):
            return found
    except ValueError:
        pass
    try:  # written by hand or by another tool in Python's spelling
        return [str(name) for name in schema.parse(_CONSENSUS_RATERS_SPEC, stored)]
    except ValueError:
        return [stored]
