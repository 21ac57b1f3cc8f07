"""A short text pinned to a point of the plot, drawn at its own size in screen pixels.

The viewer labels events and marks with many of these, and moves them on every page and
zoom. pyqtgraph's ``TextItem`` keeps its text upright by recomputing its own transform in
Python whenever the view's changes (on each label, again before each paint); after a zoom
that made every label ask for one more paint of the whole plot, about 15 ms later
(measured on 60 event labels over 64 rows: two paints per zoom instead of one). Qt does
the same job natively: an item that ignores inherited transformations is placed at its
parent's point and drawn unscaled, with no Python in the paint. A label here is a filled
rectangle with a plain text item inside. Measured (200 made and given a text, offscreen):
24-26 µs each against 137-161 µs for a ``TextItem``, a rich text document; 60 event
labels moved to a new page in 0.5-0.6 ms against 0.9-1.6 ms.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QBrush, QColor, QPen
from PyQt6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsSimpleTextItem

#: Room between the text and the edge of its background, in pixels.
PADDING_PX = 2.0


class PixelLabel(QGraphicsRectItem):
    """A label whose top-left corner sits at its position in the parent's coordinates."""

    def __init__(self, fill: QColor | None = None, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        # Painted from a pixmap until its text changes: laying text out on every paint of
        # a page's labels cost more than all the shading and lines of the page together.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.setBrush(QBrush(fill) if fill is not None else QBrush(Qt.BrushStyle.NoBrush))
        self._text = QGraphicsSimpleTextItem(self)
        self._text.setPos(PADDING_PX, PADDING_PX)
        self.look: tuple[str, str] | None = None   # (text, colour name) shown

    def set_look(self, text: str, color: QColor) -> None:
        """Show ``text`` in ``color`` (nothing is laid out again when both are unchanged)."""
        look = (text, color.name())
        if look == self.look:
            return
        self.look = look
        self._text.setBrush(QBrush(color))
        self._text.setText(text)
        box = self._text.boundingRect()
        self.setRect(0.0, 0.0, box.width() + 2 * PADDING_PX, box.height() + 2 * PADDING_PX)

    def text(self) -> str:
        return self._text.text()

    def setFont(self, font) -> None:  # noqa: N802 (Qt's name)
        self._text.setFont(font)
