"""The stacked-trace plot: one reused curve per visible row, events, regions, scale bars.

Rows are centred on ``y = -k`` (row 0 at the top). Curves are created once per
visible position and only get new data, so paging never rebuilds the scene. Values
arrive in each row's physical unit; the plot turns them into row heights from the row's
sensitivity (units per mm of screen, as on paper EEG: each row's scale group has its
own, see :mod:`.scales`), the row's gain and the screen's pixels per millimetre, and
redraws from the kept values when only the amplitude or the plot size changes.

Traces are clipped to their own row by default (:meth:`SignalPlot.set_clipping`), so a
channel with a large artefact or offset can never be drawn over, or mistaken for, its
neighbour. When the recording has events, a strip above the first row holds their
labels, so labels never cover traces; the calibration bars sit in a margin on the right
(:mod:`.scale_bar`). Mouse input is turned into intent signals (pan, wheel, row
clicked); the plot never changes the time window itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPoint, QPointF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QGuiApplication

from .axes import BAD_LABEL_COLOR, ChannelAxis, TimeAxis
from .event_markers import MAX_LANES, EventMarkers
from .scale_bar import AmplitudeBar, ScaleMargin, format_duration, nice_value
from .scales import DEFAULT_SENSITIVITY, format_quantity, group_title, group_unit

TRACE_COLOR = QColor(12, 22, 48)
SELECTED_COLOR = QColor(0, 92, 200)
#: Bad channels' traces (and rows that use one): light, yet visible on white.
BAD_TRACE_COLOR = QColor(172, 176, 184)
ROW_FILL = QColor(0, 92, 200, 26)
GRID_COLOR = QColor(226, 229, 234)
#: Rows a trace may span before it is clipped (1.0: its own row; None: never clipped).
DEFAULT_CLIP_ROWS = 1.0
#: Pixels of one lane of event labels in the strip above the first row.
LABEL_LANE_PX = 17.0
ROW_MARGIN = 0.6  # row units above the first row and below the last (half a row + a bit)
GRID_STEPS_S = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
                1800.0, 3600.0, 7200.0, 4 * 3600.0)


def grid_step(span_s: float, width_px: float) -> float:
    """Seconds between grid lines: 1 s when lines stay >= 25 px apart (as on paper EEG)."""
    for step in GRID_STEPS_S:
        if step >= 1.0 and step * width_px / max(span_s, 1e-9) >= 25:
            return step
    return GRID_STEPS_S[-1]


def screen_pixels_per_mm() -> float:
    """Logical pixels per millimetre of the primary screen (96 dpi when unknown)."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return 96 / 25.4
    dpi = screen.physicalDotsPerInchY() / max(screen.devicePixelRatio(), 1.0)
    return dpi / 25.4 if 50 <= dpi <= 600 else 96 / 25.4


class TraceCurve(pg.PlotCurveItem):
    """Many rows in one curve, told its bounds by the caller.

    All visible rows are one path, each row's points followed by a NaN that breaks the
    line (``connect="finite"``): Qt paints one path of 64 x 3,200 points in 0.6-0.7x the
    time of 64 curves (measured, see ``../shared/research/viewer-display-and-drawing.md``).
    pyqtgraph would find the bounds with ``nanmin``/``nanmax`` over every point on each new
    page; the plot knows them already (its row extent).
    """

    def __init__(self, *args, **kwargs):
        self._known_bounds: tuple[tuple[float, float], tuple[float, float]] | None = None
        super().__init__(*args, **kwargs)

    def set_rows(self, x: np.ndarray, rows_y: np.ndarray, y_bounds: tuple[float, float]) -> None:
        """``x`` (m,) shared by every row; ``rows_y`` (n_rows, m) in row coordinates."""
        n_rows, m = rows_y.shape if rows_y.ndim == 2 else (0, 0)
        if not n_rows or not m:
            self._known_bounds = None
            self.setData([], [])
            return
        joined_y = np.empty((n_rows, m + 1), dtype=np.float32)
        joined_y[:, :m] = rows_y
        joined_y[:, m] = np.nan
        joined_x = np.empty((n_rows, m + 1), dtype=np.float64)
        joined_x[:, :m] = x
        joined_x[:, m] = x[-1]
        self._known_bounds = ((float(x[0]), float(x[-1])), y_bounds)
        self.setData(joined_x.ravel(), joined_y.ravel(), connect="finite")

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        if self._known_bounds is not None and frac >= 1.0 and orthoRange is None:
            return self._known_bounds[ax]
        return super().dataBounds(ax, frac, orthoRange)


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
        # Ctrl+ and Shift+click place measurement cursors (see cursor_layer), not a selection.
        placing = event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        if event.button() == Qt.MouseButton.LeftButton and not placing:
            point = self.mapSceneToView(event.scenePos())
            self.clicked.emit(point.x(), point.y())
            event.accept()
        else:
            event.ignore()


class SignalPlot(pg.PlotWidget):
    """Stacked channels with min/max envelopes; see the module docstring."""

    pan_requested = pyqtSignal(float)
    wheel_requested = pyqtSignal(int, object)
    row_clicked = pyqtSignal(int)
    #: Right click on a row's name: its position from the top and the screen point.
    row_menu_requested = pyqtSignal(int, QPoint)

    def __init__(self, parent=None):
        self._time_axis = TimeAxis()
        self._channel_axis = ChannelAxis()
        self._view_box = TraceViewBox()
        self.scale_margin = ScaleMargin()
        super().__init__(parent, viewBox=self._view_box,
                         axisItems={"bottom": self._time_axis, "left": self._channel_axis,
                                    "right": self.scale_margin})
        self.plotItem.showAxis("right")
        self.setBackground("w")
        self.plotItem.hideButtons()
        self.plotItem.setMenuEnabled(False)
        for name in ("left", "bottom"):
            axis = self.plotItem.getAxis(name)
            axis.setPen(pg.mkPen(110, 110, 110))
            axis.setTextPen(pg.mkPen(30, 30, 30))
        # The channel labels change only with the channel page: paint them from a cached pixmap.
        self._channel_axis.setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # One curve of vertical segments is far cheaper to paint than the axis grid.
        self._grid = pg.PlotCurveItem(pen=pg.mkPen(GRID_COLOR, width=1))
        self._grid.setZValue(-95)
        self.addItem(self._grid, ignoreBounds=True)
        self._view_box.dragged.connect(self.pan_requested)
        self._view_box.wheeled.connect(self.wheel_requested)
        self._view_box.clicked.connect(self._on_clicked)
        self._view_box.sigResized.connect(self._on_resized)
        self.pixels_per_mm = screen_pixels_per_mm()
        self._labels: list[str] = []
        self._to_group_unit: list[float] = []
        self._groups: list[str] = []
        self._gains: list[float] = []
        self._sensitivities: list[float] = []
        self._clip_rows: float | None = DEFAULT_CLIP_ROWS
        self._label_lanes = 0
        # Every row but the selected one is one path; the selected row has its own colour.
        self._trace = TraceCurve(pen=pg.mkPen(TRACE_COLOR, width=1), skipFiniteCheck=False)
        self._selected_trace = TraceCurve(pen=pg.mkPen(SELECTED_COLOR, width=1), skipFiniteCheck=False)
        # Bad rows are one more path, drawn under the others in a light grey.
        self._bad_trace = TraceCurve(pen=pg.mkPen(BAD_TRACE_COLOR, width=1), skipFiniteCheck=False)
        self._bad_trace.setZValue(-1)
        self._bad_positions: frozenset[int] = frozenset()
        self._rows_y = np.empty((0, 0), dtype=np.float32)   # (n_rows, m) as drawn
        for item in (self._trace, self._selected_trace, self._bad_trace):
            self.addItem(item)
        self._channel_axis.menu_requested.connect(self.row_menu_requested)
        self._x = np.empty(0)
        self._y = np.empty((0, 0), dtype=np.float32)
        self._selected = -1
        self._selection_band = pg.LinearRegionItem(orientation="horizontal", movable=False,
                                                   brush=pg.mkBrush(ROW_FILL), pen=pg.mkPen(None))
        self._selection_band.setZValue(-100)
        self._selection_band.hide()
        self.addItem(self._selection_band, ignoreBounds=True)
        self._event_markers = EventMarkers(self.plotItem)
        self._highlights: dict[str, pg.LinearRegionItem] = {}
        self._x_range = (0.0, 10.0)
        self.setXRange(0, 10, padding=0)

    # -- rows and amplitude ----------------------------------------------------------------
    def set_rows(self, labels: Sequence[str], to_group_unit: Sequence[float],
                 groups: Sequence[str] | None = None) -> None:
        """Name the visible rows; ``to_group_unit`` turns each row's unit into its scale
        group's unit (µV for voltages); ``groups`` names each row's scale group."""
        self._labels = list(labels)
        self._to_group_unit = [float(u) for u in to_group_unit]
        self._groups = list(groups) if groups is not None else ["eeg"] * len(self._labels)
        self._bad_positions = frozenset()   # the caller greys the new rows again
        self._channel_axis.set_labels(self._labels)
        self._update_y_range()
        self._update_selection()
        self._update_grid()
        self._update_events()

    def row_labels(self) -> tuple[str, ...]:
        """The names the channel axis shows for the visible rows, top to bottom."""
        return self._channel_axis.labels

    def set_bad_positions(self, positions) -> None:
        """Grey the traces and names of the visible rows at ``positions`` (bad channels)."""
        positions = frozenset(int(k) for k in positions if 0 <= int(k) < len(self._labels))
        if positions != self._bad_positions:
            self._bad_positions = positions
            self._channel_axis.set_labels(self._labels, positions)
            self._redraw()

    @property
    def bad_positions(self) -> frozenset[int]:
        return self._bad_positions

    def shown_row_labels(self) -> tuple[str, ...]:
        """The row names as the axis draws them (a bad row's suffixed, see :mod:`.axes`)."""
        return self._channel_axis.shown_labels

    def label_color(self, position: int) -> QColor:
        """The colour the name of the row at ``position`` is drawn in."""
        if position in self._channel_axis.dimmed:
            return QColor(BAD_LABEL_COLOR)
        return self.plotItem.getAxis("left").textPen().color()

    def trace_color(self, position: int) -> QColor:
        """The colour the row at ``position`` is drawn in."""
        if position in self._bad_positions:
            return self._bad_trace.opts["pen"].color()
        if position == self._selected:
            return self._selected_trace.opts["pen"].color()
        return self._trace.opts["pen"].color()

    def set_amplitude(self, sensitivities: Sequence[float], gains: Sequence[float]) -> None:
        """Each visible row's sensitivity (units of its group per mm) and gain."""
        self._sensitivities = [float(s) for s in sensitivities]
        self._gains = [float(g) for g in gains]
        self._redraw()

    def set_clipping(self, rows: float | None) -> None:
        """Clip each trace to ``rows`` row heights around its centre (None: never)."""
        self._clip_rows = None if rows is None else max(float(rows), 0.1)
        self._redraw()

    @property
    def clip_rows(self) -> float | None:
        return self._clip_rows

    def set_label_lanes(self, lanes: int) -> None:
        """Reserve a strip for ``lanes`` lanes of event labels above the first row."""
        lanes = max(int(lanes), 0)
        if lanes != self._label_lanes:
            self._label_lanes = lanes
            self._update_y_range()
            self._redraw()

    def label_lane_position(self, lane: int) -> float:
        """Where lane ``lane`` of the label strip is, as a fraction of the plot's height from
        the bottom (for labels that pyqtgraph places by fraction, e.g. an InfiniteLine's)."""
        height = self._view_box.height()
        if height <= 0:
            return 0.97
        centre_px = (lane + 0.5) * LABEL_LANE_PX
        return min(max(1.0 - centre_px / height, 0.0), 1.0)

    def _strip_px(self) -> float:
        return self._label_lanes * LABEL_LANE_PX

    def _update_y_range(self) -> None:
        n = max(len(self._labels), 1)
        top = ROW_MARGIN + self._strip_px() / max(self.row_pixels(), 1e-6)
        self.setYRange(-(n - 1) - ROW_MARGIN, top, padding=0)
        self._view_box.updateMatrix()

    def _y_top(self) -> float:
        """The view y of the top edge (above the label strip)."""
        return self._view_box.viewRange()[1][1]

    def row_pixels(self) -> float:
        height = self._view_box.height() - self._strip_px()
        return height / (max(len(self._labels), 1) + 2 * ROW_MARGIN - 1) if height > 0 else 20.0

    def row_scale(self, position: int) -> float:
        """Row units per physical unit of the row at ``position``."""
        to_group = self._to_group_unit[position] if position < len(self._to_group_unit) else 1.0
        gain = self._gains[position] if position < len(self._gains) else 1.0
        sensitivity = (self._sensitivities[position] if position < len(self._sensitivities)
                       else DEFAULT_SENSITIVITY)
        return to_group * gain / sensitivity * self.pixels_per_mm / self.row_pixels()

    def _on_resized(self, *_args) -> None:
        self._update_y_range()
        self._redraw()
        self._update_events()

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
        if not n_rows or not self._x.size:
            self._rows_y = np.empty((0, 0), dtype=np.float32)
            for curve in (self._trace, self._selected_trace, self._bad_trace):
                curve.set_rows(self._x, self._rows_y, (0.0, 0.0))
            self._update_scale_bar()
            return
        scales = np.array([self.row_scale(k) for k in range(n_rows)], dtype=np.float32)
        centres = np.arange(n_rows, dtype=np.float32)
        rows_y = self._y[:, :n_rows].T * scales[:, None]
        rows_y -= centres[:, None]
        if self._clip_rows is not None:
            half = np.float32(self._clip_rows / 2)
            np.clip(rows_y, (-centres - half)[:, None], (-centres + half)[:, None], out=rows_y)
        self._rows_y = rows_y
        bad = np.zeros(n_rows, dtype=bool)
        bad[[k for k in self._bad_positions if k < n_rows]] = True
        # A bad row stays grey when selected: the selection band marks it.
        selected = self._selected if 0 <= self._selected < n_rows and not bad[self._selected] else -1
        self._bad_trace.set_rows(self._x, rows_y[bad], self._row_bounds(0, n_rows - 1))
        others = ~bad
        if selected >= 0:
            others[selected] = False
            self._selected_trace.set_rows(self._x, rows_y[selected:selected + 1],
                                          self._row_bounds(selected, selected))
        else:
            self._selected_trace.set_rows(self._x, rows_y[:0], (0.0, 0.0))
        self._trace.set_rows(self._x, rows_y[others], self._row_bounds(0, n_rows - 1))
        self._update_scale_bar()

    def _row_bounds(self, first: int, last: int) -> tuple[float, float]:
        """The y extent of rows ``first``..``last`` with their clipping margin."""
        half = (self._clip_rows or 1.0) / 2
        return (-last - half, -first + half)

    def drawn_values(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """What is drawn for the row at ``position``, converted back to physical units."""
        if position >= self._rows_y.shape[0]:
            return np.empty(0), np.empty(0)
        y = self._rows_y[position].astype(np.float64)
        return self._x.copy(), (y + position) / self.row_scale(position)

    def drawn_rows(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(x, y)`` in row coordinates of every visible row, as drawn (after clipping)."""
        return [(self._x, self._rows_y[k]) for k in range(self._rows_y.shape[0])]

    # -- time axis -------------------------------------------------------------------------
    def set_x_range(self, start_s: float, stop_s: float) -> None:
        self._x_range = (start_s, stop_s)
        self.setXRange(start_s, stop_s, padding=0)
        # pyqtgraph defers the view transform to the start of the next paint; changing it
        # there makes Qt paint the whole plot a second time (profiled: 2 full paints per
        # page step). Applying it now keeps it to one.
        self._view_box.updateMatrix()
        self._update_events()
        self._update_scale_bar()
        self._update_grid()

    def _update_grid(self) -> None:
        start, stop = self._x_range
        step = grid_step(stop - start, self._view_box.width() or 800.0)
        times = np.arange(np.ceil(start / step) * step, stop, step)
        n = max(len(self._labels), 1)
        x = np.repeat(times, 2)
        y = np.tile([ROW_MARGIN, -(n - 1) - ROW_MARGIN], len(times))
        self._grid.setData(x, y, connect="pairs")

    def x_range(self) -> tuple[float, float]:
        return self._x_range

    def set_time_mode(self, mode: str, start_datetime) -> None:
        self._time_axis.set_mode(mode, start_datetime)

    # -- selection -------------------------------------------------------------------------
    def set_selected_position(self, position: int) -> None:
        self._selected = position
        self._update_selection()

    @property
    def selected_position(self) -> int:
        """The visible position marked as selected (-1: none)."""
        return self._selected

    def _update_selection(self) -> None:
        k = self._selected
        if 0 <= k < len(self._labels):
            self._selection_band.setRegion((-k - 0.5, -k + 0.5))
            self._selection_band.show()
        else:
            self._selection_band.hide()
        self._redraw()

    def _on_clicked(self, x: float, y: float) -> None:
        position = int(round(-y))
        if 0 <= position < len(self._labels):
            self.row_clicked.emit(position)

    # -- events ----------------------------------------------------------------------------
    def set_events(self, events: Sequence[tuple[float, float, str, str]]) -> None:
        """``(time_s, duration_s, label, source)`` tuples; markers are drawn for visible ones."""
        self._event_markers.set_events(events)
        self.set_label_lanes(MAX_LANES if len(events) else 0)
        self._update_events()

    def visible_markers(self) -> list[tuple[float, str]]:
        """``(time_s, label)`` of the events drawn in the current window."""
        return list(self._event_markers.shown)

    def labelled_markers(self) -> list[str]:
        return list(self._event_markers.labelled)

    def warm_up_event_labels(self, count: int = 8) -> bool:
        """Prepare ``count`` more event labels while idle; True while more are to come."""
        return self._event_markers.warm_up(count)

    def event_labels_prepared(self) -> int:
        """How many event label items exist (shown or waiting to be)."""
        return self._event_markers.prepared

    def event_label_items(self):
        return self._event_markers.label_items()

    def event_label_lanes(self) -> list[int]:
        """The lane of each labelled event in the strip above the rows (0: the top one)."""
        return list(self._event_markers.lanes)

    def _update_events(self) -> None:
        start, stop = self._x_range
        n = max(len(self._labels), 1)
        self._event_markers.update(start, stop, self._y_top(), -(n - 1) - ROW_MARGIN,
                                   self._view_box.width() or 800.0, self.row_pixels())

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
        bars = []
        firsts = {}
        for k, group in enumerate(self._groups[:len(self._labels)]):
            firsts.setdefault(group, k)
        several = len(firsts) > 1
        for group, k in firsts.items():
            sensitivity = (self._sensitivities[k] if k < len(self._sensitivities) else DEFAULT_SENSITIVITY)
            px_per_unit = self.pixels_per_mm / sensitivity
            amplitude = nice_value(0.8 * row_px / px_per_unit) if row_px > 0 else 0.0
            if amplitude > 0:
                bars.append(AmplitudeBar(-k, amplitude * px_per_unit / row_px,
                                         format_quantity(amplitude, group_unit(group)),
                                         group_title(group) if several else ""))
        start, stop = self._x_range
        width = self._view_box.width() or 600.0
        px_per_s = width / max(stop - start, 1e-9)
        seconds = nice_value(60.0 / px_per_s)
        self.scale_margin.set_bars(bars, seconds * px_per_s, format_duration(seconds))

    def map_to_time(self, x_pixels: float) -> float:
        return self._view_box.mapSceneToView(self._view_box.mapToScene(QPointF(x_pixels, 0))).x()
