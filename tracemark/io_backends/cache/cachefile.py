"""``CacheFile``: the Python API of a trace cache, for scripts, the CLI and the GUI.

Reading::

    cf = CacheFile("session.hdf5")          # read now, take the writer lock on first edit
    print(cf)                               # summary per origin
    len(cf); cf.get_trace_data(3); cf.get_trace_attrs(3)
    for data, attrs in cf: ...

Editing (each call is one transaction; it returns only once the edit is durable)::

    cf.update(3, reject=True, comment="noisy")
    attrs = cf.get_trace_attrs(3); attrs["onset_shift"] = 5; cf.set_trace_attrs(3, attrs)
    with cf.batch() as batch:               # all or nothing
        for i in range(10): batch.update(i, examiner="ab")
    cf.undo(); cf.redo(); cf.checkpoint(); cf.close()

Edits from other processes (many producers, one writer; see :mod:`.queue_writer`)::

    with cf.queue_writer() as service:      # give service.handle to the worker processes
        ...                                 # a worker: handle.update(3, reject=True)

Every write goes through :meth:`CacheFile._commit`: validate (schema) -> append and fsync
one journal record (the acknowledgement) -> apply to the in-memory view. Edits reach the HDF5
file at checkpoints (on close, when idle via :meth:`checkpoint_if_idle`, on demand) and at
the next writer open after a crash. Readers merge the journal, so every Tracemark process
sees a committed edit at once. Reads never write.

Modes: ``"r"`` never writes; ``"r+"`` (default) reads without locking and takes the writer
lock at the first edit; ``"w"`` takes the lock at open or raises :class:`CacheLockedError`
naming the holder; ``"auto"`` takes it when free, else opens read-only and says why in
``read_only_reason``. Wherever the lock is taken, a writer holding it is waited for up to
``lock_timeout`` seconds (default 0: refused at once).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from . import loading, sanity, schema
from .backup import write_backup
from .checkpoint import remove_leftovers, write_checkpoint
from .columns import TableReader
from .errors import (CacheClosedError, CacheError, CacheFormatError, CacheLockedError,
                     CacheReadOnlyError, CacheValueError, CacheWriteError, CheckpointError,
                     JournalError)
from .history import next_redo, next_undo
from .journal import Change, JournalReader, JournalWriter, Record, journal_path
from .layout import (ATTR_FORMAT, TRACES, TraceIndex, open_h5, read_raw_attrs, read_trace_attr,
                     read_trace_attrs, root_state, trace_context)
from .lock import WriterLock, whoami
from .queue_writer import QueueWriter
from .state import Overlay

#: Keys get_trace_attrs adds that are not stored: where the attributes came from.
TRANSIENT_KEYS = ("origin", "cache_file", "cache_file_index")
MODES = ("r", "r+", "w", "auto")


class CacheFile:
    """A trace cache file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, mode: str = "r+", *, lock_timeout: float = 0.0,
                 idle_checkpoint_s: float = 2.0):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.path = Path(path).expanduser().absolute()
        self.mode = mode
        self.idle_checkpoint_s = idle_checkpoint_s
        #: Seconds to wait for another writer's lock, in every mode that takes it (``"r+"``
        #: at the first edit, ``"w"`` and ``"auto"`` at open), before giving up.
        self.lock_timeout = lock_timeout
        self.read_only_reason: str | None = "opened read-only" if mode == "r" else None
        self.last_checkpoint_error: CheckpointError | None = None
        self._mutex = threading.RLock()
        #: One checkpoint at a time; taken before ``_mutex`` wherever both are held.
        self._checkpoint_mutex = threading.RLock()
        self._closed = False
        self._lock: WriterLock | None = None
        self._writer: JournalWriter | None = None
        self._broken = False
        self._last_write = 0.0
        #: What is wrong with the file (told, see ``problems``) and what of it forbids edits.
        self._problems: list[str] = []
        self._blockers: list[str] = []
        self._open_base()
        self._reader = JournalReader(journal_path(self.path))
        try:
            self._load_journal(self._offset_hint)
            if mode in ("w", "auto"):
                self._open_writer(mode, self.lock_timeout)
        except BaseException:
            self._release_handles()
            raise

    # -- opening ----------------------------------------------------------------------------
    def _open_base(self) -> None:
        """Open the HDF5 file; the first time, also compute the index and origin attributes
        (they never change: a checkpoint only rewrites trace attributes)."""
        h5 = open_h5(self.path)
        try:
            try:
                self._ino = os.fstat(h5.id.get_vfd_handle()).st_ino
            except (AttributeError, TypeError, ValueError, OSError):
                self._ino = os.stat(self.path).st_ino
            with sanity.h5_errors(self.path, "reading its layout"):
                self._read_layout(h5)
        except BaseException:
            h5.close()
            raise
        self._h5 = h5

    def _read_layout(self, h5) -> None:
        self._cache_id, self._base_seq, self._offset_hint = root_state(h5)
        if not hasattr(self, "_index"):
            self._index = TraceIndex.from_file(h5, self.path)
            if not self._index.origins and ATTR_FORMAT not in h5.attrs:
                raise CacheFormatError(self.path, "is an HDF5 file but not a trace cache (no "
                                                  "recordings, no Tracemark attributes)")
            self._blockers = sanity.root_problems(h5.attrs.get(ATTR_FORMAT), self._cache_id)
            self._origin_attrs = {}
            for o in self._index.origins:
                attrs, problems = sanity.check_origin(o, schema.decode_all(read_raw_attrs(h5[o])))
                self._origin_attrs[o] = attrs
                self._problems += problems
            self._contexts = {o: trace_context(a) for o, a in self._origin_attrs.items()}
        if self._cache_id is not None and not isinstance(self._cache_id, str):
            self._cache_id = schema.encode(self._cache_id)
        self._groups = {o: h5[o][TRACES] for o in self._index.origins}
        #: Each origin's attribute table, opened at the first load_only (None = not fresh).
        self._tables: dict[str, TableReader | None] = {}

    @property
    def problems(self) -> list[str]:
        """What is wrong with this cache and was skipped or is shown as stored (empty for a
        sound cache): damaged or foreign journal records, unusable origin attributes,
        a format from the future. Shown by ``summary()``."""
        told = self._blockers + self._problems
        journal = self._reader.stopped or self._reader.damage
        return told + ([f"journal {self._reader.path.name}: {journal}"] if journal else [])

    def _write_blocker(self) -> str | None:
        if self._blockers:
            return self._blockers[0]
        reader = self._reader
        if reader.stopped or reader.damage_blocks_writing:
            return f"its journal {reader.path.name}: {reader.stopped or reader.damage}"
        return None

    def _load_journal(self, offset_hint: int) -> None:
        self._overlay = Overlay()
        self._overlay.last_seq = self._base_seq
        if not self._journal_usable():
            return
        if self._base_seq and self._reader.record_ending_at(offset_hint) == self._base_seq:
            self._reader.seek(offset_hint)
        else:
            self._reader.seek(self._reader.first)
        self._apply_records(self._reader.poll(after_seq=self._base_seq))

    def _journal_usable(self) -> bool:
        """Open the journal if there is one; one that cannot be read or belongs to another
        cache is not followed (the HDF5 file is shown alone, and writing is refused)."""
        try:
            if not self._reader.open_if_present():
                return False
        except JournalError as error:
            self._reader.stop(f"{error.problem}; its edits are not shown")
            return False
        if self._cache_id is not None and self._reader.cache_id != self._cache_id:
            self._reader.stop(f"belongs to another cache (id {self._reader.cache_id}, the "
                              f"cache is {self._cache_id}); its edits are not shown")
            return False
        return True

    def _apply_records(self, records: list[Record]) -> list[Record]:
        """Apply journal records in order, up to one naming a trace this cache does not
        hold: from there on the journal is not followed (a record from another cache)."""
        for n, record in enumerate(records):
            for change in record.changes:
                try:
                    self._index.index_of(change.origin, change.trace)
                except KeyError:
                    self._reader.stop(f"record #{record.seq} at byte {record.offset} names "
                                      f"trace {change.origin}/{change.trace}, which this cache "
                                      f"does not hold; it and any later records are not "
                                      f"applied")
                    return records[:n]
            self._overlay.apply(record)
        return records

    def _open_writer(self, mode: str, lock_timeout: float) -> None:
        try:
            self._become_writer(lock_timeout)
        except (CacheLockedError, CacheReadOnlyError) as error:
            if mode == "w":
                raise
            self.read_only_reason = f"{error}; opened read-only"
            return
        if self._reader.cache_id is not None:
            try:  # cut a torn tail now (a crash case), not at the first edit
                self._journal_writer()
            except OSError as error:
                raise CacheWriteError(self.path, f"its journal cannot be opened for writing "
                                                 f"({error.strerror or error})") from error
        if len(self._overlay):
            try:  # a previous writer stopped before its checkpoint: finish its work now
                self.checkpoint()
            except CheckpointError as error:
                self.last_checkpoint_error = error

    def _become_writer(self, lock_timeout: float = 0.0) -> None:
        if self._lock is not None:
            return
        blocker = self._write_blocker()
        if blocker:
            raise CacheReadOnlyError(self.path, f"{blocker}; it cannot be edited")
        lock = WriterLock(self.path, lock_timeout)
        try:
            self._refresh_from_disk()
            blocker = self._write_blocker()
            if blocker:
                raise CacheReadOnlyError(self.path, f"{blocker}; it cannot be edited")
            remove_leftovers(self.path)
        except BaseException:
            lock.release()
            raise
        self._lock = lock
        self.read_only_reason = None

    # -- keeping up with other processes ---------------------------------------------------
    def _refresh_from_disk(self) -> list[Record]:
        """Catch up with a checkpoint or journal records written by another process."""
        if self._lock is not None:
            return []  # we are the only writer: nothing can change under us
        try:
            replaced = os.stat(self.path).st_ino != self._ino
        except OSError:
            replaced = False
        if replaced:
            self._reopen_base()
        if self._reader.stopped or not self._journal_usable():
            return []
        return self._apply_records(self._reader.poll(after_seq=self._overlay.last_seq))

    def _reopen_base(self) -> None:
        old_h5, old_id = self._h5, self._cache_id
        self._open_base()
        old_h5.close()
        if old_id is not None and self._cache_id != old_id:
            raise CacheFormatError(self.path, "was replaced by a different cache; open it again")
        self._overlay.drop_through(self._base_seq)
        self._overlay.last_seq = max(self._overlay.last_seq, self._base_seq)

    def refresh(self) -> list[Record]:
        """Journal records committed by other processes since the last call (for views that
        want to redraw); reads call this themselves."""
        with self._mutex:
            self._check_open()
            return self._refresh_from_disk()

    # -- reading ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._index)

    @property
    def fname(self) -> Path:
        return self.path

    @property
    def origins(self) -> list[str]:
        return list(self._index.origins)

    @property
    def writable(self) -> bool:
        return self._lock is not None

    def origin_attrs(self, origin: str) -> dict[str, Any]:
        return dict(self._origin_attrs[origin])

    def trace_origin(self, index: int) -> tuple[str, str]:
        """(origin group, dataset name) of a trace."""
        return self._index.locate(index)

    def origin_range(self, origin: str) -> range:
        """The global indexes of ``origin``'s traces."""
        return self._index.origin_range(origin)

    def index_of(self, origin: str, name: str) -> int:
        return self._index.index_of(origin, str(name))

    def trace_context(self, index: int) -> schema.TraceContext:
        return self._contexts[self._index.locate(index)[0]]

    def changed_indexes(self, record: Record) -> list[int]:
        """Trace indexes a journal record (an edit, undo or redo) touched, for redrawing."""
        return sorted({self._index.index_of(c.origin, c.trace) for c in record.changes})

    def edited_traces(self) -> list[int]:
        """Indexes of traces with committed edits not yet checkpointed into the HDF5 file."""
        with self._mutex:
            self._refresh_from_disk()
            return sorted(self._index.index_of(o, n) for o, n in self._overlay.traces())

    def copy_origin(self, origin: str, target: Any) -> None:
        """Copy one origin group, as stored in the HDF5 file, into an h5py file or group."""
        with self._mutex:
            self._check_open()
            self._h5.copy(self._h5[origin], target, name=origin)

    def get_trace_data(self, index: int) -> np.ndarray:
        """The trace's samples (rows) x channels (columns), as stored. Never written."""
        with self._mutex:
            self._check_open()
            origin, name = self._index.locate(index)
            where = f"trace {index} (/{origin}/{TRACES}/{name})"
            with sanity.h5_errors(self.path, where):
                return sanity.trace_data(self._groups[origin], name, self._contexts[origin],
                                         self.path, where)

    def load_only(self, keys: str | Iterable[str], indexes: Iterable[int] | None = None, *,
                  raw: bool = False, missing: Any = None) -> dict[str, list[Any]]:
        """Chosen attributes of chosen traces, column by column: ``{key: [value per trace]}``
        in the order of ``indexes`` (default: every trace, in index order). Values are
        typed as :meth:`get_trace_attrs` types them (``raw=True``: the stored strings),
        committed edits not yet checkpointed included; ``missing`` stands where a trace
        lacks the key. Reads each origin's attribute table (:mod:`.columns`) when it is
        fresh, so one key of 100,000 traces is one read; else reads trace by trace."""
        with self._mutex:
            self._check_open()
            self._refresh_from_disk()
            keys = [keys] if isinstance(keys, str) else list(keys)
            wanted = loading.index_array(indexes, len(self._index), self.path)
            stored = {key: self._stored_column(key, wanted) for key in keys}
        if raw:
            return {key: loading.stored_or_missing(column, missing)
                    for key, column in stored.items()}
        return {key: loading.decode_column(key, column, missing) for key, column in stored.items()}

    def stored_rows(self, origin: str) -> list[dict[str, str]]:
        """The stored strings of every trace of ``origin``, in index order, committed edits
        included: one read per key when the origin's attribute table is fresh."""
        with self._mutex:
            self._check_open()
            self._refresh_from_disk()
            g = self._index.origins.index(origin)
            traces = self._index.origin_range(origin)
            table = self._table(g, origin)
            if table is None:
                return [self.get_trace_attrs_raw(index) for index in traces]
            edited = self._overlay.pending(self._overlay.last_seq)
            keys = set(table.keys).union(*(values for (o, _), values in edited.items()
                                           if o == origin))
            absent = object()
            stored = self.load_only(sorted(keys), traces, raw=True, missing=absent)
        return [{key: column[row] for key, column in stored.items() if column[row] is not absent}
                for row in range(len(traces))]

    def _stored_column(self, key: str, wanted: np.ndarray) -> np.ndarray:
        """Stored strings (``None`` = absent) of ``key`` for the traces ``wanted``."""
        return loading.stored_column(key, wanted, self._index, self._overlay,
                                     self._origin_column)

    def _origin_column(self, g: int, origin: str, key: str, rows: np.ndarray) -> np.ndarray:
        table = self._table(g, origin)
        if table is not None:
            with sanity.h5_errors(self.path, f"the attribute table of /{origin}"):
                return loading.table_column(table, key, rows)

        def read_one(traces, name: str) -> Any:
            with sanity.h5_errors(self.path, f"attribute {key} of /{origin}/{TRACES}/{name}"):
                return read_trace_attr(traces, name, key)

        return loading.per_trace_column(self._groups[origin], self._index.names[g], rows,
                                        read_one)

    def _table(self, g: int, origin: str) -> TableReader | None:
        if origin not in self._tables:
            try:
                size = os.fstat(self._h5.id.get_vfd_handle()).st_size
                self._tables[origin] = TableReader.open(self._h5[origin], size,
                                                        self._index.names[g])
            except (OSError, KeyError, ValueError, TypeError, RuntimeError):
                self._tables[origin] = None  # an unreadable table is not trusted
        return self._tables[origin]

    def get_trace_attrs_raw(self, index: int) -> dict[str, str]:
        """The stored strings of one trace, committed edits included."""
        with self._mutex:
            self._check_open()
            self._refresh_from_disk()
            trace = self._index.locate(index)
            with sanity.h5_errors(self.path, f"the attributes of trace {index}"):
                base = read_trace_attrs(self._groups[trace[0]], trace[1])
            return {k: v if isinstance(v, str) else schema.encode(v)
                    for k, v in self._overlay.merged(trace, base).items()}

    def get_trace_attrs(self, index: int) -> dict[str, Any]:
        """Decoded attributes of one trace, plus ``origin``, ``cache_file`` and
        ``cache_file_index`` naming where they came from (checked by set_trace_attrs)."""
        attrs = schema.decode_all(self.get_trace_attrs_raw(index))
        attrs["origin"] = self._index.locate(index)[0]
        attrs["cache_file"] = str(self.path)
        attrs["cache_file_index"] = int(index)
        return attrs

    def __iter__(self) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
        for index in range(len(self)):
            yield self.get_trace_data(index), self.get_trace_attrs(index)

    def summary(self) -> str:
        rule = "-" * 79
        lines = []
        for origin in self._index.origins:
            lines += [rule, f"{'origin':24s} : {origin}"]
            lines += [f"{k:24s} : {schema.encode(v)}" for k, v in self._origin_attrs[origin].items()]
            lines.append(f"{'traces_count':24s} : {len(self._index.origin_range(origin))}")
        lines += [rule, f"{len(self)} traces from {len(self._index.origins)} origins; "
                        f"{self.pending_edits} attribute values not yet checkpointed"]
        lines += [f"problem: {problem}" for problem in self.problems]
        return "\n".join(lines)

    __str__ = summary

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("writer" if self.writable else "reader")
        return f"<CacheFile {self.path.name!r} {len(self)} traces ({state})>"

    # -- editing ------------------------------------------------------------------------------
    def update(self, index: int, values: Mapping[str, Any] | None = None, /, *,
               note: str = "", **more: Any) -> Record | None:
        """Set one or more attributes of one trace as one transaction; returns its journal
        record (``None`` when nothing changed) once durable."""
        merged = {**(values or {}), **more}
        return self.apply_edits([(index, merged)], note=note)

    def apply_edits(self, edits: Iterable[tuple[int, Mapping[str, Any]]], note: str = "",
                    ) -> Record | None:
        """Several traces' attributes as ONE transaction: all land or none does."""
        with self._mutex:
            self._check_open()
            self._ensure_writer()
            return self._commit(self._prepare(edits), "edit", note=note)

    @contextmanager
    def batch(self, note: str = ""):
        """Collect edits; commit them as one transaction when the block ends without an
        exception (nothing is written if it raises)."""
        batch = Batch()
        yield batch
        batch.record = self.apply_edits(batch.edits, note=note)

    def set_trace_attrs(self, index: int, attrs: Mapping[str, Any]) -> Record | None:
        """offspect-style update: ``attrs`` must come from ``get_trace_attrs(index)`` of this
        file (checked); only the keys whose values changed are written."""
        if "cache_file" not in attrs or "cache_file_index" not in attrs:
            raise CacheValueError(self.path, "these attributes do not come from a cache file "
                                             "(no cache_file / cache_file_index); use update()")
        if Path(str(attrs["cache_file"])).expanduser().absolute() != self.path:
            raise CacheValueError(self.path, f"these attributes came from {attrs['cache_file']}, "
                                             f"not from this cache")
        try:
            source_index = int(str(attrs["cache_file_index"]))
        except ValueError:
            raise CacheValueError(self.path, "cache_file_index is not a number") from None
        if source_index != index:
            raise CacheValueError(self.path, f"these attributes came from trace {source_index}, "
                                             f"not trace {index}")
        current = self.get_trace_attrs_raw(index)
        changed = {k: v for k, v in attrs.items()
                   if k not in TRANSIENT_KEYS and not _same_value(k, v, current.get(k))}
        return self.update(index, changed)

    def queue_writer(self) -> QueueWriter:
        """Serve edits sent from other processes through this cache's one write path (see
        :mod:`.queue_writer`); give ``.handle`` to the producers. Takes the writer lock now,
        waiting up to ``lock_timeout``. Close it before closing the cache."""
        with self._mutex:
            self._check_open()
            self._ensure_writer()
        return QueueWriter(self)

    def _ensure_writer(self) -> None:
        if self._lock is not None:
            return
        if self.mode != "r+":
            raise CacheReadOnlyError(self.path, f"{self.read_only_reason or 'is read-only'}; "
                                                f"the edit was not written")
        self._become_writer(self.lock_timeout)

    def _prepare(self, edits: Iterable[tuple[int, Mapping[str, Any]]]) -> list[Change]:
        """Validate every value and pair it with the value it replaces."""
        combined: dict[tuple[str, str, str], list] = {}
        for index, values in edits:
            try:
                origin, name = self._index.locate(index)
            except CacheError as error:
                raise type(error)(self.path, f"{error.problem}; nothing was written") from None
            context = self._contexts[origin]
            for key, value in values.items():
                try:
                    typed = schema.validate(key, value, context)
                except ValueError as error:
                    raise CacheValueError(self.path, f"trace {index}: {error}; nothing was "
                                                     f"written") from None
                slot = combined.setdefault((origin, name, key), [self._current_raw(origin, name, key)])
                slot[1:] = [schema.encode(typed)]
        return [Change(o, n, k, old, new) for (o, n, k), (old, new) in combined.items() if old != new]

    def _current_raw(self, origin: str, name: str, key: str) -> str | None:
        decided, raw = self._overlay.value((origin, name), key)
        if decided:
            return raw
        with sanity.h5_errors(self.path, f"attribute {key} of /{origin}/{TRACES}/{name}"):
            value = read_trace_attr(self._groups[origin], name, key)
        return value if value is None or isinstance(value, str) else schema.encode(value)

    def _commit(self, changes: list[Change], kind: str, target: str | None = None,
                note: str = "") -> Record | None:
        """THE write path: journal (fsync = acknowledgement), then apply. Caller holds the
        mutex and the writer lock and has validated ``changes``."""
        if not changes and kind == "edit":
            return None
        if self._broken:
            self._recover_writer()
        try:
            writer = self._journal_writer()
            user, host, pid = whoami()
            record = Record(seq=max(writer.last_seq, self._base_seq) + 1, tx=uuid.uuid4().hex,
                            kind=kind, time=datetime.now().astimezone().isoformat(),
                            user=user, host=host, pid=pid, changes=tuple(changes),
                            target=target, note=note)
            writer.append(record)
        except OSError as error:
            self._broken = True
            raise CacheWriteError(self.path, f"the edit was not saved ({error.strerror or error})"
                                  ) from error
        self._overlay.apply(record)
        self._last_write = time.monotonic()
        return record

    def _journal_writer(self) -> JournalWriter:
        if self._writer is None:
            cache_id = self._cache_id or self._reader.cache_id or uuid.uuid4().hex
            # The reader has validated the journal up to its end (we hold the lock, so
            # nothing was appended since); the writer need only check what follows.
            resume = None
            if self._reader.cache_id is not None:
                resume = (self._reader.end, self._overlay.last_seq)
            self._writer = JournalWriter(self._reader.path, cache_id, resume)
            self._cache_id = self._cache_id or cache_id
        return self._writer

    def _recover_writer(self) -> None:
        """After an I/O error: drop the journal writer and rebuild the view from disk, where
        the failed record is either whole (then it counts) or cut off."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        try:
            self._reader.close()
            self._reader = JournalReader(journal_path(self.path))
            self._load_journal(0)
            self._journal_writer()
        except OSError as error:
            raise CacheWriteError(self.path, f"the journal cannot be written ({error.strerror}); "
                                             f"the edit was not saved") from error
        self._broken = False

    def backup(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write a consistent copy of this cache, its journal (history, undo, edits not
        yet checkpointed) included, to ``path``; returns the path. Safe while this or
        another process edits the cache: the copy is the cache as it stood at one moment
        (see :mod:`.backup`), and edits go on meanwhile."""
        with self._mutex:
            self._check_open()
        return write_backup(self.path, path, overwrite=overwrite)

    # -- undo / redo ----------------------------------------------------------------------------
    def history(self) -> list[Record]:
        """Every committed transaction in the journal (when, who, key, old, new), oldest first."""
        with self._mutex:
            self._check_open()
            self._refresh_from_disk()
            return self._reader.read_all()

    @property
    def can_undo(self) -> bool:
        with self._mutex:
            self._check_open()
            self._refresh_from_disk()
            return next_undo(self._reader.backwards()) is not None

    @property
    def can_redo(self) -> bool:
        with self._mutex:
            self._check_open()
            self._refresh_from_disk()
            return next_redo(self._reader.backwards()) is not None

    def undo(self) -> Record | None:
        """Revert the latest edit not yet undone (one transaction); ``None`` if there is none."""
        return self._undo_redo("undo")

    def redo(self) -> Record | None:
        return self._undo_redo("redo")

    def _undo_redo(self, kind: str) -> Record | None:
        with self._mutex:
            self._check_open()
            self._ensure_writer()
            if self._broken:
                self._recover_writer()
            find = next_undo if kind == "undo" else next_redo
            target = find(self._reader.backwards())
            if target is None:
                return None
            ordered = reversed(target.changes) if kind == "undo" else target.changes
            changes = [Change(c.origin, c.trace, c.key, self._current_raw(c.origin, c.trace, c.key),
                              c.old if kind == "undo" else c.new) for c in ordered]
            return self._commit(changes, kind, target=target.tx)

    # -- checkpoints and lifetime -------------------------------------------------------------
    @property
    def pending_edits(self) -> int:
        """Attribute values committed in the journal but not yet in the HDF5 file."""
        return len(self._overlay)

    def checkpoint(self) -> bool:
        """Write committed edits into the HDF5 file now; ``False`` when there were none."""
        with self._checkpoint_mutex, self._mutex:
            self._check_open()
            if self._lock is None:
                self._refresh_from_disk()
                if not len(self._overlay):
                    return False
                self._ensure_writer()
            if self._broken:  # after an I/O error, fold only what the disk really holds
                self._recover_writer()
            seq = self._overlay.last_seq
            if seq <= self._base_seq or not len(self._overlay):
                return False
            offset = self._writer.end if self._writer is not None else self._reader.end
            try:
                write_checkpoint(self.path, self._overlay.pending(seq), self._cache_id or
                                 self._reader.cache_id or uuid.uuid4().hex, seq, offset)
            finally:
                if os.stat(self.path).st_ino != self._ino:
                    self._reopen_base()
            self.last_checkpoint_error = None
            return True

    def checkpoint_if_idle(self, idle_s: float | None = None) -> bool:
        """For a timer: checkpoint when edits are pending and none came for ``idle_s``.

        Meant to run on a worker thread: the file copy, which takes time proportional to
        the file (0.2-2 s for large caches), runs without holding the cache's mutex, so
        edits and reads from other threads go on meanwhile. Edits committed during the copy
        have higher sequence numbers than the copy records and stay in the journal overlay.
        """
        with self._checkpoint_mutex:
            with self._mutex:
                if self._closed or self._lock is None or not len(self._overlay):
                    return False
                idle = self.idle_checkpoint_s if idle_s is None else idle_s
                if time.monotonic() - self._last_write < idle:
                    return False
                if self._broken:
                    return self.checkpoint()
                seq = self._overlay.last_seq
                if seq <= self._base_seq:
                    return False
                pending = self._overlay.pending(seq)
                offset = self._writer.end if self._writer is not None else self._reader.end
                cache_id = self._cache_id or self._reader.cache_id or uuid.uuid4().hex
            try:
                write_checkpoint(self.path, pending, cache_id, seq, offset)
            finally:
                with self._mutex:
                    if not self._closed and os.stat(self.path).st_ino != self._ino:
                        self._reopen_base()
            self.last_checkpoint_error = None
            return True

    def _check_open(self) -> None:
        if self._closed:
            raise CacheClosedError(self.path, "the cache was closed")

    def close(self) -> None:
        """Checkpoint pending edits (writer only), then release the lock and every handle.
        A failed checkpoint is raised after the release; the edits stay safe in the journal."""
        with self._checkpoint_mutex, self._mutex:
            if self._closed:
                return
            error: CheckpointError | None = None
            try:
                if self._lock is not None and len(self._overlay) and not self._broken:
                    self.checkpoint()
            except CheckpointError as failure:
                error = failure
            finally:
                self._release_handles()
                self._closed = True
            if error is not None:
                raise error

    def _release_handles(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._reader.close() if hasattr(self, "_reader") else None
        if getattr(self, "_h5", None) is not None:
            self._h5.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> CacheFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class Batch:
    """Edits collected by :meth:`CacheFile.batch`; ``record`` is set once committed."""

    def __init__(self) -> None:
        self.edits: list[tuple[int, dict[str, Any]]] = []
        self.record: Record | None = None

    def update(self, index: int, values: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        self.edits.append((index, {**(values or {}), **more}))

    def set(self, index: int, key: str, value: Any) -> None:
        self.edits.append((index, {key: value}))


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
