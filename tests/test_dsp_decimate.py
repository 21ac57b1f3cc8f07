"""Peak-preserving decimation: alignment, spikes, edges, NaN, contracts, merging."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tracemark.dsp.decimate import (
    bin_range,
    choose_factor,
    envelope_xy,
    merge_minmax,
    minmax_decimate,
)


def naive_minmax(data, factor, first_sample):
    """Reference: one bin at a time, straight from the definition."""
    n = data.shape[0]
    absolute = np.arange(first_sample, first_sample + n)
    keys = absolute // factor
    starts, mins, maxs = [], [], []
    for k in np.unique(keys):
        rows = data[keys == k]
        starts.append(k * factor)
        mins.append(rows.min(axis=0))
        maxs.append(rows.max(axis=0))
    return (np.array(starts, dtype=np.int64), np.array(mins, dtype=np.float32),
            np.array(maxs, dtype=np.float32))


@pytest.fixture
def signal():
    rng = np.random.default_rng(1234)
    return rng.standard_normal((2500, 7)).astype(np.float32)


@pytest.mark.parametrize(("n_samples", "n_pixels", "expected"), [
    (0, 100, 1), (200, 100, 1), (201, 100, 4), (1000, 100, 16), (1024, 100, 16),
    (1025, 512, 4), (20480, 1000, 32), (4096, 1024, 4), (4097, 1024, 8),
])
def test_choose_factor(n_samples, n_pixels, expected):
    assert choose_factor(n_samples, n_pixels) == expected


def test_choose_factor_is_smallest_power_of_two_covering_the_ratio():
    for n_samples in range(2001, 40000, 997):
        factor = choose_factor(n_samples, 1000)
        assert factor & (factor - 1) == 0
        assert factor >= n_samples / 1000 > factor / 2


def test_choose_factor_rejects_no_pixels():
    with pytest.raises(ValueError, match="n_pixels"):
        choose_factor(100, 0)


@pytest.mark.parametrize("factor", [2, 3, 8, 64, 1000])
@pytest.mark.parametrize("first_sample", [0, 1, 5, 63, 64, 12345])
def test_matches_naive_reference(signal, factor, first_sample):
    got = minmax_decimate(signal, factor, first_sample)
    want = naive_minmax(signal, factor, first_sample)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("factor", [4, 16, 128])
def test_no_shimmer_overlapping_windows_share_identical_bins(factor):
    """Scrolling by any amount gives the same values for every complete shared bin."""
    rng = np.random.default_rng(7)
    stream = rng.standard_normal((20000, 3)).astype(np.float32)
    starts_all, mins_all, maxs_all = minmax_decimate(stream, factor, 0)
    assert np.array_equal(starts_all, np.arange(len(starts_all)) * factor)
    width = 3000
    for window_start in (0, 1, 3, 17, 100, 1001, 4097, 9999):
        window = stream[window_start:window_start + width]
        starts, mins, maxs = minmax_decimate(window, factor, window_start)
        assert np.all(starts % factor == 0)
        complete = (starts >= window_start) & (starts + factor <= window_start + width)
        assert complete.sum() >= width // factor - 1
        same_bins = starts[complete] // factor
        np.testing.assert_array_equal(mins[complete], mins_all[same_bins])
        np.testing.assert_array_equal(maxs[complete], maxs_all[same_bins])


@pytest.mark.parametrize("factor", [1, 2, 4, 8, 64, 512, 4096])
def test_single_sample_spike_is_kept_at_every_factor(factor):
    data = np.zeros((10000, 2), dtype=np.float32)
    data[4321, 0] = 250.0
    data[777, 1] = -80.0
    for first_sample in (0, 13):
        starts, mins, maxs = minmax_decimate(data, factor, first_sample)
        assert maxs[:, 0].max() == 250.0
        assert mins[:, 1].min() == -80.0
        spike_bin = (first_sample + 4321) // factor - (first_sample // factor)
        assert maxs[spike_bin, 0] == 250.0
        assert starts[spike_bin] <= first_sample + 4321 < starts[spike_bin] + factor


def test_partial_edge_bins_use_only_the_samples_present():
    data = np.arange(10, dtype=np.float32)[:, None]  # absolute samples 6..15
    starts, mins, maxs = minmax_decimate(data, 4, 6)
    np.testing.assert_array_equal(starts, [4, 8, 12])
    np.testing.assert_array_equal(mins[:, 0], [0, 2, 6])   # samples 6,7 | 8..11 | 12..15
    np.testing.assert_array_equal(maxs[:, 0], [1, 5, 9])


def test_window_inside_one_bin():
    data = np.array([[3.0], [-1.0], [2.0]], dtype=np.float32)
    starts, mins, maxs = minmax_decimate(data, 64, 70)
    np.testing.assert_array_equal(starts, [64])
    assert mins[0, 0] == -1.0 and maxs[0, 0] == 3.0


def test_factor_one_returns_the_data():
    data = np.random.default_rng(3).standard_normal((50, 4)).astype(np.float32)
    starts, mins, maxs = minmax_decimate(data, 1, 100)
    np.testing.assert_array_equal(starts, np.arange(100, 150))
    np.testing.assert_array_equal(mins, data)
    np.testing.assert_array_equal(maxs, data)


def test_nan_samples_are_ignored_and_all_nan_bins_stay_nan():
    data = np.ones((16, 2), dtype=np.float32)
    data[0:4, 0] = np.nan          # bin 0 of channel 0: all NaN
    data[5, 0] = np.nan            # bin 1: one NaN among ones
    data[6, 0] = 9.0
    data[8:12, 1] = np.nan         # bin 2 of channel 1: all NaN
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, mins, maxs = minmax_decimate(data, 4, 0)
    assert np.isnan(mins[0, 0]) and np.isnan(maxs[0, 0])
    assert mins[1, 0] == 1.0 and maxs[1, 0] == 9.0
    assert np.isnan(mins[2, 1]) and np.isnan(maxs[2, 1])
    assert not np.isnan(mins[:, 0][1:]).any()
    assert not np.isnan(mins[[0, 1, 3], 1]).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.int32])
def test_dtype_and_shape_contract(dtype):
    data = (np.random.default_rng(5).standard_normal((1000, 3)) * 100).astype(dtype)
    starts, mins, maxs = minmax_decimate(data, 16, 8)
    assert starts.dtype == np.int64 and starts.shape == (63,)  # samples 8..1007 touch bins 0..62
    assert mins.dtype == np.float32 and maxs.dtype == np.float32
    assert mins.shape == maxs.shape == (63, 3)
    assert np.all(mins <= maxs)


def test_empty_and_invalid_input():
    starts, mins, maxs = minmax_decimate(np.empty((0, 5), np.float32), 8, 100)
    assert starts.shape == (0,) and mins.shape == maxs.shape == (0, 5)
    with pytest.raises(ValueError, match="2-D"):
        minmax_decimate(np.zeros(10), 2, 0)
    with pytest.raises(ValueError, match="positive integer"):
        minmax_decimate(np.zeros((10, 1)), 0, 0)


def test_non_contiguous_channel_selection(signal):
    picked = signal[:, [4, 0, 2]]
    strided = signal[:, ::3]
    for view in (picked, strided, np.asfortranarray(signal)):
        got = minmax_decimate(view, 32, 9)
        want = naive_minmax(np.ascontiguousarray(view), 32, 9)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_envelope_xy_layout():
    starts = np.array([0, 4, 8], dtype=np.int64)
    mins = np.array([[0.0, 10.0], [1.0, 11.0], [2.0, 12.0]], dtype=np.float32)
    maxs = mins + 100
    x, y = envelope_xy(starts, mins, maxs, 4, sampling_rate=2.0, start_offset_s=10.0)
    assert x.dtype == np.float64 and x.shape == (6,)
    assert y.dtype == np.float32 and y.shape == (6, 2)
    # bin centre of samples 0..3 is sample 1.5 -> 0.75 s at 2 Hz
    np.testing.assert_allclose(x, [10.75, 10.75, 12.75, 12.75, 14.75, 14.75])
    np.testing.assert_array_equal(y[0::2], mins)
    np.testing.assert_array_equal(y[1::2], maxs)


def test_envelope_xy_factor_one_is_plain_samples():
    data = np.arange(12, dtype=np.float32).reshape(6, 2)
    starts, mins, maxs = minmax_decimate(data, 1, 20)
    x, y = envelope_xy(starts, mins, maxs, 1, sampling_rate=10.0, start_offset_s=1.0)
    np.testing.assert_allclose(x, 1.0 + np.arange(20, 26) / 10.0)
    np.testing.assert_array_equal(y, data)


@pytest.mark.parametrize(("factor_in", "factor_out"), [(1, 4), (2, 8), (4, 4), (8, 64),
                                                       (3, 12), (64, 4096)])
@pytest.mark.parametrize("first_sample", [0, 5, 129, 4100])
def test_merge_equals_direct_decimation_at_the_coarser_factor(
        signal, factor_in, factor_out, first_sample):
    fine = minmax_decimate(signal, factor_in, first_sample)
    merged = merge_minmax(*fine, factor_in, factor_out)
    direct = minmax_decimate(signal, factor_out, first_sample)
    for m, d in zip(merged, direct):
        np.testing.assert_array_equal(m, d)


def test_merge_rejects_bad_factors_and_gaps():
    starts, mins, maxs = minmax_decimate(np.zeros((64, 1), np.float32), 4, 0)
    with pytest.raises(ValueError, match="multiple"):
        merge_minmax(starts, mins, maxs, 4, 6)
    with pytest.raises(ValueError, match="consecutive"):
        merge_minmax(starts[::2], mins[::2], maxs[::2], 4, 16)


def test_bin_range():
    assert bin_range(0, 100, 8) == (0, 13)
    assert bin_range(7, 8, 8) == (0, 1)
    assert bin_range(8, 16, 8) == (1, 2)
    assert bin_range(5, 5, 8) == (0, 0)
