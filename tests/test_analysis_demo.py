"""The whole chain on the demo session: TRC -> cache (intensities and coil positions entered
through the cache API) -> plot_data -> analysis, checked against the demo's ground truth
and against numpy on the traces read straight from the cache."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tracemark.analysis import (
    MapSettings,
    MeasureSettings,
    average_response,
    compute_measures,
    fit_recruitment,
    map_data,
)
from tracemark.app.plot_data import PlotDataError, build_demo_cache, load_trace_set
from tracemark.demo.synth import mep_waveform
from tracemark.io_backends.cache import CacheFile


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    cache = build_demo_cache(folder)
    trials = json.loads(next(folder.glob("*.trials.json")).read_text())
    return cache, trials


def test_trace_set_holds_what_the_annotator_entered(demo):
    cache, trials = demo
    traces = load_trace_set(cache)
    truth = trials["trials"]
    assert len(traces) == len(truth) == 36
    np.testing.assert_allclose(traces.intensity_mso, [t["intensity_mso"] for t in truth])
    np.testing.assert_allclose(traces.xyz, [t["coil_xyz"] for t in truth])
    assert traces.channel_labels == ("EMG", "EMG2") and traces.sampling_rate == 2048.0
    np.testing.assert_allclose(traces.event_time_s, [t["sample"] / 2048.0 for t in truth],
                               atol=1e-6)


def test_amplitudes_and_latencies_match_the_ground_truth(demo):
    cache, trials = demo
    traces = load_trace_set(cache)
    m = compute_measures(traces, MeasureSettings("EMG", 15, 50))
    rate = trials["sampling_rate"]
    wave = mep_waveform(rate, 1.0)
    first_peak_s = min(np.argmin(wave), np.argmax(wave)) / rate
    responders = [i for i, t in enumerate(trials["trials"]) if t["latency_s"] is not None]
    assert len(responders) > 15
    for i in responders:
        truth = trials["trials"][i]
        # Background noise is a few uV; the TRC stores 0.1 uV steps.
        assert m.amplitude[i] == pytest.approx(truth["amplitude_uv"], rel=0.02, abs=25)
        expected_ms = (round(truth["latency_s"] * rate) / rate + first_peak_s) * 1000
        assert m.latency_ms[i] == pytest.approx(expected_ms, abs=1.5)
    silent = [i for i, t in enumerate(trials["trials"]) if t["latency_s"] is None]
    assert np.all(m.amplitude[silent] < 50)


def test_recruitment_fit_recovers_the_demo_sigmoid(demo):
    cache, _ = demo
    traces = load_trace_set(cache)
    m = compute_measures(traces)
    fit = fit_recruitment(traces.intensity_mso, m.amplitude)
    # The demo draws amplitudes from 2000 / (1 + exp(-(I - 55) / 4)) x lognormal(0, 0.35).
    assert fit.ok, fit.message
    assert fit.i50 == pytest.approx(55.0, abs=3.0)
    assert fit.k == pytest.approx(4.0, abs=2.5)
    assert fit.plateau == pytest.approx(2000.0 * np.exp(0.35 ** 2 / 2), rel=0.25)


def test_average_of_accepted_traces_equals_numpy_on_the_cache(demo, tmp_path):
    cache, _ = demo
    copy = tmp_path / "copy.hdf5"
    copy.write_bytes(cache.read_bytes())
    with CacheFile(copy) as cf:
        cf.update(2, reject=True)
        cf.update(4, onset_shift=6)
        cf.update(7, reject=True, onset_shift=-3)
        raw = [(cf.get_trace_data(i), cf.get_trace_attrs(i)) for i in range(len(cf))]
    traces = load_trace_set(copy)
    assert list(np.flatnonzero(traces.reject)) == [2, 7] and traces.onset_shift[4] == 6
    result = average_response(traces)
    rows = raw[0][0].shape[0]
    stack = []
    for data, attrs in raw:
        if attrs["reject"]:
            continue
        shift = attrs["onset_shift"]
        aligned = np.full(data.shape, np.nan)
        lo, hi = max(0, -shift), min(rows, rows - shift)
        aligned[lo:hi] = data[lo + shift:hi + shift]
        stack.append(aligned)
    stack = np.array(stack)
    np.testing.assert_allclose(result.mean, np.nanmean(stack, axis=0), rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(result.sd, np.nanstd(stack, axis=0, ddof=1), rtol=1e-5, atol=1e-3)
    assert result.n_traces == 34


def test_traces_without_coordinates_are_named(demo, tmp_path):
    cache, _ = demo
    copy = tmp_path / "copy.hdf5"
    copy.write_bytes(cache.read_bytes())
    with CacheFile(copy) as cf:
        with cf.batch() as batch:
            batch.update(5, xyz_coords=None)
            batch.update(11, xyz_coords=None)
    traces = load_trace_set(copy)
    m = compute_measures(traces)
    data = map_data(m.amplitude, traces.xyz, traces.reject, traces.names, MapSettings())
    assert data.missing_coords == (5, 11)
    assert "2 without coordinates: Trace 6, Trace 12" in data.summary()   # numbered from 1
    assert len(data.indices) == 34


def test_missing_cache_is_a_typed_error(tmp_path):
    with pytest.raises(PlotDataError, match="does not exist"):
        load_trace_set(tmp_path / "nothing.hdf5")
