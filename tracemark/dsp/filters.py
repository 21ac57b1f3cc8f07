"""Display filters: high-pass, low-pass, notch and DC removal, zero-phase, edge-safe.

A :class:`DisplayFilter` is an immutable, hashable description (usable in cache keys)
that filters a window of samples for display. The filters are those clinical EEG
readers offer:

* high-pass and low-pass: Butterworth, order :data:`BUTTERWORTH_ORDER` (4), run forward
  and backward (``scipy.signal.sosfiltfilt``), so there is no phase shift and the
  magnitude response is the square of the order-4 one (-3 dB of the single pass becomes
  -6 dB at the cut-off; the roll-off is 48 dB per octave);
* notch: second-order IIR notch (``scipy.signal.iirnotch``) with quality factor
  :data:`NOTCH_Q` (30, i.e. a -3 dB width of ``f0 / 30``: 1.7 Hz at 50 Hz), also run
  forward and backward; the fundamental only, no harmonics;
* DC removal: subtract each channel's mean over the data passed in.

Window edges. A filter started at the first sample of a window "rings" until its
memory of the edge has decayed. The caller therefore reads
:meth:`DisplayFilter.padding_samples` extra samples on both sides, filters, and trims
them. The rule: the padding is the number of samples the slowest pole of any section
(largest pole radius ``r``) needs to decay to ``tolerance`` (default 1e-3, -60 dB):
``ceil(ln(tolerance) / ln(r))``. At 2048 Hz this gives, for example, 2.9 s for a 1 Hz
high-pass, 5.8 s for 0.5 Hz, 1.3 s for a 50 Hz notch and 0.04 s for a 70 Hz low-pass;
the slowest section sets the figure. The trimmed window then equals filtering the whole
recording to within ``tolerance`` times each channel's range (measured: under 2e-4 of
the range for 0.1-1 Hz high-pass, 30 Hz low-pass and 50 Hz notch; 2-9 % without
padding).

NaN samples (gaps) are filled with the channel mean for filtering and put back
afterwards, so one gap does not turn a whole window into NaN.

Pure numpy/scipy; no Qt, no file formats. ``scipy.signal`` is imported on the first
frequency-selective filter, not with this module: it takes about 1 s to import on the
development machine, two thirds of the viewer's start-up, and DC removal does not need it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["DisplayFilter", "BUTTERWORTH_ORDER", "NOTCH_Q"]

BUTTERWORTH_ORDER = 4
NOTCH_Q = 30.0
DEFAULT_TOLERANCE = 1e-3


@lru_cache(maxsize=64)
def _design(kind: str, frequency: float, sampling_rate: float) -> np.ndarray:
    """Second-order sections of one filter (cached: the viewer asks for every page)."""
    from scipy import signal  # noqa: PLC0415 (see the module docstring)

    sos: np.ndarray
    if kind == "notch":
        b, a = signal.iirnotch(frequency, NOTCH_Q, fs=sampling_rate)
        sos = signal.tf2sos(b, a)
    else:
        sos = signal.butter(BUTTERWORTH_ORDER, frequency, btype=kind, fs=sampling_rate,
                            output="sos")
    sos.setflags(write=False)
    return sos


def _check_frequency(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number of hertz or None, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of hertz, got {value!r}")


@dataclass(frozen=True)
class DisplayFilter:
    """Which display filters are on. Frequencies in hertz; None means off."""

    highpass_hz: float | None = None
    lowpass_hz: float | None = None
    notch_hz: float | None = None
    remove_dc: bool = False

    def __post_init__(self) -> None:
        _check_frequency("high-pass cut-off", self.highpass_hz)
        _check_frequency("low-pass cut-off", self.lowpass_hz)
        _check_frequency("notch frequency", self.notch_hz)
        if (self.highpass_hz is not None and self.lowpass_hz is not None
                and self.highpass_hz >= self.lowpass_hz):
            raise ValueError(
                f"high-pass cut-off ({self.highpass_hz:g} Hz) must be below the low-pass "
                f"cut-off ({self.lowpass_hz:g} Hz)")

    @property
    def is_identity(self) -> bool:
        """True when applying the filter would change nothing."""
        return (self.highpass_hz is None and self.lowpass_hz is None
                and self.notch_hz is None and not self.remove_dc)

    def describe(self) -> str:
        """Short human-readable summary, e.g. ``"HP 0.5 Hz, LP 70 Hz, notch 50 Hz"``."""
        parts = []
        if self.highpass_hz is not None:
            parts.append(f"HP {self.highpass_hz:g} Hz")
        if self.lowpass_hz is not None:
            parts.append(f"LP {self.lowpass_hz:g} Hz")
        if self.notch_hz is not None:
            parts.append(f"notch {self.notch_hz:g} Hz")
        if self.remove_dc:
            parts.append("DC removed")
        return ", ".join(parts) if parts else "no filter"

    def validate(self, sampling_rate: float) -> None:
        """Raise ``ValueError`` saying which frequency does not fit below Nyquist."""
        if not (isinstance(sampling_rate, (int, float)) and math.isfinite(sampling_rate)
                and sampling_rate > 0):
            raise ValueError(f"sampling rate must be a positive number, got {sampling_rate!r}")
        nyquist = sampling_rate / 2.0
        for name, value in (("high-pass cut-off", self.highpass_hz),
                            ("low-pass cut-off", self.lowpass_hz),
                            ("notch frequency", self.notch_hz)):
            if value is not None and value >= nyquist:
                raise ValueError(
                    f"{name} {value:g} Hz must be below the Nyquist frequency "
                    f"({nyquist:g} Hz at {sampling_rate:g} Hz sampling)")

    def sos(self, sampling_rate: float) -> np.ndarray | None:
        """All frequency-selective sections as one ``(n, 6)`` cascade, or None."""
        self.validate(sampling_rate)
        sections = []
        if self.highpass_hz is not None:
            sections.append(_design("highpass", float(self.highpass_hz), float(sampling_rate)))
        if self.lowpass_hz is not None:
            sections.append(_design("lowpass", float(self.lowpass_hz), float(sampling_rate)))
        if self.notch_hz is not None:
            sections.append(_design("notch", float(self.notch_hz), float(sampling_rate)))
        return np.concatenate(sections, axis=0) if sections else None

    def padding_samples(self, sampling_rate: float, tolerance: float = DEFAULT_TOLERANCE) -> int:
        """Samples to read on each side of a window so its edges do not ring.

        The decay time of the slowest pole to ``tolerance`` (see the module docstring);
        0 when no frequency-selective filter is on (DC removal needs no padding, though
        the mean is then taken over the padded data too).
        """
        if not 0 < tolerance < 1:
            raise ValueError(f"tolerance must be between 0 and 1, got {tolerance!r}")
        sos = self.sos(sampling_rate)
        if sos is None:
            return 0
        from scipy import signal  # noqa: PLC0415 (see the module docstring)

        _, poles, _ = signal.sos2zpk(sos)
        radius = float(np.max(np.abs(poles))) if poles.size else 0.0
        if radius <= 0.0:
            return 0
        return int(math.ceil(math.log(tolerance) / math.log(radius)))

    def apply(self, data: np.ndarray, sampling_rate: float) -> np.ndarray:
        """Filtered copy of ``data`` ``(n_samples, n_channels)`` as float32.

        The caller pads with :meth:`padding_samples` real samples on both sides and
        trims them afterwards; this method filters exactly what it is given.
        """
        data = np.asarray(data)
        if data.ndim not in (1, 2):
            raise ValueError(f"data must be (n_samples, n_channels), got shape {data.shape}")
        sos = self.sos(sampling_rate)
        if (sos is None and not self.remove_dc) or data.shape[0] == 0:
            return data.astype(np.float32, copy=True)
        if sos is None and not np.isnan(data).any():
            # DC removal alone, the default of every page: in float32, with the means
            # accumulated in float64 (half the time of the general path below, which
            # filters in float64).
            out = data.astype(np.float32, copy=True)
            out -= data.mean(axis=0, dtype=np.float64).astype(np.float32)
            return out
        values = data.astype(np.float64, copy=True)
        gaps = np.isnan(values)
        has_gaps = bool(gaps.any())
        if self.remove_dc or has_gaps:
            means = _channel_means(values, gaps if has_gaps else None)
            if has_gaps:
                np.copyto(values, np.broadcast_to(means, values.shape), where=gaps)
            if self.remove_dc:
                values -= means
        if sos is not None and values.shape[0] > 1:
            values = _sosfiltfilt(sos, values)
        if has_gaps:
            values[gaps] = np.nan
        return values.astype(np.float32)


def _channel_means(values: np.ndarray, gaps: np.ndarray | None) -> np.ndarray:
    if gaps is None:
        means: np.ndarray = values.mean(axis=0)
        return means
    counts = (~gaps).sum(axis=0)
    sums: np.ndarray = np.where(gaps, 0.0, values).sum(axis=0)
    means_of_present: np.ndarray = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return means_of_present


def _sosfiltfilt(sos: np.ndarray, values: np.ndarray) -> np.ndarray:
    # scipy's own edge extension needs more samples than a very short window may have;
    # shorten it rather than refuse to draw a few samples.
    n_zero_b = int((sos[:, 2] == 0).sum())
    n_zero_a = int((sos[:, 5] == 0).sum())
    default_padlen = 3 * (2 * len(sos) + 1 - min(n_zero_b, n_zero_a))
    padlen = min(default_padlen, values.shape[0] - 1)
    from scipy import signal  # noqa: PLC0415 (see the module docstring)

    filtered: np.ndarray = signal.sosfiltfilt(sos, values, axis=0, padlen=padlen)
    return filtered
