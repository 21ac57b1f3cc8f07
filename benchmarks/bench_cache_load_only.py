"""Speed of ``CacheFile.load_only``: one attribute of every trace of a 100,000-trace cache
(goal: <= 0.5 s), with committed edits still in the journal, against a lean reference that
reads the same attribute the plain h5py way, trace by trace (``traces[name].attrs[key]``).

    python benchmarks/bench_cache_load_only.py [--traces 100000] [--repeats 7]
                                               [--reference-traces 2000] [--cache PATH]

The cache is generated with h5py in the layout ``build_cache`` writes (two origins, tiny
traces, 17 attributes per trace, attribute tables), in a temporary folder unless
``--cache`` names a file to create once and reuse. The reference is timed over
``--reference-traces`` traces spread over the cache and scaled to all of them (reading
100,000 traces that way takes minutes); the scaling is printed.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from tracemark.io_backends.cache import CacheFile, columns, schema
from tracemark.io_backends.cache.layout import (
    ATTR_APPLIED_SEQ,
    ATTR_CACHE_ID,
    ATTR_FORMAT,
    ATTR_JOURNAL_OFFSET,
    FORMAT_VERSION,
    TRACES,
    read_trace_attr,
)

KEY = "reject"
N_EDITS = 200


def write_cache(path: Path, n_traces: int) -> None:
    """A cache as ``build_cache`` lays it out, written directly (building one from a
    recording takes minutes at this size)."""
    with h5py.File(path, "w") as f:
        f.attrs[ATTR_FORMAT] = FORMAT_VERSION
        f.attrs[ATTR_CACHE_ID] = "bench" + "0" * 27
        f.attrs[ATTR_APPLIED_SEQ] = "0"
        f.attrs[ATTR_JOURNAL_OFFSET] = "0"
        per_origin = n_traces // 2
        for o in range(2):
            group = f.create_group(f"rec{o}.trc")
            for key, value in {"channel_labels": ["EMG0", "EMG1"], "samples_pre_event": 2,
                               "samples_post_event": 4, "samplingrate": 1000.0,
                               "readout": "contralateral_mep"}.items():
                group.attrs[key] = schema.encode(value)
            traces = group.create_group(TRACES)
            data = np.zeros((6, 2), dtype=np.float32)
            rows = []
            for n in range(per_origin):
                stored = {key: schema.encode(value) for key, value in trace_attrs(n).items()}
                dataset = traces.create_dataset(str(n), data=data)
                for key, text in stored.items():
                    dataset.attrs[key] = text
                rows.append(stored)
            columns.write_table(group, [str(n) for n in range(per_origin)], rows)
    columns.stamp_file(path)


def trace_attrs(n: int) -> dict:
    return {"id": n, "event_name": "TMS", "event_sample": 200 * n + 100,
            "event_time": round(0.2 * n + 0.1, 9), "onset_shift": 0,
            "time_since_last_pulse_in_s": math.inf if n == 0 else 0.2,
            "reject": n % 7 == 0, "reviewed": False, "comment": "", "examiner": "",
            **{key: None for key in schema.READOUTS["contralateral_mep"]}}


def reference_seconds_per_trace(path: Path, n_sample: int) -> dict[str, float]:
    """Seconds per trace of the plain h5py way (``attrs[key]``) and of h5py's low-level API
    (``h5o.open`` + ``h5a.open`` + ``read``, what ``CacheFile`` uses for one trace), over
    ``n_sample`` traces spread over the cache."""
    with h5py.File(path, "r") as f:
        groups = {o: f[o][TRACES] for o in sorted(f)}
        names = [(o, n) for o, group in groups.items() for n in group]
        sample = names[::max(1, len(names) // n_sample)][:n_sample]
        ways = {"plain h5py attrs[key]": lambda group, name: group[name].attrs[KEY],
                "h5py low-level h5o/h5a": lambda group, name: read_trace_attr(group, name, KEY)}
        out = {}
        for label, read in ways.items():
            t0 = time.perf_counter()
            values = [read(groups[o], n) for o, n in sample]
            out[label] = (time.perf_counter() - t0) / len(sample)
            assert len(values) == len(sample)
    return out


def time_load_only(path: Path, repeats: int) -> tuple[float, list[float], int]:
    """(first call after open, repeated calls, traces) with ``N_EDITS`` journal edits
    pending, so the overlay path is part of what is timed."""
    with CacheFile(path, idle_checkpoint_s=1e9) as cache:
        n = len(cache)
        for i in range(N_EDITS):
            cache.update((i * 499) % n, reject=True, note="bench")
        t0 = time.perf_counter()
        first = cache.load_only([KEY])[KEY]
        first_s = time.perf_counter() - t0
        repeated = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            column = cache.load_only([KEY])[KEY]
            repeated.append(time.perf_counter() - t0)
        assert column == first and len(column) == n
        assert all(column[(i * 499) % n] is True for i in range(N_EDITS))
    return first_s, repeated, n


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--reference-traces", type=int, default=2000)
    parser.add_argument("--cache", type=Path, help="cache file to create once and reuse")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-load-only-") as folder:
        path = args.cache or Path(folder) / "bench.hdf5"
        if not path.exists():
            t0 = time.perf_counter()
            write_cache(path, args.traces)
            print(f"wrote {args.traces} traces in {time.perf_counter() - t0:.1f} s: {path}")
        first_s, repeated, n = time_load_only(path, args.repeats)
        per_trace = reference_seconds_per_trace(path, args.reference_traces)
    median = statistics.median(repeated)
    print(f"load_only([{KEY!r}]) over {n} traces, {N_EDITS} edits pending in the journal")
    print(f"  first call after open: {first_s * 1e3:8.1f} ms (opens and checks the tables)")
    print(f"  repeated ({len(repeated)}x):     median {median * 1e3:8.1f} ms   "
          f"p95 {percentile(repeated, 95) * 1e3:8.1f} ms")
    for label, seconds in per_trace.items():
        reference = seconds * n
        print(f"reference, {label} per trace: {seconds * 1e3:.3f} ms/trace over "
              f"{args.reference_traces} traces -> {reference:.1f} s for {n} traces; "
              f"ratio to load_only: {reference / median:.0f}x (first call: "
              f"{reference / first_s:.0f}x)")


if __name__ == "__main__":
    main()
