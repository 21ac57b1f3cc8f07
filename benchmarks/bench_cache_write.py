"""Write and read latency of the cache's set-attributes path on caches of 1,000 and
100,000 traces (goals: write median <= 2 ms, p95 <= 20 ms, flat in the number of traces;
attribute read <= 1 ms).

One edit = 4 attributes of one trace (reject, onset_shift, comment, examiner), the same
edit the research note on HDF5 write safety timed; it is acknowledged when ``update``
returns, i.e. after the journal fdatasync.

    python benchmarks/bench_cache_write.py [--sizes 1000 100000] [--edits 1000]

Files live in a temporary folder under /tmp and are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from tracemark.io_backends.cache import BuildSpec, CacheFile, build_cache, fsops

# testkit/ (test-only, never installed) sits at the repository root, beside the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testkit.cache import synthetic_recording  # noqa: E402


def percentiles(samples_s: list[float]) -> str:
    ms = np.asarray(samples_s) * 1e3
    return (f"median {np.median(ms):6.3f} ms   p95 {np.percentile(ms, 95):6.3f} ms   "
            f"max {ms.max():7.3f} ms")


def timed(call, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        call(i)
        out.append(time.perf_counter() - t0)
    return out


def fsync_floor(folder: Path, n: int) -> list[float]:
    """What the disk alone costs per acknowledgement right now (the machine is shared)."""
    path = folder / "floor.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        return timed(lambda i: (os.write(fd, b"x" * 300), os.fdatasync(fd)), n)
    finally:
        os.close(fd)
        path.unlink()


@contextmanager
def no_fsync():
    saved = fsops.fsync
    fsops.fsync = lambda fd, detail="": None
    try:
        yield
    finally:
        fsops.fsync = saved


def bench(size: int, edits: int, folder: Path) -> None:
    print(f"\n== cache of {size:,} traces ==")
    recording = synthetic_recording(size, rate=1000.0, n_channels=1, spacing_s=0.02,
                                    name="bench.trc")
    t0 = time.perf_counter()
    path = build_cache(recording, folder / f"bench{size}.hdf5",
                       BuildSpec("TMS", 0.005, 0.01, readout="contralateral_mep"))
    print(f"build            {time.perf_counter() - t0:8.2f} s   "
          f"({path.stat().st_size / 2**20:.1f} MiB)")
    t0 = time.perf_counter()
    cache = CacheFile(path, mode="w")
    print(f"open for writing {1e3 * (time.perf_counter() - t0):8.1f} ms")
    rng = random.Random(size)
    targets = [rng.randrange(size) for _ in range(edits)]
    reads = timed(lambda i: cache.get_trace_attrs(targets[i]), edits)
    print(f"attribute read (no edits)     {percentiles(reads)}")
    print(f"disk floor: 300-byte append + fdatasync {percentiles(fsync_floor(folder, edits))}")
    writes = timed(lambda i: cache.update(targets[i], reject=i % 2 == 0, onset_shift=i % 7 - 3,
                                          comment=f"edit {i}", examiner="bench"), edits)
    print(f"single edit, 4 keys, durable  {percentiles(writes)}")
    with no_fsync():
        writes = timed(lambda i: cache.update(targets[i], reject=i % 2 == 1,
                                              onset_shift=i % 5 - 2, comment=f"cpu {i}",
                                              examiner="cpu"), edits)
    print(f"same edit without the fdatasync (cost of the code path) {percentiles(writes)}")
    batches = timed(lambda i: cache.apply_edits(
        [(targets[(i * 10 + j) % edits], {"comment": f"batch {i}"}) for j in range(10)]), 100)
    print(f"batch of 10 traces, durable   {percentiles(batches)}")
    reads = timed(lambda i: cache.get_trace_attrs(targets[i]), edits)
    print(f"attribute read (edits merged) {percentiles(reads)}")
    reader = CacheFile(path, mode="r")
    reads = timed(lambda i: reader.get_trace_attrs(targets[i]), edits)
    print(f"read in a 2nd CacheFile (reader merging the journal) {percentiles(reads)}")
    reader.close()
    t0 = time.perf_counter()
    pending = cache.pending_edits
    cache.checkpoint()
    print(f"checkpoint of {pending} pending values {1e3 * (time.perf_counter() - t0):8.1f} ms")
    writes = timed(lambda i: cache.update(targets[i], comment=f"after {i}"), edits)
    print(f"single edit after checkpoint  {percentiles(writes)}")
    cache.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--edits", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracemark-bench-", dir="/tmp") as folder:
        for size in args.sizes:
            bench(size, args.edits, Path(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
