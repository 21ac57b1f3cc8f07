"""``tracemark info``: correct figures for every backend, clean errors for bad files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import shared_params

from tracemark.app.cli import main
from tracemark.io_backends import open_recording

# Facts stated in ../shared/data/README.md, checked independently of any reader.
KNOWN_FACTS = {
    "synthetic_eeg19_256Hz_b2_60s.TRC": dict(n_channels=19, rate=256.0, duration_s=60.0),
    "synthetic_8ch_512Hz_b1_10s_compact.TRC": dict(n_channels=8, rate=512.0, duration_s=10.0),
    "DERIVED_eeg64ch_128Hz_from_mne-testing-data_edf.nwb": dict(n_channels=64, rate=128.0, n_samples=15872),
    "NWBShowcase_FergusonEtAl2015_PYR5_rebound.nwb": dict(rate=10000.0, n_samples=20000, min_streams=10),
    "mne-testing-data_test_edf_overlapping_annotations.edf": dict(n_channels=64, rate=128.0),
    "mne-python_test_bdf_stim_channel.bdf": dict(n_channels=4, rate=500.0, duration_s=10.0),
    "pyedflib_test_generator.edf": dict(n_channels=11, rate=200.0, duration_s=600.0),
}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tracemark", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path", shared_params("trc") + shared_params("nwb") + shared_params("edf"))
def test_info_json_matches_the_reader_and_known_facts(path: Path, capsys):
    assert main(["info", "--json", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    with open_recording(path) as rec:
        assert summary["format"] == rec.header.format_name
        assert len(summary["streams"]) == len(rec.header.streams)
        for described, stream in zip(summary["streams"], rec.header.streams):
            assert described["n_channels"] == stream.n_channels
            assert described["n_samples"] == stream.n_samples
            assert described["sampling_rate_hz"] == pytest.approx(stream.sampling_rate)
            assert [c["name"] for c in described["channels"]] == list(stream.channel_names)
        assert summary["events"]["count"] == len(rec.events())
    facts = KNOWN_FACTS.get(path.name)
    if facts:
        streams = summary["streams"]
        main_stream = max(streams, key=lambda s: s["n_channels"] * s["n_samples"])
        if "n_channels" in facts:
            assert main_stream["n_channels"] == facts["n_channels"]
        if "rate" in facts:
            assert main_stream["sampling_rate_hz"] == pytest.approx(facts["rate"])
        if "duration_s" in facts:
            assert main_stream["duration_s"] == pytest.approx(facts["duration_s"], abs=1.0 / facts["rate"])
        if "n_samples" in facts:
            assert main_stream["n_samples"] == facts["n_samples"]
        if "min_streams" in facts:
            assert len(streams) >= facts["min_streams"]


def test_info_text_on_the_demo(tmp_path, capsys):
    from tracemark.demo import ensure_demo_files
    from tracemark.demo.synth import demo_session

    files = ensure_demo_files(tmp_path)
    session = demo_session()
    assert main(["info", "--channels", str(files.trc)]) == 0
    out = capsys.readouterr().out
    assert f"{session.n_channels} ch, 2048 Hz, {session.n_samples} samples" in out
    assert "EMG" in out
    assert f"Events    {len(session.trials) + len(session.notes)}" in out


@pytest.mark.parametrize("content, problem", [
    (b"", "empty"),
    (b"not a recording at all" * 10, None),
    (b"0       " + b"x" * 300, None),  # EDF magic, broken header
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 100, None),  # HDF5 magic, nothing behind it
])
def test_bad_files_give_one_line_on_stderr_and_exit_non_zero(tmp_path, content, problem):
    bad = tmp_path / "broken.edf"
    bad.write_bytes(content)
    result = run_cli("info", str(bad))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert str(bad) in result.stderr
    assert result.stderr.startswith("tracemark: error:")
    if problem:
        assert problem in result.stderr


def test_missing_file(tmp_path):
    result = run_cli("info", str(tmp_path / "nope.TRC"))
    assert result.returncode == 1
    assert "no such file" in result.stderr and "Traceback" not in result.stderr


def test_version_and_help():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("tracemark ")
    result = run_cli("--help")
    assert result.returncode == 0 and "info" in result.stdout and "cache" in result.stdout


@pytest.mark.parametrize("path", shared_params("nwb") + shared_params("edf"))
def test_info_gives_the_span_of_the_events_and_says_when_there_is_no_signal(path: Path, capsys):
    """Files of events only (dandi's NWB, EDF+ hypnograms) have no streams and 0 s duration."""
    assert main(["info", "--json", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    with open_recording(path) as rec:
        events = rec.events()
    if events:
        assert summary["events"]["span_s"] == [pytest.approx(min(e.time_s for e in events)),
                                               pytest.approx(max(e.time_s + e.duration_s for e in events))]
    else:
        assert summary["events"]["span_s"] is None
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert ("no signal stream, events only" in text) == (summary["streams"] == [])
    assert ("  span: " in text) == bool(events)
