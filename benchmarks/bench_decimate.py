"""Decimation and summary figures for the viewer's hot paths (pure numpy, no files).

Prints median and p95 of:

* ``minmax_decimate`` of a 10 s x 64 ch x 2048 Hz window (20 480 samples) at the factor
  the viewer picks for a 1920-pixel-wide plot, and at a few others, plus ``envelope_xy``;
* ``MinMaxPyramid.build`` throughput in samples x channels per second over a 1-hour,
  64-channel, 2048 Hz stream (read_block hands out slices of one pre-generated buffer,
  so the figure is the summary's own cost, not a reader's);
* a whole-hour query from that pyramid at the factor a 1920-pixel plot needs, aligned
  and at unaligned window starts.

With ``--file RECORDING`` the build is also timed through the real reader
(``tracemark.io_backends.open_recording``), which adds file reading and scaling.

    python benchmarks/bench_decimate.py [--repeats 200] [--file rec.TRC]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tracemark.dsp.decimate import choose_factor, envelope_xy, minmax_decimate
from tracemark.dsp.summary import MinMaxPyramid

RATE = 2048
N_CHANNELS = 64
PIXELS = 1920


def summarise(label: str, seconds: list[float], extra: str = "") -> None:
    ms = np.asarray(seconds) * 1e3
    print(f"{label:<58} median {np.median(ms):8.3f} ms   p95 {np.percentile(ms, 95):8.3f} ms"
          f"{extra}")


def timed(work, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return times


def bench_window(repeats: int) -> None:
    rng = np.random.default_rng(0)
    window = rng.standard_normal((10 * RATE, N_CHANNELS)).astype(np.float32)
    chosen = choose_factor(window.shape[0], PIXELS)
    for factor in sorted({chosen, 4, 64}):
        note = " (chosen for 1920 px)" if factor == chosen else ""
        summarise(f"minmax_decimate 10 s x 64 ch, factor {factor}{note}",
                  timed(lambda factor=factor: minmax_decimate(window, factor, 12_345), repeats))
    starts, mins, maxs = minmax_decimate(window, chosen, 12_345)
    summarise(f"envelope_xy of that ({len(starts)} bins)",
              timed(lambda: envelope_xy(starts, mins, maxs, chosen, RATE), repeats))


def bench_build(n_samples: int, builds: int) -> MinMaxPyramid:
    buffer_rows = 1 << 18
    buffer = np.random.default_rng(1).standard_normal(
        (buffer_rows, N_CHANNELS)).astype(np.float32)

    def read_block(i_start: int, i_stop: int) -> np.ndarray:
        offset = i_start % (buffer_rows - (i_stop - i_start) + 1)
        return buffer[offset:offset + (i_stop - i_start)]

    pyramid = None
    times = []
    for _ in range(builds):
        start = time.perf_counter()
        pyramid = MinMaxPyramid.build(read_block, n_samples, N_CHANNELS)
        times.append(time.perf_counter() - start)
    rate = n_samples * N_CHANNELS / np.median(times)
    summarise(f"MinMaxPyramid.build 1 h x 64 ch (x{builds})", times,
              f"   {rate / 1e6:7.1f} M samples*channels/s")
    print(f"    factors {pyramid.factors}, {pyramid.nbytes / 2**20:.1f} MiB")
    return pyramid


def bench_query(pyramid: MinMaxPyramid, repeats: int) -> None:
    n = pyramid.n_samples
    factor = choose_factor(n, PIXELS)
    summarise(f"pyramid.query whole hour, factor {factor}",
              timed(lambda: pyramid.query(0, n, factor), repeats))
    rng = np.random.default_rng(2)
    starts = iter(rng.integers(0, n // 2, size=repeats))

    def unaligned():
        first = int(next(starts))
        pyramid.query(first, first + n // 2, factor // 4)

    summarise(f"pyramid.query half hour, unaligned, factor {factor // 4}",
              timed(unaligned, repeats))


def bench_file(path: str) -> None:
    from tracemark.io_backends import open_recording

    with open_recording(path) as recording:
        stream = recording.header.streams[0]
        n_samples, n_channels = stream.n_samples, len(stream.channel_names)
        start = time.perf_counter()
        MinMaxPyramid.build(lambda a, b: recording.read_samples(a, b), n_samples, n_channels)
        elapsed = time.perf_counter() - start
    print(f"build from {path}: {elapsed:.2f} s, "
          f"{n_samples * n_channels / elapsed / 1e6:.1f} M samples*channels/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--file", help="also time the build through this recording's reader")
    args = parser.parse_args()
    bench_window(args.repeats)
    pyramid = bench_build(3600 * RATE, args.builds)
    bench_query(pyramid, args.repeats)
    if args.file:
        bench_file(args.file)


if __name__ == "__main__":
    main()
