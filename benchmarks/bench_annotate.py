"""Annotation speed in the real main window on a 10,000-trace cache.

Measures, by driving the window with QTest key events exactly as a person's keyboard would:

* next-trace display latency: from the key press (N) until the next trace is drawn
  (the key handled, the trace read from the cache, the editor and the viewer updated,
  and the event loop has painted), median and 95th percentile; goal <= 30 ms;
* decision latency: the same for A / R, which also writes one durable transaction
  (journal append + fdatasync) before moving on;
* keystrokes per accept/reject decision, counted from keys pressed and decisions found
  in the cache's journal afterwards; goal 1;
* opening: the cache on its worker, and the table of 10,000 rows loaded off the GUI thread.

Run: ``.venv/bin/python benchmarks/bench_annotate.py [--traces 10000] [--presses 300]``
(offscreen; the cache is built once into a temporary folder, ~20 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# testkit/ (test-only, never installed) sits at the repository root, beside the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def build(path: Path, n_traces: int) -> Path:
    from testkit.cache import synthetic_recording
    from tracemark.io_backends.cache import BuildSpec, build_cache

    recording = synthetic_recording(n_traces, rate=2000.0, n_channels=2, spacing_s=0.2, name="bench.trc")
    return build_cache(recording, path, BuildSpec("TMS", 0.05, 0.1, readout="contralateral_mep"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(round(q * (len(ordered) - 1))), len(ordered) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--presses", type=int, default=300)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tracemark-bench-annotate-"))
    os.environ["XDG_CONFIG_HOME"] = str(folder / "config")
    os.environ["XDG_DATA_HOME"] = str(folder / "data")
    started = time.perf_counter()
    cache_path = build(folder / "bench.hdf5", args.traces)
    print(f"built {args.traces} traces in {time.perf_counter() - started:.1f} s")

    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest
    from PyQt6.QtWidgets import QApplication

    from tracemark.app.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    window = MainWindow()
    window.resize(1600, 950)
    window.show()
    window.activateWindow()
    opened = time.perf_counter()
    window.opener.open_paths([cache_path])
    gui_stalls = []
    while window.session is None or len(window.session.rows) != args.traces:
        tick = time.perf_counter()
        app.processEvents()
        gui_stalls.append(time.perf_counter() - tick)
        time.sleep(0.002)
    load_s = time.perf_counter() - opened
    print(f"open + table of {args.traces} rows loaded off the GUI thread: {load_s:.2f} s "
          f"(longest GUI-thread turn meanwhile {max(gui_stalls) * 1000:.0f} ms)")
    editor = window.editor
    target = editor.plot.plot_widget
    target.setFocus()

    def timed_press(key) -> float:
        before = editor.current_index
        tick = time.perf_counter()
        QTest.keyClick(target, key)
        app.processEvents()   # the paint of the new trace
        elapsed = time.perf_counter() - tick
        assert editor.current_index != before, "the key did not move to another trace"
        return elapsed

    for _ in range(20):   # warm-up
        timed_press(Qt.Key.Key_N)
    nexts = [timed_press(Qt.Key.Key_N) for _ in range(args.presses)]
    report("next trace (N)", nexts)
    history_before = len(window.session.cache.history())
    keys = 0
    decisions = []
    for step in range(args.presses):
        decisions.append(timed_press(Qt.Key.Key_R if step % 4 == 3 else Qt.Key.Key_A))
        keys += 1
    report("decision (A/R), durable write + next unreviewed", decisions)
    recorded = len(window.session.cache.history()) - history_before
    print(f"keystrokes per decision: {keys / recorded:.2f} ({keys} keys, {recorded} decisions "
          f"in the journal; goal 1)")
    window.close()
    demo_with_viewer(app, folder, args.presses)
    return 0


def demo_with_viewer(app, folder: Path, presses: int) -> None:
    """The same next-trace measure on the demo session with its recording open beside the
    traces: each move also re-centres the continuous viewer (its page is read on the
    viewer's worker and drawn when ready, which this figure includes only when it lands
    within the same turn of the event loop)."""
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    from tracemark.app.demo_session import ensure_demo_session
    from tracemark.app.main_window import MainWindow

    demo = ensure_demo_session(folder / "demo")
    window = MainWindow()
    window.resize(1600, 950)
    window.show()
    window.opener.open_paths([demo.recording, demo.cache])
    while window.session is None or len(window.session.rows) != len(window.session):
        app.processEvents()
        time.sleep(0.002)
    editor = window.editor
    target = editor.plot.plot_widget
    target.setFocus()
    samples, followed = [], []
    highlight = lambda: window.viewer.plot.highlights().get("current-trace")  # noqa: E731
    for step in range(presses):
        key = Qt.Key.Key_N if (step // 30) % 2 == 0 else Qt.Key.Key_P
        before = highlight()
        tick = time.perf_counter()
        QTest.keyClick(target, key)
        app.processEvents()
        samples.append(time.perf_counter() - tick)
        # The continuous viewer follows on the next turn of the event loop: time until it
        # shows the new trace's window (its page itself lands from the viewer's worker).
        deadline = tick + 1.0
        while highlight() == before and time.perf_counter() < deadline:
            app.processEvents()
        followed.append(time.perf_counter() - tick)
        deadline = time.perf_counter() + 0.2   # let the viewer's page land before the next key
        while time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.002)
    report("next trace with the recording beside it (demo, N/P): editor shows it", samples)
    report("  ... and the continuous viewer has moved to it", followed)
    window.close()


def report(label: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(f"{label}: median {statistics.median(ms):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, "
          f"max {max(ms):.1f} ms over {len(ms)} presses (goal <= 30 ms)")


if __name__ == "__main__":
    sys.exit(main())
