"""The line under the traces: position, channels, sensitivity, montage, filter, decimation.

It is one line whose height never changes: a line that wrapped when its texts grew (the
first page's decimation, "Loading…" while paging) shrank the traces above it, which moved
every row and drew the page again. Where the viewer is narrow, parts elide instead (the
whole text is the tooltip): the decimation and the busy note first, then the position,
channels, sensitivity, montage and filter. A long montage name or five channel types'
sensitivities never make the window wider than the screen.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QPainter
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """A one-line label that may be narrower than its text: it shows "…" where it is cut."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def minimumSizeHint(self):  # noqa: N802 (Qt's name)
        hint = super().minimumSizeHint()
        hint.setWidth(min(hint.width(), 24))
        return hint

    def setText(self, text: str | None) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self.setToolTip(text)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        rect = self.contentsRect()
        margin = self.margin() + self.indent() if self.indent() > 0 else self.margin()
        rect.adjust(margin, 0, -margin, 0)
        painter.setPen(self.palette().color(self.foregroundRole()))
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)


class StatusLine(QFrame):
    """One line under the traces: position, channels, sensitivity, montage, filter, decimation."""

    #: The parts in order, and whether each gives up its width first where it is short.
    PARTS = (("position", False), ("channels", False), ("sensitivity", False), ("montage", False),
             ("filter", False), ("decimation", True), ("busy", True))

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("ViewerStatus")
        self.setStyleSheet("#ViewerStatus { background: #f2f3f5; border-top: 1px solid #c9ccd1; }"
                           " QLabel { color: #222; padding: 1px 8px; }")
        self.labels: dict[str, QLabel] = {}
        layout = QHBoxLayout(self)
        layout.setSpacing(0)
        layout.setContentsMargins(2, 1, 2, 1)
        for name, yields_first in self.PARTS:
            label = ElidedLabel(self)
            label.setObjectName(name)
            if yields_first:   # the width left over after the parts before it
                label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            layout.addWidget(label, 1 if yields_first else 0)
            self.labels[name] = label
        self.labels["montage"].setText("As recorded")
        self.labels["filter"].setText("No filter")

    def text(self, name: str) -> str:
        return self.labels[name].text()

    def set_position(self, text: str) -> None:
        self.labels["position"].setText(text)

    def set_channels(self, text: str) -> None:
        self.labels["channels"].setText(text)

    def set_sensitivity(self, text: str) -> None:
        self.labels["sensitivity"].setText(text)

    def set_montage(self, text: str) -> None:
        self.labels["montage"].setText(text)

    def set_filter(self, text: str) -> None:
        self.labels["filter"].setText(text)

    def set_decimation(self, text: str) -> None:
        self.labels["decimation"].setText(text)

    def set_busy(self, busy: bool) -> None:
        self.labels["busy"].setText("Loading…" if busy else "")
