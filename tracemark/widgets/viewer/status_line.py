"""The line under the traces: position, channels, sensitivity, montage, filter, decimation.

Its parts wrap onto a second line rather than widen the viewer, and a part wider than the
whole viewer elides (its whole text is its tooltip): a long montage name or five channel
types' sensitivities must never make the window wider than the screen.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QPainter
from PyQt6.QtWidgets import QFrame, QLabel, QSizePolicy, QWidget

from tracemark.widgets.flow_layout import FlowLayout


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

    PARTS = (("position", 0), ("channels", 0), ("sensitivity", 0), ("montage", 0),
             ("filter", 0), ("decimation", 1), ("busy", 0))

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("ViewerStatus")
        self.setStyleSheet("#ViewerStatus { background: #f2f3f5; border-top: 1px solid #c9ccd1; }"
                           " QLabel { color: #222; padding: 1px 8px; }")
        self.labels: dict[str, QLabel] = {}
        layout = FlowLayout(self, spacing=0, margins=(2, 1, 2, 1))
        for name, _stretch in self.PARTS:
            label = ElidedLabel(self)
            label.setObjectName(name)
            layout.addWidget(label)
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
