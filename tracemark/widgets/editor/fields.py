"""Input fields that commit once, when the person is done, and then show only what the app
confirmed.

A ``CommitLineEdit`` emits ``committed`` on Enter or on focus-out, and only when its text
differs from the confirmed value; typing emits nothing. Escape restores the confirmed text.
After committing, the field shows the confirmed value again: if the app saved the edit it
has already called ``set_confirmed`` with the new value (it confirms while handling the
signal), and if it refused, the field does not pretend otherwise. Because a refusal shows a
dialog that takes the focus, re-showing the confirmed text also stops that focus-out from
committing the same text a second time.

``NumberLineEdit`` is the same for an optional finite number (empty = unknown, ``None``).
``CommitSpinBox`` is a spin box that emits one ``committed(int)`` per step or per typed
value (on Enter / focus-out), never per keystroke.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QKeyEvent
from PyQt6.QtWidgets import QLineEdit, QSpinBox, QWidget


class CommitLineEdit(QLineEdit):
    """A text field that commits on Enter / focus-out when changed (see module docstring)."""

    committed = pyqtSignal(str)
    #: Enter or Escape: the person is done here and the keys may go back to the editor.
    done = pyqtSignal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._confirmed = ""
        self.editingFinished.connect(self._finish)
        self.returnPressed.connect(self.done)

    @property
    def confirmed(self) -> str:
        return self._confirmed

    def set_confirmed(self, text: str) -> None:
        self._confirmed = text
        if self.text() != text:
            self.setText(text)
            self.setCursorPosition(0)

    def _finish(self) -> None:
        if self.isReadOnly() or not self.isEnabled():
            return
        if self.text() != self._confirmed:
            self.committed.emit(self.text())
            self.set_confirmed(self._confirmed)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.set_confirmed(self._confirmed)
            self.done.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class NumberLineEdit(QLineEdit):
    """An optional finite number: empty means unknown (``None``); text that is not a finite
    number is refused on the spot (the field goes back to the confirmed value and its tool
    tip says why)."""

    committed = pyqtSignal(object)
    done = pyqtSignal()

    def __init__(self, decimals: int = 2, parent: QWidget | None = None):
        super().__init__(parent)
        self._confirmed: float | None = None
        self._decimals = decimals
        self._tip = ""
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setPlaceholderText("—")
        # Wide enough for "-12345.67": a narrow editor must not show "-798.35" as "8.35".
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("-12345.67") + 12)
        self.editingFinished.connect(self._finish)
        self.returnPressed.connect(self.done)

    @property
    def confirmed(self) -> float | None:
        return self._confirmed

    def set_base_tooltip(self, text: str) -> None:
        self._tip = text
        self.setToolTip(text)

    def set_confirmed(self, value: float | None) -> None:
        self._confirmed = value
        text = self.format(value)
        if self.text() != text:
            self.setText(text)

    def format(self, value: float | None) -> str:
        return "" if value is None else f"{value:.{self._decimals}f}"

    def parsed(self) -> tuple[bool, float | None]:
        """(valid, value) of the current text."""
        text = self.text().strip().replace(",", ".").replace("−", "-")
        if not text:
            return True, None
        try:
            value = float(text)
        except ValueError:
            return False, None
        return math.isfinite(value), value if math.isfinite(value) else None

    def _finish(self) -> None:
        if self.isReadOnly() or not self.isEnabled():
            return
        valid, value = self.parsed()
        if not valid:
            self.setToolTip(f"'{self.text()}' is not a number; {self._tip}")
        elif self.text() != self.format(self._confirmed) and not _same(value, self._confirmed,
                                                                        self._decimals):
            self.setToolTip(self._tip)
            self.committed.emit(value)
        self.set_confirmed(self._confirmed)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.set_confirmed(self._confirmed)
            self.done.emit()
            event.accept()
            return
        super().keyPressEvent(event)


def _same(a: float | None, b: float | None, decimals: int) -> bool:
    """Equal as shown: re-entering the displayed rounding of a value is no edit."""
    if a is None or b is None:
        return a is None and b is None
    return round(a, decimals) == round(b, decimals)


class CommitSpinBox(QSpinBox):
    """Integer spin box whose changes are requests: one ``committed(value)`` per arrow step,
    wheel step or typed value (Enter / focus-out), after which it shows the confirmed value."""

    committed = pyqtSignal(int)
    done = pyqtSignal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._confirmed = 0
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        self.valueChanged.connect(self._changed)
        self.lineEdit().returnPressed.connect(self.done)

    @property
    def confirmed(self) -> int:
        return self._confirmed

    def set_confirmed(self, value: int, minimum: int | None = None, maximum: int | None = None) -> None:
        self.blockSignals(True)
        if minimum is not None and maximum is not None:
            self.setRange(minimum, maximum)
        self._confirmed = int(value)
        self.setValue(self._confirmed)
        self.blockSignals(False)

    def _changed(self, value: int) -> None:
        if value != self._confirmed and self.isEnabled() and not self.isReadOnly():
            self.committed.emit(value)
        self.set_confirmed(self._confirmed)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.set_confirmed(self._confirmed)
            self.done.emit()
            event.accept()
            return
        super().keyPressEvent(event)
