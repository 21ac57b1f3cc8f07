"""Opening a Tracemark main window on files and waiting until it is ready to be driven,
for pytest-qt suites (the ``tracemark_window`` fixture) and scripts alike.

Only public widget names are used (``docs/ui-automation.md``), so a suite written against
this driver keeps working when the window's insides change.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

#: Milliseconds to wait for a cache's table or a recording's first page.
DEFAULT_TIMEOUT_MS = 20000


class TracemarkDriver:
    """A thin handle on one main window: the window, its named parts and waits."""

    def __init__(self, window, qtbot):
        self.window = window
        self.qtbot = qtbot
        self._answering: tuple | None = None

    def find(self, object_name: str):
        """The child widget with this objectName (see docs/ui-automation.md); KeyError if none."""
        from PyQt6.QtWidgets import QWidget

        found = self.window.findChild(QWidget, object_name)
        if found is None:
            raise KeyError(f"no widget named {object_name!r} in the Tracemark window")
        return found

    @property
    def editor(self):
        return self.window.editor

    @property
    def viewer(self):
        return self.window.viewer

    @property
    def session(self):
        return self.window.session

    def wait_ready(self, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Until the open cache's table is loaded and a trace is on screen."""
        def ready() -> bool:
            session = self.window.session
            return (session is not None and len(session.rows) == len(session)
                    and self.window.editor.current_index is not None)

        self.qtbot.waitUntil(ready, timeout=timeout_ms)

    def key(self, key, modifier=None, widget=None) -> None:
        """Press ``key`` (a Qt.Key) in the trace editor (or ``widget``) as a person would."""
        from PyQt6.QtCore import Qt

        target = widget or self.window.editor.plot.plot_widget
        if not target.hasFocus():
            target.setFocus()
        self.qtbot.keyClick(target, key, modifier or Qt.KeyboardModifier.NoModifier)

    def answer_next_dialog(self, respond: Callable) -> None:
        """Call ``respond(dialog)`` on the next modal dialog that opens (looked for every
        10 ms by a timer that belongs to the window, so it ends with the window)."""
        from PyQt6.QtCore import QTimer
        from PyQt6.QtWidgets import QApplication

        timer = QTimer(self.window)
        timer.setInterval(10)

        def attempt():
            dialog = QApplication.activeModalWidget()
            if dialog is not None:
                timer.stop()
                timer.deleteLater()
                respond(dialog)

        timer.timeout.connect(attempt)
        # Held by the driver: a callable only Qt refers to could be cleared by Python's
        # collector while its timer still runs.
        self._answering = (timer, attempt)
        timer.start()


def open_tracemark_window(qtbot, *paths: str | os.PathLike, wait: bool = True,
                          timeout_ms: int = DEFAULT_TIMEOUT_MS) -> TracemarkDriver:
    """A shown main window with ``paths`` (recordings and/or one cache) open; with ``wait``
    returns once a cache's traces are loaded (or a recording's first page is drawn)."""
    from tracemark.app.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    driver = TracemarkDriver(window, qtbot)
    if paths:
        window.opener.open_paths([Path(p) for p in paths])
        if wait:
            from tracemark.app.opening import looks_like_cache

            if any(looks_like_cache(Path(p)) for p in paths):
                driver.wait_ready(timeout_ms)
            else:
                qtbot.waitUntil(lambda: window.viewer.last_result is not None, timeout=timeout_ms)
    return driver
