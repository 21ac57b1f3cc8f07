"""Peak estimation on one trace: the negative and positive extremes of a response in a
latency window after the corrected onset, and the extreme an annotator points at.

Conventions (the cache's, see docs/cache-format.md):

* a trace is a 1-D array of samples in physical units (uV for EMG); row ``samples_pre`` is
  the stored event sample and the corrected onset is row ``samples_pre + onset_shift``;
* the latency window ``(start_ms, stop_ms)`` is relative to that corrected onset, both ends
  included (the same rule as :func:`tracemark.analysis.measures.window_rows`);
* magnitudes are the signed sample values (the negative peak of an MEP is the minimum,
  e.g. ``-480.0``; peak-to-peak is ``pos - neg``); latencies are in ms after the corrected
  onset;
* non-finite samples (NaN where the window ran past the recording) are ignored; a window
  with no finite sample gives ``None`` for everything, the cache's "unknown". Ties go to
  the earliest sample.

Pure numpy, no Qt and no files, so the editor, scripts and tests share one definition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tracemark.domain import trace_attributes as keys
from tracemark.domain.trace_attributes import finite_number

NEGATIVE, POSITIVE = "neg", "pos"

#: Cache attribute keys of each peak: (magnitude key, latency key).
PEAK_KEYS = {
    NEGATIVE: (keys.NEG_PEAK_MAGNITUDE, keys.NEG_PEAK_LATENCY),
    POSITIVE: (keys.POS_PEAK_MAGNITUDE, keys.POS_PEAK_LATENCY),
}


@dataclass(frozen=True)
class PeakEstimate:
    """Both peaks of one trace; ``None`` where the window holds no finite sample."""

    neg_magnitude_uv: float | None
    neg_latency_ms: float | None
    pos_magnitude_uv: float | None
    pos_latency_ms: float | None

    @property
    def found(self) -> bool:
        return self.neg_magnitude_uv is not None and self.pos_magnitude_uv is not None

    @property
    def peak_to_peak_uv(self) -> float | None:
        if not self.found:
            return None
        return self.pos_magnitude_uv - self.neg_magnitude_uv  # type: ignore[operator]

    def as_attrs(self) -> dict[str, float | None]:
        """The four cache attributes this estimate sets."""
        return {keys.NEG_PEAK_MAGNITUDE: self.neg_magnitude_uv,
                keys.NEG_PEAK_LATENCY: self.neg_latency_ms,
                keys.POS_PEAK_MAGNITUDE: self.pos_magnitude_uv,
                keys.POS_PEAK_LATENCY: self.pos_latency_ms}


NO_PEAKS = PeakEstimate(None, None, None, None)


@dataclass(frozen=True)
class ManualPeak:
    """One peak an annotator picked: which one, its value and its latency after the onset."""

    kind: str
    magnitude_uv: float
    latency_ms: float

    def as_attrs(self) -> dict[str, float]:
        magnitude_key, latency_key = PEAK_KEYS[self.kind]
        return {magnitude_key: self.magnitude_uv, latency_key: self.latency_ms}


def check_window(window_ms: tuple[float, float]) -> tuple[float, float]:
    """A latency window as two finite floats running forwards; ValueError otherwise."""
    start, stop = (float(v) for v in window_ms)
    if not (math.isfinite(start) and math.isfinite(stop) and start < stop):
        raise ValueError(f"the peak window must run forwards, got {start:g} .. {stop:g} ms")
    return start, stop


def window_offsets(window_ms: tuple[float, float], sampling_rate: float) -> tuple[int, int]:
    """First and last row offset from the onset inside the window (inclusive)."""
    start, stop = check_window(window_ms)
    per_ms = sampling_rate / 1000.0
    # The tolerance keeps a bound that lands on a sample (20 ms at 2 kHz) inside despite
    # float rounding of the product.
    return math.ceil(start * per_ms - 1e-9), math.floor(stop * per_ms + 1e-9)


def estimate_peaks(trace_1d: np.ndarray, sampling_rate: float, samples_pre: int,
                   onset_shift: int, window_ms: tuple[float, float]) -> PeakEstimate:
    """Minimum and maximum of ``trace_1d`` in ``window_ms`` after the corrected onset."""
    trace = np.asarray(trace_1d)
    if trace.ndim != 1:
        raise ValueError(f"a trace must be 1-D, got shape {trace.shape}")
    if not (math.isfinite(sampling_rate) and sampling_rate > 0):
        raise ValueError(f"the sampling rate must be positive, got {sampling_rate}")
    first, last = window_offsets(window_ms, sampling_rate)
    onset = int(samples_pre) + int(onset_shift)
    lo, hi = max(onset + first, 0), min(onset + last + 1, trace.shape[0])
    if lo >= hi:
        return NO_PEAKS
    values = trace[lo:hi].astype(np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return NO_PEAKS
    i_min = int(np.argmin(np.where(finite, values, np.inf)))
    i_max = int(np.argmax(np.where(finite, values, -np.inf)))
    ms_per_sample = 1000.0 / sampling_rate
    return PeakEstimate(float(values[i_min]), (lo + i_min - onset) * ms_per_sample,
                        float(values[i_max]), (lo + i_max - onset) * ms_per_sample)


def pick_peak(trace_1d: np.ndarray, sampling_rate: float, samples_pre: int, onset_shift: int,
              time_ms: float, value: float, snap_ms: float = 1.0,
              kind: str | None = None) -> ManualPeak | None:
    """The extreme an annotator clicked at (``time_ms`` after the *event*, ``value`` in the
    trace's units).

    The lowest and the highest sample within ``snap_ms`` of the click are the candidates;
    ``kind`` forces one ("neg" / "pos"), otherwise the one closer in value to the click wins,
    so clicking at a trough sets the negative peak and at a crest the positive one. The
    latency is measured from the corrected onset. ``None`` when no finite sample lies near
    the click.
    """
    if kind not in (None, NEGATIVE, POSITIVE):
        raise ValueError(f"a peak is {NEGATIVE!r} or {POSITIVE!r}, not {kind!r}")
    trace = np.asarray(trace_1d)
    per_ms = sampling_rate / 1000.0
    centre = int(samples_pre) + int(round(time_ms * per_ms))
    reach = max(int(round(snap_ms * per_ms)), 0)
    lo, hi = max(centre - reach, 0), min(centre + reach + 1, trace.shape[0])
    if lo >= hi:
        return None
    values = trace[lo:hi].astype(np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return None
    i_min = int(np.argmin(np.where(finite, values, np.inf)))
    i_max = int(np.argmax(np.where(finite, values, -np.inf)))
    if kind is None:
        kind = NEGATIVE if abs(value - values[i_min]) < abs(value - values[i_max]) else POSITIVE
    row = lo + (i_min if kind == NEGATIVE else i_max)
    onset = int(samples_pre) + int(onset_shift)
    return ManualPeak(kind, float(trace[row]), (row - onset) * 1000.0 / sampling_rate)


def stored_peaks(attrs: Mapping[str, Any]) -> PeakEstimate:
    """The peaks an attribute mapping holds (anything not a finite number -> None)."""
    return PeakEstimate(*(finite_number(attrs.get(key)) for key in keys.PEAK_ATTRIBUTE_KEYS))


