"""A calibration bar drawn in screen pixels in a corner of the trace area.

It shows a round amplitude (e.g. ``50 µV``) whose height follows the current
sensitivity and a round time (e.g. ``1 s``), as paper EEG carries a calibration mark.
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QPen

_NICE = (1, 2, 5)


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


def format_amplitude(uv: float, unit: str = "µV") -> str:
    if unit == "µV" and uv >= 1000:
        return f"{uv / 1000:g} mV"
    return f"{uv:g} {unit}"


def format_duration(seconds: float) -> str:
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    if seconds >= 1:
        return f"{seconds:g} s"
    return f"{seconds * 1000:g} ms"


class ScaleBar(pg.GraphicsObject):
    """Vertical amplitude bar and horizontal time bar, anchored bottom-right of a ViewBox."""

    MARGIN = 22

    def __init__(self, view_box: pg.ViewBox):
        super().__init__()
        self.setParentItem(view_box)
        self._view_box = view_box
        self.amplitude_px = 0.0
        self.amplitude_text = ""
        self.time_px = 0.0
        self.time_text = ""
        self.setZValue(1000)
        view_box.sigResized.connect(self._place)

    def set_bars(self, amplitude_px: float, amplitude_text: str, time_px: float, time_text: str) -> None:
        self.prepareGeometryChange()
        self.amplitude_px, self.amplitude_text = amplitude_px, amplitude_text
        self.time_px, self.time_text = time_px, time_text
        self._place()
        self.update()

    def _place(self, *_args) -> None:
        rect = self._view_box.rect()
        self.setPos(rect.right() - self.MARGIN, rect.bottom() - self.MARGIN)

    def boundingRect(self) -> QRectF:
        return self._box().adjusted(-2, -2, 2, 2)

    def _box(self) -> QRectF:
        height = max(self.amplitude_px, 14.0)
        return QRectF(-max(self.time_px, 40.0) - 76, -height - 6, max(self.time_px, 40.0) + 82, height + 26)

    def paint(self, painter, *_args) -> None:
        if self.amplitude_px <= 0:
            return
        painter.setRenderHint(painter.RenderHint.Antialiasing, False)
        painter.fillRect(self._box(), QColor(255, 255, 255, 235))
        pen = QPen(QColor(20, 20, 20))
        pen.setWidth(2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawLine(0, 0, 0, int(round(-self.amplitude_px)))
        painter.drawLine(0, 0, int(round(-self.time_px)), 0)
        font = QFont()
        font.setPointSizeF(8.5)
        painter.setFont(font)
        right_middle = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        painter.drawText(QRectF(-self.time_px - 74, -max(self.amplitude_px, 14.0), 70,
                                max(self.amplitude_px, 14.0)), right_middle, self.amplitude_text)
        painter.drawText(QRectF(-self.time_px, 2, self.time_px, 16),
                         int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop), self.time_text)
