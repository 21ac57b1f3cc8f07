"""The demo session: realistic content, deterministic, and files that independent readers agree on."""

from __future__ import annotations

import numpy as np
import pytest

from tracemark.demo import ensure_demo_files
from tracemark.demo.files import DEMO_START
from tracemark.demo.synth import demo_session
from tracemark.io_backends import open_recording


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return ensure_demo_files(tmp_path_factory.mktemp("demo"))


def test_demo_session_is_deterministic_and_has_responses_and_misses():
    from tracemark.demo.synth import mep_waveform

    a, b = demo_session(duration_s=30.0), demo_session(duration_s=30.0)
    assert a.trials == b.trials
    np.testing.assert_array_equal(a.full(), b.full())
    full = demo_session()
    responses = [t.has_response for t in full.trials]
    assert 150 <= full.duration_s and 20 <= len(full.trials)
    assert any(responses) and not all(responses)
    latencies = [t.latency_s for t in full.trials if t.has_response]
    assert 0.015 < min(latencies) < max(latencies) < 0.03
    wave = mep_waveform(2048.0, 1000.0)
    assert wave.max() - wave.min() == pytest.approx(1000.0)


def test_demo_emg_shows_each_mep_where_the_trial_says():
    session = demo_session(duration_s=60.0)
    data = session.full()
    emg = data[:, session.channel_names.index("EMG")]
    rate = session.sampling_rate
    for trial in session.trials:
        window = emg[trial.sample + int(0.012 * rate): trial.sample + int(0.045 * rate)]
        peak_to_peak = window.max() - window.min()
        if trial.has_response:
            assert peak_to_peak == pytest.approx(trial.amplitude_uv, rel=0.15, abs=30)
        else:
            assert peak_to_peak < 60


def test_demo_trc_reads_back_identically_through_neo(demo):
    neo_rawio = pytest.importorskip("neo.rawio")
    reader = neo_rawio.MicromedRawIO(filename=str(demo.trc))
    reader.parse_header()
    session = demo_session()
    with open_recording(demo.trc) as rec:
        stream = rec.header.streams[0]
        assert stream.channel_names == session.channel_names
        assert stream.n_samples == session.n_samples == reader.get_signal_size(0, 0, 0)
        for start in (0, 123_457, session.n_samples - 4096):
            ours = rec.read_raw(start, start + 4096)
            theirs = reader.get_analogsignal_chunk(0, 0, start, start + 4096, 0)
            np.testing.assert_array_equal(ours, theirs)
            physical = reader.rescale_signal_raw_to_float(theirs, dtype="float64", stream_index=0)
            np.testing.assert_allclose(rec.read_samples(start, start + 4096), physical, atol=1e-3)
        triggers = [e for e in rec.events() if e.source == "trigger"]
        assert [round(e.time_s * stream.sampling_rate) for e in triggers] == list(session.trigger_samples)


def test_demo_files_hold_the_session_within_one_quantisation_step(demo):
    session = demo_session()
    expected = session.full()
    for path in (demo.trc, demo.nwb):
        with open_recording(path) as rec:
            stream = rec.header.streams[0]
            got = rec.read_samples(0, stream.n_samples)
            assert got.shape == expected.shape
            assert np.max(np.abs(got - expected)) <= np.max(np.abs(stream.gains)) * 0.5 + 1e-3, path.name
            assert rec.header.start_datetime.replace(tzinfo=None) == DEMO_START
            pulses = [e for e in rec.events() if e.label in ("TMS", "1")]
            assert len(pulses) == len(session.trials), path.name


def test_demo_nwb_agrees_with_pynwb(demo):
    pynwb = pytest.importorskip("pynwb")
    with pynwb.NWBHDF5IO(str(demo.nwb), "r") as io:
        nwbfile = io.read()
        series = next(iter(nwbfile.acquisition.values()))
        window = series.data[1000:3000] * series.conversion * 1e6  # volts -> uV
        with open_recording(demo.nwb) as rec:
            np.testing.assert_allclose(rec.read_samples(1000, 3000), window, rtol=1e-5, atol=1e-3)


def test_ensure_demo_files_reuses_what_exists(demo):
    stamp = demo.trc.stat().st_mtime_ns
    again = ensure_demo_files(demo.folder)
    assert again == demo and demo.trc.stat().st_mtime_ns == stamp
    assert not [p for p in demo.folder.iterdir() if p.name.startswith(".")]  # no temporary left
