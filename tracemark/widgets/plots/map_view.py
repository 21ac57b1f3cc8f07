"""The coil-position map: each trace's amplitude at its stimulation coordinates, seen from
the top, the side and the front, with a colour bar; optionally a smoothed surface behind
the points. Options: value scale (µV, log, % of maximum), threshold (points below it are
hollow grey and the colour scale starts there), rejected traces in or out, smoothing width.

Traces that cannot be placed are named under the plots (and in the exported figure), never
dropped in silence. Hovering a point names its trace (by its number from 1); clicking it
asks for that trace (``trace_selected``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF
from PyQt6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel

from tracemark.analysis import (
    PROJECTIONS,
    MapData,
    MapSettings,
    Measures,
    MeasureSettings,
    map_data,
    projection_extent,
    projection_image,
)
from tracemark.analysis.map import AXIS_NAMES

from .common import (
    REJECTED,
    TEXT,
    MeasureControls,
    MeasuredView,
    index_of,
    point_tip,
    style_plot,
)

SCALE_LABELS = {"uv": "µV", "log": "log10(1 + µV)", "percent": "% of maximum"}
COLOR_MAP = "viridis"
#: Colours a point can take; finer than the eye separates on a colour bar.
PALETTE_SIZE = 64


class MapView(MeasuredView):
    def __init__(self, settings: MeasureSettings = MeasureSettings(),
                 map_settings: MapSettings = MapSettings(), parent=None):
        super().__init__(parent)
        self.setObjectName("mapView")
        self.settings, self.map_settings = settings, map_settings
        self._build_controls()
        self.cmap = pg.colormap.get(COLOR_MAP)
        self.palette = [pg.mkBrush(c) for c in self.cmap.map(
            np.linspace(0.0, 1.0, PALETTE_SIZE), mode="qcolor")]
        self.plots, self.scatters, self.below, self.images = [], [], [], []
        for column, projection in enumerate(PROJECTIONS):
            plot = self.graphics.addPlot(row=0, col=column)
            plot.setAspectLocked(True)
            image = pg.ImageItem(axisOrder="col-major")
            image.setColorMap(self.cmap)
            tip = point_tip(self, lambda u, v, p=projection: (
                f"{AXIS_NAMES[p.horizontal]} {u:.1f} mm, {AXIS_NAMES[p.vertical]} {v:.1f} mm"))
            below = pg.ScatterPlotItem(size=8, pen=pg.mkPen(REJECTED, width=1.2),
                                       brush=pg.mkBrush(None), hoverable=True, tip=tip)
            scatter = pg.ScatterPlotItem(size=10, pen=pg.mkPen(TEXT, width=0.6), hoverable=True,
                                         tip=tip)
            for item in (image, below, scatter):
                plot.addItem(item)
            for item in (below, scatter):
                item.sigClicked.connect(self._clicked)
            style_plot(plot, f"{AXIS_NAMES[projection.horizontal]} (mm)",
                       f"{AXIS_NAMES[projection.vertical]} (mm)", projection.title)
            self.plots.append(plot)
            self.scatters.append(scatter)
            self.below.append(below)
            self.images.append(image)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=self.cmap, interactive=False,
                                        width=14)
        self.graphics.addItem(self.colorbar, row=0, col=len(PROJECTIONS))
        self.note = self.graphics.addLabel(row=1, col=0, colspan=len(PROJECTIONS) + 1,
                                           justify="left", color=TEXT.name())
        self.measures: Measures | None = None
        self.data: MapData | None = None

    def _build_controls(self) -> None:
        self.measure_controls = MeasureControls(self.settings)
        self.scale = QComboBox(objectName="mapScale")
        self.scale.setAccessibleName("Value scale")
        for key, label in SCALE_LABELS.items():
            self.scale.addItem(label, key)
        self.threshold = QDoubleSpinBox(objectName="mapThreshold")
        self.threshold.setAccessibleName("Threshold (µV), 0 = none")
        self.threshold.setRange(0.0, 1e6)
        self.threshold.setSpecialValueText("none")
        self.threshold.setSuffix(" µV")
        self.smooth = QDoubleSpinBox(objectName="mapSmooth")
        self.smooth.setAccessibleName("Smoothing FWHM (mm), 0 = points only")
        self.smooth.setRange(0.0, 100.0)
        self.smooth.setSpecialValueText("off")
        self.smooth.setSuffix(" mm")
        self.include_rejected = QCheckBox("Include rejected", objectName="mapIncludeRejected")
        for widget in (self.measure_controls, QLabel("Scale"), self.scale, QLabel("Threshold"),
                       self.threshold, QLabel("Smoothing"), self.smooth, self.include_rejected):
            self.controls.addWidget(widget)
        self.controls.addStretch(1)
        self._show_map_settings(self.map_settings)
        self.measure_controls.changed.connect(self.set_measure_settings)
        for signal in (self.scale.currentIndexChanged, self.threshold.valueChanged,
                       self.smooth.valueChanged, self.include_rejected.toggled):
            signal.connect(self._controls_changed)

    def _show_map_settings(self, settings: MapSettings) -> None:
        widgets = (self.scale, self.threshold, self.smooth, self.include_rejected)
        for widget in widgets:
            widget.blockSignals(True)
        self.scale.setCurrentIndex(list(SCALE_LABELS).index(settings.scale))
        self.threshold.setValue(settings.threshold or 0.0)
        self.smooth.setValue(settings.smooth_fwhm)
        self.include_rejected.setChecked(settings.include_rejected)
        for widget in widgets:
            widget.blockSignals(False)

    def _controls_changed(self) -> None:
        threshold = self.threshold.value()
        self.set_map_settings(MapSettings(self.scale.currentData(), threshold or None,
                                          self.include_rejected.isChecked(), self.smooth.value()))

    # -- data -------------------------------------------------------------------------------
    def _measures_changed(self) -> None:
        self._draw()

    def set_map_settings(self, settings: MapSettings) -> None:
        self.map_settings = settings
        self._show_map_settings(settings)
        self._draw()

    def _trace_changed(self, index: int, changed: frozenset[str]) -> None:
        if changed & {"onset_shift", "annotated"}:
            self.measures.update(self.traces, index)
        self._draw()

    # -- drawing ----------------------------------------------------------------------------
    def _draw(self) -> None:
        if self.measures is None:
            return
        traces = self.traces
        data = map_data(self.measures.amplitude, traces.xyz, traces.reject, traces.names,
                        self.map_settings, traces.units)
        self.data = data
        low, high = data.value_range
        normalised = np.clip((data.values - low) / (high - low), 0.0, 1.0)
        # One of PALETTE_SIZE shared brushes per point: pyqtgraph renders a symbol per
        # distinct brush, so a brush per point made an edit cost ~180 ms on 1000 traces.
        steps = np.rint(normalised * (PALETTE_SIZE - 1)).astype(int)
        brushes = [self.palette[k] for k in steps]
        above, below = ~data.below_threshold, data.below_threshold
        fwhm = self.map_settings.smooth_fwhm
        for projection, plot, scatter, hollow, image in zip(PROJECTIONS, self.plots,
                                                            self.scatters, self.below, self.images):
            u, v = data.xyz[:, projection.horizontal], data.xyz[:, projection.vertical]
            scatter.setData(u[above], v[above], data=data.indices[above],
                            brush=[b for b, keep in zip(brushes, above) if keep])
            hollow.setData(u[below], v[below], data=data.indices[below])
            self._draw_surface(image, data, projection, fwhm, (low, high))
            plot.autoRange()
        self.colorbar.setLevels((low, high))
        self.colorbar.setLabel("right", data.value_label, color=TEXT.name())
        axis = self.colorbar.getAxis("right")
        axis.setTextPen(pg.mkPen(TEXT))
        # Room for the tick labels and the rotated label beside them.
        axis.setWidth(72)
        title = f"{self.measures.channel_label}: {data.value_label}, " \
                f"{self.settings.start_ms:g}-{self.settings.stop_ms:g} ms after onset"
        threshold = self.map_settings.threshold
        if threshold is not None:
            title += f"; hollow grey: below {threshold:g} µV"
        self.note.setText(f"{title}<br>{data.summary()}".replace("\n", "<br>"))

    def _draw_surface(self, image: pg.ImageItem, data: MapData, projection, fwhm: float,
                      levels: tuple[float, float]) -> None:
        if fwhm <= 0 or not len(data.indices):
            image.clear()
            image.setVisible(False)
            return
        extent = projection_extent(data.xyz, projection, margin=fwhm)
        pixel = fwhm / 20.0
        surface = projection_image(data.xyz[:, projection.horizontal],
                                   data.xyz[:, projection.vertical], data.values, fwhm, extent,
                                   pixel)
        image.setImage(surface, levels=levels)
        u0, u1, v0, v1 = extent
        image.setRect(QRectF(u0 - pixel / 2, v0 - pixel / 2, surface.shape[0] * pixel,
                             surface.shape[1] * pixel))
        image.setOpacity(0.75)
        image.setVisible(True)

    def _clicked(self, item, points, event=None) -> None:
        index = index_of(points)
        if index is not None:
            self.trace_selected.emit(index)
