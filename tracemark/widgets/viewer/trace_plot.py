"""The stacked-trace plot: one reused curve per visible row, events, regions, scale bar.

Rows are centred on ``y = -k`` (row 0 at the top). Curves are created once per
visible position and only get new data, so paging never rebuilds the scene. Values
arrive in each row's physical unit; the plot turns them into row heights from the
sensitivity (uV per mm of screen, as on paper EEG), the row's gain and the screen's
pixels per millimetre, and redraws from the kept values when only the amplitude or
the plot size changes. Mouse input is turned into intent signals (pan, wheel, row
clicked); the plot never changes the time window itself.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QGuiApplication

from .axes import ChannelAxis, TimeAxis
from .scale_bar import ScaleBar, format_amplitude, format_duration, nice_value

TRACE_COLOR = QColor(12, 22, 48)
SELECTED_COLOR = QColor(0, 92, 200)
EVENT_COLORS = {"trigger": QColor(200, 30, 30), "note": QColor(20, 110, 190),
                "annotation": QColor(20, 140, 60), "epochs": QColor(140, 60, 170)}
DEFAULT_EVENT_COLOR = QColor(190, 110, 0)
MAX_EVENT_MARKERS = 150
ROW_FILL = QColor(0, 92, 200, 26)


def screen_pixels_per_mm() -> float:
    """Logical pixels per millimetre of the primary screen (96 dpi when unknown)."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return 96 / 25.4
    dpi = screen.physicalDotsPerInchY() / max(screen.devicePixelRatio(), 1.0)
    return dpi / 25.4 if 50 <= dpi <= 600 else 96 / 25.4


class TraceViewBox(pg.ViewBox):
    """A ViewBox whose mouse gestures become signals instead of changing the range."""

    dragged = pyqtSignal(float)              # seconds to move the window start by
    wheeled = pyqtSignal(int, object)         # notches (+ away from user), modifiers
    clicked = pyqtSignal(float, float)        # x (s), y (row coordinate)

    def __init__(self):
        super().__init__(enableMenu=False)
        self.setMouseEnabled(False, False)
        self._drag_anchor: float | None = None

    def mouseDragEvent(self, event, axis=None):
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        event.accept()
        x_now = self.mapSceneToView(event.scenePos()).x()
        x_last = self.mapSceneToView(event.lastScenePos()).x()
        if x_now != x_last:
            self.dragged.emit(x_last - x_now)

    def wheelEvent(self, event, axis=None):
        delta = event.delta() if hasattr(event, "delta") else event.angleDelta().y()
        notches = int(round(delta / 120)) or (1 if delta > 0 else -1)
        self.wheeled.emit(notches, event.modifiers())
        event.accept()

    def mouseClickEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            point = self.mapSceneToView(event.scenePos())
            self.clicked.emit(point.x(), point.y())
            event.accept()
        else:
            event.ignore()


class TracePlot(pg.PlotWidget):
    """Stacked channels with min/max envelopes; see the module docstring."""

    pan_requested = pyqtSignal(float)
    wheel_requested = pyqtSignal(int, object)
    row_clicked = pyqtSignal(int)

    def __init__(self, parent=None):
        self._time_axis = TimeAxis()
        self._channel_axis = ChannelAxis()
        self._view_box = TraceViewBox()
        super().__init__(parent, viewBox=self._view_box,
                         axisItems={"bottom": self._time_axis, "left": self._channel_axis})
        self.setBackground("w")
        self.plotItem.hideButtons()
        self.plotItem.setMenuEnabled(False)
        for name in ("left", "bottom"):
            axis = self.plotItem.getAxis(name)
            axis.setPen(pg.mkPen(110, 110, 110))
            axis.setTextPen(pg.mkPen(30, 30, 30))
        self.plotItem.showGrid(x=True, y=False, alpha=0.18)
        self._view_box.dragged.connect(self.pan_requested)
        self._view_box.wheeled.connect(self.wheel_requested)
        self._view_box.clicked.connect(self._on_clicked)
        self._view_box.sigResized.connect(self._redraw)
        self.pixels_per_mm = screen_pixels_per_mm()
        self._labels: list[str] = []
        self._uv_per_unit: list[float] = []
        self._gains: list[float] = []
        self._sensitivity = 7.0
        self._curves: list[pg.PlotCurveItem] = []
        self._x = np.empty(0)
        self._y = np.empty((0, 0), dtype=np.float32)
        self._selected = -1
        self._selection_band = pg.LinearRegionItem(orientation="horizontal", movable=False,
                                                   brush=pg.mkBrush(ROW_FILL), pen=pg.mkPen(None))
        self._selection_band.setZValue(-100)
        self._selection_band.hide()
        self.addItem(self._selection_band, ignoreBounds=True)
        self._events: list[tuple[float, float, str, str]] = []
        self._event_times: list[float] = []
        self._markers: list[pg.InfiniteLine] = []
        self._highlights: dict[str, pg.LinearRegionItem] = {}
        self.scale_bar = ScaleBar(self._view_box)
        self._x_range = (0.0, 10.0)
        self.setXRange(0, 10, padding=0)

    # -- rows and amplitude ----------------------------------------------------------------
    def set_rows(self, labels: Sequence[str], uv_per_unit: Sequence[float]) -> None:
        """Name the visible rows; ``uv_per_unit`` turns each row's unit into uV."""
        self._labels = list(labels)
        self._uv_per_unit = [float(u) for u in uv_per_unit]
        self._channel_axis.set_labels(self._labels)
        while len(self._curves) < len(self._labels):
            curve = pg.PlotCurveItem(pen=pg.mkPen(TRACE_COLOR, width=1), skipFiniteCheck=False)
            self.addItem(curve)
            self._curves.append(curve)
        for k, curve in enumerate(self._curves):
            curve.setVisible(k < len(self._labels))
        n = max(len(self._labels), 1)
        self.setYRange(-(n - 1) - 0.6, 0.6, padding=0)
        self._update_selection()

    def set_amplitude(self, sensitivity_uv_mm: float, gains: Sequence[float]) -> None:
        self._sensitivity = float(sensitivity_uv_mm)
        self._gains = [float(g) for g in gains]
        self._redraw()

    def row_pixels(self) -> float:
        height = self._view_box.height()
        return height / (max(len(self._labels), 1) + 0.2) if height > 0 else 20.0

    def row_scale(self, position: int) -> float:
        """Row units per physical unit of the row at ``position``."""
        uv = self._uv_per_unit[position] if position < len(self._uv_per_unit) else 1.0
        gain = self._gains[position] if position < len(self._gains) else 1.0
        return uv * gain / self._sensitivity * self.pixels_per_mm / self.row_pixels()

    # -- data ------------------------------------------------------------------------------
    def set_data(self, x: np.ndarray, y: np.ndarray) -> None:
        """``x`` seconds (n,), ``y`` physical values (n, n_rows) in the visible rows' order."""
        self._x = np.asarray(x, dtype=np.float64)
        self._y = np.asarray(y, dtype=np.float32)
        self._redraw()

    def clear_data(self) -> None:
        self.set_data(np.empty(0), np.empty((0, len(self._labels)), dtype=np.float32))

    def _redraw(self, *_args) -> None:
        n_rows = min(len(self._labels), self._y.shape[1] if self._y.ndim == 2 else 0)
        has_nan = bool(self._y.size) and not np.isfinite(self._y).all()
        for k, curve in enumerate(self._curves[:len(self._labels)]):
            if k < n_rows and self._x.size:
                y = self._y[:, k] * np.float32(self.row_scale(k)) - np.float32(k)
                curve.setData(self._x, y, connect="finite" if has_nan else "all", skipFiniteCheck=not has_nan)
            else:
                curve.setData([], [])
        self._update_scale_bar()

    def drawn_values(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """What the curve at ``position`` holds, converted back to physical units."""
        x, y = self._curves[position].getData()
        if x is None:
            return np.empty(0), np.empty(0)
        return np.asarray(x), (np.asarray(y, dtype=np.float64) + position) / self.row_scale(position)

    def curve(self, position: int) -> pg.PlotCurveItem:
        return self._curves[position]

    # -- time axis -------------------------------------------------------------------------
    def set_x_range(self, start_s: float, stop_s: float) -> None:
        self._x_range = (start_s, stop_s)
        self.setXRange(start_s, stop_s, padding=0)
        self._update_events()
        self._update_scale_bar()

    def x_range(self) -> tuple[float, float]:
        return self._x_range

    def set_time_mode(self, mode: str, start_datetime) -> None:
        self._time_axis.set_mode(mode, start_datetime)

    # -- selection -------------------------------------------------------------------------
    def set_selected_position(self, position: int) -> None:
        self._selected = position
        self._update_selection()

    def _update_selection(self) -> None:
        k = self._selected
        if 0 <= k < len(self._labels):
            self._selection_band.setRegion((-k - 0.5, -k + 0.5))
            self._selection_band.show()
        else:
            self._selection_band.hide()
        for i, curve in enumerate(self._curves):
            curve.setPen(pg.mkPen(SELECTED_COLOR if i == k else TRACE_COLOR, width=1))

    def _on_clicked(self, x: float, y: float) -> None:
        position = int(round(-y))
        if 0 <= position < len(self._labels):
            self.row_clicked.emit(position)

    # -- events ----------------------------------------------------------------------------
    def set_events(self, events: Sequence[tuple[float, float, str, str]]) -> None:
        """``(time_s, duration_s, label, source)`` tuples; markers are drawn for visible ones."""
        self._events = sorted(events, key=lambda e: e[0])
        self._event_times = [e[0] for e in self._events]
        self._update_events()

    def visible_markers(self) -> list[tuple[float, str]]:
        return [(m.value(), m.label.format) for m in self._markers if m.isVisible()]

    def labelled_markers(self) -> list[str]:
        return [m.label.format for m in self._markers if m.isVisible() and m.label.isVisible()]

    def _update_events(self) -> None:
        start, stop = self._x_range
        lo = bisect.bisect_left(self._event_times, start)
        hi = bisect.bisect_right(self._event_times, stop)
        shown = self._events[lo:min(hi, lo + MAX_EVENT_MARKERS)]
        while len(self._markers) < len(shown):
            marker = pg.InfiniteLine(angle=90, movable=False, label="",
                                     labelOpts={"position": 0.985, "anchors": [(0, 0), (0, 0)],
                                                "fill": pg.mkBrush(255, 255, 255, 220)})
            marker.setZValue(50)
            self.addItem(marker, ignoreBounds=True)
            self._markers.append(marker)
        px_per_s = (self._view_box.width() or 800.0) / max(stop - start, 1e-9)
        label_free_from = -np.inf
        for i, marker in enumerate(self._markers):
            if i < len(shown):
                time_s, _duration, label, source = shown[i]
                color = EVENT_COLORS.get(source, DEFAULT_EVENT_COLOR)
                marker.setPen(pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine))
                marker.label.setColor(color)
                marker.label.format = label
                marker.label.setText(label)
                # Labels that would overlap the previous one are left off; the line stays.
                x_px = time_s * px_per_s
                fits = x_px >= label_free_from
                marker.label.setVisible(fits)
                if fits:
                    label_free_from = x_px + 7.0 * len(label) + 12
                marker.setValue(time_s)
                marker.show()
            else:
                marker.hide()

    # -- highlighted regions (for the trace editor) ----------------------------------------
    def add_highlight(self, key: str, start_s: float, stop_s: float, color=(255, 190, 0, 60)) -> None:
        """Shade ``[start_s, stop_s]`` across all rows; ``key`` replaces an earlier region."""
        region = self._highlights.get(key)
        if region is None:
            region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(color), pen=pg.mkPen(None))
            region.setZValue(-90)
            self.addItem(region, ignoreBounds=True)
            self._highlights[key] = region
        region.setBrush(pg.mkBrush(color))
        region.setRegion((start_s, stop_s))

    def remove_highlight(self, key: str) -> None:
        region = self._highlights.pop(key, None)
        if region is not None:
            self.removeItem(region)

    def highlights(self) -> dict[str, tuple[float, float]]:
        return {key: tuple(region.getRegion()) for key, region in self._highlights.items()}

    # -- scale bar -------------------------------------------------------------------------
    def _update_scale_bar(self) -> None:
        row_px = self.row_pixels()
        px_per_uv = self.pixels_per_mm / self._sensitivity
        amplitude = nice_value(0.8 * row_px / px_per_uv) if row_px > 0 else 0.0
        start, stop = self._x_range
        width = self._view_box.width() or 600.0
        px_per_s = width / max(stop - start, 1e-9)
        seconds = nice_value(90.0 / px_per_s)
        self.scale_bar.set_bars(amplitude * px_per_uv, format_amplitude(amplitude),
                                seconds * px_per_s, format_duration(seconds))

    def map_to_time(self, x_pixels: float) -> float:
        return self._view_box.mapSceneToView(self._view_box.mapToScene(QPointF(x_pixels, 0))).x()
