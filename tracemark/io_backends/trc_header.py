"""Parse and validate the header of a Micromed ``.TRC`` file into a read plan.

:func:`parse_trc` reads the 640-byte fixed header and the zones it points at (ORDER,
LABCOD, NOTE, TRONCA, EVENT A/B, TRIGGER: a few hundred kilobytes at most, whatever
the recording's length) and returns a :class:`TrcPlan`: the protocol header, the
events, and where each stream's samples sit in the data zone. Every problem with
the file becomes a typed error from :mod:`tracemark.io_backends.errors` naming the
file. The byte layout is in :mod:`tracemark.io_backends.trc_layout`.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np

from . import trc_layout as L
from .errors import (
    CorruptRecordingError,
    RecordingError,
    TruncatedRecordingError,
    UnsupportedFormatError,
    UnsupportedVariantError,
)
from .protocol import Event, RecordingHeader, StreamHeader

#: Each header zone by name: (byte offset, length).
Zones = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class StreamPlan:
    """Where one stream's channels live in a frame.

    A frame holds ``sum(coefficient)`` values; stored channel ``c`` owns
    ``coefficient`` consecutive values from ``columns[c]`` (see ``trc.py``).
    """

    coefficient: int
    columns: np.ndarray  # first column of each channel of the stream, in stream order
    grounds: np.ndarray  # logic ground of each channel (int64)


@dataclass(frozen=True)
class TrcPlan:
    header: RecordingHeader
    events: tuple[Event, ...]
    sample_dtype: np.dtype
    data_start: int
    frame_values: int
    n_frames: int
    streams: tuple[StreamPlan, ...]


class _Reader:
    """Bounds-checked reads from an open file's header zones, raising typed errors."""

    def __init__(self, path: Path, handle: BinaryIO | io.RawIOBase, size: int):
        self.path, self._handle, self.size = path, handle, size
        self.head = self.zone("fixed header", 0, min(L.FIXED_HEADER_SIZE, size))

    def zone(self, name: str, offset: int, length: int) -> bytes:
        if offset + length > self.size:
            raise TruncatedRecordingError(
                self.path, f"the {name} zone (bytes {offset}..{offset + length}) lies beyond "
                f"the end of the file ({self.size} bytes); the file is truncated")
        try:
            self._handle.seek(offset)
            data: bytes | None = self._handle.read(length)
        except OSError as exc:
            raise RecordingError(self.path, f"cannot be read: {exc.strerror or exc}") from exc
        if data is None or len(data) != length:
            raise TruncatedRecordingError(self.path, f"the {name} zone is cut short")
        return data


def parse_trc(path: str | os.PathLike[str], *, fileobj: BinaryIO | io.RawIOBase | None = None,
              size: int | None = None) -> TrcPlan:
    """Read and check the header of ``path``; see the module docstring.

    ``fileobj`` (a seekable binary file object of ``size`` bytes, such as a remote file's
    view) is read instead of opening ``path``, which then only names the file in errors.
    """
    path = path if isinstance(path, Path) else Path(path)
    if fileobj is not None:
        if size is None:
            raise TypeError("parse_trc() needs the size of the file object it reads")
        return _parse(_Reader(path, fileobj, size))
    try:
        with open(path, "rb") as handle:
            return _parse(_Reader(path, handle, os.fstat(handle.fileno()).st_size))
    except OSError as exc:
        raise RecordingError(path, f"cannot be read: {exc.strerror or exc}") from exc


def _parse(reader: _Reader) -> TrcPlan:
    path = reader.path
    fixed = _fixed_header(reader)
    zones = _zones(reader, fixed)
    electrodes = _electrodes(reader, fixed, zones)
    bytes_per_sample = int(fixed["bytes_per_sample"])
    data_start = int(fixed["data_start"])
    coefficients = electrodes["rate_coefficient"].astype(np.int64)
    frame_values = int(coefficients.sum())
    _check_multiplexer(path, fixed, coefficients, frame_values * bytes_per_sample)
    n_frames, trailing = _frame_count(reader, data_start, frame_values * bytes_per_sample)
    segment_start = _segment_start(reader, zones)

    rate_min = int(fixed["rate_min"])
    stream_headers, stream_plans = _streams(electrodes, coefficients, rate_min, n_frames,
                                            bytes_per_sample, segment_start)
    event_rate = rate_min * int(coefficients.min())
    events, skipped = _events(reader, zones, event_rate, n_frames * int(coefficients.min()),
                              segment_start)
    details = _details(fixed, electrodes, trailing, skipped)
    header = RecordingHeader(path=path, format_name="Micromed TRC",
                             start_datetime=_recording_datetime(fixed),
                             streams=stream_headers, details=details)
    return TrcPlan(header=header, events=events, sample_dtype=np.dtype(f"<u{bytes_per_sample}"),
                   data_start=data_start, frame_values=frame_values, n_frames=n_frames,
                   streams=stream_plans)


def _fixed_header(reader: _Reader) -> np.void:
    head, path = reader.head, reader.path
    if L.TITLE_MARK not in head[:32]:
        shown = head[:32].decode("latin-1", errors="replace").strip()
        raise UnsupportedFormatError(
            path, f"not a Micromed TRC file: the title is {shown!r}, expected it to contain "
            "'MICROMED'")
    if len(head) < L.FIXED_HEADER_SIZE:
        raise TruncatedRecordingError(
            path, f"the file is {reader.size} bytes long, shorter than the "
            f"{L.FIXED_HEADER_SIZE}-byte Micromed header; it is truncated")
    fixed: np.void = np.frombuffer(head, dtype=L.FIXED_HEADER, count=1)[0]
    header_type = int(fixed["header_type"])
    if header_type != L.SUPPORTED_HEADER_TYPE:
        known = L.HEADER_TYPE_NAMES.get(header_type, "unknown")
        raise UnsupportedVariantError(
            path, f"Micromed header type {header_type} ({known}) is not supported; Tracemark "
            f"reads header type {L.SUPPORTED_HEADER_TYPE} ({L.HEADER_TYPE_NAMES[4]})")
    if int(fixed["n_channels"]) == 0:
        raise CorruptRecordingError(path, "the header says the file holds 0 channels")
    if int(fixed["bytes_per_sample"]) not in (1, 2, 4):
        raise UnsupportedVariantError(
            path, f"{int(fixed['bytes_per_sample'])} bytes per sample is not supported "
            "(Micromed uses 1, 2 or 4)")
    if int(fixed["compression"]) != 0:
        raise UnsupportedVariantError(path, "compressed Micromed data are not supported")
    if int(fixed["rate_min"]) == 0:
        raise CorruptRecordingError(path, "the header gives a sampling rate of 0 Hz")
    return fixed


def _zones(reader: _Reader, fixed: np.void) -> Zones:
    zones: dict[str, tuple[int, int]] = {}
    for expected, descriptor in zip(L.ZONE_NAMES, fixed["zones"]):
        name = descriptor["name"].decode("latin-1").strip()
        if name != expected:
            raise CorruptRecordingError(
                reader.path, f"zone descriptor {len(zones) + 1} is named {name!r}, expected "
                f"{expected!r}; the header is damaged")
        zones[name] = (int(descriptor["offset"]), int(descriptor["length"]))
    return zones


def _electrodes(reader: _Reader, fixed: np.void, zones: Zones) -> np.ndarray:
    """Electrode records in stored-channel order (the ORDER indirection resolved)."""
    path, n_channels = reader.path, int(fixed["n_channels"])
    order_offset, order_length = zones["ORDER"]
    if order_length < 2 * n_channels:
        raise CorruptRecordingError(
            path, f"the ORDER zone holds {order_length // 2} entries for {n_channels} channels")
    order = np.frombuffer(reader.zone("ORDER", order_offset, 2 * n_channels), dtype="<u2")
    labcod_offset, labcod_length = zones["LABCOD"]
    n_slots = labcod_length // L.ELECTRODE_RECORD_SIZE
    if order.max() >= n_slots:
        raise CorruptRecordingError(
            path, f"the ORDER zone points at electrode record {int(order.max())} but LABCOD "
            f"holds {n_slots} records")
    needed = (int(order.max()) + 1) * L.ELECTRODE_RECORD_SIZE
    records = np.frombuffer(reader.zone("LABCOD", labcod_offset, needed), dtype=L.ELECTRODE)
    electrodes = records[order.astype(np.int64)]
    for c, electrode in enumerate(electrodes):
        name = L.decode_text(electrode["positive"])
        if int(electrode["rate_coefficient"]) == 0:
            raise CorruptRecordingError(
                path, f"channel {c} ({name}) has a sampling-rate coefficient of 0")
        if int(electrode["logic_max"]) - int(electrode["logic_min"]) + 1 <= 0:
            raise CorruptRecordingError(
                path, f"channel {c} ({name}) has logic maximum {int(electrode['logic_max'])} "
                f"below its minimum {int(electrode['logic_min'])}")
    return electrodes


def _check_multiplexer(path: Path, fixed: np.void, coefficients: np.ndarray, frame_bytes: int) -> None:
    # With one rate every reader agrees on the frame, whatever the Multiplexer field
    # says. With several rates the frame layout is an inference (see trc.py), so we
    # insist that the header's own frame size confirms it.
    # A set, not np.unique: on numpy 2 that imports numpy.ma (35 ms) on every first open.
    if len(set(np.asarray(coefficients).ravel().tolist())) > 1 and int(fixed["multiplexer"]) != frame_bytes:
        raise UnsupportedVariantError(
            path, f"channels have different sampling rates and the header's frame size "
            f"({int(fixed['multiplexer'])} bytes) does not match {frame_bytes} bytes; "
            "Tracemark cannot tell how the channels are interleaved")


def _frame_count(reader: _Reader, data_start: int, frame_bytes: int) -> tuple[int, int]:
    path, size = reader.path, reader.size
    if data_start < L.FIXED_HEADER_SIZE:
        raise CorruptRecordingError(
            path, f"the data zone is said to start at byte {data_start}, inside the header")
    if data_start > size:
        raise TruncatedRecordingError(
            path, f"the data zone starts at byte {data_start} but the file ends at byte "
            f"{size}; the file is truncated")
    n_frames, trailing = divmod(size - data_start, frame_bytes)
    if n_frames == 0:
        raise TruncatedRecordingError(
            path, f"the file holds no complete sample frame after its header (data start "
            f"{data_start}, file size {size}); it is truncated or empty")
    return n_frames, trailing


def _segment_start(reader: _Reader, zones: Zones) -> int:
    """Sample time of the first (only) segment; several segments are refused."""
    offset, length = zones["TRONCA"]
    length -= length % L.SEGMENT.itemsize
    segments = np.frombuffer(reader.zone("TRONCA", offset, length), dtype=L.SEGMENT)
    used = []
    for segment in segments:
        if segment["time"] == 0 and segment["sample"] == 0:
            break
        used.append(segment)
    if not used:
        return 0
    if len(used) > 1 or int(used[0]["sample"]) != 0:
        raise UnsupportedVariantError(
            reader.path, f"the recording is split into segments (TRONCA zone: {len(used)} "
            f"records, first at sample {int(used[0]['sample'])}); Tracemark reads continuous "
            "TRC recordings only")
    return int(used[0]["time"])


def _streams(electrodes: np.ndarray, coefficients: np.ndarray, rate_min: int, n_frames: int,
             bytes_per_sample: int, segment_start: int) -> tuple[tuple[StreamHeader, ...], tuple[StreamPlan, ...]]:
    first_column = np.concatenate([[0], np.cumsum(coefficients)[:-1]])
    distinct = list(dict.fromkeys(int(k) for k in coefficients))  # order of first appearance
    headers: list[StreamHeader] = []
    plans: list[StreamPlan] = []
    for index, k in enumerate(distinct):
        members = np.flatnonzero(coefficients == k)
        rate = float(rate_min * k)
        chosen = electrodes[members]
        gains, offsets = _scaling(chosen)
        name = "signals" if len(distinct) == 1 else f"signals {rate:g} Hz"
        headers.append(StreamHeader(
            stream_id=str(index), name=name, sampling_rate=rate, n_samples=n_frames * k,
            channel_names=tuple(L.decode_text(e["positive"]) for e in chosen),
            units=tuple(_unit_name(int(e["unit"])) for e in chosen),
            gains=gains, offsets=offsets, raw_dtype=np.dtype(f"<u{bytes_per_sample}"),
            start_offset_s=segment_start / (rate_min * int(coefficients.min()))))
        plans.append(StreamPlan(coefficient=k, columns=first_column[members].astype(np.int64),
                                grounds=chosen["logic_ground"].astype(np.int64)))
    return tuple(headers), tuple(plans)


def _scaling(electrodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``gain``/``offset`` with ``raw * gain + offset == (raw - ground) * gain``.

    The two sides agree to within one float64 rounding, far below the float32 that
    reads return; they are equal bit for bit when the gain is a power of two times
    a small integer, as Micromed ranges (e.g. 6400 / 65536) usually are.
    """
    physical_span = (electrodes["physical_max"].astype(np.float64)
                     - electrodes["physical_min"].astype(np.float64))
    logic_span = (electrodes["logic_max"].astype(np.float64)
                  - electrodes["logic_min"].astype(np.float64) + 1.0)
    gains = physical_span / logic_span
    offsets = -electrodes["logic_ground"].astype(np.float64) * gains
    return gains, offsets


def _unit_name(code: int) -> str:
    return L.UNIT_NAMES.get(code, f"unknown unit (code {code})")


def _recording_datetime(fixed: np.void) -> datetime | None:
    # Bytes read unsigned: year-1900 as a signed byte (what neo does) wraps in 2028.
    day, month, year, hour, minute, second = (int(v) for v in fixed["recorded"])
    try:
        return datetime(1900 + year, month, day, hour, minute, second)
    except ValueError:
        return None


def _events(reader: _Reader, zones: Zones, rate: float, n_samples: int,
            segment_start: int) -> tuple[tuple[Event, ...], dict[str, int]]:
    """Triggers, notes and EVENT A/B within the data, and how many lay past its end."""
    found: list[Event] = []
    skipped: dict[str, int] = {}

    def keep(source: str, sample: int, duration_samples: int, label: str) -> None:
        if sample >= n_samples:
            skipped[source] = skipped.get(source, 0) + 1
            return
        found.append(Event(time_s=(sample + segment_start) / rate,
                           duration_s=duration_samples / rate, label=label, source=source))

    # Full-size zones hold thousands of mostly unused records: select used ones
    # with vector masks before touching records one by one.
    triggers = _records(reader, zones, "TRIGGER", L.TRIGGER)
    used = (triggers["sample"] != L.UNUSED_TRIGGER_SAMPLE) & (
        (triggers["sample"] != 0) | (triggers["code"] != 0))
    for record in triggers[used]:
        keep("trigger", int(record["sample"]), 0, str(int(record["code"])))
    notes = _records(reader, zones, "NOTE", L.NOTE)
    for record in notes[(notes["sample"] != 0) | (notes["text"] != b"")]:
        text = L.decode_text(record["text"])
        if int(record["sample"]) == 0 and not text:
            continue
        keep("note", int(record["sample"]), 0, text)
    for zone, source in (("EVENT A", "event_a"), ("EVENT B", "event_b")):
        spans = _records(reader, zones, zone, L.EVENT)
        used = (spans["code"] != 0) | (spans["start"] != 0) | (spans["stop"] != 0)
        for record in spans[used]:
            start, stop = int(record["start"]), int(record["stop"])
            keep(source, start, max(stop - start, 0), str(int(record["code"])))
    return tuple(found), skipped


def _records(reader: _Reader, zones: Zones, name: str, dtype: np.dtype) -> np.ndarray:
    offset, length = zones[name]
    length -= length % dtype.itemsize
    return np.frombuffer(reader.zone(name, offset, length), dtype=dtype)


def _details(fixed: np.void, electrodes: np.ndarray, trailing: int,
             skipped: dict[str, int]) -> tuple[tuple[str, str], ...]:
    patient = " ".join(filter(None, (L.decode_text(fixed["surname"]),
                                     L.decode_text(fixed["first_name"]))))
    references = sorted({L.decode_text(e["negative"]) for e in electrodes} - {""})
    details = [
        ("laboratory", L.decode_text(fixed["laboratory"])),
        ("patient", patient),
        ("header type", f"{int(fixed['header_type'])} ({L.HEADER_TYPE_NAMES[4]})"),
        ("bytes per sample", str(int(fixed["bytes_per_sample"]))),
        ("acquisition unit", str(int(fixed["acquisition_unit"]))),
        ("references", ", ".join(references)),
    ]
    if trailing:
        details.append(("trailing bytes", f"{trailing} bytes after the last complete sample "
                        "frame are ignored (the file was probably cut short)"))
    for source, count in sorted(skipped.items()):
        details.append((f"ignored {source} events", f"{count} lie past the end of the data"))
    return tuple((k, v) for k, v in details if v)
