"""The Measurements panel beside the traces: cursor times, Δt, 1/Δt and each row's values.

A view only: it shows a :class:`~.readout.CursorReadout` handed to it and offers the
viewer's own Copy and Clear actions as buttons (the actions, with their shortcuts, are
declared once in :mod:`.actions`).
"""

from __future__ import annotations

from PyQt6.QtCore import QItemSelectionModel, Qt
from PyQt6.QtGui import QAction, QFont
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .cursor_layer import CURSOR_COLORS
from .cursors import CURSOR_A, CURSOR_B
from .readout import (
    CursorReadout,
    decimals_for,
    format_delta_time,
    format_frequency,
    format_value,
)

COLUMNS = ("Channel", "A", "B", "B − A", "Unit")
HINT = ("No cursors placed.\n\nCtrl+click: cursor A\nShift+click: cursor B\n"
        "1 / 2: A / B at the pointer\nDrag a cursor line to move it.")


def decimals_per_unit(rows) -> dict[str, int]:
    """One number of decimals for all values in the same unit, so a column's points align."""
    values: dict[str, list[float]] = {}
    for reading in rows:
        values.setdefault(reading.unit, []).extend((reading.at_a, reading.at_b, reading.delta))
    return {unit: decimals_for(numbers) for unit, numbers in values.items()}


class MeasurementsPanel(QFrame):
    """Times of cursors A and B, Δt, 1/Δt, and per row the values at A and B and B − A."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("MeasurementsPanel")
        self.setAccessibleName("Measurements")
        self.setFrameShape(QFrame.Shape.NoFrame)
        title = QLabel("Measurements", self)
        bold = QFont(title.font())
        bold.setBold(True)
        title.setFont(bold)
        self.time_a = self._value_label("time_a")
        self.time_b = self._value_label("time_b")
        self.delta_time = self._value_label("delta_time")
        self.frequency = self._value_label("frequency")
        times = QGridLayout()
        times.setHorizontalSpacing(10)
        times.setVerticalSpacing(2)
        for row, (name, label, color) in enumerate((
                ("A", self.time_a, CURSOR_COLORS[CURSOR_A]), ("B", self.time_b, CURSOR_COLORS[CURSOR_B]),
                ("Δt", self.delta_time, None), ("1/Δt", self.frequency, None))):
            caption = QLabel(name, self)
            caption.setFont(bold)
            if color is not None:
                caption.setStyleSheet(f"color: {color.name()};")
            times.addWidget(caption, row, 0)
            times.addWidget(label, row, 1)
        times.setColumnStretch(1, 1)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("viewer.measurements.table")
        self.table.setAccessibleName("Values at the cursors")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        rows = self.table.verticalHeader()
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.hint = QLabel(HINT, self)
        self.hint.setObjectName("measurementsHint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #5a606e;")
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(4)
        self.buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 4, 4)
        layout.setSpacing(6)
        layout.addWidget(title)
        layout.addLayout(times)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.hint)
        layout.addLayout(self.buttons)
        self.readout = CursorReadout(None, None)
        self.show_readout(self.readout, str)

    def _value_label(self, name: str) -> QLabel:
        label = QLabel("–", self)
        label.setObjectName(name)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def add_action_button(self, action: QAction, text: str, name: str) -> QToolButton:
        """A button that triggers ``action`` (its shortcut shown in the tooltip)."""
        button = QToolButton(self)
        button.setObjectName(name)
        button.setAccessibleName(action.text())
        button.setDefaultAction(action)
        button.setText(text)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.buttons.addWidget(button)
        return button

    def show_readout(self, readout: CursorReadout, format_time) -> None:
        self.readout = readout
        self.time_a.setText("–" if readout.time_a is None else format_time(readout.time_a))
        self.time_b.setText("–" if readout.time_b is None else format_time(readout.time_b))
        self.delta_time.setText(format_delta_time(readout.delta_s))
        self.frequency.setText(format_frequency(readout.frequency_hz))
        placed = readout.time_a is not None or readout.time_b is not None
        self.hint.setVisible(not placed)
        self.table.setVisible(placed)
        self.table.setRowCount(len(readout.rows) if placed else 0)
        if not placed:
            return
        numeric = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        decimals = decimals_per_unit(readout.rows)
        for r, reading in enumerate(readout.rows):
            places = decimals[reading.unit]
            cells = (reading.label, format_value(reading.at_a, places), format_value(reading.at_b, places),
                     format_value(reading.delta, places), reading.unit)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c in (1, 2, 3):
                    item.setTextAlignment(numeric)
                self.table.setItem(r, c, item)

    def mark_row(self, label: str | None) -> None:
        """Select the row of the channel selected in the traces (none when it is not listed)."""
        for r in range(self.table.rowCount()):
            if label is not None and self.table.item(r, 0).text() == label:
                # Not selectRow: it adds to the selection while Ctrl is held (as after Ctrl+1).
                flags = QItemSelectionModel.SelectionFlag
                self.table.selectionModel().select(self.table.model().index(r, 0),
                                                   flags.ClearAndSelect | flags.Rows)
                return
        self.table.clearSelection()

    def cell_text(self, label: str, column: str) -> str:
        """The text shown for row ``label`` in ``column`` (one of :data:`COLUMNS`)."""
        c = COLUMNS.index(column)
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).text() == label:
                return self.table.item(r, c).text()
        raise KeyError(label)
