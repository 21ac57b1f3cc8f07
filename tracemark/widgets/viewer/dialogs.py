"""Dialogs of the viewer: go to a time, choose and order channels, display filters.

Each dialog edits a value and hands it back; none touches the view-model itself, so
they are tested by filling them in and reading the result. The montage dialog lives
in :mod:`.montage_dialog`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

_TIME_RE = re.compile(r"^\s*(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)\s*$")


def parse_time_text(text: str) -> float:
    """``"90"``, ``"90.5"``, ``"1:30"`` or ``"1:02:03.5"`` -> seconds; ValueError otherwise."""
    match = _TIME_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a time: use seconds (90.5), m:ss (1:30) or h:mm:ss (1:02:03.5)")
    first, second, seconds = match.groups()
    if second is None:  # one colon: m:ss
        hours, minutes = 0, int(first or 0)
    else:
        hours, minutes = int(first), int(second)
    return hours * 3600 + minutes * 60 + float(seconds)


def clock_to_elapsed(text: str, start: datetime) -> float:
    """Seconds from ``start`` to the time of day ``text`` (``hh:mm[:ss]``), the next one on or after it."""
    value = parse_time_text(text if text.count(":") == 2 else text + ":00")
    target = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(seconds=value)
    if target < start - timedelta(seconds=1e-6):
        target += timedelta(days=1)
    return (target - start).total_seconds()


class GoToTimeDialog(QDialog):
    """Asks for a time, elapsed (``h:mm:ss``) or time of day when the recording has a start time."""

    def __init__(self, duration_s: float, start_datetime: datetime | None, current_s: float = 0.0,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Go to time")
        self._duration = duration_s
        self._start = start_datetime
        self.edit = QLineEdit(self)
        self.edit.setText(f"{current_s:.3f}".rstrip("0").rstrip("."))
        self.edit.selectAll()
        self.kind = QComboBox(self)
        self.kind.addItem("Elapsed (h:mm:ss or seconds)", "elapsed")
        if start_datetime is not None:
            self.kind.addItem(f"Time of day (recording began {start_datetime:%H:%M:%S})", "clock")
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #b00020;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                   parent=self)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Time:", self.edit)
        form.addRow("Meaning:", self.kind)
        form.addRow(self.error)
        form.addRow(buttons)
        self.seconds: float | None = None

    def value(self) -> float:
        """The chosen time in elapsed seconds; ValueError with a readable message if invalid."""
        text = self.edit.text()
        if self.kind.currentData() == "clock" and self._start is not None:
            seconds = clock_to_elapsed(text, self._start)
        else:
            seconds = parse_time_text(text)
        if seconds > self._duration:
            raise ValueError(f"the recording is only {self._duration:.1f} s long")
        return seconds

    def _accept(self) -> None:
        try:
            self.seconds = self.value()
        except ValueError as error:
            self.error.setText(str(error))
            return
        self.accept()


class ChannelDialog(QDialog):
    """Tick the rows to show and drag (or move with the buttons) to order them."""

    def __init__(self, labels: Sequence[str], order: Sequence[int], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Channels")
        self.list = QListWidget(self)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        shown = list(order)
        for row in shown + [r for r in range(len(labels)) if r not in shown]:
            item = QListWidgetItem(labels[row])
            item.setData(Qt.ItemDataRole.UserRole, row)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if row in shown else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        buttons_column = QVBoxLayout()
        for text, slot in (("Move up", lambda: self._move(-1)), ("Move down", lambda: self._move(1)),
                           ("All", lambda: self._check_all(True)), ("None", lambda: self._check_all(False)),
                           ("Original order", self._restore_order)):
            button = QPushButton(text, self)
            button.clicked.connect(slot)
            buttons_column.addWidget(button)
        buttons_column.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.list, 1)
        body.addLayout(buttons_column)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                               parent=self)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(body)
        layout.addWidget(box)
        self.resize(360, 520)

    def order(self) -> tuple[int, ...]:
        items = (self.list.item(i) for i in range(self.list.count()))
        return tuple(int(it.data(Qt.ItemDataRole.UserRole)) for it in items
                     if it.checkState() == Qt.CheckState.Checked)

    def set_checked(self, row: int, checked: bool) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == row:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def _move(self, direction: int) -> None:
        row = self.list.currentRow()
        target = row + direction
        if row < 0 or not 0 <= target < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.setCurrentRow(target)

    def _check_all(self, checked: bool) -> None:
        for i in range(self.list.count()):
            self.list.item(i).setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def _restore_order(self) -> None:
        items = [self.list.takeItem(0) for _ in range(self.list.count())]
        for item in sorted(items, key=lambda it: it.data(Qt.ItemDataRole.UserRole)):
            self.list.addItem(item)


class FilterDialog(QDialog):
    """High-pass, low-pass and notch frequencies and DC removal, checked against Nyquist."""

    def __init__(self, current, sampling_rate: float, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Display filters")
        self._rate = sampling_rate
        nyquist = sampling_rate / 2

        def spin(value, default, maximum):
            box = QDoubleSpinBox(self)
            box.setDecimals(2)
            box.setRange(0.01, max(maximum, 0.02))
            box.setSuffix(" Hz")
            box.setValue(value if value else min(default, maximum))
            return box

        self.highpass_on = QCheckBox("High-pass", self)
        self.highpass = spin(getattr(current, "highpass_hz", None), 0.5, nyquist * 0.99)
        self.lowpass_on = QCheckBox("Low-pass", self)
        self.lowpass = spin(getattr(current, "lowpass_hz", None), min(70.0, nyquist * 0.9), nyquist * 0.99)
        self.notch_on = QCheckBox("Notch", self)
        self.notch = QComboBox(self)
        self.notch.addItems(["50 Hz", "60 Hz"])
        self.notch.setCurrentIndex(1 if getattr(current, "notch_hz", None) == 60 else 0)
        self.remove_dc = QCheckBox("Remove DC (each channel's mean in the window)", self)
        self.highpass_on.setChecked(bool(getattr(current, "highpass_hz", None)))
        self.lowpass_on.setChecked(bool(getattr(current, "lowpass_hz", None)))
        self.notch_on.setChecked(bool(getattr(current, "notch_hz", None)))
        self.remove_dc.setChecked(bool(getattr(current, "remove_dc", False)))
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #b00020;")
        form = QFormLayout(self)
        form.addRow(self.highpass_on, self.highpass)
        form.addRow(self.lowpass_on, self.lowpass)
        form.addRow(self.notch_on, self.notch)
        form.addRow(self.remove_dc)
        form.addRow(QLabel("Zero-phase Butterworth filters; applied to the display only.", self))
        form.addRow(self.error)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                               parent=self)
        box.accepted.connect(self._accept)
        box.rejected.connect(self.reject)
        form.addRow(box)
        self.result_filter = None

    def value(self):
        from tracemark.dsp.filters import DisplayFilter

        notch = 60.0 if self.notch.currentIndex() == 1 else 50.0
        candidate = DisplayFilter(
            highpass_hz=self.highpass.value() if self.highpass_on.isChecked() else None,
            lowpass_hz=self.lowpass.value() if self.lowpass_on.isChecked() else None,
            notch_hz=notch if self.notch_on.isChecked() else None,
            remove_dc=self.remove_dc.isChecked())
        if candidate.highpass_hz and candidate.lowpass_hz and candidate.highpass_hz >= candidate.lowpass_hz:
            raise ValueError("the high-pass frequency must be below the low-pass frequency")
        if candidate.notch_hz and candidate.notch_hz >= self._rate / 2:
            raise ValueError(f"a {candidate.notch_hz:g} Hz notch needs a sampling rate "
                             f"above {2 * candidate.notch_hz:g} Hz")
        return candidate

    def _accept(self) -> None:
        try:
            self.result_filter = self.value()
        except ValueError as error:
            self.error.setText(str(error))
            return
        self.accept()
