"""The adjudication view: the traces on which raters disagree, one at a time, each rater's
choice side by side on the trace, and the consensus the adjudicator records.

Fed plain data by the app (:class:`Disagreement` rows for the list, one
:class:`AdjudicationCase` for the trace on screen) and answering with intent signals:
``case_requested(index)`` when the person moves to another disagreement and
``consensus_recorded(index, values)`` when they record one. Nothing here reads or writes a
file; the app confirms a recorded consensus by showing the case again.

On the plot the trace is drawn once (its channel of interest, else the first EMG channel);
each rater has a colour, named in the legend with their decision (accepted / rejected):
their onset is a dashed line, their peaks filled triangles (pointing down: negative, up:
positive) at their latencies after their own onset. A consensus already recorded is drawn
in black. The consensus form starts from the recorded consensus, or the first rater's
values; "Take" copies a rater's values into it (Ctrl+1 ... Ctrl+9 for the raters in
order), and every field can be typed over.

Keys: Page Down / Page Up next and previous disagreement; Ctrl+Return records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor, QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from tracemark.analysis.peaks import stored_peaks
from tracemark.domain import trace_attributes as keys
from tracemark.domain.review import review_state
from tracemark.domain.trace_attributes import finite_number, is_rejected, onset_shift_of
from tracemark.domain.trace_numbers import trace_label

from .model import ACCEPTED, REJECTED, TraceView
from .other_raters import choice_table, fill_choice_table

#: One colour per rater, in the order they are listed (then again from the start).
RATER_COLOURS = (QColor(31, 119, 180), QColor(214, 39, 40), QColor(44, 160, 44),
                 QColor(148, 103, 189), QColor(255, 127, 14), QColor(23, 190, 207))
CONSENSUS_COLOUR = QColor(0, 0, 0)
CURVE_COLOUR = QColor(120, 125, 135)
PEAK_FIELDS = ((keys.NEG_PEAK_MAGNITUDE, "Negative peak (µV)"), (keys.NEG_PEAK_LATENCY, "at (ms)"),
               (keys.POS_PEAK_MAGNITUDE, "Positive peak (µV)"), (keys.POS_PEAK_LATENCY, "at (ms)"))


@dataclass(frozen=True)
class Disagreement:
    """One row of the list: a trace, the attributes its raters differ on, and who settled
    it (empty while unsettled)."""

    index: int
    differing: tuple[str, ...]
    settled_by: str = ""

    def describe(self) -> str:
        text = f"{trace_label(self.index)}: {', '.join(self.differing)}"
        return text + (f" (settled by {self.settled_by})" if self.settled_by else "")


@dataclass(frozen=True)
class AdjudicationCase:
    """The disagreement on screen: the trace, each rater's values, and the consensus
    recorded so far (None: none yet)."""

    trace: TraceView
    choices: Mapping[str, Mapping[str, Any]]
    consensus: Mapping[str, Any] | None = None
    differing: tuple[str, ...] = field(default_factory=tuple)


def rater_colour(position: int) -> QColor:
    return RATER_COLOURS[position % len(RATER_COLOURS)]


class AdjudicationView(QWidget):
    """See the module docstring."""

    #: The person moved to the disagreement on trace i.
    case_requested = pyqtSignal(int)
    #: Record this consensus for trace i (values of the rater keys).
    consensus_recorded = pyqtSignal(int, dict)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("adjudicationView")
        self.setAccessibleName("Adjudication of disagreements")
        self.case: AdjudicationCase | None = None
        self._rows: list[Disagreement] = []
        self._plotted: list[Any] = []
        self._drawn: dict[str, dict[str, Any]] = {}
        self._build()
        self._shortcuts()

    # -- construction -------------------------------------------------------------------
    def _build(self) -> None:
        self.list = QListWidget()
        self.list.setObjectName("adjudication.list")
        self.list.setAccessibleName("Traces on which the raters disagree")
        self.list.currentRowChanged.connect(self._row_chosen)
        self.title = QLabel("No disagreement")
        self.title.setObjectName("adjudication.title")
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot_widget.setObjectName("adjudication.plot")
        self.plot_widget.setAccessibleName("The trace with each rater's onset and peaks")
        self.plot_item = self.plot_widget.getPlotItem()
        self.plot_item.setMenuEnabled(False)
        self.plot_item.showGrid(x=True, y=True, alpha=0.15)
        self.plot_item.setLabel("bottom", "ms after the event")
        self.legend = self.plot_item.addLegend(offset=(10, 10))
        self.curve = pg.PlotDataItem(pen=pg.mkPen(CURVE_COLOUR, width=1.4))
        self.plot_item.addItem(self.curve)
        self.table = choice_table("adjudication.choices", "Each rater's choice")
        self.table.setMaximumHeight(150)
        center = QWidget()
        column = QVBoxLayout(center)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.title)
        column.addWidget(self.plot_widget, 1)
        column.addWidget(self.table)
        column.addWidget(self._build_consensus())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.list)
        splitter.addWidget(center)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([220, 780])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter, 1)
        layout.addLayout(self._build_steps())

    def _build_consensus(self) -> QGroupBox:
        box = QGroupBox("Consensus")
        form = QFormLayout(box)
        take = QHBoxLayout()
        self.rater_combo = QComboBox()
        self.rater_combo.setObjectName("adjudication.rater")
        self.rater_combo.setAccessibleName("Rater whose values to take")
        self.take_button = QPushButton("Take this rater's values")
        self.take_button.setObjectName("adjudication.take")
        self.take_button.clicked.connect(lambda: self.take(self.rater_combo.currentText()))
        take.addWidget(self.rater_combo, 1)
        take.addWidget(self.take_button)
        form.addRow("From", take)
        self.decision = QComboBox()
        self.decision.setObjectName("adjudication.decision")
        self.decision.setAccessibleName("Consensus decision")
        self.decision.addItem("accept", False)
        self.decision.addItem("reject", True)
        form.addRow("Decision", self.decision)
        self.onset = QSpinBox()
        self.onset.setObjectName("adjudication.onset")
        self.onset.setAccessibleName("Consensus onset shift in samples")
        self.onset.setRange(-10**6, 10**6)
        self.onset.setSuffix(" samples")
        form.addRow("Onset shift", self.onset)
        self.peak_edits: dict[str, QLineEdit] = {}
        for key, text in PEAK_FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"adjudication.{key}")
            edit.setAccessibleName(f"Consensus {text}")
            edit.setPlaceholderText("unknown")
            self.peak_edits[key] = edit
            form.addRow(text, edit)
        self.comment = QLineEdit()
        self.comment.setObjectName("adjudication.comment")
        self.comment.setAccessibleName("Consensus comment")
        form.addRow("Comment", self.comment)
        self.problem = QLabel()
        self.problem.setObjectName("adjudication.problem")
        self.problem.setStyleSheet("color: #b00020;")
        form.addRow(self.problem)
        self.record_button = QPushButton("Record consensus (Ctrl+Return)")
        self.record_button.setObjectName("adjudication.record")
        self.record_button.clicked.connect(self.record)
        form.addRow(self.record_button)
        return box

    def _build_steps(self) -> QHBoxLayout:
        self.previous_button = QPushButton("Previous disagreement (PgUp)")
        self.previous_button.setObjectName("adjudication.previous")
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QPushButton("Next disagreement (PgDown)")
        self.next_button.setObjectName("adjudication.next")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.count_label = QLabel("")
        self.count_label.setObjectName("adjudication.count")
        row = QHBoxLayout()
        row.addWidget(self.previous_button)
        row.addWidget(self.next_button)
        row.addWidget(self.count_label, 1)
        return row

    def _shortcuts(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for sequence, slot in (("PgDown", lambda: self.step(1)), ("PgUp", lambda: self.step(-1)),
                               ("Ctrl+Return", self.record), ("Ctrl+Enter", self.record)):
            shortcut = QShortcut(QKeySequence(sequence), self, context=context)
            shortcut.activated.connect(slot)
        for number in range(1, 10):
            shortcut = QShortcut(QKeySequence(f"Ctrl+{number}"), self, context=context)
            shortcut.activated.connect(lambda n=number: self.take_position(n - 1))

    # -- data in ------------------------------------------------------------------------
    def set_disagreements(self, rows: Sequence[Disagreement]) -> None:
        """The list; the current trace stays selected when it is still listed."""
        current = self.current_index
        self._rows = list(rows)
        self.list.blockSignals(True)
        self.list.clear()
        for row in self._rows:
            item = QListWidgetItem(row.describe())
            item.setData(Qt.ItemDataRole.UserRole, row.index)
            self.list.addItem(item)
        indexes = [row.index for row in self._rows]
        if current in indexes:
            self.list.setCurrentRow(indexes.index(current))
        self.list.blockSignals(False)
        settled = sum(1 for row in self._rows if row.settled_by)
        self.count_label.setText(f"{len(self._rows)} disagreement{'' if len(self._rows) == 1 else 's'}, "
                                 f"{settled} settled")

    def show_case(self, case: AdjudicationCase) -> None:
        """Draw ``case``: the trace once, each rater's onset and peaks, their table, and the
        consensus form filled from the consensus or the first rater."""
        self.case = case
        trace = case.trace
        self.title.setText(f"<b>{trace_label(trace.index)}</b> {trace.origin} · differ on: "
                           f"{', '.join(case.differing) or 'nothing'}")
        indexes = [row.index for row in self._rows]
        if trace.index in indexes and self.list.currentRow() != indexes.index(trace.index):
            self.list.blockSignals(True)
            self.list.setCurrentRow(indexes.index(trace.index))
            self.list.blockSignals(False)
        self._plot(case)
        fill_choice_table(self.table, case.choices)
        self.rater_combo.clear()
        self.rater_combo.addItems(list(case.choices))
        start = case.consensus if case.consensus else next(iter(case.choices.values()), {})
        self.fill_form(start)

    # -- state for the app and tests ------------------------------------------------------
    @property
    def current_index(self) -> int | None:
        return None if self.case is None else self.case.trace.index

    @property
    def listed(self) -> list[int]:
        return [row.index for row in self._rows]

    def markers(self) -> dict[str, dict[str, Any]]:
        """What is drawn for each rater (and "consensus"): onset (ms) and peak positions."""
        return {name: dict(drawn) for name, drawn in self._drawn.items()}

    # -- the consensus form ---------------------------------------------------------------
    def fill_form(self, values: Mapping[str, Any]) -> None:
        self.decision.setCurrentIndex(1 if is_rejected(values) else 0)
        self.onset.setValue(onset_shift_of(values))
        for key, edit in self.peak_edits.items():
            value = values.get(key)
            edit.setText("" if finite_number(value) is None else f"{finite_number(value):g}")
        comment = values.get(keys.COMMENT)
        self.comment.setText("" if comment is None else str(comment))
        self.problem.setText("")

    def take(self, rater: str) -> None:
        if self.case is not None and rater in self.case.choices:
            self.fill_form(self.case.choices[rater])

    def take_position(self, position: int) -> None:
        if self.case is not None and 0 <= position < len(self.case.choices):
            self.take(list(self.case.choices)[position])

    def form_values(self) -> dict[str, Any]:
        """The consensus as the form holds it; ``ValueError`` naming a field that does not
        read as a number."""
        values: dict[str, Any] = {keys.REVIEWED: True, keys.REJECT: bool(self.decision.currentData()),
                                  keys.ONSET_SHIFT: int(self.onset.value())}
        for (key, text), edit in zip(PEAK_FIELDS, self.peak_edits.values()):
            typed = edit.text().strip()
            if not typed:
                values[key] = None
                continue
            number = finite_number(typed.replace(",", "."))
            if number is None:
                raise ValueError(f"{text}: {typed!r} is not a number (leave it empty for unknown)")
            values[key] = number
        values[keys.COMMENT] = self.comment.text()
        return values

    def record(self) -> None:
        if self.case is None:
            return
        try:
            values = self.form_values()
        except ValueError as error:
            self.problem.setText(str(error))
            return
        self.problem.setText("")
        self.consensus_recorded.emit(self.case.trace.index, values)

    # -- moving -----------------------------------------------------------------------------
    def step(self, direction: int) -> None:
        """The next (1) or previous (-1) disagreement in the list, if any."""
        if not self._rows:
            return
        row = self.list.currentRow()
        target = 0 if row < 0 else row + direction
        if 0 <= target < len(self._rows):
            self.list.setCurrentRow(target)

    def _row_chosen(self, row: int) -> None:
        if 0 <= row < len(self._rows) and self._rows[row].index != self.current_index:
            self.case_requested.emit(self._rows[row].index)

    # -- drawing ------------------------------------------------------------------------------
    def _plot(self, case: AdjudicationCase) -> None:
        for item in self._plotted:
            self.plot_item.removeItem(item)
        self._plotted.clear()
        self.legend.clear()
        self._drawn = {}
        trace = case.trace
        channel = trace.default_channel()
        x = (np.arange(trace.n_samples) - trace.samples_pre) * (1000.0 / trace.sampling_rate)
        self.curve.setData(x, trace.data[:, channel])
        marks = [(rater, values, rater_colour(position), f"{rater}: {_decision(values)}")
                 for position, (rater, values) in enumerate(case.choices.items())]
        if case.consensus:
            marks.append(("consensus", case.consensus, CONSENSUS_COLOUR,
                          f"consensus: {_decision(case.consensus)}"))
        for name, values, colour, label in marks:
            self._mark(name, values, colour, label, trace)
        self.plot_item.getViewBox().autoRange(padding=0.05)

    def _mark(self, name: str, values: Mapping[str, Any], colour: QColor, label: str,
              trace: TraceView) -> None:
        onset_ms = onset_shift_of(values) * 1000.0 / trace.sampling_rate
        line = pg.InfiniteLine(onset_ms, angle=90, movable=False,
                               pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine))
        self.plot_item.addItem(line, ignoreBounds=True)
        peaks = stored_peaks(values)
        spots: list[dict[str, Any]] = []
        drawn: dict[str, Any] = {"onset_ms": onset_ms}
        for kind, magnitude, latency, symbol in (
                ("neg", peaks.neg_magnitude_uv, peaks.neg_latency_ms, "t"),
                ("pos", peaks.pos_magnitude_uv, peaks.pos_latency_ms, "t1")):
            if magnitude is None or latency is None:
                continue
            position = (onset_ms + latency, magnitude)
            spots.append({"pos": position, "symbol": symbol, "brush": pg.mkBrush(colour),
                          "pen": pg.mkPen(colour.darker(140), width=1)})
            drawn[kind] = position
        scatter = pg.ScatterPlotItem(spots, size=13, pxMode=True)
        scatter.setZValue(30)
        self.plot_item.addItem(scatter)
        # The legend names each rater by their colour, with their decision.
        sample = pg.PlotDataItem([], [], pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine),
                                 symbol="t", symbolBrush=pg.mkBrush(colour), symbolPen=None)
        self.legend.addItem(sample, label)
        drawn["decision"] = _decision(values)
        self._drawn[name] = drawn
        self._plotted += [line, scatter]


def _decision(values: Mapping[str, Any]) -> str:
    return {ACCEPTED: "accepted", REJECTED: "rejected"}.get(review_state(values), "not rated")


