"""Shows which part of the window the keys go to: the recording viewer or the trace editor.

The two parts have different keys (PgDown pages the recording; A accepts a trace), so a
person must see at a glance where a key press will land. The part holding the keyboard
focus gets an accent frame, the other a neutral one of the same width (nothing moves when
the focus changes), and the status bar says "Keys: recording viewer (F6: trace editor)".
"""

from __future__ import annotations

from PyQt6 import sip
from PyQt6.QtCore import QObject, Qt
from PyQt6.QtWidgets import QApplication, QLabel, QWidget

ACCENT = "#1a73e8"
NEUTRAL = "#d5d8dd"
VIEWER, EDITOR = "recording viewer", "trace editor"
SWITCH_KEYS = {VIEWER: "F6: trace editor", EDITOR: "Shift+F6: recording viewer"}


class FocusMarker(QObject):
    """Frames the part with the keyboard focus and names it in ``label``."""

    def __init__(self, parts: dict[str, QWidget], label: QLabel, parent: QObject | None = None):
        super().__init__(parent)
        self.parts = parts
        self.label = label
        self.active: str | None = None
        for widget in parts.values():
            widget.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
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
        return not sip.isdeleted(self.label) and not any(sip.isdeleted(w) for w in self.parts.values())

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
        self.active = active
        for name, widget in self.parts.items():
            color = ACCENT if name == active else NEUTRAL
            widget.setStyleSheet(f"#{widget.objectName()} {{ border: 2px solid {color}; }}")
        both_shown = sum(w.isVisible() for w in self.parts.values()) > 1
        if active is None:
            self.label.setText("")
        else:
            hint = f" ({SWITCH_KEYS[active]})" if both_shown else ""
            self.label.setText(f"Keys: {active}{hint}")
        self.label.setStyleSheet(f"color: {ACCENT}; font-weight: bold;" if active else "")
