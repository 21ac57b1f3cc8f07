"""Display filters: pass band, stop band, notch, edge-safe padding, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracemark.dsp.filters import BUTTERWORTH_ORDER, DisplayFilter

FS = 500.0


def sine(freq, seconds=20.0, amplitude=1.0, fs=FS):
    t = np.arange(int(seconds * fs)) / fs
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)[:, None]


def steady_amplitude(x, fs=FS, trim_s=5.0):
    """Peak amplitude of a filtered sine away from the ends (RMS * sqrt 2)."""
    core = x[int(trim_s * fs):-int(trim_s * fs)]
    return float(np.sqrt(2 * np.mean(core.astype(np.float64) ** 2)))


def butterworth_gain_db(freq, cutoff, kind):
    """Exact zero-phase gain of the bilinear-transform Butterworth (forward and back)."""
    ratio = math.tan(math.pi * freq / FS) / math.tan(math.pi * cutoff / FS)
    if kind == "highpass":
        ratio = 1 / ratio
    return -10 * math.log10(1 + ratio ** (2 * BUTTERWORTH_ORDER)) * 2


def test_identity_and_description():
    assert DisplayFilter().is_identity
    assert not DisplayFilter(remove_dc=True).is_identity
    assert DisplayFilter().describe() == "no filter"
    assert DisplayFilter(0.5, 70, 50).describe() == "HP 0.5 Hz, LP 70 Hz, notch 50 Hz"
    assert DisplayFilter(0.5, 70) == DisplayFilter(highpass_hz=0.5, lowpass_hz=70)
    assert hash(DisplayFilter(0.5, 70)) == hash(DisplayFilter(0.5, 70))
    data = np.arange(6, dtype=np.float64).reshape(3, 2)
    out = DisplayFilter().apply(data, FS)
    assert out.dtype == np.float32 and np.array_equal(out, data)
    assert DisplayFilter().padding_samples(FS) == 0


@pytest.mark.parametrize(("filt", "freq"), [
    (DisplayFilter(highpass_hz=0.5), 10.0),
    (DisplayFilter(lowpass_hz=70.0), 10.0),
    (DisplayFilter(highpass_hz=1.0, lowpass_hz=40.0, notch_hz=50.0), 10.0),
    (DisplayFilter(notch_hz=50.0), 30.0),
])
def test_pass_band_sine_keeps_its_amplitude(filt, freq):
    out = filt.apply(sine(freq, amplitude=80.0), FS)
    assert out.dtype == np.float32 and out.shape == (int(20 * FS), 1)
    assert steady_amplitude(out) == pytest.approx(80.0, rel=0.01)


@pytest.mark.parametrize(("kind", "cutoff", "freq"), [
    ("lowpass", 40.0, 80.0), ("lowpass", 40.0, 60.0), ("lowpass", 100.0, 160.0),
    ("highpass", 4.0, 2.0), ("highpass", 10.0, 5.0),
])
def test_stop_band_attenuation_matches_the_butterworth_response(kind, cutoff, freq):
    filt = (DisplayFilter(lowpass_hz=cutoff) if kind == "lowpass"
            else DisplayFilter(highpass_hz=cutoff))
    out = filt.apply(sine(freq), FS)
    measured_db = 20 * math.log10(steady_amplitude(out))
    expected_db = butterworth_gain_db(freq, cutoff, kind)
    assert expected_db < -20          # these really are stop-band frequencies
    assert measured_db == pytest.approx(expected_db, abs=0.5)


def test_cutoff_is_minus_six_db_zero_phase():
    out = DisplayFilter(lowpass_hz=40.0).apply(sine(40.0), FS)
    assert 20 * math.log10(steady_amplitude(out)) == pytest.approx(-6.02, abs=0.1)
    x = sine(20.0)
    filtered = DisplayFilter(lowpass_hz=100.0).apply(x, FS)
    core = slice(int(5 * FS), int(15 * FS))
    lag = np.argmax(np.correlate(filtered[core, 0], x[core, 0], mode="full")) - (
        core.stop - core.start - 1)
    assert lag == 0


def test_notch_removes_mains_and_keeps_neighbours():
    mains = sine(50.0, amplitude=100.0)
    alpha = sine(10.0, amplitude=20.0)
    out = DisplayFilter(notch_hz=50.0).apply(mains + alpha, FS)
    residual = out - alpha
    assert steady_amplitude(residual) < 0.01 * 100.0     # below -40 dB
    assert steady_amplitude(DisplayFilter(notch_hz=50.0).apply(sine(40.0), FS)) > 0.99


def test_remove_dc_subtracts_each_channel_mean():
    data = np.column_stack([np.full(100, 5000.0), np.linspace(-1, 3, 100)]).astype(np.float32)
    out = DisplayFilter(remove_dc=True).apply(data, FS)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(out[:, 1], data[:, 1] - data[:, 1].mean(), atol=1e-5)


def recording_like(seconds=120.0, n_channels=3, seed=11):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    drift = 300 * np.sin(2 * np.pi * 0.03 * t)
    columns = []
    for c in range(n_channels):
        columns.append(2000.0 * c + drift + 40 * np.sin(2 * np.pi * 9.7 * t + c)
                       + 25 * np.sin(2 * np.pi * 50 * t) + 10 * rng.standard_normal(t.size))
    return np.column_stack(columns).astype(np.float32)


@pytest.mark.parametrize("filt", [
    DisplayFilter(highpass_hz=0.5),
    DisplayFilter(highpass_hz=1.0, lowpass_hz=70.0, notch_hz=50.0),
    DisplayFilter(lowpass_hz=30.0),
    DisplayFilter(notch_hz=50.0),
])
def test_padded_window_equals_filtering_the_whole_signal(filt):
    full = recording_like()
    reference = filt.apply(full, FS)
    start, stop = int(50 * FS), int(60 * FS)
    pad = filt.padding_samples(FS)
    assert 0 < pad < start
    padded = full[start - pad:stop + pad]
    window = filt.apply(padded, FS)[pad:-pad]
    # The edge transient scales with what the filter has to remove (here a slow drift
    # ten times the EEG), so the tolerance is relative to each channel's range.
    scale = np.ptp(padded, axis=0)
    error = np.max(np.abs(window - reference[start:stop]), axis=0)
    assert np.all(error < 1e-3 * scale)
    # Without padding the same window rings at its edges far beyond that tolerance.
    unpadded = filt.apply(full[start:stop], FS)
    unpadded_error = np.max(np.abs(unpadded - reference[start:stop]), axis=0)
    assert np.all(unpadded_error > 10 * 1e-3 * scale)


def test_padding_rule_scales_with_the_slowest_pole():
    slow = DisplayFilter(highpass_hz=0.5).padding_samples(2048)
    fast = DisplayFilter(highpass_hz=1.0).padding_samples(2048)
    assert slow == pytest.approx(2 * fast, rel=0.01)
    assert 5.0 < slow / 2048 < 6.5                 # ~5.7 s at -60 dB
    combined = DisplayFilter(0.5, 70, 50).padding_samples(2048)
    assert combined == slow
    assert DisplayFilter(0.5).padding_samples(2048, tolerance=1e-2) < slow


def test_nan_gaps_stay_local():
    data = recording_like(seconds=20.0)
    data[4000:4100, 1] = np.nan
    out = DisplayFilter(highpass_hz=1.0, lowpass_hz=70.0).apply(data, FS)
    assert np.isnan(out[4000:4100, 1]).all()
    assert np.isfinite(out[:4000, 1]).all() and np.isfinite(out[4100:, 1]).all()
    assert np.isfinite(out[:, [0, 2]]).all()
    all_nan = np.full((50, 1), np.nan, dtype=np.float32)
    assert np.isnan(DisplayFilter(remove_dc=True).apply(all_nan, FS)).all()


def test_short_windows_are_filtered_without_error():
    filt = DisplayFilter(highpass_hz=1.0, lowpass_hz=70.0, notch_hz=50.0)
    for n in (0, 1, 2, 5, 40):
        out = filt.apply(np.ones((n, 2), np.float32), FS)
        assert out.shape == (n, 2) and out.dtype == np.float32


@pytest.mark.parametrize(("kwargs", "fs", "message"), [
    ({"lowpass_hz": 300.0}, 500.0, "low-pass cut-off 300 Hz must be below the Nyquist"),
    ({"highpass_hz": 250.0}, 500.0, "high-pass cut-off 250 Hz must be below the Nyquist"),
    ({"notch_hz": 60.0}, 100.0, "notch frequency 60 Hz must be below the Nyquist"),
])
def test_frequencies_above_nyquist_are_refused(kwargs, fs, message):
    filt = DisplayFilter(**kwargs)
    with pytest.raises(ValueError, match=message):
        filt.apply(np.zeros((100, 1), np.float32), fs)
    with pytest.raises(ValueError, match="Nyquist"):
        filt.padding_samples(fs)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"highpass_hz": 0.0}, "positive"),
    ({"lowpass_hz": -5.0}, "positive"),
    ({"notch_hz": float("nan")}, "positive"),
    ({"highpass_hz": 40.0, "lowpass_hz": 30.0}, "below the low-pass"),
    ({"lowpass_hz": "70"}, "number of hertz"),
])
def test_invalid_settings_are_refused_on_creation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DisplayFilter(**kwargs)


def test_bad_sampling_rate():
    with pytest.raises(ValueError, match="sampling rate"):
        DisplayFilter(lowpass_hz=10).apply(np.zeros((10, 1)), 0)
