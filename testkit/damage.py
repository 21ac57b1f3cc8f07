"""Damaged copies of valid recordings: the bad-input corpus the reader tests run over.

A viewer must open what is still valid in a damaged file or refuse it with a typed error
that names the file; it must never crash, hang, show a traceback, or allocate what a
corrupted count asks for. This module makes the files that prove it. From one valid
source it derives many damaged variants, each a new file in ``out_dir`` (the source is
only read), named ``<source stem>~<case id><suffix>`` and described in words by a
:class:`DamagedFile`. The same ``seed`` gives the same bytes.

``damaged_variants(source, out_dir)`` picks the generator from the file's content:

* **TRC** (:func:`trc_variants`): truncations inside the title, the fixed header, the
  zone table, each zone and the first frames; fixed-header fields set to values that
  matter (header type, data offset, channel count, frame size, rate, sample width,
  compression, date); zone descriptors renamed or pointed past the end; ORDER entries
  outside LABCOD; the first electrode record's logic and physical ranges, unit and rate
  coefficient; trigger, note, segment and event records; bit flips in every byte of the
  fields that steer the reader, and seeded random flips elsewhere.
* **EDF/BDF** (:func:`edf_variants`): truncations through the header and the records;
  every numeric main-header field and the per-signal fields of the first and last
  signal set to empty, non-numeric, negative, zero, huge, NaN and off-by-one values;
  labels that turn a signal into annotations or back; damaged time-stamped annotation
  lists, including an EDF+D whose record onsets go backwards; bit flips.
* **NWB** (:func:`testkit.damage_nwb.nwb_variants`): truncations and bit flips
  of the HDF5 file, 4 KiB of zeros or random bytes over its superblock, B-trees, heaps
  and object headers (zeros inside a global heap make HDF5 loop for ever), and, made with
  h5py on a copy, layouts that are valid HDF5 but wrong NWB: deleted and renamed datasets
  and attributes, data and timestamps of the wrong dtype or shape, bad electrodes
  references, a wrong ``neurodata_type``, strings where numbers belong, broken links,
  damaged interval tables, datasets declaring 2**40 rows.
* **BrainVision**, read by the neo fallback (:func:`neo_variants`): header keys set to
  bad values, a channel line removed, markers out of range, the sample file cut.
* **Any format** (:func:`foreign_variants`): zero-length files under every suffix, valid
  files under another format's suffix, random bytes behind a right magic number, random
  bytes under the suffixes neo knows, folders, and a named pipe.

:func:`write_sources` writes small valid sources with Tracemark's own writers (TRC of
one and of two rates, EDF+C with two rates and annotations, BDF+C with a Status
channel, NWB with events and an irregularly sampled series, a BrainVision set), so the
corpus needs no data from outside; :func:`shrink` cuts a real file down to its header and
first samples before it is damaged. The EDF layout is spelled out here instead of
imported from the reader, so that a layout mistake in the reader cannot hide in its own
test data.

No Qt; numpy here, h5py in :mod:`.damage_nwb`, pynwb only when :func:`write_sources`
writes the NWB file.
"""

from __future__ import annotations

import os
import re
import shutil
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from tracemark.io_backends import trc_layout as L

__all__ = ["DamagedFile", "damaged_variants", "edf_variants", "foreign_variants",
           "neo_variants", "shrink", "sniff_kind", "trc_variants", "write_brainvision",
           "write_sources"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
EDF_MAGIC, BDF_MAGIC = b"0       ", b"\xffBIOSEMI"
#: ``extent`` -> keep every n-th case: "full" for the small files written here, "light"
#: and "sample" for bigger real files, so that the corpus stays a few tens of megabytes.
EXTENTS = {"full": 1, "light": 3, "sample": 8, "glimpse": 24}


@dataclass(frozen=True)
class DamagedFile:
    """One damaged file and what was done to it."""

    path: Path
    source: str  # name of the valid file it was derived from ("" for made-up bytes)
    fmt: str  # "trc", "edf", "nwb" or "any"
    kind: str  # "truncated", "field", "bitflip", "structure", "empty", "suffix", "random"
    description: str



def damaged_blocks(data: bytes, offset: int, rng: np.random.Generator):
    """``(kind, what, damaged bytes)`` for 4 KiB of zeros and of random bytes written over
    ``data`` at ``offset``: what a disk returns for a lost or a garbled block."""
    for kind, fill in (("zeroed", bytes(4096)), ("garbled", rng.bytes(4096))):
        damaged = bytearray(data)
        damaged[offset:offset + 4096] = fill[:len(damaged[offset:offset + 4096])]
        what = "zeros" if kind == "zeroed" else "random bytes"
        yield kind, f"4 KiB of {what} at byte {offset}", bytes(damaged)

class CaseWriter:
    """Writes variants of one source and records them; refuses duplicate case ids."""

    def __init__(self, source: Path | None, out_dir: Path, fmt: str, extent: str = "full"):
        if extent not in EXTENTS:
            raise ValueError(f"extent must be one of {', '.join(EXTENTS)}, got {extent!r}")
        self.source, self.out_dir, self.fmt = source, Path(out_dir), fmt
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.cases: list[DamagedFile] = []
        self.step = EXTENTS[extent]
        # Thinned corpora of different sources keep different cases, so together they
        # still cover every kind of damage.
        self.phase = zlib.crc32(source.name.encode()) % self.step if source else 0

    def thin(self, items: list) -> list:
        return list(items)[self.phase::self.step]

    def thin_marks(self, marks: dict[int, str]) -> dict[int, str]:
        return {k: marks[k] for k in self.thin(sorted(marks))}

    def count(self, n: int) -> int:
        return max(n // self.step, 1)

    def path(self, case_id: str, suffix: str | None = None) -> Path:
        stem = self.source.stem if self.source else "synthetic"
        suffix = self.source.suffix if suffix is None else suffix
        path = self.out_dir / f"{stem}~{re.sub(r'[^A-Za-z0-9.=+-]+', '_', case_id)}{suffix}"
        if path.exists():
            raise ValueError(f"damage case {case_id!r} of {stem} is made twice")
        return path

    def add(self, path: Path, kind: str, description: str, source: str | None = None) -> None:
        if source is None:
            source = self.source.name if self.source else ""
        self.cases.append(DamagedFile(path, source, self.fmt, kind, description))

    def write(self, case_id: str, kind: str, description: str, data: bytes,
              suffix: str | None = None) -> None:
        path = self.path(case_id, suffix)
        path.write_bytes(data)
        self.add(path, kind, description)

    def truncations(self, data: bytes, marks: dict[int, str]) -> None:
        for offset in sorted(o for o in marks if 0 < o < len(data)):
            self.write(f"cut{offset}", "truncated",
                       f"cut to {offset} of {len(data)} bytes ({marks[offset]})", data[:offset])

    def bitflips(self, data: bytes, offsets, where: str, rng: np.random.Generator) -> None:
        for offset in sorted({int(o) for o in offsets if 0 <= o < len(data)}):
            bit = int(rng.integers(8))
            flipped = bytearray(data)
            flipped[offset] ^= 1 << bit
            self.write(f"flip{offset}.{bit}", "bitflip",
                       f"bit {bit} of byte {offset} flipped ({where})", bytes(flipped))


    def blocks(self, data: bytes, offsets: dict[str, int], rng: np.random.Generator) -> None:
        """4 KiB of zeros and of random bytes at each offset: what a disk returns for a
        lost or garbled block (zeros over an HDF5 heap made the library loop for ever)."""
        for where, offset in sorted(offsets.items(), key=lambda item: item[1]):
            for kind, what, damaged in damaged_blocks(data, offset, rng):
                self.write(f"{kind}-{where}@{offset}", kind, f"{what} ({where})", damaged)


def _patched(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


# -- dispatch ------------------------------------------------------------------------------------
def sniff_kind(path: Path) -> str:
    """"trc", "edf", "nwb", "neo" (BrainVision) or "" from the first bytes.

    Independent of the reader's own sniffing, which is under test.
    """
    with open(path, "rb") as handle:
        head = handle.read(32)
    if head.startswith((EDF_MAGIC, BDF_MAGIC)):
        return "edf"
    if head.startswith(HDF5_SIGNATURE):
        return "nwb"
    if head.startswith(b"Brain Vision Data Exchange"):
        return "neo"
    return "trc" if L.TITLE_MARK in head else ""


def damaged_variants(source: str | Path, out_dir: str | Path, *, seed: int = 0,
                     extent: str = "full") -> list[DamagedFile]:
    """Damaged variants of ``source`` (TRC, EDF/BDF or NWB) written into ``out_dir``."""
    from .damage_nwb import nwb_variants  # h5py is imported only when NWB files are damaged

    source = Path(source)
    makers = {"trc": trc_variants, "edf": edf_variants, "nwb": nwb_variants,
              "neo": neo_variants}
    kind = sniff_kind(source)
    if kind not in makers:
        raise ValueError(f"{source.name} is not a TRC, EDF/BDF, NWB or BrainVision file")
    return makers[kind](source, out_dir, seed=seed, extent=extent)


# -- TRC -----------------------------------------------------------------------------------------
_TRC_FIELD_VALUES = {
    "header_type": (0, 3, 5, -1),
    "n_channels": (0, 1, 256, 65535),
    "multiplexer": (0, 1, 65535),
    "rate_min": (0, 1, 65535),
    "bytes_per_sample": (0, 3, 8, 65535),
    "compression": (1,),
    "n_montages": (65535,),
}
_TRC_ZONES_DAMAGED = ("ORDER", "LABCOD", "NOTE", "TRONCA", "EVENT A", "TRIGGER")
_ELECTRODE_VALUES = {
    "logic_min": (2**31 - 1, -2**31),
    "logic_max": (-2**31, 2**31 - 1),
    "logic_ground": (2**31 - 1, -2**31),
    "physical_min": (-2**31, 2**31 - 1),
    "physical_max": (-2**31, 0),
    "unit": (9999, -32768),
    "rate_coefficient": (0, 2, 65535),
}
#: Fixed-header bytes that steer the reader: every one gets two bit flips.
_TRC_STEERING_FIELDS = ("data_start", "n_channels", "multiplexer", "rate_min",
                        "bytes_per_sample", "compression", "header_type")


def _field_bytes(dtype: np.dtype, name: str, value) -> tuple[int, bytes]:
    field_dtype, offset = dtype.fields[name][:2]
    return offset, np.array(value, dtype=field_dtype).tobytes()


def trc_variants(source: str | Path, out_dir: str | Path, *, seed: int = 0,
                 extent: str = "full") -> list[DamagedFile]:
    """Damaged variants of a valid header-type-4 TRC file; see the module docstring."""
    source = Path(source)
    data = source.read_bytes()
    fixed = np.frombuffer(data[:L.FIXED_HEADER_SIZE], dtype=L.FIXED_HEADER, count=1)[0]
    zones = {name: (int(z["offset"]), int(z["length"]))
             for name, z in zip(L.ZONE_NAMES, fixed["zones"])}
    corpus = CaseWriter(source, out_dir, "trc", extent)
    rng = np.random.default_rng(seed)
    corpus.truncations(data, corpus.thin_marks(_trc_marks(fixed, zones, len(data))))
    _trc_fields(corpus, data, fixed)
    _trc_zones(corpus, data, zones, int(fixed["n_channels"]))
    steering = [L.FIXED_HEADER.fields[f][1] + i for f in _TRC_STEERING_FIELDS
                for i in range(L.FIXED_HEADER.fields[f][0].itemsize)]
    corpus.bitflips(data, corpus.thin(steering), "a fixed-header field the reader uses", rng)
    data_start = int(fixed["data_start"])
    corpus.bitflips(data, rng.integers(0, L.FIXED_HEADER_SIZE, corpus.count(12)),
                    "fixed header", rng)
    corpus.bitflips(data, rng.integers(L.FIXED_HEADER_SIZE, data_start, corpus.count(8)),
                    "zones", rng)
    return corpus.cases


def _trc_marks(fixed, zones, size: int) -> dict[int, str]:
    data_start, frame = int(fixed["data_start"]), max(int(fixed["multiplexer"]), 1)
    marks = {1: "inside the title", 31: "end of the title", 140: "inside data_start",
             175: "before the header type", 176: "at the zone table",
             200: "inside the zone table", 639: "one byte short of the fixed header",
             640: "right after the fixed header"}
    for name in _TRC_ZONES_DAMAGED:
        offset, length = zones[name]
        marks.setdefault(offset + 1, f"one byte into {name}")
        marks.setdefault(offset + length // 2, f"middle of {name}")
    marks.update({data_start - 1: "one byte before the data", data_start: "at the data start",
                  data_start + 1: "one byte into the data",
                  data_start + frame - 1: "one byte short of the first frame",
                  data_start + frame: "exactly one frame",
                  data_start + frame + 1: "one frame and one byte",
                  size - 1: "last byte missing"})
    for k in (1, 2, 3):
        marks.setdefault(data_start + k * (size - data_start) // 4 + 1, "mid-data, mid-frame")
    return marks


def _trc_fields(corpus: CaseWriter, data: bytes, fixed) -> None:
    size, data_start = len(data), int(fixed["data_start"])
    values = dict(_TRC_FIELD_VALUES)
    values["data_start"] = (0, 639, 640, data_start + 1, size - 1, size, size + 1, 2**32 - 1)
    n = int(fixed["n_channels"])
    values["n_channels"] = tuple(sorted(set(values["n_channels"]) | {n + 1, max(n - 1, 1)} - {n}))
    cases = [(name, value) for name, options in values.items() for value in options]
    for name, value in corpus.thin(cases):
        offset, raw = _field_bytes(L.FIXED_HEADER, name, value)
        corpus.write(f"{name}={value}", "field", f"fixed header {name} set to {value}",
                     _patched(data, offset, raw))
    when = L.FIXED_HEADER.fields["recorded"][1]
    corpus.write("recorded=zero", "field", "recording date all zero",
                 _patched(data, when, bytes(6)))
    corpus.write("recorded=bad", "field", "recording date 31 Feb, 25:61:61",
                 _patched(data, when, bytes([31, 2, 255, 25, 61, 61])))
    corpus.write("title=other", "field", "title without MICROMED",
                 _patched(data, 0, b"* NOT A    Brain-Quick file *  "))


def _trc_zones(corpus: CaseWriter, data: bytes, zones, n_channels: int) -> None:
    size = len(data)
    cases = []
    for index, name in enumerate(L.ZONE_NAMES):
        if name not in _TRC_ZONES_DAMAGED:
            continue
        at = L.FIXED_HEADER.fields["zones"][1] + index * L.ZONE_DESCRIPTOR.itemsize
        cases += [(f"{name}.name=garbled", f"zone descriptor {name} renamed", at, b"GARBLED!"),
                  (f"{name}.offset=max", f"zone {name} offset 2**32-1", at + 8, b"\xff" * 4),
                  (f"{name}.offset=end", f"zone {name} starts 4 bytes before the end", at + 8,
                   np.uint32(size - 4).tobytes()),
                  (f"{name}.length=max", f"zone {name} length 2**32-1", at + 12, b"\xff" * 4),
                  (f"{name}.length=0", f"zone {name} length 0", at + 12, bytes(4))]
    order_at, _ = zones["ORDER"]
    labcod_at, labcod_length = zones["LABCOD"]
    slot = int(np.frombuffer(data, dtype="<u2", count=1, offset=order_at)[0])
    cases += [("ORDER0=65535", "ORDER entry 0 is 65535", order_at, b"\xff\xff"),
              ("ORDER0=past", "ORDER entry 0 points just past LABCOD", order_at,
               np.uint16(min(labcod_length // L.ELECTRODE_RECORD_SIZE, 65535)).tobytes())]
    if n_channels > 1:
        cases.append(("ORDER0=dup", "ORDER entry 0 repeats entry 1", order_at,
                      data[order_at + 2:order_at + 4]))
    record = labcod_at + slot * L.ELECTRODE_RECORD_SIZE
    for name, options in _ELECTRODE_VALUES.items():
        for value in options:
            offset, raw = _field_bytes(L.ELECTRODE, name, value)
            cases.append((f"electrode0.{name}={value}", f"channel 0's {name} set to {value}",
                          record + offset, raw))
    cases.append(("electrode0.label=undecodable", "channel 0's label holds undecodable bytes",
                  record + 2, b"\x81\x8d\x8f\x90\x9d\x81"))
    cases += _trc_event_cases(zones)
    for case_id, description, offset, raw in corpus.thin(cases):
        corpus.write(case_id, "field", description, _patched(data, offset, raw))


def _trc_event_cases(zones) -> list[tuple[str, str, int, bytes]]:
    trigger, note = zones["TRIGGER"][0], zones["NOTE"][0]
    tronca, event_a = zones["TRONCA"][0], zones["EVENT A"][0]
    u4 = lambda v: np.uint32(v).tobytes()  # noqa: E731
    return [
        ("trigger0=far", "trigger 0 at sample 2**32-2", trigger, u4(2**32 - 2)),
        ("trigger0.code=65535", "trigger 0 code 65535", trigger + 4, b"\xff\xff"),
        ("note0=unterminated", "note 0 text without a NUL", note, u4(1) + b"\xff" * 40),
        ("tronca=two", "two segments", tronca, u4(1) + u4(0) + u4(500) + u4(7)),
        ("tronca=late", "one segment starting at sample 5", tronca, u4(3) + u4(5)),
        ("tronca=far", "segment time 2**32-1", tronca, u4(2**32 - 1) + u4(0)),
        ("eventA=reversed", "EVENT A stop before start", event_a, u4(1) + u4(50) + u4(10)),
        ("eventA=far", "EVENT A ends at 2**32-1", event_a, u4(1) + u4(2) + u4(2**32 - 1)),
    ]


# -- EDF / BDF -----------------------------------------------------------------------------------
#: (name, offset, width) of the main header fields (EDF specification).
_EDF_MAIN = {"version": (0, 8), "patient": (8, 80), "recording": (88, 80),
             "start date": (168, 8), "start time": (176, 8), "header bytes": (184, 8),
             "reserved": (192, 44), "records": (236, 8), "record duration": (244, 8),
             "signals": (252, 4)}
#: (name, width) of the per-signal fields, each stored for all signals in turn.
_EDF_SIGNAL = (("label", 16), ("transducer", 80), ("unit", 8), ("physical min", 8),
               ("physical max", 8), ("digital min", 8), ("digital max", 8),
               ("prefilter", 80), ("samples per record", 8), ("reserved", 32))
_EDF_NUMBERS = ("", "abc", "-1", "0", "nan", "inf", "1e9", "99999999", "1e308")
_EDF_MAIN_VALUES = {
    "records": ("", "abc", "-1", "-2", "0", "1e9", "2147483648", "99999999", "nan", "1.5"),
    "record duration": ("", "abc", "0", "-1", "nan", "inf", "1e-30", "1E-7", "1e300"),
    "signals": ("", "abc", "0", "-1", "9999", "1e9", "9e99"),
    "header bytes": ("", "abc", "0", "-256", "99999999"),
    "start date": ("", "xx.yy.zz", "31.02.99"),
    "start time": ("25.61.61", "aa.bb.cc"),
    "recording": ("Startdate 99-XYZ-2020 X X X", "Startdate X X X X"),
}
_EDF_SIGNAL_VALUES = {
    "physical min": _EDF_NUMBERS + ("-1e308",),
    "physical max": _EDF_NUMBERS,
    "digital min": ("", "abc", "40000", "-40000", "1e9", "32767", "8388607"),
    "digital max": ("", "abc", "40000", "-40000", "1e9", "-32768", "-8388608"),
    "samples per record": ("", "abc", "0", "-1", "1e9", "99999999"),
    "label": ("EDF Annotations", "BDF Annotations", "Status", ""),
}


@dataclass(frozen=True)
class _EdfLayout:
    n_signals: int
    header_bytes: int
    n_records: int
    labels: tuple[str, ...]
    samples_per_record: tuple[int, ...]
    bytes_per_sample: int

    def signal_field(self, name: str, signal: int) -> tuple[int, int]:
        offset = 256
        for field, width in _EDF_SIGNAL:
            if field == name:
                return offset + signal * width, width
            offset += self.n_signals * width
        raise KeyError(name)

    @property
    def record_bytes(self) -> int:
        return sum(self.samples_per_record) * self.bytes_per_sample

    def sample_offset(self, signal: int) -> int:
        return sum(self.samples_per_record[:signal]) * self.bytes_per_sample


def _edf_layout(data: bytes) -> _EdfLayout:
    ns = int(data[252:256])
    layout = _EdfLayout(ns, int(data[184:192]), int(data[236:244]), (), (),
                        3 if data.startswith(BDF_MAGIC) else 2)
    labels = tuple(data[o:o + w].decode("latin-1").strip() for o, w in
                   (layout.signal_field("label", i) for i in range(ns)))
    spr = tuple(int(data[o:o + w]) for o, w in
                (layout.signal_field("samples per record", i) for i in range(ns)))
    return _EdfLayout(ns, layout.header_bytes, layout.n_records, labels, spr,
                      layout.bytes_per_sample)


def _edf_text(value: str, width: int) -> bytes:
    return value.encode("latin-1").ljust(width)[:width]


def edf_variants(source: str | Path, out_dir: str | Path, *, seed: int = 0,
                 extent: str = "full") -> list[DamagedFile]:
    """Damaged variants of a valid EDF/EDF+/BDF/BDF+ file; see the module docstring."""
    source = Path(source)
    data = source.read_bytes()
    layout = _edf_layout(data)
    corpus = CaseWriter(source, out_dir, "edf", extent)
    rng = np.random.default_rng(seed)
    corpus.truncations(data, corpus.thin_marks(_edf_marks(layout, len(data))))
    _edf_main_fields(corpus, data, layout)
    _edf_signal_fields(corpus, data, layout)
    _edf_annotations(corpus, data, layout, rng)
    steering = [offset + i for name in ("header bytes", "records", "record duration", "signals")
                for offset, width in [_EDF_MAIN[name]] for i in range(min(width, 3))]
    corpus.bitflips(data, corpus.thin(steering), "a numeric main-header field", rng)
    corpus.bitflips(data, rng.integers(0, layout.header_bytes, corpus.count(12)),
                    "header", rng)
    return corpus.cases


def _edf_marks(layout: _EdfLayout, size: int) -> dict[int, str]:
    hb, rb = layout.header_bytes, layout.record_bytes
    marks = {1: "inside the version", 8: "after the version", 100: "inside the recording id",
             240: "inside the record count", 255: "one byte short of the main header",
             256: "main header only", 257: "one byte of signal headers",
             256 + layout.n_signals * 8: "inside the labels",
             hb - 1: "one byte short of the header", hb: "header only, no record",
             hb + 1: "one byte of data", hb + rb - 1: "one byte short of the first record",
             hb + rb: "exactly one record", hb + rb + 3: "one record and three bytes",
             size - 1: "last byte missing"}
    marks.setdefault(hb + (size - hb) // 2 + 1, "mid-data, mid-record")
    return marks


def _edf_main_fields(corpus: CaseWriter, data: bytes, layout: _EdfLayout) -> None:
    values = {name: list(options) for name, options in _EDF_MAIN_VALUES.items()}
    values["records"] += [str(layout.n_records + 1), str(max(layout.n_records - 1, 0))]
    values["signals"] += [str(layout.n_signals + 1), str(layout.n_signals - 1)]
    values["header bytes"].append(str(layout.header_bytes + 256))
    plus = "BDF" if layout.bytes_per_sample == 3 else "EDF"
    values["reserved"] = [f"{plus}+D", f"{plus}+X", ""]
    cases = [(name, value) for name, options in values.items() for value in options]
    for name, value in corpus.thin(cases):
        offset, width = _EDF_MAIN[name]
        corpus.write(f"{name}={value or 'blank'}", "field",
                     f"main header {name!r} set to {value!r}",
                     _patched(data, offset, _edf_text(value, width)))
    version = b"1       " if layout.bytes_per_sample == 2 else b"\xffBIOSEMX"
    corpus.write("version=other", "field", f"version field {version!r}", _patched(data, 0, version))


def _edf_signal_fields(corpus: CaseWriter, data: bytes, layout: _EdfLayout) -> None:
    first_data = next(i for i, label in enumerate(layout.labels) if "Annotations" not in label)
    signals = sorted({first_data, layout.n_signals - 1})
    cases = []
    for signal in signals:
        for name, options in _EDF_SIGNAL_VALUES.items():
            for value in options:
                cases.append((signal, name, value))
        spr = layout.samples_per_record[signal]
        cases += [(signal, "samples per record", str(spr + 1)),
                  (signal, "samples per record", str(max(spr - 1, 1)))]
        offset, width = layout.signal_field("physical min", signal)
        cases.append((signal, "physical max", data[offset:offset + width].decode("latin-1")))
        offset, width = layout.signal_field("digital max", signal)
        cases.append((signal, "digital min", data[offset:offset + width].decode("latin-1")))
    unique = list(dict.fromkeys((s, name, value.strip()) for s, name, value in cases))
    for signal, name, value in corpus.thin(unique):
        offset, width = layout.signal_field(name, signal)
        new = _edf_text(value, width)
        if data[offset:offset + width] == new:
            continue
        corpus.write(f"signal{signal}.{name}={value.strip() or 'blank'}", "field",
                     f"signal {signal} ({layout.labels[signal]}) {name!r} set to {value!r}",
                     _patched(data, offset, new))


def _edf_annotations(corpus: CaseWriter, data: bytes, layout: _EdfLayout,
                     rng: np.random.Generator) -> None:
    signals = [i for i, label in enumerate(layout.labels) if "Annotations" in label]
    if not signals or layout.n_records < 3:
        return
    signal = signals[0]
    width = layout.samples_per_record[signal] * layout.bytes_per_sample

    def tal(record: int, text: bytes) -> tuple[int, bytes]:
        """An edit: record ``record``'s annotation bytes become ``text``, NUL-padded."""
        at = layout.header_bytes + record * layout.record_bytes + layout.sample_offset(signal)
        return at, text[:width].ljust(width, b"\x00")

    def noise(record: int, low: int = 0) -> tuple[int, bytes]:
        return tal(record, rng.integers(low, 256, width, dtype=np.uint8).tobytes())

    nines = b"9" * max(width - 12, 2)  # past 309 digits a float overflows to infinity
    cases = [
        ("tal0=zeros", "record 0 has no time-keeping annotation", [tal(0, b"")]),
        ("tal0=huge", "record 0's time-keeping onset is 10**(many)",
         [tal(0, b"+" + nines + b"\x14\x14\x00")]),
        ("tal0=negative", "record 0's time-keeping onset is -5 s", [tal(0, b"-5\x14\x14\x00")]),
        ("tal0=before-year-1", "start date 1 Jan 0001, record 0's onset -999999 s",
         [tal(0, b"-999999\x14\x14\x00"),
          (_EDF_MAIN["recording"][0], _edf_text("Startdate 01-JAN-0001 X X X", 80))]),
        ("tal0=garbage", "record 0's annotation bytes are random", [noise(0, low=1)]),
        ("tal1=unterminated", "record 1's annotation has no terminator",
         [tal(1, b"+1\x14\x14+1.5\x14" + b"x" * width)]),
        ("tal1=huge-duration", "an annotation lasting 10**(many) s",
         [tal(1, b"+1\x14\x14\x00+1.5\x15" + nines[:-10] + b"\x14big\x14\x00")]),
        ("tal1=huge-onset", "an annotation 10**(many) s after the start",
         [tal(1, b"+1\x14\x14\x00+" + nines[:-10] + b"\x14far\x14\x00")]),
        ("tal=all-random", "every record's annotation bytes are random",
         [noise(r) for r in range(layout.n_records)]),
    ]
    plus_d = (_EDF_MAIN["reserved"][0],
              _edf_text(("BDF" if layout.bytes_per_sample == 3 else "EDF") + "+D", 44))
    d_cases = [
        ("plusD=valid", "EDF+D whose records are contiguous", []),
        ("plusD=backwards", "EDF+D whose record 2 starts before record 1",
         [tal(2, b"+0.5\x14\x14\x00")]),
        ("plusD=missing", "EDF+D with no time-keeping annotation in record 1", [tal(1, b"")]),
        ("plusD=gap", "EDF+D with a 1000 s gap before record 2",
         [tal(r, b"+%d\x14\x14\x00" % (1000 + r)) for r in range(2, layout.n_records)]),
        ("plusD=far", "EDF+D whose records from 2 on start 10**(many) s later",
         [tal(r, b"+" + nines[:-2] + b"%02d\x14\x14\x00" % r) for r in range(2, layout.n_records)]),
    ]
    d_cases = [(case_id, description, [plus_d] + edits) for case_id, description, edits in d_cases]
    for case_id, description, edits in corpus.thin(cases) + d_cases:
        damaged = bytearray(data)
        for offset, raw in edits:
            damaged[offset:offset + len(raw)] = raw
        corpus.write(case_id, "structure", description, bytes(damaged))


# -- neo fallback (BrainVision) ------------------------------------------------------------------
def write_brainvision(folder: str | Path, stem: str, counts: np.ndarray, *,
                      sampling_rate: float, resolution_uv: float = 0.1) -> Path:
    """A BrainVision set (``.vhdr``, ``.vmrk``, ``.eeg`` of int16 ``counts``); returns the .vhdr.

    Tracemark has no BrainVision backend: neo reads these, so they exercise the fallback.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n_channels = counts.shape[1]
    channels = "\n".join(f"Ch{i + 1}=E{i + 1},,{resolution_uv:g},µV" for i in range(n_channels))
    (folder / f"{stem}.vhdr").write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n[Common Infos]\nCodepage=UTF-8\n"
        f"DataFile={stem}.eeg\nMarkerFile={stem}.vmrk\nDataFormat=BINARY\n"
        f"DataOrientation=MULTIPLEXED\nNumberOfChannels={n_channels}\n"
        f"SamplingInterval={1e6 / sampling_rate:g}\n\n[Binary Infos]\nBinaryFormat=INT_16\n\n"
        f"[Channel Infos]\n{channels}\n", encoding="utf-8")
    (folder / f"{stem}.vmrk").write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n[Common Infos]\nCodepage=UTF-8\n"
        f"DataFile={stem}.eeg\n[Marker Infos]\n"
        "Mk1=New Segment,,1,1,0,20220601102030000000\nMk2=Stimulus,S  1,100,1,0\n",
        encoding="utf-8")
    (folder / f"{stem}.eeg").write_bytes(np.asarray(counts, dtype="<i2").tobytes())
    return folder / f"{stem}.vhdr"


_VHDR_VALUES = {
    "SamplingInterval": ("-1000", "0", "nan", "abc", "", "1e300", "1e-300"),
    "NumberOfChannels": ("0", "-1", "65535", "abc"),
    "DataFile": ("missing.eeg", ""),
    "BinaryFormat": ("INT_64", "FLOAT_128", ""),
    "DataOrientation": ("VECTORIZED", "SIDEWAYS"),
    "DataFormat": ("ASCII",),
    "Ch1": ("E1,,inf,µV", "E1,,nan,µV", "E1,,abc,µV", "E1,,0,µV", "E1"),
}


def neo_variants(source: str | Path, out_dir: str | Path, *, seed: int = 0,
                 extent: str = "full") -> list[DamagedFile]:
    """Damaged variants of a BrainVision set: header keys, channel lines, markers, samples."""
    source = Path(source)
    corpus = CaseWriter(source, out_dir, "neo", extent)
    for companion in (".eeg", ".vmrk"):  # every damaged header points at these copies
        shutil.copyfile(source.with_suffix(companion), corpus.out_dir / (source.stem + companion))
    header = source.read_text(encoding="utf-8")
    cases = [(f"{key}={value or 'blank'}", f"header line {key}= set to {value!r}",
              re.sub(rf"^{key}=.*$", f"{key}={value}", header, count=1, flags=re.M))
             for key, options in _VHDR_VALUES.items() for value in options]
    first_line, rest = header.split("\n", 1)
    noise = np.random.default_rng(seed).integers(0, 256, 512, dtype=np.uint8).tobytes()
    cases += [("Ch2=deleted", "the second channel's line removed",
               re.sub(r"^Ch2=.*\n", "", header, flags=re.M)),
              ("title=other", "not a BrainVision first line", "Something Else\n" + rest),
              ("binary-tail", "random bytes after the first line",
               first_line + "\n" + noise.decode("latin-1"))]
    for case_id, description, text in corpus.thin(cases):
        corpus.write(case_id, "field", description, text.encode("utf-8", "surrogateescape"))
    samples = source.with_suffix(".eeg").read_bytes()
    for cut in corpus.thin([0, 1, 3, len(samples) // 2 + 1, len(samples) - 1]):
        eeg = corpus.out_dir / f"{source.stem}~cut{cut}.eeg"
        eeg.write_bytes(samples[:cut])
        corpus.write(f"eeg-cut{cut}", "truncated", f"samples cut to {cut} of {len(samples)} bytes",
                     header.replace(f"DataFile={source.stem}.eeg", f"DataFile={eeg.name}").encode())
    markers = source.with_suffix(".vmrk").read_text(encoding="utf-8")
    for case_id, line in (("marker=abc", "Mk2=Stimulus,S  1,abc,1,0"),
                          ("marker=far", "Mk2=Stimulus,S  1,999999999999,1,0"),
                          ("marker=negative", "Mk2=Stimulus,S  1,-5,1,0")):
        # No '=' in the name: neo's ini parser would split the MarkerFile value there.
        vmrk = corpus.out_dir / f"{source.stem}~{case_id.replace('=', '-')}.vmrk"
        vmrk.write_text(re.sub(r"^Mk2=.*$", line, markers, flags=re.M), encoding="utf-8")
        corpus.write(case_id, "field", f"marker file line {line!r}",
                     header.replace(f"MarkerFile={source.stem}.vmrk",
                                    f"MarkerFile={vmrk.name}").encode())
    return corpus.cases


# -- any format ----------------------------------------------------------------------------------
EMPTY_SUFFIXES = (".TRC", ".trc", ".edf", ".bdf", ".nwb", ".h5", ".rec", ".abf", ".smr",
                  ".vhdr", ".ns5", "")
#: Suffixes neo's get_rawio knows, for random bytes that only the suffix can route.
NEO_SUFFIXES = (".abf", ".smr", ".vhdr", ".ns5", ".plx", ".rhd", ".set", ".dat", ".ncs")


def foreign_variants(sources: list[Path], out_dir: str | Path, *,
                     seed: int = 0) -> list[DamagedFile]:
    """Zero-length files, valid ``sources`` under other suffixes, random bytes behind magic."""
    out_dir = Path(out_dir)
    corpus = CaseWriter(None, out_dir, "any")
    rng = np.random.default_rng(seed)
    for suffix in EMPTY_SUFFIXES:
        corpus.write(f"empty-{suffix.lstrip('.') or 'no-suffix'}", "empty",
                     f"zero bytes named *{suffix}",
                     b"", suffix)
    other = {"trc": (".edf", ".nwb", ".bdf", ".abf"), "edf": (".nwb", ".TRC", ".abf"),
             "nwb": (".edf", ".TRC", ".h5", ".abf")}
    for source in sources:
        kind = sniff_kind(source)
        for suffix in other.get(kind, ()):
            if suffix.lower() == source.suffix.lower():
                continue
            path = corpus.path(f"{source.name}-as-{suffix.lstrip('.')}", suffix)
            shutil.copyfile(source, path)
            corpus.add(path, "suffix", f"valid {kind.upper()} {source.name} named *{suffix}",
                       source.name)
    noise = lambda n: rng.integers(0, 256, n, dtype=np.uint8).tobytes()  # noqa: E731
    trc_head = bytearray(noise(L.FIXED_HEADER_SIZE + 4096))
    trc_head[:32] = L.TITLE
    trc_head[L.FIXED_HEADER.fields["header_type"][1]] = L.SUPPORTED_HEADER_TYPE
    randoms = [
        ("trc-title+random", "a TRC title then random bytes", L.TITLE + noise(4096), ".TRC"),
        ("trc-type4+random", "TRC title and header type 4, all else random", bytes(trc_head),
         ".TRC"),
        ("edf-magic+random", "the EDF magic then random bytes", EDF_MAGIC + noise(4096), ".edf"),
        ("edf-magic+digits", "the EDF magic then random digits and spaces",
         EDF_MAGIC + bytes(rng.choice(list(b"0123456789 .-"), 4096).astype(np.uint8)), ".edf"),
        ("bdf-magic+random", "the BDF magic then random bytes", BDF_MAGIC + noise(4096), ".bdf"),
        ("hdf5-signature+random", "the HDF5 signature then random bytes",
         HDF5_SIGNATURE + noise(4096), ".nwb"),
        ("hdf5-userblock+random", "random bytes with the HDF5 signature at 512",
         noise(512) + HDF5_SIGNATURE + noise(4096), ".nwb"),
        ("text-as-edf", "a text file named .edf", b"hello, this is not a recording\n", ".edf"),
        ("png-as-nwb", "a PNG header named .nwb", b"\x89PNG\r\n\x1a\n" + noise(256), ".nwb"),
        ("random-no-suffix", "random bytes without a suffix", noise(4096), ""),
    ]
    randoms += [(f"random-{suffix.lstrip('.')}", f"random bytes named *{suffix}", noise(4096),
                 suffix)
                for suffix in NEO_SUFFIXES]
    for case_id, description, data, suffix in randoms:
        corpus.write(case_id, "random", description, data, suffix)
    for case_id, description, make in (("folder.edf", "a folder named .edf", True),
                                       ("empty-folder", "an empty folder", False)):
        path = corpus.path(case_id, "")
        path.mkdir()
        if make:
            (path / "inside.bin").write_bytes(noise(64))
        corpus.add(path, "random", description)
    if hasattr(os, "mkfifo"):
        path = corpus.path("fifo", ".edf")
        os.mkfifo(path)  # nothing ever writes to it: reading it would block for ever
        corpus.add(path, "random", "a named pipe named .edf")
    return corpus.cases


# -- valid sources -------------------------------------------------------------------------------
def shrink(source: str | Path, out_dir: str | Path, *, max_data_bytes: int = 1 << 16) -> Path:
    """A valid copy of a TRC or EDF/BDF file keeping its header and its first samples.

    Damaging a real file's header does not need its hour of samples; shrinking first keeps
    a corpus of real headers small. EDF keeps whole records (at least three, so that
    annotation damage has records to work on) and gets its record count patched; TRC keeps
    whole frames (its sample count comes from the file size). Other files are copied.
    """
    source, out_dir = Path(source), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{source.stem}-short{source.suffix}"
    data = source.read_bytes()
    kind = sniff_kind(source)
    if kind == "edf":
        layout = _edf_layout(data)
        keep = min(layout.n_records, max(3, max_data_bytes // max(layout.record_bytes, 1)))
        if layout.n_records >= 0:
            data = _patched(data, _EDF_MAIN["records"][0], _edf_text(str(keep), 8))
            data = data[:layout.header_bytes + keep * layout.record_bytes]
    elif kind == "trc":
        fixed = np.frombuffer(data[:L.FIXED_HEADER_SIZE], dtype=L.FIXED_HEADER, count=1)[0]
        frame = max(int(fixed["multiplexer"]), 1)
        data = data[:int(fixed["data_start"]) + max(max_data_bytes // frame, 1) * frame]
    target.write_bytes(data)
    return target



SOURCE_START = datetime(2022, 6, 1, 10, 20, 30)


def write_sources(folder: str | Path, *, seed: int = 0) -> list[Path]:
    """Small valid files written by Tracemark's own writers, for :func:`damaged_variants`."""
    from tracemark.demo.nwb_writer import ExtraSeries, write_nwb
    from tracemark.demo.trc_writer import TrcChannel, write_trc_array, write_trc_frames
    from tracemark.io_backends.edf_writer import write_edf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    signals = rng.normal(0, 30, (2048, 4)).astype(np.float64)
    names = ["Fp1", "Fp2", "C3", "C4"]
    paths = [
        write_trc_array(folder / "small_4ch_256Hz.TRC", signals, channel_names=names,
                        sampling_rate=256, compact=True, start_datetime=SOURCE_START,
                        triggers=[(0, 1), (300, 2), (1500, 3)], notes=[(100, "eyes closed")],
                        event_a=[(200, 260)], order=[2, 0, 3, 1]),
    ]
    two_rates = [TrcChannel("EEG", rate_coefficient=1), TrcChannel("EMG", rate_coefficient=2),
                 TrcChannel("ECG", rate_coefficient=1)]
    frames = rng.integers(0, 65536, (512, 4), dtype=np.int64).astype(np.uint16)
    paths.append(write_trc_frames(folder / "two_rates_128Hz.TRC", two_rates, 128, [frames],
                                  n_frames=512, compact=True, triggers=[(10, 5)]))
    edf_data = [rng.normal(0, 50, 256 * 5), rng.normal(0, 50, 100 * 5)]
    annotations = [(0.5, 0.0, "start"), (1.25, 2.0, "stimulus"), (4.0, 0.0, "end")]
    # The BDF's long note widens its annotation signal past 309 bytes, room enough for
    # a damaged onset whose digits overflow a float to infinity.
    wide = annotations + [(2.5, 0.0, "a long note " + "x" * 400)]
    for name, bdf in (("small_2rates.edf", False), ("small_2rates.bdf", True)):
        write_edf(folder / name, [edf_data], channel_names=["EEG Fz", "Resp"],
                  sampling_rates=[256, 100], physical_ranges=[(-500, 500), (-1000, 1000)],
                  bdf=bdf, start_datetime=SOURCE_START, annotations=wide if bdf else annotations)
        paths.append(folder / name)
    status = np.repeat(np.array([0, 0, 3, 0, 7, 0]), 1024 // 6 + 1)[:1024]
    write_edf(folder / "status.bdf", [[rng.normal(0, 50, 1024), status]],
              channel_names=["Cz", "Status"], sampling_rates=[512, 512],
              physical_ranges=[(-500, 500), (-8388608, 8388607)], bdf=True,
              digital_ranges=[(-8388608, 8388607), (-8388608, 8388607)],
              start_datetime=SOURCE_START)
    paths.append(folder / "status.bdf")
    stamps = np.cumsum(rng.uniform(0.005, 0.015, 300))
    paths.append(write_brainvision(folder, "small_3ch_500Hz", rng.integers(-2000, 2000, (1500, 3)),
                                   sampling_rate=500.0))
    paths.append(write_nwb(
        folder / "small_4ch_200Hz.nwb", [signals[:1000]], channel_names=names,
        sampling_rate=200.0, n_samples=1000,
        start_datetime=SOURCE_START.replace(tzinfo=timezone.utc),
        events=[(0.5, 0.1, "pulse"), (2.0, 0.0, "pulse"), (4.0, 0.5, "rest")],
        extra_series=[ExtraSeries("pressure", rng.normal(size=300), "Pa", timestamps=stamps)]))
    return paths
