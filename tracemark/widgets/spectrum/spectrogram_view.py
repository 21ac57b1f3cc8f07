"""The time-frequency view: the spectrogram of one channel as an image with a colour bar.

Time runs along the recording's own axis (elapsed time or time of day, as in the
viewer), frequency in Hz upwards, and colour is power density in decibels relative to
1 unit²/Hz (dB re 1 µV²/Hz for EEG), levels set from the data shown (2nd to 99.5th
percentile) and adjustable on the colour bar. The view only draws; the host computes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, QSize
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from tracemark.widgets.plots.common import TEXT, style_plot, unit_text
from tracemark.widgets.viewer.axes import TimeAxis

__all__ = ["COLOUR_MAP", "SpectrogramView", "to_decibels"]

COLOUR_MAP = "viridis"
#: Percentiles of the shown power that the colour bar spans (outliers do not wash it out).
LEVEL_PERCENTILES = (2.0, 99.5)
DB_FLOOR = -300.0


def to_decibels(power: np.ndarray) -> np.ndarray:
    """``10 log10(power)``, with zero power at a floor instead of minus infinity."""
    with np.errstate(divide="ignore", invalid="ignore"):
        decibels = 10.0 * np.log10(np.asarray(power, dtype=np.float64))
    return np.nan_to_num(decibels, nan=DB_FLOOR, neginf=DB_FLOOR).astype(np.float32)


class SpectrogramView(QWidget):
    """Draws spectrograms handed to :meth:`show_spectrogram`."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("spectrogramView")
        self.title = QLabel()
        self.title.setObjectName("spectrogramTitle")
        self.title.setAccessibleName("Channel and range of the spectrogram")
        self.title.setStyleSheet(f"color: {TEXT.name()}; font-weight: bold;")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.graphics.setObjectName("spectrogramGraphics")
        self.graphics.setAccessibleName("Spectrogram figure")
        self.time_axis = TimeAxis()
        self.plot = self.graphics.addPlot(axisItems={"bottom": self.time_axis})
        self.plot.setMenuEnabled(False)
        style_plot(self.plot, "time", "frequency (Hz)")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.colour_map = pg.colormap.get(COLOUR_MAP)
        self.image.setColorMap(self.colour_map)
        self.plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(0, 1), colorMap=self.colour_map, interactive=True,
                                          width=14, label="dB re 1 µV²/Hz")
        self.colour_bar.setImageItem(self.image)
        self.graphics.addItem(self.colour_bar, row=0, col=1)
        self._style_colour_bar_axis()
        self.note = QLabel()
        self.note.setObjectName("spectrogramNote")
        self.note.setAccessibleName("How the spectrogram was computed")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 4)
        layout.setSpacing(2)
        for label in (self.title, self.note):
            label.setContentsMargins(6, 0, 6, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.note)
        self.decibels: np.ndarray | None = None

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """The size a dock first opens at (the plot's own hint would take half the window)."""
        return QSize(900, 240)

    def _style_colour_bar_axis(self) -> None:
        axis = self.colour_bar.axis
        axis.setPen(pg.mkPen(TEXT))
        axis.setTextPen(pg.mkPen(TEXT))

    def set_time_mode(self, mode: str, start_datetime) -> None:
        """Elapsed time or time of day, as the viewer's time axis."""
        self.time_axis.set_mode(mode, start_datetime)

    def show_message(self, text: str) -> None:
        self.image.clear()
        self.decibels = None
        self.title.setText("")
        self.note.setText(text)
        self.set_busy(False)

    def set_busy(self, busy: bool) -> None:
        self.image.setOpacity(0.5 if busy else 1.0)

    def show_spectrogram(self, frequencies: np.ndarray, times: np.ndarray, power: np.ndarray, *,
                         column_step_s: float, unit: str, title: str, max_frequency_hz: float,
                         note: str = "") -> None:
        """``power`` ``(n_frequencies, n_times)`` in unit²/Hz; ``times`` the column centres
        (seconds on the recording's axis), ``column_step_s`` the time between them."""
        frequencies, times = np.asarray(frequencies), np.asarray(times)
        decibels = to_decibels(power)
        self.decibels = decibels
        df = float(frequencies[1] - frequencies[0]) if len(frequencies) > 1 else 1.0
        self.image.setImage(decibels, autoLevels=False)
        self.image.setRect(QRectF(float(times[0]) - column_step_s / 2, float(frequencies[0]) - df / 2,
                                  column_step_s * len(times), df * len(frequencies)))
        shown = decibels[frequencies <= max_frequency_hz]
        finite = shown[shown > DB_FLOOR]
        if finite.size:
            low, high = np.percentile(finite, LEVEL_PERCENTILES)
            self.colour_bar.setLevels((float(low), float(max(high, low + 1.0))))
        self.colour_bar.setLabel("left", f"dB re 1 {unit_text(unit) or 'unit'}²/Hz", color=TEXT.name())
        self.plot.setLimits(yMin=0.0, yMax=float(frequencies[-1]) + df / 2)
        self.plot.setXRange(float(times[0]) - column_step_s / 2, float(times[-1]) + column_step_s / 2,
                            padding=0.0)
        self.plot.setYRange(0.0, max_frequency_hz, padding=0.0)
        self.title.setText(title)
        self.note.setText(note)
        self.set_busy(False)
