"""``tracemark FILE... --snapshot PNG [--screen WxH]``: a picture of the first screen.

It opens the files in a main window exactly as ``tracemark FILE...`` would, on a screen of
the given size (offscreen, unless ``QT_QPA_PLATFORM`` names a real display), waits until
the viewer has drawn its first page to scale (and the trace editor shows a trace when a
cache was given), and saves the window as a PNG. Nothing is pressed first: the picture is
what a person sees on opening. ``docs/make_gallery.py`` makes the gallery with it, and
the first-screen test measures its pictures.

The window's settings and its saved views go to a throwaway folder, so the user's layout,
recent files and sessions are never touched, and no saved view changes the picture.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

DEFAULT_SCREEN = (1920, 1080)
DEFAULT_TIMEOUT_S = 60.0
EXIT_OK = 0
EXIT_FAILED = 1


class SnapshotFailure(Exception):
    """Why no picture was taken (one line, shown as is)."""


def parse_screen(text: str) -> tuple[int, int]:
    """``"1366x768"`` -> ``(1366, 768)``; ValueError naming the expected form."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"screen size must look like 1366x768, got {text!r}") from None
    if not (320 <= width <= 16384 and 240 <= height <= 16384):
        raise ValueError(f"screen size {width}x{height} is out of range")
    return width, height


def use_offscreen_screen(size: tuple[int, int], folder: Path) -> None:
    """Make Qt's offscreen platform present one screen of ``size`` (before QApplication)."""
    config = folder / "screen.json"
    config.write_text(json.dumps({
        "synchronousWindowSystemEvents": False, "windowFrameMargins": True,
        "screens": [{"name": "Snapshot", "x": 0, "y": 0, "width": size[0], "height": size[1],
                     "logicalDpiX": 96, "logicalDpiY": 96, "dpr": 1}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


@contextmanager
def first_screen(paths: Sequence[str | os.PathLike], size: tuple[int, int] = DEFAULT_SCREEN,
                 timeout_s: float = DEFAULT_TIMEOUT_S):
    """A main window showing ``paths`` on a ``size`` screen, once its first page is drawn.

    Yields the window; closes it afterwards. Raises :class:`SnapshotFailure` when the
    files cannot be shown (the error dialog's text says why) or at the timeout.
    """
    scratch = Path(tempfile.mkdtemp(prefix="tracemark-snapshot-"))
    try:
        if not os.environ.get("QT_QPA_PLATFORM"):
            use_offscreen_screen(size, scratch)
        from PyQt6.QtCore import QSettings
        from PyQt6.QtWidgets import QApplication

        from .main_window import MainWindow
        from .session_store import SessionStore
        from .settings import Settings

        app = QApplication.instance() or QApplication(sys.argv[:1])
        settings = Settings(QSettings(str(scratch / "snapshot.conf"), QSettings.Format.IniFormat))
        window = MainWindow(settings=settings)
        # No saved view is restored, and none is saved: the picture is a first opening.
        window.sessions.store = SessionStore(scratch / "sessions")
        try:
            window.show()
            if not window.opener.open_paths(list(paths)):
                raise SnapshotFailure(_error_text(window) or "the files could not be opened")
            _wait_first_page(app, window, timeout_s)
            yield window
        finally:
            window.close()
            app.processEvents()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _wait_first_page(app, window, timeout_s: float) -> None:
    from tracemark.paging.request import ORIGIN_PENDING

    deadline = time.monotonic() + timeout_s

    def ready() -> bool:
        viewer = window.viewer
        result = viewer.last_result
        page = viewer.source is None or (viewer.page_is_current()
                                         and (result is None or result.origin != ORIGIN_PENDING))
        session = window.session
        trace = session is None or (len(session.rows) == len(session)
                                    and window.editor.current_index is not None)
        return page and trace and (viewer.source is not None or session is not None)

    while not ready():
        error = _error_text(window)
        if error:
            raise SnapshotFailure(error)
        if time.monotonic() > deadline:
            raise SnapshotFailure(f"the first page was not drawn within {timeout_s:g} s")
        app.processEvents()
        time.sleep(0.01)
    for _ in range(5):          # let the last layout and paint settle
        app.processEvents()
        time.sleep(0.02)


def _error_text(window) -> str:
    box = window.last_error_box
    return box.text() if box is not None and box.isVisible() else ""


def take_snapshot(paths: Sequence[str | os.PathLike], picture: str | os.PathLike,
                  size: tuple[int, int] = DEFAULT_SCREEN, timeout_s: float = DEFAULT_TIMEOUT_S) -> int:
    """Save the first screen of ``paths`` to ``picture``; the process's exit code."""
    picture = Path(picture)
    if picture.suffix.lower() != ".png":
        print(f"tracemark: error: the snapshot is saved as PNG; {picture} does not end in .png",
              file=sys.stderr)
        return EXIT_FAILED
    try:
        with first_screen(paths, size, timeout_s) as window:
            picture.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(picture)):
                raise SnapshotFailure(f"could not write {picture}")
            shown = window.windowTitle()
    except SnapshotFailure as failure:
        print(f"tracemark: error: no snapshot: {failure}", file=sys.stderr)
        return EXIT_FAILED
    print(f"tracemark: saved {picture} ({shown})")
    return EXIT_OK
