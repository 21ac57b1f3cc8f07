"""A picture of the reading tools on a real recording: cursors A and B with their
measurements, the power spectrum of the span between them, and its time-frequency view.

Run by ``docs/make_gallery.py`` in a child process (the offscreen screen's size is fixed
per process):

    python docs/reading_tools_snapshot.py RECORDING OUT.png --screen 1920x1080 \\
        --cursors 12.0 14.0 [--stop-after 30]

It opens the recording as ``tracemark RECORDING --snapshot`` does (its own throwaway
settings and sessions), places the cursors through the viewer's measurement commands,
opens the two spectrum docks through their actions, waits until every readout and both
docks have drawn, and saves the window.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def wait(app, ready, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        app.processEvents()
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording")
    parser.add_argument("out", type=Path)
    parser.add_argument("--screen", default="1920x1080")
    parser.add_argument("--cursors", nargs=2, type=float, default=(2.0, 4.0))
    args = parser.parse_args()

    from tracemark.app.snapshot import first_screen, parse_screen

    with first_screen([args.recording], parse_screen(args.screen)) as window:
        from PyQt6.QtWidgets import QApplication

        from tracemark.widgets.viewer.cursors import CURSOR_A, CURSOR_B

        app = QApplication.instance()
        viewer = window.viewer
        viewer.measure.place_at(CURSOR_A, args.cursors[0])
        viewer.measure.place_at(CURSOR_B, args.cursors[1])
        for name in ("toggle_spectrum", "toggle_spectrogram"):
            window.spectrum.actions[name].trigger()
        wait(app, lambda: not viewer.measure.readout_pending(), 30, "the cursor readout")
        wait(app, lambda: all(window.spectrum.settled(kind) for kind in window.spectrum.docks),
             60, "the spectrum docks")
        app.processEvents()
        window.grab().save(str(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
