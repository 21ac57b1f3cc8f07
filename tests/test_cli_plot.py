"""``tracemark plot`` end to end: a TRC written here, a cache built from it, attributes set
through the cache API as an annotator would, figures written headless; user errors are one
line and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PyQt6.QtGui import QImage

from tracemark.analysis import boltzmann
from tracemark.app.cli import main
from tracemark.demo.trc_writer import write_trc_array
from tracemark.io_backends.cache import BuildSpec, CacheFile, build_cache

RATE = 2000
N_PULSES = 24


@pytest.fixture
def recording(tmp_path):
    """Two EMG channels, a pulse every 0.5 s, a biphasic response 22 ms after each whose
    size follows a sigmoid of the intensity used (30 .. 80 %MSO)."""
    rng = np.random.default_rng(4)
    samples = np.array([int((0.3 + 0.5 * k) * RATE) for k in range(N_PULSES)])
    data = rng.normal(0, 3.0, (samples[-1] + RATE, 2))
    intensity = np.linspace(30, 80, N_PULSES).round()
    for sample, level in zip(samples, intensity):
        size = boltzmann(level, 1200.0, 55.0, 4.0)
        data[sample + 44:sample + 50, 0] -= size / 2
        data[sample + 56:sample + 62, 0] += size / 2
        data[sample + 44:sample + 62, 1] += size / 10
    path = write_trc_array(tmp_path / "session.TRC", data, channel_names=["EMG", "EMG2"],
                           sampling_rate=RATE, physical_range=(-3276.8, 3276.7),
                           triggers=[(int(s), 1) for s in samples])
    return path, intensity


@pytest.fixture
def cache(recording, tmp_path):
    trc, intensity = recording
    out = build_cache(trc, tmp_path / "session.hdf5",
                      BuildSpec(None, 0.05, 0.1, event_source="trigger",
                                readout="contralateral_mep"))
    rng = np.random.default_rng(8)
    with CacheFile(out) as cf:
        with cf.batch() as batch:
            for i, level in enumerate(intensity):
                batch.update(i, stimulation_intensity_mso=float(level))
                if i != 5:
                    batch.update(i, xyz_coords=[float(v) for v in rng.normal((-38, -20, 62), 5)])
            batch.update(3, reject=True)
    return out


@pytest.mark.parametrize("kind", ["average", "measures", "recruitment", "map"])
def test_each_picture_is_written_as_png_and_svg(qapp, cache, tmp_path, capsys, kind):
    png, svg = tmp_path / f"{kind}.png", tmp_path / f"{kind}.svg"
    assert main(["plot", kind, str(cache), "-o", str(png), "--size", "900x500"]) == 0
    assert main(["plot", kind, str(cache), "-o", str(svg)]) == 0
    image = QImage(str(png))
    assert not image.isNull() and image.width() >= 800 and png.stat().st_size > 10_000
    assert svg.stat().st_size > 10_000 and "<svg" in svg.read_text()
    out = capsys.readouterr()
    assert f"wrote {png}" in out.out and "Traceback" not in out.err


def test_recruitment_prints_the_fit(qapp, cache, tmp_path, capsys):
    assert main(["plot", "recruitment", str(cache), "-o", str(tmp_path / "r.png")]) == 0
    text = capsys.readouterr().out
    i50 = float(text.split("I50 ")[1].split()[0])
    assert i50 == pytest.approx(55.0, abs=2.0)
    assert "n = 23" in text  # the rejected trace is not fitted


def test_map_names_traces_without_coordinates(qapp, cache, tmp_path, capsys):
    assert main(["plot", "map", str(cache), "-o", str(tmp_path / "m.svg"), "--scale", "log",
                 "--threshold", "50", "--smooth", "8"]) == 0
    text = capsys.readouterr().out
    assert "22 of 24 traces shown; 1 rejected left out" in text
    assert "1 without coordinates: Trace 6" in text


@pytest.mark.parametrize("argv, message", [
    (["average", "{cache}", "-o", "{tmp}/a.pdf"], "must end in .png or .svg"),
    (["average", "{tmp}/missing.hdf5", "-o", "{tmp}/a.png"], "does not exist"),
    (["average", "{cache}", "-o", "{tmp}/no/such/a.png"], "does not exist"),
    (["measures", "{cache}", "-o", "{tmp}/a.png", "--channel", "Cz"], "no channel 'Cz'"),
    (["measures", "{cache}", "-o", "{tmp}/a.png", "--window", "50", "15"], "must run forwards"),
    (["map", "{cache}", "-o", "{tmp}/a.png", "--size", "huge"], "must look like 1200x650"),
])
def test_user_errors_are_one_line(qapp, cache, tmp_path, capsys, argv, message):
    argv = [a.format(cache=cache, tmp=tmp_path) for a in argv]
    assert main(["plot", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("tracemark: error:")


def test_a_cache_without_intensities_or_coordinates_says_so(qapp, recording, tmp_path, capsys):
    trc, _ = recording
    bare = build_cache(trc, tmp_path / "bare.hdf5", BuildSpec(None, 0.05, 0.1))
    assert main(["plot", "recruitment", str(bare), "-o", str(tmp_path / "r.png")]) == 1
    assert "no trace that is not rejected has a stimulation_intensity_mso" in capsys.readouterr().err
    assert main(["plot", "map", str(bare), "-o", str(tmp_path / "m.png")]) == 1
    assert "none of its 24 traces not rejected has xyz_coords" in capsys.readouterr().err
    assert not (tmp_path / "r.png").exists() and not (tmp_path / "m.png").exists()


def test_cache_is_not_written_by_plotting(qapp, cache, tmp_path):
    before = cache.stat().st_mtime_ns, cache.read_bytes()
    assert main(["plot", "average", str(cache), "-o", str(tmp_path / "a.png")]) == 0
    assert (cache.stat().st_mtime_ns, cache.read_bytes()) == before


def test_headless_without_a_display(cache, tmp_path):
    """A fresh process with no display and no platform set renders off screen by itself."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    out = tmp_path / "fresh.png"
    result = subprocess.run([sys.executable, "-m", "tracemark", "plot", "measures", str(cache),
                             "-o", str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 10_000 and "propagateSizeHints" not in result.stderr
