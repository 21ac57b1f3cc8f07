"""Bad input, all of it, for the readers: every damaged file opens what is valid or refuses.

A corpus of damaged files (:mod:`testkit.damage`) is generated in a temporary
folder from small files Tracemark writes itself and, when present, copies of the files
in ``../shared/data``. Each case is probed by ``open_recording``: either it opens, and
then its header is sane (finite positive rates, non-negative sample counts, one unit,
gain and offset per channel, all finite) and reading every stream's first, middle and
last window and its events either works (float32, the right shape) or raises a
``RecordingError``; or it refuses with a ``RecordingError`` subclass whose message names
the file. Anything else is a bug in a backend: another exception, a crash, a hang, or a
giant allocation.

Crashes, hangs and allocations cannot be caught inside the test process, so cases run in
worker processes (this file run as a script, ``--worker``) that answer one JSON line per
case. The parent gives each case :data:`CASE_TIMEOUT_S`; a worker that dies or overruns
is killed, the case recorded as a crash or a hang, and a fresh worker takes the rest.
Workers run with an address-space limit (:data:`WORKER_MEMORY_BYTES`), so a corrupted
count that asks for gigabytes fails loudly as ``MemoryError`` instead of thrashing the
machine. ``tracemark info`` is run as a person would run it on a sample of the corpus.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # run as a worker script, the tests folder is not on the path
    sys.path.insert(0, str(TESTS))

from case_runner import CASE_TIMEOUT_S, WORKERS, bug_answer, run_in_workers, serve_requests  # noqa: E402
from conftest import shared_files  # noqa: E402

#: Samples per probed window (start, middle, end of every stream).
WINDOW = 257
#: Fewest cases each format must contribute without ../shared/data (guards a shrinking corpus).
MIN_CASES = {"trc": 150, "edf": 150, "nwb": 60, "neo": 25, "any": 40}


# -- the probe (runs inside a worker) -------------------------------------------------------------
def probe(path: str, format: str | None = None) -> dict:
    """Open ``path`` and exercise it; a dict saying what happened and, for a bug, where."""
    from tracemark.io_backends import RecordingError, open_recording

    name = Path(path).name
    try:
        recording = open_recording(path, format=format)
    except RecordingError as error:
        if name not in str(error):
            return {"outcome": "bug", "problem": f"the message does not name the file: {error}"}
        return {"outcome": "refused", "error": type(error).__name__, "message": str(error)}
    except BaseException as error:  # noqa: BLE001 -- anything else is the bug being looked for
        return bug_answer("open_recording", error)
    problems = []
    with recording:
        try:
            problems += _header_problems(recording.header)
        except BaseException as error:  # noqa: BLE001
            return bug_answer("checking the header", error)
        for index, stream in enumerate(recording.header.streams):
            problems += _exercise_stream(recording, index, stream, RecordingError)
        try:
            events = recording.events()
            problems += [f"event {e!r} has a non-finite time or duration" for e in events
                         if not (np.isfinite(e.time_s) and np.isfinite(e.duration_s))][:3]
        except RecordingError:
            pass
        except BaseException as error:  # noqa: BLE001
            return bug_answer("events()", error)
    if problems:
        return {"outcome": "bug", "problem": "; ".join(problems[:5])}
    return {"outcome": "opened", "streams": len(recording.header.streams),
            "format": recording.header.format_name}


def _header_problems(header) -> list[str]:
    problems = []
    for s in header.streams:
        where = f"stream {s.name!r}"
        if not (np.isfinite(s.sampling_rate) and s.sampling_rate > 0):
            problems.append(f"{where}: sampling rate {s.sampling_rate}")
        if not (isinstance(s.n_samples, (int, np.integer)) and s.n_samples >= 0):
            problems.append(f"{where}: n_samples {s.n_samples!r}")
        n = len(s.channel_names)
        if not (len(s.units) == n == s.gains.shape[0] == s.offsets.shape[0]):
            problems.append(f"{where}: {n} names, {len(s.units)} units, {s.gains.shape} gains")
        if not (np.all(np.isfinite(s.gains)) and np.all(np.isfinite(s.offsets))):
            problems.append(f"{where}: non-finite gains or offsets")
        if not np.isfinite(s.start_offset_s) or not np.isfinite(s.duration_s):
            problems.append(f"{where}: start {s.start_offset_s}, duration {s.duration_s}")
    return problems


def _exercise_stream(recording, index: int, stream, RecordingError) -> list[str]:
    n = stream.n_samples
    starts = sorted({0, max(n // 2 - WINDOW // 2, 0), max(n - WINDOW, 0)})
    problems = []
    try:
        # What a viewer asks first: the opening seconds, whatever the stream's clock says.
        first = stream.start_offset_s
        recording.read(first - 1.0, first + 10.0, channels=[0], stream=index)
    except RecordingError:
        pass
    except BaseException as error:  # noqa: BLE001
        return [bug_answer(f"reading the first 10 s of stream {index}", error)["problem"]]
    for i_start in starts:
        i_stop = min(i_start + WINDOW, n)
        try:
            block = recording.read_samples(i_start, i_stop, stream=index)
            if block.dtype != np.float32 or block.shape != (i_stop - i_start, stream.n_channels):
                problems.append(f"stream {index} window {i_start}: {block.dtype} {block.shape}")
            times = recording.sample_times(i_start, i_stop, stream=index)
            t0 = float(times[0]) if len(times) else stream.start_offset_s
            by_time = recording.read(t0, t0 + WINDOW / stream.sampling_rate, stream=index)
            if by_time.dtype != np.float32 or by_time.shape[1] != stream.n_channels:
                problems.append(f"stream {index} read by time at {t0}: {by_time.shape}")
        except RecordingError:
            continue
        except BaseException as error:  # noqa: BLE001
            bug = bug_answer(f"reading stream {index} samples {i_start}..{i_stop}", error)
            problems.append(bug["problem"])
            break
    return problems


def worker_main() -> None:
    serve_requests(lambda request: probe(request["path"], request.get("format")))


# -- the runner (runs in the test process) --------------------------------------------------------
@dataclass
class Result:
    case: object
    outcome: str  # "opened", "refused", "bug", "hang", "crash"
    detail: dict
    seconds: float


def run_cases(cases, log_dir: Path, timeout: float = CASE_TIMEOUT_S, workers: int = WORKERS,
              request=lambda case: {"path": str(case.path)}) -> list[Result]:
    """Probe every case in worker processes; one Result per case, in input order."""
    answers = run_in_workers([request(case) for case in cases], __file__, log_dir, timeout, workers)
    return [Result(case, answer["outcome"], answer, seconds)
            for case, (answer, seconds) in zip(cases, answers)]


def _report(results: list[Result]) -> str:
    bad = [r for r in results if r.outcome in ("bug", "hang", "crash")]
    lines = [f"{len(bad)} of {len(results)} damaged files were not handled:"]
    lines += [f"  [{r.outcome}] {r.case.path.name} ({r.case.description}): "
              f"{r.detail.get('problem', '')}" for r in bad[:40]]
    return "\n".join(lines)


# -- the corpus -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    from testkit.damage import damaged_variants, foreign_variants, shrink, write_sources

    root = tmp_path_factory.mktemp("bad_input")
    sources = write_sources(root / "sources")
    cases = []
    for source in sources:
        cases += damaged_variants(source, root / "damaged")
    cases += foreign_variants(sources, root / "damaged")
    shared = shared_files("trc", ".trc") + shared_files("nwb", ".nwb") + shared_files(
        "edf", ".edf", ".bdf")
    for original in shared:
        # ../shared is only read: its header and first samples are copied, then damaged.
        copy = shrink(original, root / "shared")
        cases += damaged_variants(copy, root / "damaged_shared", extent=_extent(copy))
    return cases


def _extent(path: Path) -> str:
    """Fewer variants of bigger files (NWB files cannot be shrunk): tens of MB in all."""
    size = path.stat().st_size
    return "light" if size < 1 << 20 else "sample" if size < 4 << 20 else "glimpse"


@pytest.fixture(scope="session")
def results(corpus, tmp_path_factory):
    started = time.perf_counter()
    outcome = run_cases(corpus, tmp_path_factory.mktemp("worker_logs"))
    elapsed = time.perf_counter() - started
    counts = Counter((r.case.fmt, r.outcome) for r in outcome)
    print(f"\nbad-input corpus: {len(outcome)} cases in {elapsed:.1f} s; "
          + ", ".join(f"{fmt}/{what}: {n}" for (fmt, what), n in sorted(counts.items())))
    return outcome


@pytest.mark.parametrize("fmt", ["trc", "edf", "nwb", "neo", "any"])
def test_every_damaged_file_opens_or_raises_a_typed_error(results, fmt):
    mine = [r for r in results if r.case.fmt == fmt]
    generated = [r for r in mine if "shared" not in r.case.path.parent.name]
    assert len(generated) >= MIN_CASES[fmt]
    bad = [r for r in mine if r.outcome not in ("opened", "refused")]
    assert not bad, _report(mine)
    # The corpus holds both kinds: damage a reader tolerates and damage it must refuse.
    outcomes = Counter(r.outcome for r in mine)
    assert outcomes["refused"] > 0 and (fmt == "any" or outcomes["opened"] > 0), outcomes


def test_refusals_use_the_narrowest_fitting_error(results):
    """Truncated files say so; a damaged known format is not called an unknown one."""
    def refused(kind, fmt):
        return [r for r in results if r.outcome == "refused" and r.case.kind == kind
                and r.case.fmt == fmt]

    for fmt in ("trc", "edf", "nwb"):
        cuts = refused("truncated", fmt)
        assert cuts
        # Only a file cut inside its magic number cannot be told from a foreign one.
        wrong = [r for r in cuts if r.case.path.stat().st_size >= 32 and r.detail["error"]
                 not in ("TruncatedRecordingError", "CorruptRecordingError")]
        assert not wrong, [(r.case.path.name, r.detail["message"]) for r in wrong]
    fields = [r for r in refused("field", "trc") + refused("field", "edf")
              if r.detail["error"] == "RecordingError"]
    assert not fields, [(r.case.path.name, r.detail["message"]) for r in fields[:5]]


def test_a_time_window_at_a_huge_damaged_rate_is_clipped_not_overflowed(corpus):
    from tracemark.io_backends import open_recording

    case = next(c for c in corpus if c.path.name == "small_4ch_200Hz~rate=1e308.nwb")
    with open_recording(case.path) as recording:
        stream = recording.header.streams[0]
        assert stream.sampling_rate == 1e308
        assert recording.sample_range(0.0, 10.0) == (0, stream.n_samples)  # 10 s x 1e308 is inf
        assert recording.read(-5.0, 10.0, channels=[0]).shape == (stream.n_samples, 1)


def test_forcing_any_backend_on_any_file_opens_or_raises_a_typed_error(corpus, tmp_path):
    """``open_recording(path, format=...)`` (``tracemark info --format``) skips the sniffing."""
    @dataclass(frozen=True)
    class Forced:
        path: Path
        format: str
        description: str = ""

    sources = sorted({c.path.parent.parent / "sources" / c.source for c in corpus
                      if c.source and c.path.parent.name == "damaged" and c.kind != "suffix"})
    sources += [c.path for c in corpus if c.kind == "random"][:6]
    sources += [c.path for c in corpus if c.path.name == "synthetic~fifo.edf"]
    cases = [Forced(path, fmt) for path in sources for fmt in ("trc", "nwb", "edf", "neo")]
    results = run_cases(cases, tmp_path,
                        request=lambda c: {"path": str(c.path), "format": c.format})
    bad = [(r.case.path.name, r.case.format, r.outcome, r.detail.get("problem")) for r in results
           if r.outcome not in ("opened", "refused")]
    assert not bad
    opened = {(r.case.path.suffix.lower(), r.case.format) for r in results if r.outcome == "opened"}
    assert (".trc", "trc") in opened and (".edf", "edf") in opened and (".nwb", "nwb") in opened
    assert (".edf", "trc") not in opened and (".trc", "nwb") not in opened


#: Damage that escaped as a bare exception, a giant allocation or a hang before the
#: backends were fixed, and what it raises now: (case file name, error, words in the message).
FIXED = [
    ("small_2rates~signals=1e9.edf", "TruncatedRecordingError", "1000000000 signals need"),
    ("status~signals=9e99.bdf", "TruncatedRecordingError", "signals need"),
    ("small_2rates~plusD=far.bdf", "CorruptRecordingError",
     "data record 2 has no valid time-keeping annotation"),
    ("small_4ch_200Hz~starting_time=nan.nwb", "CorruptRecordingError", "starting_time is nan"),
    ("small_4ch_200Hz~conversion=inf.nwb", "CorruptRecordingError", "scaling is not finite"),
    ("small_4ch_200Hz~conversion=nan.nwb", "CorruptRecordingError", "scaling is not finite"),
    ("small_4ch_200Hz~offset=inf.nwb", "CorruptRecordingError", "scaling is not finite"),
    ("small_4ch_200Hz~channel_conversion=nan.nwb", "CorruptRecordingError",
     "scaling is not finite"),
    ("small_4ch_200Hz~electrodes.table=dataset.nwb", "CorruptRecordingError", "not a table"),
    ("small_4ch_200Hz~channel_conversion=huge.nwb", "CorruptRecordingError",
     "channel_conversion has 1099511627776 values"),
    ("small_4ch_200Hz~electrodes=huge.nwb", "CorruptRecordingError", "1099511627776 electrodes"),
    ("small_4ch_200Hz~electrode-ids=huge.nwb", "CorruptRecordingError", "declares 1099511627776"),
    ("small_4ch_200Hz~labels=huge.nwb", "CorruptRecordingError", "declares 1099511627776"),
    ("small_4ch_200Hz~table.start=huge.nwb", "CorruptRecordingError", "declares 1099511627776"),
    ("small_4ch_200Hz~table.label=huge.nwb", "CorruptRecordingError", "declares 1099511627776"),
    ("small_4ch_200Hz~event-series=huge.nwb", "CorruptRecordingError", "declares 1099511627776"),
    ("synthetic~fifo.edf", "UnsupportedFormatError", "not a regular file"),
    ("small_3ch_500Hz~SamplingInterval=-1000.vhdr", "CorruptRecordingError",
     "'Signals' has a sampling rate of -1000.0 Hz"),
    ("small_3ch_500Hz~Ch1=E1_nan_V.vhdr", "CorruptRecordingError", "non-finite gains"),
    ("small_3ch_500Hz~Ch1=E1_inf_V.vhdr", "CorruptRecordingError", "non-finite gains"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name, error, words", FIXED, ids=[f[0] for f in FIXED])
def test_damage_that_used_to_escape_raises_its_typed_error(corpus, name, error, words):
    from tracemark.io_backends import errors, open_recording

    case = next((c for c in corpus if c.path.name == name), None)
    if case is None and name.endswith("fifo.edf"):
        pytest.skip("this platform has no named pipes")
    assert case is not None, f"the corpus no longer makes {name}"
    with pytest.raises(getattr(errors, error), match=re.escape(words)) as raised:
        open_recording(case.path).close()
    assert type(raised.value).__name__ == error
    assert name in str(raised.value)


@pytest.mark.parametrize("name", ["small_2rates~tal0=huge.edf", "small_2rates~tal0=huge.bdf",
                                  "small_2rates~tal0=before-year-1.edf"])
def test_an_edf_start_onset_that_is_no_time_is_ignored_like_a_missing_one(corpus, name):
    """10**60 s (or, in the BDF's wide annotations, an overflow to inf) used to raise
    OverflowError from the start date; the samples are intact, so the file opens."""
    from tracemark.io_backends import open_recording

    case = next(c for c in corpus if c.path.name == name)
    with open_recording(case.path) as recording:
        start = recording.header.start_datetime
        if "year-1" in name:
            assert start is None  # 1 Jan 0001 minus 11 days is no date Python can hold
        else:
            assert start == datetime(2022, 6, 1, 10, 20, 30)  # the header's own start
        labels = [e.label for e in recording.events()]
    assert "stimulus" in labels and "end" in labels  # record 0's own annotation is overwritten


def test_an_edf_annotation_at_an_infinite_time_is_counted_as_malformed(corpus):
    from tracemark.io_backends import open_recording

    for name in ("small_2rates~tal1=huge-duration.bdf", "small_2rates~tal1=huge-onset.bdf"):
        case = next(c for c in corpus if c.path.name == name)
        with open_recording(case.path) as recording:
            events = recording.events()
            assert all(np.isfinite(e.time_s) and np.isfinite(e.duration_s) for e in events)
            assert recording.annotation_problems.count == 1, name


def test_a_series_declaring_two_billion_channels_is_skipped_not_allocated(corpus):
    from tracemark.io_backends import open_recording

    case = next(c for c in corpus if c.path.name == "small_4ch_200Hz~data=huge-channels.nwb")
    with open_recording(case.path) as recording:
        names = [s.name for s in recording.header.streams]
        not_shown = dict(recording.header.details)["not shown"]
    assert names == ["pressure"]  # the other series of the file is still shown
    assert "ElectricalSeries (2147483648 channels, more than 65536" in not_shown


def test_content_wins_over_the_suffix_and_empty_files_say_so(results):
    renamed = [r for r in results if r.case.kind == "suffix"]
    assert len(renamed) >= 15
    expected = {".trc": ("Micromed TRC",), ".edf": ("EDF",), ".bdf": ("BDF",), ".nwb": ("NWB",)}
    for r in renamed:
        original_suffix = Path(r.case.source).suffix.lower()
        assert r.outcome == "opened", (r.case.path.name, r.detail)
        assert r.detail["format"].startswith(expected[original_suffix]), (r.case.path, r.detail)
    empty = [r for r in results if r.case.kind == "empty"]
    assert empty and all(r.detail.get("error") == "UnsupportedFormatError"
                         and "empty (0 bytes)" in r.detail["message"] for r in empty)


def test_the_corpus_is_reproducible_and_every_variant_is_damaged(tmp_path):
    from testkit.damage import damaged_variants, write_sources

    source = next(p for p in write_sources(tmp_path / "sources") if p.suffix == ".edf")
    first = damaged_variants(source, tmp_path / "a", seed=7)
    again = damaged_variants(source, tmp_path / "b", seed=7)
    assert [c.path.name for c in first] == [c.path.name for c in again]
    assert all(a.path.read_bytes() == b.path.read_bytes() for a, b in zip(first, again))
    original = source.read_bytes()
    assert all(c.path.read_bytes() != original for c in first)
    assert len({c.path.name for c in first}) == len(first)


_CUT_WHILE_OPEN = """
import os, sys
from tracemark.io_backends import TruncatedRecordingError, open_recording
for path in sys.argv[1:]:
    recording = open_recording(path)
    recording.read_samples(0, 10)
    os.truncate(path, os.path.getsize(path) // 2)
    for action in ("read", "events"):
        try:
            recording.read_samples(0, 10**9) if action == "read" else recording.events()
            print(os.path.basename(path), action, "ok")
        except TruncatedRecordingError:
            print(os.path.basename(path), action, "TruncatedRecordingError")
"""


def test_a_file_cut_while_open_raises_instead_of_killing_the_process(corpus, tmp_path):
    """Reading a mapped page past a shrunken file's end is a SIGBUS; reads check the size."""
    sources = sorted({c.path.parent.parent / "sources" / c.source for c in corpus
                      if c.fmt in ("trc", "edf") and c.path.parent.name == "damaged"})
    copies = []
    for source in sources:
        copies.append(tmp_path / source.name)
        copies[-1].write_bytes(source.read_bytes())
    done = subprocess.run([sys.executable, "-c", _CUT_WHILE_OPEN, *map(str, copies)],
                          capture_output=True, text=True, timeout=120, cwd=str(TESTS.parent))
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # -7 is SIGBUS
    lines = done.stdout.splitlines()
    assert len(lines) == 2 * len(copies) >= 8
    reads = [line for line in lines if " read " in line]
    assert all(line.endswith("TruncatedRecordingError") for line in reads), lines
    edf_events = [line for line in lines if " events " in line and ".TRC" not in line]
    assert all(line.endswith("TruncatedRecordingError") for line in edf_events), lines


def test_the_runner_reports_hangs_and_crashes(tmp_path):
    """The guard behind 'never a hang, never a crash' must itself catch both."""
    @dataclass(frozen=True)
    class Fake:
        path: Path
        selftest: str

    cases = [Fake(tmp_path / "x", "hang"), Fake(tmp_path / "y", "abort"),
             Fake(tmp_path / "z", "allocate"), Fake(tmp_path / "missing.edf", "")]
    outcome = run_cases(cases, tmp_path, timeout=3.0, workers=1,
                        request=lambda c: {"path": str(c.path), "selftest": c.selftest})
    assert [r.outcome for r in outcome[:2]] == ["hang", "crash"]
    assert outcome[0].detail["problem"] == "no answer within 3 s"  # the runner's own timeout
    assert outcome[3].outcome == "refused"  # a fresh worker took over after the crash
    if sys.platform != "win32":  # the address-space limit turns a giant allocation into an error
        assert outcome[2].outcome == "bug" and "MemoryError" in outcome[2].detail["problem"]


def test_info_cli_reports_damaged_files_in_one_line(results, tmp_path):
    """``tracemark info`` as a person runs it: one error line, non-zero exit, no traceback."""
    sample, seen = [], Counter()
    for r in results:
        key = (r.case.fmt, r.case.kind, r.outcome)
        if r.outcome in ("opened", "refused") and seen[key] < 1:
            seen[key] += 1
            sample.append(r)
    assert len(sample) >= 12

    def run(result: Result):
        command = [sys.executable, "-m", "tracemark", "info", str(result.case.path)]
        return result, subprocess.run(command, capture_output=True, text=True, timeout=60,
                                      cwd=str(TESTS.parent))

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(WORKERS) as pool:
        runs = list(pool.map(run, sample))
    for result, done in runs:
        name = result.case.path.name
        assert "Traceback" not in done.stderr + done.stdout, name
        lines = done.stderr.strip().splitlines()
        if result.outcome == "refused":
            assert done.returncode != 0, name
        if done.returncode != 0:  # an opened file may still fail on its events
            assert len(lines) == 1 and lines[0].startswith("tracemark: error:"), (name, done.stderr)
            assert name in lines[0]
        else:
            assert "Format" in done.stdout, (name, done.stdout)


if __name__ == "__main__" and "--worker" in sys.argv:
    worker_main()
