"""File › Export page…, File › Export segment… and File › Print…, for the signal viewer.

Export page writes what the viewer shows (its window, rows, montage, filter and scales)
as a PNG, SVG or PDF page; Print sends the same page, from the same painter
(:mod:`tracemark.widgets.viewer.page_export`), through the platform's print dialog.
Export segment writes the measurement span (cursor A to cursor B; the visible window
when the cursors are not both placed) to EDF+ or CSV, as displayed or raw, with the
recording's events in the span as annotations (:mod:`.export_segment`); it runs on a
worker behind a progress dialog whose Cancel leaves no file. Every failure is a
window-modal message naming the file and the problem.

The writers, the page painter and Qt's print support are imported when a command first
runs: the window opens without them.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QGuiApplication, QPageLayout
from PyQt6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from tracemark.io_backends.errors import TracemarkError

from .workers import Task, TaskCancelled

PAGE_FILTERS = "PDF document (*.pdf);;PNG image (*.png);;SVG drawing (*.svg)"
SEGMENT_FILTERS = "EDF+ file (*.edf);;CSV table (*.csv)"


def producer() -> str:
    """"Tracemark x.y" for page footers (the version is read when a page is made, not at
    start-up: importlib.metadata costs 10 ms)."""
    from tracemark import __version__  # noqa: PLC0415

    return f"Tracemark {__version__}"


PROGRESS_STEPS = 1000


def export_span(viewer) -> tuple[float, float]:
    """The span an export writes: the cursors' span, else the visible window."""
    span = viewer.cursors.span()
    if span is not None:
        return span
    window = viewer.model.window
    return window.start_s, min(window.stop_s, window.duration_s or window.stop_s)


class SegmentExportDialog(QDialog):
    """Asks for the span, the channels, raw or as displayed, and the output file."""

    def __init__(self, viewer, suggested: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("segmentExportDialog")
        self.setWindowTitle("Export segment")
        self.viewer = viewer
        start, stop = export_span(viewer)
        duration = viewer.model.window.duration_s
        self.start = self._seconds_box("exportStart", start, duration)
        self.stop = self._seconds_box("exportStop", stop, duration)
        self.page_rows = QRadioButton("Channels on the page")
        self.all_rows = QRadioButton("All channels")
        self.page_rows.setChecked(True)
        self.displayed = QRadioButton("As displayed (montage and filters)")
        self.raw = QRadioButton("Raw (channels as recorded, physical units)")
        self.displayed.setChecked(True)
        for name, button in (("exportPageRows", self.page_rows), ("exportAllRows", self.all_rows),
                             ("exportDisplayed", self.displayed), ("exportRaw", self.raw)):
            button.setObjectName(name)
        self._groups = [QButtonGroup(self), QButtonGroup(self)]
        for group, buttons in zip(self._groups, ((self.page_rows, self.all_rows), (self.displayed, self.raw))):
            for button in buttons:
                group.addButton(button)
        self.path = QLineEdit(str(suggested))
        self.path.setObjectName("exportPath")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("From (s)", self.start)
        form.addRow("To (s)", self.stop)
        form.addRow("Channels", _stacked(self.page_rows, self.all_rows))
        form.addRow("Values", _stacked(self.displayed, self.raw))
        form.addRow("File (.edf, .csv)", file_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _seconds_box(self, name: str, value: float, duration: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox(self)
        box.setObjectName(name)
        box.setDecimals(3)
        box.setRange(0.0, max(duration, value, 0.001))
        box.setValue(value)
        return box

    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export segment", self.path.text(), SEGMENT_FILTERS)
        if name:
            self.path.setText(name)

    def segment(self):
        """The export job the answers describe."""
        from .export_segment import build_segment

        viewer = self.viewer
        displayed = self.displayed.isChecked()
        montage = viewer.model.display.montage if displayed else None
        if self.page_rows.isChecked() and (displayed or montage is None):
            rows = viewer.model.channels.visible_rows
        elif self.page_rows.isChecked():   # raw values of the page's derivations: their inputs
            matrix = viewer.model.display.montage.matrix(viewer.source.channel_names)
            rows = sorted({int(i) for r in viewer.model.channels.visible_rows for i in matrix[r].nonzero()[0]})
        else:
            rows = range(len(viewer.row_labels()) if displayed else len(viewer.source.channel_names))
        return build_segment(viewer.source, self.start.value(), self.stop.value(), list(rows),
                             output=Path(self.path.text()), montage=montage,
                             display_filter=viewer.active_filter() if displayed else None,
                             row_labels=viewer.row_labels() if displayed else None,
                             bad_channels=tuple(viewer.model.display.bad_channels) if displayed else ())


def _stacked(*widgets) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    return box


class ExportCommands:
    """The three commands, bound to a main window (its viewer, settings and messages)."""

    def __init__(self, window):
        self.window = window
        self.last_dialog = None
        self.task = None   # the segment export running, if any

    @property
    def viewer(self):
        return self.window.viewer

    def _suggested(self, suffix: str) -> Path:
        source = self.viewer.source
        stem = Path(getattr(source, "name", "recording")).stem or "recording"
        start, _ = export_span(self.viewer)
        return Path.home() / f"{stem}_{start:.0f}s{suffix}"

    def export_page(self) -> None:
        if self.viewer.source is None:
            return
        name, _ = QFileDialog.getSaveFileName(self.window, "Export page", str(self._suggested(".pdf")),
                                              PAGE_FILTERS)
        if name:
            self.write_page_file(Path(name))

    def write_page_file(self, path: Path) -> bool:
        from tracemark.widgets.viewer.page_export import (
            page_content_from_viewer,
            write_page,
        )

        try:
            with _WaitCursor():
                write_page(page_content_from_viewer(self.viewer, producer=producer()), path)
        except (OSError, ValueError) as error:
            self.window.show_error("Export page", f"Could not write {path}:\n{error}")
            return False
        self.window.set_status(f"Page written to {path}")
        return True

    def export_segment(self) -> None:
        if self.viewer.source is None:
            return
        dialog = SegmentExportDialog(self.viewer, self._suggested(".edf"), self.window)
        self.last_dialog = dialog
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.write_segment_file(dialog)

    def write_segment_file(self, dialog: SegmentExportDialog):
        """Write the dialog's segment on a worker, with a progress dialog that can cancel it;
        returns the running :class:`~.workers.Task` (None when the answers are refused)."""
        try:
            segment = dialog.segment()
        except TracemarkError as error:
            self.window.show_error("Export segment", str(error))
            return None
        path = Path(dialog.path.text())
        progress = QProgressDialog(f"Writing {path.name}…", "Cancel", 0, PROGRESS_STEPS, self.window)
        progress.setObjectName("segmentExportProgress")
        progress.setWindowTitle("Export segment")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(400)
        task = Task(lambda report, cancelled: _write_segment(segment, path, report, cancelled),
                    self.window, name="segment export")
        task.progress.connect(lambda done, _total: progress.setValue(done))
        progress.canceled.connect(task.cancel)

        def finish(message: str) -> None:
            progress.reset()
            self.task = None
            self.window.set_status(message)
        task.finished.connect(lambda written: finish(f"Segment written to {written}"))
        task.cancelled_signal.connect(lambda: finish("Export cancelled; nothing was written"))
        task.failed.connect(lambda error: (finish("Export failed"), self.window.show_error(
            "Export segment", str(error) if isinstance(error, TracemarkError) else f"{path}: {error}")))
        self.task = task
        return task.start()

    def print_page(self) -> None:
        if self.viewer.source is None:
            return
        from PyQt6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setPageOrientation(QPageLayout.Orientation.Landscape)
        printer.setDocName(self.viewer.source.name)
        dialog = QPrintDialog(printer, self.window)
        dialog.setObjectName("printDialog")
        self.last_dialog = dialog
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.print_to(printer)

    def print_to(self, printer) -> bool:
        """Paint the viewer's page on ``printer`` (a ``QPrinter`` the dialog configured)."""
        from tracemark.widgets.viewer.page_export import (
            page_content_from_viewer,
            print_page,
        )

        try:
            with _WaitCursor():
                print_page(page_content_from_viewer(self.viewer, producer=producer()), printer)
        except (OSError, ValueError) as error:
            self.window.show_error("Print", f"Could not print: {error}")
            return False
        self.window.set_status("Page sent to the printer")
        return True


def _write_segment(segment, path: Path, report, cancelled) -> Path:
    """The worker's part: the writer, its progress in steps, Cancel as TaskCancelled."""
    from tracemark.io_backends.segment_export import ExportCancelled, write_segment

    def progress(fraction: float) -> None:
        if cancelled():
            raise ExportCancelled
        report(round(fraction * PROGRESS_STEPS), PROGRESS_STEPS)
    try:
        return write_segment(segment, path, progress)
    except ExportCancelled:
        raise TaskCancelled from None


class _WaitCursor:
    """A wait cursor while an export runs on the GUI thread (a page, or a bounded span)."""

    def __enter__(self):
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)

    def __exit__(self, *_exc):
        QGuiApplication.restoreOverrideCursor()
