"""Streaming a recording from a local HTTP server with added round-trip time.

For 0, 20 and 80 ms of latency added to every request (``tests/remote_server.py``), on a
64-channel, 2048 Hz, 2-byte TRC file (and the same signal as NWB), it measures:

* time to the first frame: open + the first 10-s page of 64 channels, from a cold cache;
* page latency, paging forward back-to-back (p50, p95), against the same reads of the
  local file. "p95 ahead" leaves out the first page after the first frame: it is asked for
  the moment the first page is in, before any read-ahead can have arrived, so it always
  costs a round trip; the goal is stated "once the read-ahead runs". "p95 all" keeps it;
* bytes fetched per page against the bytes the page shows;
* the same with a 0.25-s pause between pages (a person reading: the read-ahead's case);
* the block-cache hit rate when the file is opened again (a second session);
* the byte transport alone against fsspec's HTTP file (read-ahead and block caches).

Goals (issue 16): first frame <= 1 s + 10 round trips; page p95 <= local p95 + one round
trip once the read-ahead runs; bytes fetched per page <= 2x the page's bytes.

Run: ``.venv/bin/python benchmarks/bench_remote.py [--minutes 7] [--pages 24]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tracemark.io_backends import open_recording

RATE, CHANNELS, PAGE_S = 2048.0, 64, 10.0


def write_files(folder: Path, minutes: float) -> dict[str, Path]:
    from tracemark.demo.nwb_writer import write_nwb
    from tracemark.demo.trc_writer import write_trc

    n = int(minutes * 60 * RATE)
    rng = np.random.default_rng(0)
    block = rng.normal(0, 50, (int(RATE) * 10, CHANNELS)).astype(np.float32)

    def chunks():
        return (block[: min(len(block), n - i)] for i in range(0, n, len(block)))

    names = [f"C{i}" for i in range(CHANNELS)]
    trc = folder / "bench.TRC"
    write_trc(trc, chunks(), channel_names=names, sampling_rate=RATE, n_samples=n,
              units="uV", bytes_per_sample=2, physical_range=(-3200, 3200))
    nwb = write_nwb(folder / "bench.nwb", chunks(), channel_names=names, sampling_rate=RATE,
                    n_samples=n, chunk_samples=8192)
    return {"bench.TRC": trc, "bench.nwb": nwb}


def page_times(recording, pages: int) -> list[float]:
    times = []
    for k in range(1, pages + 1):
        start = time.perf_counter()
        recording.read(k * PAGE_S, (k + 1) * PAGE_S)
        times.append(time.perf_counter() - start)
    return times


def paused_page_times(recording, pages: int, pause_s: float = 0.25) -> list[float]:
    """Pages further on, with a person's pause between them (the read-ahead's case)."""
    times = []
    for k in range(pages + 1, pages + 1 + pages // 2):   # on from where the back-to-back pages stopped
        time.sleep(pause_s)
        start = time.perf_counter()
        recording.read(k * PAGE_S, (k + 1) * PAGE_S)
        times.append(time.perf_counter() - start)
    return times


def transport_comparison(files: dict[str, Path], rtt_s: float, pages: int) -> None:
    """The byte transport alone: consecutive 10-s pages of the TRC file as raw bytes, through
    our RemoteFile and through fsspec's HTTP file (its read-ahead and block caches)."""
    from tracemark.io_backends.remote.opening import open_source

    page = int(PAGE_S * RATE) * CHANNELS * 2
    rows = []
    with ServerProcess(files, rtt_s) as server, tempfile.TemporaryDirectory() as cache:
        url = server.url("bench.TRC")
        start = time.perf_counter()
        source = open_source(url, cache_dir=cache)
        opened = time.perf_counter() - start
        times = []
        for k in range(pages):
            t = time.perf_counter()
            source.read_bytes(k * page, page)
            times.append(time.perf_counter() - t)
        source.close()
        rows.append(("tracemark RemoteFile", opened, times))
        try:
            import fsspec
        except ImportError:
            print("fsspec is not installed: comparison skipped")
            return
        for cache_type in ("readahead", "blockcache"):
            fs = fsspec.filesystem("http", skip_instance_cache=True)
            start = time.perf_counter()
            handle = fs.open(url, "rb", block_size=256 << 10, cache_type=cache_type)
            handle.read(1)
            opened = time.perf_counter() - start
            times = []
            for k in range(pages):
                t = time.perf_counter()
                handle.seek(k * page)
                handle.read(page)
                times.append(time.perf_counter() - t)
            handle.close()
            rows.append((f"fsspec http ({cache_type})", opened, times))
    for name, opened, times in rows:
        print(f"  {name:<28} open {opened * 1000:>5.0f} ms   page p50 {np.median(times) * 1000:>5.0f} ms"
              f"   p95 {np.percentile(times, 95) * 1000:>5.0f} ms")


class ServerProcess:
    """``tests/remote_server.py`` in its own process (so it does not share our interpreter)."""

    def __init__(self, files: dict[str, Path], latency_s: float):
        script = Path(__file__).resolve().parents[1] / "tests" / "remote_server.py"
        self.child = subprocess.Popen([sys.executable, str(script), "--latency", str(latency_s),
                                       *map(str, files.values())],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.base = self.child.stdout.readline().strip()

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.child.stdin.close()
        self.child.wait(timeout=30)


def measure(files: dict[str, Path], name: str, rtt_s: float, pages: int) -> dict:
    with open_recording(files[name]) as rec:
        rec.read(0, PAGE_S)
        local_p95 = float(np.percentile(page_times(rec, pages), 95))
    with ServerProcess(files, rtt_s) as server, tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        rec = open_recording(server.url(name), cache_dir=cache)
        rec.read(0, PAGE_S)
        first_frame = time.perf_counter() - start
        stats = remote_source(rec).stats
        before = stats.fetched_bytes
        times = page_times(rec, pages)
        time.sleep(1 + 4 * rtt_s)   # let the read-ahead in flight land: it is counted too
        paged = stats.fetched_bytes - before
        paused = paused_page_times(rec, pages)
        rec.close()
        again = open_recording(server.url(name), cache_dir=cache, read_ahead=False)
        again.read(0, PAGE_S)
        page_times(again, pages)
        hit_rate = remote_source(again).stats.hit_rate
        again.close()
    page_bytes = int(PAGE_S * RATE) * CHANNELS * 2
    return {"first_frame": first_frame, "p50": float(np.median(times)),
            "paused_p95": float(np.percentile(paused, 95)),
            "p95": float(np.percentile(times[1:], 95)), "p95_all": float(np.percentile(times, 95)),
            "local_p95": local_p95,
            "per_page": paged / pages, "page_bytes": page_bytes, "hit_rate": hit_rate}


def viewer_child(location: str, pages: int) -> None:
    """In a child process: Tracemark's window on ``location`` (a path or a URL), paged
    forward ``pages`` times back to back (each page command as soon as the previous page is
    painted, as with a held key); prints the command-to-paint times as JSON."""
    import json
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    cache_home = tempfile.mkdtemp(prefix="tracemark-bench-remote-")
    for variable in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        os.environ[variable] = cache_home   # a cold block cache and summary, no saved session
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_viewer import SPAN_S, Frames, TracemarkViewer, back_to_back, pump
    from PyQt6.QtWidgets import QApplication

    app = QApplication([])
    viewer = TracemarkViewer(location)
    frames = Frames(viewer.viewport(), viewer)
    viewer.set_scale()
    pump(app, lambda: viewer.showing(0.0, SPAN_S))
    print(json.dumps(back_to_back(app, viewer, frames, pages)))
    viewer.window.close()


def viewer_pages(location: str, pages: int) -> list[float]:
    """Page times (ms) of :func:`viewer_child` run in its own process on ``location``."""
    out = subprocess.run([sys.executable, __file__, "--viewer-child", location, "--pages", str(pages)],
                         capture_output=True, text=True, timeout=600, check=True)
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def viewer_comparison(files: dict[str, Path], pages: int) -> None:
    """The same back-to-back paging in Tracemark's window, local file against the server."""
    print(f"\nIn the window: {pages} pages back to back (command to paint), 64 rows")
    print("('p95 ahead' leaves out the first page turned, asked for before any read-ahead; "
          "'first' is that page)")
    print(f"{'file':<10} {'RTT':>5} {'p50':>7} {'p95 ahead':>10} {'goal':>7} {'p95 all':>8} {'first':>7} "
          f"{'local p50':>10} {'local p95':>10}")
    for name, local in files.items():
        here = viewer_pages(str(local), pages)
        for rtt in (0.020, 0.080):
            with ServerProcess(files, rtt) as server:
                there = viewer_pages(server.url(name), pages)
            goal = np.percentile(here, 95) + rtt * 1000
            print(f"{name:<10} {rtt * 1000:>3.0f}ms {np.median(there):>5.0f}ms {np.percentile(there[1:], 95):>8.0f}ms "
                  f"{goal:>5.0f}ms {np.percentile(there, 95):>6.0f}ms {there[0]:>5.0f}ms "
                  f"{np.median(here):>8.0f}ms {np.percentile(here, 95):>8.0f}ms")


def remote_source(recording):
    """The RemoteFile a backend reads through (TRC: ``_file``, NWB: ``_byte_source``)."""
    return getattr(recording, "_byte_source", None) or recording._file


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=7.0)
    parser.add_argument("--pages", type=int, default=24)
    parser.add_argument("--viewer-child", metavar="LOCATION", help=argparse.SUPPRESS)
    parser.add_argument("--only-viewer", action="store_true", help="run only the in-window protocol")
    args = parser.parse_args()
    if args.viewer_child:
        viewer_child(args.viewer_child, args.pages)
        return
    with tempfile.TemporaryDirectory() as folder:
        files = write_files(Path(folder), args.minutes)
        if args.only_viewer:
            viewer_comparison(files, args.pages)
            return
        for name, local in files.items():
            print(f"\n{name}: {local.stat().st_size / 1e6:.0f} MB, {CHANNELS} ch at {RATE:g} Hz, "
                  f"pages of {PAGE_S:g} s")
            print(f"{'RTT':>5} {'first frame':>12} {'goal':>7} {'p50':>7} {'p95 ahead':>10} "
                  f"{'goal':>7} {'p95 all':>8} {'paused p95':>11} {'fetched/page':>13} {'ratio':>6} "
                  f"{'2nd-open hits':>14}")
            for rtt in (0.0, 0.020, 0.080):
                m = measure(files, name, rtt, args.pages)
                print(f"{rtt * 1000:>3.0f}ms {m['first_frame'] * 1000:>10.0f}ms "
                      f"{(1 + 10 * rtt) * 1000:>5.0f}ms {m['p50'] * 1000:>5.0f}ms "
                      f"{m['p95'] * 1000:>8.0f}ms {(m['local_p95'] + rtt) * 1000:>5.0f}ms "
                      f"{m['p95_all'] * 1000:>6.0f}ms {m['paused_p95'] * 1000:>9.0f}ms "
                      f"{m['per_page'] / 1e6:>11.2f}MB {m['per_page'] / m['page_bytes']:>6.2f} "
                      f"{m['hit_rate']:>13.0%}")
        for rtt in (0.0, 0.020, 0.080):
            print(f"\nTransport alone, {rtt * 1000:.0f} ms RTT, {args.pages} consecutive 10-s pages of bench.TRC:")
            transport_comparison(files, rtt, args.pages)
        viewer_comparison(files, args.pages)

if __name__ == "__main__":
    main()
