"""What the plot views share: the view base class (data in, intent signal out, export), the
measure controls (channel and window), colours and axis styling.

A view is a self-contained QWidget: a row of controls above a ``GraphicsLayoutWidget``
holding everything that belongs in an exported figure (plots, legends, colour bar, notes).
``export(path)`` writes that layout, without the controls, as PNG or SVG.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PyQt6.QtCore import QRectF, QSize, pyqtSignal
from PyQt6.QtGui import QColor, QPainter
from PyQt6.QtSvg import QSvgGenerator
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)
from pyqtgraph import exporters

from tracemark.analysis import Measures, MeasureSettings, TraceSet, compute_measures
from tracemark.widgets.flow_layout import FlowLayout

ACCEPTED = QColor(31, 94, 170)
REJECTED = QColor(150, 150, 150)
MEAN = QColor(20, 20, 20)
FIT = QColor(200, 40, 40)
CURRENT = QColor(240, 150, 0)
TEXT = QColor(30, 30, 30)
EXPORT_SUFFIXES = (".png", ".svg")


def unit_text(units: str) -> str:
    return "µV" if units == "uV" else units


def style_plot(plot: pg.PlotItem, x_label: str, y_label: str, title: str | None = None) -> None:
    """Black-on-white axes with labels that carry their units, e.g. "time after onset (ms)".
    Units are written into the label text because pyqtgraph's SI prefixing would turn
    "ms" into "kms" when zoomed out."""
    for name, label in (("bottom", x_label), ("left", y_label)):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(TEXT))
        axis.setTextPen(pg.mkPen(TEXT))
        axis.setLabel(label, color=TEXT.name())
    plot.showGrid(x=True, y=True, alpha=0.15)
    if title:
        plot.setTitle(title, color=TEXT.name(), size="11pt")


def add_legend(plot: pg.PlotItem, offset=(10, 10)) -> pg.LegendItem:
    """A legend on a translucent white card, so points under it stay visible but the text
    stays readable."""
    return plot.addLegend(offset=offset, labelTextColor=TEXT.name(),
                          brush=pg.mkBrush(255, 255, 255, 215), pen=pg.mkPen(220, 220, 220))


def fill_legend(legend: pg.LegendItem, entries) -> None:
    """Show exactly ``entries`` [(item, text), ...] in ``legend``."""
    legend.clear()
    for item, text in entries:
        legend.addItem(item, text)


class PlotView(QWidget):
    """Base of the four views. Subclasses build their items in ``_build`` and redraw from
    their own copy of the traces in ``_redraw``."""

    #: Intent: open this trace in the editor.
    trace_selected = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.traces: TraceSet | None = None
        self.controls = FlowLayout(margins=(4, 2, 4, 2))   # wraps in a narrow dock
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.graphics.setObjectName(f"{type(self).__name__}Graphics")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.controls)
        layout.addWidget(self.graphics, 1)

    def set_data(self, traces: TraceSet) -> None:
        """Show ``traces`` (the view keeps its own copy of their attributes)."""
        self.traces = traces.copy()
        self._data_changed()

    def update_trace(self, index: int, attrs: Mapping[str, Any]) -> None:
        """Take the current attributes of one trace after an edit (any subset of a cache's
        keys, e.g. ``cache.get_trace_attrs(index)``); redraws only what they change."""
        if self.traces is None:
            return
        changed = self.traces.apply_attrs(index, attrs)
        if changed:
            self._trace_changed(index, changed)

    def set_current(self, index: int | None) -> None:
        """Highlight the trace open in the editor; views without a highlight ignore it."""

    def export(self, path: str | Path, width: int | None = None) -> Path:
        """Write the figure (plots, legends, colour bar, notes; not the controls) to a
        ``.png`` or ``.svg`` file."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in EXPORT_SUFFIXES:
            raise ValueError(f"{path}: cannot export as {suffix or 'a file without suffix'}; "
                             f"use .png or .svg")
        item = self.graphics.ci
        if suffix == ".png":
            exporter = exporters.ImageExporter(item)
            if width:
                exporter.parameters()["width"] = int(width)
            exporter.export(str(path))
        else:
            write_svg(item, path, self.windowTitle() or type(self).__name__)
        if not path.is_file() or path.stat().st_size == 0:
            raise OSError(f"{path}: the figure could not be written")
        return path

    # -- for subclasses ---------------------------------------------------------------------
    def _data_changed(self) -> None:
        raise NotImplementedError

    def _trace_changed(self, index: int, changed: frozenset[str]) -> None:
        raise NotImplementedError


class MeasuredView(PlotView):
    """A view drawn from per-trace measures (peak-to-peak, latency) on one channel in one
    window, chosen with ``measure_controls``; subclasses redraw in ``_measures_changed``."""

    settings: MeasureSettings
    measure_controls: MeasureControls
    measures: Measures | None = None

    def _data_changed(self) -> None:
        self.measure_controls.set_channels(self.traces.channel_labels,
                                           self.traces.channel_index(self.settings.channel))
        self.set_measure_settings(self.settings)

    def set_measure_settings(self, settings: MeasureSettings) -> None:
        """Measure on another channel or in another window (measures every trace again)."""
        self.settings = settings
        if self.traces is None:
            return
        self.measures = compute_measures(self.traces, settings)
        self.measure_controls.set_settings(settings, self.measures.channel)
        self._measures_changed()

    def _measures_changed(self) -> None:
        raise NotImplementedError


def write_svg(item: pg.GraphicsObject, path: Path, title: str) -> None:
    """Render ``item``'s part of its scene through Qt's SVG paint engine. pyqtgraph's own
    SVGExporter fails on curves holding NaN gaps (it parses the path text, measured with
    pyqtgraph 0.14), and every butterfly here is one NaN-separated curve."""
    rect = item.sceneBoundingRect()
    size = QSize(int(round(rect.width())), int(round(rect.height())))
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(size)
    generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
    generator.setTitle(title)
    generator.setDescription("Tracemark figure")
    generator.setResolution(_logical_dpi(item))
    # Scatter points are normally stamped from cached pixmaps; drawn as paths they stay
    # vectors in the SVG.
    scatters = [i for i in item.scene().items() if isinstance(i, pg.ScatterPlotItem)
                and i.opts.get("useCache", True)]
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"{path}: cannot be written")
    try:
        for scatter in scatters:
            scatter.opts["useCache"] = False
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor("white"))
        item.scene().render(painter, QRectF(0, 0, size.width(), size.height()), rect)
    finally:
        painter.end()
        for scatter in scatters:
            scatter.opts["useCache"] = True


def _logical_dpi(item: pg.GraphicsObject) -> int:
    """The dots per inch the scene was laid out for: items size fonts and cosmetic pens by
    the device, so the SVG must claim the same resolution or text and axes land elsewhere
    than the data."""
    views = item.scene().views()
    return int(round(views[0].logicalDpiX())) if views else 96


class MeasureControls(QWidget):
    """Channel and measure window, shared by the views that measure amplitudes."""

    changed = pyqtSignal(object)  # MeasureSettings

    def __init__(self, settings: MeasureSettings = MeasureSettings(), parent=None):
        super().__init__(parent)
        self.channel = QComboBox(objectName="plotChannel")
        self.channel.setAccessibleName("Channel")
        self.start = _spin("plotWindowStart", "Window start (ms)", settings.start_ms)
        self.stop = _spin("plotWindowStop", "Window end (ms)", settings.stop_ms)
        self._use_annotations = settings.use_annotations
        layout = FlowLayout(self)
        for widget in (QLabel("Channel"), self.channel, QLabel("Window"), self.start,
                       QLabel("to"), self.stop):
            layout.addWidget(widget)
        self.channel.currentIndexChanged.connect(self._emit)
        self.start.valueChanged.connect(self._emit)
        self.stop.valueChanged.connect(self._emit)

    def set_channels(self, labels: tuple[str, ...], current: int) -> None:
        self.channel.blockSignals(True)
        self.channel.clear()
        self.channel.addItems(list(labels))
        self.channel.setCurrentIndex(current)
        self.channel.blockSignals(False)

    def set_settings(self, settings: MeasureSettings, channel: int) -> None:
        for widget in (self.channel, self.start, self.stop):
            widget.blockSignals(True)
        self.channel.setCurrentIndex(channel)
        self.start.setValue(settings.start_ms)
        self.stop.setValue(settings.stop_ms)
        self._use_annotations = settings.use_annotations
        for widget in (self.channel, self.start, self.stop):
            widget.blockSignals(False)

    def settings(self) -> MeasureSettings:
        start, stop = self.start.value(), self.stop.value()
        if stop <= start:
            stop = start + 1.0
        return MeasureSettings(max(self.channel.currentIndex(), 0), start, stop,
                               self._use_annotations)

    def _emit(self) -> None:
        self.changed.emit(self.settings())


def _spin(name: str, accessible: str, value: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(objectName=name)
    spin.setAccessibleName(accessible)
    spin.setRange(-10_000.0, 10_000.0)
    spin.setDecimals(1)
    spin.setSuffix(" ms")
    spin.setKeyboardTracking(False)
    spin.setValue(value)
    return spin


def point_tip(view: PlotView, describe: Callable[[float, float], str]):
    """The tool tip of a scatter point whose data is its trace index: the trace's name (its
    number from 1, as the editor and the table show it) and ``describe(x, y)``, e.g.
    "Trace 8\npeak-to-peak 412.0 µV". For ``ScatterPlotItem(hoverable=True, tip=...)``."""
    def tip(x: float, y: float, data) -> str:
        if data is None or view.traces is None or not 0 <= int(data) < len(view.traces):
            return ""
        return f"{view.traces.names[int(data)]}\n{describe(x, y)}"
    return tip


def index_of(points) -> int | None:
    """Trace index stored in the first clicked scatter point, if any."""
    for point in points:
        data = point.data()
        if data is not None:
            return int(data)
    return None
