"""Per-trace measures over the session: peak-to-peak amplitude and latency of every trace
against its trace number (from 1, as the editor and the table number traces) or its event
time; traces not rejected filled, rejected ones as grey crosses, annotated values as
diamonds. Hovering a point names its trace; clicking it asks for that trace
(``trace_selected``).

An edit re-measures only the edited trace and resets the points' data, which is a few
microseconds per trace even for thousands of points.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QComboBox, QLabel

from tracemark.analysis import Measures, MeasureSettings
from tracemark.domain.trace_numbers import trace_number

from .common import (
    ACCEPTED,
    CURRENT,
    REJECTED,
    MeasureControls,
    MeasuredView,
    add_legend,
    fill_legend,
    index_of,
    point_tip,
    style_plot,
    unit_text,
)

# The key "index" is kept for ``tracemark plot --against index``; the axis shows numbers.
X_AXES = {"index": "trace number", "time": "event time (s)"}


class MeasuresView(MeasuredView):
    def __init__(self, settings: MeasureSettings = MeasureSettings(), parent=None):
        super().__init__(parent)
        self.setObjectName("measuresView")
        self.settings = settings
        self.measure_controls = MeasureControls(settings)
        self.x_axis = QComboBox(objectName="measuresXAxis")
        self.x_axis.setAccessibleName("Horizontal axis")
        for key, label in X_AXES.items():
            self.x_axis.addItem(label, key)
        self.controls.addWidget(self.measure_controls)
        self.controls.addWidget(QLabel("Against"))
        self.controls.addWidget(self.x_axis)
        self.controls.addStretch(1)
        self.amplitude_plot = self.graphics.addPlot(row=0, col=0)
        self.latency_plot = self.graphics.addPlot(row=1, col=0)
        self.latency_plot.setXLink(self.amplitude_plot)
        add_legend(self.amplitude_plot, offset=(-10, 10))
        self.scatters: dict[str, list[pg.ScatterPlotItem]] = {}
        for plot, tip in ((self.amplitude_plot, point_tip(self, self._amplitude_tip)),
                          (self.latency_plot, point_tip(self, lambda _x, y: f"latency {y:.1f} ms"))):
            accepted = pg.ScatterPlotItem(size=7, pen=pg.mkPen("w", width=0.5),
                                          brush=pg.mkBrush(ACCEPTED), hoverable=True, tip=tip)
            annotated = pg.ScatterPlotItem(size=9, symbol="d", pen=pg.mkPen("w", width=0.5),
                                           brush=pg.mkBrush(ACCEPTED.darker(140)),
                                           hoverable=True, tip=tip)
            rejected = pg.ScatterPlotItem(size=8, symbol="x", pen=pg.mkPen(None),
                                          brush=pg.mkBrush(REJECTED), hoverable=True, tip=tip)
            current = pg.ScatterPlotItem(size=15, pen=pg.mkPen(CURRENT, width=2),
                                         brush=pg.mkBrush(None))
            for item in (accepted, annotated, rejected, current):
                plot.addItem(item)
            for item in (accepted, annotated, rejected):
                item.sigClicked.connect(self._clicked)
            self.scatters[str(id(plot))] = [accepted, annotated, rejected, current]
        self.measures: Measures | None = None
        self._current: int | None = None
        self.measure_controls.changed.connect(self.set_measure_settings)
        self.x_axis.currentIndexChanged.connect(self._draw)

    def _data_changed(self) -> None:
        has_time = bool(np.isfinite(self.traces.event_time_s).any())
        self.x_axis.model().item(1).setEnabled(has_time)
        super()._data_changed()

    def _measures_changed(self) -> None:
        self._draw()

    def _trace_changed(self, index: int, changed: frozenset[str]) -> None:
        if changed & {"onset_shift", "annotated"}:
            self.measures.update(self.traces, index)
        if changed & {"onset_shift", "annotated", "reject"}:
            self._draw()

    def set_current(self, index: int | None) -> None:
        """Ring the trace open in the editor."""
        self._current = index
        self._draw()

    def _amplitude_tip(self, _x: float, y: float) -> str:
        units = unit_text(self.measures.units) if self.measures is not None else ""
        return f"peak-to-peak {y:.1f} {units}"

    def x_values(self) -> np.ndarray:
        if self.x_axis.currentData() == "time" and np.isfinite(self.traces.event_time_s).any():
            return self.traces.event_time_s
        return trace_number(np.arange(len(self.traces))).astype(np.float64)

    def _draw(self) -> None:
        if self.measures is None:
            return
        x = self.x_values()
        m, traces = self.measures, self.traces
        kept, rejected = ~traces.reject, traces.reject
        groups = (kept & ~m.annotated, kept & m.annotated, rejected)
        for plot, y in ((self.amplitude_plot, m.amplitude), (self.latency_plot, m.latency_ms)):
            items = self.scatters[str(id(plot))]
            for item, mask in zip(items[:3], groups):
                chosen = np.flatnonzero(mask & np.isfinite(y))
                item.setData(x[chosen], y[chosen], data=chosen)
            current = self._current
            if current is not None and 0 <= current < len(x) and np.isfinite(y[current]):
                items[3].setData([x[current]], [y[current]])
            else:
                items[3].setData([], [])
        items = self.scatters[str(id(self.amplitude_plot))]
        counts = [int(mask.sum()) for mask in groups]
        fill_legend(self.amplitude_plot.legend, [
            (item, text) for item, text, count in zip(
                items, (f"not rejected ({counts[0]})", f"not rejected, annotated peaks ({counts[1]})",
                        f"rejected ({counts[2]})"), counts) if count])
        label = m.channel_label
        window = f"{m.settings.start_ms:g}-{m.settings.stop_ms:g} ms"
        x_label = self.x_axis.currentText()
        style_plot(self.amplitude_plot, x_label, f"peak-to-peak ({unit_text(m.units)})",
                   f"{label}: peak-to-peak amplitude, {window} after onset")
        style_plot(self.latency_plot, x_label, "latency (ms)", f"{label}: latency of the first peak")

    def _clicked(self, item, points, event=None) -> None:
        index = index_of(points)
        if index is not None:
            self.trace_selected.emit(index)
