"""The display pipeline without Qt: parity with a full eager load, budgets, filters, montages."""

from __future__ import annotations

import numpy as np
import pytest
from viewer_support import make_source

from tracemark.dsp.decimate import minmax_decimate
from tracemark.dsp.filters import DisplayFilter
from tracemark.dsp.summary import MinMaxPyramid
from tracemark.paging.pipeline import DisplayPipeline, plan_rows
from tracemark.paging.request import (
    ORIGIN_RAW,
    ORIGIN_SAMPLED,
    ORIGIN_STREAMED,
    ORIGIN_SUMMARY,
    PageRequest,
    aligned_range,
)
from tracemark.paging.source import ArraySource


@pytest.fixture
def source():
    return make_source(duration_s=200.0, rate=512.0)


def request(i_start, i_stop, rows, factor, montage_key="", filter_key="", request_id=1):
    a, b = aligned_range(i_start, i_stop, factor)
    return PageRequest(request_id, a, b, tuple(rows), factor, montage_key, filter_key)


@pytest.mark.parametrize("factor", [1, 4, 16, 64])
@pytest.mark.parametrize("start", [0, 1000, 97_131])
def test_raw_pages_equal_decimating_the_full_recording(source, factor, start):
    pipeline = DisplayPipeline(source, block_samples=4096)
    full = source.read_block(0, source.n_samples, range(19))
    rows = (3, 0, 7)
    req = request(start, start + 5000, rows, factor)
    result = pipeline.compute(req)
    assert result.origin == ORIGIN_RAW
    expected = minmax_decimate(full[req.i_start:req.i_stop][:, list(rows)], factor, req.i_start)
    np.testing.assert_array_equal(result.bin_starts, expected[0])
    np.testing.assert_array_equal(result.mins, expected[1])
    np.testing.assert_array_equal(result.maxs, expected[2])


def test_a_page_past_the_end_is_padded_with_gaps_not_wrapped(source):
    pipeline = DisplayPipeline(source)
    n = source.n_samples
    req = request(n - 100, n + 60, (0,), 16)
    result = pipeline.compute(req)
    assert len(result.bin_starts) == req.n_samples // 16
    assert np.isnan(result.mins[-1, 0]) and np.isfinite(result.mins[0, 0])


def test_summary_pages_equal_decimating_the_full_recording(source):
    full = source.read_block(0, source.n_samples, range(19))
    pyramid = MinMaxPyramid.build(lambda a, b: full[a:b], source.n_samples, 19, base_factor=64)
    pipeline = DisplayPipeline(source, raw_budget_values=10_000)
    pipeline.set_pyramid("", pyramid)
    reads_before = len(source.reads)
    req = request(0, source.n_samples, (5, 6), 256)
    result = pipeline.compute(req)
    assert result.origin == ORIGIN_SUMMARY
    assert len(source.reads) == reads_before  # the whole recording costs no read at all
    expected = minmax_decimate(full[:, [5, 6]], 256, 0)
    np.testing.assert_array_equal(result.mins, expected[1])
    np.testing.assert_array_equal(result.maxs, expected[2])


def test_a_window_finer_than_the_summary_is_served_coarser_not_left_blank(source):
    full = source.read_block(0, source.n_samples, range(19))
    pyramid = MinMaxPyramid.build(lambda a, b: full[a:b], source.n_samples, 19, base_factor=512)
    pipeline = DisplayPipeline(source, raw_budget_values=10_000, stream_budget_values=20_000)
    pipeline.set_pyramid("", pyramid)
    req = request(0, 81_920, (2,), 64)  # 64 is finer than any level
    result = pipeline.compute(req)
    assert result.origin == ORIGIN_SUMMARY and result.bin_factor == 512
    expected = minmax_decimate(full[:81_920, [2]], 512, 0)
    np.testing.assert_array_equal(result.maxs, expected[2])
    again = pipeline.cached(req.shifted(0, request_id=9))
    assert again.bin_factor == 512
    np.testing.assert_array_equal(again.bin_starts, expected[0])


def test_long_windows_stream_or_wait_for_the_summary(source):
    pipeline = DisplayPipeline(source, raw_budget_values=20_000, stream_budget_values=1_000_000)
    req = request(0, 100_000, (0, 1), 128)
    streamed = pipeline.compute(req)
    assert streamed.origin == ORIGIN_STREAMED
    full = source.read_block(0, req.i_stop, [0, 1])
    np.testing.assert_array_equal(streamed.maxs, minmax_decimate(full, 128, 0)[2])
    # Too long to stream before the summary exists: drawn at once from samples, every bin
    # within the true bin's range (an approximation, never a blank frame).
    whole = request(0, source.n_samples // 256 * 256, tuple(range(19)), 256)
    sampled = pipeline.compute(whole)
    assert sampled.origin == ORIGIN_SAMPLED and "approximate" in sampled.message
    truth = minmax_decimate(source.read_block(0, whole.i_stop, range(19)), 256, 0)
    assert sampled.mins.shape == truth[1].shape and np.isfinite(sampled.mins).all()
    assert (sampled.mins >= truth[1] - 1e-4).all() and (sampled.maxs <= truth[2] + 1e-4).all()


class IntegerSource(ArraySource):
    """Stored 16-bit codes scaled by a gain per channel (one negative), as EDF can be."""

    def __init__(self, codes, gains, offsets, rate=256.0):
        self.codes = np.asarray(codes, dtype=np.int16)
        self.gains, self.offsets = np.asarray(gains, float), np.asarray(offsets, float)
        super().__init__(self.codes * self.gains + self.offsets, rate)

    def read_raw_block(self, i_start, i_stop, channels):
        return self.codes[i_start:i_stop][:, list(channels)].copy()

    def raw_scaling(self, channels):
        index = list(channels)
        return self.gains[index], self.offsets[index]


def test_long_windows_reduce_stored_integers_and_scale_only_the_bins():
    rng = np.random.default_rng(5)
    codes = rng.integers(-30000, 30000, (200_000, 3))
    source = IntegerSource(codes, gains=[0.1, -0.5, 2.0], offsets=[5.0, 0.0, -100.0])
    pipeline = DisplayPipeline(source, raw_budget_values=20_000, stream_budget_values=10_000_000)
    req = request(0, 199_680, (0, 1, 2), 256)
    streamed = pipeline.compute(req)
    assert streamed.origin == ORIGIN_STREAMED
    expected = minmax_decimate(source.read_block(0, req.i_stop, [0, 1, 2]), 256, 0)
    np.testing.assert_allclose(streamed.mins, expected[1], rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(streamed.maxs, expected[2], rtol=1e-6, atol=1e-3)


def _stretch_truth(data, request, length):
    """Min and max of the ``length`` samples at the start of each bin, NaN past the end."""
    n_bins = request.n_samples // request.factor
    mins = np.full((n_bins, data.shape[1]), np.nan, np.float32)
    maxs = mins.copy()
    for k in range(n_bins):
        start = request.i_start + k * request.factor
        if start < len(data):
            stretch = data[start:start + length]
            mins[k], maxs[k] = stretch.min(axis=0), stretch.max(axis=0)
    return mins, maxs


@pytest.mark.parametrize("on_codes", [False, True])
def test_a_sampled_page_is_the_min_and_max_of_the_stretch_at_each_bin(on_codes):
    """Physical values and stored codes (one gain negative) alike, on a recording that ends
    inside a stretch and before the last bins."""
    rng = np.random.default_rng(11)
    codes = rng.integers(-30000, 30000, (100_003, 3))
    source = (IntegerSource(codes, gains=[0.1, -0.5, 2.0], offsets=[5.0, 0.0, -100.0]) if on_codes
              else ArraySource(rng.normal(0, 50, (100_003, 3)).astype(np.float32), 256.0))
    pipeline = DisplayPipeline(source, raw_budget_values=1_000, stream_budget_values=2_000,
                               sample_budget_values=6_000)
    req = request(0, 102_400, (2, 0), 1024)
    sampled = pipeline.compute(req)
    assert sampled.origin == ORIGIN_SAMPLED
    length = 6_000 // (100 * 2)                       # the budget shared by bins and inputs
    data = source.read_block(0, source.n_samples, [2, 0])
    mins, maxs = _stretch_truth(data, req, length)
    np.testing.assert_allclose(sampled.mins, mins, rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(sampled.maxs, maxs, rtol=1e-6, atol=1e-3)
    assert np.isnan(sampled.mins[-2:]).all() and np.isfinite(sampled.mins[:-3]).all()


def test_a_sampled_page_of_a_montage_combines_each_stretch(source):
    matrix = np.zeros((2, 19), np.float32)
    matrix[0, [0, 1]] = (1, -1)
    matrix[1, [5, 9]] = (1, -1)
    pipeline = DisplayPipeline(source, raw_budget_values=1_000, stream_budget_values=2_000,
                               sample_budget_values=16_000)
    pipeline.register_montage("bipolar", matrix)
    req = request(0, 100_352, (0, 1), 512, montage_key="bipolar")
    sampled = pipeline.compute(req)
    assert sampled.origin == ORIGIN_SAMPLED
    data = source.read_block(0, source.n_samples, range(19)) @ matrix.T
    mins, maxs = _stretch_truth(data, req, 16_000 // (196 * 4))   # 4 inputs over 196 bins
    np.testing.assert_allclose(sampled.mins, mins, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(sampled.maxs, maxs, rtol=1e-5, atol=1e-3)


def test_raw_blocks_are_cached_and_the_cache_is_bounded(source):
    pipeline = DisplayPipeline(source, block_samples=1024, cache_bytes=200_000)
    req = request(0, 4096, (0, 1), 4)
    pipeline.compute(req)
    n_reads = len(source.reads)
    pipeline.result_cache.clear()
    pipeline.compute(req.shifted(0, request_id=2))
    assert len(source.reads) == n_reads  # second time served from cached blocks
    for start in range(0, 60_000, 4096):
        pipeline.compute(request(start, start + 4096, (0, 1), 4))
    assert pipeline.block_cache.nbytes <= 200_000


def test_montage_rows_read_only_the_inputs_they_need(source):
    matrix = np.zeros((2, 19), np.float32)
    matrix[0, [0, 2]] = (1, -1)   # Fp1 - F7
    matrix[1, [4, 9]] = (1, -1)   # Fz - Cz
    pipeline = DisplayPipeline(source)
    pipeline.register_montage("bipolar", matrix)
    result = pipeline.compute(request(512, 4096, (1,), 1, montage_key="bipolar"))
    assert source.reads[-1][2] == (4, 9)
    full = source.read_block(0, source.n_samples, range(19))
    np.testing.assert_allclose(result.mins[:, 0], full[512:4096, 4] - full[512:4096, 9], atol=1e-4)
    assert plan_rows(None, (2, 1)).inputs == (2, 1)


def test_filtered_window_matches_filtering_the_whole_recording(source):
    """Padding makes a window's edges look as they do in the fully filtered recording."""
    display_filter = DisplayFilter(highpass_hz=1.0, lowpass_hz=40.0)
    pipeline = DisplayPipeline(source)
    pipeline.register_filter("f", display_filter)
    req = request(40_000, 45_120, (0, 1), 1, filter_key="f")
    result = pipeline.compute(req)
    assert result.filtered
    full = source.read_block(0, source.n_samples, [0, 1])
    expected = display_filter.apply(full, source.sampling_rate)[req.i_start:req.i_stop]
    span = np.ptp(expected, axis=0)
    assert np.max(np.abs(result.mins - expected) / span) < 2e-3


def test_cached_result_is_returned_under_the_new_request_id(source):
    pipeline = DisplayPipeline(source)
    first = pipeline.compute(request(0, 2048, (0,), 2, request_id=1))
    again = pipeline.cached(request(0, 2048, (0,), 2, request_id=7))
    assert again.request.request_id == 7
    np.testing.assert_array_equal(again.maxs, first.maxs)


def test_requests_must_be_aligned_to_their_factor():
    with pytest.raises(ValueError, match="not aligned"):
        PageRequest(1, 3, 64, (0,), 4)


def test_a_page_of_stored_integers_equals_scaling_every_sample_first():
    """The integer path (min/max of stored codes, scaled bins, mean removed from the bins)
    draws exactly what scaling every sample and removing its mean would draw."""
    rng = np.random.default_rng(9)
    codes = np.cumsum(rng.integers(-300, 300, (50_000, 3)), axis=0).clip(-32000, 32000)
    source = IntegerSource(codes, gains=[0.05, -0.2, 1.5], offsets=[40_000.0, 3.0, -7.0])
    pipeline = DisplayPipeline(source)
    pipeline.register_filter("dc", DisplayFilter(remove_dc=True))
    for filter_key, remove_dc in (("", False), ("dc", True)):
        req = request(4096, 4096 + 20_480, (0, 1, 2), 16)
        req = PageRequest(req.request_id, req.i_start, req.i_stop, req.rows, req.factor, "", filter_key)
        result = pipeline.compute(req)
        physical = source.read_block(req.i_start, req.i_stop, [0, 1, 2]).astype(np.float64)
        if remove_dc:
            physical -= physical.mean(axis=0)
        expected = minmax_decimate(physical, 16, req.i_start)
        assert result.origin == ORIGIN_RAW
        np.testing.assert_allclose(result.mins, expected[1], rtol=1e-5, atol=2e-3)
        np.testing.assert_allclose(result.maxs, expected[2], rtol=1e-5, atol=2e-3)
