"""Values of the displayed signal at given samples, for the crosshair and the cursors.

A readout is read at full resolution, whatever the zoom, through the same steps as the
traces: the montage's weights, then the display filter's high-pass, low-pass and notch
(read with the filter's padding, so the value at a page edge is what it would be in the
middle). The viewer's "Remove DC" is deliberately left out: it only centres each trace in
its row by the mean of the page on screen, so a value that included it would change each
time the page moves while the signal did not. Differences (B - A) are the same either way.

This module reads and formats; it draws nothing and holds no widget.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from tracemark.paging.pipeline import read_displayed

__all__ = [
    "CursorReadout",
    "RowChunkCache",
    "RowReading",
    "decimals_for",
    "display_unit",
    "format_delta_time",
    "format_frequency",
    "format_value",
    "measurement_filter",
    "sample_index",
    "values_at",
]

#: Samples of one row the crosshair reads at a time (moves within them read nothing).
CROSSHAIR_CHUNK_SAMPLES = 32768
#: Rows whose chunk the crosshair keeps (a page of rows; 64 x 128 KB at most).
CROSSHAIR_ROWS_KEPT = 64


def measurement_filter(display_filter):
    """``display_filter`` without its per-page DC removal (None when nothing is left)."""
    if display_filter is None:
        return None
    if getattr(display_filter, "remove_dc", False):
        display_filter = dataclasses.replace(display_filter, remove_dc=False)
    return None if display_filter.is_identity else display_filter


def sample_index(time_s: float, sampling_rate: float, n_samples: int) -> int:
    """The sample nearest ``time_s``, within the recording."""
    return min(max(round(time_s * sampling_rate), 0), max(n_samples - 1, 0))


def values_at(source, index: int, rows: tuple[int, ...], matrix, display_filter) -> np.ndarray:
    """The displayed value of each of ``rows`` at sample ``index`` (see the module docstring)."""
    data = read_displayed(source, index, index + 1, rows, matrix, measurement_filter(display_filter))
    if data.shape[0] == 0:
        return np.full(len(rows), np.nan)
    return data[0].astype(np.float64)


class RowChunkCache:
    """Stretches of display rows read for the crosshair, one per row, the latest kept.

    The pointer moves a pixel at a time; reading each sample with the filter's padding
    (seconds of data on each side) would cost tens of milliseconds per move at high
    sampling rates. A chunk read once answers every move over it, and a chunk per row
    lets the pointer go up and down the rows of a page reading each row once.
    """

    def __init__(self, chunk_samples: int = CROSSHAIR_CHUNK_SAMPLES, rows_kept: int = CROSSHAIR_ROWS_KEPT):
        self.chunk_samples = int(chunk_samples)
        self.rows_kept = int(rows_kept)
        self._chunks: dict[tuple, tuple[int, np.ndarray]] = {}   # (row, identity) -> (first, data)

    def clear(self) -> None:
        self._chunks.clear()

    def value(self, source, index: int, row: int, matrix, display_filter, identity: tuple) -> float:
        """The value of ``row`` at ``index``; ``identity`` names the source, montage and filter."""
        key = (row, identity)
        first, data = self._chunks.pop(key, (0, None))
        if data is None or not 0 <= index - first < len(data):
            first = max(index - self.chunk_samples // 2, 0)
            stop = min(first + self.chunk_samples, source.n_samples)
            read = read_displayed(source, first, stop, (row,), matrix, measurement_filter(display_filter))
            data = read[:, 0] if read.shape[0] else np.empty(0, np.float32)
        self._chunks[key] = (first, data)          # now the most recent
        while len(self._chunks) > self.rows_kept:
            del self._chunks[next(iter(self._chunks))]
        offset = index - first
        return float(data[offset]) if 0 <= offset < len(data) else math.nan


@dataclass(frozen=True)
class RowReading:
    """One display row's values at the two cursors (NaN where a cursor is not placed)."""

    label: str
    unit: str
    at_a: float
    at_b: float

    @property
    def delta(self) -> float:
        return self.at_b - self.at_a


@dataclass(frozen=True)
class CursorReadout:
    """What the measurements panel shows and copies."""

    time_a: float | None
    time_b: float | None
    rows: tuple[RowReading, ...] = ()

    @property
    def delta_s(self) -> float | None:
        if self.time_a is None or self.time_b is None:
            return None
        return self.time_b - self.time_a

    @property
    def frequency_hz(self) -> float | None:
        delta = self.delta_s
        return 1.0 / abs(delta) if delta else None

    def tab_separated(self, format_time) -> str:
        """The readout as tab-separated text (full precision) for a spreadsheet or a report."""
        def cell(value):
            return "" if value is None or not math.isfinite(value) else f"{value:.6g}"

        lines = [f"Cursor A\t{'' if self.time_a is None else format_time(self.time_a)}",
                 f"Cursor B\t{'' if self.time_b is None else format_time(self.time_b)}",
                 f"Δt (s)\t{'' if self.delta_s is None else f'{self.delta_s:.6f}'}",
                 f"1/Δt (Hz)\t{cell(self.frequency_hz)}",
                 "Channel\tUnit\tA\tB\tB − A"]
        lines += [f"{r.label}\t{r.unit}\t{cell(r.at_a)}\t{cell(r.at_b)}\t{cell(r.delta)}"
                  for r in self.rows]
        return "\n".join(lines) + "\n"


def display_unit(unit: str) -> str:
    """A unit as people write it: ``"uV"`` -> ``"µV"``."""
    unit = unit.strip()
    if len(unit) == 2 and unit[0] == "u":
        return "µ" + unit[1]
    return unit


def decimals_for(values) -> int:
    """Decimals that give the largest of ``values`` four significant digits (0 to 9)."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not finite:
        return 0
    return min(max(3 - math.floor(math.log10(max(finite))), 0), 9)


def format_value(value: float, decimals: int | None = None) -> str:
    """``value`` without an exponent, with ``decimals`` places (default: four significant
    digits: 1234, 23.45, 0.1234); "–" when unknown."""
    if value is None or not math.isfinite(value):
        return "–"
    if decimals is None:
        decimals = decimals_for([value])
    return f"{value:.{decimals}f}"


def format_delta_time(delta_s: float | None) -> str:
    """``"250.00 ms"`` below a second, ``"12.5000 s"`` from a second up."""
    if delta_s is None:
        return "–"
    if abs(delta_s) < 1.0:
        return f"{delta_s * 1e3:.2f} ms"
    return f"{delta_s:.4f} s"


def format_frequency(frequency_hz: float | None) -> str:
    if frequency_hz is None or not math.isfinite(frequency_hz):
        return "–"
    return f"{format_value(frequency_hz)} Hz"
