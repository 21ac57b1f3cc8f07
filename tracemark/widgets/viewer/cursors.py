"""The two measurement cursors, as a small model the viewer, the spectrum and export share.

Cursor A and cursor B are times (seconds on the recording's axis) or unset. Together they
define the *measurement span*, the stretch a person measures, whose spectrum is read and
which is exported as a segment. The model only clamps, remembers which cursor the keys
move (the *active* one) and signals; drawing lives in :mod:`.cursor_layer`, readouts and
keys in :mod:`.measure`.
"""

from __future__ import annotations

from PyQt6.QtCore import QObject, pyqtSignal

__all__ = ["CURSOR_A", "CURSOR_B", "MeasurementCursors"]

CURSOR_A = 0
CURSOR_B = 1


class MeasurementCursors(QObject):
    """Cursor A and B positions in seconds (``None`` when a cursor is not placed)."""

    changed = pyqtSignal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._positions: list[float | None] = [None, None]
        self._duration_s: float | None = None
        self._active = CURSOR_A

    def set_duration(self, duration_s: float | None) -> None:
        """Bound cursors to ``[0, duration_s]``; a new recording clears them."""
        self._duration_s = duration_s
        self.clear()

    def positions(self) -> tuple[float | None, float | None]:
        return self._positions[CURSOR_A], self._positions[CURSOR_B]

    def place(self, which: int, time_s: float | None) -> None:
        """Put cursor ``which`` (CURSOR_A or CURSOR_B) at ``time_s`` (None removes it)."""
        if time_s is not None:
            time_s = max(0.0, float(time_s))
            if self._duration_s is not None:
                time_s = min(time_s, self._duration_s)
        activated = time_s is not None and which != self._active
        if activated:
            self._active = which
        if self._positions[which] == time_s and not activated:
            return
        self._positions[which] = time_s
        self.changed.emit()

    @property
    def active(self) -> int:
        """The cursor the keys move: the one placed or dragged last."""
        return self._active

    def set_active(self, which: int) -> None:
        if which != self._active:
            self._active = which
            self.changed.emit()

    def move(self, which: int, seconds: float) -> None:
        """Move a placed cursor by ``seconds`` (an unplaced one stays unplaced)."""
        time_s = self._positions[which]
        if time_s is not None:
            self.place(which, time_s + seconds)

    def clear(self) -> None:
        if self._positions == [None, None]:
            return
        self._positions = [None, None]
        self.changed.emit()

    def span(self) -> tuple[float, float] | None:
        """The measurement span (start, stop) with start < stop, or None unless both are set
        at different times."""
        a, b = self._positions
        if a is None or b is None or a == b:
            return None
        return (a, b) if a < b else (b, a)
