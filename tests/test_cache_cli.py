"""``tracemark cache peek | set | export | merge | build`` as a person at a terminal uses it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from testkit.cache import make_cache
from tracemark.app.cli import main
from tracemark.io_backends.cache import CacheFile


@pytest.fixture
def cache_path(tmp_path) -> Path:
    return make_cache(tmp_path / "c.hdf5", n_traces=10)


def test_set_changes_a_trace_and_reports_old_and_new(cache_path, capsys):
    assert main(["cache", "set", str(cache_path), "3", "reject=true", "comment=noisy",
                 "onset_shift=-4"]) == 0
    out = capsys.readouterr().out
    assert "index 3 reject: 'False' -> 'True'" in out
    with h5py.File(cache_path, "r") as f:  # in the HDF5 file itself once the command ends
        attrs = f["rec0.trc/traces/3"].attrs
        assert (attrs["reject"], attrs["comment"], attrs["onset_shift"]) == ("True", "noisy", "-4")
    assert main(["cache", "set", str(cache_path), "0-2,5", "examiner=ab"]) == 0
    with CacheFile(cache_path, mode="r") as cache:
        assert [cache.get_trace_attrs(i)["examiner"] for i in range(6)] == [
            "ab", "ab", "ab", "", "", "ab"]
        assert len(cache.history()) == 2


@pytest.mark.parametrize("argv, message", [
    (["3", "reject=perhaps"], "reject must be true or false"),
    (["3", "onset_shift=1000"], "past the trace end"),
    (["99", "reject=true"], "trace 99 does not exist"),
    (["3", "reject"], "'reject' is not key=value"),
    (["x", "reject=true"], "not a trace index list"),
])
def test_bad_values_exit_1_with_one_line_and_leave_the_file_unchanged(cache_path, argv, message):
    before = cache_path.read_bytes()
    result = subprocess.run([sys.executable, "-m", "tracemark", "cache", "set", str(cache_path),
                             *argv], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert cache_path.read_bytes() == before
    assert not (cache_path.parent / "c.hdf5.journal").exists()


def test_set_refuses_while_another_process_writes(cache_path):
    with CacheFile(cache_path, mode="w"):
        result = subprocess.run([sys.executable, "-m", "tracemark", "cache", "set",
                                 str(cache_path), "1", "reject=true"],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "is open for writing by" in result.stderr and " pid " in result.stderr


def test_peek_prints_summary_trace_and_history(cache_path, capsys):
    main(["cache", "set", str(cache_path), "2", "comment=x"])
    capsys.readouterr()
    assert main(["cache", "peek", str(cache_path)]) == 0
    out = capsys.readouterr().out
    assert "traces_count" in out and "review: 0 accepted · 0 rejected · 10 unreviewed" in out
    assert main(["cache", "peek", str(cache_path), "2"]) == 0
    out = capsys.readouterr().out
    assert "index 2 (rec0.trc/2)" in out and "'x'" in out     # 0-based, and called an index
    assert main(["cache", "peek", "--history", str(cache_path)]) == 0
    assert "index 2 comment: '' -> 'x'" in capsys.readouterr().out


def test_export_csv_has_one_row_per_trace(cache_path, tmp_path):
    main(["cache", "set", str(cache_path), "4", "reject=yes"])
    out = tmp_path / "t.csv"
    assert main(["cache", "export", str(cache_path), "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 10 and rows[4]["reject"] == "True" and rows[3]["reject"] == "False"


@pytest.fixture
def trc_sources(tmp_path):
    """Two small TRC recordings with two triggers each, and the label of those triggers."""
    trc_writer = pytest.importorskip("tracemark.demo.trc_writer")
    rate = 1024
    sources = []
    for name in ("s1.trc", "s2.trc"):
        data = np.random.default_rng(1).normal(0, 20, (rate * 3, 2))
        sources.append(trc_writer.write_trc_array(
            tmp_path / name, data, channel_names=["EMG", "EEG"], sampling_rate=rate,
            triggers=[(rate, 1), (2 * rate, 1)]))
    try:
        from tracemark.io_backends import open_recording
        with open_recording(sources[0]) as recording:
            label = recording.events()[0].label
    except Exception as error:  # the TRC reader is another issue's work
        pytest.skip(f"TRC reader not available yet: {error}")
    return sources, label, rate


def test_build_and_merge_from_the_command_line(tmp_path, capsys, trc_sources):
    sources, label, rate = trc_sources
    outs = []
    for source in sources:
        outs.append(tmp_path / f"{source.stem}.hdf5")
        assert main(["cache", "build", str(source), "--events", label, "--pre", "100ms",
                     "--post", "400ms", "--channels", "EMG", "-o", str(outs[-1]),
                     "--no-progress"]) == 0
    assert "2 traces from 1 recordings" in capsys.readouterr().out
    merged = tmp_path / "m.hdf5"
    assert main(["cache", "merge", *map(str, outs), "-o", str(merged)]) == 0
    with CacheFile(merged, mode="r") as cache:
        assert len(cache) == 4 and cache.get_trace_data(0).shape == (
            round(0.1 * rate) + round(0.4 * rate), 1)


def test_build_shows_a_progress_bar_on_a_terminal(tmp_path, trc_sources):
    pty = pytest.importorskip("pty")
    sources, label, _ = trc_sources
    primary, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "tracemark", "cache", "build",
                                *map(str, sources), "--events", label, "--pre", "0.1",
                                "--post", "0.2", "-o", str(tmp_path / "p.hdf5")],
                               stdin=secondary, stdout=secondary, stderr=secondary)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=60) == 0
    os.close(primary)
    text = output.decode(errors="replace")
    assert "building: 100%" in text and "2/2" in text
    assert "4 traces from 2 recordings" in text
