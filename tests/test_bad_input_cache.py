"""Bad input, all of it, for trace caches: every damaged cache opens what is valid or refuses.

The corpus (:mod:`testkit.damage_cache`) is generated in a temporary folder from a
small valid cache: the HDF5 file cut, flipped, replaced and re-laid-out, attributes of
the wrong type or value, caches from the future, damaged journals and lock files. Each
case is probed with ``CacheFile(path, mode="r")``, then ``mode="auto"`` (which may take
the writer lock and repair a torn journal), then ``"r"`` again. Either the cache opens, and
then ``len``, every ``get_trace_attrs`` and ``get_trace_data``, ``summary()``,
``history()`` and ``export_table`` work or raise a ``CacheError``; or it refuses with a
``CacheError`` whose message names the file. ``tracemark cache peek FILE`` prints a
summary or exactly one ``tracemark: error:`` line.

Journal cases say which journal records a reader must see: each record sets four values
to ``r<seq>``, so the state shows that what the HDF5 file holds is never lost, that a
record is applied whole or not at all, and, when records had to be skipped, that the
cache says so in ``problems``. Opening read-only never changes a byte of the cache, its
journal or its lock; a writable open changes the journal only where it is torn.

As in ``test_bad_input_readers.py``, cases run in worker processes (this file run as a
script, ``--worker``) with a per-case timeout and an address-space limit, so that a
crash, a hang or a giant allocation is reported as such instead of taking the test run
down with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # run as a worker script, the tests folder is not on the path
    sys.path.insert(0, str(TESTS))

from case_runner import CASE_TIMEOUT_S, WORKERS, bug_answer, run_in_workers, serve_requests  # noqa: E402

#: Fewest cases per kind (guards a shrinking corpus).
MIN_CASES = {"truncated": 40, "bitflip": 60, "foreign": 8, "suffix": 4, "layout": 30,
             "attribute": 250, "inconsistent": 10, "missing": 9, "future": 8, "root": 14,
             "journal": 80, "lock": 6, "zeroed": 20, "garbled": 20}
_RECORD_VALUE = re.compile(r"^r(\d+)$")
#: The corpus runs once, in the first test's setup: ~800 cases on a shared 2-core machine.
pytestmark = pytest.mark.timeout(900)


# -- the probe (runs inside a worker) -------------------------------------------------------------
def _companions(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + ".journal"), path.with_name(path.name + ".lock")]


def _fingerprint(path: Path) -> dict[str, str]:
    """Name -> size and content digest of the cache and its companions (folders and pipes
    by kind). Of a file over 64 MB (the 4 GB sparse journal) the first and last 16 MB."""
    out = {}
    for item in _companions(path):
        if item.is_file() and not item.is_fifo():
            size = item.stat().st_size
            with open(item, "rb") as handle:
                data = handle.read(16 << 20)
                if size > 64 << 20:
                    handle.seek(size - (16 << 20))
                    data += handle.read()
                else:
                    data += handle.read()
            out[item.name] = f"{size}:{hashlib.sha256(data).hexdigest()}"
        elif item.exists():
            out[item.name] = "folder" if item.is_dir() else "special"
    return out


def _seqs(values: list) -> dict[int, int]:
    found = Counter()
    for value in values:
        match = _RECORD_VALUE.match(value) if isinstance(value, str) else None
        if match:
            found[int(match.group(1))] += 1
    return dict(found)


def _exercise(path: Path, mode: str) -> dict:
    """Open with ``mode`` and use everything; what happened, or the bug."""
    from tracemark.io_backends.cache import CacheError, CacheFile, export_table

    try:
        cache = CacheFile(path, mode=mode)
    except CacheError as error:
        if path.name not in str(error):
            return {"outcome": "bug", "problem": f"{mode}: the message does not name the file: "
                                                 f"{error}"}
        return {"outcome": "refused", "error": type(error).__name__, "message": str(error)}
    except BaseException as error:  # noqa: BLE001 -- anything else is the bug looked for
        return bug_answer(f"CacheFile({mode!r})", error)
    found: dict = {"outcome": "opened", "writable": cache.writable,
                   "reason": cache.read_only_reason, "problems": list(getattr(cache, "problems", [])),
                   "n": len(cache), "trace_errors": 0, "values": []}
    try:
        for index in range(len(cache)):
            try:
                attrs = cache.get_trace_attrs(index)
                found["values"] += [attrs.get("comment"), attrs.get("examiner")]
            except CacheError:
                found["trace_errors"] += 1
            try:
                data = cache.get_trace_data(index)
                if not (isinstance(data, np.ndarray) and data.ndim == 2
                        and data.dtype.kind in "iuf"):
                    return {"outcome": "bug", "problem": f"{mode}: trace {index} data "
                                                         f"{getattr(data, 'shape', None)} "
                                                         f"{getattr(data, 'dtype', type(data))}"}
            except CacheError:
                found["trace_errors"] += 1
        for what, call in (("summary", cache.summary), ("history", cache.history),
                           ("export", lambda: export_table(cache, io.StringIO()))):
            try:
                call()
            except CacheError:
                found[f"{what}_error"] = True
    except BaseException as error:  # noqa: BLE001
        return bug_answer(f"using the cache opened {mode!r}", error)
    finally:
        try:
            cache.close()
        except CacheError as error:
            found["close_error"] = str(error)
        except BaseException as error:  # noqa: BLE001
            return bug_answer(f"closing the cache opened {mode!r}", error)
    found["seqs"] = _seqs(found.pop("values"))
    return found


def _peek(path: Path) -> dict:
    """``tracemark cache peek FILE`` in this process: exit code and stderr lines."""
    from tracemark.app.cli import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["cache", "peek", str(path)])
    except BaseException as error:  # noqa: BLE001 -- a traceback would reach the person
        return bug_answer("tracemark cache peek", error)
    return {"code": code, "stderr": err.getvalue().strip().splitlines()}


def probe(path: str, repairable: bool = False, journal_case: bool = False) -> dict:
    path = Path(path)
    before = _fingerprint(path)
    first = _exercise(path, "r")
    if first["outcome"] == "bug":
        return first
    if _fingerprint(path) != before:
        return {"outcome": "bug", "problem": "opening read-only changed the files"}
    writer = _exercise(path, "auto")
    if writer["outcome"] == "bug":
        return writer
    after_writer = _fingerprint(path)
    journal = path.name + ".journal"
    if not repairable and after_writer.get(journal) != before.get(journal):
        return {"outcome": "bug", "problem": "a writable open changed a journal it must keep"}
    again = _exercise(path, "r")
    if again["outcome"] == "bug":
        return again
    peek = _peek(path)
    if peek.get("outcome") == "bug":
        return peek
    folded = journal_case and writer["outcome"] == "opened" and writer["writable"]
    h5_seqs = _h5_seqs(path) if folded else None
    damaged = sorted(p.name for p in path.parent.glob(f"{path.name}.journal.damaged-*"))
    return {"outcome": first["outcome"], "r": first, "auto": writer, "again": again,
            "peek": peek, "h5_seqs": h5_seqs, "damaged_copies": damaged,
            "journal_before": before.get(journal), "journal_after": after_writer.get(journal)}


def _h5_seqs(path: Path) -> dict[int, int]:
    """Record values the HDF5 file alone holds (after a writable open folded the journal)."""
    import h5py

    values = []
    with h5py.File(path, "r") as f:
        for origin in f:
            for dataset in f[origin]["traces"].values():
                values += [dataset.attrs.get(k) for k in ("comment", "examiner")]
    return _seqs(values)


def worker_main() -> None:
    serve_requests(lambda r: probe(r["path"], r["repairable"], r["journal"]))


def run_cases(requests: list[dict], log_dir: Path, timeout: float = CASE_TIMEOUT_S
              ) -> list[tuple[dict, float]]:
    """(answer, seconds) per request, in order, from worker processes."""
    return run_in_workers(requests, __file__, log_dir, timeout)


# -- the corpus and its results -------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory, file_paths):
    """Made afresh for each file-paths mode: a writable probe repairs what it may."""
    from testkit.damage_cache import cache_variants, write_cache_source

    root = tmp_path_factory.mktemp("bad_cache")
    return cache_variants(write_cache_source(root / "source"), root / "damaged")


#: How long the workers' HDF5 pre-flight waits for progress before it calls a file stuck
#: (10 s by default; shorter keeps the cases where HDF5 loops well inside the hang timeout).
STALL_S = "2"


#: The kinds of damage the portable file paths (``tests/conftest.py``) are run over: those
#: whose handling goes through the journal's reads and the writer lock, where the two paths
#: differ. The rest is damage to the HDF5 file, which h5py reads alike on both paths; run
#: twice, it would double the longest test of the suite for nothing.
PORTABLE_KINDS = ("journal", "lock")


def needs_the_whole_corpus(file_paths: str) -> None:
    if file_paths == "portable":
        pytest.skip(f"the portable file paths run the {', '.join(PORTABLE_KINDS)} cases only")


@pytest.fixture(scope="module")
def results(corpus, tmp_path_factory, file_paths):
    """Every case's answer, from workers on the native file paths or the portable ones
    (there, the :data:`PORTABLE_KINDS` cases only)."""
    if file_paths == "portable":
        corpus = [case for case in corpus if case.kind in PORTABLE_KINDS]
    started = time.perf_counter()
    previous = os.environ.get("TRACEMARK_HDF5_STALL_S")
    os.environ["TRACEMARK_HDF5_STALL_S"] = STALL_S
    try:
        answers = run_cases([{"path": str(c.path), "repairable": c.repairable,
                              "journal": c.visible is not None} for c in corpus],
                            tmp_path_factory.mktemp("cache_worker_logs"))
    finally:
        if previous is None:
            del os.environ["TRACEMARK_HDF5_STALL_S"]
        else:
            os.environ["TRACEMARK_HDF5_STALL_S"] = previous
    elapsed = time.perf_counter() - started
    counts = Counter((c.kind, a["outcome"]) for c, (a, _) in zip(corpus, answers))
    slowest = max(seconds for _, seconds in answers)  # speed: benchmarks/bench_bad_cache.py
    print(f"\nbad-cache corpus: {len(corpus)} cases in {elapsed:.1f} s, the slowest {slowest:.1f} s; "
          + ", ".join(f"{k}/{o}: {n}" for (k, o), n in sorted(counts.items())))
    return [(case, answer, seconds) for case, (answer, seconds) in zip(corpus, answers)]


def _report(bad) -> str:
    lines = [f"{len(bad)} damaged caches were not handled:"]
    lines += [f"  [{a['outcome']}] {c.path.name} ({c.description}): {a.get('problem', a)}"
              for c, a, _ in bad[:40]]
    return "\n".join(lines)


def test_the_corpus_covers_every_kind_of_damage(corpus):
    kinds = Counter(c.kind for c in corpus)
    assert all(kinds[k] >= n for k, n in MIN_CASES.items()), kinds
    assert len({c.path.name for c in corpus}) == len(corpus)


def test_every_damaged_cache_opens_or_raises_a_typed_error(results, file_paths):
    bad = [r for r in results if r[1]["outcome"] not in ("opened", "refused")]
    assert not bad, _report(bad)
    needs_the_whole_corpus(file_paths)
    outcomes = {kind: Counter(a["outcome"] for c, a, _ in results if c.kind == kind)
                for kind in MIN_CASES}
    # Both kinds of damage are present: what must be refused, and what must still open.
    assert outcomes["truncated"]["refused"] and outcomes["foreign"]["refused"]
    for kind in ("attribute", "inconsistent", "missing", "future", "root", "journal", "lock",
                 "suffix", "layout"):
        assert outcomes[kind]["opened"] > 0, (kind, outcomes[kind])


def test_the_cli_prints_one_error_line_or_a_summary(results):
    for case, answer, _ in results:
        peek = answer["peek"]
        if answer["again"]["outcome"] == "refused":
            assert peek["code"] != 0, case.path.name
        if peek["code"] != 0:
            assert len(peek["stderr"]) == 1, (case.path.name, peek)
            assert peek["stderr"][0].startswith("tracemark: error:"), (case.path.name, peek)
            assert case.path.name in peek["stderr"][0], (case.path.name, peek)


def _journal_results(results):
    return [(c, a) for c, a, _ in results if c.visible is not None]


def test_a_damaged_journal_never_loses_the_hdf5_file_and_never_applies_half_a_record(results):
    from testkit.damage_cache import FOLDED

    cases = _journal_results(results)
    assert len(cases) >= 80
    for case, answer in cases:
        for mode in ("r", "auto", "again"):
            opened = answer[mode]
            assert opened["outcome"] == "opened", (case.path.name, mode, opened)
            seqs = {int(k): v for k, v in opened["seqs"].items()}
            assert all(n == 4 for n in seqs.values()), (case.path.name, mode, seqs)
            assert sorted(seqs) == list(case.visible), (case.path.name, mode, sorted(seqs))
            assert set(FOLDED) <= set(seqs)
        if answer["h5_seqs"] is not None:  # a writer folded the journal into the file
            h5 = {int(k): v for k, v in answer["h5_seqs"].items()}
            assert sorted(h5) == list(case.visible), (case.path.name, h5)


def test_the_user_learns_what_was_skipped_and_damage_is_kept(results):
    told = 0
    for case, answer in _journal_results(results):
        journal = case.path.name + ".journal"
        problems = answer["r"]["problems"]
        if case.skipped:
            assert any(journal in p for p in problems), (case.path.name, problems)
            assert not answer["auto"]["writable"], case.path.name
            assert journal in (answer["auto"]["reason"] or ""), (case.path.name, answer["auto"])
            told += 1
        if case.repairable and answer["journal_after"] != answer["journal_before"]:
            # A cut that removed complete lines keeps them beside the journal.
            assert answer["auto"]["writable"], case.path.name
    assert told >= 20


def test_a_bad_record_in_the_middle_blocks_writing_but_a_torn_tail_is_cut(results):
    by_name = {c.path.name: (c, a) for c, a, _ in results}
    middle = by_name["cache~journal.flip-middle-checksum.hdf5"][1]
    assert middle["r"]["problems"] and not middle["auto"]["writable"]
    assert "2 later records" in " ".join(middle["r"]["problems"])
    assert middle["journal_after"] == middle["journal_before"]
    torn = by_name["cache~journal.torn7.18.hdf5"][1]
    assert torn["auto"]["writable"] and torn["journal_after"] != torn["journal_before"]
    assert not torn["damaged_copies"]  # an incomplete line is no record: nothing to keep
    last = by_name["cache~journal.flip-last-payload.hdf5"][1]
    assert last["auto"]["writable"] and last["damaged_copies"]  # a whole line is kept


def test_read_only_problems_are_told_and_writing_is_refused(results, file_paths):
    needs_the_whole_corpus(file_paths)
    by_name = {c.path.name: a for c, a, _ in results}
    future = by_name["cache~format=99.hdf5"]
    assert future["r"]["outcome"] == "opened" and not future["auto"]["writable"]
    assert "format" in future["auto"]["reason"] and future["r"]["problems"]
    assert by_name["cache~format=int1.hdf5"]["auto"]["writable"]  # 1 stored as a number
    assert by_name["cache~root=unknown.hdf5"]["auto"]["writable"]
    for name in ("cache~trace=group.hdf5", "cache~data=3d.hdf5", "cache~data=strings.hdf5",
                 "cache~data=huge.hdf5", "cache~data=3cols.hdf5", "cache~link=soft-broken.hdf5"):
        opened = by_name[name]["r"]
        assert opened["outcome"] == "opened" and opened["trace_errors"] >= 1, (name, opened)
    assert by_name["cache~empty.hdf5"]["r"]["error"] == "CacheFormatError"
    assert by_name["cache~plain-hdf5.hdf5"]["r"]["outcome"] == "refused"


def test_the_cli_on_a_sample_exits_as_a_person_expects(results, file_paths):
    """``tracemark cache peek`` in a real process: no traceback, one line on failure."""
    needs_the_whole_corpus(file_paths)
    sample, seen = [], set()
    for case, answer, _ in results:
        key = (case.kind, answer["outcome"])
        if key not in seen:
            seen.add(key)
            sample.append((case, answer))
    assert len(sample) >= 14

    def run(item):
        case, _ = item
        return subprocess.run([sys.executable, "-m", "tracemark", "cache", "peek",
                               str(case.path)], capture_output=True, text=True, timeout=60,
                              cwd=str(TESTS.parent))

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(WORKERS) as pool:
        runs = list(pool.map(run, sample))
    for (case, answer), done in zip(sample, runs):
        assert "Traceback" not in done.stdout + done.stderr, case.path.name
        if answer["outcome"] == "refused":
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 1 and len(lines) == 1, (case.path.name, done.stderr)
            assert lines[0].startswith("tracemark: error:") and case.path.name in lines[0]
        else:
            assert done.returncode == 0 and "traces from" in done.stdout, (case.path.name,
                                                                             done.stderr)


def test_the_runner_reports_a_hang(tmp_path):
    answers = run_cases([{"path": "x", "repairable": False, "journal": False,
                           "selftest": "hang"}], tmp_path,
                        timeout=2.0)
    assert answers[0][0]["outcome"] == "hang" and answers[0][1] < 10


def test_the_corpus_is_reproducible(tmp_path):
    from testkit.damage_cache import cache_variants, write_cache_source

    source = write_cache_source(tmp_path / "source")
    first = cache_variants(source, tmp_path / "a", seed=3)
    again = cache_variants(source, tmp_path / "b", seed=3)
    assert [c.path.name for c in first] == [c.path.name for c in again]
    same = [a.path.read_bytes() == b.path.read_bytes() for a, b in zip(first, again)
            if a.path.is_file() and a.kind in ("bitflip", "truncated", "journal")]
    assert same and all(same)


if __name__ == "__main__" and "--worker" in sys.argv:
    worker_main()
