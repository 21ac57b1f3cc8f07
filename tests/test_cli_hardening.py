"""The ``tracemark`` command under hostile conditions: output nobody reads (``| head``, a
full disk), misspelt attribute keys, recordings without signal, outputs into missing folders,
builds that fail half-way, unreadable files. Each must end as one clear stderr line naming
the file and the problem, with the right exit status, and never with a traceback.

The command runs as a subprocess (``python -m tracemark``) wherever the exit status, the
standard streams or files left behind are what is being checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from testkit.cache import make_cache
from tracemark.app.cli_cache import parse_indexes
from tracemark.io_backends.cache import CacheFile, CacheValueError

TIMEOUT_S = 120  # a hang guard only


def tracemark(*args: str, stdout=subprocess.PIPE, cwd: Path | None = None,
              prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-m", "tracemark", *map(str, args)],
                          stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=cwd,
                          timeout=TIMEOUT_S, check=False)


def to_a_reader_that_left(*args: str) -> subprocess.CompletedProcess:
    """Run with stdout a pipe whose reading end is already closed, as when ``head`` has
    exited: every write to stdout fails with EPIPE, deterministically."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return tracemark(*args, stdout=write_end)
    finally:
        os.close(write_end)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def cache_path(tmp_path) -> Path:
    return make_cache(tmp_path / "c.hdf5", n_traces=10)


@pytest.fixture
def events_only_nwb(tmp_path) -> Path:
    """An NWB file holding three trials and no signal at all, written with pynwb."""
    pynwb = pytest.importorskip("pynwb")
    nwbfile = pynwb.NWBFile(session_description="trials only", identifier="events-only",
                            session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    for k in range(3):
        nwbfile.add_trial(start_time=1.0 + k, stop_time=1.5 + k)
    path = tmp_path / "events.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


@pytest.fixture
def trc_recording(tmp_path) -> tuple[Path, str]:
    """A small TRC with one signal stream and two triggers, and the label of those."""
    from tracemark.demo.trc_writer import write_trc_array
    from tracemark.io_backends import open_recording

    rate = 1024
    data = np.random.default_rng(3).normal(0, 20, (rate * 3, 2))
    path = write_trc_array(tmp_path / "s.trc", data, channel_names=["EMG", "EEG"],
                           sampling_rate=rate, triggers=[(rate, 1), (2 * rate, 1)])
    with open_recording(path) as recording:
        return path, recording.events()[0].label


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# -- a saved edit whose report cannot be printed ---------------------------------------------
def test_set_succeeds_when_its_report_reaches_a_reader_that_left(cache_path):
    result = to_a_reader_that_left("cache", "set", cache_path, "0-9", "comment=kept")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # the reader left on purpose: nothing to tell
    with CacheFile(cache_path, mode="r") as cache:
        assert {cache.get_trace_attrs(i)["comment"] for i in range(10)} == {"kept"}


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_set_succeeds_with_one_warning_when_stdout_is_full(cache_path):
    with open("/dev/full", "w") as full:
        result = tracemark("cache", "set", cache_path, "3", "reject=true", stdout=full)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "warning" in lines[0] and "the edit is saved" in lines[0]
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    with CacheFile(cache_path, mode="r") as cache:
        assert cache.get_trace_attrs(3)["reject"] is True


# -- a misspelt key -------------------------------------------------------------------------
def test_an_unknown_key_is_refused_with_a_suggestion_and_nothing_written(cache_path):
    before = cache_path.read_bytes()
    result = tracemark("cache", "set", cache_path, "3", "comment=x", "rejcet=true")
    assert_one_line_error(result, str(cache_path), "'rejcet'", "did you mean 'reject'?",
                          "--new-key")
    assert result.returncode == 1
    assert cache_path.read_bytes() == before
    assert not (cache_path.parent / "c.hdf5.journal").exists()


def test_new_key_creates_a_key_which_is_then_known(cache_path):
    assert tracemark("cache", "set", cache_path, "3", "nosuchkey=5", "--new-key").returncode == 0
    # Now present in the cache (on trace 3 only), so other traces may use it without the flag.
    result = tracemark("cache", "set", cache_path, "7", "nosuchkey=6")
    assert result.returncode == 0, result.stderr
    with CacheFile(cache_path, mode="r") as cache:
        assert [cache.get_trace_attrs(i).get("nosuchkey") for i in (3, 7, 0)] == ["5", "6", None]


# -- recordings without signal, outputs that cannot be written -------------------------------
def test_building_from_an_events_only_nwb_is_a_typed_error_leaving_nothing(events_only_nwb,
                                                                         tmp_path):
    before = files_in(tmp_path)
    result = tracemark("cache", "build", events_only_nwb, "--events", "*", "--pre", "10ms",
                       "--post", "100ms", "-o", tmp_path / "out.hdf5", "--no-progress")
    assert_one_line_error(result, str(events_only_nwb), "events only")
    assert files_in(tmp_path) == before  # no out.hdf5, no out.hdf5.lock, no private file


def test_a_failed_build_keeps_what_the_user_already_had(events_only_nwb, tmp_path,
                                                        cache_path):
    """--force over an existing cache whose lock file exists: both stay as they were."""
    lock = cache_path.with_name("c.hdf5.lock")
    lock.write_bytes(b"")
    before = cache_path.read_bytes()
    result = tracemark("cache", "build", events_only_nwb, "--events", "*", "--pre", "10ms",
                       "--post", "100ms", "-o", cache_path, "--force", "--no-progress")
    assert_one_line_error(result, "events only")
    assert cache_path.read_bytes() == before and lock.exists()
    assert not [p for p in tmp_path.iterdir() if ".building-" in p.name]


def test_an_unknown_stream_is_a_typed_error(trc_recording, tmp_path):
    trc, label = trc_recording
    result = tracemark("cache", "build", trc, "--events", label, "--pre", "10ms", "--post",
                       "100ms", "--stream", "3", "-o", tmp_path / "b.hdf5", "--no-progress")
    assert_one_line_error(result, str(trc), "no stream 3", "its streams are 0 (")
    assert not (tmp_path / "b.hdf5.lock").exists() and not (tmp_path / "b.hdf5").exists()


@pytest.mark.parametrize("command", [
    ["cache", "export", "{cache}", "-o", "{missing}/t.csv"],
    ["cache", "merge", "{cache}", "-o", "{missing}/m.hdf5"],
    ["cache", "build", "{trc}", "--events", "{label}", "--pre", "1ms", "--post", "5ms",
     "-o", "{missing}/b.hdf5", "--no-progress"],
    ["plot", "average", "{cache}", "-o", "{missing}/a.png"],
])
def test_an_output_in_a_missing_folder_is_reported_not_created(command, cache_path,
                                                               trc_recording, tmp_path):
    trc, label = trc_recording
    missing = tmp_path / "no" / "such"
    args = [a.format(cache=cache_path, missing=missing, trc=trc, label=label) for a in command]
    result = tracemark(*args, cwd=tmp_path)
    assert_one_line_error(result, str(missing), "does not exist")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("command", [
    ["cache", "export", "{cache}", "-o", "{folder}"],
    ["cache", "merge", "{cache}", "-o", "{folder}", "--force"],
    ["cache", "build", "{trc}", "--events", "{label}", "--pre", "1ms", "--post", "5ms",
     "-o", "{folder}", "--force", "--no-progress"],
    ["plot", "average", "{cache}", "-o", "{folder}"],
])
def test_an_output_that_is_a_folder_is_refused(command, cache_path, trc_recording, tmp_path):
    trc, label = trc_recording
    folder = tmp_path / "figures.png"  # named like an output file, but a folder
    folder.mkdir()
    args = [a.format(cache=cache_path, folder=folder, trc=trc, label=label) for a in command]
    result = tracemark(*args)
    assert_one_line_error(result, str(folder), "is a folder")
    assert list(folder.iterdir()) == [] and not (tmp_path / "figures.png.lock").exists()


# -- output the reader no longer wants ------------------------------------------------------
@pytest.mark.parametrize("command", [
    ["cache", "peek", "{cache}"],
    ["cache", "peek", "{cache}", "0-9"],
    ["cache", "peek", "--history", "{cache}"],
    ["cache", "export", "{cache}"],
    ["info", "{nwb}", "--json"],
    ["info", "{nwb}"],
])
def test_output_into_a_closed_pipe_ends_quietly(command, cache_path, events_only_nwb):
    if "--history" in command:  # give the history something to print
        assert tracemark("cache", "set", cache_path, "0-9", "comment=h").returncode == 0
    args = [a.format(cache=cache_path, nwb=events_only_nwb) for a in command]
    result = to_a_reader_that_left(*args)
    assert result.returncode == 1
    assert result.stderr == ""  # no traceback, no "Exception ignored", no message


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_output_onto_a_full_disk_is_one_error_line(cache_path):
    with open("/dev/full", "w") as full:
        result = tracemark("cache", "export", cache_path, stdout=full)
    assert_one_line_error(result, "standard output", "No space left on device")
    assert result.returncode == 1


# -- other bad input ----------------------------------------------------------------------
@pytest.mark.parametrize("command, fragments", [
    (["cache", "peek", "{missing}"], ["{missing}", "does not exist"]),
    (["cache", "set", "{missing}", "0", "comment=x"], ["{missing}", "does not exist"]),
    (["cache", "export", "{missing}"], ["{missing}", "does not exist"]),
    (["cache", "merge", "{cache}", "{missing}", "-o", "{out}"], ["{missing}", "does not exist"]),
    (["cache", "peek", "{folder}"], ["{folder}", "is not a regular file"]),
    (["cache", "set", "{folder}", "0", "comment=x"], ["{folder}", "is not a regular file"]),
    (["plot", "average", "{folder}", "-o", "{out}.png"], ["{folder}", "is not a regular file"]),
    (["info", "{missing}"], ["missing.hdf5", "no such file"]),
    (["cache", "peek", "{cache}", "5-2"], ["'5-2' runs backwards"]),
    (["cache", "set", "{cache}", "5-2", "comment=x"], ["'5-2' runs backwards"]),
    (["cache", "set", "{cache}", "12", "comment=x"], ["{cache}", "trace 12 does not exist"]),
    (["cache", "set", "{cache}", "0", "onset_shift=soon"], ["{cache}", "must be a number"]),
    (["cache", "set", "{cache}", "0", "--wait", "nan", "comment=x"], ["--wait", "'nan'"]),
    (["cache", "set", "{cache}", "0", "--wait", "-1", "comment=x"], ["--wait", "'-1'"]),
])
def test_bad_input_is_one_line_naming_the_file(command, fragments, cache_path, tmp_path):
    names = {"cache": cache_path, "missing": tmp_path / "missing.hdf5",
             "folder": tmp_path, "out": tmp_path / "out"}
    result = tracemark(*[a.format(**names) for a in command])
    if "--wait" in command:  # an option argparse refuses: its usage, then the one error line
        assert result.returncode == 2 and "Traceback" not in result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert all(f in last for f in fragments), last
        return
    assert_one_line_error(result, *[f.format(**names) for f in fragments])


def test_set_on_a_cache_held_by_another_process_says_who_after_waiting(cache_path):
    before = cache_path.read_bytes()
    with CacheFile(cache_path, mode="w"):
        result = tracemark("cache", "set", cache_path, "1", "reject=true", "--wait", "0.2")
        peek = tracemark("cache", "peek", cache_path, "1")
    assert_one_line_error(result, str(cache_path), "is open for writing by", " pid ")
    assert peek.returncode == 0 and "index 1" in peek.stdout  # reading is never blocked
    assert cache_path.read_bytes() == before


def unreadable_runner() -> tuple[str, ...]:
    """A command prefix under which a file with mode 000 cannot be read: none for a normal
    user; for root (who reads anything), setpriv dropping the capabilities that allow it."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: every file is readable")
    caps = "-dac_override,-dac_read_search"
    return (setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}")


@pytest.mark.parametrize("command", [
    ["cache", "peek", "{file}"], ["cache", "set", "{file}", "0", "comment=x"],
    ["cache", "export", "{file}"], ["plot", "average", "{file}", "-o", "{png}"],
])
def test_an_unreadable_cache_is_one_line(command, cache_path, tmp_path):
    prefix = unreadable_runner()
    cache_path.chmod(0)
    try:
        args = [a.format(file=cache_path, png=tmp_path / "a.png") for a in command]
        result = tracemark(*args, prefix=prefix)
    finally:
        cache_path.chmod(0o644)
    assert_one_line_error(result, str(cache_path), "Permission denied")


# -- the index parser ----------------------------------------------------------------------
def test_index_lists_parse_and_backwards_ranges_are_refused():
    assert parse_indexes("3", 10) == [3]
    assert parse_indexes("0-2, 9", 10) == [0, 1, 2, 9]
    with pytest.raises(CacheValueError, match="runs backwards; write it as 2-5"):
        parse_indexes("5-2", 10)


def test_set_with_stdout_closed_saves_and_exits_0(cache_path):
    """Started as ``tracemark cache set ... >&-``."""
    result = subprocess.run([sys.executable, "-m", "tracemark", "cache", "set", str(cache_path),
                             "2", "comment=closed"], stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: os.close(1), timeout=TIMEOUT_S, check=False)
    assert result.returncode == 0 and result.stderr == ""
    with CacheFile(cache_path, mode="r") as cache:
        assert cache.get_trace_attrs(2)["comment"] == "closed"
