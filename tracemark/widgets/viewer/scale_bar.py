"""Calibration bars, drawn in a margin right of the traces, never over them.

Paper EEG carries a calibration mark; so does the viewer, one per *scale group* on screen
(EEG in µV, EMG in mV, a patch-clamp current in pA...): a vertical bar of a round value
(``50 µV``) beside the first row of its group, as tall as that value is on screen, with
the group named when several share the page. A round time (``1 s``) is drawn at the
bottom. The margin is the plot's right axis, so the traces' area is never covered, and it
follows the view's geometry and range as an axis does.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetricsF, QPen

_NICE = (1, 2, 5)
MARGIN_WIDTH = 84
BAR_X = 10
TEXT_X = 16


def nice_value(target: float) -> float:
    """The largest 1-2-5 value not above ``target`` (``target`` > 0)."""
    if target <= 0:
        return 0.0
    exponent = 10.0 ** int(f"{target:e}".split("e")[1])
    best = exponent
    for step in _NICE:
        if step * exponent <= target:
            best = step * exponent
    return best


def format_duration(seconds: float) -> str:
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    if seconds >= 1:
        return f"{seconds:g} s"
    return f"{seconds * 1000:g} ms"


@dataclass(frozen=True)
class AmplitudeBar:
    """One group's bar: centred on ``row`` (a view y coordinate), ``height_rows`` tall."""

    row_y: float
    height_rows: float
    text: str
    title: str = ""


class ScaleMargin(pg.AxisItem):
    """The right-hand margin holding the calibration bars (an axis without ticks)."""

    def __init__(self):
        super().__init__("right", showValues=False)
        self.setWidth(MARGIN_WIDTH)
        self.setPen(pg.mkPen(None))
        self.bars: tuple[AmplitudeBar, ...] = ()
        self.time_px = 0.0
        self.time_text = ""
        self._font = QFont()
        self._font.setPointSizeF(8.0)

    def set_bars(self, bars, time_px: float, time_text: str) -> None:
        self.bars = tuple(bars)
        self.time_px, self.time_text = float(time_px), time_text
        self.update()

    def texts(self) -> list[str]:
        """What the margin says, top to bottom (for tests and accessibility)."""
        return [f"{b.title} {b.text}".strip() for b in self.bars] + ([self.time_text] if self.time_text else [])

    def linkedViewChanged(self, view, newRange=None):  # noqa: N802 (pyqtgraph's name)
        self.update()

    def paint(self, painter, *_args) -> None:
        view = self.linkedView()
        if view is None:
            return
        painter.setRenderHint(painter.RenderHint.Antialiasing, False)
        painter.setFont(self._font)
        metrics = QFontMetricsF(self._font)
        pen = QPen(QColor(20, 20, 20))
        pen.setWidth(2)
        pen.setCosmetic(True)
        line_height = metrics.height()
        free_from = -1e9
        for bar in self.bars:
            top = self._y(view, bar.row_y + bar.height_rows / 2)
            bottom = self._y(view, bar.row_y - bar.height_rows / 2)
            painter.setPen(pen)
            painter.drawLine(QPointF(BAR_X, top), QPointF(BAR_X, bottom))
            lines = [t for t in (bar.title, bar.text) if t]
            text_top = (top + bottom) / 2 - line_height * len(lines) / 2
            if text_top < free_from:   # the previous group's label is there: bar only
                continue
            painter.setPen(QColor(30, 30, 30))
            for k, line in enumerate(lines):
                rect = QRectF(TEXT_X, text_top + k * line_height, MARGIN_WIDTH - TEXT_X - 2, line_height)
                painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                                 metrics.elidedText(line, Qt.TextElideMode.ElideRight, rect.width()))
            free_from = text_top + line_height * len(lines)
        self._paint_time_bar(painter, pen, metrics)

    def _paint_time_bar(self, painter, pen, metrics) -> None:
        if self.time_px <= 0:
            return
        height = self.size().height()
        y = height - metrics.height() - 4
        painter.setPen(pen)
        painter.drawLine(QPointF(BAR_X, y), QPointF(BAR_X + self.time_px, y))
        painter.setPen(QColor(30, 30, 30))
        painter.drawText(QRectF(BAR_X, y + 1, MARGIN_WIDTH - BAR_X, metrics.height()),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), self.time_text)

    def _y(self, view, view_y: float) -> float:
        scene = view.mapViewToScene(QPointF(0.0, view_y))
        return self.mapFromScene(scene).y()
