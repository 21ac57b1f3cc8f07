"""Power spectra of displayed signals: Welch's averaged periodogram and the spectrogram.

Both come from one computation: the signal is cut into segments of ``segment_samples``
overlapping by ``overlap`` (a fraction), each segment has its mean removed, is tapered
by a window (Hann by default) and transformed; its one-sided power is scaled to a
density (unit²/Hz, so the area under the curve is the signal's variance). The
spectrogram keeps the segments as columns; Welch's estimate is their mean. The numbers
equal ``scipy.signal.welch`` and ``scipy.signal.spectrogram`` with the same segment,
overlap and window, and ``mne.time_frequency.psd_array_welch`` (tests/test_dsp_spectrum.py).

Two things differ from those functions, because recordings are read in parts:

* a segment holding a NaN (a gap in the recording) is left out of the mean of its
  channel rather than turning the whole spectrum into NaN;
* :func:`welch_blocks` averages the segments of several separately read blocks, and
  :func:`spread_blocks` chooses such blocks, evenly spaced, when a span is too long to
  read whole: the estimate then rests on a bounded number of samples from the whole span.

Plain numpy; ``scipy.signal`` is imported when a spectrum is first computed (importing it
costs about a second, which the window's start-up does not pay).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_OVERLAP",
    "DEFAULT_SEGMENT_S",
    "SpectralPeak",
    "Spectrogram",
    "Spectrum",
    "segment_length",
    "spectral_peak",
    "spectrogram",
    "spread_blocks",
    "welch",
    "welch_blocks",
]

#: Segment length (s) of the spectra: 0.5 Hz resolution, the usual choice for EEG.
DEFAULT_SEGMENT_S = 2.0
#: Fraction of a segment shared with the next (Welch's 50 %, for the Hann window).
DEFAULT_OVERLAP = 0.5
DEFAULT_WINDOW = "hann"


@dataclass(frozen=True)
class Spectrum:
    """A power spectral density per channel.

    ``power`` is ``(n_frequencies, n_channels)`` in unit²/Hz; ``n_segments`` counts the
    segments averaged for each channel (segments with gaps are left out)."""

    frequencies: np.ndarray
    power: np.ndarray
    segment_samples: int
    n_segments: np.ndarray

    @property
    def resolution_hz(self) -> float:
        return float(self.frequencies[1] - self.frequencies[0]) if len(self.frequencies) > 1 else 0.0


@dataclass(frozen=True)
class Spectrogram:
    """Power density over time of one signal: ``power`` is ``(n_frequencies, n_times)`` in
    unit²/Hz, ``times`` the centre of each segment in seconds (on the caller's axis)."""

    frequencies: np.ndarray
    times: np.ndarray
    power: np.ndarray
    segment_samples: int


@dataclass(frozen=True)
class SpectralPeak:
    """The highest local maximum of a spectrum, refined between bins."""

    frequency_hz: float
    power: float
    channel: int


def segment_length(sampling_rate: float, n_samples: int, segment_s: float = DEFAULT_SEGMENT_S) -> int:
    """Samples per segment: ``segment_s`` seconds, or the whole signal when shorter."""
    _check_rate(sampling_rate)
    wanted = max(round(segment_s * sampling_rate), 2)
    return max(min(wanted, int(n_samples)), 1)


def welch(data: np.ndarray, sampling_rate: float, segment_samples: int, *,
          overlap: float = DEFAULT_OVERLAP, window: str = DEFAULT_WINDOW) -> Spectrum:
    """Welch's PSD of ``data`` ``(n_samples, n_channels)`` (see the module docstring)."""
    return welch_blocks([data], sampling_rate, segment_samples, overlap=overlap, window=window)


def welch_blocks(blocks: Sequence[np.ndarray], sampling_rate: float, segment_samples: int, *,
                 overlap: float = DEFAULT_OVERLAP, window: str = DEFAULT_WINDOW) -> Spectrum:
    """Welch's PSD over the segments of every block (each ``(n_samples, n_channels)``).

    Blocks shorter than one segment are skipped; a channel with no whole segment free of
    gaps gets NaN power."""
    _check_rate(sampling_rate)
    blocks = [np.asarray(b) for b in blocks]
    if not blocks or any(b.ndim != 2 for b in blocks):
        raise ValueError("blocks must be a non-empty list of (n_samples, n_channels) arrays")
    n_channels = blocks[0].shape[1]
    frequencies = _frequencies(segment_samples, sampling_rate)
    total = np.zeros((len(frequencies), n_channels))
    counts = np.zeros(n_channels, dtype=np.int64)
    for block in blocks:
        if block.shape[0] < segment_samples:
            continue
        _, segments = _segment_powers(block.T, sampling_rate, segment_samples, overlap, window)
        # segments: (n_channels, n_frequencies, n_segments)
        whole = ~np.isnan(segments).any(axis=1)               # (n_channels, n_segments)
        total += np.where(whole[:, None, :], segments, 0.0).sum(axis=2).T
        counts += whole.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        power = np.where(counts > 0, total / np.maximum(counts, 1), np.nan)
    return Spectrum(frequencies, power, int(segment_samples), counts)


def spectrogram(signal: np.ndarray, sampling_rate: float, segment_samples: int, *,
                overlap: float = DEFAULT_OVERLAP, window: str = DEFAULT_WINDOW,
                start_s: float = 0.0) -> Spectrogram:
    """The spectrogram of one signal ``(n_samples,)``; ``start_s`` is the time of its first
    sample, so that ``times`` are on the recording's axis."""
    _check_rate(sampling_rate)
    signal = np.asarray(signal)
    if signal.ndim != 1:
        raise ValueError(f"signal must be one channel (n_samples,), got shape {signal.shape}")
    if signal.shape[0] < segment_samples:
        raise ValueError(f"{signal.shape[0]} samples are fewer than one segment ({segment_samples})")
    times, power = _segment_powers(signal, sampling_rate, segment_samples, overlap, window)
    return Spectrogram(_frequencies(segment_samples, sampling_rate), times + start_s, power,
                       int(segment_samples))


def spectral_peak(spectrum: Spectrum, low_hz: float = 0.0, high_hz: float = math.inf) -> SpectralPeak | None:
    """The highest local maximum (a bin above both neighbours) of any channel between
    ``low_hz`` and ``high_hz``, its frequency refined by a parabola through the log power
    of the three bins; None when there is no maximum there (a spectrum falling
    throughout has no peak, only its lowest bin)."""
    f = spectrum.frequencies
    if len(f) < 3:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.log10(spectrum.power)
    inner = level[1:-1]
    is_peak = (inner > level[:-2]) & (inner > level[2:]) & np.isfinite(inner)
    in_range = (f[1:-1] >= low_hz) & (f[1:-1] <= high_hz)
    is_peak &= in_range[:, None]
    if not is_peak.any():
        return None
    candidates = np.where(is_peak, inner, -np.inf)
    bin_index, channel = np.unravel_index(int(np.argmax(candidates)), candidates.shape)
    k = int(bin_index) + 1
    below, at, above = level[k - 1, channel], level[k, channel], level[k + 1, channel]
    curvature = below - 2 * at + above
    shift = 0.5 * (below - above) / curvature if curvature < 0 else 0.0
    top = at - 0.25 * (below - above) * shift
    return SpectralPeak(float(f[k] + shift * (f[1] - f[0])), float(10 ** top), int(channel))


def spread_blocks(i_start: int, i_stop: int, block_samples: int, budget_samples: int,
                  overhead_samples: int = 0) -> list[tuple[int, int]]:
    """Sample ranges to read for the spectrum of ``[i_start, i_stop)`` within a budget.

    The whole span when it (plus ``overhead_samples``, e.g. a filter's padding) fits in
    ``budget_samples``; otherwise as many blocks of ``block_samples`` as fit (each paying
    its overhead), spread evenly from the start to the end of the span."""
    i_start, i_stop = int(i_start), int(i_stop)
    length = i_stop - i_start
    if length <= 0:
        return []
    if length + overhead_samples <= budget_samples or length <= block_samples:
        return [(i_start, i_stop)]
    n_blocks = max(budget_samples // (block_samples + overhead_samples), 1)
    n_blocks = min(n_blocks, length // block_samples)
    if n_blocks <= 1:
        middle = i_start + (length - block_samples) // 2
        return [(middle, middle + block_samples)]
    step = (length - block_samples) / (n_blocks - 1)
    starts = [i_start + round(k * step) for k in range(n_blocks)]
    return [(s, s + block_samples) for s in starts]


# -- the shared computation -----------------------------------------------------------------
def _segment_powers(x: np.ndarray, sampling_rate: float, segment_samples: int, overlap: float,
                    window: str) -> tuple[np.ndarray, np.ndarray]:
    """Segment times (s from the first sample) and the density of every segment,
    ``(..., n_frequencies, n_segments)``, along the last axis of ``x``."""
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be a fraction in [0, 1), got {overlap!r}")
    if segment_samples < 2:
        raise ValueError(f"a segment needs at least 2 samples, got {segment_samples}")
    from scipy import signal as scipy_signal  # noqa: PLC0415 (see the module docstring)

    _, times, power = scipy_signal.spectrogram(
        np.asarray(x, dtype=np.float64), fs=sampling_rate, window=window, nperseg=segment_samples,
        noverlap=_overlap_samples(segment_samples, overlap), detrend="constant",
        scaling="density", mode="psd", axis=-1)
    return times, power


def _overlap_samples(segment_samples: int, overlap: float) -> int:
    return min(round(segment_samples * overlap), segment_samples - 1)


def _frequencies(segment_samples: int, sampling_rate: float) -> np.ndarray:
    return np.fft.rfftfreq(int(segment_samples), 1.0 / sampling_rate)


def _check_rate(sampling_rate: float) -> None:
    if not (isinstance(sampling_rate, (int, float)) and math.isfinite(sampling_rate) and sampling_rate > 0):
        raise ValueError(f"sampling rate must be a positive number of hertz, got {sampling_rate!r}")
