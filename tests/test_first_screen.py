"""Proof on real files: every recording opens at a readable first screen, no key pressed.

Each recording in ``../shared/data`` (when present), the TMS demo with its trace cache,
and recordings generated here to stand for what clinicians bring (a BioSemi BDF tens of
millivolts from zero with a Status channel, a 25-channel clinical EEG with ECG and EMG, a
multi-rate EDF, a sleep hypnogram of annotations only) are opened in a main window on an
offscreen screen of 1366x768 and of 1920x1080, by ``first_screen_probe.py`` in a child
process (Qt's screen size is fixed per process). The measures come from the rendered
pixels of the first page:

* every visible channel's ink lies in its own row, none outside all rows;
* every channel whose page holds any signal is visibly not flat;
* within each scale group, the typical channel is not saturated (mostly on its row's
  edges, which is what a clipped trace at a wrong scale looks like);
* the window fits in the screen, and with a cache open the decision buttons are whole;
* a recording of events only (an NWB of trials, a hypnogram) opens on its events, listed
  and drawn.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA
from viewer_support import synthetic_data

PROBE = Path(__file__).with_name("first_screen_probe.py")
SCREENS = ("1366x768", "1920x1080")
#: A trace at least this tall (pixels) is visibly not flat.
MIN_INK_HEIGHT_PX = 3
#: Typical share of a group's columns where ink touches the row's edge, above which the
#: group's scale is judged wrong (its traces are clipped nearly everywhere).
MAX_TYPICAL_EDGE_SHARE = 0.5


def shared_recordings() -> list[Path]:
    if not SHARED_DATA.is_dir():
        return []
    return sorted(p for p in SHARED_DATA.rglob("*") if p.suffix.lower() in (".edf", ".bdf", ".nwb", ".trc"))


def generated_recordings(folder: Path) -> list[Path]:
    from tracemark.io_backends.edf_writer import write_edf

    rate, seconds = 256.0, 30
    n = int(rate * seconds)
    eeg = synthetic_data(n, 8, rate)
    offsets = np.linspace(-40_000, 35_000, 8, dtype=np.float32)[None, :]
    drift = np.linspace(0, 400, n, dtype=np.float32)[:, None]
    status = np.zeros((n, 1), dtype=np.float32)
    status[int(3 * rate):int(4 * rate)] = 1
    biosemi = folder / "biosemi_offsets.bdf"
    names = ["Fp1", "Fp2", "C3", "C4", "P3", "P4", "O1", "O2", "Status"]
    data = np.hstack([eeg + offsets + drift, status])
    write_edf(biosemi, [[data[:, k] for k in range(9)]], channel_names=names, sampling_rates=rate,
              physical_ranges=[(-262144.0, 262143.0)] * 8 + [(-8388608.0, 8388607.0)], bdf=True,
              start_datetime=datetime(2024, 1, 2, 9, 0, 0))
    clinical = folder / "clinical_25ch.edf"
    labels = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz", "C4", "T4", "T5", "P3",
              "Pz", "P4", "T6", "O1", "O2", "A1", "A2", "EOG L", "EOG R", "ECG", "EMG chin"]
    signals = synthetic_data(n, 25, rate) * 2.0
    signals[:, 23] = 800 * np.sin(2 * np.pi * 1.2 * np.arange(n) / rate) ** 31   # QRS-like
    write_edf(clinical, [[signals[:, k] for k in range(25)]], channel_names=labels,
              sampling_rates=rate, physical_ranges=(-3200.0, 3200.0),
              annotations=[(5.0, 0.0, "Eyes closed"), (5.4, 0.0, "Photic 10 Hz"), (12.0, 0.0, "Eyes open")])
    multirate = folder / "multirate.edf"
    trend = np.full(seconds, 97.0, dtype=np.float32)
    write_edf(multirate, [[trend] + [eeg[:, k] for k in range(6)]],
              channel_names=["SpO2", "Fp1", "Fp2", "C3", "C4", "O1", "O2"],
              sampling_rates=[1.0] + [rate] * 6, physical_ranges=(-500.0, 500.0))
    from test_edf_annotations_mne import hypnogram

    return [biosemi, clinical, multirate, hypnogram(folder, 30.0)]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("first-screen")
    from tracemark.app.plot_data import build_demo_cache

    cache = build_demo_cache(folder)
    demo = next(p for p in folder.iterdir() if p.suffix == ".TRC")
    files = [str(p) for p in shared_recordings() + generated_recordings(folder)]
    return files + [f"{demo}::{cache}"]


def probe(recordings, screen: str, out: Path) -> dict[str, dict]:
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)   # the probe sets its own screen
    run = subprocess.run([sys.executable, str(PROBE), "--screen", screen, "--out", str(out), *recordings],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    reports = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    return {r["file"]: r for r in reports}


def events_only(spec: str) -> bool:
    from tracemark.io_backends import open_recording

    path = Path(spec.split("::")[0])
    with open_recording(path) as recording:
        return not recording.header.streams


@pytest.mark.slow
@pytest.mark.parametrize("screen", SCREENS)
def test_every_recording_opens_at_a_readable_first_screen(recordings, screen, tmp_path):
    reports = probe(recordings, screen, tmp_path)
    assert len(reports) == len(recordings)
    problems = []
    for spec in recordings:
        name = "+".join(Path(p).name for p in spec.split("::"))
        report = reports[name]
        if "error" in report:
            problems.append(f"{name}: {report['error']}")
        elif events_only(spec):
            if not (report.get("events_only") and report["events_listed"] and report["events_drawn"]):
                problems.append(f"{name}: its events are not listed and drawn: {report}")
        else:
            problems += [f"{name}: {p}" for p in first_screen_problems(report)]
    assert not problems, "\n".join(problems)


def first_screen_problems(report: dict) -> list[str]:
    problems = []
    frame, area = report["frame"], report["available"]
    if frame[0] < area[0] or frame[1] < area[1] or frame[0] + frame[2] > area[0] + area[2] \
            or frame[1] + frame[3] > area[1] + area[3]:
        problems.append(f"window {frame} is not inside the screen {area}")
    if report.get("stray_ink", 0) > 0:
        problems.append(f"{report['stray_ink']} trace pixels lie in no row")
    rows = report.get("rows", [])
    if not rows:
        problems.append("no row drawn")
    for row in rows:
        if not row["flat_data"] and row["ink_height_px"] < MIN_INK_HEIGHT_PX:
            problems.append(f"row {row['label']!r} looks flat ({row['ink_height_px']} px of "
                            f"{row['band_px']} px) at {report.get('sensitivity')}")
    by_group: dict[str, list[float]] = {}
    for row in rows:
        if not row["flat_data"]:
            by_group.setdefault(row["group"], []).append(row["edge_columns"])
    for group, shares in by_group.items():
        if float(np.median(shares)) > MAX_TYPICAL_EDGE_SHARE:
            problems.append(f"{group} rows are clipped nearly everywhere ({np.median(shares):.0%})")
    for name, button in report.get("buttons", {}).items():
        if not button["visible"] or button["x"] < 0 or button["x"] + button["w"] > report["window_size"][0]:
            problems.append(f"the {name} button is not fully on screen: {button}")
    return problems
