"""Start the GUI: ``launch_gui(args)`` is what ``tracemark [FILE ...] [--demo]`` runs."""

from __future__ import annotations

import sys


def launch_gui(args) -> int:
    from PyQt6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Tracemark")
    app.setOrganizationName("Tracemark")
    windows = []
    paths = list(getattr(args, "files", []) or [])
    if getattr(args, "demo", False):
        from tracemark.demo import ensure_demo_files

        print("tracemark: preparing the demo recording…", file=sys.stderr)
        paths.insert(0, str(ensure_demo_files().trc))
    for path in paths or [None]:
        window = MainWindow()
        window.show()
        if path is not None:
            window.open_path(path)
        windows.append(window)
    app._tracemark_windows = windows  # keep them alive while the loop runs
    return app.exec()
