"""How large a channel's signal typically is, measured cheaply, for a first display scale.

Clinical files are not well scaled: BioSemi channels sit tens of millivolts from zero, a
patch-clamp sweep swings by 80 mV, an EEG by 50 µV. A viewer that opens at one fixed
sensitivity shows most of them as empty rows or a wall of ink. Tracemark therefore
measures, once per recording, the *robust spread* of every channel over a few short
windows spread across its first minutes (as MNE's ``'auto'`` scaling reads up to
100 MB from the middle of a recording and takes an interquartile range per channel type):

* :func:`survey_windows` picks where to read: the first :data:`SURVEY_SPAN_S` seconds
  whole when they fit in ``max_values`` samples, else :data:`SURVEY_WINDOWS` windows of
  at most :data:`WINDOW_S` seconds spread over them, as long as the budget allows;
* :func:`robust_spread` takes, per channel, the range between the 2nd and the 98th
  percentile of the samples after removing the median of each window (or of each segment
  of a page's length: the viewer removes each page's DC), so neither an offset, nor a slow
  drift, nor a rare artefact sets the scale;
  with ``burst=True`` it takes instead the median, over :data:`SURVEY_WINDOWS` equal
  stretches of the data read, of each stretch's whole range, for signals read for their
  bursts (an EMG is a few µV of baseline and a motor-evoked potential of a millivolt
  every few seconds; an ECG a flat line and its QRS complexes): the bursts, not the
  baseline between them, then fill the row, and one artefact in one stretch does not.

Pure numpy; no Qt, no file formats.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

SURVEY_WINDOWS = 8
WINDOW_S = 15.0
SURVEY_SPAN_S = 180.0
#: Samples (all channels together) read by one survey: about 8 MB as float32, measured in 40 ms for 256 channels.
DEFAULT_MAX_VALUES = 2_000_000
LOW_PERCENTILE, HIGH_PERCENTILE = 2.0, 98.0


def survey_windows(n_samples: int, sampling_rate: float, n_channels: int,
                   max_values: int = DEFAULT_MAX_VALUES) -> list[tuple[int, int]]:
    """``[i_start, i_stop)`` sample ranges to measure, evenly spread over the first minutes.

    The whole budget is used: a few channels are read for longer (up to
    :data:`WINDOW_S` per window, so sparse bursts such as motor-evoked potentials every
    few seconds are caught), many channels for less.
    """
    if n_samples <= 0 or n_channels <= 0 or sampling_rate <= 0:
        return []
    span = min(n_samples, max(int(SURVEY_SPAN_S * sampling_rate), 1))
    per_channel = max(max_values // n_channels, 2 * SURVEY_WINDOWS)
    if span <= per_channel:
        return [(0, span)]
    length = max(min(per_channel // SURVEY_WINDOWS, int(WINDOW_S * sampling_rate)), 2)
    starts = np.linspace(0, span - length, SURVEY_WINDOWS).astype(np.int64)
    return [(int(s), int(s) + length) for s in np.unique(starts)]


def robust_spread(windows: Sequence[np.ndarray], burst: bool = False,
                  segment: int | None = None) -> np.ndarray:
    """Per-channel 2nd-to-98th percentile range of ``windows`` (each ``(n, n_channels)``),
    each window's median removed first (with ``burst``, the median range of equal stretches;
    see the module docstring). NaN for a channel with no finite sample; 0 for a flat one."""
    steady, bursts = robust_spreads(windows, segment)
    return bursts if burst else steady


def robust_spreads(windows: Sequence[np.ndarray], segment: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Both spreads of :func:`robust_spread` (steady, burst), from one pass over the data.

    ``segment`` (samples) centres each stretch of that length on its own, as the viewer
    removes each page's DC: a slow drift over minutes must not count as amplitude."""
    parts = [_centred(np.asarray(piece, dtype=np.float32)) for w in windows
             if np.ndim(w) == 2 and np.shape(w)[0] > 0 for piece in _segments(w, segment)]
    if not parts:
        return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.float64)
    centred = np.concatenate(parts, axis=1)
    quantiles = [LOW_PERCENTILE, HIGH_PERCENTILE]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN channels give NaN
        if np.isfinite(centred).all():
            low, high = np.percentile(centred, quantiles, axis=1)
        else:
            low, high = np.nanpercentile(centred, quantiles, axis=1)
        stretches = np.array_split(centred, min(SURVEY_WINDOWS, centred.shape[1]), axis=1)
        ranges = np.stack([np.nanmax(part, axis=1) - np.nanmin(part, axis=1) for part in stretches])
        bursts = np.nanmedian(ranges, axis=0)
    return (high - low).astype(np.float64), bursts.astype(np.float64)


def _segments(window, segment: int | None) -> list:
    if not segment or len(window) <= segment:
        return [window]
    return [window[i:i + segment] for i in range(0, len(window), segment)]


def _centred(data: np.ndarray) -> np.ndarray:
    """Channels as rows (contiguous, which halves the percentile's time), each row's median
    removed (a median, not a mean, so that one artefact does not offset a whole window
    against the others)."""
    rows = np.ascontiguousarray(data.T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN channel stays NaN
        if np.isfinite(rows).all():
            rows -= np.median(rows, axis=1, keepdims=True)
        else:
            rows -= np.nanmedian(rows, axis=1, keepdims=True)
    return rows


def typical_spread(spreads: np.ndarray) -> float | None:
    """The median spread of a group of channels, leaving out flat and unreadable ones
    (a disconnected electrode must not make every other trace of its type huge)."""
    values = np.asarray(spreads, dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return None
    return float(np.median(values))
