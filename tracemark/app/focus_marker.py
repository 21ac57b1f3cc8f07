"""Shows which part of the window the keys go to: the recording viewer or the trace editor.

The two parts have different keys (PgDown pages the recording; A accepts a trace), so a
person must see at a glance where a key press will land. The part holding the keyboard
focus gets an accent frame, the other a neutral one (nothing moves when the focus
changes), and the status bar says "Keys: recording viewer (F6: trace editor)".

The frame is a transparent overlay that paints a border over its part, not a style
sheet: setting a style sheet on a part re-polishes every widget inside it, which cost
0.6 s when a recording with 700 events opened (measured with cProfile).
"""

from __future__ import annotations

from PyQt6 import sip
from PyQt6.QtCore import QEvent, QObject, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QPainter, QPen
from PyQt6.QtWidgets import QApplication, QLabel, QWidget

ACCENT = "#1a73e8"
NEUTRAL = "#d5d8dd"
VIEWER, EDITOR = "recording viewer", "trace editor"
SWITCH_KEYS = {VIEWER: "F6: trace editor", EDITOR: "Shift+F6: recording viewer"}
FRAME_WIDTH = 2


class FocusFrame(QWidget):
    """A border painted over a part of the window; mouse and keys pass through it."""

    def __init__(self, part: QWidget):
        super().__init__(part)
        self.setObjectName(f"{part.objectName()}.focusFrame")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.color = QColor(NEUTRAL)
        part.installEventFilter(self)
        self.setGeometry(part.rect())
        self.raise_()

    def set_color(self, color: str) -> None:
        if QColor(color) != self.color:
            self.color = QColor(color)
            self.update()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.setGeometry(watched.rect())
            self.raise_()
        return False

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        pen = QPen(self.color)
        pen.setWidth(FRAME_WIDTH)
        painter.setPen(pen)
        half = FRAME_WIDTH // 2
        painter.drawRect(self.rect().adjusted(half, half, -half, -half))


class FocusMarker(QObject):
    """Frames the part with the keyboard focus and names it in ``label``."""

    #: The part the keys now go to (a name, or None) changed.
    changed = pyqtSignal(object)

    def __init__(self, parts: dict[str, QWidget], label: QLabel, parent: QObject | None = None):
        super().__init__(parent)
        self.parts = parts
        self.label = label
        self.active: str | None = None
        self.frames = {name: FocusFrame(widget) for name, widget in parts.items()}
        self._show(None)
        self._app = QApplication.instance()
        if self._app is not None:
            self._app.focusChanged.connect(self._focus_changed)
            label.destroyed.connect(self._stop)

    def _stop(self, *_args) -> None:
        """The window is going: focus changes during its teardown must not reach it."""
        try:
            self._app.focusChanged.disconnect(self._focus_changed)
        except (TypeError, RuntimeError):
            pass

    def _alive(self) -> bool:
        return not sip.isdeleted(self.label) and not any(
            sip.isdeleted(w) for w in (*self.parts.values(), *self.frames.values()))

    def part_of(self, widget: QWidget | None) -> str | None:
        while widget is not None:
            for name, part in self.parts.items():
                if widget is part:
                    return name
            widget = widget.parentWidget()
        return None

    def _focus_changed(self, _old, new) -> None:
        if not self._alive():
            self._stop()
            return
        part = self.part_of(new)
        if part is not None or new is None or new.window() is self.label.window():
            self._show(part)

    def _show(self, active: str | None) -> None:
        moved = active != self.active
        self.active = active
        for name, frame in self.frames.items():
            frame.set_color(ACCENT if name == active else NEUTRAL)
        both_shown = sum(w.isVisible() for w in self.parts.values()) > 1
        if active is None:
            self.label.setText("")
        else:
            hint = f" ({SWITCH_KEYS[active]})" if both_shown else ""
            self.label.setText(f"Keys: {active}{hint}")
        self.label.setStyleSheet(f"color: {ACCENT}; font-weight: bold;" if active else "")
        if moved:
            self.changed.emit(active)
