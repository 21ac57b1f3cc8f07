"""The mouse on the person's marks: press, drag and double-click turned into intents.

An event filter on the trace plot's viewport sees each press before the plot does. A
press on a mark (as :meth:`MarkGestures.hit_test` finds it) is taken: the mark is
selected, and a drag from there moves it (its body) or resizes it (an edge). In annotate
mode a press on no mark is taken too, and a drag draws a new span (with Alt held, a span
bound to the rows it covers). Any other press is left to the plot, which pans and selects
rows as before; Ctrl+ and Shift+clicks and presses on a cursor line (the measurement
cursors) are always left to it.

A drag reports its progress (``drag_moved``, for the preview) and its end
(``drag_finished``) once, so the controller commits one change per gesture, however many
moves it had. Nothing here knows about labels, sinks or the view-model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyqtgraph as pg
from PyQt6.QtCore import QEvent, QObject, QPointF, Qt, pyqtSignal

#: Pixels the pointer must travel with the button down before a press becomes a drag.
DRAG_THRESHOLD_PX = 3.0
BODY, START, END, NEW = "body", "start", "end", "new"
#: The pointer over a mark says what a drag from there does.
HOVER_CURSORS = {BODY: Qt.CursorShape.OpenHandCursor, START: Qt.CursorShape.SizeHorCursor,
                 END: Qt.CursorShape.SizeHorCursor}


@dataclass
class _Press:
    ident: str          # "" for a new span
    part: str           # BODY, START, END or NEW
    time_s: float
    pixel: QPointF
    y: float = 0.0
    bound: bool = False
    dragging: bool = False


class MarkGestures(QObject):
    """Presses, drags and double-clicks on the plot's marks (see the module docstring)."""

    pointer_moved = pyqtSignal(float)            # time (s) under the pointer
    pointer_left = pyqtSignal()
    mark_pressed = pyqtSignal(str)               # id: select it
    empty_pressed = pyqtSignal()                 # a press on no mark
    drag_moved = pyqtSignal(str, str, float, float)      # id, part, press time, time now
    drag_finished = pyqtSignal(str, str, float, float)
    #: Annotate mode: press time, time now, finished; the press's and the pointer's row
    #: coordinate; True when the span is bound to the rows between them (Alt).
    span_drawn = pyqtSignal(float, float, bool, float, float, bool)
    mark_double_clicked = pyqtSignal(str)

    def __init__(self, plot, hit_test: Callable[[float, float, float], tuple[str, str] | None]):
        """``hit_test(time_s, y, seconds_per_pixel)`` names the mark and part under a point."""
        super().__init__(plot)
        self.plot = plot
        self.view_box = plot.getViewBox()
        self.hit_test = hit_test
        self.annotate_mode = False
        self._press: _Press | None = None
        self._hover_part: str | None = None
        plot.viewport().installEventFilter(self)

    @property
    def busy(self) -> bool:
        """True while a drag is under way."""
        return self._press is not None and self._press.dragging

    def cancel(self) -> bool:
        """Drop a drag under way (Esc); True when there was one."""
        was = self._press is not None
        self._press = None
        return was

    def _view_point(self, pixel: QPointF) -> tuple[float, float] | None:
        scene = self.plot.mapToScene(pixel.toPoint())
        if not self.view_box.sceneBoundingRect().contains(scene):
            return None
        point = self.view_box.mapSceneToView(scene)
        return point.x(), point.y()

    def _seconds_per_pixel(self) -> float:
        start, stop = self.view_box.viewRange()[0]
        return (stop - start) / max(self.view_box.width(), 1.0)

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseMove:
            return self._on_move(event)
        if kind == QEvent.Type.MouseButtonPress:
            return self._on_press(event)
        if kind == QEvent.Type.MouseButtonRelease:
            return self._on_release(event)
        if kind == QEvent.Type.MouseButtonDblClick:
            return self._on_double_click(event)
        if kind == QEvent.Type.Leave:
            self.pointer_left.emit()
        return False

    def _plain_left(self, event) -> bool:
        placing = event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        return event.button() == Qt.MouseButton.LeftButton and not placing

    def _on_press(self, event) -> bool:
        self._press = None
        if not self._plain_left(event):
            return False
        point = self._view_point(event.position())
        if point is None or self._on_cursor_line(event.position()):
            return False
        hit = self.hit_test(point[0], point[1], self._seconds_per_pixel())
        if hit is not None:
            self._press = _Press(hit[0], hit[1], point[0], QPointF(event.position()))
            self.mark_pressed.emit(hit[0])
            return True
        self.empty_pressed.emit()
        if self.annotate_mode:
            bound = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
            self._press = _Press("", NEW, point[0], QPointF(event.position()), point[1], bound)
            return True
        return False

    def _on_move(self, event) -> bool:
        point = self._view_point(event.position())
        if point is not None:
            self.pointer_moved.emit(point[0])
        press = self._press
        if press is None:
            if point is not None and not event.buttons():
                hit = self.hit_test(point[0], point[1], self._seconds_per_pixel())
                self._show_hover(hit[1] if hit is not None else None)
            return False
        if not event.buttons() & Qt.MouseButton.LeftButton:
            self._press = None
            return False
        delta = event.position() - press.pixel
        if not press.dragging and abs(delta.x()) + abs(delta.y()) < DRAG_THRESHOLD_PX:
            return True
        press.dragging = True
        time_s, y = self._view_at(event.position())
        if press.part == NEW:
            self.span_drawn.emit(press.time_s, time_s, False, press.y, y, press.bound)
        else:
            self.drag_moved.emit(press.ident, press.part, press.time_s, time_s)
        return True

    def _on_release(self, event) -> bool:
        press, self._press = self._press, None
        if press is None or event.button() != Qt.MouseButton.LeftButton:
            return False
        if press.dragging:
            time_s, y = self._view_at(event.position())
            if press.part == NEW:
                self.span_drawn.emit(press.time_s, time_s, True, press.y, y, press.bound)
            else:
                self.drag_finished.emit(press.ident, press.part, press.time_s, time_s)
        return True

    def _on_double_click(self, event) -> bool:
        if not self._plain_left(event):
            return False
        point = self._view_point(event.position())
        hit = None if point is None else self.hit_test(point[0], point[1], self._seconds_per_pixel())
        if hit is None:
            return self.annotate_mode
        self._press = None
        self.mark_double_clicked.emit(hit[0])
        return True

    def _show_hover(self, part: str | None) -> None:
        if part == self._hover_part:
            return
        self._hover_part = part
        self.update_cursor()

    def update_cursor(self) -> None:
        """The viewport's pointer shape: what a drag would do here (annotate mode: a cross)."""
        viewport = self.plot.viewport()
        shape = HOVER_CURSORS.get(self._hover_part or "")
        if shape is None and self.annotate_mode:
            shape = Qt.CursorShape.CrossCursor
        if shape is None:
            viewport.unsetCursor()
        else:
            viewport.setCursor(shape)

    def _view_at(self, pixel: QPointF) -> tuple[float, float]:
        # Outside the view box the time still follows x (a drag past the edge).
        point = self.view_box.mapSceneToView(self.plot.mapToScene(pixel.toPoint()))
        return point.x(), point.y()

    def _on_cursor_line(self, pixel: QPointF) -> bool:
        """True when a movable line (a measurement cursor) is under the pointer: it is dragged."""
        scene = self.plot.scene()
        return any(isinstance(item, pg.InfiniteLine) and item.movable and item.isVisible()
                   for item in scene.items(self.plot.mapToScene(pixel.toPoint())))
