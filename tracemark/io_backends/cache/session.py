"""The writing part of a cache: a session that holds the writer lock and appends edits to
the journal.

A :class:`WriterSession` exists exactly while this process holds the writer lock (the
cache states ``WRITING`` and ``NEEDS_RECOVERY`` of :mod:`.lifecycle`). It is the one write
path of the cache: :meth:`WriterSession.prepare` validates values against the schema and
pairs each with the value it replaces; :meth:`WriterSession.commit` appends one fsync'd
journal record (the acknowledgement) and then applies it to the reader's overlay.
Undo and redo are transactions like any other, derived from the journal by
:mod:`.history`. A failed append moves the cache to ``NEEDS_RECOVERY``; the next write
first rebuilds the view from what the disk really holds.

It is split from the reader because nothing of it exists in a read-only cache, and from
the checkpointer because appending (fast, on every edit) and folding (slow, occasional,
possibly on another thread) have different locking needs. The session never writes the
HDF5 file; the checkpointer does.

Not thread-safe by itself: :class:`~.cachefile.CacheFile` holds its mutex around every call.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from tracemark.domain import trace_attributes as keys

from . import schema
from .checkpoint import remove_leftovers
from .errors import CacheError, CacheReadOnlyError, CacheValueError, CacheWriteError
from .history import next_redo, next_undo
from .journal import Change, JournalWriter, Record
from .lifecycle import CacheState, Lifecycle
from .lock import WriterLock, whoami
from .reader import CacheReader


class WriterSession:
    """The writer lock, the journal writer and the write path built on them."""

    def __init__(self, reader: CacheReader, lifecycle: Lifecycle, lock: WriterLock):
        self._reader = reader
        self._lifecycle = lifecycle
        self._lock = lock
        self._writer: JournalWriter | None = None
        self._last_write = 0.0

    @classmethod
    def begin(cls, reader: CacheReader, lifecycle: Lifecycle, lock_timeout: float
              ) -> WriterSession:
        """Take the writer lock (waiting up to ``lock_timeout`` seconds), catch up with the
        last writer's work and move the cache to ``WRITING``."""
        blocker = reader.write_blocker()
        if blocker:
            raise CacheReadOnlyError(reader.path, f"{blocker}; it cannot be edited")
        lock = WriterLock(reader.path, lock_timeout)
        try:
            reader.catch_up()
            blocker = reader.write_blocker()
            if blocker:
                raise CacheReadOnlyError(reader.path, f"{blocker}; it cannot be edited")
            remove_leftovers(reader.path)
        except BaseException:
            lock.release()
            raise
        lifecycle.move_to(CacheState.WRITING)
        return cls(reader, lifecycle, lock)

    # -- the journal writer -------------------------------------------------------------------
    def open_journal_now(self) -> None:
        """Open an existing journal for appending at once, so that a torn tail left by a
        crash is cut at open rather than at the first edit."""
        if self._reader.journal.cache_id is None:
            return
        try:
            self._journal_writer()
        except OSError as error:
            raise CacheWriteError(self._reader.path, f"its journal cannot be opened for "
                                                     f"writing ({error.strerror or error})"
                                  ) from error

    def _journal_writer(self) -> JournalWriter:
        if self._writer is None:
            journal = self._reader.journal
            # The reader has validated the journal up to its end (we hold the lock, so
            # nothing was appended since); the writer need only check what follows.
            resume = None
            if journal.cache_id is not None:
                resume = (journal.end, self._reader.overlay.last_seq)
            self._writer = JournalWriter(journal.path, self._reader.writing_cache_id(), resume)
        return self._writer

    @property
    def journal_end(self) -> int:
        """Where the journal ends: the offset a checkpoint records with its sequence number."""
        return self._writer.end if self._writer is not None else self._reader.journal.end

    def recover_if_needed(self) -> None:
        """After a failed append: drop the journal writer and rebuild the view from disk,
        where the failed record is either whole (then it counts) or cut off."""
        if self._lifecycle.state is not CacheState.NEEDS_RECOVERY:
            return
        self.close_journal()
        try:
            self._reader.reload_journal()
            self._journal_writer()
        except OSError as error:
            raise CacheWriteError(self._reader.path, f"the journal cannot be written "
                                                     f"({error.strerror}); the edit was not "
                                                     f"saved") from error
        self._lifecycle.move_to(CacheState.WRITING)

    # -- the write path -----------------------------------------------------------------------
    def prepare(self, edits: Iterable[tuple[int, Mapping[str, Any]]]) -> list[Change]:
        """Validate every value and pair it with the value it replaces."""
        path, layout = self._reader.path, self._reader.layout
        combined: dict[tuple[str, str, str], list[str | None]] = {}
        for index, values in edits:
            try:
                origin, name = layout.index.locate(index)
            except CacheError as error:
                raise type(error)(path, f"{error.problem}; nothing was written") from None
            context = layout.contexts[origin]
            for key, value in values.items():
                try:
                    typed = schema.validate(key, value, context)
                except ValueError as error:
                    raise CacheValueError(path, f"trace {index}: {error}; nothing was "
                                                f"written") from None
                slot = combined.setdefault((origin, name, key),
                                           [self._reader.current_raw(origin, name, key)])
                slot[1:] = [schema.encode(typed)]
        return [Change(o, n, k, old, new) for (o, n, k), (old, new) in combined.items()
                if old != new]

    def commit(self, changes: list[Change], kind: str, target: str | None = None,
               note: str = "") -> Record | None:
        """THE write path: journal (fsync = acknowledgement), then apply. ``changes`` are
        validated (see :meth:`prepare`)."""
        if not changes and kind == "edit":
            return None
        self.recover_if_needed()
        try:
            writer = self._journal_writer()
            user, host, pid = whoami()
            record = Record(seq=max(writer.last_seq, self._reader.base_seq) + 1,
                            tx=uuid.uuid4().hex, kind=kind,
                            time=datetime.now().astimezone().isoformat(),
                            user=user, host=host, pid=pid, changes=tuple(changes),
                            target=target, note=note)
            writer.append(record)
        except OSError as error:
            self._lifecycle.move_to(CacheState.NEEDS_RECOVERY)
            raise CacheWriteError(self._reader.path, f"the edit was not saved "
                                                     f"({error.strerror or error})") from error
        self._reader.overlay.apply(record)
        self._last_write = time.monotonic()
        return record

    def undo_or_redo(self, kind: str) -> Record | None:
        """Revert (``"undo"``) or reapply (``"redo"``) the transaction at the top of that
        stack, as one new transaction; ``None`` when the stack is empty."""
        self.recover_if_needed()
        find = next_undo if kind == "undo" else next_redo
        target = find(self._reader.journal.backwards())
        if target is None:
            return None
        ordered = reversed(target.changes) if kind == "undo" else target.changes
        changes = [Change(c.origin, c.trace, c.key,
                          self._reader.current_raw(c.origin, c.trace, c.key),
                          c.old if kind == "undo" else c.new) for c in ordered]
        return self.commit(changes, kind, target=target.tx)

    def idle_for(self, seconds: float) -> bool:
        """Whether no edit was committed in the last ``seconds``."""
        return time.monotonic() - self._last_write >= seconds

    # -- ending -------------------------------------------------------------------------------
    def close_journal(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def release_lock(self) -> None:
        """Let another writer in; called after every handle on the files is closed."""
        self._lock.release()


def check_provenance(path: Path, index: int, attrs: Mapping[str, Any]) -> None:
    """Raise unless ``attrs`` came from ``get_trace_attrs(index)`` of the cache at ``path``."""
    if keys.CACHE_FILE not in attrs or keys.CACHE_FILE_INDEX not in attrs:
        raise CacheValueError(path, "these attributes do not come from a cache file "
                                    "(no cache_file / cache_file_index); use update()")
    if Path(str(attrs[keys.CACHE_FILE])).expanduser().absolute() != path:
        raise CacheValueError(path, f"these attributes came from {attrs[keys.CACHE_FILE]}, "
                                    f"not from this cache")
    try:
        source_index = int(str(attrs[keys.CACHE_FILE_INDEX]))
    except ValueError:
        raise CacheValueError(path, "cache_file_index is not a number") from None
    if source_index != index:
        raise CacheValueError(path, f"these attributes came from trace {source_index}, "
                                    f"not trace {index}")


def changed_values(attrs: Mapping[str, Any], current: Mapping[str, str]) -> dict[str, Any]:
    """The stored values of ``attrs`` that differ from the stored strings ``current``."""
    return {k: v for k, v in attrs.items()
            if k not in keys.TRANSIENT_KEYS and not _same_value(k, v, current.get(k))}


def _same_value(key: str, value: Any, current_raw: str | None) -> bool:
    if current_raw is None:
        return False
    if isinstance(value, str) and value == current_raw:
        return True
    spec = schema.ALL_KEYS.get(key)
    if spec is None:
        return schema.encode(value) == current_raw
    try:
        return schema.encode(schema.parse(spec, value)) == schema.encode(
            schema.parse(spec, current_raw))
    except ValueError:
        return False
