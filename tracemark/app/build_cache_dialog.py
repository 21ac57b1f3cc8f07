"""The "Build trace cache" dialog: cut traces around events of the open recording into a new
cache file, on a worker thread, with a progress bar and Cancel.

The person chooses the event source and label (with counts, from the recording's events),
the window before and after each event, the readout, the channels (EMG channels ticked
first) and the output file. Beside the file's events, the labels of the person's own
marks (the :class:`AnnotationState` the window hands in) are listed with their counts:
the marks of each ticked label are cut around too, so a missed pulse marked by hand
becomes a trace (a span at its onset). The file's label "(none)" builds from marks alone.
Cancelling is safe at any moment: the cache is written under a private name and renamed
into place only when complete (``build_cache``), so a cancelled build leaves nothing behind.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tracemark.domain.annotations import AnnotationState
from tracemark.io_backends.cache import BuildSpec, CacheError, build_cache, events_from_annotations
from tracemark.io_backends.cache.schema import READOUTS
from tracemark.io_backends.cache.user_events import annotation_label_counts
from tracemark.io_backends.errors import TracemarkError

from .workers import Task, TaskCancelled

ANY = "(any)"
#: The file's label that selects none of its events: a build from the person's marks alone.
NONE = "(none)"


def _named(widget: QWidget, name: str, accessible: str) -> QWidget:
    widget.setObjectName(f"buildCache.{name}")
    widget.setAccessibleName(accessible)
    return widget


class BuildCacheDialog(QDialog):
    #: Path of the cache once built.
    built = pyqtSignal(str)

    def __init__(self, recording, parent: QWidget | None = None,
                 annotations: AnnotationState | None = None):
        super().__init__(parent)
        self.recording = recording
        self.annotations = annotations if annotations is not None else AnnotationState()
        self.task: Task | None = None
        self.setObjectName("buildCacheDialog")
        self.setAccessibleName("Build trace cache")
        self.setWindowTitle(f"Build trace cache from {recording.path.name}")
        self._events = list(recording.events())
        self._build_form()
        self._fill_marks()
        self._fill_sources()
        self.resize(560, 620)

    # -- form --------------------------------------------------------------------------------
    def _build_form(self) -> None:
        self.source = _named(QComboBox(), "eventSource", "Event source")
        self.label = _named(QComboBox(), "eventLabel", "Event label")
        self.label.setEditable(True)
        self.label.setToolTip("A label, or a pattern such as TMS* ; (any) takes every event, "
                              "(none) none of the file's (only your marks)")
        self.marks = _named(QListWidget(), "marks", "Your marks")
        self.marks.setToolTip("Tick a label to cut a trace around each of your marks of it, "
                              "besides the file's events; a span's onset is its event time")
        self.marks.setMaximumHeight(110)
        self.pre = _named(_ms_spin(50.0), "pre", "Before the event (ms)")
        self.post = _named(_ms_spin(100.0), "post", "After the event (ms)")
        self.readout = _named(QComboBox(), "readout", "Readout")
        self.readout.addItems(sorted(READOUTS))
        self.readout.setCurrentText("contralateral_mep")
        self.channels = _named(QListWidget(), "channels", "Channels")
        header = self.recording.header.streams[0]
        emg = [n for n in header.channel_names if n.upper().startswith("EMG")]
        for name in header.channel_names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if (name in emg or not emg)
                               else Qt.CheckState.Unchecked)
            self.channels.addItem(item)
        self.output = _named(QLineEdit(str(self._default_output())), "output", "Output file")
        browse = _named(QPushButton("Browse…"), "browse", "Choose the output file")
        browse.clicked.connect(self._browse)
        self.overwrite = _named(QCheckBox("Replace an existing file"), "overwrite",
                                "Replace an existing file")
        self.summary = _named(QLabel(), "summary", "What will be cut")
        self.progress = _named(QProgressBar(), "progress", "Build progress")
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.message = _named(QLabel(), "message", "Build message")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.buttons.setObjectName("buildCache.buttons")
        self.build_button = self.buttons.addButton("Build", QDialogButtonBox.ButtonRole.AcceptRole)
        _named(self.build_button, "build", "Build the cache")
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        _named(self.cancel_button, "cancel", "Cancel")
        self.build_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        form = QFormLayout()
        form.addRow("Event source", self.source)
        form.addRow("Event label", self.label)
        form.addRow("Your marks", self.marks)
        form.addRow("Window before", self.pre)
        form.addRow("Window after", self.post)
        form.addRow("Readout", self.readout)
        output_row = QHBoxLayout()
        output_row.addWidget(self.output, 1)
        output_row.addWidget(browse)
        form.addRow("Output file", output_row)
        form.addRow("", self.overwrite)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(f"Channels (stream {header.name})"))
        layout.addWidget(self.channels, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.source.currentIndexChanged.connect(self._fill_labels)
        self.label.currentTextChanged.connect(self._update_summary)
        self.marks.itemChanged.connect(self._update_summary)

    def _default_output(self) -> Path:
        path = self.recording.path
        return path.with_name(f"{path.stem}-traces.hdf5")

    def _fill_sources(self) -> None:
        counts = Counter(e.source for e in self._events)
        self.source.addItem(f"{ANY} ({len(self._events)} events)", None)
        for source, n in sorted(counts.items()):
            self.source.addItem(f"{source} ({n} events)", source)
        if "trigger" in counts:
            self.source.setCurrentIndex(self.source.findData("trigger"))
        self._fill_labels()

    def _fill_marks(self) -> None:
        """One checkable row per label of the person's marks, in the label set's order."""
        counts = annotation_label_counts(self.annotations)
        order = [name for name in self.annotations.labels if name in counts]
        order += sorted(set(counts) - set(order))
        self.marks.blockSignals(True)
        for name in order:
            item = QListWidgetItem(f"{name} ({counts[name]} {'mark' if counts[name] == 1 else 'marks'})")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.marks.addItem(item)
        if not order:
            self.marks.addItem(QListWidgetItem("No marks on this recording"))
            self.marks.setEnabled(False)
        self.marks.blockSignals(False)

    def marked_labels(self) -> list[str]:
        """The labels of the person's marks that are ticked."""
        items = (self.marks.item(i) for i in range(self.marks.count()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in items
                if item.data(Qt.ItemDataRole.UserRole) is not None
                and item.checkState() == Qt.CheckState.Checked]

    def user_events(self) -> list:
        """The person's marks of the ticked labels, as events to cut around."""
        labels = self.marked_labels()
        return events_from_annotations(self.annotations, labels) if labels else []

    def _fill_labels(self, *_args) -> None:
        source = self.source.currentData()
        counts = Counter(e.label for e in self._events if source is None or e.source == source)
        self.label.blockSignals(True)
        self.label.clear()
        self.label.addItem(ANY)
        self.label.addItem(NONE)
        self.label.setItemData(1, "none of the file's events: only your ticked marks",
                               Qt.ItemDataRole.ToolTipRole)
        for label, n in counts.most_common(50):
            self.label.addItem(label)
            self.label.setItemData(self.label.count() - 1, f"{n} events", Qt.ItemDataRole.ToolTipRole)
        self.label.blockSignals(False)
        self._update_summary()

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Trace cache file", self.output.text(),
                                              "Trace caches (*.hdf5);;All files (*)")
        if path:
            self.output.setText(path)

    # -- the spec ------------------------------------------------------------------------------
    def spec(self) -> BuildSpec:
        label = self.label.currentText().strip()
        channels = [self.channels.item(i).text() for i in range(self.channels.count())
                    if self.channels.item(i).checkState() == Qt.CheckState.Checked]
        events: str | tuple[str, ...] | None = (None if label in ("", ANY)
                                                else () if label == NONE else label)
        return BuildSpec(events, self.pre.value() / 1000.0,
                         self.post.value() / 1000.0, channels=channels or None,
                         event_source=self.source.currentData(), readout=self.readout.currentText())

    def _selected_counts(self) -> tuple[int, int]:
        """How many of the file's events and of the person's marks would be cut around."""
        spec = self.spec()
        from tracemark.io_backends.cache.build import select_events

        try:
            from_file = len(select_events(self.recording, spec))
        except CacheError:  # no file event matches, or "(none)" asked for none
            from_file = 0
        return from_file, len(self.user_events())

    def _update_summary(self, *_args) -> None:
        from_file, marks = self._selected_counts()
        n = from_file + marks
        if not n:
            text = "No event matches this source and label, and no mark is ticked."
        elif marks:
            text = f"{n} events selected ({from_file} from the file, {marks} of your marks)"
        else:
            text = f"{n} events selected"
        self.summary.setText(text)
        self.build_button.setEnabled(n > 0 and self.task is None)

    # -- running -------------------------------------------------------------------------------
    def start(self) -> None:
        spec, out = self.spec(), Path(self.output.text()).expanduser()
        if not spec.channels:
            self.message.setText("Tick at least one channel.")
            return
        overwrite = self.overwrite.isChecked()
        recording = self.recording
        marks = self.user_events()

        def run(progress, cancelled) -> str:
            def report(done: int, total: int) -> None:
                if cancelled():
                    raise TaskCancelled
                progress(done, total)

            # By path, so the cache records the source file and its checksum.
            return str(build_cache(recording.path, out, spec, overwrite=overwrite, progress=report,
                                   user_events=marks))

        self.task = Task(run, name="buildCache")
        self.task.progress.connect(self._progress)
        self.task.finished.connect(self._finished)
        self.task.failed.connect(self._failed)
        self.task.cancelled_signal.connect(self._cancelled)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.message.setText(f"Building {out.name}…")
        self.build_button.setEnabled(False)
        self.task.start()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} of {total} traces")

    def cancel(self) -> None:
        if self.task is not None and not self.task.done:
            self.task.cancel()
            self.message.setText("Cancelling…")
        else:
            self.reject()

    def _finished(self, path: str) -> None:
        self.task = None
        self.message.setText(f"Built {path}")
        self.built.emit(path)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.task = None
        self.progress.hide()
        if isinstance(error, TracemarkError):
            self.message.setText(str(error))
        else:
            self.message.setText(f"{self.output.text()}: {type(error).__name__}: {error}")
        self.message.setStyleSheet("color: #b00020;")
        self._update_summary()

    def _cancelled(self) -> None:
        self.task = None
        self.progress.hide()
        self.message.setText("Cancelled; nothing was written.")
        self._update_summary()

    def reject(self) -> None:
        if self.task is not None and not self.task.done:
            self.cancel()   # the dialog closes once the worker has stopped
            self.task.cancelled_signal.connect(super().reject)
            return
        super().reject()


def _ms_spin(value: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.0, 60000.0)
    spin.setDecimals(1)
    spin.setSuffix(" ms")
    spin.setValue(value)
    return spin
