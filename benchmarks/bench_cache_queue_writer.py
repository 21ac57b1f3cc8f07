"""Many processes editing one cache: through a queue writer, and by taking turns at the lock.

Prints the time from sending an edit to its acknowledgement (median and p95) for producer
processes sending single-trace edits to one :class:`QueueWriter`, and the total time for the
same number of processes each opening the cache, waiting for the lock (``lock_timeout``),
editing and closing (each close checkpoints).

    python benchmarks/bench_cache_queue_writer.py [--producers 4] [--edits 200]

Files live in a temporary folder under /tmp and are deleted at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tracemark.io_backends.cache import CacheFile, QueueWriterHandle

# testkit/ (test-only, never installed) sits at the repository root, beside the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testkit.cache import make_cache  # noqa: E402


def produce(handle: QueueWriterHandle, producer: int, n_edits: int, start, results) -> None:
    start.wait()
    latencies = []
    for n in range(n_edits):
        began = time.perf_counter()
        handle.update((producer * 97 + n) % 400, comment=f"p{producer} n{n}")
        latencies.append(time.perf_counter() - began)
    results.put(latencies)


def take_turns(path: str, producer: int, n_edits: int, start, results) -> None:
    start.wait()
    began = time.perf_counter()
    with CacheFile(path, lock_timeout=600) as cache:
        for n in range(n_edits):
            cache.update((producer * 97 + n) % 400, comment=f"p{producer} n{n}")
    results.put(time.perf_counter() - began)


def run(target, args_of, n_producers: int) -> list:
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(n_producers + 1), context.Queue()
    processes = [context.Process(target=target, args=(*args_of(p), start, results))
                 for p in range(n_producers)]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    gathered = [results.get() for _ in processes]
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join()
    return [elapsed, gathered]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--edits", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = make_cache(Path(folder) / "bench.hdf5", n_traces=400, n_origins=2)
        with CacheFile(path, mode="w") as cache, cache.queue_writer() as service:
            elapsed, latencies = run(produce, lambda p: (service.handle, p, args.edits),
                                     args.producers)
        flat = sorted(x for per_producer in latencies for x in per_producer)
        print(f"queue writer: {args.producers} producers x {args.edits} edits in {elapsed:.2f} s; "
              f"send-to-ack median {1e3 * statistics.median(flat):.2f} ms, "
              f"p95 {1e3 * flat[int(0.95 * len(flat))]:.2f} ms")
        elapsed, _ = run(take_turns, lambda p: (str(path), p, args.edits), args.producers)
        print(f"taking turns at the lock: {args.producers} processes x {args.edits} edits "
              f"in {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
