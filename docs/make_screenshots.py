"""Make the README's pictures of the main window: the demo after a few decisions by keyboard,
without and with the Average and Recruitment docks.

Run from the repository root (it works on a copy of the demo, offscreen, on a 1920x1080
screen):

    .venv/bin/python docs/make_screenshots.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
#: Keys pressed in the trace editor, in order (A accept, R reject, E estimate peaks).
DECISIONS = "EAEAREAEAEAEAREAE"


def main() -> int:
    from tracemark.app.snapshot import first_screen, use_offscreen_screen

    scratch = Path(tempfile.mkdtemp(prefix="tracemark-screenshots-"))
    try:
        use_offscreen_screen((1920, 1080), scratch)
        from tracemark.app.plot_data import build_demo_cache

        cache = build_demo_cache(scratch)  # names the recording beside it as its source
        recording = next(p for p in scratch.iterdir() if p.suffix == ".TRC")
        with first_screen([recording, cache], (1920, 1080)) as window:
            decide(window)
            save(window, IMAGES / "main-window.png")
            for name in ("average", "recruitment"):
                window.plots.docks[name].show()
            settle(window, 1.5)
            save(window, IMAGES / "main-window-plots.png")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def decide(window) -> None:
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    target = window.editor.plot.plot_widget
    target.setFocus()
    for letter in DECISIONS:
        QTest.keyClick(target, getattr(Qt.Key, f"Key_{letter}"))
        settle(window, 0.05)
    settle(window, 1.0)


def settle(window, seconds: float) -> None:
    from PyQt6.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def save(window, path: Path) -> None:
    if not window.grab().save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
