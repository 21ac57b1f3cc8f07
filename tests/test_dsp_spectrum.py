"""The spectra of :mod:`tracemark.dsp.spectrum` against scipy and MNE on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as scipy_signal

from tracemark.dsp.spectrum import (
    Spectrum,
    segment_length,
    spectral_peak,
    spectrogram,
    spread_blocks,
    welch,
    welch_blocks,
)

RATE = 256.0


def sines(duration_s: float = 20.0, rate: float = RATE, seed: int = 3) -> np.ndarray:
    """Two channels: 10 Hz + 50 Hz, and 7 Hz, with white noise; (n_samples, 2) in µV."""
    t = np.arange(int(duration_s * rate)) / rate
    noise = np.random.default_rng(seed).normal(0.0, 2.0, (len(t), 2))
    first = 40 * np.sin(2 * np.pi * 10 * t) + 15 * np.sin(2 * np.pi * 50 * t)
    second = 25 * np.sin(2 * np.pi * 7 * t + 0.3)
    return np.column_stack([first, second]) + noise


@pytest.mark.parametrize(("window", "overlap"), [("hann", 0.5), ("hamming", 0.0), ("blackman", 0.25)])
def test_welch_equals_scipy_welch(window, overlap):
    data = sines()
    n = 512
    ours = welch(data, RATE, n, overlap=overlap, window=window)
    freqs, expected = scipy_signal.welch(data, fs=RATE, window=window, nperseg=n,
                                         noverlap=round(n * overlap), axis=0)
    np.testing.assert_allclose(ours.frequencies, freqs)
    np.testing.assert_allclose(ours.power, expected, rtol=1e-10)


def test_welch_equals_mne_psd_array_welch():
    mne_psd = pytest.importorskip("mne.time_frequency").psd_array_welch
    data = sines()
    n = 512
    expected, freqs = mne_psd(data.T, RATE, n_fft=n, n_per_seg=n, n_overlap=n // 2, window="hann",
                              average="mean", remove_dc=True, verbose=False)
    ours = welch(data, RATE, n, overlap=0.5, window="hann")
    np.testing.assert_allclose(ours.frequencies, freqs)
    np.testing.assert_allclose(ours.power, expected.T, rtol=1e-10)


def test_spectrogram_equals_scipy_and_sits_on_the_recording_axis():
    signal = sines()[:, 0]
    ours = spectrogram(signal, RATE, 256, overlap=0.75, start_s=100.0)
    freqs, times, expected = scipy_signal.spectrogram(signal, fs=RATE, window="hann", nperseg=256,
                                                      noverlap=192, detrend="constant", mode="psd")
    np.testing.assert_allclose(ours.frequencies, freqs)
    np.testing.assert_allclose(ours.times, times + 100.0)
    np.testing.assert_allclose(ours.power, expected, rtol=1e-10)
    assert ours.times[0] == pytest.approx(100.0 + 0.5)   # centre of the first 1-s segment


def test_the_density_integrates_to_the_variance():
    data = sines(60.0)
    spectrum = welch(data, RATE, 512)
    area = spectrum.power.sum(axis=0) * spectrum.resolution_hz
    np.testing.assert_allclose(area, data.var(axis=0), rtol=0.03)


def test_the_peak_is_the_strongest_rhythm_refined_between_bins():
    t = np.arange(int(30 * RATE)) / RATE
    data = (30 * np.sin(2 * np.pi * 10.2 * t) + 10 * np.sin(2 * np.pi * 50 * t))[:, None]
    peak = spectral_peak(welch(data, RATE, 512))           # bins every 0.5 Hz
    assert peak is not None and peak.channel == 0
    assert peak.frequency_hz == pytest.approx(10.2, abs=0.05)
    limited = spectral_peak(welch(data, RATE, 512), low_hz=20.0)
    assert limited is not None and limited.frequency_hz == pytest.approx(50.0, abs=0.05)


def test_a_falling_spectrum_has_no_peak():
    frequencies = np.arange(0, 50, 0.5)
    power = (1.0 / (1.0 + frequencies))[:, None]
    spectrum = Spectrum(frequencies, power, 512, np.array([10]))
    assert spectral_peak(spectrum) is None


def test_a_gap_drops_only_its_segments_and_only_in_its_channel():
    data = sines()
    with_gap = data.copy()
    with_gap[1000:1100, 0] = np.nan
    clean = welch(data, RATE, 512, overlap=0.0)
    gapped = welch(with_gap, RATE, 512, overlap=0.0)
    assert np.isfinite(gapped.power).all()
    assert gapped.n_segments.tolist() == [clean.n_segments[0] - 2, clean.n_segments[1]]
    np.testing.assert_allclose(gapped.power[:, 1], clean.power[:, 1])
    kept = [s for s in range(clean.n_segments[0]) if s not in (1, 2)]   # 1000-1100 is in 512-1535
    expected = np.mean([welch(data[s * 512:(s + 1) * 512, :1], RATE, 512).power[:, 0] for s in kept], axis=0)
    np.testing.assert_allclose(gapped.power[:, 0], expected, rtol=1e-10)


def test_blocks_average_their_segments_together():
    data = sines()
    halves = [data[:2560], data[2560:]]
    together = welch_blocks(halves, RATE, 512, overlap=0.0)
    whole = welch(data, RATE, 512, overlap=0.0)             # 5120 samples: 10 segments either way
    np.testing.assert_allclose(together.power, whole.power, rtol=1e-10)
    assert together.n_segments.tolist() == [10, 10]


def test_segment_length_is_two_seconds_or_the_whole_signal():
    assert segment_length(256.0, 10_000) == 512
    assert segment_length(2048.0, 300) == 300
    with pytest.raises(ValueError, match="sampling rate"):
        segment_length(0.0, 100)


def test_spread_blocks_read_whole_spans_that_fit_and_spread_the_others():
    assert spread_blocks(100, 5000, 512, 10_000) == [(100, 5000)]
    blocks = spread_blocks(0, 1_000_000, 1000, 50_000, overhead_samples=250)
    assert len(blocks) == 40
    assert blocks[0] == (0, 1000) and blocks[-1] == (999_000, 1_000_000)
    assert all(b - a == 1000 for a, b in blocks)
    steps = np.diff([a for a, _ in blocks])
    assert steps.max() - steps.min() <= 1
    assert sum(b - a + 250 for a, b in blocks) <= 50_000
    assert spread_blocks(5, 5, 100, 1000) == []


def test_bad_arguments_are_told():
    with pytest.raises(ValueError, match="one channel"):
        spectrogram(np.zeros((100, 2)), RATE, 50)
    with pytest.raises(ValueError, match="fewer than one segment"):
        spectrogram(np.zeros(10), RATE, 50)
    with pytest.raises(ValueError, match="overlap"):
        welch(np.zeros((100, 1)), RATE, 50, overlap=1.0)
