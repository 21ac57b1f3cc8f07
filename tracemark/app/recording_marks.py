"""The person's own marks on the open recording: which annotation file holds them, and the
commands around it (undo and redo of marks, import, export, choosing another file).

:class:`RecordingMarks`, one per main window, follows the workspace: when a recording
opens, its annotation file is opened (by default the one in the user's data directory
keyed by the recording's content, ``tracemark.io_backends.annotation_store``) and handed
to the viewer as the sink every mark is committed through; when it closes, so does the
file. The file opens for writing when no other process holds it; otherwise read-only, with
the holder named in the status bar, following the holder's edits every two seconds.

An annotation file that cannot be read never keeps the recording from opening: the error
is shown (naming the file and the problem), and the viewer shows the recording with marks
switched off (a read-only, empty sink that says why).

The file is opened on a thread of its own once the first page is on screen: opening it
imports the journal machinery, takes the lock and reads every mark, which on the GUI
thread stalled the pages a person turns right after opening (94 ms before the store
stopped importing the trace cache with it; a long history still costs its reading). The
viewer keeps the marks' room meanwhile, so the rows do not move when they arrive. The
thread is its own rather than a :class:`~.workers.Task`: when the window is gone before
the file is open, the thread itself closes the file (and with it the lock), which a task's
result, delivered to nobody, would keep.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import QObject, QTimer, pyqtSignal
from PyQt6.QtWidgets import QFileDialog, QWidget

from tracemark.domain.annotations import AnnotationError, AnnotationState, InMemoryAnnotations

if TYPE_CHECKING:
    from tracemark.io_backends import annotation_formats as formats
    from tracemark.io_backends.annotation_store import AnnotationStore

log = logging.getLogger(__name__)

#: How often a read-only annotation file is checked for the holder's new marks.
FOLLOW_EVERY_MS = 2000


class RecordingMarks(QObject):
    """Opens and closes the open recording's annotation file and serves the viewer from it."""

    #: A line for the status bar (which file, read-only and why, what an import did).
    status = pyqtSignal(str)
    #: ``(title, text)`` of an error the person must see.
    error = pyqtSignal(str, str)
    #: The file in use was opened, closed, or became writable (its holder went).
    changed = pyqtSignal()
    #: ``(what was asked, the store or the error)`` from the opening thread.
    _opened = pyqtSignal(object, object)

    def __init__(self, viewer: Any, dialog_parent: QWidget, parent: QObject | None = None):
        super().__init__(parent)
        self.viewer = viewer
        self.dialog_parent = dialog_parent
        self.store: AnnotationStore | None = None
        self.recording: Any = None
        #: The annotation file to open once the recording's first page is on screen.
        self._pending: tuple[Any, str | Path | None] | None = None
        #: The request being opened on its thread; a result for any other is closed unused.
        self._opening: tuple[Any, str | Path | None] | None = None
        self._opened.connect(self._adopt)
        self._follow_timer = QTimer(self)
        self._follow_timer.setInterval(FOLLOW_EVERY_MS)
        self._follow_timer.timeout.connect(self.follow)   # a method, not a lambda: see widgets/gui_gc
        viewer.first_page_settled.connect(self._open_pending)

    # -- the file ---------------------------------------------------------------------------
    def show_recording(self, recording: Any, path: str | Path | None = None) -> None:
        """Show ``recording``'s marks from ``path`` (default: its file in the user's data
        folder) once its first page is on screen; None closes the file in use.

        Why wait: the store brings the journal machinery in, which the first page of a
        recording has no use for (see tests/test_startup_imports.py)."""
        self.close()
        self.recording = recording
        if recording is not None:
            self._pending = (recording, path)
            self.viewer.expect_annotation_sink()
            if self.viewer.source is None or self.viewer.last_result is not None:
                self._open_pending()   # no page to wait for, or it is already shown

    def _open_pending(self) -> None:
        if self._pending is None:
            return
        self._opening, self._pending = self._pending, None
        threading.Thread(target=self._open_in_background, args=(self._opening,),
                         name="tracemark-marks-open", daemon=True).start()

    def _open_in_background(self, request: tuple[Any, str | Path | None]) -> None:
        """On the opening thread: open the file (importing the store) and hand it over."""
        recording, path = request
        outcome: Any
        try:
            from tracemark.io_backends.annotation_store import open_annotations  # noqa: PLC0415 (see show_recording)

            outcome = open_annotations(str(recording.path), path, mode="auto")
        except Exception as exc:  # noqa: BLE001 (handed to the GUI thread, which tells or raises it)
            outcome = exc
        try:
            self._opened.emit(request, outcome)
        except RuntimeError:   # the window went meanwhile: nobody will use the file
            if not isinstance(outcome, BaseException):
                outcome.close()

    def _adopt(self, request: tuple[Any, str | Path | None], outcome: Any) -> None:
        if request is not self._opening:   # closed, or another recording opened meanwhile
            if not isinstance(outcome, BaseException):
                outcome.close()
            return
        self._opening = None
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, _store_errors(AnnotationError)):
                raise outcome
            reason = f"the annotation file cannot be read: {outcome}"
            self.viewer.set_annotation_sink(InMemoryAnnotations(read_only_reason=reason))
            self.error.emit("Annotations not available", f"{outcome}\n\nThe recording is shown "
                            "without your marks; nothing was changed in the annotation file.")
            self.changed.emit()
            return
        self.store = outcome
        self.viewer.set_annotation_sink(self.store)
        if self.store.read_only_reason:   # writable is the usual case: nothing to say
            self._follow_timer.start()
            self.status.emit(f"Marks are read-only: {self.store.read_only_reason}")
        self.changed.emit()

    def close(self) -> None:
        self._follow_timer.stop()
        self._pending = self._opening = None
        store, self.store = self.store, None
        self.viewer.set_annotation_sink(None)
        if store is not None:
            store.close()
            self.changed.emit()

    def follow(self) -> None:
        """Read-only: show what the holder of the file has marked since the last look."""
        store = self.store
        if store is None:
            return
        try:
            changed = store.refresh()
        except _store_errors() as exc:
            self._follow_timer.stop()
            self.status.emit(f"Stopped following the annotation file: {exc}")
            return
        if changed:
            self.viewer.refresh_annotations()
        if not store.read_only_reason:
            self._follow_timer.stop()   # the holder has gone and this window now writes
            self.status.emit(f"Marks are saved in {store.path}")
            self.changed.emit()

    @property
    def state(self) -> AnnotationState | None:
        return None if self.store is None else self.store.state

    def current_state(self) -> AnnotationState | None:
        """The marks now (for callers that want a function, like the build dialog's opener)."""
        return self.state

    @property
    def writable(self) -> bool:
        return self.store is not None and not self.store.read_only_reason

    # -- commands ---------------------------------------------------------------------------
    def undo(self) -> None:
        self.viewer.undo_annotation()

    def redo(self) -> None:
        self.viewer.redo_annotation()

    def choose_file(self) -> None:
        """Keep this recording's marks in a file the person picks (created when new)."""
        if self.recording is None:
            return
        path, _ = QFileDialog.getSaveFileName(self.dialog_parent, "Annotation file",
                                              str(Path.home() / f"{self.recording.path.stem}.tmannot"),
                                              "Tracemark annotations (*.tmannot)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.show_recording(self.recording, path)
            self._open_pending()

    def export_dialog(self) -> None:
        from tracemark.io_backends import annotation_formats as formats  # noqa: PLC0415 (used when asked)

        if self.store is None:
            return
        filters = ";;".join(formats.FORMAT_TITLES[f] for f in formats.FORMATS)
        path, chosen = QFileDialog.getSaveFileName(self.dialog_parent, "Export annotations",
                                                   str(Path.home() / f"{self.recording.path.stem}_events.tsv"),
                                                   filters)
        if path:
            fmt = next((f for f, text in formats.FORMAT_TITLES.items() if text == chosen), None)
            self.export_to(Path(path), fmt or formats.guess_format(Path(path)))

    def export_to(self, path: Path, fmt: str) -> list[Path]:
        """Write the marks to ``path`` as ``fmt``; the files written (none on error, shown)."""
        from tracemark.io_backends import annotation_formats as formats  # noqa: PLC0415 (used when asked)

        if self.store is None:
            return []
        try:
            info = recording_info(self.recording, self.viewer)
            written = formats.export_annotations(self.store.state, path, fmt, info)
        except _store_errors() as exc:
            self.error.emit("Export failed", str(exc))
            return []
        self.status.emit("Exported annotations to " + ", ".join(str(p) for p in written))
        return written

    def import_dialog(self) -> None:
        from tracemark.io_backends import annotation_formats as formats  # noqa: PLC0415 (used when asked)

        if self.store is None:
            return
        path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Import annotations", str(Path.home()),
                                              ";;".join(["All annotation files (*.tsv *.edf *.csv *.txt *.nwb)",
                                                         *(formats.FORMAT_TITLES[f] for f in formats.FORMATS)]))
        if path:
            self.import_from(Path(path))

    def import_from(self, path: Path, fmt: str | None = None) -> int:
        """Add the marks and bad channels in ``path`` as one undoable edit; how many marks."""
        from tracemark.io_backends import annotation_formats as formats  # noqa: PLC0415 (used when asked)

        if self.store is None:
            return 0
        try:
            imported = formats.import_annotations(path, fmt, recording_info(self.recording, self.viewer))
            changes = formats.import_changes(self.store.state, imported)
            self.store.commit(changes, note=f"import {path.name}")
        except _store_errors(AnnotationError) as exc:
            self.error.emit("Import failed", f"{exc}\n\nNo mark was added.")
            return 0
        self.viewer.refresh_annotations()
        count = len(imported.marks)
        self.status.emit(f"Imported {count} marks and {len(imported.bad_channels)} bad channels from {path.name}")
        return count


def _store_errors(*more: type[BaseException]) -> tuple[type[BaseException], ...]:
    """What opening, reading or writing an annotation file, or another format, may raise:
    each a typed error naming the file (or the OS's own)."""
    from tracemark.io_backends.cache import CacheError  # noqa: PLC0415
    from tracemark.io_backends.errors import TracemarkError  # noqa: PLC0415 (see show_recording)

    return (TracemarkError, CacheError, OSError, *more)


def recording_info(recording: Any, viewer: Any) -> formats.RecordingInfo:
    """What the interchange formats need to know of the stream shown (channels, rate,
    start, length and the recording's own path, which no export may overwrite)."""
    from tracemark.io_backends import annotation_formats as formats  # noqa: PLC0415 (used when asked)

    return formats.RecordingInfo.from_header(recording.header, getattr(viewer.source, "stream_index", None))
