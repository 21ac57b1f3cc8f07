"""How the viewer feels while a person pages, measured against a lean viewer in the same run.

The protocol (issue "Page at the drawing floor"): a 1-hour, 64-channel, 2048 Hz int16 TRC,
10-s pages, 200 µV per row, all 64 rows shown, a 1600x1000 window, offscreen. Each viewer
runs in a fresh child process, timed from that process's start, and does the same things:

* **first frame**: process start (interpreter, imports) to the first painted page, with
  Tracemark's modules byte-compiled as an installed package's are;
* **back to back**: 50 PageDowns, each pressed as soon as the previous page is painted,
  right after opening (Tracemark's overview summary is still being built meanwhile, as it
  is for a person); time from the command to the paint that shows the page;
* **held key**: PageDown auto-repeating at 30 per second for 3 s; the latency from each
  press to the paint that shows its page (or a later one), and how many frames showed a
  page that did not match the axis (a blank or stale frame);
* **zoom**: to 300 s and to the whole hour, right after paging (summary maybe unfinished),
  and for Tracemark again once its summary is complete; the first frame showing the new
  range, and (right after paging) the first showing it with exact min/max, as Tracemark
  draws a long window from samples first while its summary is missing;
* **peak RSS** (VmHWM) of the process.

The *lean reference* is written here: it slices a ``numpy.memmap`` of the file, takes the
min/max per pixel column in numpy and calls ``setData`` on 64 ``PlotCurveItem``s, with no
thread and no cache. Every Tracemark figure is printed with its ratio to the reference.
Goals (ratios): page median and p95 <= 1.1x; zoom <= 1.0x at any moment after open; first
frame <= 1.5x; peak RSS <= 300 MB. ``--hours 24`` adds the 24-hour file for memory.

    python benchmarks/bench_viewer.py [--hours 1] [--rounds 2] [--pages 50]
                                      [--folder /tmp/tracemark-viewer-bench] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

RATE = 2048
N_CHANNELS = 64
TILE_S = 60
GAIN_UV = 6400 / 65536  # the TRC writer's 2-byte code step for a -3200..3200 uV range
SPAN_S = 10.0
UV_PER_ROW = 200.0
WINDOW = (1600, 1000)
HELD_RATE_HZ = 30.0
HELD_SECONDS = 3.0


def seconds_since_process_start() -> float:
    # As tracemark.app.smoke measures it, written again here: the lean child must not
    # import Tracemark, or its first frame would carry Tracemark's imports.
    with open("/proc/self/stat", encoding="ascii") as handle:
        stat = handle.read()
    with open("/proc/uptime", encoding="ascii") as handle:
        uptime = float(handle.read().split()[0])
    start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


# -- the recording ----------------------------------------------------------------------------

def generate(path: Path, hours: float) -> None:
    """One minute of the synthetic session, quantised once and repeated (rotated)."""
    from tracemark.demo.synth import benchmark_session
    from tracemark.demo.trc_writer import TrcChannel, write_trc_frames

    session = benchmark_session(TILE_S, n_channels=N_CHANNELS, sampling_rate=float(RATE))
    tile = np.concatenate(list(session.chunks()), axis=0)
    codes = (np.clip(np.rint(tile / GAIN_UV), -32768, 32767) + 32768).astype(np.uint16)
    n_samples = int(hours * 3600 * RATE)
    rng = np.random.default_rng(3)

    def tiles():
        written = 0
        while written < n_samples:
            block = np.roll(codes, int(rng.integers(0, len(codes))), axis=0)
            take = min(len(block), n_samples - written)
            yield block[:take]
            written += take

    every = 5 if hours <= 1 else 15  # a TRC trigger zone holds 8192 records
    channels = [TrcChannel(name, "uV", (-3200, 3200), 2) for name in session.channel_names]
    write_trc_frames(path, channels, RATE, tiles(), n_frames=n_samples,
                     start_datetime=datetime(2024, 5, 14, 8, 0, 0),
                     triggers=[(s, 1) for s in range(RATE * 3, n_samples, RATE * every)])


# -- measuring frames -------------------------------------------------------------------------

class Frames:
    """Records the paints of a plot's viewport: when, whether the data drawn match the axis
    (else the frame is blank or stale), and the start of the time range on screen."""

    def __init__(self, viewport, viewer):
        from PyQt6.QtCore import QEvent, QObject

        self.paints: list[tuple[float, bool]] = []   # (time, whether the data match the axis)
        self.ranges: list[tuple[float, float] | None] = []   # the time range painted, if matching
        self.exact: list[bool] = []    # the data painted are exact min/max, not an approximation
        frames = self

        class Filter(QObject):
            def eventFilter(self, watched, event):  # noqa: N802
                if event.type() == QEvent.Type.Paint:
                    matches = viewer.axis_matches_data()
                    frames.paints.append((time.perf_counter(), matches))
                    frames.ranges.append(viewer.shown_range() if matches else None)
                    frames.exact.append(matches and viewer.exact())
                return False

        self._filter = Filter(viewport)
        viewport.installEventFilter(self._filter)


def pump(app, until, timeout: float = 120.0) -> None:
    end = time.perf_counter() + timeout
    while not until():
        app.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError("the viewer did not show the page")
        time.sleep(0.0002)


class MemoryWatch:
    @staticmethod
    def peak_mb() -> float:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0


# -- the two viewers, behind one small interface ---------------------------------------------

class LeanViewer:
    """The simplest viewer that does the job: memmap slice, numpy min/max, setData."""

    def __init__(self, path: Path, data_start: int, n_channels: int, rate: float, duration_s: float):
        import pyqtgraph as pg

        self.raw = np.memmap(path, dtype=np.uint16, mode="r", offset=data_start).reshape(-1, n_channels)
        self.rate, self.duration_s = rate, duration_s
        self.widget = pg.PlotWidget(background="w")
        self.widget.resize(*WINDOW)
        self.widget.setMouseEnabled(False, False)
        self.widget.hideButtons()
        self.curves = [pg.PlotCurveItem(pen=pg.mkPen((12, 22, 48), width=1)) for _ in range(n_channels)]
        for curve in self.curves:
            self.widget.addItem(curve)
        self.widget.setYRange(-n_channels + 0.5, 0.5, padding=0)
        self.start_s = 0.0
        self.span_s = SPAN_S
        self.shown = (0.0, 0.0)
        self.widget.show()

    def viewport(self):
        return self.widget.viewport()

    def show_range(self, start_s: float, stop_s: float) -> None:
        self.start_s, self.span_s = start_s, stop_s - start_s
        i0, i1 = int(start_s * self.rate), int(stop_s * self.rate)
        block = self.raw[i0:i1]
        factor = max(len(block) // WINDOW[0], 1)
        n = len(block) // factor * factor
        bins = block[:n].reshape(-1, factor, block.shape[1])
        low, high = bins.min(axis=1), bins.max(axis=1)
        y = np.empty((2 * len(low), block.shape[1]), dtype=np.float32)
        y[0::2], y[1::2] = low, high
        y = (y - 32768.0) * np.float32(GAIN_UV / UV_PER_ROW)
        x = start_s + np.repeat(np.arange(len(low)) * factor, 2) / self.rate
        for k, curve in enumerate(self.curves):
            curve.setData(x, y[:, k] - k)
        self.widget.setXRange(start_s, stop_s, padding=0)
        self.shown = (start_s, stop_s)

    def page_forward(self) -> None:
        start = min(self.start_s + self.span_s, self.duration_s - self.span_s)
        self.show_range(start, start + self.span_s)

    def showing(self, start_s: float, stop_s: float) -> bool:
        return abs(self.shown[0] - start_s) < 1e-6 and abs(self.shown[1] - stop_s) < 1e-6

    def axis_matches_data(self) -> bool:
        return True   # synchronous: the axis never moves without its data

    def shown_range(self) -> tuple[float, float]:
        return self.shown

    def exact(self) -> bool:
        return True

    def summary_ready(self) -> bool:
        return True


class TracemarkViewer:
    """Tracemark's main window on the recording, as a person opens it."""

    def __init__(self, path: Path):
        from tracemark.app.main_window import MainWindow

        self.window = MainWindow()
        self.window.resize(*WINDOW)
        self.window.show()
        if not self.window.open_path(path):
            raise RuntimeError(self.window.last_error_box.text())
        self.viewer = self.window.viewer
        channels = self.viewer.model.channels
        channels.set_per_page(len(channels.order))
        self.duration_s = self.viewer.model.window.duration_s

    def set_scale(self) -> None:
        plot = self.viewer.plot
        self.viewer.model.channels.set_sensitivity(UV_PER_ROW * plot.pixels_per_mm / plot.row_pixels(), "eeg")

    def viewport(self):
        return self.viewer.plot.viewport()

    def show_range(self, start_s: float, stop_s: float) -> None:
        self.viewer.model.window.show_range(start_s, stop_s)

    def page_forward(self) -> None:
        self.viewer.actions["page_forward"].trigger()

    def showing(self, start_s: float, stop_s: float) -> bool:
        viewer = self.viewer
        result = viewer.last_result
        if result is None or not viewer.page_is_current():
            return False
        x0, x1 = viewer.plot.x_range()
        return abs(x0 - start_s) < 1e-6 and abs(x1 - stop_s) < 1e-6 and result.origin != "pending"

    def axis_matches_data(self) -> bool:
        viewer = self.viewer
        result = viewer.last_result
        if result is None or result.origin == "pending":
            return False
        rate = viewer.source.sampling_rate
        x0, x1 = viewer.plot.x_range()
        return result.request.i_start / rate <= x0 + 1e-6 and x1 <= result.request.i_stop / rate + 1e-6

    def shown_range(self) -> tuple[float, float]:
        return tuple(self.viewer.plot.x_range())

    def exact(self) -> bool:
        result = self.viewer.last_result
        return result is not None and result.origin not in ("sampled", "pending")

    def summary_ready(self) -> bool:
        return self.viewer.overview.has_summary


# -- the protocol, run in a child process ------------------------------------------------------

def run_protocol(kind: str, path: Path, pages: int, data_start: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    cache_home = tempfile.mkdtemp(prefix="tracemark-bench-cache-")
    os.environ["XDG_CACHE_HOME"] = cache_home   # a fresh summary cache: the open builds it
    os.environ["XDG_CONFIG_HOME"] = cache_home
    os.environ["XDG_DATA_HOME"] = cache_home     # no saved session: the first open a person sees
    from PyQt6.QtWidgets import QApplication

    app = QApplication([])
    if kind == "lean":
        import pyqtgraph  # noqa: F401
    else:
        import tracemark.app.main_window  # noqa: F401
    out: dict = {"kind": kind, "imports_s": seconds_since_process_start()}
    try:
        duration = os.path.getsize(path) and (os.path.getsize(path) - data_start) / (2 * N_CHANNELS) / RATE
        viewer = (LeanViewer(path, data_start, N_CHANNELS, RATE, duration) if kind == "lean"
                  else TracemarkViewer(path))
        frames = Frames(viewer.viewport(), viewer)
        if kind == "lean":
            viewer.show_range(0.0, SPAN_S)
        else:
            viewer.set_scale()
        pump(app, lambda: any(_same_range(shown, (0.0, SPAN_S)) for shown in frames.ranges))
        painted_at = next(when for (when, _ok), shown in zip(frames.paints, frames.ranges)
                          if _same_range(shown, (0.0, SPAN_S)))
        out["first_frame_s"] = seconds_since_process_start() - (time.perf_counter() - painted_at)
        out["back_to_back_ms"] = back_to_back(app, viewer, frames, pages)
        out.update(held_key(app, viewer, frames))
        out["summary_ready_after_paging"] = viewer.summary_ready()
        out["zoom_300_ms"], out["zoom_300_exact_ms"] = zoom(app, viewer, frames, 600.0, 900.0)
        out["zoom_hour_ms"], out["zoom_hour_exact_ms"] = zoom(
            app, viewer, frames, 0.0, min(3600.0, viewer.duration_s))
        if kind != "lean":
            pump(app, viewer.summary_ready, timeout=600)
            out["zoom_300_ready_ms"], _ = zoom(app, viewer, frames, 1200.0, 1500.0)
            out["zoom_hour_ready_ms"], _ = zoom(app, viewer, frames, 0.0, min(3600.0, viewer.duration_s))
        out["peak_rss_mb"] = MemoryWatch.peak_mb()
    finally:
        shutil.rmtree(cache_home, ignore_errors=True)
    return out


def show_and_time(app, viewer, frames, command, start_s: float, stop_s: float) -> float:
    """Milliseconds from ``command`` to the first paint that shows [start_s, stop_s) with
    its data (a paint of the old page meanwhile does not count)."""
    first = len(frames.paints)
    began = time.perf_counter()
    command()

    def painted() -> int | None:
        return next((i for i in range(first, len(frames.paints))
                     if _same_range(frames.ranges[i], (start_s, stop_s))), None)

    pump(app, lambda: painted() is not None)
    return (frames.paints[painted()][0] - began) * 1e3


def _same_range(shown: tuple[float, float] | None, wanted: tuple[float, float]) -> bool:
    return shown is not None and abs(shown[0] - wanted[0]) < 1e-6 and abs(shown[1] - wanted[1]) < 1e-6


def back_to_back(app, viewer, frames, pages: int) -> list[float]:
    times = []
    start = 0.0
    for _ in range(pages):
        start += SPAN_S
        times.append(show_and_time(app, viewer, frames, viewer.page_forward, start, start + SPAN_S))
    return times


def held_key(app, viewer, frames) -> dict:
    """PageDown auto-repeating: latency from each press to the first frame showing its page
    or a later one, and frames whose data did not match their axis."""
    from PyQt6.QtCore import QTimer

    presses: list[tuple[float, float]] = []   # (time, page start)
    start = [viewer.duration_s / 2 - 100.0]
    viewer.show_range(start[0], start[0] + SPAN_S)
    pump(app, lambda: viewer.showing(start[0], start[0] + SPAN_S))
    first_paint = len(frames.paints)
    total = int(HELD_RATE_HZ * HELD_SECONDS)

    def press():
        start[0] += SPAN_S
        presses.append((time.perf_counter(), start[0]))
        viewer.page_forward()
        if len(presses) == total:
            timer.stop()

    timer = QTimer()
    timer.timeout.connect(press)
    timer.start(int(1000 / HELD_RATE_HZ))
    pump(app, lambda: len(presses) == total and viewer.showing(start[0], start[0] + SPAN_S))
    settle_end = time.perf_counter() + 0.2
    pump(app, lambda: time.perf_counter() > settle_end)
    paints = frames.paints[first_paint:]
    starts = [shown[0] if shown else None for shown in frames.ranges[first_paint:]]
    latencies = []
    for pressed_at, page in presses:
        # The first frame at or after the press that shows its page or a later one: a held
        # key may skip pages; what counts is how far behind the screen runs.
        shown = next((when for (when, _ok), start in zip(paints, starts)
                      if when >= pressed_at and start is not None and start >= page - 1e-6), None)
        if shown is not None:
            latencies.append((shown - pressed_at) * 1e3)
    return {"held_latency_ms": latencies, "held_presses": total,
            "held_frames": len(paints), "held_stale_frames": sum(1 for _, ok in paints if not ok)}


def zoom(app, viewer, frames, start_s: float, stop_s: float) -> tuple[float, float]:
    """Milliseconds from the command to the first frame showing [start_s, stop_s), and to
    the first showing it with exact min/max (the same frame unless the first was drawn from
    samples while the summary is missing)."""
    first = len(frames.paints)
    began = time.perf_counter()
    viewer.show_range(start_s, stop_s)

    def painted(exact_only: bool) -> int | None:
        return next((i for i in range(first, len(frames.paints))
                     if _same_range(frames.ranges[i], (start_s, stop_s))
                     and (frames.exact[i] or not exact_only)), None)

    pump(app, lambda: painted(True) is not None)
    return tuple((frames.paints[painted(exact)][0] - began) * 1e3 for exact in (False, True))


def child_main(kind: str, path: Path, pages: int, data_start: int) -> None:
    result = run_protocol(kind, path, pages, data_start)
    print(json.dumps(result))


# -- the parent --------------------------------------------------------------------------------

def compile_like_an_install() -> None:
    """Byte-compile Tracemark's modules, as ``pip install`` does for an installed package.

    numpy, pyqtgraph and Qt come with their bytecode; an editable checkout does not, and
    where ``PYTHONDONTWRITEBYTECODE`` is set (as on the CI machines) every child process
    would compile Tracemark's ~100 modules again (0.3-0.7 s), a cost no user pays."""
    import compileall

    import tracemark

    compileall.compile_dir(Path(tracemark.__file__).parent, quiet=1)


def stats(values: list[float]) -> tuple[float, float]:
    return float(statistics.median(values)), float(np.percentile(values, 95))


def run_child(kind: str, path: Path, pages: int, data_start: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(path), "--pages", str(pages),
                           "--data-start", str(data_start)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the {kind} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(path: Path, lean: list[dict], ours: list[dict]) -> None:
    def pooled(runs, key):
        return [v for run in runs for v in run[key]]

    def line(label, ours_value, lean_value, unit="ms", goal=None):
        ratio = ours_value / lean_value if lean_value else float("nan")
        goal_text = f"   [goal <= {goal}x]" if goal else ""
        print(f"  {label:34s} {ours_value:9.1f} {unit}   lean {lean_value:9.1f} {unit}   "
              f"ratio {ratio:5.2f}x{goal_text}")

    print(f"\n== {path.name}: {len(ours)} rounds, load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores ==")
    first = [r["first_frame_s"] * 1e3 for r in ours], [r["first_frame_s"] * 1e3 for r in lean]
    line("first frame from process start", statistics.median(first[0]), statistics.median(first[1]),
         goal=1.5)
    after = ([(r["first_frame_s"] - r["imports_s"]) * 1e3 for r in ours],
             [(r["first_frame_s"] - r["imports_s"]) * 1e3 for r in lean])
    line("  ... of which after the imports", statistics.median(after[0]), statistics.median(after[1]))
    ours_med, ours_p95 = stats(pooled(ours, "back_to_back_ms"))
    lean_med, lean_p95 = stats(pooled(lean, "back_to_back_ms"))
    line("page, back to back, median", ours_med, lean_med, goal=1.1)
    line("page, back to back, p95", ours_p95, lean_p95, goal=1.1)
    if all(r["held_latency_ms"] for r in ours + lean):
        ours_med, ours_p95 = stats(pooled(ours, "held_latency_ms"))
        lean_med, lean_p95 = stats(pooled(lean, "held_latency_ms"))
        line("held key, press to page, median", ours_med, lean_med)
        line("held key, press to page, p95", ours_p95, lean_p95)
    print(f"  held key frames / stale frames     Tracemark {sum(r['held_frames'] for r in ours)} / "
          f"{sum(r['held_stale_frames'] for r in ours)}, lean {sum(r['held_frames'] for r in lean)} / "
          f"{sum(r['held_stale_frames'] for r in lean)} over {sum(r['held_presses'] for r in ours)} presses")
    for key, label in (("zoom_300_ms", "zoom to 300 s, right after paging"),
                       ("zoom_hour_ms", "zoom to the hour, right after paging")):
        line(label, statistics.median(r[key] for r in ours), statistics.median(r[key] for r in lean),
             goal=1.0)
        line("  ... until exact min/max on screen", statistics.median(r[key.replace("_ms", "_exact_ms")]
                                                                   for r in ours),
             statistics.median(r[key] for r in lean))
    for key, lean_key, label in (("zoom_300_ready_ms", "zoom_300_ms", "zoom to 300 s, summary ready"),
                                 ("zoom_hour_ready_ms", "zoom_hour_ms", "zoom to the hour, summary ready")):
        line(label, statistics.median(r[key] for r in ours), statistics.median(r[lean_key] for r in lean),
             goal=1.0)
    print(f"  summary complete when paging ended: {sum(r['summary_ready_after_paging'] for r in ours)} "
          f"of {len(ours)} rounds")
    line("peak RSS", max(r["peak_rss_mb"] for r in ours), max(r["peak_rss_mb"] for r in lean), unit="MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/tracemark-viewer-bench"))
    parser.add_argument("--keep", action="store_true", help="keep files longer than an hour")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--data-start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], Path(args.child[1]), args.pages, args.data_start)
        return 0
    from tracemark.io_backends import open_recording

    compile_like_an_install()
    args.folder.mkdir(parents=True, exist_ok=True)
    for hours in args.hours:
        path = args.folder / f"viewer_{hours:g}h_{N_CHANNELS}ch.TRC"
        if not path.exists():
            needed = hours * 3600 * RATE * N_CHANNELS * 2 * 1.05
            if shutil.disk_usage(args.folder).free < needed + 5e9:
                print(f"skipping {path.name}: needs {needed / 1e9:.1f} GB")
                continue
            generate(path, hours)
        with open_recording(path) as recording:
            data_start = recording._plan.data_start   # where the lean reference maps the samples
        lean, ours = [], []
        for _ in range(args.rounds):   # alternating, so machine load falls on both alike
            lean.append(run_child("lean", path, args.pages, data_start))
            ours.append(run_child("tracemark", path, args.pages, data_start))
        report(path, lean, ours)
        if hours > 1 and not args.keep:
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
