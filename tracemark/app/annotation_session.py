"""``AnnotationSession``: the Qt-side owner of one open trace cache while it is reviewed.

It opens the cache with ``mode="auto"`` (the writer lock when free, otherwise read-only with
the holder named in ``read_only_reason``), serves what the editor shows (``trace_view``,
``row``), and turns each edit the person makes into ONE durable transaction
(``apply_edit``), returning the confirmed attributes only once the journal is fsync'd.
Undo and redo go through the cache's own history, so they work across restarts and are in
the audit trail. Nothing here writes because something was looked at.

Read-only (another process holds the writer lock), the session follows the holder's
journal every two seconds, so its edits appear here as they are committed.

In rater mode (a cache rated by several raters, :mod:`.rater_session`) the cache is open
read-only and the rater-keyed attributes are this rater's own: read, written, undone and
redone through the :class:`~.rater_session.RaterMode` given as ``rater``; the other keys
are read from the cache as always.

Threads: edits run on the GUI thread: one journal append and fsync, a few milliseconds,
so each keystroke is durable before the next one is handled. Work proportional to the
file runs on the thread pool: loading every trace's row and the plots' TraceSet
(``start_loading``), and idle checkpoints, whose file copy does not hold the cache's mutex
(``CacheFile.checkpoint_if_idle``), so edits made meanwhile are not held up. ``close``
waits for both, then checkpoints.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from tracemark.domain import trace_attributes as keys
from tracemark.domain.trace_attributes import TRANSIENT_KEYS
from tracemark.io_backends.cache import CacheError, CacheFile, CheckpointError
from tracemark.widgets.editor import TraceRow, TraceView

from .workers import Task, TaskCancelled

if TYPE_CHECKING:   # rater mode loads with a rated cache
    from .rater_session import RaterMode

#: Seconds without edits before the HDF5 file is brought up to date with the journal.
IDLE_CHECKPOINT_S = 5.0
CHECKPOINT_POLL_MS = 2000


@dataclass(frozen=True)
class OriginInfo:
    """What the app needs about one origin (source recording) of the cache."""

    name: str
    channel_labels: tuple[str, ...]
    sampling_rate: float
    samples_pre: int
    samples_post: int
    source_file: str
    source_sha256: str
    attrs: Mapping[str, Any]

    def names_file(self, recording: str | os.PathLike) -> bool:
        """Whether ``recording`` is the very file this origin names as its source (paths
        resolved, so symbolic links, relative paths and hard links do not matter)."""
        return bool(self.source_file) and _same_file(Path(self.source_file), Path(recording))

    def cut_from(self, recording: str | os.PathLike) -> bool:
        """Whether this origin's traces were cut from ``recording``: the file it names; or,
        when that file is gone (the cache was moved together with its recording), a file of
        the same name. An origin naming no file (offspect's) is named after its recording.
        THE rule for showing traces on a recording (the viewer link, the opening checks)."""
        recording = Path(recording)
        if not self.source_file:
            return self.name == recording.name
        if self.names_file(recording):
            return True
        return not Path(self.source_file).exists() and _file_name(self.source_file) == recording.name


@dataclass(frozen=True)
class LoadedTable:
    rows: list[TraceRow]
    trace_set: Any          # tracemark.analysis.TraceSet, or None when it cannot be drawn
    plot_problem: str = ""
    #: Traces whose attributes a damaged file would not give (shown as unreviewed), and why.
    unreadable: tuple[int, ...] = ()
    read_problem: str = ""


class AnnotationSession(QObject):
    """One open cache (see the module docstring)."""

    #: Rows and plot data of every trace, once loaded off the GUI thread.
    table_loaded = pyqtSignal(object)            # LoadedTable
    load_progress = pyqtSignal(int, int)
    load_failed = pyqtSignal(str)                # the problem (the file is the session's)
    #: Confirmed attributes of trace i after an edit, an undo or a redo.
    trace_changed = pyqtSignal(int, dict)
    history_changed = pyqtSignal()
    #: A checkpoint could not be written (the edits are safe in the journal).
    checkpoint_failed = pyqtSignal(str)

    def __init__(self, cache: CacheFile | str | Path, parent: QObject | None = None, *,
                 mode: str = "auto", rater: RaterMode | None = None):
        super().__init__(parent)
        if not isinstance(cache, CacheFile):
            cache = CacheFile(cache, mode=mode)
        cache.idle_checkpoint_s = IDLE_CHECKPOINT_S
        self.cache = cache
        #: The rater whose values are shown and edited (None: the plain values, as ever).
        self.rater = rater
        self.path = self.cache.path
        self.origins = {name: _origin_info(name, self.cache.origin_attrs(name))
                        for name in self.cache.origins}
        self.rows: list[TraceRow] = []
        self._loader: Task | None = None
        self._checkpointer: Task | None = None
        self._timer = QTimer(self, interval=CHECKPOINT_POLL_MS)
        self._timer.timeout.connect(self._checkpoint_if_idle if cache.writable else self._follow_writer)
        self._timer.start()

    # -- state -----------------------------------------------------------------------------
    @property
    def writable(self) -> bool:
        """Whether the person's edits can be written (in rater mode: to their journal)."""
        return self.rater.writable if self.rater is not None else self.cache.writable

    @property
    def read_only_reason(self) -> str | None:
        if self.rater is not None:
            return self.rater.read_only_reason
        return None if self.cache.writable else (self.cache.read_only_reason or "opened read-only")

    def __len__(self) -> int:
        return len(self.cache)

    def origin_of(self, index: int) -> OriginInfo:
        return self.origins[self.cache.trace_origin(index)[0]]

    def cut_from(self, recording: str | os.PathLike) -> bool:
        """Whether any of the cache's traces were cut from ``recording``."""
        return any(origin.cut_from(recording) for origin in self.origins.values())

    # -- reading (GUI thread; a few hundred microseconds per trace) ------------------------
    def attrs(self, index: int) -> dict[str, Any]:
        attrs = self.cache.get_trace_attrs(index)
        return attrs if self.rater is None else self.rater.overlay(index, attrs)

    def trace_view(self, index: int, attrs: Mapping[str, Any] | None = None) -> TraceView:
        origin = self.origin_of(index)
        attrs = dict(self.attrs(index) if attrs is None else attrs)
        shown = {k: v for k, v in attrs.items() if k not in TRANSIENT_KEYS}
        data = self.cache.get_trace_data(index)
        labels = origin.channel_labels
        if data.ndim != 2 or len(labels) != data.shape[1]:  # a damaged or foreign origin
            labels = tuple(f"channel {c + 1}" for c in range(data.shape[1] if data.ndim == 2 else 1))
        others = {} if self.rater is None else self.rater.others(index)
        return TraceView(index=index, data=data, channel_labels=labels, sampling_rate=origin.sampling_rate,
                         samples_pre=origin.samples_pre, attrs=shown, origin=origin.name,
                         origin_attrs=origin.attrs, other_raters=others)

    def unreadable_view(self, index: int, attrs: Mapping[str, Any]) -> TraceView:
        """A blank trace carrying ``attrs``, for a trace whose samples or window cannot be
        read from a damaged cache: the editor and the table still show where the person is,
        and nothing from the previous trace stays on screen."""
        shown = {k: v for k, v in attrs.items() if k not in TRANSIENT_KEYS}
        try:
            origin, origin_attrs = self.origin_of(index).name, self.origin_of(index).attrs
        except (CacheError, KeyError):
            origin, origin_attrs = "", {}
        return TraceView(index=index, data=np.full((2, 1), np.nan, dtype=np.float32),
                         channel_labels=("unreadable",), sampling_rate=1000.0, samples_pre=0,
                         attrs=shown, origin=origin, origin_attrs=origin_attrs)

    # -- editing ---------------------------------------------------------------------------
    def apply_edit(self, index: int, values: Mapping[str, Any], note: str = "") -> dict[str, Any]:
        """Commit ``values`` to trace ``index`` as one transaction; returns the confirmed
        attributes once durable. Raises ``CacheError`` (naming the file) when refused."""
        if self.rater is not None:
            self.rater.commit(index, values, note=note)
        else:
            self.cache.update(index, dict(values), note=note)
        attrs = self.attrs(index)
        self._store_row(index, attrs)
        self.trace_changed.emit(index, attrs)
        self.history_changed.emit()
        return attrs

    def undo(self) -> list[int]:
        """Undo the latest edit; the indexes of the traces it changed (empty: nothing to undo)."""
        if self.rater is not None:
            return self._show_changed(self.rater.undo())
        return self._undo_redo(self.cache.undo)

    def redo(self) -> list[int]:
        if self.rater is not None:
            return self._show_changed(self.rater.redo())
        return self._undo_redo(self.cache.redo)

    def _undo_redo(self, operation) -> list[int]:
        record = operation()
        return [] if record is None else self._show_changed(self.cache.changed_indexes(record))

    def _show_changed(self, indexes: list[int]) -> list[int]:
        if not indexes:
            return []
        for index in indexes:
            attrs = self.attrs(index)
            self._store_row(index, attrs)
            self.trace_changed.emit(index, attrs)
        self.history_changed.emit()
        return indexes

    def can_undo(self) -> bool:
        if self.rater is not None:
            return self.rater.can_undo
        return self.writable and self.cache.can_undo

    def can_redo(self) -> bool:
        if self.rater is not None:
            return self.rater.can_redo
        return self.writable and self.cache.can_redo

    def _store_row(self, index: int, attrs: Mapping[str, Any]) -> TraceRow:
        row = TraceRow.from_attrs(index, attrs)
        if index < len(self.rows):
            self.rows[index] = row
        return row

    def row(self, index: int) -> TraceRow:
        if index < len(self.rows):
            return self.rows[index]
        return TraceRow.from_attrs(index, self.attrs(index))

    # -- loading the table off the GUI thread ------------------------------------------------
    def start_loading(self, with_plots: bool = True) -> Task:
        """Read every trace's row (and the plots' TraceSet) on a worker; ``table_loaded``
        carries them back. Cancelled by ``close``."""
        cache, rater = self.cache, self.rater

        def load(progress, cancelled) -> LoadedTable:
            n = len(cache)
            all_attrs, unreadable, read_problem = [], [], ""
            own = None if rater is None else rater.own_values()
            for index in range(n):
                if cancelled():
                    raise TaskCancelled
                try:
                    attrs = cache.get_trace_attrs(index)
                    all_attrs.append(attrs if own is None else rater.overlay(index, attrs, own.get(index, {})))
                except CacheError as error:   # one damaged trace must not hide the others
                    all_attrs.append({})
                    unreadable.append(index)
                    read_problem = read_problem or error.problem
                if index % 200 == 0 or index == n - 1:
                    progress(index + 1, n)
            rows = [TraceRow.from_attrs(i, a) for i, a in enumerate(all_attrs)]
            trace_set, problem = None, ""
            if unreadable:
                problem = (f"{cache.path}: {len(unreadable)} traces cannot be read, so the "
                           f"plots are not drawn")
            elif with_plots and n and not cancelled():
                from .plot_data import PlotDataError, load_trace_set

                try:
                    trace_set = load_trace_set(cache, all_attrs)
                except (PlotDataError, CacheError) as error:
                    problem = str(error)
                except (ValueError, OverflowError, TypeError) as error:  # absurd stored values
                    problem = f"{cache.path}: the traces cannot be drawn together ({error})"
            return LoadedTable(rows, trace_set, problem, tuple(unreadable), read_problem)

        task = Task(load, name="loadTraceTable")
        task.progress.connect(self.load_progress)
        task.finished.connect(self._on_loaded)
        task.failed.connect(lambda error: self.load_failed.emit(
            error.problem if isinstance(error, CacheError) else f"{type(error).__name__}: {error}"))
        self._loader = task
        return task.start()

    def _on_loaded(self, table: LoadedTable) -> None:
        if self.cache.closed:
            return
        self.rows = list(table.rows)
        self.table_loaded.emit(table)

    # -- checkpoints and closing -------------------------------------------------------------
    def _checkpoint_if_idle(self) -> None:
        if self.cache.closed or not self.cache.writable or not self.cache.pending_edits:
            return
        if self._checkpointer is not None and not self._checkpointer.done:
            return
        cache = self.cache
        task = Task(lambda _progress, _cancelled: cache.checkpoint_if_idle(), name="checkpoint")
        task.failed.connect(self._on_checkpoint_failed)
        self._checkpointer = task.start()

    def _follow_writer(self) -> None:
        """Read-only: show the edits the instance holding the file commits (one fstat of
        the journal when nothing changed)."""
        if self.cache.closed or self.cache.writable:
            return
        try:
            records = self.cache.refresh()
            changed = sorted({i for record in records for i in self.cache.changed_indexes(record)}
                             | set(self.rater.poll() if self.rater is not None else ()))
        except CacheError:
            return
        for index in changed:
            attrs = self.attrs(index)
            self._store_row(index, attrs)
            self.trace_changed.emit(index, attrs)

    def _on_checkpoint_failed(self, error: BaseException) -> None:
        if isinstance(error, CheckpointError):
            self.checkpoint_failed.emit(str(error))

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait for the loader and any checkpoint in flight (for close and tests)."""
        done = True
        for task in (self._loader, self._checkpointer):
            if task is not None:
                done = task.wait(timeout_s) and done
        return done

    @property
    def needs_final_checkpoint(self) -> bool:
        """Closing will fold edits into the HDF5 file (a copy of the whole file); in rater
        mode, once the rater wrote, closing may publish their values (the same)."""
        if self.rater is not None:
            return self.rater.wrote and not self.cache.closed
        return self.cache.writable and not self.cache.closed and bool(self.cache.pending_edits)

    def close(self) -> None:
        """Stop the workers, checkpoint (writer) and release the cache. A checkpoint error
        is raised after the release; the edits stay safe in the journal."""
        self._timer.stop()
        if self._loader is not None:
            self._loader.cancel()
        self.wait_idle()
        try:
            self.cache.close()
        finally:
            self._close_rater()

    def close_in_background(self) -> Task:
        """``close`` with its final checkpoint on a worker (0.2-1.8 s on big caches): the
        caller shows progress meanwhile. Not cancellable: a checkpoint stopped half way
        would gain nothing, and the file must end up holding every edit."""
        self._timer.stop()      # timers belong to the GUI thread
        if self._loader is not None:
            self._loader.cancel()

        def close(_progress, _cancelled) -> None:
            self.wait_idle()
            try:
                self.cache.close()
            finally:
                self._close_rater()

        return Task(close, name="finalCheckpoint").start()

    def _close_rater(self) -> None:
        if self.rater is not None:
            self.rater.close()


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except (OSError, RuntimeError):   # an unreadable folder, a symbolic link loop
        return False


def _file_name(path_text: str) -> str:
    """The file name of a stored path, whichever system wrote it (C:\\data\\a.TRC too)."""
    return re.split(r"[\\/]", path_text)[-1]


def _origin_info(name: str, attrs: Mapping[str, Any]) -> OriginInfo:
    def number(key, kind, default):
        value = attrs.get(key)
        return kind(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default

    labels = attrs.get(keys.CHANNEL_LABELS)
    labels = tuple(str(v) for v in labels) if isinstance(labels, (list, tuple)) else ()
    return OriginInfo(name=name, channel_labels=labels,
                      sampling_rate=number(keys.SAMPLING_RATE, float, 1000.0),
                      samples_pre=number(keys.SAMPLES_PRE_EVENT, int, 0),
                      samples_post=number(keys.SAMPLES_POST_EVENT, int, 0),
                      source_file=str(attrs.get(keys.SOURCE_FILE) or ""),
                      source_sha256=str(attrs.get(keys.SOURCE_SHA256) or ""),
                      attrs=dict(attrs))
