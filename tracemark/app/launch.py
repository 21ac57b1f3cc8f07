"""Start the GUI: ``launch_gui(args)`` is what ``tracemark [FILE ...] [--demo]`` runs.

``tracemark REC`` views a recording; ``tracemark CACHE.hdf5`` reviews a trace cache (and
opens its source recording beside it when found); ``tracemark REC CACHE`` opens both;
``tracemark --demo`` opens the demo recording and its cache (built on first use) with a
short hint of the main keys. ``tracemark CACHE --rater NAME`` rates the cache as NAME, one of
several raters (:mod:`.rater_session`).
"""

from __future__ import annotations

import sys
from pathlib import Path


def open_windows(args) -> list:
    """The windows for ``args``, shown and loading: one window holding a cache (or the demo)
    with the recordings given beside it; otherwise one window per recording (one empty
    window when nothing is given). A file that cannot be opened leaves its window open
    with a message saying why."""
    from .main_window import MainWindow
    from .opening import looks_like_cache

    paths = list(getattr(args, "files", []) or [])
    demo = bool(getattr(args, "demo", False))
    rater = (getattr(args, "rater", None) or "").strip() or None
    if demo:
        from .demo_session import ensure_demo_session

        print("tracemark: preparing the demo…", file=sys.stderr)
        session = ensure_demo_session()
        paths = [str(session.recording), str(session.cache)] + paths
    together = demo or any(looks_like_cache(Path(p)) for p in paths if Path(p).exists())
    groups = [paths] if together else [[p] for p in paths] or [[]]
    windows = []
    for offset, group in enumerate(groups):
        window = MainWindow()
        window.move(window.x() + 30 * offset, window.y() + 30 * offset)
        if rater is not None:   # --rater NAME: rate as NAME, now and by default next time
            window.settings.set_rater(rater)
            window.opener.rater = rater
        window.show()
        if demo:
            window.show_hint()
        if group:
            window.opener.open_paths(group)
        windows.append(window)
    return windows


def launch_gui(args) -> int:
    from PyQt6.QtWidgets import QApplication

    from .settings import APPLICATION, ORGANISATION

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APPLICATION)
    app.setOrganizationName(ORGANISATION)
    app.setDesktopFileName("tracemark")
    windows = open_windows(args)   # kept alive while the event loop runs
    code = app.exec()
    from tracemark.widgets.gui_gc import delete_before_exit

    from .main_window import EXTRA_WINDOWS

    delete_before_exit([*windows, *EXTRA_WINDOWS])   # before the application goes
    return code
