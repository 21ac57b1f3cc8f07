"""Peak estimation and peak picking against numpy computed here, on traces whose extremes
are planted where we know them, and on the awkward cases (NaN, window outside the trace,
ties, windows on sample boundaries)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracemark.analysis.peaks import (
    NEGATIVE,
    NO_PEAKS,
    POSITIVE,
    PeakEstimate,
    estimate_peaks,
    pick_peak,
    stored_peaks,
    window_offsets,
)

RATE, PRE, ROWS = 2000.0, 100, 300


def _trace(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 5, ROWS).astype(np.float32)


def _reference(trace, shift, start_ms, stop_ms):
    """Independent computation: time of every row after the onset, mask, nanargmin/max."""
    t_ms = (np.arange(ROWS) - (PRE + shift)) * 1000.0 / RATE
    inside = (t_ms >= start_ms - 1e-9) & (t_ms <= stop_ms + 1e-9)
    values = np.where(inside, trace.astype(np.float64), np.nan)
    i_min, i_max = np.nanargmin(values), np.nanargmax(values)
    return values[i_min], t_ms[i_min], values[i_max], t_ms[i_max]


@pytest.mark.parametrize("shift", [0, 7, -13, 40])
@pytest.mark.parametrize("window", [(15.0, 50.0), (0.0, 10.0), (12.25, 12.75), (5.5, 80.0)])
def test_estimate_matches_numpy(shift, window):
    trace = _trace(shift + 100)
    trace[PRE + shift + 44] = -300.0   # 22 ms after the onset
    trace[PRE + shift + 56] = 400.0    # 28 ms
    est = estimate_peaks(trace, RATE, PRE, shift, window)
    neg, neg_t, pos, pos_t = _reference(trace, shift, *window)
    assert est.neg_magnitude_uv == pytest.approx(neg)
    assert est.neg_latency_ms == pytest.approx(neg_t)
    assert est.pos_magnitude_uv == pytest.approx(pos)
    assert est.pos_latency_ms == pytest.approx(pos_t)


def test_planted_peaks_found_with_latency_from_the_shifted_onset():
    trace = _trace()
    shift = 10
    trace[PRE + shift + 44] = -300.0
    trace[PRE + shift + 56] = 400.0
    est = estimate_peaks(trace, RATE, PRE, shift, (15.0, 50.0))
    assert est == PeakEstimate(-300.0, 22.0, 400.0, 28.0)
    assert est.peak_to_peak_uv == 700.0
    assert est.as_attrs() == {"neg_peak_magnitude_uv": -300.0, "neg_peak_latency_ms": 22.0,
                              "pos_peak_magnitude_uv": 400.0, "pos_peak_latency_ms": 28.0}


def test_window_bounds_on_samples_are_inclusive():
    # 15 ms and 20 ms at 2 kHz are rows 30 and 40 after the onset: both inside.
    assert window_offsets((15.0, 20.0), RATE) == (30, 40)
    trace = np.zeros(ROWS, np.float32)
    trace[PRE + 30] = -1.0
    trace[PRE + 40] = 1.0
    est = estimate_peaks(trace, RATE, PRE, 0, (15.0, 20.0))
    assert (est.neg_latency_ms, est.pos_latency_ms) == (15.0, 20.0)


def test_ties_go_to_the_earliest_sample():
    trace = np.zeros(ROWS, np.float32)
    trace[PRE + 40] = trace[PRE + 50] = 9.0
    est = estimate_peaks(trace, RATE, PRE, 0, (15.0, 50.0))
    assert est.pos_latency_ms == 20.0


def test_nan_samples_are_ignored_and_an_all_nan_window_is_unknown():
    trace = _trace()
    trace[PRE + 30:PRE + 60] = np.nan
    trace[PRE + 70] = -500.0
    est = estimate_peaks(trace, RATE, PRE, 0, (15.0, 50.0))
    assert est.neg_magnitude_uv == -500.0 and est.neg_latency_ms == 35.0
    trace[PRE + 30:PRE + 101] = np.nan
    assert estimate_peaks(trace, RATE, PRE, 0, (15.0, 50.0)) == NO_PEAKS
    assert NO_PEAKS.peak_to_peak_uv is None and not NO_PEAKS.found


def test_window_past_the_trace_end_is_clipped_or_empty():
    trace = _trace()
    est = estimate_peaks(trace, RATE, PRE, 150, (15.0, 500.0))  # onset at row 250
    neg, _, pos, _ = _reference(trace, 150, 15.0, 500.0)
    assert est.neg_magnitude_uv == pytest.approx(neg) and est.pos_magnitude_uv == pytest.approx(pos)
    assert estimate_peaks(trace, RATE, PRE, 190, (15.0, 50.0)) == NO_PEAKS


@pytest.mark.parametrize("window", [(50.0, 15.0), (10.0, 10.0), (math.nan, 5.0), (0.0, math.inf)])
def test_bad_windows_are_refused(window):
    with pytest.raises(ValueError, match="run forwards"):
        estimate_peaks(_trace(), RATE, PRE, 0, window)


def test_bad_traces_are_refused():
    with pytest.raises(ValueError, match="1-D"):
        estimate_peaks(np.zeros((10, 2)), RATE, PRE, 0, (1.0, 2.0))
    with pytest.raises(ValueError, match="sampling rate"):
        estimate_peaks(np.zeros(10), 0.0, 2, 0, (1.0, 2.0))


def test_pick_chooses_the_extreme_closer_to_the_click():
    trace = _trace()
    trace[PRE + 44] = -300.0
    trace[PRE + 46] = 250.0   # 1 ms apart: both within the +-1 ms snap of a click at 22.5 ms
    near_trough = pick_peak(trace, RATE, PRE, 0, 22.5, -200.0)
    near_crest = pick_peak(trace, RATE, PRE, 0, 22.5, 180.0)
    assert (near_trough.kind, near_trough.magnitude_uv, near_trough.latency_ms) == (NEGATIVE, -300.0, 22.0)
    assert (near_crest.kind, near_crest.magnitude_uv, near_crest.latency_ms) == (POSITIVE, 250.0, 23.0)


def test_pick_forced_kind_and_latency_from_the_shifted_onset():
    trace = _trace()
    trace[PRE + 44] = -300.0
    trace[PRE + 46] = 250.0
    forced = pick_peak(trace, RATE, PRE, 4, 22.5, -290.0, kind=POSITIVE)
    assert (forced.kind, forced.magnitude_uv, forced.latency_ms) == (POSITIVE, 250.0, 21.0)
    assert forced.as_attrs() == {"pos_peak_magnitude_uv": 250.0, "pos_peak_latency_ms": 21.0}


def test_pick_snaps_only_within_reach():
    trace = np.zeros(ROWS, np.float32)
    trace[PRE + 44] = -300.0  # 22 ms; a click at 30 ms with a 1 ms snap cannot reach it
    peak = pick_peak(trace, RATE, PRE, 0, 30.0, -250.0)
    assert peak.magnitude_uv == 0.0 and 29.0 <= peak.latency_ms <= 31.0
    assert pick_peak(trace, RATE, PRE, 0, 500.0, 0.0) is None
    with pytest.raises(ValueError, match="peak is"):
        pick_peak(trace, RATE, PRE, 0, 22.0, 0.0, kind="both")


def test_stored_peaks_reads_unknowns_as_none():
    attrs = {"neg_peak_magnitude_uv": -3.5, "neg_peak_latency_ms": "21.5",
             "pos_peak_magnitude_uv": None, "pos_peak_latency_ms": float("nan")}
    assert stored_peaks(attrs) == PeakEstimate(-3.5, 21.5, None, None)
    assert stored_peaks({}) == NO_PEAKS
