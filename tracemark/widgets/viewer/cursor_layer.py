"""What the measurement tools draw on the trace plot: the crosshair and cursors A and B.

The layer owns a few graphics items on a :class:`~.signal_plot.SignalPlot` and turns the
mouse into intent signals (the pointer moved, a cursor was asked for at a time, a cursor
line was dragged). It reads no data and changes no model: the measurement controller
(:mod:`.measure`) decides what the numbers are and where the cursors go.
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtCore import QEvent, QObject, QPointF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont

from tracemark.widgets.guarded_line import GuardedInfiniteLine

from .cursors import CURSOR_A, CURSOR_B

CURSOR_NAMES = {CURSOR_A: "A", CURSOR_B: "B"}
#: Colours far from the traces' navy and the selection's blue, and told apart by
#: people with red-green colour blindness (orange against purple).
CURSOR_COLORS = {CURSOR_A: QColor(214, 94, 0), CURSOR_B: QColor(122, 52, 196)}
SPAN_FILL = QColor(122, 52, 196, 16)
#: Solid, so that it is not taken for an event marker (those are dashed).
CROSSHAIR_COLOR = QColor(70, 76, 90, 170)
#: Pixels between the pointer and its readout label.
LABEL_OFFSET_PX = 12.0
#: Cursor and crosshair items sit above traces, grid and selection band.
LAYER_Z = 60


class CursorLayer(QObject):
    """The crosshair and the two cursor lines of one trace plot."""

    pointer_moved = pyqtSignal(float, float)      # time (s), y in row coordinates
    pointer_left = pyqtSignal()
    place_requested = pyqtSignal(int, float)      # cursor, time (s): Ctrl+click A, Shift+click B
    cursor_dragged = pyqtSignal(int, float)       # cursor, time (s)

    def __init__(self, plot):
        super().__init__(plot)
        self.plot = plot
        self.view_box = plot.getViewBox()
        self.lines = {which: self._cursor_line(which) for which in (CURSOR_A, CURSOR_B)}
        self.span_shade = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(SPAN_FILL),
                                              pen=pg.mkPen(None))
        self.span_shade.setZValue(-92)
        self.span_shade.hide()
        plot.addItem(self.span_shade, ignoreBounds=True)
        self.crosshair = GuardedInfiniteLine(angle=90, movable=False,
                                         pen=pg.mkPen(CROSSHAIR_COLOR, width=1))
        self.crosshair.setZValue(LAYER_Z - 1)
        self.crosshair.hide()
        plot.addItem(self.crosshair, ignoreBounds=True)
        self.crosshair_label = pg.TextItem(color=(20, 24, 32), fill=pg.mkBrush(255, 255, 255, 235),
                                           border=pg.mkPen(CROSSHAIR_COLOR), anchor=(0, 1))
        self.crosshair_label.setZValue(LAYER_Z + 1)
        self.crosshair_label.hide()
        plot.addItem(self.crosshair_label, ignoreBounds=True)
        plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        # Moves are watched on the viewport, not through the scene's sigMouseMoved: the
        # scene drops moves that follow one another within 1/60 s, so the last position of
        # a pointer coming to rest could be lost and the readout left behind it.
        plot.viewport().installEventFilter(self)
        self.crosshair_enabled = False
        self._pointer_pixel: QPointF | None = None

    def _cursor_line(self, which: int) -> pg.InfiniteLine:
        color = CURSOR_COLORS[which]
        line = GuardedInfiniteLine(angle=90, movable=True, pen=pg.mkPen(color, width=1.5),
                               hoverPen=pg.mkPen(color, width=3),
                               label=CURSOR_NAMES[which],
                               labelOpts={"position": 0.0, "color": (255, 255, 255),
                                          "fill": pg.mkBrush(color), "anchors": [(0.5, 1), (0.5, 1)]})
        font = QFont()
        font.setBold(True)
        line.label.setFont(font)
        line.setCursor(Qt.CursorShape.SizeHorCursor)
        line.setToolTip(f"Cursor {CURSOR_NAMES[which]}: drag to move")
        line.setZValue(LAYER_Z)
        line.hide()
        line.sigDragged.connect(lambda item, w=which: self.cursor_dragged.emit(w, float(item.value())))
        self.plot.addItem(line, ignoreBounds=True)
        return line

    # -- cursors ---------------------------------------------------------------------------
    def set_cursors(self, positions: tuple[float | None, float | None], active: int) -> None:
        """Show each placed cursor at its time; the active one (moved by keys) drawn bolder."""
        for which, line in self.lines.items():
            time_s = positions[which]
            if time_s is None:
                line.hide()
                continue
            if line.value() != time_s:
                line.setValue(time_s)
            width = 2.5 if which == active else 1.2
            line.setPen(pg.mkPen(CURSOR_COLORS[which], width=width))
            line.show()
        a, b = positions
        if a is not None and b is not None and a != b:
            self.span_shade.setRegion((min(a, b), max(a, b)))
            self.span_shade.show()
        else:
            self.span_shade.hide()

    # -- crosshair -------------------------------------------------------------------------
    def set_crosshair_enabled(self, enabled: bool) -> None:
        self.crosshair_enabled = bool(enabled)
        if not enabled:
            self.hide_crosshair()

    def show_crosshair(self, time_s: float, y: float, text: str) -> None:
        """The line at ``time_s`` and ``text`` beside the pointer, inside the plot."""
        if not self.crosshair_enabled:
            return
        self.crosshair.setValue(time_s)
        self.crosshair.show()
        label = self.crosshair_label
        label.setText(text)
        pixel_x, pixel_y = self.view_box.viewPixelSize()
        pointer = self.view_box.mapFromView(QPointF(time_s, y))   # pixels in the view box
        size = label.boundingRect()
        room_right = pointer.x() + LABEL_OFFSET_PX + size.width() < self.view_box.width()
        room_above = pointer.y() - LABEL_OFFSET_PX - size.height() > 0
        label.setAnchor((0 if room_right else 1, 1 if room_above else 0))
        dx = LABEL_OFFSET_PX * pixel_x * (1 if room_right else -1)
        dy = LABEL_OFFSET_PX * pixel_y * (1 if room_above else -1)
        label.setPos(time_s + dx, y + dy)
        label.show()

    def hide_crosshair(self) -> None:
        self.crosshair.hide()
        self.crosshair_label.hide()

    def crosshair_text(self) -> str:
        """The crosshair's readout as shown ("" when hidden)."""
        return self.crosshair_label.textItem.toPlainText() if self.crosshair_label.isVisible() else ""

    # -- mouse -----------------------------------------------------------------------------
    def repeat_pointer(self) -> None:
        """Report the resting pointer again: the traces moved under it (a new page)."""
        if self._pointer_pixel is not None:
            self._on_mouse_moved(self._pointer_pixel)

    def _on_mouse_moved(self, pixel: QPointF) -> None:
        scene_pos = self.plot.mapToScene(pixel.toPoint())
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            self._pointer_pixel = None
            self.pointer_left.emit()
            return
        self._pointer_pixel = QPointF(pixel)
        point = self.view_box.mapSceneToView(scene_pos)
        self.pointer_moved.emit(point.x(), point.y())

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if not self.view_box.sceneBoundingRect().contains(event.scenePos()):
            return
        modifiers = event.modifiers()
        time_s = self.view_box.mapSceneToView(event.scenePos()).x()
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            self.place_requested.emit(CURSOR_A, time_s)
        elif modifiers & Qt.KeyboardModifier.ShiftModifier:
            self.place_requested.emit(CURSOR_B, time_s)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.MouseMove:
            self._on_mouse_moved(event.position())
        elif event.type() == QEvent.Type.Leave:
            self._pointer_pixel = None
            self.pointer_left.emit()
        return False
