"""The cheap amplitude survey behind the first display scale."""

from __future__ import annotations

import numpy as np
import pytest

from tracemark.dsp.amplitude import (
    DEFAULT_MAX_VALUES,
    SURVEY_SPAN_S,
    SURVEY_WINDOWS,
    robust_spread,
    robust_spreads,
    survey_windows,
    typical_spread,
)


def test_a_short_recording_is_read_whole_and_a_long_one_in_windows_over_its_first_minutes():
    assert survey_windows(2560, 512.0, 3) == [(0, 2560)]
    rate, channels = 2048.0, 256
    windows = survey_windows(int(24 * 3600 * rate), rate, channels)
    assert len(windows) == SURVEY_WINDOWS
    assert windows[0][0] == 0 and windows[-1][1] <= SURVEY_SPAN_S * rate   # the first minutes only
    assert sum(b - a for a, b in windows) * channels <= DEFAULT_MAX_VALUES  # bounded cost
    assert survey_windows(int(3600 * rate), rate, 4) == [(0, int(SURVEY_SPAN_S * rate))]
    few = survey_windows(int(3600 * rate), rate, 20)     # few channels: long windows
    assert len(few) == SURVEY_WINDOWS and min(b - a for a, b in few) > 5 * rate


def test_nothing_to_read_gives_no_windows():
    assert survey_windows(0, 256.0, 4) == [] and survey_windows(100, 256.0, 0) == []


def test_the_spread_ignores_offsets_and_rare_artefacts():
    rng = np.random.default_rng(0)
    data = rng.normal(0, 10.0, (20_000, 3)).astype(np.float32)
    data[:, 1] += 40_000.0                 # a BioSemi offset of 40 mV
    data[5000, 2] = 1e6                    # one artefact
    spread = robust_spread([data[:10_000], data[10_000:]])
    assert spread == pytest.approx([41.1, 41.1, 41.1], rel=0.05)   # 2-98 %: 4.11 SD


def test_the_burst_spread_fits_sparse_bursts_not_the_baseline_between_them():
    """An EMG: 5 µV of noise, a 1 mV motor-evoked potential every 4 s."""
    rate = 2048
    rng = np.random.default_rng(1)
    emg = rng.normal(0, 5.0, 60 * rate).astype(np.float32)
    for start in range(2 * rate, len(emg) - rate, 4 * rate):
        emg[start:start + 40] += 1000.0 * np.sin(np.linspace(0, 2 * np.pi, 40))
    steady, burst = robust_spreads([emg[:, None]])
    assert steady[0] < 30 and burst[0] == pytest.approx(2000.0, rel=0.1)


def test_flat_and_missing_channels_are_left_out_of_a_group_typical():
    data = np.zeros((1000, 3), dtype=np.float32)
    data[:, 0] = np.sin(np.arange(1000) / 10) * 50
    data[:, 2] = np.nan
    spreads = robust_spread([data])
    assert spreads[1] == 0 and np.isnan(spreads[2])
    assert typical_spread(spreads) == pytest.approx(spreads[0])
    assert typical_spread(np.array([0.0, np.nan])) is None


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (6, 8), (64, 4001)])
def test_partition_median_and_percentiles_equal_numpys(shape):
    from tracemark.dsp.amplitude import median_along, percentiles_along_rows

    values = np.random.default_rng(sum(shape)).normal(0, 50, shape).astype(np.float32)
    for axis in (0, 1):
        np.testing.assert_allclose(median_along(values, axis), np.median(values, axis=axis), rtol=1e-6)
    np.testing.assert_allclose(percentiles_along_rows(values, [2.0, 50.0, 98.0]),
                               np.percentile(values, [2.0, 50.0, 98.0], axis=1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.int16, np.uint16])
def test_spreads_of_stored_codes_times_the_gain_are_the_spreads_of_the_physical_values(dtype):
    """What the viewer's survey relies on when it reads a recording's integers: the full
    16-bit range included, whose range would wrap in 16-bit arithmetic."""
    info = np.iinfo(dtype)
    rng = np.random.default_rng(5)
    codes = rng.integers(info.min, info.max, (30_000, 4), endpoint=True).astype(dtype)
    codes[:, 1] = (codes[:, 1] // 64 + (info.max // 2 if dtype == np.uint16 else 0)).astype(dtype)
    codes[100, 2], codes[101, 2] = info.min, info.max
    gains, offsets = np.array([0.1, 0.5, 2.0, 0.05]), np.array([0.0, -3200.0, 7.0, 1e4])
    physical = codes * gains + offsets
    windows = [codes[:12_000], codes[12_000:]]
    steady, bursts = robust_spreads(windows, segment=2048)
    expected_steady, expected_bursts = robust_spreads([physical[:12_000], physical[12_000:]], segment=2048)
    assert steady * gains == pytest.approx(expected_steady, rel=1e-4)
    assert bursts * gains == pytest.approx(expected_bursts, rel=1e-4)
    assert bursts[2] > 0.9 * (int(info.max) - int(info.min))     # no wrap-around


def test_the_spreads_leave_the_callers_samples_as_they_were():
    one_channel = np.linspace(-50, 50, 5000, dtype=np.float32)[:, None]
    before = one_channel.copy()
    robust_spreads([one_channel])
    assert np.array_equal(one_channel, before)


@pytest.mark.parametrize("with_nan", [False, True])
def test_the_usual_survey_windows_give_numpys_percentiles_and_ranges(with_nan):
    """Eight windows of one length (centred and reduced together) against plain numpy."""
    rng = np.random.default_rng(9)
    windows = [rng.normal(i, 10.0 + i, (300, 3)).astype(np.float32) for i in range(SURVEY_WINDOWS)]
    if with_nan:
        windows[3][10:20, 1] = np.nan
    steady, bursts = robust_spreads(windows)
    centred = np.concatenate([w - np.nanmedian(w, axis=0) for w in windows])
    low, high = np.nanpercentile(centred, [2, 98], axis=0)
    ranges = np.stack([np.nanmax(w, axis=0) - np.nanmin(w, axis=0) for w in windows])
    assert steady == pytest.approx(high - low, rel=1e-5)
    assert bursts == pytest.approx(np.median(ranges, axis=0), rel=1e-5)
