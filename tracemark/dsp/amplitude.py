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
#: Values (all channels together) that percentiles and medians are taken on, evenly
#: spaced in time, and the fewest per channel.
QUANTILE_VALUES = 262_144
MIN_QUANTILE_SAMPLES = 1024


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
    # dict.fromkeys keeps order and drops repeats (np.unique would import numpy.ma, 35 ms).
    return [(int(s), int(s) + length) for s in dict.fromkeys(starts.tolist())]


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
    removes each page's DC: a slow drift over minutes must not count as amplitude.
    Percentiles and medians are taken on :data:`QUANTILE_VALUES` evenly spaced values (at
    least :data:`MIN_QUANTILE_SAMPLES` per channel; the ranges behind the burst spread see
    every sample): enough for a 2nd percentile to within a few per cent, which a scale
    rounded to clinical steps does not notice, and on 2 million values it keeps the
    measure near 10 ms instead of 75 (numpy's partition costs about 15 ns a value).

    The windows may be a recording's stored integers (the spreads then come in codes, to
    be multiplied by each channel's gain): only the values the percentiles take are made
    floats, and the ranges are taken on the integers, so the 2 million values read are
    never copied as floats (``tracemark.paging.survey``: 17 -> 6 ms on a 64-channel TRC).
    """
    blocks = [np.asarray(w) for w in windows if np.ndim(w) == 2 and np.shape(w)[0] > 0]
    if not blocks:
        return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.float64)
    total = sum(len(b) for b in blocks)
    per_channel = max(QUANTILE_VALUES // blocks[0].shape[1], MIN_QUANTILE_SAMPLES)
    step = max(1, -(-total // per_channel))
    finite = all(b.dtype.kind in "iub" or np.isfinite(b).all() for b in blocks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN channels give NaN
        centred = _centred_pieces([piece[::step] for b in blocks for piece in _segments(b, segment)], finite)
        quantiles = [LOW_PERCENTILE, HIGH_PERCENTILE]
        if finite:
            low, high = percentiles_along_rows(centred, quantiles)
        else:
            low, high = np.nanpercentile(centred, quantiles, axis=1)
        bursts = _median_stretch_range(blocks, finite)
    return (high - low).astype(np.float64), bursts


def _median_stretch_range(blocks: list[np.ndarray], finite: bool) -> np.ndarray:
    """Per channel, the median over :data:`SURVEY_WINDOWS` equal stretches of the blocks
    (end to end) of each stretch's range, on the blocks' own type (ranges in float64, so
    that a 16-bit code's range does not wrap)."""
    largest, smallest = (np.max, np.min) if finite else (np.nanmax, np.nanmin)
    if len(blocks) == SURVEY_WINDOWS and len({len(b) for b in blocks}) == 1:
        # The survey's usual windows: the stretches are the windows, reduced in one call.
        stacked = np.stack(blocks)
        ranges = largest(stacked, axis=1).astype(np.float64) - smallest(stacked, axis=1)
    else:
        data = np.concatenate(blocks, axis=0)
        stretches = np.array_split(data, min(SURVEY_WINDOWS, len(data)), axis=0)
        ranges = np.stack([largest(part, axis=0).astype(np.float64) - smallest(part, axis=0)
                           for part in stretches])
    return np.asarray(median_along(ranges, axis=0) if finite else np.nanmedian(ranges, axis=0),
                      dtype=np.float64)


def _segments(window: np.ndarray, segment: int | None) -> list[np.ndarray]:
    if not segment or len(window) <= segment:
        return [window]
    return [window[i:i + segment] for i in range(0, len(window), segment)]


def _centred_pieces(pieces: list[np.ndarray], finite: bool) -> np.ndarray:
    """Every piece centred on its own median per channel, channels as rows, end to end.

    Pieces of one length (the survey's windows) are centred together: a few calls on one
    array instead of a few per piece. The survey runs beside the GUI thread while a
    recording opens, and each numpy call that lets the interpreter lock go may wait up to
    a switch interval (5 ms) to get it back: per piece, 14 ms of work took 50 ms."""
    if len(pieces) == 1 or len({len(p) for p in pieces}) > 1:
        return np.concatenate([_centred(piece, finite) for piece in pieces], axis=1)
    rows = np.array(np.stack(pieces).transpose(0, 2, 1), dtype=np.float32, order="C")  # (piece, ch, n)
    rows -= median_along(rows, axis=2)[:, :, None] if finite else np.nanmedian(rows, axis=2, keepdims=True)
    end_to_end: np.ndarray = rows.transpose(1, 0, 2).reshape(rows.shape[1], -1)
    return end_to_end


def _centred(data: np.ndarray, finite: bool) -> np.ndarray:
    """Channels as rows (contiguous, which halves the percentile's time), each row's median
    removed (a median, not a mean, so that one artefact does not offset a whole window
    against the others). Always a copy: the caller's samples are never changed."""
    rows = np.array(data.T, dtype=np.float32, order="C")
    rows -= median_along(rows, axis=1)[:, None] if finite else np.nanmedian(rows, axis=1, keepdims=True)
    return rows


def percentiles_along_rows(values: np.ndarray, percents: Sequence[float]) -> list[np.ndarray]:
    """``np.percentile(values, percents, axis=1)`` (its default linear interpolation) of
    finite ``values``, by one partition: numpy 2's percentile imports ``numpy.ma`` on first
    use (35 ms), which the survey would add to the time before every first page."""
    n = values.shape[1]
    positions = [p / 100.0 * (n - 1) for p in percents]
    kth = sorted({int(np.floor(x)) for x in positions} | {int(np.ceil(x)) for x in positions})
    part = np.partition(values, kth, axis=1)
    out = []
    for x in positions:
        below, above = int(np.floor(x)), int(np.ceil(x))
        fraction = x - below
        out.append(part[:, below] + (part[:, above] - part[:, below]) * fraction)
    return out


def median_along(values: np.ndarray, axis: int) -> np.ndarray:
    """``np.median`` of finite ``values`` along ``axis``, by partition. numpy 2's median
    imports ``numpy.ma`` on first use (35 ms), which the survey would add to the time
    before the first page of every session."""
    n = values.shape[axis]
    k = n // 2
    if n % 2:
        return np.asarray(np.take(np.partition(values, k, axis=axis), k, axis=axis))
    part = np.partition(values, (k - 1, k), axis=axis)
    return np.asarray((np.take(part, k - 1, axis=axis) + np.take(part, k, axis=axis)) / 2)


def typical_spread(spreads: np.ndarray) -> float | None:
    """The median spread of a group of channels, leaving out flat and unreadable ones
    (a disconnected electrode must not make every other trace of its type huge)."""
    values = np.asarray(spreads, dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return None
    return float(median_along(values, axis=0))
