"""A layout that places widgets in a row and wraps them onto more rows when narrow.

Rows of controls above a plot (channel, window, scale, threshold...) laid out with a
``QHBoxLayout`` demand the sum of their widths, so a dock or the trace editor could not be
narrower than its controls, and the main window grew past the screen when a dock was
shown. In a :class:`FlowLayout` the narrowest the row can be is its widest single
control; below its natural width it wraps, like words in a paragraph. Qt ships no such
layout.
"""

from __future__ import annotations

from PyQt6.QtCore import QPoint, QRect, QSize, Qt
from PyQt6.QtWidgets import QLayout, QSizePolicy, QWidgetItem


class FlowLayout(QLayout):
    """Items left to right, wrapping to a new row where the width runs out."""

    def __init__(self, parent=None, *, spacing: int = 6, margins: tuple[int, int, int, int] = (0, 0, 0, 0)):
        super().__init__(parent)
        self._items: list = []
        self._spacing = spacing
        self.setContentsMargins(*margins)

    # -- QLayout's interface --------------------------------------------------------------
    def addItem(self, item) -> None:  # noqa: N802 (Qt's name)
        self._items.append(item)

    def addWidget(self, widget, stretch: int = 0) -> None:  # noqa: N802 (Qt's name)
        """``stretch`` is accepted for QHBoxLayout compatibility and ignored."""
        self.addChildWidget(widget)
        self.addItem(QWidgetItem(widget))
        self.invalidate()

    def addStretch(self, _stretch: int = 0) -> None:  # noqa: N802 (QBoxLayout's name)
        """Nothing: a flow has no spare width to share out (kept for QHBoxLayout callers)."""

    def addSpacing(self, _size: int) -> None:  # noqa: N802 (QBoxLayout's name)
        """Nothing: items are spaced evenly (kept for QHBoxLayout callers)."""

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):  # noqa: N802 (Qt's name)
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):  # noqa: N802 (Qt's name)
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 (Qt's name)
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 (Qt's name)
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """Everything on one row."""
        width = sum(i.sizeHint().width() for i in self._visible()) + self._spacing * max(len(self._visible()) - 1, 0)
        height = max((i.sizeHint().height() for i in self._visible()), default=0)
        return QSize(width, height) + self._margin_size()

    def minimumSize(self) -> QSize:  # noqa: N802 (Qt's name)
        """The widest single item: anything wider wraps."""
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        return size + self._margin_size()

    # -- placing --------------------------------------------------------------------------
    def _visible(self) -> list:
        return [i for i in self._items if not (i.widget() is not None and i.widget().isHidden())]

    def _margin_size(self) -> QSize:
        margins = self.contentsMargins()
        return QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, move: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, row_height = area.x(), area.y(), 0
        for item in self._visible():
            hint = item.sizeHint()
            width = min(hint.width(), area.width())
            if item.widget() is not None and item.widget().sizePolicy().horizontalPolicy() == \
                    QSizePolicy.Policy.Ignored:
                width = area.width()
            height = item.heightForWidth(width) if item.hasHeightForWidth() else hint.height()
            if x > area.x() and x + width > area.right() + 1:
                x, y, row_height = area.x(), y + row_height + self._spacing, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), QSize(width, height)))
            x += width + self._spacing
            row_height = max(row_height, height)
        return y + row_height - rect.y() + margins.bottom()
