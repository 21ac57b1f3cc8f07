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

Every write goes through :meth:`.session.WriterSession.commit`: validate (schema) -> append
and fsync one journal record (the acknowledgement) -> apply to the in-memory view. Edits
reach the HDF5 file at checkpoints (on close, when idle via :meth:`checkpoint_if_idle`, on
demand) and at the next writer open after a crash. Readers merge the journal, so every
Tracemark process sees a committed edit at once. Reads never write.

Modes: ``"r"`` never writes; ``"r+"`` (default) reads without locking and takes the writer
lock at the first edit; ``"w"`` takes the lock at open or raises :class:`CacheLockedError`
naming the holder; ``"auto"`` takes it when free, else opens read-only and says why in
``read_only_reason``. Wherever the lock is taken, a writer holding it is waited for up to
``lock_timeout`` seconds (default 0: refused at once).

The parts. ``CacheFile`` is the facade: it keeps the public API in one place, holds the
cache's mutex and its one :class:`~.lifecycle.CacheState`, and hands each call to the part
that owns the idea:

* :class:`~.reader.CacheReader` (:mod:`.reader`): the HDF5 file, its layout, the journal it
  follows and the overlay of committed edits; every read. Every open cache has one.
* :class:`~.session.WriterSession` (:mod:`.session`): the writer lock, the journal writer,
  validation, the commit, undo and redo. Exists only while the lock is held.
* :class:`~.checkpointer.Checkpointer` (:mod:`.checkpointer`): the one fold of committed
  edits into the HDF5 file, used by :meth:`CacheFile.checkpoint`, by
  :meth:`CacheFile.checkpoint_if_idle` and at close.

The states and the moves between them (:mod:`.lifecycle`)::

    OPENING -> READ_ONLY                mode "r", or "auto" when the lock is not free
    OPENING -> LOCK_ON_EDIT             mode "r+"
    OPENING or LOCK_ON_EDIT -> WRITING  the writer lock is taken ("w", "auto", first edit)
    WRITING -> NEEDS_RECOVERY           a journal append failed
    NEEDS_RECOVERY -> WRITING           the view was rebuilt from the journal on disk
    any but CLOSED -> CLOSED            close(), or a failed open
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from tracemark.domain.trace_attributes import CACHE_FILE, CACHE_FILE_INDEX, ORIGIN

from . import loading, schema
from .backup import write_backup
from .checkpointer import Checkpointer
from .errors import CacheLockedError, CacheReadOnlyError, CheckpointError
from .history import next_redo, next_undo
from .journal import Record
from .lifecycle import CacheState, Lifecycle
from .queue_writer import QueueWriter
from .reader import CacheReader
from .session import WriterSession, changed_values, check_provenance

__all__ = ["MODES", "Batch", "CacheFile"]

MODES = ("r", "r+", "w", "auto")


class CacheFile:
    """A trace cache file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], mode: str = "r+", *, lock_timeout: float = 0.0,
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
        self._lifecycle = Lifecycle(self.path)
        self._reader = CacheReader(self.path)
        #: Present exactly while the state holds the writer lock.
        self._session: WriterSession | None = None
        self._checkpointer = Checkpointer(self._reader, self._lifecycle, self._mutex)
        try:
            if mode in ("w", "auto"):
                self._open_writer(mode)
            else:
                self._lifecycle.move_to(CacheState.READ_ONLY if mode == "r"
                                        else CacheState.LOCK_ON_EDIT)
        except BaseException:
            self._release_handles()
            raise

    # -- the state and the writer lock ------------------------------------------------------
    @property
    def state(self) -> CacheState:
        """Where this cache stands (see :mod:`.lifecycle`)."""
        return self._lifecycle.state

    def _open_writer(self, mode: str) -> None:
        try:
            session = self._start_session(self.lock_timeout)
        except (CacheLockedError, CacheReadOnlyError) as error:
            if mode == "w":
                raise
            self.read_only_reason = f"{error}; opened read-only"
            self._lifecycle.move_to(CacheState.READ_ONLY)
            return
        session.open_journal_now()
        if len(self._reader.overlay):
            try:  # a previous writer stopped before its checkpoint: finish its work now
                self.checkpoint()
            except CheckpointError as error:
                self.last_checkpoint_error = error

    def _start_session(self, lock_timeout: float) -> WriterSession:
        self._session = WriterSession.begin(self._reader, self._lifecycle, lock_timeout)
        self.read_only_reason = None
        return self._session

    def _ensure_writer(self) -> WriterSession:
        """The writer session, taking the lock now in mode ``"r+"``; the caller holds the
        mutex and has checked that the cache is open."""
        if self._session is not None:
            return self._session
        if self._lifecycle.state is not CacheState.LOCK_ON_EDIT:
            raise CacheReadOnlyError(self.path, f"{self.read_only_reason or 'is read-only'}; "
                                                f"the edit was not written")
        return self._start_session(self.lock_timeout)

    def _catch_up(self) -> list[Record]:
        """Catch up with other processes' checkpoints and journal records."""
        if self._lifecycle.holds_lock:
            return []  # we are the only writer: nothing can change under us
        return self._reader.catch_up()

    def refresh(self) -> list[Record]:
        """Journal records committed by other processes since the last call (for views that
        want to redraw); reads call this themselves."""
        with self._mutex:
            self._lifecycle.require_open()
            return self._catch_up()

    @property
    def problems(self) -> list[str]:
        """What is wrong with this cache and was skipped or is shown as stored (empty for a
        sound cache): damaged or foreign journal records, unusable origin attributes,
        a format from the future. Shown by ``summary()``."""
        return self._reader.problems

    # -- reading ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._reader.layout.index)

    @property
    def fname(self) -> Path:
        return self.path

    @property
    def origins(self) -> list[str]:
        return list(self._reader.layout.index.origins)

    @property
    def writable(self) -> bool:
        return self._lifecycle.holds_lock

    def origin_attrs(self, origin: str) -> dict[str, Any]:
        return dict(self._reader.layout.origin_attrs[origin])

    def trace_origin(self, index: int) -> tuple[str, str]:
        """(origin group, dataset name) of a trace."""
        return self._reader.layout.index.locate(index)

    def origin_range(self, origin: str) -> range:
        """The global indexes of ``origin``'s traces."""
        return self._reader.layout.index.origin_range(origin)

    def index_of(self, origin: str, name: str) -> int:
        return self._reader.layout.index.index_of(origin, str(name))

    def trace_context(self, index: int) -> schema.TraceContext:
        layout = self._reader.layout
        return layout.contexts[layout.index.locate(index)[0]]

    def changed_indexes(self, record: Record) -> list[int]:
        """Trace indexes a journal record (an edit, undo or redo) touched, for redrawing."""
        index = self._reader.layout.index
        return sorted({index.index_of(c.origin, c.trace) for c in record.changes})

    def edited_traces(self) -> list[int]:
        """Indexes of traces with committed edits not yet checkpointed into the HDF5 file."""
        with self._mutex:
            self._lifecycle.require_open()
            self._catch_up()
            return self._reader.edited_traces()

    def copy_origin(self, origin: str, target: Any) -> None:
        """Copy one origin group, as stored in the HDF5 file, into an h5py file or group."""
        with self._mutex:
            self._lifecycle.require_open()
            h5 = self._reader.h5
            h5.copy(h5[origin], target, name=origin)

    def get_trace_data(self, index: int) -> np.ndarray:
        """The trace's samples (rows) x channels (columns), as stored. Never written."""
        with self._mutex:
            self._lifecycle.require_open()
            return self._reader.trace_data(index)

    def load_only(self, keys: str | Iterable[str], indexes: Iterable[int] | None = None, *,
                  raw: bool = False, missing: Any = None) -> dict[str, list[Any]]:
        """Chosen attributes of chosen traces, column by column: ``{key: [value per trace]}``
        in the order of ``indexes`` (default: every trace, in index order). Values are
        typed as :meth:`get_trace_attrs` types them (``raw=True``: the stored strings),
        committed edits not yet checkpointed included; ``missing`` stands where a trace
        lacks the key. Reads each origin's attribute table (:mod:`.columns`) when it is
        fresh, so one key of 100,000 traces is one read; else reads trace by trace."""
        with self._mutex:
            self._lifecycle.require_open()
            self._catch_up()
            stored = self._reader.stored_columns([keys] if isinstance(keys, str) else list(keys),
                                                 indexes)
        if raw:
            return {key: loading.stored_or_missing(column, missing)
                    for key, column in stored.items()}
        return {key: loading.decode_column(key, column, missing) for key, column in stored.items()}

    def stored_rows(self, origin: str) -> list[dict[str, str]]:
        """The stored strings of every trace of ``origin``, in index order, committed edits
        included: one read per key when the origin's attribute table is fresh."""
        with self._mutex:
            self._lifecycle.require_open()
            self._catch_up()
            return self._reader.stored_rows(origin)

    def get_trace_attrs_raw(self, index: int) -> dict[str, str]:
        """The stored strings of one trace, committed edits included."""
        with self._mutex:
            self._lifecycle.require_open()
            self._catch_up()
            return self._reader.attrs_raw(index)

    def get_trace_attrs(self, index: int) -> dict[str, Any]:
        """Decoded attributes of one trace, plus ``origin``, ``cache_file`` and
        ``cache_file_index`` naming where they came from (checked by set_trace_attrs)."""
        attrs = schema.decode_all(self.get_trace_attrs_raw(index))
        attrs[ORIGIN] = self.trace_origin(index)[0]
        attrs[CACHE_FILE] = str(self.path)
        attrs[CACHE_FILE_INDEX] = int(index)
        return attrs

    def __iter__(self) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
        for index in range(len(self)):
            yield self.get_trace_data(index), self.get_trace_attrs(index)

    def summary(self) -> str:
        return self._reader.summary()

    __str__ = summary

    def __repr__(self) -> str:
        shown = {CacheState.CLOSED: "closed", CacheState.WRITING: "writer",
                 CacheState.NEEDS_RECOVERY: "writer"}.get(self.state, "reader")
        return f"<CacheFile {self.path.name!r} {len(self)} traces ({shown})>"

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
            self._lifecycle.require_open()
            session = self._ensure_writer()
            return session.commit(session.prepare(edits), "edit", note=note)

    @contextmanager
    def batch(self, note: str = "") -> Iterator[Batch]:
        """Collect edits; commit them as one transaction when the block ends without an
        exception (nothing is written if it raises)."""
        batch = Batch()
        yield batch
        batch.record = self.apply_edits(batch.edits, note=note)

    def set_trace_attrs(self, index: int, attrs: Mapping[str, Any]) -> Record | None:
        """offspect-style update: ``attrs`` must come from ``get_trace_attrs(index)`` of this
        file (checked); only the keys whose values changed are written."""
        check_provenance(self.path, index, attrs)
        return self.update(index, changed_values(attrs, self.get_trace_attrs_raw(index)))

    def queue_writer(self) -> QueueWriter:
        """Serve edits sent from other processes through this cache's one write path (see
        :mod:`.queue_writer`); give ``.handle`` to the producers. Takes the writer lock now,
        waiting up to ``lock_timeout``. Close it before closing the cache."""
        with self._mutex:
            self._lifecycle.require_open()
            self._ensure_writer()
        return QueueWriter(self)

    def backup(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write a consistent copy of this cache, its journal (history, undo, edits not
        yet checkpointed) included, to ``path``; returns the path. Safe while this or
        another process edits the cache: the copy is the cache as it stood at one moment
        (see :mod:`.backup`), and edits go on meanwhile."""
        with self._mutex:
            self._lifecycle.require_open()
        return write_backup(self.path, path, overwrite=overwrite)

    # -- undo / redo ----------------------------------------------------------------------------
    def history(self) -> list[Record]:
        """Every committed transaction in the journal (when, who, key, old, new), oldest first."""
        with self._mutex:
            self._lifecycle.require_open()
            self._catch_up()
            return self._reader.journal.read_all()

    @property
    def can_undo(self) -> bool:
        with self._mutex:
            self._lifecycle.require_open()
            self._catch_up()
            return next_undo(self._reader.journal.backwards()) is not None

    @property
    def can_redo(self) -> bool:
        with self._mutex:
            self._lifecycle.require_open()
            self._catch_up()
            return next_redo(self._reader.journal.backwards()) is not None

    def undo(self) -> Record | None:
        """Revert the latest edit not yet undone (one transaction); ``None`` if there is none."""
        return self._undo_or_redo("undo")

    def redo(self) -> Record | None:
        return self._undo_or_redo("redo")

    def _undo_or_redo(self, kind: str) -> Record | None:
        with self._mutex:
            self._lifecycle.require_open()
            return self._ensure_writer().undo_or_redo(kind)

    # -- checkpoints and lifetime -------------------------------------------------------------
    @property
    def pending_edits(self) -> int:
        """Attribute values committed in the journal but not yet in the HDF5 file."""
        return len(self._reader.overlay)

    def checkpoint(self) -> bool:
        """Write committed edits into the HDF5 file now; ``False`` when there were none.
        Without the writer lock (mode ``"r+"``), takes it when there is something to fold."""
        with self._checkpointer.exclusive:
            with self._mutex:
                self._lifecycle.require_open()
                if not self._lifecycle.holds_lock:
                    self._catch_up()
                    if not len(self._reader.overlay):
                        return False
                session = self._ensure_writer()
            return self._fold(session)

    def checkpoint_if_idle(self, idle_s: float | None = None) -> bool:
        """For a timer: checkpoint when edits are pending and none came for ``idle_s``
        (default ``idle_checkpoint_s``); ``False`` without the writer lock.

        Meant to run on a worker thread: the file copy, which takes time proportional to
        the file (0.2-2 s for large caches), runs without holding the cache's mutex, so
        edits and reads from other threads go on meanwhile (see :mod:`.checkpointer`).
        """
        with self._checkpointer.exclusive:
            with self._mutex:
                session = self._session
                idle = self.idle_checkpoint_s if idle_s is None else idle_s
                if session is None or not self._checkpointer.is_due(session, idle):
                    return False
            return self._fold(session)

    def _fold(self, session: WriterSession) -> bool:
        folded = self._checkpointer.fold(session)
        if folded:
            self.last_checkpoint_error = None
        return folded

    def close(self) -> None:
        """Checkpoint pending edits (writer only), then release the lock and every handle.
        A failed checkpoint is raised after the release; the edits stay safe in the journal.
        After a failed journal append (``NEEDS_RECOVERY``) nothing is folded: the next
        writer rebuilds the view from the journal on disk."""
        with self._checkpointer.exclusive, self._mutex:
            if self._lifecycle.closed:
                return
            error: CheckpointError | None = None
            try:
                if self.state is CacheState.WRITING and len(self._reader.overlay):
                    self.checkpoint()
            except CheckpointError as failure:
                error = failure
            finally:
                self._release_handles()
            if error is not None:
                raise error

    def _release_handles(self) -> None:
        """Close every handle, then release the writer lock, without folding anything (what
        a crash leaves); the cache is closed afterwards."""
        session, self._session = self._session, None
        if session is not None:
            session.close_journal()
        self._reader.close()
        if session is not None:
            session.release_lock()
        if not self._lifecycle.closed:
            self._lifecycle.move_to(CacheState.CLOSED)

    @property
    def closed(self) -> bool:
        return self._lifecycle.closed

    def __enter__(self) -> CacheFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
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
