"""The annotation file: a journal of annotation changes, written by one process at a time.

The file *is* a journal in the trace cache's format (:mod:`tracemark.io_backends.cache.journal`:
sector-aligned, checksummed records, each fdatasync'd before it is acknowledged), whose
header names the recording's key instead of a cache id. Beside it ``<file>.lock`` is the
cache's writer lock (:mod:`~tracemark.io_backends.cache.lock`), naming its holder. So the
annotation file has the trace cache's guarantees and the same code behind them: a commit
returns once its record is on disk; a crash leaves at most one torn record at the end,
which the next writer cuts off; a second instance gets the file read-only, is told who
holds it and follows the holder's records; undo and redo are records too, found by the
cache's :mod:`~tracemark.io_backends.cache.history`, so they work across restarts and
appear in the history.

The state is the default label set with every record applied in order, each change
checked against the value it replaces (:mod:`.records`). A file that does not fold that
way (damage in the middle, a record that does not apply) is never repaired silently: it
opens read-only saying why (mode ``"auto"``/``"r"``) or is refused (mode ``"r+"``). A
file that is not an annotation journal, or holds another recording's marks, is refused
with :class:`AnnotationFileError` in every mode and never written.

Thread-safe: one mutex around every change of the store's state.
"""

from __future__ import annotations

import os
import stat
import threading
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType

from tracemark.domain.annotations import AnnotationState, FieldChange, apply
from tracemark.io_backends.cache import fsops
from tracemark.io_backends.cache.errors import (
    CacheLockedError,
    CacheReadOnlyError,
    JournalError,
)
from tracemark.io_backends.cache.history import next_redo, next_undo
from tracemark.io_backends.cache.journal import JournalReader, JournalWriter, Record, valid_after
from tracemark.io_backends.cache.lock import WriterLock, whoami

from .errors import AnnotationFileError, AnnotationLockedError, AnnotationReadOnlyError
from .keys import SUFFIX, annotation_folder, recording_key
from .records import HistoryEntry, fold, from_journal, history_entry, to_journal

MODES = ("auto", "r", "r+")
OPENED_READ_ONLY = "opened read-only"


class AnnotationStore:
    """An open annotation file: an :class:`~tracemark.domain.annotations.AnnotationSink`.

    Made by :func:`open_annotations`. ``read_only_reason`` is empty while this process
    holds the file for writing; otherwise it says why not (who holds it, or the damage).
    """

    def __init__(self, path: Path, key: str):
        self.path = path
        #: The recording key the file's header names.
        self.recording_key = key
        self._mutex = threading.RLock()
        self._state = AnnotationState.with_default_labels()
        self._records: list[Record] = []
        self._read_only_reason = ""
        self._lock: WriterLock | None = None
        self._writer: JournalWriter | None = None
        self._reader: JournalReader | None = None
        self._needs_recovery = False
        self._closed = False
        #: Read-only only because another process held the lock (mode "auto"): refresh()
        #: takes the file over once that process has let go.
        self._may_take_over = False

    # -- opening ------------------------------------------------------------------------------
    def _open_writing(self, mode: str, lock_timeout: float) -> None:
        try:
            self._lock = WriterLock(self.path, lock_timeout)
        except CacheLockedError as error:
            if mode == "r+":
                raise AnnotationLockedError(self.path, error.holder) from None
            self._may_take_over = True
            self._open_read_only(f"open for writing by {error.holder}")
            return
        except CacheReadOnlyError as error:
            if mode == "r+":
                raise AnnotationFileError(self.path, error.problem) from None
            self._open_read_only(error.problem)
            return
        try:
            for leftover in self.path.parent.glob(f"{self.path.name}.tmp-*"):
                fsops.unlink(leftover)  # a journal creation a killed writer left half done
            problem = self._load_and_open_writer()
        except BaseException:
            self._release_lock()
            raise
        if problem:
            self._release_lock()
            if mode == "r+":
                raise AnnotationFileError(self.path, f"is damaged: {problem}")
            self._read_only_reason = _damaged(problem)

    def _load_and_open_writer(self) -> str:
        """Fold the file and open its journal writer; the damage that forbids writing, if
        any (then no writer is opened)."""
        reader = JournalReader(self.path)
        try:
            records = self._poll(reader, 0)
            folded = fold(AnnotationState.with_default_labels(), records)
            self._state, self._records = folded.state, folded.records
            if folded.problem:
                return folded.problem
            if reader.damage_blocks_writing:
                return self._damage_in_the_middle(reader.end)
            resume = None
            if reader.cache_id is not None:
                resume = (reader.end, reader.last_seq or 0)
            self._writer = JournalWriter(self.path, self.recording_key, resume)
        except JournalError as error:
            raise AnnotationFileError(self.path, error.problem) from None
        finally:
            reader.close()
        return ""

    def _open_read_only(self, reason: str) -> None:
        self._read_only_reason = reason
        self._reader = JournalReader(self.path)
        try:
            self._follow()
        except BaseException:
            self._reader.close()
            raise

    def _poll(self, reader: JournalReader, after_seq: int) -> list[Record]:
        """New records of ``reader``'s journal, once its header is checked."""
        try:
            records = reader.poll(after_seq)
        except JournalError as error:
            raise AnnotationFileError(self.path, _not_an_annotation_file(error.problem)) from None
        except OSError as error:
            raise AnnotationFileError(self.path, f"cannot be read ({error.strerror or error})"
                                      ) from None
        if reader.cache_id is not None and reader.cache_id != self.recording_key:
            raise AnnotationFileError(self.path, f"holds the marks of another recording (key "
                                                 f"{reader.cache_id}, this recording's is "
                                                 f"{self.recording_key})")
        return records

    def _follow(self) -> bool:
        """Read-only: fold what the writer committed since the last call."""
        reader = self._reader
        if reader is None or reader.stopped is not None:
            return False
        records = self._poll(reader, self._records[-1].seq if self._records else 0)
        folded = fold(self._state, records)
        changed = bool(folded.records)
        self._state = folded.state
        self._records.extend(folded.records)
        problem = folded.problem or (
            self._damage_in_the_middle(reader.end) if reader.damage_blocks_writing else "")
        if problem:
            reader.stop(problem)
            self._read_only_reason = _damaged(problem)
            self._may_take_over = False
            changed = True
        return changed

    def _damage_in_the_middle(self, offset: int) -> str:
        """What damage at ``offset`` with valid records after it keeps from the person."""
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            try:
                later = valid_after(fd, offset)
            finally:
                os.close(fd)
        except OSError:
            later = []
        count = f"{len(later)} later record{'s' if len(later) != 1 else ''}"
        return (f"the record at byte {offset} is damaged and {count} follow it; they are "
                f"not applied")

    # -- the sink -----------------------------------------------------------------------------
    @property
    def state(self) -> AnnotationState:
        return self._state

    @property
    def read_only_reason(self) -> str:
        return self._read_only_reason

    def commit(self, changes: Sequence[FieldChange], note: str = "") -> AnnotationState:
        """Apply ``changes`` as one transaction; returns the new state once it is on disk.

        Raises AnnotationError (nothing written) when a change does not start from the
        current state, AnnotationReadOnlyError when this store may not write, and
        AnnotationFileError when the disk refused the record (not acknowledged)."""
        with self._mutex:
            self._require_writable()
            self._recover_if_needed()
            changes = list(changes)
            new_state = apply(self._state, changes, check=True)
            if changes:
                self._append("edit", changes, new_state, note=note)
            return self._state

    def undo(self) -> AnnotationState | None:
        """Undo the latest edit not undone, as an ``undo`` record; ``None`` when there is
        none or the store is read-only."""
        return self._undo_or_redo("undo")

    def redo(self) -> AnnotationState | None:
        """Redo the edit undone most recently (unless an edit came since), as a ``redo``."""
        return self._undo_or_redo("redo")

    def _undo_or_redo(self, kind: str) -> AnnotationState | None:
        with self._mutex:
            if self._read_only_reason or self._closed:
                return None
            self._recover_if_needed()
            target = self._next(kind)
            if target is None:
                return None
            made = from_journal(target)
            changes = [c.inverse() for c in reversed(made)] if kind == "undo" else list(made)
            new_state = apply(self._state, changes, check=True)
            self._append(kind, changes, new_state, target=target.tx)
            return self._state

    def _next(self, kind: str) -> Record | None:
        find = next_undo if kind == "undo" else next_redo
        return find(reversed(self._records))

    @property
    def can_undo(self) -> bool:
        with self._mutex:
            return not self._read_only_reason and not self._closed and self._next("undo") is not None

    @property
    def can_redo(self) -> bool:
        with self._mutex:
            return not self._read_only_reason and not self._closed and self._next("redo") is not None

    def _append(self, kind: str, changes: list[FieldChange], new_state: AnnotationState,
                target: str | None = None, note: str = "") -> None:
        """THE write path: one fdatasync'd journal record, then the new state."""
        writer = self._writer
        assert writer is not None  # a writable store always has one
        user, host, pid = whoami()
        record = Record(seq=writer.last_seq + 1, tx=uuid.uuid4().hex, kind=kind,
                        time=datetime.now().astimezone().isoformat(timespec="milliseconds"),
                        user=user, host=host, pid=pid, changes=to_journal(changes),
                        target=target, note=note)
        try:
            writer.append(record)
        except OSError as error:
            self._needs_recovery = True
            raise AnnotationFileError(self.path, f"the change was not saved "
                                                 f"({error.strerror or error})") from error
        self._records.append(record)
        self._state = new_state

    def _recover_if_needed(self) -> None:
        """After a failed append: the disk holds the failed record whole or not at all, so
        the state is rebuilt from the file before the next change is checked against it."""
        if not self._needs_recovery:
            return
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        problem = self._load_and_open_writer()
        if problem:
            self._read_only_reason = _damaged(problem)
            raise AnnotationReadOnlyError(self.path, self._read_only_reason)
        self._needs_recovery = False

    def _require_writable(self) -> None:
        if self._closed:
            raise AnnotationReadOnlyError(self.path, "is closed")
        if self._read_only_reason:
            raise AnnotationReadOnlyError(self.path, f"is read-only: {self._read_only_reason}")

    # -- following, history, ending ----------------------------------------------------------
    def refresh(self) -> bool:
        """Read-only: take in the records the writer committed since; True when the state
        or the read-only reason changed. Opened with mode ``"auto"`` and read-only because
        another process held the file, the store takes the file over for writing once
        that process has let go (``read_only_reason`` becomes empty). A writer has
        nothing to follow."""
        with self._mutex:
            if self._closed or self._writer is not None:
                return False
            changed = self._follow()
            if self._may_take_over:
                changed = self._take_over() or changed
            return changed

    def _take_over(self) -> bool:
        """Take the writer lock if it is free now; True when it was taken, or when the
        holder changed."""
        try:
            lock = WriterLock(self.path, 0.0)
        except CacheLockedError as error:
            reason = f"open for writing by {error.holder}"
            changed, self._read_only_reason = reason != self._read_only_reason, reason
            return changed
        except CacheReadOnlyError:
            return False
        reader = self._reader
        try:
            self._follow()  # what the last holder committed after the poll above
            if reader is None or reader.stopped is not None:
                lock.release()
                self._may_take_over = False
                return True
            resume = (reader.end, reader.last_seq or 0) if reader.cache_id is not None else None
            self._writer = JournalWriter(self.path, self.recording_key, resume)
        except JournalError as error:
            lock.release()
            self._may_take_over = False
            self._read_only_reason = _damaged(error.problem)
            return True
        except BaseException:
            lock.release()
            raise
        reader.close()
        self._reader, self._lock = None, lock
        self._read_only_reason, self._may_take_over = "", False
        return True

    def history(self) -> list[HistoryEntry]:
        """Every transaction in the file, oldest first: who, when, which kind, old and new."""
        with self._mutex:
            return [history_entry(record) for record in self._records]

    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> AnnotationStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        how = f"read-only: {self._read_only_reason}" if self._read_only_reason else "writing"
        return f"<AnnotationStore {self.path} ({how})>"


def open_annotations(recording: str | os.PathLike[str], path: str | os.PathLike[str] | None = None,
                     mode: str = "auto", lock_timeout: float = 0.0) -> AnnotationStore:
    """Open the annotation file of ``recording`` (``path``, or its default place).

    ``mode="auto"``: for writing when no other process holds it, else read-only naming
    the holder; ``"r"``: read-only; ``"r+"``: for writing, or AnnotationLockedError after
    waiting ``lock_timeout`` seconds. A missing file is created (``"auto"``, ``"r+"``) or
    reads as the default label set (``"r"``). Raises RecordingError when the recording
    cannot be read for its key, AnnotationFileError when the file is not this
    recording's annotation file or cannot be opened.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    key = recording_key(recording)
    if path is None:
        file = annotation_folder() / f"{key}{SUFFIX}"
        if mode != "r" and not file.parent.is_dir():
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                # the new folder's entry must outlive a power loss as the file's will
                fsops.fsync_dir(file.parent.parent)
            except OSError as error:
                raise AnnotationFileError(file, f"its folder cannot be created "
                                                f"({error.strerror or error})") from None
    else:
        file = Path(path).expanduser().absolute()
    _refuse_unusable(file, mode)
    store = AnnotationStore(file, key)
    if mode == "r":
        store._open_read_only(OPENED_READ_ONLY)
    else:
        store._open_writing(mode, lock_timeout)
    return store


def _refuse_unusable(path: Path, mode: str) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        if mode != "r" and not path.parent.is_dir():
            raise AnnotationFileError(path, f"cannot be created: the folder {path.parent} "
                                            f"does not exist") from None
        return
    except OSError as error:
        raise AnnotationFileError(path, f"cannot be read ({error.strerror or error})") from None
    if not stat.S_ISREG(info.st_mode):
        raise AnnotationFileError(path, "is not a regular file (a folder, pipe or device); "
                                        "an annotation file is a file")


def _not_an_annotation_file(problem: str) -> str:
    if "not a Tracemark journal" in problem:
        return "is not a Tracemark annotation file (its first line is not a journal header)"
    return problem


def _damaged(problem: str) -> str:
    return (f"the file is damaged ({problem}); it is open read-only so that nothing in it "
            f"is lost (move it aside to start a new one)")

