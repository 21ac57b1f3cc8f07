"""What a spectrum is computed from, and the computation itself (run on a worker thread).

A :class:`SpectrumRequest` is an immutable snapshot of what the viewer shows: the source,
the sample range (the visible window or the measurement span), the display rows with
their labels and units, the montage weights and the display filter. :func:`compute_psd`
and :func:`compute_spectrogram` read exactly those displayed signals at full resolution
(:func:`~tracemark.paging.pipeline.read_displayed`: montage and filter applied)
and return the spectrum with a sentence saying what it rests on.

Cost is bounded whatever the span: at most :data:`PSD_BUDGET_VALUES` values (samples
times input channels, the filter's padding included) are read for a PSD and
:data:`SPECTROGRAM_BUDGET_SAMPLES` samples for a spectrogram. A longer span is read as
evenly spaced blocks (:func:`tracemark.dsp.spectrum.spread_blocks`), and the result says
so. No Qt here; ``cancelled()`` is asked between reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from tracemark.dsp.spectrum import (
    DEFAULT_OVERLAP,
    Spectrogram,
    Spectrum,
    segment_length,
    spectrogram,
    spread_blocks,
    welch_blocks,
)
from tracemark.paging.pipeline import plan_rows, read_displayed
from tracemark.paging.source import SignalSource

__all__ = [
    "PSD_BUDGET_VALUES",
    "SCOPE_PAGE",
    "SCOPE_SELECTED",
    "SPECTROGRAM_BUDGET_SAMPLES",
    "PsdResult",
    "SpectrogramResult",
    "SpectrumRequest",
    "compute_psd",
    "compute_spectrogram",
]

#: Values read at most for one PSD, as many as the viewer reads for a page (16 MB of
#: float32; about 0.7 s of computing on one core of the development machine): 8 min of
#: 32 channels at 256 Hz, 30 s of 64 channels at 2048 Hz, read whole; longer spans are
#: sampled.
PSD_BUDGET_VALUES = 4_000_000
#: Samples read at most for one spectrogram (one channel): 2.2 h at 256 Hz, 16 min at
#: 2048 Hz read whole; longer spans give one column per evenly spaced segment.
SPECTROGRAM_BUDGET_SAMPLES = 2_000_000
#: Segments of a PSD block when a span is sampled: 8 segments of 2 s, overlapping by half.
SEGMENTS_PER_BLOCK = 8
#: Spectrogram columns wanted at least: overlap grows from 50 % up to :data:`MAX_OVERLAP`
#: for short spans, so that a 10-s window still gives a smooth picture.
MIN_COLUMNS = 120
MAX_OVERLAP = 0.95
#: Segment length (s) of the spectrogram: 1 Hz resolution, 1-s time steps at most.
SPECTROGRAM_SEGMENT_S = 1.0

#: Which rows a PSD covers: the selected channel, or every channel on the page.
SCOPE_SELECTED = "selected"
SCOPE_PAGE = "page"

Cancelled = Callable[[], bool]


def _never() -> bool:
    return False


@dataclass(frozen=True)
class SpectrumRequest:
    """One spectrum to compute: samples ``[i_start, i_stop)`` of display ``rows``."""

    source: SignalSource
    i_start: int
    i_stop: int
    rows: tuple[int, ...]
    labels: tuple[str, ...]
    units: tuple[str, ...]
    matrix: np.ndarray | None = None
    display_filter: object = None
    #: Where the range comes from, for the readout: "visible window" or "measurement span".
    origin: str = "visible window"

    @property
    def sampling_rate(self) -> float:
        return float(self.source.sampling_rate)

    @property
    def start_s(self) -> float:
        return self.i_start / self.sampling_rate

    @property
    def stop_s(self) -> float:
        return self.i_stop / self.sampling_rate

    @property
    def lowpass_hz(self) -> float | None:
        return getattr(self.display_filter, "lowpass_hz", None)

    @property
    def highpass_hz(self) -> float | None:
        return getattr(self.display_filter, "highpass_hz", None)


@dataclass(frozen=True)
class PsdResult:
    request: SpectrumRequest
    spectrum: Spectrum
    samples_read: int       # per channel
    sampled: bool           # True when the span was read as spread blocks
    description: str


@dataclass(frozen=True)
class SpectrogramResult:
    request: SpectrumRequest
    spectrogram: Spectrogram
    column_step_s: float    # time between columns
    sampled: bool
    description: str


def compute_psd(request: SpectrumRequest, cancelled: Cancelled = _never, *,
                budget_values: int = PSD_BUDGET_VALUES) -> PsdResult | None:
    """Welch's PSD of every requested row; None when cancelled."""
    rate = request.sampling_rate
    length = request.i_stop - request.i_start
    if length < 2 or not request.rows:
        raise ValueError("the span holds no samples to analyse")
    segment = segment_length(rate, length)
    n_inputs = max(len(plan_rows(request.matrix, request.rows).inputs), 1)
    blocks = spread_blocks(request.i_start, request.i_stop, SEGMENTS_PER_BLOCK * segment,
                           max(budget_values // n_inputs, segment), 2 * _padding(request))
    data = []
    for start, stop in blocks:
        if cancelled():
            return None
        data.append(_read(request, start, stop))
    spectrum = welch_blocks(data, rate, segment, overlap=DEFAULT_OVERLAP)
    samples = sum(len(d) for d in data)
    sampled = len(blocks) > 1 or samples < length
    return PsdResult(request, spectrum, samples, sampled,
                     _psd_description(spectrum, samples, length, rate, len(blocks), sampled))


def compute_spectrogram(request: SpectrumRequest, cancelled: Cancelled = _never, *,
                        budget_samples: int = SPECTROGRAM_BUDGET_SAMPLES) -> SpectrogramResult | None:
    """The spectrogram of the first requested row; None when cancelled."""
    rate = request.sampling_rate
    length = request.i_stop - request.i_start
    if length < 4 or not request.rows:
        raise ValueError("the span holds too few samples for a spectrogram")
    request_row = replace(request, rows=request.rows[:1], labels=request.labels[:1],
                          units=request.units[:1])
    segment = segment_length(rate, length // 4, SPECTROGRAM_SEGMENT_S)
    blocks = spread_blocks(request.i_start, request.i_stop, segment, budget_samples,
                           2 * _padding(request_row))
    if len(blocks) == 1:
        return _spectrogram_whole(request_row, blocks[0], segment)
    return _spectrogram_sampled(request_row, blocks, segment, cancelled)


def _spectrogram_whole(request: SpectrumRequest, block: tuple[int, int], segment: int) -> SpectrogramResult:
    """One read, overlapping segments (more overlap for short spans: see MIN_COLUMNS)."""
    rate = request.sampling_rate
    start, stop = block
    overlap = _overlap_for_columns(stop - start, segment)
    result = spectrogram(_read(request, start, stop)[:, 0], rate, segment, overlap=overlap,
                         start_s=start / rate)
    times = result.times
    step = float(times[1] - times[0]) if len(times) > 1 else segment / rate
    return SpectrogramResult(request, result, step, False,
                             f"{segment / rate:g}-s segments, {_percent(overlap)} overlap, "
                             f"{rate / segment:.2g} Hz resolution")


def _spectrogram_sampled(request: SpectrumRequest, blocks: list[tuple[int, int]], segment: int,
                         cancelled: Cancelled) -> SpectrogramResult | None:
    """One segment per block, each block its own read: one column per evenly spaced time."""
    rate = request.sampling_rate
    columns, times = [], []
    for start, stop in blocks:
        if cancelled():
            return None
        column = spectrogram(_read(request, start, stop)[:, 0], rate, segment, start_s=start / rate)
        columns.append(column.power[:, 0])
        times.append(column.times[0])
    result = Spectrogram(column.frequencies, np.asarray(times), np.column_stack(columns), segment)
    step = float(np.mean(np.diff(times)))
    return SpectrogramResult(request, result, step, True,
                             f"sampled: {len(blocks)} segments of {segment / rate:g} s spread over "
                             f"the span (one every {step:.3g} s)")


def _read(request: SpectrumRequest, start: int, stop: int) -> np.ndarray:
    return read_displayed(request.source, start, stop, request.rows, request.matrix,
                          request.display_filter)


def _padding(request: SpectrumRequest) -> int:
    display_filter = request.display_filter
    if display_filter is None or getattr(display_filter, "is_identity", True):
        return 0
    return int(display_filter.padding_samples(request.sampling_rate))


def _overlap_for_columns(length: int, segment: int) -> float:
    """Half-overlapping segments, or more overlap when that gives too few columns."""
    at_half = (length - segment) / (segment * (1 - DEFAULT_OVERLAP)) + 1
    if at_half >= MIN_COLUMNS:
        return DEFAULT_OVERLAP
    wanted_step = max((length - segment) / (MIN_COLUMNS - 1), 1.0)
    return float(min(max(1 - wanted_step / segment, DEFAULT_OVERLAP), MAX_OVERLAP))


def _psd_description(spectrum: Spectrum, samples: int, length: int, rate: float, n_blocks: int,
                     sampled: bool) -> str:
    segments = int(spectrum.n_segments.max()) if len(spectrum.n_segments) else 0
    text = (f"Welch: {spectrum.segment_samples / rate:g}-s Hann segments, 50 % overlap, "
            f"{spectrum.resolution_hz:.2g} Hz resolution, {segments} segment{'s' * (segments != 1)}")
    if sampled:
        text += (f"; sampled: {n_blocks} blocks, {samples / rate:.4g} s of the "
                 f"{length / rate:.4g}-s span")
    return text


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.0f} %"
