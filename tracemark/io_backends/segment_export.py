"""Write a span of a recording to a new EDF+ or CSV file, in bounded memory. No Qt.

The caller says *what* to write as a :class:`Segment`: a ``read(i_start, i_stop)``
function returning float32 ``(n, n_columns)`` in physical units (the channels as
recorded, or the rows as the viewer shows them: the app composes that function), the
columns' labels and units, the sampling rate, the recording's start date-time, and the
span ``[i_start, i_stop)`` in samples. Annotations are ``(onset_s, duration_s, label)``
triples on the recording's time axis, whatever made them (the recording's events today,
the user's own annotations later); those whose onset falls in the span are written.

EDF+
    Each column's physical minimum and maximum are the span's own extremes (a first pass
    reads the span chunk by chunk), so the 16-bit digital range covers exactly the values
    written and every value comes back within half a quantisation step, ``(max - min) /
    65535``. Labels are cut to EDF's 16 characters and kept unique; units to 8 ASCII
    characters; an SI unit whose values would be tiny or huge in EDF's 8-character range
    fields is written with a fitting prefix instead (1e-10 A as 100 pA, see
    :func:`edf_unit_scale`). The start date-time is the recording's, moved to the span's first sample
    (sub-second part included, as EDF+ allows). Data records are as long as a whole
    number of samples allows, preferring records of at most 61,440 bytes as the EDF
    specification recommends. The stream goes through :class:`~tracemark.io_backends.edf_writer.
    EdfWriter`, Tracemark's streaming EDF+ writer (edfio, the obvious library, assembles
    the whole file in memory before writing it, which a long span cannot afford; the
    tests read every file back with edfio and MNE).
CSV
    One header line (``time_s`` then ``label (unit)`` per column), then one line per
    sample; time in seconds on the recording's axis.

Both are written chunk by chunk (about :data:`CHUNK_VALUES` values at a time) to a
temporary beside the target that replaces it only when complete
(:mod:`tracemark.storage.atomic`), so a failure never leaves half a file.
``progress(fraction)`` is called after every chunk; it may raise :class:`ExportCancelled`
to stop (the GUI's Cancel button does).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from tracemark.storage import atomic

from .edf_writer import EdfWriter
from .errors import TracemarkError

__all__ = ["Annotation", "ExportCancelled", "ExportError", "Segment", "annotations_in_span", "edf_labels",
           "edf_unit_scale", "record_duration_for", "write_segment", "write_segment_csv", "write_segment_edf"]

#: Values (samples x columns) read and written at a time.
CHUNK_VALUES = 2_000_000
#: The EDF specification's recommended upper size of one data record.
EDF_RECORD_BYTES = 61_440
EDF_LABEL_CHARS = 16
EDF_UNIT_CHARS = 8
#: Record durations tried, longest first (each fits EDF's 8-character field exactly).
RECORD_DURATIONS_S = (1.0, 0.5, 0.25, 0.2, 0.125, 0.1, 0.05, 0.04, 0.025, 0.02, 0.01, 2.0, 5.0, 10.0)

#: ``(onset_s, duration_s, label)`` on the recording's time axis.
Annotation = tuple[float, float, str]
Reader = Callable[[int, int], np.ndarray]
Progress = Callable[[float], None]


class ExportCancelled(Exception):
    """Raised by a ``progress`` callback to stop an export; no output file is left."""


class ExportError(TracemarkError):
    """An export cannot be written. ``path`` is the output file, ``problem`` what is wrong."""

    def __init__(self, path: str | os.PathLike[str], problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class Segment:
    """What to export: ``read`` gives samples ``[a, b)`` of every column, float32."""

    read: Reader
    labels: tuple[str, ...]
    units: tuple[str, ...]
    sampling_rate: float
    i_start: int
    i_stop: int
    start_datetime: datetime | None = None
    annotations: tuple[Annotation, ...] = ()
    #: One EDF prefiltering text per column (``"HP:0.5Hz LP:70Hz"``), or empty.
    prefilters: tuple[str, ...] = field(default=())
    patient: str = "X X X X"

    @property
    def n_samples(self) -> int:
        return max(self.i_stop - self.i_start, 0)

    @property
    def start_s(self) -> float:
        return self.i_start / self.sampling_rate

    @property
    def stop_s(self) -> float:
        return self.i_stop / self.sampling_rate

    def chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(first_sample, block)`` over the span, about :data:`CHUNK_VALUES` values each."""
        step = max(CHUNK_VALUES // max(len(self.labels), 1), 1)
        for first in range(self.i_start, self.i_stop, step):
            last = min(first + step, self.i_stop)
            block = np.asarray(self.read(first, last), dtype=np.float32)
            if block.shape != (last - first, len(self.labels)):
                raise ValueError(f"read({first}, {last}) returned shape {block.shape}, expected "
                                 f"{(last - first, len(self.labels))}")
            yield first, block


def annotations_in_span(annotations: Sequence[Annotation], start_s: float, stop_s: float
                        ) -> tuple[Annotation, ...]:
    """The annotations whose onset falls in ``[start_s, stop_s)``, onsets made relative to
    ``start_s`` and durations cut at ``stop_s``."""
    kept = []
    for onset, duration, label in annotations:
        if start_s <= onset < stop_s:
            length = min(max(float(duration or 0.0), 0.0), stop_s - onset)
            kept.append((round(onset - start_s, 9), round(length, 9), str(label)))
    return tuple(sorted(kept))


def write_segment(segment: Segment, path: str | os.PathLike[str], progress: Progress | None = None) -> Path:
    """Write ``segment`` as EDF+ or CSV, chosen by the suffix of ``path``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".edf":
        return write_segment_edf(segment, path, progress)
    if suffix == ".csv":
        return write_segment_csv(segment, path, progress)
    raise ExportError(path, f"cannot write {suffix or 'a file without suffix'}: use .edf or .csv")


# -- EDF+ -------------------------------------------------------------------------------------
def write_segment_edf(segment: Segment, path: str | os.PathLike[str], progress: Progress | None = None) -> Path:
    path = Path(path)
    _check_segment(segment, path)
    duration = record_duration_for(segment.sampling_rate, len(segment.labels), segment.n_samples)
    if duration is None:
        raise ExportError(path, f"{segment.sampling_rate:g} Hz is not a whole number of samples in "
                                "any EDF data record length; export as CSV instead")
    ranges = _physical_ranges(segment, progress, weight=0.3)
    scales = [edf_unit_scale(unit, max(abs(lo), abs(hi))) for unit, (lo, hi) in zip(segment.units, ranges)]
    factors = np.array([factor for factor, _ in scales])
    ranges = [(lo * factor, hi * factor) for (lo, hi), factor in zip(ranges, factors)]
    start = None if segment.start_datetime is None else segment.start_datetime + timedelta(
        seconds=segment.start_s)
    try:
        writer = EdfWriter(
            path, channel_names=edf_labels(segment.labels), sampling_rates=segment.sampling_rate,
            physical_ranges=ranges, units=[unit for _, unit in scales],
            record_duration_s=duration, start_datetime=start,
            annotations=annotations_in_span(segment.annotations, segment.start_s, segment.stop_s),
            prefilters=list(segment.prefilters) or "", patient_id=segment.patient,
            n_samples=segment.n_samples)
        with writer:
            for first, block in segment.chunks():
                writer.write(np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0) * factors)
                _report(progress, segment, first + len(block), 0.3, 0.7)
    except (ValueError, OSError) as error:
        raise ExportError(path, str(error)) from error
    return path


def record_duration_for(sampling_rate: float, n_columns: int, n_samples: int = 0) -> float | None:
    """The record duration for a file: a whole number of samples per record, preferring
    records that divide ``n_samples`` exactly (else the last record is padded: EDF holds
    whole records only), then records within :data:`EDF_RECORD_BYTES`, then the longest.
    None when no candidate holds a whole number of samples."""
    whole = [d for d in RECORD_DURATIONS_S
             if abs(sampling_rate * d - round(sampling_rate * d)) < 1e-6 and round(sampling_rate * d) >= 1]
    if not whole:
        return None

    def preference(duration: float) -> tuple[bool, bool, int]:
        per_record = round(sampling_rate * duration)
        return (n_samples % per_record != 0, 2 * per_record * n_columns > EDF_RECORD_BYTES,
                whole.index(duration))
    return min(whole, key=preference)


def edf_labels(labels: Sequence[str]) -> list[str]:
    """Labels as EDF stores them: printable ASCII, at most 16 characters, unique (a cut
    label that would repeat another ends in ``~2``, ``~3``...)."""
    out: list[str] = []
    for label in labels:
        text = _ascii(label).strip() or "Signal"
        candidate, number = text[:EDF_LABEL_CHARS], 1
        while candidate in out:
            number += 1
            tail = f"~{number}"
            candidate = text[:EDF_LABEL_CHARS - len(tail)] + tail
        out.append(candidate)
    return out


def _physical_ranges(segment: Segment, progress: Progress | None, weight: float) -> list[tuple[float, float]]:
    """Each column's (min, max) over the span, widened where flat (EDF needs min < max)."""
    low = np.full(len(segment.labels), np.inf)
    high = np.full(len(segment.labels), -np.inf)
    for first, block in segment.chunks():
        if len(block):
            with np.errstate(invalid="ignore"):
                low = np.fmin(low, np.nanmin(np.where(np.isfinite(block), block, np.nan), axis=0))
                high = np.fmax(high, np.nanmax(np.where(np.isfinite(block), block, np.nan), axis=0))
        _report(progress, segment, first + len(block), 0.0, weight)
    ranges = []
    for lo, hi in zip(low, high):
        if not (np.isfinite(lo) and np.isfinite(hi)):
            lo, hi = 0.0, 0.0
        if lo == hi:   # a flat column: its value and zero bound it, or +-1 around zero
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        if lo == hi:
            lo, hi = lo - 1.0, hi + 1.0
        ranges.append((float(lo), float(hi)))
    return ranges


def edf_unit_scale(unit: str, largest: float) -> tuple[float, str]:
    """``(factor, unit)`` to write a column whose largest magnitude is ``largest``: the
    unit as it is, unless it is an SI unit whose values would be tiny or huge in EDF's
    8-character range fields (a current of 1e-10 A), which is then written with the
    prefix that puts the largest value between 1 and 1000 (100 pA)."""
    text = unit.strip().replace("\u00b5", "u").replace("\u03bc", "u")
    parsed = _si_unit(text)
    if parsed is None or not (largest > 0 and np.isfinite(largest)) or 0.01 <= largest < 1e6:
        return 1.0, _ascii(text)[:EDF_UNIT_CHARS]
    base, to_base = parsed
    in_base = largest * to_base
    prefix, size = next(((p, f) for p, f in reversed(_SI_PREFIXES) if in_base >= f), _SI_PREFIXES[0])
    return to_base / size, _ascii(prefix + base)[:EDF_UNIT_CHARS]


_SI_PREFIXES = (("p", 1e-12), ("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("", 1.0), ("k", 1e3), ("M", 1e6))
_SI_BASES = ("V", "A", "Pa", "N", "T", "g", "Hz", "Ohm", "S", "W", "J", "m", "s")


def _si_unit(text: str) -> tuple[str, float] | None:
    """``("A", 1e-12)`` for ``"pA"``; None for a unit that is not a (prefixed) SI unit."""
    for base in _SI_BASES:
        if text.endswith(base):
            prefix = text[:-len(base)]
            factor = dict(_SI_PREFIXES).get(prefix)
            if factor is not None:
                return base, factor
    return None


def _ascii(text: str) -> str:
    return "".join(c if " " <= c <= "~" else "_" for c in str(text))


# -- CSV --------------------------------------------------------------------------------------
def write_segment_csv(segment: Segment, path: str | os.PathLike[str], progress: Progress | None = None) -> Path:
    path = Path(path)
    _check_segment(segment, path)
    header = ",".join(["time_s"] + [_csv_cell(f"{label} ({unit})" if unit else label)
                                    for label, unit in zip(segment.labels, segment.units)])
    try:
        with atomic.open_replacement(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(header + "\n")
            for first, block in segment.chunks():
                times = (np.arange(first, first + len(block)) / segment.sampling_rate)[:, None]
                np.savetxt(handle, np.hstack([times, block.astype(np.float64)]), delimiter=",",
                           fmt=["%.12g"] + ["%.9g"] * block.shape[1])
                _report(progress, segment, first + len(block), 0.0, 1.0)
    except (ValueError, OSError) as error:
        raise ExportError(path, str(error)) from error
    return path


def _csv_cell(text: str) -> str:
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


# -- shared -----------------------------------------------------------------------------------
def _check_segment(segment: Segment, path: Path) -> None:
    if not segment.labels:
        raise ExportError(path, "no channels to export")
    if len(segment.units) != len(segment.labels):
        raise ExportError(path, "one unit per channel is needed")
    if segment.n_samples <= 0:
        raise ExportError(path, "the span to export is empty")
    if not path.parent.is_dir():
        raise ExportError(path, f"folder {path.parent} does not exist")


def _report(progress: Progress | None, segment: Segment, done_until: int, base: float, weight: float) -> None:
    if progress is not None:
        progress(base + weight * (done_until - segment.i_start) / max(segment.n_samples, 1))
