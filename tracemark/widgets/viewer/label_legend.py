"""The label legend: a strip above the traces listing the label set.

Each label is a button with its colour, its key and its name; clicking one makes it the
current label (the one a span drawn with the mouse gets). "Labels…" opens the label-set
editor. A note at the right says why marks cannot be changed when the annotation file is
read-only. The legend only shows and asks; :mod:`.marking` decides.
"""

from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor, QIcon, QPixmap
from PyQt6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from tracemark.domain.annotations import Label

SWATCH_PX = 12


def swatch(color: str, size: int = SWATCH_PX) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


def label_text(label: Label) -> str:
    return f"{label.key}  {label.name}" if label.key else label.name


class LabelLegend(QWidget):
    """Buttons for the labels; see the module docstring."""

    label_chosen = pyqtSignal(str)
    edit_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("LabelLegend")
        # A long label set is cut at the right edge rather than widen the window past the
        # screen; every label is still in the Labels dialog and on its key.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(4, 1, 4, 1)
        self._layout.setSpacing(2)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._group.buttonClicked.connect(lambda button: self.label_chosen.emit(button.property("label")))
        self.buttons: dict[str, QToolButton] = {}
        self._tail = QLabel(self)
        self._tail.setStyleSheet("color: #8a4b00;")
        self.edit_button = QToolButton(self)
        self.edit_button.setObjectName("viewer.labels.edit")
        self.edit_button.setAccessibleName("Edit the labels")
        self.edit_button.setText("Labels…")
        self.edit_button.setToolTip("Add, rename, recolour, re-key or remove labels")
        self.edit_button.setAutoRaise(True)
        self.edit_button.clicked.connect(self.edit_requested)
        self._layout.addStretch(1)
        self._layout.addWidget(self._tail)
        self._layout.addWidget(self.edit_button)

    def set_labels(self, labels: Sequence[Label], current: str | None) -> None:
        """Show ``labels`` in order, ``current`` checked."""
        wanted = [label.name for label in labels]
        if wanted != list(self.buttons):
            for button in self.buttons.values():
                self._group.removeButton(button)
                button.deleteLater()
            self.buttons = {}
            for position, label in enumerate(labels):
                button = QToolButton(self)
                button.setObjectName("viewer.labels.label")
                button.setAccessibleName(f"Label {label.name}")
                button.setCheckable(True)
                button.setAutoRaise(True)
                button.setProperty("label", label.name)
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
                self._group.addButton(button)
                self._layout.insertWidget(position, button)
                self.buttons[label.name] = button
        for label in labels:
            button = self.buttons[label.name]
            button.setIcon(swatch(label.color))
            button.setText(label_text(label))
            key = f" (key {label.key})" if label.key else ""
            button.setToolTip(f"Mark with {label.name}{key}; click to draw spans with it")
        self.set_current(current)

    def set_current(self, name: str | None) -> None:
        button = self.buttons.get(name or "")
        if button is not None:
            button.setChecked(True)
        else:
            checked = self._group.checkedButton()
            if checked is not None:
                self._group.setExclusive(False)
                checked.setChecked(False)
                self._group.setExclusive(True)

    def current(self) -> str | None:
        checked = self._group.checkedButton()
        return checked.property("label") if checked is not None else None

    def set_note(self, text: str) -> None:
        """A short note at the right (why marks cannot be changed), or none."""
        self._tail.setText(text)
        self._tail.setToolTip(text)
