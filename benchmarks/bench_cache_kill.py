"""The long kill test: a writer process running single edits, batches, undos and
checkpoints is SIGKILLed at random moments (default 1000 times); after each kill the cache
must open, every trace read, every acknowledged operation be present and none be half
applied (see ``testkit.cache.check_after_crash``).

    python benchmarks/bench_cache_kill.py [--kills 1000] [--seed 1]

Files live in a temporary folder under /tmp and are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tracemark.io_backends.cache import CacheFile

# testkit/ (test-only, never installed) sits at the repository root, beside the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testkit.cache import (  # noqa: E402
    Model,
    check_after_crash,
    fork_writer,
    make_cache,
    read_acks,
    wait_ready,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=0.08,
                        help="longest wait in seconds before a kill")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="tracemark-kill-", dir="/tmp") as folder:
        path = make_cache(Path(folder) / "kill.hdf5", n_traces=40)
        with CacheFile(path, mode="r") as cache:
            model = Model.of(cache)
        next_op = acknowledged = in_flight = 0
        per_run: list[int] = []
        started = time.perf_counter()
        for kill in range(args.kills):
            read_fd, write_fd = os.pipe()
            pid = fork_writer(path, next_op, 10**7, write_fd)
            os.close(write_fd)
            # Most kills strike while editing; one in five may strike while opening.
            early = wait_ready(read_fd) if rng.random() < 0.8 else b""
            time.sleep(rng.uniform(0.0, args.max_delay))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            acks = read_acks(read_fd, early)
            os.close(read_fd)
            assert acks == list(range(next_op, next_op + len(acks)))
            for n in acks:
                model.apply(n)
            next_op += len(acks)
            acknowledged += len(acks)
            per_run.append(len(acks))
            model, applied = check_after_crash(path, model, [next_op], trace_shape=(150, 2))
            if applied:
                next_op += 1
                in_flight += 1
            if (kill + 1) % 100 == 0:
                print(f"  {kill + 1} kills, {acknowledged} acknowledged operations verified",
                      flush=True)
        elapsed = time.perf_counter() - started
        journal = path.with_name(path.name + ".journal").stat().st_size
    print(f"{args.kills} SIGKILLs in {elapsed:.0f} s: {acknowledged} acknowledged operations "
          f"(median {statistics.median(per_run):.0f} per run), all present after every kill; "
          f"{in_flight} in-flight operations found applied whole, 0 half applied, 0 "
          f"unreadable caches; journal grew to {journal / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
