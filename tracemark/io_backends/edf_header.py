"""Parse and validate the header of an EDF, EDF+, BDF or BDF+ file (no sample data).

Every field the reader depends on is checked, and a bad one raises
:class:`CorruptRecordingError` naming the field (and the signal, for per-signal fields),
so a damaged file is reported in words, never as a ``ValueError`` traceback.

The number of data records is reconciled with the file size here:

* ``-1`` (a recorder that never finalised the header) -> derived from the size, counting
  complete records only; a note says so.
* more records declared than the file holds -> :class:`TruncatedRecordingError`, unless
  the caller passes ``truncated="read"``, which reads the complete records present.
* bytes after the last declared record -> ignored, with a note.
"""

from __future__ import annotations

import io
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from .errors import CorruptRecordingError, TruncatedRecordingError, UnsupportedFormatError

EDF_MAGIC = b"0       "
BDF_MAGIC = b"\xffBIOSEMI"
ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
#: (name, width) of the per-signal header fields, in file order.
_SIGNAL_FIELDS = (("label", 16), ("transducer type", 80), ("physical dimension", 8),
                  ("physical minimum", 8), ("physical maximum", 8), ("digital minimum", 8),
                  ("digital maximum", 8), ("prefiltering", 80), ("samples per record", 8),
                  ("reserved", 32))


@dataclass(frozen=True)
class EdfSignal:
    """One signal as the header describes it."""

    index: int
    label: str
    transducer: str
    unit: str
    physical_min: float
    physical_max: float
    digital_min: int
    digital_max: int
    prefilter: str
    samples_per_record: int
    #: Byte offset of this signal's samples within a data record.
    record_offset: int

    @property
    def is_annotation(self) -> bool:
        return self.label in ANNOTATION_LABELS

    @property
    def gain(self) -> float:
        return (self.physical_max - self.physical_min) / (self.digital_max - self.digital_min)

    @property
    def offset(self) -> float:
        return self.physical_min - self.digital_min * self.gain


@dataclass(frozen=True)
class EdfHeader:
    """The parsed main header and signal headers, reconciled with the file size."""

    is_bdf: bool
    #: "EDF", "EDF+C", "EDF+D", "BDF", "BDF+C" or "BDF+D".
    variant: str
    patient_id: str
    recording_id: str
    #: Header date-time, whole seconds, naive (EDF stores local time without a zone).
    start_datetime: datetime | None
    header_bytes: int
    n_records: int
    n_records_declared: int
    record_duration_s: float
    signals: tuple[EdfSignal, ...]
    record_bytes: int
    notes: tuple[str, ...] = ()

    @property
    def bytes_per_sample(self) -> int:
        return 3 if self.is_bdf else 2

    @property
    def is_plus(self) -> bool:
        return "+" in self.variant

    @property
    def is_discontinuous(self) -> bool:
        return self.variant.endswith("+D")

    @property
    def annotation_signals(self) -> tuple[EdfSignal, ...]:
        return tuple(s for s in self.signals if s.is_annotation)

    @property
    def data_signals(self) -> tuple[EdfSignal, ...]:
        return tuple(s for s in self.signals if not s.is_annotation)


def read_edf_header(path: Path, *, truncated: str = "raise", fileobj: BinaryIO | io.RawIOBase | None = None,
                    size: int | None = None) -> EdfHeader:
    """Parse ``path``'s header; raise a typed error naming the bad field.

    ``fileobj`` (a binary file object at its start, of ``size`` bytes, such as a remote
    file's view) is read instead of opening ``path``, which then only names the file.
    """
    if truncated not in ("raise", "read"):
        raise ValueError(f"truncated must be 'raise' or 'read', not {truncated!r}")
    if fileobj is not None and size is None:
        raise TypeError("read_edf_header() needs the size of the file object it reads")
    file_size = size if size is not None and fileobj is not None else path.stat().st_size
    with nullcontext(fileobj) if fileobj is not None else open(path, "rb") as handle:
        main = handle.read(256)
        if len(main) < 256:
            raise _truncated(path, f"the file is {len(main)} bytes, shorter than the 256-byte EDF header")
        is_bdf = main[:8] == BDF_MAGIC
        if not is_bdf and main[:8] != EDF_MAGIC:
            raise UnsupportedFormatError(path, "not an EDF or BDF file (the first 8 bytes are "
                                         f"{main[:8]!r})")
        n_signals = _int_field(path, main[252:256], "number of signals")
        if n_signals < 1:
            raise CorruptRecordingError(path, f"the header declares {n_signals} signals; "
                                        "an EDF file needs at least one")
        if 256 * (n_signals + 1) > file_size:
            # Checked before reading: a damaged count such as "1e9" would otherwise ask
            # for gigabytes (read() allocates what it is asked for) or overflow.
            raise _truncated(path, f"the header is cut short: {n_signals} signals need "
                             f"{256 * (n_signals + 1)} header bytes, the file has {file_size}")
        signal_bytes = handle.read(256 * n_signals)
    if len(signal_bytes) < 256 * n_signals:
        raise _truncated(path, f"the header is cut short: {n_signals} signals need "
                         f"{256 * (n_signals + 1)} header bytes, the file has {file_size}")
    header_bytes = _int_field(path, main[184:192], "header bytes")
    if header_bytes != 256 * (n_signals + 1):
        raise CorruptRecordingError(path, f"header field 'header bytes' is {header_bytes} but "
                                    f"{n_signals} signals need {256 * (n_signals + 1)}")
    signals = _parse_signals(path, signal_bytes, n_signals, is_bdf)
    bps = 3 if is_bdf else 2
    record_bytes = sum(s.samples_per_record for s in signals) * bps
    record_duration = _float_field(path, main[244:252], "duration of a data record")
    if record_duration < 0 or (record_duration == 0 and any(not s.is_annotation for s in signals)):
        raise CorruptRecordingError(path, "header field 'duration of a data record' is "
                                    f"{record_duration} s; it must be positive")
    declared = _int_field(path, main[236:244], "number of data records")
    n_records, notes = _reconcile_records(path, declared, file_size - header_bytes, record_bytes,
                                          truncated)
    patient = _text(main[8:88])
    recording = _text(main[88:168])
    start, date_note = _start_datetime(main[168:176], main[176:184], recording)
    variant = _variant(is_bdf, _text(main[192:236]))
    return EdfHeader(is_bdf=is_bdf, variant=variant, patient_id=patient, recording_id=recording,
                     start_datetime=start, header_bytes=header_bytes, n_records=n_records,
                     n_records_declared=declared, record_duration_s=record_duration,
                     signals=signals, record_bytes=record_bytes,
                     notes=tuple(notes) + ((date_note,) if date_note else ()))


def _parse_signals(path: Path, raw: bytes, n: int, is_bdf: bool) -> tuple[EdfSignal, ...]:
    fields: dict[str, list[bytes]] = {}
    position = 0
    for name, width in _SIGNAL_FIELDS:
        fields[name] = [raw[position + i * width: position + (i + 1) * width] for i in range(n)]
        position += n * width
    limits = (-8388608, 8388607) if is_bdf else (-32768, 32767)
    signals, offset = [], 0
    for i in range(n):
        label = _text(fields["label"][i])
        where = f"signal {i + 1} ({label!r})"
        spr = _int_field(path, fields["samples per record"][i], "samples per record", where)
        if spr < 1:
            raise CorruptRecordingError(path, f"{where}: header field 'samples per record' is "
                                        f"{spr}; it must be at least 1")
        dmin = _int_field(path, fields["digital minimum"][i], "digital minimum", where)
        dmax = _int_field(path, fields["digital maximum"][i], "digital maximum", where)
        pmin = _float_field(path, fields["physical minimum"][i], "physical minimum", where)
        pmax = _float_field(path, fields["physical maximum"][i], "physical maximum", where)
        if label not in ANNOTATION_LABELS:
            if dmax <= dmin:
                raise CorruptRecordingError(path, f"{where}: 'digital maximum' ({dmax}) is not "
                                            f"above 'digital minimum' ({dmin})")
            if not (limits[0] <= dmin and dmax <= limits[1]):
                raise CorruptRecordingError(path, f"{where}: digital range {dmin}..{dmax} "
                                            f"exceeds the {'24' if is_bdf else '16'}-bit range")
            if pmax == pmin:
                raise CorruptRecordingError(path, f"{where}: 'physical maximum' equals "
                                            f"'physical minimum' ({pmin}); no scale can be derived")
        signals.append(EdfSignal(
            index=i, label=label, transducer=_text(fields["transducer type"][i]),
            unit=_text(fields["physical dimension"][i]), physical_min=pmin, physical_max=pmax,
            digital_min=dmin, digital_max=dmax, prefilter=_text(fields["prefiltering"][i]),
            samples_per_record=spr, record_offset=offset))
        offset += spr * (3 if is_bdf else 2)
    return tuple(signals)


def _reconcile_records(path: Path, declared: int, data_bytes: int, record_bytes: int,
                       truncated: str) -> tuple[int, list[str]]:
    complete = max(data_bytes, 0) // record_bytes
    leftover = max(data_bytes, 0) - complete * record_bytes
    if declared == -1:
        note = f"the header leaves the number of data records open (-1); {complete} complete records found"
        if leftover:
            note += f" and {leftover} trailing bytes ignored"
        return complete, [note]
    if declared < 0:
        raise CorruptRecordingError(path, f"header field 'number of data records' is {declared}")
    if declared > complete:
        if truncated == "read":
            return complete, [f"truncated: the header declares {declared} data records, "
                              f"{complete} complete ones are read"]
        raise TruncatedRecordingError(path, f"the header declares {declared} data records of "
                                      f"{record_bytes} bytes but the file holds only {complete} "
                                      f"complete ones; open with truncated='read' to read those")
    extra = data_bytes - declared * record_bytes
    return declared, ([f"{extra} bytes after the last data record are ignored"] if extra else [])


def _variant(is_bdf: bool, reserved: str) -> str:
    base = "BDF" if is_bdf else "EDF"
    for suffix in ("+C", "+D"):
        if reserved.startswith(("EDF" + suffix, "BDF" + suffix)):
            return base + suffix
    return base


def _start_datetime(date_raw: bytes, time_raw: bytes, recording: str) -> tuple[datetime | None, str]:
    """Header date-time; EDF+'s 4-digit year in the recording field wins, as mne does.

    A malformed date or time gives ``None`` and a note rather than an error: the samples
    are still readable and a wrong clock is not worth refusing a recording for.
    """
    date_text, time_text = _text(date_raw), _text(time_raw)
    if recording.split()[:2] == ["Startdate", "X"]:
        # EDF+ spells an unknown (anonymised) date this way; the header's date is a dummy.
        return None, "the start date is not recorded (EDF+ 'Startdate X')"
    try:
        hour, minute, second = (int(v) for v in time_text.split("."))
        day_text, month_text, year_text = date_text.split(".")
        day, month = int(day_text), int(month_text)
        year = int(year_text) if year_text != "yy" else None
        if year is not None:
            year += 2000 if year < 85 else 1900
        plus_date = _recording_field_date(recording)
        if plus_date is not None:
            day, month, year = plus_date
        if year is None:
            raise ValueError("the year is not recorded ('yy')")
        return datetime(year, month, day, hour, minute, second), ""
    except (ValueError, TypeError):
        return None, f"the start date/time {date_text!r} {time_text!r} is unreadable"


def _recording_field_date(recording: str) -> tuple[int, int, int] | None:
    parts = recording.split()
    if len(parts) < 2 or parts[0] != "Startdate":
        return None
    pieces = parts[1].split("-")
    if len(pieces) != 3 or pieces[1].upper() not in _MONTHS:
        return None
    try:
        return int(pieces[0]), _MONTHS.index(pieces[1].upper()) + 1, int(pieces[2])
    except ValueError:
        return None


def _text(raw: bytes) -> str:
    return raw.decode("latin-1").strip()


def _int_field(path: Path, raw: bytes, name: str, where: str = "") -> int:
    text = _text(raw)
    try:
        return int(text)
    except ValueError:
        # Some writers put "2048.0" or "  1.  " in integer fields; accept exact integers.
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is not None and value.is_integer():
            return int(value)
    prefix = f"{where}: " if where else ""
    raise CorruptRecordingError(path, f"{prefix}header field '{name}' is {text!r}, not an integer")


def _float_field(path: Path, raw: bytes, name: str, where: str = "") -> float:
    text = _text(raw)
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        prefix = f"{where}: " if where else ""
        raise CorruptRecordingError(path, f"{prefix}header field '{name}' is {text!r}, not a number")
    return value


def _truncated(path: Path, problem: str) -> TruncatedRecordingError:
    return TruncatedRecordingError(path, problem)
