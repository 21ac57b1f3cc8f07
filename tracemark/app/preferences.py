"""Preferences: the examiner name recorded with each decision and the peak latency window
of automatic peak estimation. Stored through :class:`.settings.Settings`."""

from __future__ import annotations

from PyQt6.QtWidgets import (QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel,
                             QLineEdit, QWidget)

from .settings import Settings


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.setObjectName("preferencesDialog")
        self.setAccessibleName("Preferences")
        self.setWindowTitle("Preferences")
        self.examiner = QLineEdit(settings.examiner())
        self.examiner.setObjectName("preferences.examiner")
        self.examiner.setAccessibleName("Examiner name")
        self.examiner.setPlaceholderText("initials recorded with each accept or reject")
        start, stop = settings.peak_window_ms()
        self.window_start = _spin("preferences.peakWindowStart", "Peak window start (ms)", start)
        self.window_stop = _spin("preferences.peakWindowStop", "Peak window end (ms)", stop)
        self.problem = QLabel()
        self.problem.setObjectName("preferences.problem")
        self.problem.setStyleSheet("color: #b00020;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.setObjectName("preferences.buttons")
        buttons.button(QDialogButtonBox.StandardButton.Ok).setObjectName("preferences.ok")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName("preferences.cancel")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Examiner", self.examiner)
        form.addRow("Peak window from", self.window_start)
        form.addRow("to", self.window_stop)
        form.addRow(self.problem)
        form.addRow(buttons)

    def _accept(self) -> None:
        start, stop = self.window_start.value(), self.window_stop.value()
        if not start < stop:
            self.problem.setText("The window must end after it starts.")
            return
        self.settings.set_examiner(self.examiner.text())
        self.settings.set_peak_window_ms(start, stop)
        self.accept()


def _spin(name: str, accessible: str, value: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setObjectName(name)
    spin.setAccessibleName(accessible)
    spin.setRange(0.0, 10000.0)
    spin.setDecimals(1)
    spin.setSuffix(" ms")
    spin.setValue(value)
    return spin
