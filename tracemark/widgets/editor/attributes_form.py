"""The attributes of the trace on screen, as proper widgets: the review decision, the onset
shift, the peaks, the comment and the examiner, and (read-only) everything else the trace
and its recording carry.

The form shows only confirmed values (``show_trace``) and turns what the person does into
intent signals; the editor composite turns those into ``edit_requested``. Nothing here
writes anything or keeps an unconfirmed value on screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tracemark.analysis.peaks import PEAK_KEYS, stored_peaks
from tracemark.domain import trace_attributes as keys
from tracemark.widgets.flow_layout import FlowLayout

from .fields import CommitLineEdit, CommitSpinBox, NumberLineEdit
from .model import ACCEPTED, REJECTED, UNREVIEWED, TraceView
from .other_raters import OtherRatersBox

#: Attributes with their own widget; every other one is listed read-only under "Details".
EDITED_KEYS = frozenset({keys.REJECT, keys.REVIEWED, keys.ONSET_SHIFT, keys.COMMENT, keys.EXAMINER,
                         *keys.PEAK_ATTRIBUTE_KEYS, *keys.TRANSIENT_KEYS})
#: Shown first under "Details", in this order; the rest follow alphabetically.
DETAIL_ORDER = (keys.EVENT_NAME, keys.EVENT_TIME, keys.ID, keys.CHANNEL_OF_INTEREST,
                keys.STIMULATION_INTENSITY_MSO, keys.STIMULATION_INTENSITY_DIDT, keys.XYZ_COORDS,
                keys.ZCR_LATENCY, keys.TIME_SINCE_LAST_PULSE)

STATE_STYLE = {
    UNREVIEWED: ("Unreviewed", "background:#e8eaef; color:#333; border:1px solid #c5c9d3;"),
    ACCEPTED: ("Accepted", "background:#dff3e4; color:#17612c; border:1px solid #9fd3ad;"),
    REJECTED: ("Rejected", "background:#fbe2e0; color:#9b1c14; border:1px solid #eba39d;"),
}


def _name(widget: QWidget, object_name: str, accessible: str, tip: str = "") -> None:
    widget.setObjectName(object_name)
    widget.setAccessibleName(accessible)
    if tip:
        widget.setToolTip(tip)


def format_value(value: Any) -> str:
    """An attribute value as a person reads it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


class AttributesForm(QWidget):
    """Decision, onset, peaks, notes and details of one trace."""

    accept_clicked = pyqtSignal()
    #: The reject toggle was clicked: True = reject, False = un-reject (accept).
    reject_toggled = pyqtSignal(bool)
    onset_changed = pyqtSignal(int)
    #: A peak field was committed: attribute key and value (float or None).
    peak_edited = pyqtSignal(str, object)
    estimate_clicked = pyqtSignal()
    clear_peaks_clicked = pyqtSignal()
    comment_committed = pyqtSignal(str)
    examiner_committed = pyqtSignal(str)
    peak_window_changed = pyqtSignal(float, float)
    #: Enter / Escape in a field: the keys may go back to the editor.
    done_editing = pyqtSignal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._trace: TraceView | None = None
        self._state: str | None = None
        self._origin_key: tuple | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self._build_decision())
        # Right under one's own decision; hidden unless the app hands other raters' values.
        self.other_raters = OtherRatersBox()
        layout.addWidget(self.other_raters)
        # Stored values the rules could not read ("reject" = "maybe"): said, not hidden.
        self.problems_label = QLabel(wordWrap=True)
        _name(self.problems_label, "traceEditor.attributeProblems", "Unreadable attribute values")
        self.problems_label.setStyleSheet("QLabel { color:#9b1c14; }")
        self.problems_label.hide()
        layout.addWidget(self.problems_label)
        layout.addWidget(self._build_onset())
        layout.addWidget(self._build_peaks())
        layout.addWidget(self._build_notes())
        layout.addWidget(self._build_details(), 1)
        for field in (self.onset_spin, self.comment_edit, self.examiner_edit, *self.peak_edits.values()):
            field.done.connect(self.done_editing)

    # -- construction -------------------------------------------------------------------
    def _build_decision(self) -> QGroupBox:
        box = QGroupBox("Decision")
        self.state_label = QLabel("—")
        _name(self.state_label, "traceEditor.reviewState", "Review state")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state_label.setMinimumWidth(96)
        self.accept_button = QPushButton("Accept (A)")
        _name(self.accept_button, "traceEditor.acceptButton", "Accept trace",
              "Mark the trace reviewed and accepted")
        self.accept_button.clicked.connect(self.accept_clicked)
        self.reject_toggle = QPushButton("Reject (R)")
        self.reject_toggle.setCheckable(True)
        _name(self.reject_toggle, "traceEditor.rejectToggle", "Reject trace",
              "Pressed: the trace is rejected. Click to reject it, or to take the rejection back")
        self.reject_toggle.clicked.connect(self._reject_clicked)
        for button in (self.accept_button, self.reject_toggle):
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        # Wraps rather than hiding Reject past the edge of a narrow editor.
        row = FlowLayout(box, spacing=6, margins=(6, 4, 6, 4))
        row.addWidget(self.state_label)
        row.addWidget(self.accept_button)
        row.addWidget(self.reject_toggle)
        return box

    def _build_onset(self) -> QGroupBox:
        box = QGroupBox("Onset")
        self.onset_spin = CommitSpinBox()
        _name(self.onset_spin, "traceEditor.onsetShift", "Onset shift in samples",
              "Samples from the event to the response onset; positive = later")
        self.onset_spin.setSuffix(" samples")
        self.onset_spin.committed.connect(self.onset_changed)
        self.onset_ms_label = QLabel("")
        _name(self.onset_ms_label, "traceEditor.onsetShiftMs", "Onset shift in milliseconds")
        row = FlowLayout(box, spacing=6, margins=(6, 4, 6, 4))
        row.addWidget(self.onset_spin)
        row.addWidget(self.onset_ms_label)
        return box

    def _build_peaks(self) -> QGroupBox:
        box = QGroupBox("Peaks")
        grid = QGridLayout(box)
        grid.addWidget(QLabel("µV"), 0, 1, Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(QLabel("ms after onset"), 0, 2, Qt.AlignmentFlag.AlignCenter)
        self.peak_edits: dict[str, NumberLineEdit] = {}
        names = {"neg": ("Negative", "negMagnitude", "negLatency"),
                 "pos": ("Positive", "posMagnitude", "posLatency")}
        for row, (kind, (text, magnitude_name, latency_name)) in enumerate(names.items(), start=1):
            grid.addWidget(QLabel(text), row, 0)
            for column, (key, name) in enumerate(zip(PEAK_KEYS[kind], (magnitude_name, latency_name)), 1):
                edit = NumberLineEdit(decimals=2)
                _name(edit, f"traceEditor.{name}", f"{text} peak {'magnitude' if column == 1 else 'latency'}")
                edit.set_base_tooltip("empty = unknown; Enter or leaving the field saves")
                edit.committed.connect(lambda value, key=key: self.peak_edited.emit(key, value))
                grid.addWidget(edit, row, column)
                self.peak_edits[key] = edit
        self.ptp_label = QLabel("peak-to-peak —")
        _name(self.ptp_label, "traceEditor.peakToPeak", "Peak-to-peak amplitude")
        grid.addWidget(self.ptp_label, 3, 0, 1, 3)
        grid.addLayout(self._build_peak_buttons(), 4, 0, 1, 3)
        grid.addLayout(self._build_window(), 5, 0, 1, 3)
        return box

    def _build_peak_buttons(self) -> QHBoxLayout:
        self.estimate_button = QPushButton("Estimate (E)")
        _name(self.estimate_button, "traceEditor.estimatePeaks", "Estimate peaks",
              "Store the lowest and highest sample in the latency window (the hollow markers)")
        self.estimate_button.clicked.connect(self.estimate_clicked)
        self.clear_peaks_button = QPushButton("Clear")
        _name(self.clear_peaks_button, "traceEditor.clearPeaks", "Clear peaks",
              "Set both peaks to unknown (no response)")
        self.clear_peaks_button.clicked.connect(self.clear_peaks_clicked)
        row = QHBoxLayout()
        row.addWidget(self.estimate_button)
        row.addWidget(self.clear_peaks_button)
        return row

    def _build_window(self) -> FlowLayout:
        self.window_start = QDoubleSpinBox()
        self.window_stop = QDoubleSpinBox()
        for spin, name, text in ((self.window_start, "peakWindowStart", "Peak window start"),
                                 (self.window_stop, "peakWindowStop", "Peak window end")):
            _name(spin, f"traceEditor.{name}", f"{text} in ms after the onset",
                  "Latency window (ms after the onset) searched by 'Estimate'")
            spin.setRange(0.0, 10000.0)
            spin.setDecimals(1)
            spin.setSuffix(" ms")
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(self._window_edited)
        row = FlowLayout()
        row.addWidget(QLabel("Window"))
        row.addWidget(self.window_start)
        row.addWidget(QLabel("to"))
        row.addWidget(self.window_stop)
        return row

    def _build_notes(self) -> QGroupBox:
        box = QGroupBox("Notes")
        form = QFormLayout(box)
        self.comment_edit = CommitLineEdit()
        _name(self.comment_edit, "traceEditor.comment", "Comment",
              "Saved on Enter or when leaving the field; Escape restores the saved text")
        self.comment_edit.committed.connect(self.comment_committed)
        self.examiner_edit = CommitLineEdit()
        _name(self.examiner_edit, "traceEditor.examiner", "Examiner",
              "Who reviewed the trace; saved on Enter or when leaving the field")
        self.examiner_edit.committed.connect(self.examiner_committed)
        form.addRow("Comment", self.comment_edit)
        form.addRow("Examiner", self.examiner_edit)
        return box

    def _build_details(self) -> QGroupBox:
        box = QGroupBox("Details (read-only)")
        self.details = QTreeWidget()
        _name(self.details, "traceEditor.originAttrs", "Trace and recording attributes")
        self.details.setColumnCount(2)
        self.details.setHeaderLabels(["attribute", "value"])
        self.details.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.details.setRootIsDecorated(True)
        self.details.setUniformRowHeights(True)
        self.trace_item = QTreeWidgetItem(self.details, ["Trace"])
        self.origin_item = QTreeWidgetItem(self.details, ["Recording"])
        self.trace_item.setExpanded(True)
        self.details.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(box)
        layout.addWidget(self.details)
        return box

    # -- public API ---------------------------------------------------------------------
    @property
    def editing_widgets(self) -> tuple[QWidget, ...]:
        """Every control that requests an edit (disabled when read-only)."""
        return (self.accept_button, self.reject_toggle, self.onset_spin, *self.peak_edits.values(),
                self.estimate_button, self.clear_peaks_button, self.comment_edit, self.examiner_edit)

    def set_editable(self, editable: bool) -> None:
        for widget in self.editing_widgets:
            widget.setEnabled(editable)

    def set_peak_window(self, start_ms: float, stop_ms: float) -> None:
        for spin, value in ((self.window_start, start_ms), (self.window_stop, stop_ms)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)

    def show_trace(self, trace: TraceView) -> None:
        """Show the confirmed attributes of ``trace``."""
        self._trace = trace
        attrs = trace.attrs
        self._show_state(trace.state)
        problems = trace.problems
        self.problems_label.setText("\n".join(problems))
        self.problems_label.setVisible(bool(problems))
        low, high = trace.shift_range
        self.onset_spin.set_confirmed(trace.onset_shift, low, high)
        self.onset_ms_label.setText(f"= {trace.onset_shift * trace.ms_per_sample():+.2f} ms "
                                    f"({trace.sampling_rate:g} Hz)")
        peaks = stored_peaks(attrs)
        for key, edit in self.peak_edits.items():
            # "neg_peak_latency_ms" -> PeakEstimate.neg_latency_ms
            edit.set_confirmed(getattr(peaks, key.replace("_peak", "")))
        ptp = peaks.peak_to_peak_uv
        self.ptp_label.setText("peak-to-peak —" if ptp is None else
                               f"peak-to-peak <b>{ptp:.1f} {trace.units}</b>")
        self.comment_edit.set_confirmed("" if attrs.get(keys.COMMENT) is None else str(attrs.get(keys.COMMENT)))
        self.examiner_edit.set_confirmed("" if attrs.get(keys.EXAMINER) is None else str(attrs.get(keys.EXAMINER)))
        self.other_raters.show_choices(trace.other_raters)
        self._show_details(trace)

    # -- internals ----------------------------------------------------------------------
    def _show_state(self, state: str) -> None:
        checked = state == REJECTED
        if self.reject_toggle.isChecked() != checked:
            self.reject_toggle.setChecked(checked)
        if state == self._state:
            return
        self._state = state
        text, style = STATE_STYLE[state]
        self.state_label.setText(text)
        self.state_label.setStyleSheet(f"QLabel {{ {style} border-radius:4px; padding:3px 8px; "
                                       f"font-weight:600; }}")

    def _reject_clicked(self, checked: bool) -> None:
        self.reject_toggled.emit(checked)
        # Shows the confirmed state: already the new one if the app confirmed the edit.
        if self._trace is not None:
            self._show_state(self._trace.state)

    def _window_edited(self, _value: float) -> None:
        start, stop = self.window_start.value(), self.window_stop.value()
        if start < stop:
            self.peak_window_changed.emit(start, stop)

    def _show_details(self, trace: TraceView) -> None:
        rows = _detail_rows(trace.attrs)
        _fill(self.trace_item, rows)
        key = (trace.origin, id(trace.origin_attrs))
        if key != self._origin_key:
            self._origin_key = key
            self.origin_item.setText(1, trace.origin)
            _fill(self.origin_item, [(k, format_value(v)) for k, v in sorted(trace.origin_attrs.items())])


def _detail_rows(attrs: Mapping[str, Any]) -> list[tuple[str, str]]:
    shown = [k for k in DETAIL_ORDER if k in attrs]
    shown += sorted(k for k in attrs if k not in EDITED_KEYS and k not in DETAIL_ORDER)
    return [(k, format_value(attrs[k])) for k in shown]


def _fill(parent: QTreeWidgetItem, rows: list[tuple[str, str]]) -> None:
    """Reuse ``parent``'s children for ``rows`` (no item churn when the keys are the same)."""
    while parent.childCount() > len(rows):
        parent.removeChild(parent.child(parent.childCount() - 1))
    for i, (key, value) in enumerate(rows):
        child = parent.child(i) if i < parent.childCount() else QTreeWidgetItem(parent)
        if child.text(0) != key:
            child.setText(0, key)
        if child.text(1) != value:
            child.setText(1, value)
            child.setToolTip(1, value)
