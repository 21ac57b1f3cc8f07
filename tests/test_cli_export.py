"""``tracemark export``: spans of a recording to EDF+, CSV and pages, headless; bad input is
one line on stderr and a non-zero exit."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import datetime
from xml.etree import ElementTree

import edfio
import mne
import numpy as np
import pytest

from tracemark.app.cli import main
from tracemark.io_backends import open_recording
from tracemark.io_backends.edf_writer import write_edf

RATE = 200.0
NAMES = ["Fp1", "Fp2", "C3", "C4", "O1", "O2"]


@pytest.fixture
def recording(tmp_path):
    rng = np.random.default_rng(3)
    n = int(30 * RATE)
    t = np.arange(n) / RATE
    data = np.stack([30 * np.sin(2 * np.pi * (5 + i) * t) + 8 * rng.standard_normal(n) for i in range(6)], 1)
    path = tmp_path / "source.edf"
    write_edf(path, [data], channel_names=NAMES, sampling_rates=RATE, physical_ranges=(-300.0, 300.0),
              start_datetime=datetime(2022, 5, 6, 7, 8, 9), annotations=[(4.0, 1.0, "task"), (21.5, 0.0, "late")])
    return path


def run_headless(*args: str) -> subprocess.CompletedProcess:
    """The command as a person runs it on a server: no display, no Qt platform chosen."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run([sys.executable, "-m", "tracemark", "export", *args], capture_output=True,
                          text=True, timeout=300, env=env, check=False)


def test_export_edf_span_and_channels(recording, tmp_path, capsys):
    out = tmp_path / "span.edf"
    assert main(["export", str(recording), "--start", "2", "--stop", "12", "--channels", "C4,Fp1",
                 "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    with open_recording(recording) as source:
        expected = source.read_samples(int(2 * RATE), int(12 * RATE), [3, 0]).astype(np.float64)
    edf = edfio.read_edf(out)
    assert edf.labels == ("C4", "Fp1")
    assert edf.startdatetime == datetime(2022, 5, 6, 7, 8, 11)
    for i, signal in enumerate(edf.signals):
        step = (signal.physical_max - signal.physical_min) / (signal.digital_max - signal.digital_min)
        assert np.max(np.abs(signal.data - expected[:, i])) <= step
    raw = mne.io.read_raw_edf(out, verbose="error")
    assert list(raw.annotations.onset) == [2.0] and list(raw.annotations.duration) == [1.0]
    assert list(raw.annotations.description) == ["task"]


def test_export_csv_with_filter(recording, tmp_path):
    out = tmp_path / "span.csv"
    assert main(["export", str(recording), "--start", "0", "--stop", "1", "--channels", "O2",
                 "--highpass", "1", "-o", str(out)]) == 0
    with open(out, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["time_s", "O2 (uV)"] and len(rows) == 1 + int(RATE)


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg"])
def test_pages_are_drawn_without_a_display(recording, tmp_path, suffix):
    out = tmp_path / f"page{suffix}"
    result = run_headless(str(recording), "--start", "0", "--stop", "10", "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG")
    elif suffix == ".pdf":
        assert data.startswith(b"%PDF") and b"/Type /Page" in data
    else:
        text = " ".join(ElementTree.parse(out).getroot().itertext())
        assert all(name in text for name in NAMES)
        assert "07:08:10" in text   # clock time of the page in the time axis


@pytest.mark.parametrize("args, message", [
    (["--start", "5", "--stop", "2"], "stop must follow the start"),
    (["--start", "50", "--stop", "60"], "outside the recording"),
    (["--start", "0", "--stop", "2", "--channels", "Cz"], "no channel 'Cz'"),
    (["--start", "0", "--stop", "2", "--lowpass", "150"], "Nyquist"),
])
def test_bad_input_is_one_line_and_exit_1(recording, tmp_path, capsys, args, message):
    out = tmp_path / "x.edf"
    assert main(["export", str(recording), *args, "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not out.exists()


def test_unknown_suffix_and_missing_file_are_refused(recording, tmp_path, capsys):
    assert main(["export", str(recording), "--start", "0", "--stop", "1", "-o", str(tmp_path / "x.txt")]) == 1
    assert "use one of .edf, .csv, .png, .pdf, .svg" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "none.edf"), "--start", "0", "--stop", "1",
                 "-o", str(tmp_path / "x.edf")]) == 1
    assert "none.edf" in capsys.readouterr().err


def test_a_page_span_outside_the_recording_is_refused(recording, tmp_path):
    result = run_headless(str(recording), "--start", "40", "--stop", "45", "-o", str(tmp_path / "p.png"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "not inside the recording" in result.stderr
