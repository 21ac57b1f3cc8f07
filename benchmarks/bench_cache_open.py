"""What the never-hang pre-flight costs when a cache is opened, and what the journal's
sector padding costs per edit.

Run: ``.venv/bin/python benchmarks/bench_cache_open.py``. Prints, per cache size, the
median time of ``CacheFile(path, mode="r")``:

* ``unknown``: the first open of a file no Tracemark process has vouched for (a copy of
  the cache, verdicts forgotten in memory and on disk): a child process walks its metadata;
* ``new process``: the first open, in a fresh Python process, of a cache Tracemark built
  (its verdict is in the on-disk store; interpreter start-up and imports not counted);
* ``reopen``: the same file again in the same process (the verdict is in memory);

and for the journal the bytes per record and the median time of an edit. The verdict
store is kept in a temporary folder, not the user's cache directory.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tracemark.io_backends import h5_preflight, h5_verdict_store
from tracemark.io_backends.cache import CacheFile
from tracemark.io_backends.cache.journal import journal_path

# testkit/ (test-only, never installed) sits at the repository root, beside the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testkit.cache import make_cache  # noqa: E402

REPEATS = 7

#: Times the first open of argv[1] in this fresh process, in ms.
_OPEN_IN_NEW_PROCESS = """
import sys, time
from tracemark.io_backends.cache import CacheFile
started = time.perf_counter()
CacheFile(sys.argv[1], mode="r").close()
print((time.perf_counter() - started) * 1e3)
"""


def _median_ms(action) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def _open_unknown(path: Path) -> None:
    h5_preflight.forget_all()
    h5_verdict_store.clear()
    CacheFile(path, mode="r").close()


def _open_in_new_process_ms(path: Path) -> float:
    times = [float(subprocess.run([sys.executable, "-c", _OPEN_IN_NEW_PROCESS, str(path)],
                                  capture_output=True, text=True, check=True).stdout)
             for _ in range(REPEATS)]
    return statistics.median(times)


def bench_open(folder: Path) -> None:
    for n_traces in (16, 100, 1000):
        built = make_cache(folder / f"c{n_traces}.hdf5", n_traces=n_traces, n_origins=2)
        unknown = folder / f"foreign{n_traces}.hdf5"
        shutil.copyfile(built, unknown)
        first = _median_ms(lambda path=unknown: _open_unknown(path))
        h5_preflight.remember_sound(built)  # the unknown-file runs cleared the store
        new_process = _open_in_new_process_ms(built)
        again = _median_ms(lambda path=built: CacheFile(path, mode="r").close())
        print(f"open, {n_traces:5d} traces: unknown {first:8.1f} ms, "
              f"new process {new_process:6.1f} ms, reopen {again:6.1f} ms "
              f"(walk about {first - again:7.1f} ms)")


def bench_journal(folder: Path) -> None:
    path = make_cache(folder / "edits.hdf5", n_traces=40)
    times = []
    with CacheFile(path, mode="w") as cache:
        for n in range(300):
            started = time.perf_counter()
            cache.update(n % 40, comment=f"c{n}", onset_shift=n % 20)
            times.append((time.perf_counter() - started) * 1e3)
        records = len(cache.history())
    size = journal_path(path).stat().st_size
    print(f"journal: {records} records of 2 values, {size / records:.0f} bytes per record; "
          f"edit median {statistics.median(times):.2f} ms, "
          f"p95 {sorted(times)[int(0.95 * len(times))]:.2f} ms")


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        os.environ["XDG_CACHE_HOME"] = str(Path(folder) / "user-cache")  # child processes too
        bench_open(Path(folder))
        bench_journal(Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
