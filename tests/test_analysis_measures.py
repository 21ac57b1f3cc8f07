"""Per-trace measures and the recruitment fit, against numpy loops and known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracemark.analysis import MeasureSettings, TraceSet, boltzmann, compute_measures, fit_recruitment

RATE = 2000.0
PRE = 100


def _peaked_set(shifts, peaks) -> TraceSet:
    """Flat traces with a negative peak then a positive one, placed relative to each
    trace's corrected onset: peaks = [(neg_ms, neg_uv, pos_ms, pos_uv), ...]."""
    n, rows = len(shifts), 400
    data = np.zeros((n, rows, 2), np.float32)
    for i, (shift, (neg_ms, neg, pos_ms, pos)) in enumerate(zip(shifts, peaks)):
        data[i, PRE + shift + int(neg_ms * RATE / 1000), 0] = neg
        data[i, PRE + shift + int(pos_ms * RATE / 1000), 0] = pos
        data[i, :, 1] = 5.0
    return TraceSet.from_arrays(data, RATE, PRE, ["EMG", "Fz"], onset_shift=shifts)


def test_known_peaks_give_known_amplitude_and_latency():
    traces = _peaked_set([0, 10, -20], [(20, -100, 30, 60), (22, -40, 25, 200), (18, -10, 16, 30)])
    m = compute_measures(traces, MeasureSettings("EMG", 15, 50))
    np.testing.assert_allclose(m.amplitude, [160, 240, 40])
    np.testing.assert_allclose(m.latency_ms, [20, 22, 16])
    assert m.channel == 0 and m.channel_label == "EMG"


def test_measures_match_a_loop_on_random_traces():
    rng = np.random.default_rng(5)
    data = rng.normal(0, 50, (25, 300, 2)).astype(np.float32)
    data[3, :, 0] = np.nan
    shifts = rng.integers(-60, 150, 25)
    traces = TraceSet.from_arrays(data, RATE, PRE, ["EMG", "EMG2"], onset_shift=shifts)
    settings = MeasureSettings(1, 12.0, 47.3)
    m = compute_measures(traces, settings)
    for i in range(25):
        rows = np.arange(300)
        t_ms = (rows - PRE - shifts[i]) / RATE * 1000.0
        inside = (t_ms >= 12.0 - 1e-9) & (t_ms <= 47.3 + 1e-9)
        values = data[i, inside, 1].astype(np.float64)
        if not inside.any() or not np.isfinite(values).any():
            assert math.isnan(m.amplitude[i])
            continue
        assert m.amplitude[i] == pytest.approx(np.nanmax(values) - np.nanmin(values))
        first = min(np.nanargmax(values), np.nanargmin(values))
        assert m.latency_ms[i] == pytest.approx(t_ms[inside][first])


def test_window_outside_the_trace_gives_nan():
    traces = _peaked_set([0], [(20, -100, 30, 60)])
    m = compute_measures(traces, MeasureSettings(0, 500, 600))
    assert math.isnan(m.amplitude[0]) and math.isnan(m.latency_ms[0])


def test_annotated_peaks_win_unless_told_otherwise():
    traces = _peaked_set([0, 0], [(20, -100, 30, 60), (20, -100, 30, 60)])
    traces.apply_attrs(1, {"neg_peak_magnitude_uv": -10.0, "pos_peak_magnitude_uv": 15.0,
                           "neg_peak_latency_ms": 24.0, "pos_peak_latency_ms": 31.0})
    m = compute_measures(traces, MeasureSettings(0))
    np.testing.assert_allclose(m.amplitude, [160, 25])
    np.testing.assert_allclose(m.latency_ms, [20, 24])
    assert list(m.annotated) == [False, True]
    automatic = compute_measures(traces, MeasureSettings(0, use_annotations=False))
    np.testing.assert_allclose(automatic.amplitude, [160, 160])


def test_update_of_one_trace_equals_a_full_recompute():
    traces = _peaked_set([0, 0, 0], [(20, -100, 30, 60)] * 3)
    m = compute_measures(traces, MeasureSettings(0))
    traces.apply_attrs(1, {"onset_shift": 8})  # the onset moves 4 ms later
    m.update(traces, 1)
    fresh = compute_measures(traces, MeasureSettings(0))
    np.testing.assert_allclose(m.amplitude, fresh.amplitude)
    np.testing.assert_allclose(m.latency_ms, fresh.latency_ms)
    assert m.latency_ms[1] == pytest.approx(16.0)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="forwards"):
        MeasureSettings(0, 50, 15)
    traces = _peaked_set([0], [(20, -100, 30, 60)])
    with pytest.raises(ValueError, match="no channel 'Cz'"):
        compute_measures(traces, MeasureSettings("Cz"))
    assert compute_measures(traces).channel_label == "EMG"  # default: the first EMG channel


# -- recruitment ------------------------------------------------------------------------------
def test_noiseless_sigmoid_is_recovered_exactly():
    intensity = np.repeat(np.arange(30.0, 82.0, 4.0), 2)
    fit = fit_recruitment(intensity, boltzmann(intensity, 1500.0, 52.0, 3.5))
    assert fit.ok, fit.message
    assert (fit.plateau, fit.i50, fit.k) == pytest.approx((1500.0, 52.0, 3.5), rel=1e-6)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.max_slope == pytest.approx(1500.0 / (4 * 3.5), rel=1e-6)
    assert "I50 52.0" in fit.describe()


def test_noisy_sigmoid_is_recovered_within_its_error():
    rng = np.random.default_rng(2)
    intensity = rng.uniform(30, 80, 80).round()
    amplitude = boltzmann(intensity, 2000.0, 55.0, 4.0) * rng.lognormal(0, 0.2, 80)
    amplitude[[3, 7]] = np.nan  # unmeasured traces are left out, not fatal
    fit = fit_recruitment(intensity, amplitude)
    assert fit.ok and fit.n_points == 78
    assert abs(fit.i50 - 55.0) < 3 * fit.stderr[1] + 0.5
    assert fit.plateau == pytest.approx(2000.0 * np.exp(0.02), rel=0.15)


def test_fit_says_why_it_cannot_fit():
    few = fit_recruitment([40, 50, 60], [10, 500, 900])
    assert not few.ok and "not enough data" in few.message and few.n_points == 3
    levels = fit_recruitment([40, 40, 40, 60, 60, 60], [10, 12, 11, 900, 950, 920])
    assert not levels.ok and "2 intensity levels" in levels.message
    flat = fit_recruitment([30, 40, 50, 60, 70], [5, 5, 5, 5, 5])
    assert not flat.ok and "same" in flat.message
    assert np.isnan(flat.predict([50])).all() and flat.describe() == flat.message


def test_extrapolated_midpoint_is_flagged():
    intensity = np.arange(30.0, 50.0, 2.0)
    fit = fit_recruitment(intensity, boltzmann(intensity, 2000.0, 60.0, 4.0) + 1.0)
    assert fit.ok
    assert any("outside the intensities" in w or "plateau is not reached" in w
               for w in fit.warnings)
