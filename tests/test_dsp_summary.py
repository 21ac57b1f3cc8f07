"""MinMaxPyramid: streaming build, progress, cancel, parity with eager decimation."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tracemark.dsp.decimate import minmax_decimate
from tracemark.dsp.summary import MinMaxPyramid, suggest_base_factor


def make_stream(n_samples=100_003, n_channels=5, seed=42):
    """Random data with sparse single-sample spikes of both signs and a NaN gap."""
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n_samples, n_channels)).astype(np.float32)
    spikes = rng.integers(0, n_samples, size=40)
    data[spikes, rng.integers(0, n_channels, size=40)] = rng.choice([-500.0, 500.0], 40)
    data[5000:5200, 1] = np.nan
    return data


class RecordingReader:
    """read_block over an in-memory array that records every request."""

    def __init__(self, data):
        self.data = data
        self.calls: list[tuple[int, int]] = []

    def __call__(self, i_start, i_stop):
        self.calls.append((i_start, i_stop))
        return self.data[i_start:i_stop].copy()


@pytest.fixture(scope="module")
def stream():
    return make_stream()


@pytest.fixture(scope="module")
def pyramid(stream):
    pyr = MinMaxPyramid.build(RecordingReader(stream), *stream.shape,
                              base_factor=16, level_step=4, chunk_samples=4096)
    assert pyr is not None
    return pyr


def test_levels_and_factors(pyramid, stream):
    assert pyramid.factors == (16, 64, 256, 1024, 4096, 16384, 65536)
    assert pyramid.n_samples == stream.shape[0] and pyramid.n_channels == stream.shape[1]
    for factor, (mins, maxs) in zip(pyramid.factors, pyramid.levels):
        assert mins.dtype == maxs.dtype == np.float32
        assert mins.shape == (-(-stream.shape[0] // factor), stream.shape[1])


def test_build_streams_in_chunks_covering_the_stream_once(stream):
    reader = RecordingReader(stream)
    MinMaxPyramid.build(reader, *stream.shape, base_factor=16, chunk_samples=4096)
    assert all(stop - start <= 4096 for start, stop in reader.calls)
    assert [start for start, _ in reader.calls] == list(range(0, stream.shape[0], 4096))
    assert reader.calls[-1][1] == stream.shape[0]


def test_progress_is_monotonic_from_zero_to_one(stream):
    seen = []
    MinMaxPyramid.build(RecordingReader(stream), *stream.shape, base_factor=16,
                        chunk_samples=8192, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert all(b >= a for a, b in zip(seen, seen[1:]))
    assert len(seen) >= stream.shape[0] // 8192


def test_cancel_stops_reading_and_returns_none(stream):
    reader = RecordingReader(stream)
    result = MinMaxPyramid.build(reader, *stream.shape, base_factor=16, chunk_samples=4096,
                                 cancelled=lambda: len(reader.calls) >= 3)
    assert result is None
    assert len(reader.calls) == 3


def test_a_build_on_threads_equals_the_build_on_one(stream, pyramid):
    threads = set()

    def read(i_start, i_stop):
        threads.add(threading.get_ident())
        return stream[i_start:i_stop].copy()

    setups = []
    parallel = MinMaxPyramid.build(read, *stream.shape, base_factor=16, level_step=4, chunk_samples=4096,
                                   workers=3, worker_setup=lambda: setups.append(threading.get_ident()))
    assert parallel is not None and parallel.factors == pyramid.factors
    for (mins, maxs), (mins_1, maxs_1) in zip(parallel.levels, pyramid.levels, strict=True):
        np.testing.assert_array_equal(mins, mins_1)
        np.testing.assert_array_equal(maxs, maxs_1)
    assert threading.get_ident() not in threads            # the chunks were read on the helpers
    assert set(setups) == threads and len(setups) == len(threads)   # each set up once, first


def test_progress_on_threads_is_monotonic_and_a_cancel_stops_new_chunks(stream):
    seen = []
    MinMaxPyramid.build(RecordingReader(stream), *stream.shape, base_factor=16, chunk_samples=4096,
                        progress=seen.append, workers=2)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    reader = RecordingReader(stream)
    result = MinMaxPyramid.build(reader, *stream.shape, base_factor=16, chunk_samples=4096, workers=2,
                                 cancelled=lambda: len(reader.calls) >= 3)
    assert result is None
    assert 3 <= len(reader.calls) <= 3 + 2   # at most the chunks already on their way


def test_an_error_on_a_helper_thread_reaches_the_caller(stream):
    def read(i_start, i_stop):
        if i_start >= 8192:
            raise OSError("disk went away")
        return stream[i_start:i_stop].copy()

    with pytest.raises(OSError, match="disk went away"):
        MinMaxPyramid.build(read, *stream.shape, base_factor=16, chunk_samples=4096, workers=2)


@pytest.mark.parametrize("factor", [16, 64, 128, 1024, 2048, 65536, 131072])
def test_query_equals_eager_decimation_at_aligned_bounds(pyramid, stream, factor):
    level = max(f for f in pyramid.factors if factor % f == 0)
    rng = np.random.default_rng(factor)
    bounds = [(0, stream.shape[0])]
    for _ in range(5):
        a, b = sorted(rng.integers(0, stream.shape[0] // level + 1, size=2) * level)
        bounds.append((int(a), int(b) if b > a else int(a) + level))
    bounds.append((level * 3, stream.shape[0]))  # unaligned end of the stream is exact too
    for i_start, i_stop in bounds:
        i_stop = min(i_stop, stream.shape[0])
        got = pyramid.query(i_start, i_stop, factor)
        want = minmax_decimate(stream[i_start:i_stop], factor, i_start)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_query_keeps_spikes(pyramid, stream):
    _, mins, maxs = pyramid.query(0, stream.shape[0], 65536)
    np.testing.assert_array_equal(np.nanmax(maxs, axis=0), np.nanmax(stream, axis=0))
    np.testing.assert_array_equal(np.nanmin(mins, axis=0), np.nanmin(stream, axis=0))


def test_query_channel_subset_and_unaligned_edges(pyramid, stream):
    starts, mins, maxs = pyramid.query(1000, 50_000, 256, channels=[3, 0])
    assert mins.shape == (len(starts), 2)
    assert starts[0] == 768 and starts[-1] == 49_920
    # Interior bins are exact; edge bins may extend to their whole 256-sample bin.
    _, ref_mins, ref_maxs = minmax_decimate(stream[768:50_176, [3, 0]], 256, 768)
    np.testing.assert_array_equal(mins, ref_mins)
    np.testing.assert_array_equal(maxs, ref_maxs)


def test_query_results_are_independent_of_the_pyramid(pyramid):
    _, mins, _ = pyramid.query(0, 4096, 64)
    before = pyramid.levels[1][0][0].copy()
    mins[:] = 1e9
    np.testing.assert_array_equal(pyramid.levels[1][0][0], before)


def test_covers_and_uncovered_factors(pyramid):
    assert pyramid.covers(16) and pyramid.covers(64) and pyramid.covers(1 << 20)
    assert not pyramid.covers(8) and not pyramid.covers(1) and not pyramid.covers(24 // 2)
    with pytest.raises(ValueError, match="not a multiple"):
        pyramid.query(0, 100, 8)


def test_build_validates_arguments_and_reader_output(stream):
    with pytest.raises(ValueError, match="chunk_samples"):
        MinMaxPyramid.build(RecordingReader(stream), *stream.shape, base_factor=16,
                            chunk_samples=1000)
    with pytest.raises(ValueError, match="base_factor"):
        MinMaxPyramid.build(RecordingReader(stream), *stream.shape, base_factor=48)
    with pytest.raises(ValueError, match="returned shape"):
        MinMaxPyramid.build(lambda a, b: np.zeros((b - a, 2), np.float32), 1000, 3,
                            base_factor=16)


def test_empty_stream():
    seen = []
    pyr = MinMaxPyramid.build(lambda a, b: None, 0, 4, progress=seen.append)
    assert pyr is not None and pyr.levels[0][0].shape == (0, 4)
    assert seen == [0.0, 1.0]
    starts, mins, _ = pyr.query(0, 100, 64)
    assert starts.shape == (0,) and mins.shape == (0, 4)


def test_default_chunk_is_bounded_and_aligned():
    reader = RecordingReader(np.zeros((300_000, 64), np.float32))
    MinMaxPyramid.build(reader, 300_000, 64, base_factor=64)
    sizes = {stop - start for start, stop in reader.calls[:-1]}
    (size,) = sizes
    assert size % 64 == 0 and size * 64 * 4 <= 16 * 1024 * 1024


def test_suggest_base_factor_respects_budget():
    day = 24 * 3600 * 2048
    factor = suggest_base_factor(day, 256, max_bytes=64 * 1024 * 1024)
    assert factor & (factor - 1) == 0 and factor >= 64
    pyr_bytes = sum(-(-day // (factor * 8 ** i)) * 256 * 8 for i in range(8))
    assert pyr_bytes <= 64 * 1024 * 1024
    assert suggest_base_factor(1000, 4) == 64


def test_max_bytes_raises_the_base_factor_to_fit(stream):
    small = MinMaxPyramid.build(RecordingReader(stream), *stream.shape, base_factor=16,
                                max_bytes=20_000)
    assert small.nbytes <= 20_000 and small.factors[0] > 16
    _, mins, maxs = minmax_decimate(stream, small.factors[0], 0)
    np.testing.assert_array_equal(small.levels[0][0], mins)
    np.testing.assert_array_equal(small.levels[0][1], maxs)


def test_levels_are_read_only(pyramid):
    with pytest.raises(ValueError):
        pyramid.levels[0][0][0, 0] = 1.0
