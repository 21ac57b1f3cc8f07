"""Write EDF+C and BDF+C files, streaming: exported segments, the demo's files, test
fixtures and benchmarks.

``write_edf(path, chunks, ...)`` consumes an iterable of sample chunks and writes one data
record as soon as every channel has enough samples for it, so a 24-hour, 256-channel
benchmark file is written in bounded memory. Each channel has its own sampling rate
(EDF's samples-per-record); an ``EDF Annotations`` / ``BDF Annotations`` signal carries the
time-keeping TALs, the sub-second part of the start time and the user's annotations.

Chunks are either 2-D arrays ``(n_samples, n_channels)`` (all channels at one rate) or
sequences holding one 1-D array per channel; lengths are free and need not line up with
records (the writer buffers). Values are physical (scaled and rounded to the digital
range) unless ``digital=True``, in which case they are stored as given.

Hand-written rather than built on edfio or pyEDFlib: edfio assembles the whole recording
in memory (every signal's full array) before writing, which a 24-hour benchmark file
cannot afford; pyEDFlib streams, but it is a test-only dependency here and serves as the
independent oracle that reads these files back, which a writer built on it could not be.
The tests read every file this module writes with edfio and pyEDFlib and require
identical digital samples, annotations and start time.

The file is written to a temporary beside ``path`` that replaces it at the end
(:mod:`tracemark.storage.atomic`), so a failed write never leaves a half-written
recording behind.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from tracemark.storage import atomic

__all__ = ["EdfWriter", "write_edf"]

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DIGITAL_LIMITS = {False: (-32768, 32767), True: (-8388608, 8388607)}
#: Samples to write: a 2-D ``(n, n_channels)`` array, or one 1-D array per channel.
Chunk = np.ndarray | Sequence[npt.ArrayLike]
#: ``(onset_s, duration_s, text)``.
Annotation = tuple[float, float, str]
#: Room reserved per record for the time-keeping TAL ("+<onset>\x14\x14\x00").
_TIMEKEEPING_BYTES = 24


@dataclass(frozen=True)
class _Channel:
    label: str
    unit: str
    transducer: str
    prefilter: str
    samples_per_record: int
    physical_min: float
    physical_max: float
    digital_min: int
    digital_max: int
    physical_min_text: str
    physical_max_text: str


def write_edf(path: str | os.PathLike[str], chunks: Iterable[Chunk], *, channel_names: Sequence[str],
              sampling_rates: float | Sequence[float], physical_ranges: npt.ArrayLike,
              units: str | Sequence[str] = "uV", record_duration_s: float = 1.0,
              bdf: bool = False, start_datetime: datetime | None = None,
              annotations: Iterable[tuple[float, float, str]] = (), digital: bool = False,
              digital_ranges: npt.ArrayLike | None = None, transducers: str | Sequence[str] = "",
              prefilters: str | Sequence[str] = "", patient_id: str = "X X X X",
              recording_info: str = "X X X", n_samples: int | Sequence[int] | None = None) -> int:
    """Write ``chunks`` to ``path`` as EDF+C (or BDF+C); returns the number of data records.

    ``physical_ranges`` is one ``(min, max)`` pair for every channel or one per channel;
    the values written to the header are rounded outwards to fit EDF's 8 characters.
    ``annotations`` are ``(onset_s, duration_s, text)`` with onsets in seconds from the
    start of the recording. A last, partial record is padded with the digital value
    nearest to physical zero (EDF holds whole records only). ``n_samples``, when given, is
    the number of samples each channel will receive (one number for all, or one per
    channel); a stream that delivers more or fewer raises ``ValueError`` and leaves no file.
    """
    writer = EdfWriter(path, channel_names=channel_names, sampling_rates=sampling_rates,
                       physical_ranges=physical_ranges, units=units,
                       record_duration_s=record_duration_s, bdf=bdf,
                       start_datetime=start_datetime, annotations=annotations,
                       digital=digital, digital_ranges=digital_ranges,
                       transducers=transducers, prefilters=prefilters,
                       patient_id=patient_id, recording_info=recording_info,
                       n_samples=n_samples)
    with writer:
        for chunk in chunks:
            writer.write(chunk)
    return writer.n_records


class EdfWriter:
    """Streaming EDF+C/BDF+C writer; see :func:`write_edf` for the arguments.

    Use as a context manager: ``write(chunk)`` any number of times; leaving the block
    without an exception finishes the file, with one it deletes the partial file.
    """

    def __init__(self, path: str | os.PathLike[str], *, channel_names: Sequence[str],
                 sampling_rates: float | Sequence[float], physical_ranges: npt.ArrayLike,
                 units: str | Sequence[str] = "uV", record_duration_s: float = 1.0, bdf: bool = False,
                 start_datetime: datetime | None = None, annotations: Iterable[tuple[float, float, str]] = (),
                 digital: bool = False, digital_ranges: npt.ArrayLike | None = None,
                 transducers: str | Sequence[str] = "", prefilters: str | Sequence[str] = "",
                 patient_id: str = "X X X X", recording_info: str = "X X X",
                 n_samples: int | Sequence[int] | None = None) -> None:
        self.path = Path(path)
        self._replacement = atomic.Replacement(self.path)
        self._bdf = bool(bdf)
        self._bytes_per_sample = 3 if bdf else 2
        self._digital_input = digital
        self._record_duration = float(record_duration_s)
        if not self._record_duration > 0:
            raise ValueError(f"record duration must be positive, got {record_duration_s}")
        self._duration_text = _fit_number(self._record_duration, "nearest")[0]
        if float(self._duration_text) != self._record_duration:
            raise ValueError(f"record duration {record_duration_s} s does not fit in 8 characters")
        self._channels = _channel_specs(channel_names, sampling_rates, physical_ranges, units,
                                        transducers, prefilters, digital_ranges,
                                        self._record_duration, self._bdf)
        self._start = start_datetime
        self._start_fraction = (start_datetime.microsecond / 1e6) if start_datetime else 0.0
        self._annotations = sorted((float(o), float(d or 0.0), str(t)) for o, d, t in annotations)
        self._annotation_groups = _group_annotations(self._annotations, self._record_duration)
        pair_bytes = [len(self._tal_bytes(g)) for g in _pairwise_groups(self._annotation_groups)]
        annotation_bytes = _TIMEKEEPING_BYTES + max(pair_bytes, default=0)
        self._annotation_samples = -(-annotation_bytes // self._bytes_per_sample)
        self._patient_id = patient_id
        self._recording_info = recording_info
        self._buffers: list[list[np.ndarray]] = [[] for _ in self._channels]
        self._buffered = np.zeros(len(self._channels), dtype=np.int64)
        self._received = np.zeros(len(self._channels), dtype=np.int64)
        self._expected = (None if n_samples is None else
                          np.array(_per_channel(n_samples, len(self._channels), "n_samples"),
                                   dtype=np.int64))
        self._held: np.ndarray | None = None  # the last complete record, written on the next
        self.n_records = 0
        self._handle: BinaryIO | None = None

    # -- context manager ----------------------------------------------------------------
    def __enter__(self) -> EdfWriter:
        self._handle = open(self._replacement.temporary, "xb")
        self._handle.write(self._header_bytes(n_records=-1))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        finished = False
        try:
            if exc_type is None:
                self._finish()
                finished = True
        finally:
            self._file().close()
            if not finished:
                self._replacement.discard()

    # -- streaming ----------------------------------------------------------------------
    def _file(self) -> BinaryIO:
        if self._handle is None:
            raise RuntimeError("an EdfWriter writes inside its with-block only")
        return self._handle

    def write(self, chunk: Chunk) -> None:
        """Append samples: a 2-D ``(n, n_channels)`` array or one 1-D array per channel."""
        columns = _chunk_columns(chunk, len(self._channels))
        self._received += [c.size for c in columns]
        self._check_count(final=False)
        for i, column in enumerate(columns):
            if column.size:
                self._buffers[i].append(column)
                self._buffered[i] += column.size
        spr = np.array([c.samples_per_record for c in self._channels])
        complete = int(np.min(self._buffered // spr))
        if complete:
            self._emit(self._take(complete))

    def _take(self, n_records: int) -> list[np.ndarray]:
        blocks = []
        for i, channel in enumerate(self._channels):
            data = np.concatenate(self._buffers[i]) if self._buffers[i] else np.empty(0)
            wanted = n_records * channel.samples_per_record
            blocks.append(data[:wanted].reshape(n_records, channel.samples_per_record))
            rest = data[wanted:]
            self._buffers[i] = [rest] if rest.size else []
            self._buffered[i] = rest.size
        return blocks

    def _emit(self, blocks: list[np.ndarray]) -> None:
        records = self._assemble(blocks)
        if self._held is not None:
            records = np.concatenate([self._held[None], records])
        self._write_records(records[:-1], last=False)
        self._held = records[-1]

    def _assemble(self, blocks: list[np.ndarray]) -> np.ndarray:
        """Records without their annotation bytes, shape ``(k, record_bytes)``, uint8."""
        k = blocks[0].shape[0]
        bps = self._bytes_per_sample
        out = np.zeros((k, self._record_bytes()), dtype=np.uint8)
        offset = 0
        for channel, block in zip(self._channels, blocks):
            digital = block if self._digital_input else _to_digital(block, channel)
            digital = np.clip(np.asarray(digital, dtype=np.int64), channel.digital_min,
                              channel.digital_max).astype("<i4")
            raw = digital.view(np.uint8).reshape(k, channel.samples_per_record, 4)[:, :, :bps]
            width = channel.samples_per_record * bps
            out[:, offset:offset + width] = raw.reshape(k, width)
            offset += width
        return out

    def _write_records(self, records: np.ndarray, *, last: bool) -> None:
        if not len(records):
            return
        annotation_width = self._annotation_samples * self._bytes_per_sample
        start = records.shape[1] - annotation_width
        for j in range(len(records)):
            index = self.n_records + j
            group = self._annotation_groups.get(index, [])
            if last:
                group = [a for r, g in self._annotation_groups.items() if r >= index for a in g]
            tal = self._timekeeping(index) + self._tal_bytes(group)
            if len(tal) > annotation_width:
                raise ValueError(f"annotations after {index * self._record_duration:g} s do "
                                 "not fit in the last data record (onsets after the data end?)")
            records[j, start:start + len(tal)] = np.frombuffer(tal, dtype=np.uint8)
        self._file().write(records.tobytes())
        self.n_records += len(records)

    def _check_count(self, *, final: bool) -> None:
        if self._expected is None:
            return
        wrong = self._received > self._expected if not final else self._received != self._expected
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise ValueError(f"channel {self._channels[i].label!r} received "
                             f"{int(self._received[i])} samples, n_samples says "
                             f"{int(self._expected[i])}")

    def _finish(self) -> None:
        self._check_count(final=True)
        self._expected = None  # the padding below is not the caller's data
        leftover = self._buffered
        if leftover.any():
            spr = np.array([c.samples_per_record for c in self._channels])
            needed = int(np.max(-(-leftover // spr)))
            pad = [np.full(needed * c.samples_per_record - n, self._zero_value(c))
                   for c, n in zip(self._channels, leftover)]
            self.write(pad)
        if self._held is not None:
            self._write_records(self._held[None].copy(), last=True)
            self._held = None
        handle = self._file()
        handle.seek(236)
        handle.write(f"{self.n_records:<8d}".encode("ascii"))
        handle.close()
        self._replacement.commit()

    def _zero_value(self, channel: _Channel) -> float:
        if not self._digital_input:
            return float(np.clip(0.0, min(channel.physical_min, channel.physical_max),
                                 max(channel.physical_min, channel.physical_max)))
        return float(np.clip(0, channel.digital_min, channel.digital_max))

    # -- header and annotations ------------------------------------------------------------
    def _record_bytes(self) -> int:
        samples = sum(c.samples_per_record for c in self._channels) + self._annotation_samples
        return samples * self._bytes_per_sample

    def _timekeeping(self, index: int) -> bytes:
        onset = self._start_fraction + index * self._record_duration
        return b"+" + _format_onset(onset).encode("ascii") + b"\x14\x14\x00"

    def _tal_bytes(self, group: Iterable[Annotation]) -> bytes:
        parts = []
        for onset, duration, text in group:
            tal = _signed(onset + self._start_fraction)
            if duration > 0:
                tal += "\x15" + _format_onset(duration)
            parts.append(tal.encode("ascii") + b"\x14" + text.encode("utf-8") + b"\x14\x00")
        return b"".join(parts)

    def _header_bytes(self, n_records: int) -> bytes:
        plus = "BDF Annotations" if self._bdf else "EDF Annotations"
        annotation = _Channel(plus, "", "", "", self._annotation_samples, -1.0, 1.0,
                              *_DIGITAL_LIMITS[self._bdf], "-1", "1")
        signals = [*self._channels, annotation]
        ns = len(signals)
        date, time, startdate = _date_fields(self._start)
        fixed = [
            (b"\xffBIOSEMI" if self._bdf else b"0       "),
            _field(self._patient_id, 80, "patient id"),
            _field(f"Startdate {startdate} {self._recording_info}", 80, "recording id"),
            _field(date, 8, "start date"), _field(time, 8, "start time"),
            _field(str(256 * (ns + 1)), 8, "header bytes"),
            _field("BDF+C" if self._bdf else "EDF+C", 44, "reserved"),
            _field(str(n_records), 8, "number of records"),
            _field(self._duration_text, 8, "record duration"),
            _field(str(ns), 4, "number of signals"),
        ]
        columns = [
            ([s.label for s in signals], 16), ([s.transducer for s in signals], 80),
            ([s.unit for s in signals], 8), ([s.physical_min_text for s in signals], 8),
            ([s.physical_max_text for s in signals], 8),
            ([str(s.digital_min) for s in signals], 8), ([str(s.digital_max) for s in signals], 8),
            ([s.prefilter for s in signals], 80),
            ([str(s.samples_per_record) for s in signals], 8), ([""] * ns, 32),
        ]
        per_signal = [_field(v, width, "signal field") for values, width in columns for v in values]
        return b"".join(fixed + per_signal)


# -- helpers ---------------------------------------------------------------------------------
def _channel_specs(names: Iterable[str], rates: float | Sequence[float], ranges: npt.ArrayLike,
                   units: str | Sequence[str], transducers: str | Sequence[str],
                   prefilters: str | Sequence[str], digital_ranges: npt.ArrayLike | None,
                   record_duration: float, bdf: bool) -> tuple[_Channel, ...]:
    labels = list(names)
    n = len(labels)
    if n == 0:
        raise ValueError("at least one channel is needed")
    channel_rates = _per_channel(rates, n, "sampling_rates")
    channel_ranges = _per_channel_pairs(ranges, n, "physical_ranges")
    dranges = _per_channel_pairs(_DIGITAL_LIMITS[bdf] if digital_ranges is None else digital_ranges, n,
                                 "digital_ranges")
    channel_units = _per_channel(units, n, "units")
    channel_transducers = _per_channel(transducers, n, "transducers")
    channel_prefilters = _per_channel(prefilters, n, "prefilters")
    specs = []
    for i, name in enumerate(labels):
        spr = round(float(channel_rates[i]) * record_duration)
        if spr < 1 or abs(spr - float(channel_rates[i]) * record_duration) > 1e-6:
            raise ValueError(f"channel {name!r}: {channel_rates[i]} Hz x {record_duration} s records is "
                             "not a whole number of samples; choose another record duration")
        lo, hi = (float(v) for v in channel_ranges[i])
        if lo == hi:
            raise ValueError(f"channel {name!r}: physical minimum equals maximum ({lo})")
        lo_text, lo_value = _fit_number(lo, "down" if lo < hi else "up")
        hi_text, hi_value = _fit_number(hi, "up" if lo < hi else "down")
        dmin, dmax = (int(v) for v in dranges[i])
        limits = _DIGITAL_LIMITS[bdf]
        if not limits[0] <= dmin < dmax <= limits[1]:
            raise ValueError(f"channel {name!r}: digital range {dmin}..{dmax} is invalid")
        specs.append(_Channel(str(name), _ascii_unit(channel_units[i]), str(channel_transducers[i]),
                              str(channel_prefilters[i]), spr, lo_value, hi_value, dmin, dmax,
                              lo_text, hi_text))
    return tuple(specs)


def _to_digital(block: np.ndarray, channel: _Channel) -> np.ndarray:
    gain = (channel.physical_max - channel.physical_min) / (channel.digital_max - channel.digital_min)
    scaled = (np.asarray(block, dtype=np.float64) - channel.physical_min) / gain + channel.digital_min
    return np.rint(scaled)


def _chunk_columns(chunk: Chunk, n_channels: int) -> list[np.ndarray]:
    if isinstance(chunk, np.ndarray) and chunk.ndim == 2:
        if chunk.shape[1] != n_channels:
            raise ValueError(f"chunk has {chunk.shape[1]} columns for {n_channels} channels")
        return [chunk[:, i] for i in range(n_channels)]
    columns = [np.asarray(c).reshape(-1) for c in chunk]
    if len(columns) != n_channels:
        raise ValueError(f"chunk has {len(columns)} channel arrays for {n_channels} channels")
    return columns


def _group_annotations(annotations: Iterable[Annotation], record_duration: float) -> dict[int, list[Annotation]]:
    groups: dict[int, list[Annotation]] = {}
    for annotation in annotations:
        index = max(int(math.floor(annotation[0] / record_duration + 1e-9)), 0)
        groups.setdefault(index, []).append(annotation)
    return groups


def _pairwise_groups(groups: dict[int, list[Annotation]]) -> Iterator[list[Annotation]]:
    """Each record's annotations plus its successor's: room for a tail merged into the last record."""
    for index, group in groups.items():
        yield group + groups.get(index + 1, [])


def _per_channel(value: str | float | Iterable[Any], n: int, what: str) -> list[Any]:
    if isinstance(value, (str, int, float)):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise ValueError(f"{what}: {len(values)} values for {n} channels")
    return values


def _per_channel_pairs(value: npt.ArrayLike, n: int, what: str) -> list[tuple[float, ...]]:
    array = np.asarray(value, dtype=np.float64)
    if array.shape == (2,):
        return [tuple(array)] * n
    if array.shape != (n, 2):
        raise ValueError(f"{what}: expected one (min, max) pair or one per channel, got shape {array.shape}")
    return [tuple(row) for row in array]


def _fit_number(value: float, direction: str) -> tuple[str, float]:
    """The most precise text of at most 8 characters for ``value``, rounded ``direction``."""
    if float(value).is_integer() and len(str(int(value))) <= 8:
        return str(int(value)), float(int(value))
    for decimals in range(7, -1, -1):
        scale = 10 ** decimals
        roundings: dict[str, Callable[[float], int]] = {"down": math.floor, "up": math.ceil, "nearest": round}
        rounding = roundings[direction]
        rounded = rounding(value * scale) / scale
        text = f"{rounded:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if len(text) <= 8:
            return text, float(text)
    raise ValueError(f"{value} does not fit in an 8-character EDF header field")


def _format_onset(seconds: float) -> str:
    text = f"{seconds:.7f}".rstrip("0").rstrip(".")
    return text or "0"


def _signed(seconds: float) -> str:
    return ("-" if seconds < 0 else "+") + _format_onset(abs(seconds))


def _ascii_unit(unit: str) -> str:
    return str(unit).replace("\u00b5", "u").replace("\u03bc", "u")


def _field(value: str, width: int, what: str) -> bytes:
    try:
        data = value.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {value!r} must be plain ASCII in an EDF header") from None
    if len(data) > width:
        raise ValueError(f"{what} {value!r} is longer than {width} characters")
    return data.ljust(width, b" ")


def _date_fields(start: datetime | None) -> tuple[str, str, str]:
    if start is None:
        return "01.01.85", "00.00.00", "X"
    year = f"{start.year % 100:02d}" if 1985 <= start.year <= 2084 else "yy"
    startdate = f"{start.day:02d}-{_MONTHS[start.month - 1]}-{start.year:04d}"
    return (f"{start.day:02d}.{start.month:02d}.{year}",
            f"{start.hour:02d}.{start.minute:02d}.{start.second:02d}", startdate)
