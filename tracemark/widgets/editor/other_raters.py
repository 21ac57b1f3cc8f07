"""What the other raters chose for the trace on screen: one small row per rater under the
attribute form, shown only when the app hands them (the rater has finished or revealed
them; while a rater reviews blind the box is hidden).

Also the one way a rater's choice is put into words (:func:`choice_cells`), which the
adjudication view uses for its table too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PyQt6.QtWidgets import QAbstractItemView, QGroupBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout

from tracemark.analysis.peaks import stored_peaks
from tracemark.domain.review import review_state
from tracemark.domain.trace_attributes import COMMENT, onset_shift_of

from .model import ACCEPTED, REJECTED

#: Column titles of a rater's choice, in the order of :func:`choice_cells`.
CHOICE_COLUMNS = ("Decision", "Onset (samples)", "Negative peak", "Positive peak", "Comment")
STATE_WORDS = {ACCEPTED: "accepted", REJECTED: "rejected"}


def _peak(magnitude: float | None, latency: float | None) -> str:
    if magnitude is None:
        return "—"
    return f"{magnitude:.1f} µV" + ("" if latency is None else f" at {latency:.1f} ms")


def choice_cells(values: Mapping[str, Any]) -> tuple[str, ...]:
    """One rater's values of one trace as the cells of :data:`CHOICE_COLUMNS`."""
    peaks = stored_peaks(values)
    comment = values.get(COMMENT)
    return (STATE_WORDS.get(review_state(values), "not rated"),
            f"{onset_shift_of(values):+d}",
            _peak(peaks.neg_magnitude_uv, peaks.neg_latency_ms),
            _peak(peaks.pos_magnitude_uv, peaks.pos_latency_ms),
            "" if comment is None else str(comment))


def fill_choice_table(table: QTableWidget, choices: Mapping[str, Mapping[str, Any]]) -> None:
    """Rows of ``table``: one per rater (its vertical header), cells by :func:`choice_cells`."""
    table.setRowCount(len(choices))
    table.setVerticalHeaderLabels(list(choices))
    for row, values in enumerate(choices.values()):
        for column, text in enumerate(choice_cells(values)):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(row, column, item)


def choice_table(object_name: str, accessible: str) -> QTableWidget:
    table = QTableWidget(0, len(CHOICE_COLUMNS))
    table.setObjectName(object_name)
    table.setAccessibleName(accessible)
    table.setHorizontalHeaderLabels(list(CHOICE_COLUMNS))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    header = table.horizontalHeader()
    if header is not None:   # a QTableWidget always has one
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
    return table


class OtherRatersBox(QGroupBox):
    """The other raters' choices of the trace on screen (hidden when there are none)."""

    def __init__(self, parent=None):
        super().__init__("Other raters", parent)
        self.setObjectName("traceEditor.otherRaters")
        self.setAccessibleName("Other raters' choices")
        self.table = choice_table("traceEditor.otherRatersTable", "Each other rater's choice")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table)
        self.hide()

    def show_choices(self, others: Mapping[str, Mapping[str, Any]]) -> None:
        if not others and self.isHidden():
            return   # one rater (or blind): the form is left exactly as it was
        fill_choice_table(self.table, others)
        self._fit_height()
        self.setVisible(bool(others))

    def _fit_height(self) -> None:
        """As tall as its rows (and a scroll bar for the wide columns), no taller."""
        table = self.table
        header, rows, bar = table.horizontalHeader(), table.verticalHeader(), table.horizontalScrollBar()
        height = 2 * table.frameWidth() + sum(part.sizeHint().height() for part in (header, bar) if part)
        height += rows.length() if rows is not None else 0
        table.setFixedHeight(min(height, 160))

    def rows(self) -> dict[str, tuple[str, ...]]:
        """What the box shows, rater -> cells (for tests and automation)."""
        shown = {}
        for row in range(self.table.rowCount()):
            header = self.table.verticalHeaderItem(row)
            items = [self.table.item(row, c) for c in range(self.table.columnCount())]
            shown[header.text() if header is not None else str(row)] = tuple(
                item.text() if item is not None else "" for item in items)
        return shown
