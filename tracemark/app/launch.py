"""Start the GUI: ``launch_gui(args)`` is what ``tracemark [FILE ...] [--demo]`` runs."""

from __future__ import annotations

import sys


def open_windows(args) -> list:
    """One main window per file given (one empty window when none), shown and loaded.

    A file that cannot be opened leaves its window open with a message saying why.
    """
    from .main_window import MainWindow

    paths = list(getattr(args, "files", []) or [])
    if getattr(args, "demo", False):
        from tracemark.demo import ensure_demo_files

        print("tracemark: preparing the demo recording…", file=sys.stderr)
        paths.insert(0, str(ensure_demo_files().trc))
    windows = []
    for offset, path in enumerate(paths or [None]):
        window = MainWindow()
        window.move(window.x() + 30 * offset, window.y() + 30 * offset)
        window.show()
        if path is not None:
            window.open_path(path)
        windows.append(window)
    return windows


def launch_gui(args) -> int:
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Tracemark")
    app.setOrganizationName("Tracemark")
    windows = open_windows(args)  # noqa: F841 (kept alive while the event loop runs)
    return app.exec()
