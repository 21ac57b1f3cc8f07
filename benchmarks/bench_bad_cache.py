"""How long a damaged trace cache takes to be opened or refused, case by case.

Runs the bad-cache corpus of ``tests/test_bad_input_cache.py`` (every kind of damage that
:mod:`testkit.damage_cache` makes) through the same worker processes and the same probe
as that test, and prints the time per case: median, p95, the slowest cases, and how many
took longer than ``--slow`` seconds. The test suite checks only that each case answers
before the workers' hang timeout; how fast the answer comes is this benchmark's job.

    python benchmarks/bench_bad_cache.py [--folder /tmp/tracemark-bench-bad-cache] [--slow 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(REPO))

from case_runner import run_in_workers  # noqa: E402

from testkit.damage_cache import cache_variants, write_cache_source  # noqa: E402

#: As in the test: the pre-flight calls an HDF5 walk stuck after this long without progress.
STALL_S = "2"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=None, help="where the corpus goes (default: a temporary one)")
    parser.add_argument("--slow", type=float, default=5.0, help="seconds past which a case is counted as slow")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tracemark-bad-cache-") as scratch:
        root = args.folder or Path(scratch)
        corpus = cache_variants(write_cache_source(root / "source"), root / "damaged")
        requests = [{"path": str(c.path), "repairable": c.repairable, "journal": c.visible is not None}
                    for c in corpus]
        os.environ["TRACEMARK_HDF5_STALL_S"] = STALL_S
        (root / "logs").mkdir(parents=True, exist_ok=True)
        answers = run_in_workers(requests, TESTS / "test_bad_input_cache.py", root / "logs")
    seconds = np.array([s for _, s in answers])
    print(f"{len(corpus)} damaged caches: median {np.median(seconds):.2f} s, "
          f"p95 {np.percentile(seconds, 95):.2f} s, max {seconds.max():.2f} s, "
          f"{int((seconds > args.slow).sum())} over {args.slow:g} s")
    for i in np.argsort(seconds)[::-1][:5]:
        print(f"  {seconds[i]:6.2f} s  {corpus[i].kind:<12} {corpus[i].path.name}  ({answers[i][0]['outcome']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
