"""How the viewer feels on long recordings: first frame, paging, zoom-out, memory.

Offscreen, on generated 64-channel, 2048 Hz recordings of 1 hour and 24 hours, as TRC
and NWB (goals from issue 3 in brackets):

* open to first painted frame: ``open_recording`` + building the viewer's source + the
  first page computed on the worker, drawn and painted (<= 0.5 s whatever the length);
* page-forward repaint over 50 pages, median and p95, from the key press to the end of
  the synchronous repaint: *warm* = the page was prefetched while the previous one was
  shown (<= 16 ms p95); *cold* = prefetch off, the viewer's caches cleared and the
  file's pages evicted from the OS page cache (``posix_fadvise DONTNEED``) before every
  page (<= 50 ms p95);
* zoom-out to the whole hour once the summary exists (<= 100 ms), and for the 24-hour
  file to the whole day as well;
* the summary build time, and reopening with the summary loaded from its cache;
* peak RSS of the process (VmHWM; <= 300 MB), and separately its anonymous part: a
  memory-mapped reader's file pages count in RSS while the kernel leaves them mapped,
  though they are clean page cache that the kernel drops under pressure.

Each file is measured in a fresh child process (so peak RSS is per file). Files are
generated once into ``--folder`` (a 24-hour file is about 22.6 GB: the script checks the
free space first, and deletes 24-hour files when done unless ``--keep``). To generate
quickly, one minute of the synthetic benchmark session is quantised once and repeated,
rotated by a different amount each minute.

    python benchmarks/bench_viewer.py [--hours 1 24] [--formats trc nwb]
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
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

RATE = 2048
N_CHANNELS = 64
TILE_S = 60
GAIN_UV = 6400 / 65536  # the TRC writer's 2-byte code step for a -3200..3200 uV range
NWB_GAIN_UV = 0.1


# -- generating the recordings -------------------------------------------------------------

def _tile_uv() -> tuple[tuple[str, ...], np.ndarray]:
    from tracemark.demo.synth import benchmark_session

    session = benchmark_session(TILE_S, n_channels=N_CHANNELS, sampling_rate=float(RATE))
    return session.channel_names, np.concatenate(list(session.chunks()), axis=0)


def _tiles(codes: np.ndarray, n_samples: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    written = 0
    while written < n_samples:
        tile = np.roll(codes, int(rng.integers(0, len(codes))), axis=0)
        take = min(len(tile), n_samples - written)
        yield tile[:take]
        written += take


def generate(path: Path, hours: float) -> None:
    names, tile = _tile_uv()
    n_samples = int(hours * 3600 * RATE)
    every = 5 if hours <= 1 else 15  # a TRC trigger zone holds 8192 records
    pulses = [(s, 1) for s in range(RATE * 3, n_samples, RATE * every)]
    start = datetime(2024, 5, 14, 8, 0, 0)
    began = time.perf_counter()
    if path.suffix.lower() == ".trc":
        from tracemark.demo.trc_writer import TrcChannel, write_trc_frames

        codes = (np.clip(np.rint(tile / GAIN_UV), -32768, 32767) + 32768).astype(np.uint16)
        channels = [TrcChannel(name, "uV", (-3200, 3200), 2) for name in names]
        write_trc_frames(path, channels, RATE, _tiles(codes, n_samples), n_frames=n_samples,
                         start_datetime=start, triggers=pulses)
    else:
        from tracemark.demo.nwb_writer import write_nwb

        codes = np.clip(np.rint(tile / NWB_GAIN_UV), -32768, 32767).astype(np.int16)
        write_nwb(path, _tiles(codes, n_samples), channel_names=names, sampling_rate=float(RATE),
                  n_samples=n_samples, units="uV", gain=NWB_GAIN_UV,
                  start_datetime=start.replace(tzinfo=timezone.utc),
                  events=[(s / RATE, 0.0, "pulse") for s, _ in pulses], chunk_samples=8192)
    print(f"  generated {path.name}: {path.stat().st_size / 1e9:.2f} GB in "
          f"{time.perf_counter() - began:.0f} s", flush=True)


# -- measuring, in a child process --------------------------------------------------------

def evict(path: Path) -> None:
    """Drop the file's pages from the OS page cache, so the next read goes to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


class MemoryWatch:
    """Samples RssAnon every 20 ms; VmHWM gives the kernel's own peak of total RSS."""

    def __init__(self):
        self.peak_anon_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def status(field: str) -> int:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def _run(self):
        while not self._stop.is_set():
            self.peak_anon_kb = max(self.peak_anon_kb, self.status("RssAnon"))
            time.sleep(0.02)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {"peak_rss_mb": self.status("VmHWM") / 1024, "peak_anon_mb": self.peak_anon_kb / 1024}


def child(path: Path, pages: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    cache_home = tempfile.mkdtemp(prefix="tracemark-bench-cache-")
    os.environ["XDG_CACHE_HOME"] = cache_home  # a fresh summary cache: the first open builds it
    watch = MemoryWatch()
    from PyQt6.QtWidgets import QApplication

    app = QApplication([])
    from tracemark.app.main_window import MainWindow

    out: dict = {"file": path.name, "gb": path.stat().st_size / 1e9}
    try:
        window = MainWindow()
        window.resize(1920, 1080)
        window.show()
        settle(app, 0.3)
        evict(path)
        out["first_frame_s"] = open_and_paint(app, window, path)
        viewer = window.viewer
        out["page_factor"] = viewer.last_result.request.factor
        out["summary_build_s"] = wait_summary(app, viewer)
        out["warm_ms"] = page_forward(app, viewer, pages, cold=False, path=path)
        viewer.model.window.set_start(viewer.model.window.duration_s * 0.4)
        wait_drawn(app, viewer)
        out["cold_ms"] = page_forward(app, viewer, pages, cold=True, path=path)
        viewer.prefetch_enabled = True
        out["whole_hour_ms"] = timed_range(app, viewer, 0.0, 3600.0)
        out["whole_hour_origin"] = viewer.last_result.origin
        duration = viewer.model.window.duration_s
        if duration > 3600 * 1.5:
            out["whole_file_ms"] = timed_range(app, viewer, 0.0, duration)
        window.opener.close_recording()
        evict(path)
        out["reopen_first_frame_s"] = open_and_paint(app, window, path)
        began = time.perf_counter()
        while not viewer.overview.has_summary:
            app.processEvents()
            time.sleep(0.001)
        out["reopen_summary_s"] = time.perf_counter() - began + out["reopen_first_frame_s"]
        window.close()
        out["load"] = os.getloadavg()[0]
    finally:
        out.update(watch.stop())
        shutil.rmtree(cache_home, ignore_errors=True)
    return out


def settle(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)


def wait_drawn(app, viewer, timeout: float = 60.0) -> None:
    end = time.perf_counter() + timeout
    while True:
        app.processEvents()
        latest = viewer.pager.latest_request if viewer.pager else None
        result = viewer.last_result
        if (not viewer._request_timer.isActive() and latest is not None and result is not None
                and result.request.request_id == latest.request_id):
            return
        if time.perf_counter() > end:
            raise TimeoutError("no page drawn")
        time.sleep(0.0002)


def frames(viewer):
    """Counter of frames: paints of the plot's viewport that follow a newly drawn page."""
    counter = getattr(viewer, "_bench_frames", None)
    if counter is None:
        from PyQt6.QtCore import QEvent, QObject

        class FrameCounter(QObject):
            count = 0
            pending = False

            def on_drawn(self, _result):
                self.pending = True

            def eventFilter(self, watched, event):
                if event.type() == QEvent.Type.Paint and self.pending:
                    self.pending = False
                    self.count += 1
                return False

        counter = FrameCounter(viewer)
        viewer.page_drawn.connect(counter.on_drawn)
        viewer.plot.viewport().installEventFilter(counter)
        viewer._bench_frames = counter
    return counter


def wait_frame(app, viewer, before: int) -> None:
    """Return once the latest page is drawn and a paint has followed it."""
    counter = frames(viewer)
    wait_drawn(app, viewer)
    while counter.count <= before or counter.pending:
        app.processEvents()


def open_and_paint(app, window, path: Path) -> float:
    before = frames(window.viewer).count
    began = time.perf_counter()
    if not window.open_path(path):
        raise RuntimeError(window.last_error_box.text())
    wait_frame(app, window.viewer, before)
    return time.perf_counter() - began


def wait_summary(app, viewer) -> float:
    began = time.perf_counter()
    while not viewer.overview.has_summary:
        app.processEvents()
        time.sleep(0.01)
    return time.perf_counter() - began


def page_forward(app, viewer, pages: int, *, cold: bool, path: Path) -> dict:
    """Wall time per page, and the GUI thread's own CPU time (which excludes waiting
    for a core: this machine's two cores are shared with other work)."""
    viewer.prefetch_enabled = not cold
    action = viewer.actions["page_forward"]
    times, cpu = [], []
    for _ in range(pages):
        # The reader looks at the page for a moment: the prefetch is scheduled and done.
        while viewer.pager.prefetch_pending:
            app.processEvents()
            time.sleep(0.001)
        viewer.pager.wait_idle(60000)
        app.processEvents()
        if cold:
            viewer.pipeline.block_cache.clear()
            viewer.pipeline.result_cache.clear()
            evict(path)
        before = frames(viewer).count
        began, began_cpu = time.perf_counter(), time.thread_time()
        action.trigger()
        wait_frame(app, viewer, before)
        times.append((time.perf_counter() - began) * 1e3)
        cpu.append((time.thread_time() - began_cpu) * 1e3)
    return {"wall": times, "cpu": cpu}


def timed_range(app, viewer, start_s: float, stop_s: float) -> float:
    viewer.pager.wait_idle(60000)
    before = frames(viewer).count
    began = time.perf_counter()
    viewer.model.window.show_range(start_s, stop_s)
    wait_frame(app, viewer, before)
    return (time.perf_counter() - began) * 1e3


# -- the parent: files, children, report -----------------------------------------------------

def stats(values: list[float]) -> str:
    return f"median {statistics.median(values):6.1f} ms  p95 {np.percentile(values, 95):6.1f} ms"


def report(result: dict) -> None:
    print(f"\n== {result['file']} ({result['gb']:.2f} GB), load average {result['load']:.1f} "
          f"on {os.cpu_count()} cores ==")
    print(f"  first painted frame      {result['first_frame_s'] * 1e3:8.1f} ms   [goal <= 500 ms]"
          f"   (page factor {result['page_factor']})")
    for kind, goal in (("warm", 16), ("cold", 50)):
        figures = result[f"{kind}_ms"]
        print(f"  page forward, {kind}       {stats(figures['wall'])}   [goal p95 <= {goal} ms]")
        print(f"    GUI thread CPU         {stats(figures['cpu'])}")
    print(f"  summary build            {result['summary_build_s']:8.1f} s    (background)")
    print(f"  whole hour drawn         {result['whole_hour_ms']:8.1f} ms   [goal <= 100 ms]"
          f"   (from {result['whole_hour_origin']})")
    if "whole_file_ms" in result:
        print(f"  whole recording drawn    {result['whole_file_ms']:8.1f} ms")
    print(f"  reopen: first frame      {result['reopen_first_frame_s'] * 1e3:8.1f} ms, "
          f"summary from cache after {result['reopen_summary_s'] * 1e3:.0f} ms")
    print(f"  peak RSS                 {result['peak_rss_mb']:8.1f} MB   [goal <= 300 MB]"
          f"   (anonymous {result['peak_anon_mb']:.1f} MB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1, 24])
    parser.add_argument("--formats", nargs="+", default=["trc", "nwb"], choices=["trc", "nwb"])
    parser.add_argument("--folder", type=Path, default=Path("/tmp/tracemark-viewer-bench"))
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the 24-hour files")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.pages)))
        return 0
    args.folder.mkdir(parents=True, exist_ok=True)
    for hours in args.hours:
        for fmt in args.formats:
            path = args.folder / f"viewer_{hours:g}h_{N_CHANNELS}ch.{'TRC' if fmt == 'trc' else 'nwb'}"
            if not path.exists():
                needed = hours * 3600 * RATE * N_CHANNELS * 2 * 1.05
                free = shutil.disk_usage(args.folder).free
                if free < needed + 5e9:
                    print(f"skipping {path.name}: needs {needed / 1e9:.1f} GB, {free / 1e9:.1f} GB free")
                    continue
                generate(path, hours)
            done = subprocess.run([sys.executable, __file__, "--child", str(path), "--pages", str(args.pages)],
                                  capture_output=True, text=True)
            if done.returncode:
                print(f"{path.name}: the measuring process failed\n{done.stderr[-2000:]}")
            else:
                report(json.loads(done.stdout.strip().splitlines()[-1]))
            if hours > 1 and not args.keep:
                path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
