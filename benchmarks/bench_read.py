"""Open time and 10-second window reads, per format, beside a bare numpy.memmap read.

Writes a 1-hour, 64-channel, 2048 Hz recording as TRC, NWB and EDF (once; reused from
``--folder`` afterwards), then for each format prints:

* open time (header parse), median and p95 over fresh opens;
* ``read(t, t + 10 s)`` of all 64 channels at random positions, median and p95, with the
  page cache warm (the file was just read through) -- the paging case in the viewer;
* the same reads through ``read_raw`` (no scaling);
* reads in the first and in the last minute of the hour, and their ratio: a window near
  the end must cost what one at the start does (a reader that scanned from the start
  would be hundreds of times slower there);
* the bare baselines on the same bytes: copying them out of a ``numpy.memmap``
  ("bytes"), and the simplest numpy expression that turns them into float32 physical
  values ("bytes+scale"), which is what a reader does at the least.

    python benchmarks/bench_read.py [--folder /tmp/tracemark-bench] [--repeats 200]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from tracemark.demo.synth import benchmark_session
from tracemark.io_backends import open_recording

HOUR_S = 3600.0
RATE = 2048.0
N_CHANNELS = 64
WINDOW_S = 10.0


def ensure_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    session = benchmark_session(HOUR_S, n_channels=N_CHANNELS, sampling_rate=RATE)
    paths = {"TRC": folder / "hour64.TRC", "NWB": folder / "hour64.nwb", "EDF": folder / "hour64.edf"}
    common = dict(channel_names=session.channel_names, n_samples=session.n_samples)
    if not paths["TRC"].exists():
        from tracemark.demo.trc_writer import write_trc
        _timed("write TRC", lambda: write_trc(paths["TRC"], session.chunks(), sampling_rate=RATE,
                                              units="uV", bytes_per_sample=2,
                                              physical_range=session.physical_range_uv, **common))
    if not paths["NWB"].exists():
        from tracemark.demo.nwb_writer import write_nwb
        _timed("write NWB", lambda: write_nwb(paths["NWB"], session.chunks(), sampling_rate=RATE,
                                              units="uV", **common))
    if not paths["EDF"].exists():
        from tracemark.io_backends.edf_writer import write_edf
        _timed("write EDF", lambda: write_edf(
            paths["EDF"], session.chunks(), sampling_rates=[RATE] * N_CHANNELS,
            units=["uV"] * N_CHANNELS, physical_ranges=[session.physical_range_uv] * N_CHANNELS, **common))
    return paths


def _timed(label: str, work) -> None:
    start = time.perf_counter()
    work()
    print(f"{label}: {time.perf_counter() - start:.1f} s", file=sys.stderr)


def stats_ms(samples: list[float]) -> str:
    ms = np.array(samples) * 1e3
    return f"median {np.median(ms):8.3f} ms   p95 {np.percentile(ms, 95):8.3f} ms"


def time_calls(call, starts) -> list[float]:
    times = []
    for start in starts:
        t0 = time.perf_counter()
        call(start)
        times.append(time.perf_counter() - t0)
    return times


def bench_format(name: str, path: Path, starts_s: np.ndarray, opens: int) -> dict:
    open_times = []
    for _ in range(opens):
        t0 = time.perf_counter()
        rec = open_recording(path)
        open_times.append(time.perf_counter() - t0)
        rec.close()
    with open_recording(path) as rec:
        stream = rec.header.streams[0]
        for t in np.arange(0, stream.duration_s, 60.0):  # whole file through the page cache: warm reads
            rec.read_raw(int(t * RATE), int((t + 60.0) * RATE))
        n_window = int(WINDOW_S * stream.sampling_rate)
        physical = time_calls(lambda s: rec.read(s, s + WINDOW_S), starts_s)
        raw = time_calls(lambda s: rec.read_raw(int(s * RATE), int(s * RATE) + n_window), starts_s)
        shape = rec.read(starts_s[0], starts_s[0] + WINDOW_S).shape
        nearby = 0.01 * np.arange(15)
        at_start = time_calls(lambda s: rec.read(s, s + WINDOW_S), 1.0 + nearby)
        at_end = time_calls(lambda s: rec.read(s, s + WINDOW_S), stream.duration_s - WINDOW_S - 2.0 - nearby)
    print(f"{name}: open {stats_ms(open_times)}")
    print(f"{name}: read {stats_ms(physical)}   (window {shape[0]} x {shape[1]})")
    print(f"{name}: raw  {stats_ms(raw)}")
    print(f"{name}: read in the last minute / in the first: "
          f"{statistics.median(at_end) / statistics.median(at_start):.2f}x")
    return {"read": statistics.median(physical), "raw": statistics.median(raw)}


def bench_bare_memmap(trc_path: Path, starts_s: np.ndarray) -> dict:
    """The least any reader can do: the TRC data zone as a memmap, sliced, then scaled."""
    with open_recording(trc_path) as rec:
        stream = rec.header.streams[0]
        data_start = trc_path.stat().st_size - stream.n_samples * N_CHANNELS * 2
        gains = stream.gains.astype(np.float32)
        offsets = stream.offsets.astype(np.float32)
    memmap = np.memmap(trc_path, dtype="<u2", mode="r", offset=data_start,
                       shape=(stream.n_samples, N_CHANNELS))
    n_window = int(WINDOW_S * RATE)
    bytes_only = time_calls(lambda s: np.array(memmap[int(s * RATE):int(s * RATE) + n_window]), starts_s)
    scaled = time_calls(lambda s: memmap[int(s * RATE):int(s * RATE) + n_window].astype(np.float32)
                        * gains + offsets, starts_s)
    print(f"memmap: bytes       {stats_ms(bytes_only)}")
    print(f"memmap: bytes+scale {stats_ms(scaled)}")
    return {"bytes": statistics.median(bytes_only), "scaled": statistics.median(scaled)}


def _proc_status_mb(field: str) -> str:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return f"{int(line.split()[1]) / 1024:.0f}"
    except OSError:
        pass
    return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/tracemark-bench"))
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--opens", type=int, default=20)
    args = parser.parse_args()

    paths = ensure_files(args.folder)
    rng = np.random.default_rng(0)
    starts = rng.uniform(0, HOUR_S - WINDOW_S, args.repeats)
    print(f"1 hour x {N_CHANNELS} ch x {RATE:g} Hz; {WINDOW_S:g} s windows at {args.repeats} random positions, "
          "warm page cache")
    results = {name: bench_format(name, path, starts, args.opens) for name, path in paths.items()}
    bare = bench_bare_memmap(paths["TRC"], starts)
    trc = results["TRC"]
    print(f"TRC read / bare bytes+scale = {trc['read'] / bare['scaled']:.2f}x;  "
          f"TRC read_raw / bare bytes = {trc['raw'] / bare['bytes']:.2f}x")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:.0f} MB (includes file pages mapped by the bare memmap baseline, which the "
          f"kernel reclaims); now: {_proc_status_mb('RssAnon')} MB anonymous, "
          f"{_proc_status_mb('RssFile')} MB file-backed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
