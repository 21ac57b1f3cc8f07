"""The PSD view: power spectral density of displayed channels, on a log power axis.

One curve per channel in unit²/Hz (µV²/Hz for EEG) against frequency in Hz, a legend
naming the channels, the highest peak marked and read out under the plot, and a note
saying what the spectrum rests on (range, segments, resolution, sampling). The view only
draws what it is given; the host computes the spectrum and listens to
:attr:`PsdView.scope_changed` (which channels the person wants).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QSize, Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from tracemark.dsp.spectrum import SpectralPeak
from tracemark.widgets.flow_layout import FlowLayout
from tracemark.widgets.plots.common import (
    TEXT,
    add_legend,
    fill_legend,
    style_plot,
    unit_text,
)

from .reading import SCOPE_PAGE, SCOPE_SELECTED

__all__ = ["CURVE_COLOURS", "PsdView", "density_unit"]

SCOPE_TEXT = {SCOPE_SELECTED: "Selected channel", SCOPE_PAGE: "Channels on the page"}

#: Distinct colours for up to ten curves; more channels repeat them dashed, then dotted.
CURVE_COLOURS = ("#1f5eaa", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                 "#17becf", "#7f7f7f", "#bcbd22")
DASHES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine)
PEAK_COLOUR = "#111111"
#: Curves named in a legend inside the plot; more are named beside it, in columns of
#: :data:`SIDE_LEGEND_ROWS`, so that the legend never hides the spectra.
INNER_LEGEND_CURVES = 6
SIDE_LEGEND_ROWS = 12
#: Highest frequency shown: automatic (the low-pass region or Nyquist), or a fixed band.
FREQUENCY_LIMITS = (("Automatic", 0.0), ("30 Hz", 30.0), ("45 Hz", 45.0), ("70 Hz", 70.0),
                    ("100 Hz", 100.0))
#: Power below this floor (unit²/Hz) is drawn at the floor: a log axis cannot show zero.
POWER_FLOOR = 1e-12


def density_unit(unit: str) -> str:
    """``"µV²/Hz"`` for ``"uV"``; a compound unit is bracketed: ``"(m/s)²/Hz"``."""
    text = unit_text(unit).strip() or "1"
    return f"({text})²/Hz" if any(c in text for c in " /*·^") else f"{text}²/Hz"


class PsdView(QWidget):
    """Draws spectra handed to :meth:`show_spectrum`; emits the channel scope chosen."""

    scope_changed = pyqtSignal(str)
    #: The highest frequency to show changed (0: automatic).
    limit_changed = pyqtSignal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("psdView")
        self.scope = QComboBox()
        self.scope.setObjectName("psdScope")
        self.scope.setAccessibleName("Channels in the spectrum")
        for key, text in SCOPE_TEXT.items():
            self.scope.addItem(text, key)
        self.scope.currentIndexChanged.connect(lambda _i: self.scope_changed.emit(self.current_scope()))
        self.range_label = QLabel()
        self.range_label.setObjectName("psdRange")
        self.range_label.setAccessibleName("Range analysed")
        self.range_label.setStyleSheet("color: #333;")
        # Wraps in a narrow dock; each label stays beside its control.
        controls = FlowLayout(margins=(6, 4, 6, 0), spacing=10)
        controls.addWidget(_labelled("Channels:", self.scope))
        self.limit = QComboBox()
        self.limit.setObjectName("psdLimit")
        self.limit.setAccessibleName("Highest frequency shown")
        for text, value in FREQUENCY_LIMITS:
            self.limit.addItem(text, value)
        self.limit.currentIndexChanged.connect(lambda _i: self.limit_changed.emit(self.frequency_limit()))
        controls.addWidget(_labelled("Up to:", self.limit))
        controls.addWidget(self.range_label)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.graphics.setObjectName("psdGraphics")
        self.graphics.setAccessibleName("Power spectrum figure")
        self.plot = self.graphics.addPlot()
        self.plot.setLogMode(x=False, y=True)
        self.plot.setMenuEnabled(False)
        self.plot.getViewBox().setAutoVisible(y=True)   # power of the frequencies shown
        style_plot(self.plot, "frequency (Hz)", "power spectral density")
        self.inner_legend = add_legend(self.plot, offset=(-10, 10))
        self.side_legend = pg.LegendItem(labelTextColor=TEXT.name(), frame=False, verSpacing=-6)
        # Rows as tall as their text, from the top: stretched to the plot's height, 19 names
        # spread over it read as a table rather than a legend.
        self.side_legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.legend = self.inner_legend
        self.peak_marker = pg.PlotDataItem(symbol="o", symbolSize=9, pen=None,
                                           symbolPen=pg.mkPen(PEAK_COLOUR, width=1.5), symbolBrush=None)
        self.plot.addItem(self.peak_marker)
        self.peak_label = QLabel()
        self.peak_label.setObjectName("psdPeak")
        self.peak_label.setAccessibleName("Spectral peak")
        self.peak_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.peak_label.setStyleSheet(f"color: {TEXT.name()}; font-weight: bold;")
        self.note = QLabel()
        self.note.setObjectName("psdNote")
        self.note.setAccessibleName("How the spectrum was computed")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.setSpacing(2)
        layout.addLayout(controls)
        layout.addWidget(self.graphics, 1)
        for label in (self.peak_label, self.note):
            label.setContentsMargins(6, 0, 6, 0)
            layout.addWidget(label)
        self.curves: list[pg.PlotDataItem] = []
        self.labels: tuple[str, ...] = ()
        self.peak: SpectralPeak | None = None

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """The size a dock first opens at (the plot's own hint would take half the window)."""
        return QSize(440, 380)

    # -- controls ------------------------------------------------------------------------------
    def current_scope(self) -> str:
        return self.scope.currentData()

    def set_scope(self, scope: str) -> None:
        self.scope.setCurrentIndex(self.scope.findData(scope))

    def frequency_limit(self) -> float:
        """The highest frequency the person chose to see (0: automatic)."""
        return float(self.limit.currentData())

    def set_range_text(self, text: str) -> None:
        self.range_label.setText(text)

    def set_busy(self, busy: bool) -> None:
        """Fade the curves while a newer spectrum is on its way."""
        for curve in self.curves:
            curve.setOpacity(0.45 if busy else 1.0)

    # -- data ----------------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """No spectrum to show (no recording, no channel, an error): say why."""
        self._set_curves([], [], [], [])
        self.peak_marker.setData([], [])
        self.peak = None
        self.peak_label.setText("")
        self.range_label.setText("")
        self.note.setText(text)
        self.set_busy(False)

    def show_spectrum(self, frequencies: np.ndarray, power: np.ndarray, labels, units, *,
                      peak: SpectralPeak | None, max_frequency_hz: float, note: str = "") -> None:
        """Curves of ``power`` ``(n_frequencies, n_channels)`` in unit²/Hz; the DC bin is
        left out (its mean was removed, and a log axis cannot show nothing)."""
        frequencies = np.asarray(frequencies)[1:]
        power = np.maximum(np.nan_to_num(np.asarray(power)[1:], nan=POWER_FLOOR), POWER_FLOOR)
        units = tuple(units)
        same_unit = len(set(units)) <= 1
        axis_unit = density_unit(units[0]) if units and same_unit else "unit²/Hz"
        self.plot.setLabel("left", f"power spectral density ({axis_unit})", color=TEXT.name())
        names = [label if same_unit else f"{label} ({density_unit(unit)})"
                 for label, unit in zip(labels, units)]
        self._set_curves(frequencies, power, names, labels)
        self.plot.setLimits(xMin=0.0, xMax=float(frequencies[-1]) if len(frequencies) else None)
        self.plot.setXRange(0.0, max_frequency_hz, padding=0.0)
        self.plot.enableAutoRange(axis="y")
        self._show_peak(peak, labels, units)
        self.note.setText(note)
        self.set_busy(False)

    def _set_curves(self, frequencies, power, names, labels) -> None:
        n = len(names)
        while len(self.curves) > n:
            self.plot.removeItem(self.curves.pop())
        while len(self.curves) < n:
            k = len(self.curves)
            pen = pg.mkPen(CURVE_COLOURS[k % len(CURVE_COLOURS)], width=1.6,
                           style=DASHES[(k // len(CURVE_COLOURS)) % len(DASHES)])
            curve = pg.PlotDataItem(pen=pen, antialias=True)
            self.plot.addItem(curve)
            self.curves.append(curve)
        for k, curve in enumerate(self.curves):
            curve.setData(frequencies, power[:, k])
        self.labels = tuple(labels)
        self._place_legend(n)
        fill_legend(self.legend, list(zip(self.curves, names)))
        self.legend.setVisible(n > 0)

    def _place_legend(self, n_curves: int) -> None:
        beside = n_curves > INNER_LEGEND_CURVES
        layout = self.graphics.ci
        if beside and self.legend is not self.side_legend:
            self.inner_legend.clear()
            self.inner_legend.hide()
            layout.addItem(self.side_legend, row=0, col=1)
            layout.layout.setAlignment(self.side_legend, Qt.AlignmentFlag.AlignTop)
            self.legend = self.side_legend
        elif not beside and self.legend is not self.inner_legend:
            self.side_legend.clear()
            layout.removeItem(self.side_legend)
            self.legend = self.inner_legend
        if beside:
            self.side_legend.setColumnCount(max(math.ceil(n_curves / SIDE_LEGEND_ROWS), 1))

    def _show_peak(self, peak: SpectralPeak | None, labels, units) -> None:
        self.peak = peak
        if peak is None:
            self.peak_marker.setData([], [])
            self.peak_label.setText("No spectral peak in the range shown")
            return
        self.peak_marker.setData([peak.frequency_hz], [max(peak.power, POWER_FLOOR)])
        unit = density_unit(units[peak.channel]) if units else "unit²/Hz"
        self.peak_label.setText(f"Peak {peak.frequency_hz:.1f} Hz · {peak.power:.3g} {unit} · "
                                f"{labels[peak.channel]}")


def _labelled(text: str, control: QWidget) -> QWidget:
    """``control`` with its label in front, as one piece of a wrapping row."""
    piece = QWidget()
    row = QHBoxLayout(piece)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(4)
    label = QLabel(text)
    label.setBuddy(control)
    row.addWidget(label)
    row.addWidget(control)
    return piece
