"""Onset alignment and the averaged response, checked against plain numpy loops."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tracemark.analysis import AverageAccumulator, TraceSet, align_on_onsets, average_response


def _aligned_by_loop(data: np.ndarray, shifts) -> np.ndarray:
    """Independent alignment: aligned row r of trace i is stored row r + shift_i."""
    n, rows, channels = data.shape
    out = np.full((n, rows, channels), np.nan)
    for i, shift in enumerate(shifts):
        for r in range(rows):
            if 0 <= r + shift < rows:
                out[i, r] = data[i, r + shift]
    return out


@pytest.fixture
def random_set() -> TraceSet:
    rng = np.random.default_rng(3)
    data = rng.normal(0, 10, (12, 40, 3)).astype(np.float32)
    data[2, 5:9, 1] = np.nan  # a gap: left out sample by sample
    shifts = np.array([0, 3, -4, 7, 0, -1, 39, -39, 2, 0, 5, -2])
    reject = np.zeros(12, bool)
    reject[[1, 4]] = True
    return TraceSet.from_arrays(data, 1000.0, 10, ["a", "b", "c"], onset_shift=shifts,
                                reject=reject)


def test_alignment_matches_a_loop(random_set):
    expected = _aligned_by_loop(random_set.data, random_set.onset_shift)
    got = align_on_onsets(random_set.data, random_set.onset_shift)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[~np.isnan(got)], expected[~np.isnan(expected)])


def test_a_ramp_moves_by_its_shift():
    rows = np.arange(20, dtype=np.float32)
    data = np.stack([rows, rows, rows])[:, :, None]
    aligned = align_on_onsets(data, [0, 5, -5])
    assert aligned[1, 0, 0] == 5 and aligned[1, 14, 0] == 19 and np.isnan(aligned[1, 15, 0])
    assert np.isnan(aligned[2, 4, 0]) and aligned[2, 5, 0] == 0


def test_average_is_nanmean_and_nanstd_of_accepted(random_set):
    aligned = _aligned_by_loop(random_set.data, random_set.onset_shift)[~random_set.reject]
    result = average_response(random_set)
    with warnings.catch_warnings():  # all-NaN columns warn; they are expected here
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(aligned, axis=0)
        sd = np.nanstd(aligned, axis=0, ddof=1)
    count = np.isfinite(aligned).sum(axis=0)
    sd[count < 2] = np.nan
    np.testing.assert_allclose(result.mean, mean, equal_nan=True, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(result.sd, sd, equal_nan=True, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(result.count, count)
    assert result.n_traces == 10
    np.testing.assert_allclose(result.time_ms[[0, 10, 39]], [-10.0, 0.0, 29.0])


def test_accumulator_follows_edits(random_set):
    accumulator = AverageAccumulator(random_set)
    rng = np.random.default_rng(9)
    state = random_set.copy()
    for _ in range(60):
        index = int(rng.integers(len(state)))
        if rng.random() < 0.5:
            state.reject[index] = not state.reject[index]
            changed = accumulator.set_included(index, not state.reject[index])
            assert changed
        else:
            shift = int(rng.integers(-12, 12))
            accumulator.set_shift(index, shift)
            state.onset_shift[index] = shift
    fresh = average_response(state)
    incremental = accumulator.result()
    np.testing.assert_array_equal(incremental.count, fresh.count)
    np.testing.assert_allclose(incremental.mean, fresh.mean, equal_nan=True, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(incremental.sd, fresh.sd, equal_nan=True, rtol=1e-6, atol=1e-6)
    assert incremental.n_traces == int((~state.reject).sum())


def test_accumulator_reports_no_change():
    traces = TraceSet.from_arrays(np.ones((3, 5, 1)), 100.0, 1, ["x"])
    accumulator = AverageAccumulator(traces)
    assert not accumulator.set_included(0, True)
    assert not accumulator.set_shift(0, 0)
    result = accumulator.result()
    np.testing.assert_allclose(result.mean, 1.0)
    np.testing.assert_allclose(result.sd, 0.0)


def test_sd_needs_two_traces():
    data = np.arange(10, dtype=np.float32).reshape(1, 10, 1)
    result = average_response(TraceSet.from_arrays(data, 1000.0, 2, ["x"]))
    assert np.isnan(result.sd).all()
    np.testing.assert_allclose(result.mean[:, 0], np.arange(10))


def test_traceset_checks_shapes_and_applies_cache_attrs():
    with pytest.raises(ValueError, match="reject"):
        TraceSet.from_arrays(np.zeros((2, 4, 1)), 100.0, 1, ["x"], reject=[False])
    traces = TraceSet.from_arrays(np.zeros((2, 4, 1)), 100.0, 1, ["x"])
    changed = traces.apply_attrs(1, {"reject": True, "onset_shift": 2, "comment": "noisy",
                                     "stimulation_intensity_mso": 60.0,
                                     "xyz_coords": [1.0, 2.0, 3.0],
                                     "neg_peak_magnitude_uv": -40.0, "pos_peak_magnitude_uv": 60.0,
                                     "neg_peak_latency_ms": 21.0, "pos_peak_latency_ms": 27.0})
    assert changed == {"reject", "onset_shift", "intensity_mso", "xyz", "annotated"}
    assert traces.annotated_ptp_uv[1] == 100.0 and traces.annotated_latency_ms[1] == 21.0
    assert traces.apply_attrs(1, {"reject": True, "xyz_coords": [1.0, 2.0, 3.0]}) == frozenset()
    assert traces.apply_attrs(1, {"xyz_coords": None}) == {"xyz"}
    assert np.isnan(traces.xyz[1]).all()
    with pytest.raises(IndexError):
        traces.apply_attrs(5, {"reject": True})
