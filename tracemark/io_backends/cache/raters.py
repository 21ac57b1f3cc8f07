"""Several raters on one cache: each rates in a journal of their own, folded on read.

A :class:`RaterSession` writes one rater's values (:data:`RATER_KEYS`: reject, reviewed,
onset shift, the peaks and the comment) of a cache's traces into that rater's journal in
the cache's raters folder (``docs/cache-format.md``, "Raters"; the files are
:mod:`.rater_files`). It never takes the cache's writer lock, only its rater's own, so
raters rating at the same time never block each other, and each appends only to their
own file, so nothing one does can undo another's work. A rating is acknowledged once its
record is fsync'd in the rater's journal, exactly as a cache edit is in the cache's.

A second session of the same rater opens read-only (``read_only_reason`` names the
holder); ``mode="w"`` raises :class:`CacheLockedError` instead. Values are checked by the
cache's schema, so a rater cannot store what the cache would refuse (same typed errors).
Undo and redo are the cache's (:mod:`.history`) over the rater's own journal.

Blind review: :func:`read_ratings` hides nothing; :meth:`RaterSession.visible_others`
shows the other raters' values only once this session's rater has marked themselves
finished (or with ``reveal=True``).

Usage::

    with RaterSession("s.hdf5", "alice") as session:
        session.commit(3, {"reject": True, "reviewed": True})   # durable on return
        session.undo(); session.redo(); session.finish()
    read_ratings("s.hdf5").values("alice")                      # {3: {"reject": True, ...}}
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from . import schema
from .cachefile import CacheFile
from .consensus import adjudicate, publish_single_rater
from .errors import (
    CacheError,
    CacheLockedError,
    CacheReadOnlyError,
    CacheValueError,
    CacheWriteError,
    JournalError,
)
from .history import next_redo, next_undo
from .journal import Change, JournalWriter, Record
from .lock import WriterLock, whoami
from .rater_files import (
    FINISHED,
    NO_CACHE_ID,
    RATER_KEYS,
    CacheFacts,
    Legacy,
    RaterLog,
    check_rater_name,
    ensure_folder,
    is_status_record,
    legacy_values,
    note_text,
    rater_journal_path,
    raters_folder,
    read_legacy_file,
    read_log,
)
from .ratings import Ratings, read_ratings

__all__ = ["RATER_KEYS", "RaterSession", "Ratings", "adjudicate", "publish_single_rater",
           "read_ratings"]

MODES = ("r", "w", "auto")


class RaterSession:
    """One rater's values of one cache, and the one path that writes them (see the module
    docstring). Modes: ``"auto"`` (default) writes when no other session of this rater
    does, else opens read-only saying why; ``"w"`` raises instead; ``"r"`` never writes.
    ``lock_timeout``: seconds to wait for another session of this rater to close."""

    def __init__(self, cache_path: str | os.PathLike[str], rater: str, *, mode: str = "auto",
                 lock_timeout: float = 0.0):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.path = Path(cache_path).expanduser().absolute()
        self.rater = check_rater_name(rater, self.path)
        self.journal_path = rater_journal_path(self.path, self.rater)
        self.read_only_reason: str | None = "opened read-only" if mode == "r" else None
        self._lock: WriterLock | None = None
        #: Held around every change of this session's state: a GUI may rate on a worker.
        self._mutex = threading.RLock()
        self._writer: JournalWriter | None = None
        self._reload_before_write = False
        self._wrote = False
        self._ratings: Ratings | None = None
        self._seen: tuple[object, ...] = ()
        #: Why the single rater's values could not be published at :meth:`close`, if so.
        self.publish_error: CacheError | None = None
        try:
            self._open(mode, lock_timeout)
        except BaseException:
            self.close(publish=False)  # a lock taken on the way is not kept
            raise

    # -- opening ----------------------------------------------------------------------------
    def _open(self, mode: str, lock_timeout: float) -> None:
        with CacheFile(self.path, mode="r") as cache:
            self._facts = CacheFacts.of(cache)
            if mode != "r":
                self._start_writing(cache, mode, lock_timeout)
            self._legacy = self._read_legacy(cache)
        self._log = RaterLog(self.rater, self.journal_path,
                             values=self._legacy.values_of(self.rater))
        try:
            self._log = self._read_own_log()
            if self._lock is not None and self.journal_path.exists():
                self._journal_writer()  # cuts a torn tail now, as a cache's writer does
        except CacheError as error:
            if mode == "w":
                raise
            self._stop_writing(f"{error}; opened read-only")
        self._seen = self._fingerprint()

    def _start_writing(self, cache: CacheFile, mode: str, lock_timeout: float) -> None:
        try:
            ensure_folder(cache, self._facts)
            self._lock = WriterLock(self.journal_path, lock_timeout)
        except CacheLockedError as error:
            if mode == "w":
                raise
            self.read_only_reason = (f"rater {self.rater!r} is already rating this cache "
                                     f"({error.holder}); opened read-only")
        except CacheError as error:
            if mode == "w":
                raise
            self.read_only_reason = f"{error}; opened read-only"

    def _read_legacy(self, cache: CacheFile) -> Legacy:
        folder = raters_folder(self.path)
        if folder.is_dir():
            return read_legacy_file(folder)
        return Legacy(*legacy_values(cache, self._facts))

    def _read_own_log(self) -> RaterLog:
        log, problem = read_log(self.journal_path, self._facts, self._legacy)
        if log is None and problem:
            raise JournalError(self.journal_path, problem)
        if log is None:
            return RaterLog(self.rater, self.journal_path, values=self._legacy.values_of(self.rater))
        if log.name != self.rater:
            raise JournalError(self.journal_path, f"holds the ratings of {log.name!r}, not of "
                                                  f"{self.rater!r}")
        return log

    def _stop_writing(self, reason: str) -> None:
        self.read_only_reason = reason
        self._close_writer()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def writable(self) -> bool:
        return self._lock is not None

    # -- reading ------------------------------------------------------------------------------
    def values(self, index: int) -> dict[str, Any]:
        """This rater's decoded values of trace ``index`` (empty when they have none)."""
        stored = self._log.values.get(self._facts.locate(index), {})
        return {key: schema.decode(key, raw) for key, raw in stored.items()}

    def rated_indexes(self) -> list[int]:
        """The traces this rater has values for."""
        return sorted(self._facts.index_of[t] for t, found in self._log.values.items() if found)

    @property
    def finished(self) -> bool:
        return self._log.finished

    def ratings(self) -> Ratings:
        """Every rater's values (:func:`read_ratings`), read again after :meth:`refresh`
        reported a change."""
        if self._ratings is None:
            self._ratings = read_ratings(self.path)
        return self._ratings

    def visible_others(self, reveal: bool = False) -> dict[str, dict[int, dict[str, Any]]]:
        """The other raters' values as this rater may see them: blind review hides them
        all (an empty dict) until this rater has finished, unless ``reveal``."""
        if not (reveal or self.finished):
            return {}
        ratings = self.ratings()
        return {name: ratings.values(name) for name in ratings.raters if name != self.rater}

    def refresh(self) -> bool:
        """Follow the other raters (and another session of this rater, when this one is
        read-only); ``True`` when anything changed since the last call. A few ``stat``s."""
        with self._mutex:
            seen = self._fingerprint()
            if seen == self._seen:
                return False
            self._seen, self._ratings = seen, None
            if self._lock is None:
                folder = raters_folder(self.path)
                if folder.is_dir():
                    self._legacy = read_legacy_file(folder)
                try:
                    self._log = self._read_own_log()
                except CacheError:
                    pass  # keep what was read; the holder's session is the one writing it
            return True

    def _fingerprint(self) -> tuple[object, ...]:
        folder = raters_folder(self.path)
        # This session's own writes are known to it; only others' changes count.
        own = self.journal_path.name if self._lock is not None else None
        try:
            files = sorted((entry.name, entry.stat().st_size, entry.stat().st_mtime_ns)
                           for entry in os.scandir(folder)
                           if not entry.name.endswith(".lock") and entry.name != own)
        except OSError:
            files = []
        try:
            cache = os.stat(self.path)
            identity: tuple[int, int, int] = (cache.st_ino, cache.st_size, cache.st_mtime_ns)
        except OSError:
            identity = (0, 0, 0)
        return (*files, identity)

    # -- writing ------------------------------------------------------------------------------
    def commit(self, index: int, values: Mapping[str, Any], note: str = "") -> dict[str, Any]:
        """Set this rater's ``values`` of trace ``index`` as one transaction, durable on
        return; returns their values of the trace after it. Keys outside
        :data:`RATER_KEYS` and values the cache's schema refuses raise
        :class:`CacheValueError` and write nothing."""
        with self._mutex:
            self._require_writable()
            trace = self._facts.locate(index)
            context = self._facts.contexts[trace[0]]
            current = self._log.values.get(trace, {})
            changes = []
            for key, value in values.items():
                if key not in RATER_KEYS:
                    raise CacheValueError(self.path, f"trace {index}: {key!r} is not a rater's "
                                                     f"attribute ({', '.join(RATER_KEYS)}); nothing "
                                                     f"was written")
                try:
                    new = schema.encode(schema.validate(key, value, context))
                except ValueError as error:
                    raise CacheValueError(self.path, f"trace {index}: {error}; nothing was "
                                                     f"written") from None
                if new != current.get(key):
                    changes.append(Change(trace[0], trace[1], key, current.get(key), new))
            if changes:
                self._append("edit", changes, note_text(self.rater, note))
            return self.values(index)

    def finish(self) -> None:
        """Mark this rater finished (durable on return): their values become visible to
        raters who have finished too. Not undone by :meth:`undo`."""
        with self._mutex:
            self._require_writable()
            if not self.finished:
                self._append("edit", [], note_text(self.rater, status=FINISHED))

    @property
    def can_undo(self) -> bool:
        return self._find("undo") is not None

    @property
    def can_redo(self) -> bool:
        return self._find("redo") is not None

    def undo(self) -> list[int]:
        """Revert this rater's latest rating not yet undone; the trace indexes it changed
        (empty when there is nothing to undo)."""
        return self._undo_or_redo("undo")

    def redo(self) -> list[int]:
        return self._undo_or_redo("redo")

    def _find(self, kind: str) -> Record | None:
        find = next_undo if kind == "undo" else next_redo
        return find(r for r in reversed(self._log.records) if not is_status_record(r))

    def _undo_or_redo(self, kind: str) -> list[int]:
        with self._mutex:
            self._require_writable()
            target = self._find(kind)
            if target is None:
                return []
            ordered = reversed(target.changes) if kind == "undo" else target.changes
            changes = [Change(c.origin, c.trace, c.key,
                              self._log.values.get((c.origin, c.trace), {}).get(c.key),
                              c.old if kind == "undo" else c.new) for c in ordered]
            self._append(kind, changes, note_text(self.rater), target=target.tx)
            return sorted({self._facts.index_of[(c.origin, c.trace)] for c in changes})

    def _require_writable(self) -> None:
        if self._lock is None:
            raise CacheReadOnlyError(self.journal_path, f"{self.read_only_reason or 'is closed'}; "
                                                        f"nothing was written")

    def _journal_writer(self) -> JournalWriter:
        if self._writer is None:
            journal_id = self._log.journal_id or self._facts.cache_id or NO_CACHE_ID
            try:
                self._writer = JournalWriter(self.journal_path, journal_id)
            except OSError as error:
                raise CacheWriteError(self.journal_path, f"cannot be opened for writing "
                                                         f"({error.strerror or error})") from error
        return self._writer

    def _append(self, kind: str, changes: list[Change], note: str,
                target: str | None = None) -> None:
        """THE write path of a rater: one fsync'd record in their journal, then applied."""
        if self._reload_before_write:  # after a failed append: the record is whole or cut
            self._log = self._read_own_log()
            self._reload_before_write = False
        writer = self._journal_writer()
        user, host, pid = whoami()
        record = Record(seq=max(self._log.last_seq, writer.last_seq) + 1, tx=uuid.uuid4().hex,
                        kind=kind, time=datetime.now().astimezone().isoformat(), user=user,
                        host=host, pid=pid, changes=tuple(changes), target=target, note=note)
        try:
            writer.append(record)
        except OSError as error:
            self._close_writer()
            self._reload_before_write = True
            raise CacheWriteError(self.journal_path, f"the rating was not saved "
                                                     f"({error.strerror or error})") from error
        if self._log.journal_id is None:
            self._log.journal_id = self._facts.cache_id or NO_CACHE_ID
        self._log.apply(record)
        self._wrote = True
        self._ratings = None

    # -- ending -------------------------------------------------------------------------------
    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self, publish: bool = True) -> None:
        """Release this rater's journal. With ``publish`` and after ratings were written,
        the cache's only rater's values are copied into its plain attributes
        (:func:`publish_single_rater`) if the cache's writer lock is free at once; a
        failure to do so is kept in ``publish_error``, since the ratings are safe."""
        with self._mutex:
            self._close_writer()
            had_lock, self._lock = self._lock, None
            if had_lock is not None:
                had_lock.release()
                if self.read_only_reason is None:
                    self.read_only_reason = "closed"
            if publish and self._wrote:
                self._wrote = False
                try:
                    publish_single_rater(self.path, lock_timeout=0.0)
                except CacheError as error:
                    self.publish_error = error

    def __enter__(self) -> RaterSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<RaterSession {self.rater!r} on {self.path.name!r} "
                f"({'writer' if self.writable else 'read-only'})>")
