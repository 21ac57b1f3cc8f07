"""Write Micromed "System98/Brain-Quick" (header type 4) ``.TRC`` files.

No public Micromed recording could be obtained, so Tracemark makes its own: test
fixtures, demo sessions and multi-gigabyte benchmark files. Samples are streamed
to disk chunk by chunk (a 24-hour, 64-channel, 2048 Hz file is about 22 GB), the
header is laid out with the same dtypes the reader uses
(:mod:`tracemark.io_backends.trc_layout`), and the result reads back sample for
sample through neo's ``MicromedRawIO`` (``tests/test_trc_writer.py``).

``write_trc(path, chunks, ...)``
    ``chunks`` yields float arrays ``(n_i, n_channels)`` in physical units that
    together hold ``n_samples`` rows.
``write_trc_array(path, data, ...)``
    The same for one array already in memory.
``write_trc_frames(path, channels, rate_min, frames, ...)``
    Raw integer frames for a list of :class:`TrcChannel`, including channels with
    different rate coefficients (a frame holds ``coefficient`` consecutive values
    per stored channel, the layout the reader assumes for such files).

Quantisation
    ``code = rint(value / gain) + logic_ground`` (round half to even), clipped to
    ``[logic_min, logic_max]``, with ``gain = (phys_max - phys_min) /
    (logic_max - logic_min + 1)``. Values outside the physical range are clipped,
    not wrapped; NaN is refused. Logic ranges: 1 byte 0..255 (ground 128), 2 bytes
    0..65535 (ground 32768), 4 bytes 0..2**31-1 (ground 2**30, so int32 and uint32
    readers agree). Physical ranges are int32 in the file: a fractional range is
    widened to the enclosing whole numbers, so every value asked for still fits.

Events are given in samples: triggers ``(sample, code)``, notes ``(sample, text)``
(at most 40 cp1252 bytes), EVENT A/B ``(start_sample, stop_sample)`` (written with
code 1). neo ignores any of them at sample 0; Tracemark's reader keeps them.
``start_datetime=None`` writes 2000-01-01 00:00:00, because a zero date makes neo
fail to open the file. The file is written to a temporary that replaces ``path`` when
complete (:mod:`tracemark.storage.atomic`), so an interrupted write never leaves a
plausible but short recording behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from tracemark.io_backends import trc_layout as L
from tracemark.storage import atomic

#: Default physical range per unit: a span that holds clinical EEG with fine steps.
DEFAULT_PHYSICAL_RANGE = {"nV": (-3_200_000, 3_200_000), "uV": (-3200, 3200),
                          "mV": (-32, 32), "V": (-1, 1)}
FALLBACK_PHYSICAL_RANGE = (-3200, 3200)
ROWS_PER_CHUNK = 65536


@dataclass(frozen=True)
class TrcChannel:
    """One electrode record: label, reference, unit, integer and physical ranges."""

    name: str
    unit: str = "uV"
    physical_range: tuple[int, int] = (-3200, 3200)
    bytes_per_sample: int = 2
    rate_coefficient: int = 1
    reference: str = "G2"

    @property
    def logic(self) -> tuple[int, int, int]:
        return L.LOGIC_RANGES[self.bytes_per_sample]

    @property
    def gain(self) -> float:
        low, high, _ = self.logic
        return (self.physical_range[1] - self.physical_range[0]) / (high - low + 1)


def write_trc(path: str | os.PathLike, chunks: Iterable[np.ndarray], *,
              channel_names: Sequence[str], sampling_rate: float, n_samples: int,
              units: str | Sequence[str] = "uV", bytes_per_sample: int = 2,
              physical_range=None, start_datetime: datetime | None = None,
              triggers: Iterable[tuple[int, int]] = (), notes: Iterable[tuple[int, str]] = (),
              event_a: Iterable[tuple[int, int]] = (), event_b: Iterable[tuple[int, int]] = (),
              order: Sequence[int] | None = None, compact: bool = False,
              patient_surname: str = "", patient_first_name: str = "",
              laboratory: str = "Tracemark", title: str | None = None) -> Path:
    """Stream physical-unit ``chunks`` into a new TRC file at ``path``; returns the path.

    See the module docstring for quantisation and events. ``order`` is a
    permutation: stored channel ``c`` gets its electrode record in LABCOD slot
    ``order[c]`` (the ORDER zone); ``compact`` sizes every zone to its content
    instead of the full-size layout. Raises ``ValueError`` for inconsistent
    arguments or when the chunks do not hold exactly ``n_samples`` rows.
    """
    channels = _channels(channel_names, units, bytes_per_sample, physical_range)
    rate_min = _rate(sampling_rate)
    codes = (_quantise(np.asarray(chunk, dtype=np.float64), channels) for chunk in chunks)
    return write_trc_frames(
        path, channels, rate_min, codes, n_frames=n_samples, start_datetime=start_datetime,
        triggers=triggers, notes=notes, event_a=event_a, event_b=event_b, order=order,
        compact=compact, patient_surname=patient_surname,
        patient_first_name=patient_first_name, laboratory=laboratory, title=title)


def write_trc_array(path: str | os.PathLike, data: np.ndarray, *,
                    channel_names: Sequence[str] | None = None, **options) -> Path:
    """``write_trc`` for an in-memory array ``(n_samples, n_channels)`` in physical units."""
    data = np.asarray(data)
    if data.ndim != 2:
        raise ValueError(f"data must be 2-D (samples, channels), got shape {data.shape}")
    if channel_names is None:
        channel_names = [f"Ch{i + 1}" for i in range(data.shape[1])]
    chunks = (data[i:i + ROWS_PER_CHUNK] for i in range(0, len(data), ROWS_PER_CHUNK))
    return write_trc(path, chunks, channel_names=channel_names, n_samples=len(data), **options)


def write_trc_frames(path: str | os.PathLike, channels: Sequence[TrcChannel], rate_min: int,
                     frames: Iterable[np.ndarray], *, n_frames: int,
                     start_datetime: datetime | None = None, triggers=(), notes=(),
                     event_a=(), event_b=(), order: Sequence[int] | None = None,
                     compact: bool = False, patient_surname: str = "",
                     patient_first_name: str = "", laboratory: str = "Tracemark",
                     title: str | None = None) -> Path:
    """Write integer ``frames`` (each ``(n_i, sum of rate coefficients)``) as a TRC file.

    Event samples count at ``rate_min`` times the smallest rate coefficient.
    """
    path = Path(path)
    channels = list(channels)
    widths = {c.bytes_per_sample for c in channels}
    if len(widths) != 1:
        raise ValueError(f"all channels must share one sample width, got {sorted(widths)}")
    n_events_span = n_frames * min(c.rate_coefficient for c in channels)
    zones = _zone_contents(channels, _order(order, len(channels)), n_events_span,
                           triggers, notes, event_a, event_b, compact)
    frame_values = sum(c.rate_coefficient for c in channels)
    head = _fixed_header(channels, rate_min, frame_values, zones, start_datetime,
                         patient_surname, patient_first_name, laboratory, title)
    dtype = np.dtype(f"<u{widths.pop()}")
    with atomic.open_replacement(path, "wb") as handle:
        handle.write(head)
        for name in L.ZONE_NAMES:
            handle.write(zones[name])
        written = _write_frames(handle, frames, dtype, frame_values)
        if written != n_frames:
            raise ValueError(f"the chunks held {written} rows, expected n_samples={n_frames}")
    return path


# -- channels and samples --------------------------------------------------------------

def _channels(names, units, bytes_per_sample, physical_range) -> list[TrcChannel]:
    names = list(names)
    n = len(names)
    if n == 0:
        raise ValueError("at least one channel is needed")
    if bytes_per_sample not in L.LOGIC_RANGES:
        raise ValueError(f"bytes_per_sample must be 1, 2 or 4, got {bytes_per_sample}")
    unit_list = [units] * n if isinstance(units, str) else list(units)
    if len(unit_list) != n:
        raise ValueError(f"{len(unit_list)} units for {n} channels")
    ranges = _physical_ranges(physical_range, unit_list)
    return [TrcChannel(name=name, unit=unit, physical_range=span,
                       bytes_per_sample=bytes_per_sample)
            for name, unit, span in zip(names, unit_list, ranges)]


def _physical_ranges(physical_range, units) -> list[tuple[int, int]]:
    if physical_range is None:
        pairs = [DEFAULT_PHYSICAL_RANGE.get(u, FALLBACK_PHYSICAL_RANGE) for u in units]
    elif np.ndim(physical_range) == 1:
        pairs = [tuple(physical_range)] * len(units)
    else:
        pairs = [tuple(p) for p in physical_range]
    if len(pairs) != len(units):
        raise ValueError(f"{len(pairs)} physical ranges for {len(units)} channels")
    checked = []
    for low, high in pairs:
        # The file stores int32 ranges; widening keeps every value asked for in range.
        low, high = int(np.floor(low)), int(np.ceil(high))
        if not -2**31 <= low < high < 2**31:
            raise ValueError(f"physical range ({low}, {high}) must lie within int32 with "
                             "min < max")
        checked.append((low, high))
    return checked


def _rate(sampling_rate) -> int:
    if sampling_rate != int(sampling_rate) or not 0 < sampling_rate <= 65535:
        raise ValueError(f"a TRC rate is a whole number of Hz up to 65535, got {sampling_rate}")
    return int(sampling_rate)


def _quantise(chunk: np.ndarray, channels: Sequence[TrcChannel]) -> np.ndarray:
    if chunk.ndim != 2 or chunk.shape[1] != len(channels):
        raise ValueError(f"each chunk must have shape (n, {len(channels)}), got {chunk.shape}")
    if np.isnan(chunk).any():
        raise ValueError("chunks contain NaN, which a TRC file cannot store")
    gains = np.array([c.gain for c in channels])
    logic = np.array([c.logic for c in channels], dtype=np.float64)
    codes = np.rint(chunk / gains) + logic[:, 2]
    np.clip(codes, logic[:, 0], logic[:, 1], out=codes)
    return codes.astype(np.int64)


def _write_frames(handle, frames, dtype: np.dtype, frame_values: int) -> int:
    written = 0
    limit = np.iinfo(dtype).max
    for block in frames:
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[1] != frame_values:
            raise ValueError(f"each chunk must have {frame_values} columns, got {block.shape}")
        if block.size and (block.min() < 0 or block.max() > limit):
            raise ValueError(f"sample codes must lie in 0..{limit}")
        handle.write(np.ascontiguousarray(block, dtype=dtype).tobytes())
        written += len(block)
    return written


# -- header ----------------------------------------------------------------------------

def _order(order, n: int) -> np.ndarray:
    if order is None:
        return np.arange(n)
    order = np.asarray(order, dtype=np.int64)
    if sorted(order.tolist()) != list(range(n)):
        raise ValueError(f"order must be a permutation of 0..{n - 1}")
    return order


def _text(value: str, size: int, what: str) -> bytes:
    encoded = value.encode(L.TEXT_ENCODING)
    if len(encoded) > size:
        raise ValueError(f"{what} {value!r} is longer than {size} bytes")
    return encoded


def _zone_length(name: str, needed: int, compact: bool) -> int:
    return needed if compact else max(needed, L.FULL_ZONE_LENGTHS[name])


def _zone_contents(channels, order, n_samples, triggers, notes, event_a, event_b,
                   compact) -> dict[str, bytes]:
    n = len(channels)
    zones = {}
    order_zone = np.zeros(_zone_length("ORDER", 2 * n, compact) // 2, dtype="<u2")
    order_zone[:n] = order
    zones["ORDER"] = order_zone.tobytes()
    labcod = np.zeros(_zone_length("LABCOD", L.ELECTRODE.itemsize * n, compact)
                      // L.ELECTRODE.itemsize, dtype=L.ELECTRODE)
    for slot, channel in zip(order, channels):
        labcod[slot] = _electrode(channel)
    zones["LABCOD"] = labcod.tobytes()
    zones["NOTE"] = _records("NOTE", L.NOTE, [
        (_sample(s, n_samples, "note"), _text(t, 40, "note")) for s, t in notes], compact)
    zones["TRIGGER"] = _records("TRIGGER", L.TRIGGER, [
        (_sample(s, n_samples, "trigger"), _code(c)) for s, c in triggers], compact,
        fill=0xFF)
    for name, spans in (("EVENT A", event_a), ("EVENT B", event_b)):
        zones[name] = _records(name, L.EVENT, [
            (1, *_span(start, stop, n_samples, name)) for start, stop in spans], compact)
    minimal = {"FLAGS": 8, "TRONCA": 8, "IMPED_B": 2 * n, "IMPED_E": 2 * n,
               "MONTAGE": 4096, "COMPRESS": 10, "AVERAGE": 128, "HISTORY": 4608,
               "DVIDEO": 16}
    for name, needed in minimal.items():
        zones[name] = bytes(_zone_length(name, needed, compact))
    return zones


def _electrode(channel: TrcChannel) -> np.void:
    record = np.zeros((), dtype=L.ELECTRODE)
    record["status"] = 1
    record["positive"] = _text(channel.name, 6, "channel name")
    record["negative"] = _text(channel.reference, 6, "reference name")
    record["logic_min"], record["logic_max"], record["logic_ground"] = channel.logic
    record["physical_min"], record["physical_max"] = channel.physical_range
    if channel.unit not in L.UNIT_CODES:
        raise ValueError(f"unit {channel.unit!r} has no Micromed code; "
                         f"known: {', '.join(L.UNIT_NAMES.values())}")
    record["unit"] = L.UNIT_CODES[channel.unit]
    if not 1 <= channel.rate_coefficient <= 65535:
        raise ValueError(f"rate coefficient {channel.rate_coefficient} is out of range")
    record["rate_coefficient"] = channel.rate_coefficient
    return record


def _records(name, dtype, rows, compact, fill=0) -> bytes:
    count = max(len(rows), 1)
    length = _zone_length(name, count * dtype.itemsize, compact)
    zone = bytearray([fill]) * length
    if rows:
        packed = np.array(rows, dtype=dtype).tobytes()
        zone[:len(packed)] = packed
    return bytes(zone)


def _sample(sample, n_samples: int, what: str) -> int:
    if not 0 <= int(sample) < n_samples:
        raise ValueError(f"{what} at sample {sample} lies outside 0..{n_samples - 1}")
    return int(sample)


def _code(code) -> int:
    if not 0 <= int(code) < 0xFFFF:
        raise ValueError(f"trigger code {code} must lie in 0..65534 (65535 marks unused)")
    return int(code)


def _span(start, stop, n_samples: int, what: str) -> tuple[int, int]:
    start = _sample(start, n_samples, what)
    if not start <= int(stop) <= n_samples:
        raise ValueError(f"{what} stop {stop} must lie in {start}..{n_samples}")
    return start, int(stop)


def _fixed_header(channels, rate_min, frame_values, zones, start_datetime, surname,
                  first_name, laboratory, title) -> bytes:
    fixed = np.zeros((), dtype=L.FIXED_HEADER)
    fixed["title"] = L.TITLE if title is None else _text(title, 32, "title").ljust(32)
    # Header text fields are space-padded (labels in LABCOD are NUL-padded).
    fixed["laboratory"] = _text(laboratory, 32, "laboratory").ljust(32)
    fixed["surname"] = _text(surname, 22, "patient surname").ljust(22)
    fixed["first_name"] = _text(first_name, 20, "patient first name").ljust(20)
    when = start_datetime or datetime(2000, 1, 1)
    if not 1900 <= when.year <= 2155:
        raise ValueError(f"a TRC date must fall in 1900..2155, got {when.year}")
    fixed["recorded"] = (when.day, when.month, when.year - 1900, when.hour, when.minute,
                         when.second)
    bytes_per_sample = channels[0].bytes_per_sample
    offset = L.FIXED_HEADER_SIZE
    for i, name in enumerate(L.ZONE_NAMES):
        fixed["zones"][i] = (name.encode("ascii").ljust(8), offset, len(zones[name]))
        offset += len(zones[name])
    fixed["data_start"] = offset
    fixed["n_channels"] = len(channels)
    fixed["multiplexer"] = frame_values * bytes_per_sample
    fixed["rate_min"] = rate_min
    fixed["bytes_per_sample"] = bytes_per_sample
    fixed["header_type"] = L.SUPPORTED_HEADER_TYPE
    return fixed.tobytes()
