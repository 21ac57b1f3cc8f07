"""Per-trace measures: peak-to-peak amplitude and latency in a window after the corrected
onset, on one channel.

The window ``[start_ms, stop_ms]`` is relative to each trace's corrected onset (row
``samples_pre + onset_shift``), both ends included; samples outside the stored trace are
ignored. Amplitude is ``max - min`` in the window; latency is the time of whichever of the
two extremes comes first (for a motor-evoked potential: its first peak), in ms after the
onset. A trace with no finite sample in the window gets NaN.

When ``use_annotations`` is set, a trace whose annotator has set both peak magnitudes uses
those instead (``pos - neg``, latency of the earlier annotated peak), so that a manual
correction in the editor wins over the automatic estimate; ``annotated`` says which
traces did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .traces import TraceSet


@dataclass(frozen=True)
class MeasureSettings:
    """Which channel (label, column or ``None`` for the default) and which window."""

    channel: int | str | None = None
    start_ms: float = 15.0
    stop_ms: float = 50.0
    use_annotations: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start_ms) and math.isfinite(self.stop_ms)
                and self.start_ms < self.stop_ms):
            raise ValueError(f"the measure window must run forwards, got {self.start_ms:g} .. "
                             f"{self.stop_ms:g} ms")


@dataclass
class Measures:
    """One value per trace; NaN where there is nothing to measure."""

    amplitude: np.ndarray
    latency_ms: np.ndarray
    annotated: np.ndarray
    channel: int
    channel_label: str
    units: str
    settings: MeasureSettings

    def update(self, traces: TraceSet, index: int) -> None:
        """Measure trace ``index`` again (after its onset shift or peaks changed)."""
        amplitude, latency, annotated = _measure(traces, np.array([index]), self.channel,
                                                 self.settings)
        self.amplitude[index] = amplitude[0]
        self.latency_ms[index] = latency[0]
        self.annotated[index] = annotated[0]


def window_rows(settings: MeasureSettings, sampling_rate: float) -> np.ndarray:
    """Row offsets from the onset that fall inside the window."""
    first = math.ceil(settings.start_ms * sampling_rate / 1000.0 - 1e-9)
    last = math.floor(settings.stop_ms * sampling_rate / 1000.0 + 1e-9)
    return np.arange(first, last + 1)


def compute_measures(traces: TraceSet, settings: MeasureSettings = MeasureSettings()) -> Measures:
    """Amplitude and latency of every trace (vectorised over traces)."""
    channel = traces.channel_index(settings.channel)
    amplitude, latency, annotated = _measure(traces, np.arange(len(traces)), channel, settings)
    return Measures(amplitude, latency, annotated, channel, traces.channel_labels[channel],
                    traces.units, settings)


def _measure(traces: TraceSet, indexes: np.ndarray, channel: int, settings: MeasureSettings,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    offsets = window_rows(settings, traces.sampling_rate)
    n = len(indexes)
    amplitude, latency = np.full(n, np.nan), np.full(n, np.nan)
    if offsets.size and n:
        rows = traces.samples_pre + traces.onset_shift[indexes][:, None] + offsets[None, :]
        inside = (rows >= 0) & (rows < traces.n_rows)
        values = traces.data[indexes[:, None], np.clip(rows, 0, traces.n_rows - 1), channel]
        values = np.where(inside, values.astype(np.float64), np.nan)
        finite = np.isfinite(values)
        has = finite.any(axis=1)
        high = np.where(finite, values, -np.inf)
        low = np.where(finite, values, np.inf)
        i_max, i_min = high.argmax(axis=1), low.argmin(axis=1)
        rows_n = np.arange(n)
        amplitude = np.where(has, high[rows_n, i_max] - low[rows_n, i_min], np.nan)
        first = offsets[np.minimum(i_max, i_min)]
        latency = np.where(has, first * (1000.0 / traces.sampling_rate), np.nan)
    annotated = np.zeros(n, bool)
    if settings.use_annotations:
        manual = np.isfinite(traces.annotated_ptp_uv[indexes])
        annotated = manual
        amplitude = np.where(manual, traces.annotated_ptp_uv[indexes], amplitude)
        manual_latency = manual & np.isfinite(traces.annotated_latency_ms[indexes])
        latency = np.where(manual_latency, traces.annotated_latency_ms[indexes], latency)
    return amplitude, latency, annotated
