"""How large a channel's signal typically is, measured cheaply, for a first display scale.

Clinical files are not well scaled: BioSemi channels sit tens of millivolts from zero, a
patch-clamp sweep swings by 80 mV, an EEG by 50 µV. A viewer that opens at one fixed
sensitivity shows most of them as empty rows or a wall of ink. Tracemark therefore
measures, once per recording, the *robust spread* of every channel over a few short
windows spread across its first minutes (as MNE's ``'auto'`` scaling reads up to
100 MB from the middle of a recording and takes an interquartile range per channel type):

* :func:`survey_windows` picks where to read: up to :data:`SURVEY_WINDOWS` windows of at
  most :data:`WINDOW_S` seconds over the first :data:`SURVEY_SPAN_S` seconds, shortened
  so that all of them together hold at most ``max_values`` samples;
* :func:`robust_spread` takes, per channel, the range between the 2nd and the 98th
  percentile of the samples after removing each window's mean (the DC removal the
  viewer applies per page), so neither an offset nor a rare artefact sets the scale.

Pure numpy; no Qt, no file formats.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

SURVEY_WINDOWS = 8
WINDOW_S = 2.0
SURVEY_SPAN_S = 180.0
#: Samples (all channels together) read by one survey: about 8 MB as float32, measured in 40 ms for 256 channels.
DEFAULT_MAX_VALUES = 2_000_000
LOW_PERCENTILE, HIGH_PERCENTILE = 2.0, 98.0


def survey_windows(n_samples: int, sampling_rate: float, n_channels: int,
                   max_values: int = DEFAULT_MAX_VALUES) -> list[tuple[int, int]]:
    """``[i_start, i_stop)`` sample ranges to measure, evenly spread over the first minutes."""
    if n_samples <= 0 or n_channels <= 0 or sampling_rate <= 0:
        return []
    span = min(n_samples, max(int(SURVEY_SPAN_S * sampling_rate), 1))
    per_window = max(int(WINDOW_S * sampling_rate), 2)
    budget = max(max_values // n_channels, 2)
    if span <= min(per_window * SURVEY_WINDOWS, budget):
        return [(0, span)]
    count = SURVEY_WINDOWS
    length = max(min(per_window, budget // count), 2)
    starts = np.linspace(0, span - length, count).astype(np.int64)
    return [(int(s), int(s) + length) for s in np.unique(starts)]


def robust_spread(windows: Sequence[np.ndarray]) -> np.ndarray:
    """Per-channel 2nd-to-98th percentile range of ``windows`` (each ``(n, n_channels)``),
    each window's mean removed first. NaN for a channel with no finite sample; 0 for a
    flat one."""
    parts = [_centred(np.asarray(w, dtype=np.float32)) for w in windows
             if np.ndim(w) == 2 and np.shape(w)[0] > 0]
    if not parts:
        return np.empty(0, dtype=np.float64)
    centred = np.concatenate(parts, axis=1)
    quantiles = [LOW_PERCENTILE, HIGH_PERCENTILE]
    if np.isfinite(centred).all():
        low, high = np.percentile(centred, quantiles, axis=1)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN channels give NaN
            low, high = np.nanpercentile(centred, quantiles, axis=1)
    return (high - low).astype(np.float64)


def _centred(data: np.ndarray) -> np.ndarray:
    """Channels as rows (contiguous, which halves the percentile's time), mean removed."""
    rows = np.ascontiguousarray(data.T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN channel stays NaN
        rows -= np.nanmean(rows, axis=1, keepdims=True)
    return rows


def typical_spread(spreads: np.ndarray) -> float | None:
    """The median spread of a group of channels, leaving out flat and unreadable ones
    (a disconnected electrode must not make every other trace of its type huge)."""
    values = np.asarray(spreads, dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return None
    return float(np.median(values))
