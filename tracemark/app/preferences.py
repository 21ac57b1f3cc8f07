"""Preferences: the examiner name recorded with each decision, the rater name a cache
rated by several raters is rated under (``--rater``), the peak latency window
of automatic peak estimation, and the first sensitivity of each channel type in the
recording viewer ("Measured" = fitted to each recording's data on opening). Stored through
:class:`.settings.Settings`."""

from __future__ import annotations

from PyQt6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QWidget

from tracemark.domain.channel_types import ECG, ECOG, EEG, EMG, EOG, RESP, SEEG, type_title

from .settings import Settings

#: Types offered a fixed first sensitivity (voltages, in µV/mm).
SENSITIVITY_TYPES = (EEG, SEEG, ECOG, EMG, ECG, EOG, RESP)


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
        self.rater = QLineEdit(settings.rater())
        self.rater.setObjectName("preferences.rater")
        self.rater.setAccessibleName("Rater name")
        self.rater.setToolTip("The name you rate under on a cache rated by several raters "
                              "(as tracemark --rater NAME)")
        start, stop = settings.peak_window_ms()
        self.window_start = _spin("preferences.peakWindowStart", "Peak window start (ms)", start)
        self.window_stop = _spin("preferences.peakWindowStop", "Peak window end (ms)", stop)
        self.problem = QLabel()
        self.problem.setObjectName("preferences.problem")
        self.problem.setStyleSheet("color: #b00020;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.setObjectName("preferences.buttons")
        for button, name in ((QDialogButtonBox.StandardButton.Ok, "preferences.ok"),
                             (QDialogButtonBox.StandardButton.Cancel, "preferences.cancel")):
            made = buttons.button(button)
            if made is not None:  # both were asked for above
                made.setObjectName(name)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Examiner", self.examiner)
        form.addRow("Rater", self.rater)
        form.addRow("Peak window from", self.window_start)
        form.addRow("to", self.window_stop)
        chosen = settings.sensitivities()
        self.sensitivity_spins: dict[str, QDoubleSpinBox] = {}
        heading = QLabel("<b>First sensitivity in the recording viewer</b> "
                         "(Measured: fitted to each recording on opening)")
        heading.setWordWrap(True)
        form.addRow(heading)
        for channel_type in SENSITIVITY_TYPES:
            spin = _sensitivity_spin(channel_type, chosen.get(channel_type, 0.0))
            self.sensitivity_spins[channel_type] = spin
            form.addRow(type_title(channel_type), spin)
        form.addRow(self.problem)
        form.addRow(buttons)

    def _accept(self) -> None:
        start, stop = self.window_start.value(), self.window_stop.value()
        if not start < stop:
            self.problem.setText("The window must end after it starts.")
            return
        self.settings.set_examiner(self.examiner.text())
        if self.rater.text().strip():   # empty: the operating-system user, as before
            self.settings.set_rater(self.rater.text())
        self.settings.set_peak_window_ms(start, stop)
        self.settings.set_sensitivities({t: spin.value() for t, spin in self.sensitivity_spins.items()
                                         if spin.value() > 0})
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


def _sensitivity_spin(channel_type: str, value: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setObjectName(f"preferences.sensitivity.{channel_type}")
    spin.setAccessibleName(f"First sensitivity for {type_title(channel_type)} channels")
    spin.setRange(0.0, 1e6)
    spin.setDecimals(1)
    spin.setSuffix(" µV/mm")
    spin.setSpecialValueText("Measured")   # 0: measured from the data
    spin.setValue(value)
    return spin
