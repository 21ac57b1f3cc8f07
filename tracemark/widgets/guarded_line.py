"""An ``InfiniteLine`` that survives being painted or hit-tested after its view has gone.

pyqtgraph's ``InfiniteLine.boundingRect`` asks its ViewBox for its size. When a window
closes, Qt can still ask an item for its bounds after the item has left its ViewBox (the
scene tears down in its own order); the stock line then raises inside a C++ virtual call,
which ends the process with a segmentation fault. This line answers "nothing to draw"
instead. Every line Tracemark puts on a plot that a person can close is one of these.
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtCore import QRectF

__all__ = ["GuardedInfiniteLine"]


class GuardedInfiniteLine(pg.InfiniteLine):
    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        if self.getViewBox() is None:
            return QRectF()
        return super().boundingRect()

    def paint(self, painter, *args) -> None:
        if self.getViewBox() is not None:
            super().paint(painter, *args)
