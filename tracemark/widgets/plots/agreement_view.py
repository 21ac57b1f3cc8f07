"""The Agreement dock's view: how well the raters of the open cache agree, as computed by
:func:`tracemark.analysis.agreement.agreement_report`.

Three tables (traces decided per rater; reject decisions per pair, with Fleiss' kappa over
all raters when there are three or more; measurements per attribute and pair: ICC(2,1),
mean difference, 95 % limits of agreement, n) and a Bland-Altman plot of one chosen pair
and attribute (difference against mean, one point per trace both raters measured, with
the mean difference and the limits drawn across).

The view computes nothing and reads no file: the window hands it a report with
:meth:`AgreementView.set_report` and recomputes one when the view emits
``refresh_requested`` (the Refresh button). A click on a point emits ``trace_selected``.
A statistic that cannot be computed shows a dash, and the Note column says why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tracemark.analysis.agreement import (
    MEASURED_KEYS,
    AgreementReport,
    DecisionAgreement,
    MeasurementAgreement,
    raters_label,
)

from .common import ACCEPTED, CURRENT, FIT, style_plot, unit_text

DASH = "—"
COUNT_COLUMNS = ("Rater", "Decided", "Accepted", "Rejected")
DECISION_COLUMNS = ("Raters", "n", "Agreement", "Kappa", "Note")
MEASUREMENT_COLUMNS = ("Attribute", "Raters", "n", "ICC(2,1)", "Mean diff", "95% limits", "Note")
#: Columns of words, aligned left; the others hold numbers, aligned right.
TEXT_COLUMNS = frozenset({"Rater", "Raters", "Attribute", "Note"})


def number_text(value: float | None, digits: int = 3) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def limits_text(limits: tuple[float, float] | None) -> str:
    return DASH if limits is None else f"{limits[0]:.2f} … {limits[1]:.2f}"


def decision_row(result: DecisionAgreement) -> list[str]:
    agreement = DASH if result.percent_agreement is None else f"{result.percent_agreement:.1f} %"
    kappa = number_text(result.kappa)
    if result.kappa is not None:
        kappa += f" ({result.kind.capitalize()})"
    return [raters_label(result.raters), str(result.n), agreement, kappa, result.undefined]


def measurement_row(result: MeasurementAgreement) -> list[str]:
    return [f"{result.key} ({unit_text(result.unit)})", raters_label(result.raters), str(result.n),
            number_text(result.icc), number_text(result.mean_difference, 2),
            limits_text(result.limits), result.undefined]


class AgreementView(QWidget):
    """Agreement statistics of one report; see the module docstring."""

    #: Intent: compute the report again (from the cache and the raters' journals).
    refresh_requested = pyqtSignal()
    #: Intent: open this trace in the editor.
    trace_selected = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.report: AgreementReport | None = None
        self.summary = QLabel("No agreement report yet: open a cache rated by two or more raters.")
        self.summary.setObjectName("agreementSummary")
        self.summary.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("agreementRefresh")
        self.refresh_button.setAccessibleName("Refresh the agreement")
        self.refresh_button.setToolTip("Compute the agreement again from every rater's values")
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.counts = self._table("agreementCounts", COUNT_COLUMNS, "Traces decided per rater")
        self.decisions = self._table("agreementDecisions", DECISION_COLUMNS,
                                     "Agreement on reject decisions")
        self.measurements = self._table("agreementMeasurements", MEASUREMENT_COLUMNS,
                                        "Agreement on onset shift and peaks")
        self.pair_choice = QComboBox()
        self.pair_choice.setObjectName("agreementPair")
        self.pair_choice.setAccessibleName("Pair of raters for the Bland-Altman plot")
        self.key_choice = QComboBox()
        self.key_choice.setObjectName("agreementAttribute")
        self.key_choice.setAccessibleName("Attribute for the Bland-Altman plot")
        for key, unit in MEASURED_KEYS.items():
            self.key_choice.addItem(f"{key} ({unit_text(unit)})", key)
        self.pair_choice.currentIndexChanged.connect(self._redraw)
        self.key_choice.currentIndexChanged.connect(self._redraw)
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot_widget.setObjectName("agreementBlandAltman")
        self.plot_widget.setAccessibleName("Bland-Altman plot")
        self.plot = self.plot_widget.getPlotItem()
        self.scatter = pg.ScatterPlotItem(size=7, pen=pg.mkPen(None), brush=pg.mkBrush(ACCEPTED))
        self.scatter.sigClicked.connect(self._point_clicked)
        self.plot.addItem(self.scatter)
        self.mean_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(FIT, width=1.5))
        self.limit_lines = [pg.InfiniteLine(angle=0, pen=pg.mkPen(CURRENT, width=1.2,
                                                                  style=Qt.PenStyle.DashLine))
                            for _ in range(2)]
        for line in (self.mean_line, *self.limit_lines):
            line.hide()
            self.plot.addItem(line)
        self.plot_note = QLabel("")
        self.plot_note.setObjectName("agreementPlotNote")
        self._build_layout()
        self.set_report(None)

    def _table(self, name: str, columns: Sequence[str], accessible: str) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setObjectName(name)
        table.setAccessibleName(accessible)
        table.setHorizontalHeaderLabels(list(columns))
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setWordWrap(False)
        header = table.horizontalHeader()
        if header is not None:
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setStretchLastSection(True)
        vertical = table.verticalHeader()
        if vertical is not None:
            vertical.hide()
        return table

    def _build_layout(self) -> None:
        top = QWidget()
        tables = QVBoxLayout(top)
        tables.setContentsMargins(4, 2, 4, 2)
        heading = QHBoxLayout()
        heading.addWidget(self.summary, 1)
        heading.addWidget(self.refresh_button)
        tables.addLayout(heading)
        for title, table in (("Traces decided", self.counts), ("Reject decisions", self.decisions),
                             ("Onset shift and peaks", self.measurements)):
            tables.addWidget(QLabel(f"<b>{title}</b>"))
            tables.addWidget(table, 1)
        bottom = QWidget()
        plot_box = QVBoxLayout(bottom)
        plot_box.setContentsMargins(4, 2, 4, 2)
        choices = QHBoxLayout()
        choices.addWidget(QLabel("Bland-Altman:"))
        choices.addWidget(self.pair_choice, 1)
        choices.addWidget(self.key_choice, 1)
        plot_box.addLayout(choices)
        plot_box.addWidget(self.plot_note)
        plot_box.addWidget(self.plot_widget, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # -- the report ---------------------------------------------------------------------------
    def set_report(self, report: AgreementReport | None, problem: str = "") -> None:
        """Show ``report``; None (no cache, or the raters cannot be read: ``problem`` says
        why) empties the tables."""
        self.report = report
        if report is None:
            self.summary.setText(problem or "No agreement report: open a cache rated by two "
                                            "or more raters.")
        elif len(report.raters) < 2:
            self.summary.setText(f"Only one rater so far ({', '.join(report.raters) or 'none'}): "
                                 f"agreement needs two.")
        else:
            self.summary.setText(f"{len(report.raters)} raters: {', '.join(report.raters)}")
        counts = [] if report is None else [
            [c.rater, str(c.decided), str(c.accepted), str(c.rejected)] for c in report.counts]
        decisions = [] if report is None else [decision_row(d) for d in report.decisions]
        if report is not None and report.decisions_all is not None:
            decisions.append(decision_row(report.decisions_all))
        measurements: list[list[str]] = []
        if report is not None:
            for key, pairs in report.measurements.items():
                measurements.extend(measurement_row(m) for m in pairs)
                if key in report.measurements_all:
                    measurements.append(measurement_row(report.measurements_all[key]))
        _fill(self.counts, counts)
        _fill(self.decisions, decisions)
        _fill(self.measurements, measurements)
        self._fill_pairs()
        self._redraw()

    def _fill_pairs(self) -> None:
        chosen = self.pair_choice.currentData()
        pairs = [] if self.report is None else self.report.pairs
        self.pair_choice.blockSignals(True)
        self.pair_choice.clear()
        for pair in pairs:
            self.pair_choice.addItem(raters_label(pair), pair)
        if chosen in pairs:
            self.pair_choice.setCurrentIndex(pairs.index(chosen))
        self.pair_choice.blockSignals(False)

    def shown_pair(self) -> MeasurementAgreement | None:
        """The pair and attribute the Bland-Altman plot shows, when there is one."""
        if self.report is None:
            return None
        pair, key = self.pair_choice.currentData(), self.key_choice.currentData()
        for result in self.report.measurements.get(key, ()):
            if result.raters == pair:
                return result
        return None

    def _redraw(self) -> None:
        result = self.shown_pair()
        if result is None or result.n == 0:
            self.scatter.setData([], [])
            for line in (self.mean_line, *self.limit_lines):
                line.hide()
            self.plot_note.setText("" if result is None else result.undefined)
            return
        first, second = np.asarray(result.first), np.asarray(result.second)
        self.scatter.setData(x=(first + second) / 2, y=first - second,
                             data=np.asarray(result.indexes))
        a, b = result.raters
        unit = unit_text(result.unit)
        style_plot(self.plot, f"mean of {a} and {b} ({unit})", f"{a} − {b} ({unit})")
        if result.mean_difference is not None:
            self.mean_line.setValue(result.mean_difference)
            self.mean_line.show()
        for line, value in zip(self.limit_lines, result.limits or ()):
            line.setValue(value)
            line.show()
        if result.limits is None:
            for line in self.limit_lines:
                line.hide()
        self.plot_note.setText(
            f"n = {result.n}; mean difference {number_text(result.mean_difference, 2)}, "
            f"95% limits {limits_text(result.limits)}"
            + (f" ({result.undefined})" if result.undefined else ""))

    def _point_clicked(self, _item: object, points: Sequence[pg.SpotItem], *_rest: object) -> None:
        if len(points):
            self.trace_selected.emit(int(points[0].data()))


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    header_texts = [_header_text(table, column) for column in range(table.columnCount())]
    for row, texts in enumerate(rows):
        for column, text in enumerate(texts):
            item = QTableWidgetItem(text)
            if header_texts[column] not in TEXT_COLUMNS:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if column == table.columnCount() - 1 and text:
                item.setToolTip(text)
            table.setItem(row, column, item)


def _header_text(table: QTableWidget, column: int) -> str:
    item = table.horizontalHeaderItem(column)
    return "" if item is None else item.text()
