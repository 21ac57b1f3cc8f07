"""Keep the main window inside the screen it is on.

A window wider than the screen hides its own buttons (the trace editor's Reject started
off-screen on a 1366-px laptop), and a window that grows by itself when a dock or a
montage is shown cannot be resized back. So the window opens at a size taken from the
available screen area, a restored geometry from a larger monitor is brought back inside,
and every widget in it can shrink (the test ``test_window_geometry`` checks the minimum
size at 1366x768 with every dock shown). :func:`fit_to_screen` is called whenever
something may have grown the window: after opening, when a dock is shown, when a montage
changes the rows.
"""

from __future__ import annotations

from PyQt6.QtCore import QRect, QSize
from PyQt6.QtGui import QGuiApplication

#: The window's first size as a fraction of the available screen (and at most this size).
FIRST_FRACTION = 0.92
FIRST_MAX = QSize(1600, 1000)


def available_area(widget) -> QRect:
    """The part of the widget's screen not taken by panels and docks of the desktop."""
    screen = widget.screen() if widget is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1366, 768)


def first_size(widget) -> QSize:
    area = available_area(widget)
    return QSize(min(int(area.width() * FIRST_FRACTION), FIRST_MAX.width()),
                 min(int(area.height() * FIRST_FRACTION), FIRST_MAX.height()))


def fit_to_screen(window) -> None:
    """Shrink and move ``window`` so that its frame lies inside the available screen area."""
    area = available_area(window)
    frame = window.frameGeometry()
    extra_w = frame.width() - window.width()     # window-manager decorations
    extra_h = frame.height() - window.height()
    width = min(window.width(), area.width() - extra_w)
    height = min(window.height(), area.height() - extra_h)
    if (width, height) != (window.width(), window.height()):
        window.resize(max(width, 1), max(height, 1))
    frame = window.frameGeometry()
    x = min(max(frame.x(), area.left()), area.right() + 1 - frame.width())
    y = min(max(frame.y(), area.top()), area.bottom() + 1 - frame.height())
    if (x, y) != (frame.x(), frame.y()):
        window.move(max(x, area.left()), max(y, area.top()))
