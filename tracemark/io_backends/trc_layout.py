"""Byte layout of Micromed "System98/Brain-Quick" (header type 4) ``.TRC`` files.

One place states the layout as numpy structured dtypes, so that the reader
(:mod:`tracemark.io_backends.trc_header`) and the writer
(:mod:`tracemark.demo.trc_writer`) cannot disagree about an offset. Everything is
little-endian. No I/O happens here.

Fixed header, 640 bytes (``FIXED_HEADER``)
    title (32 bytes, contains ``MICROMED``), laboratory, patient surname and first
    name, birth date, recording date-time (day, month, year-1900, hour, minute,
    second: one byte each), acquisition unit, file type, ``data_start`` (byte offset
    of the samples), ``n_channels``, ``multiplexer`` (bytes in one multiplexed frame),
    ``rate_min`` (Hz), ``bytes_per_sample`` (1, 2 or 4), compression flag, number of
    montages, digital-video start, MPEG delay, ``header_type`` (byte 175, 4 here) and
    15 zone descriptors from byte 176 (name 8 bytes space-padded, offset u4, length
    u4) in the fixed order of ``ZONE_NAMES``.

Zones
    ORDER    u2 per stored channel: the slot of its electrode record in LABCOD.
    LABCOD   128-byte electrode records (``ELECTRODE``).
    NOTE     (sample u4, text 40 bytes); unused records are all zero.
    TRONCA   (time in samples u4, sample offset u4); all zero = one continuous segment.
    EVENT A/B (code u4, start u4, stop u4); unused records are all zero.
    TRIGGER  (sample u4, code u2); unused records are 0xFF-filled.
    FLAGS, IMPED_B/E, MONTAGE, COMPRESS, AVERAGE, HISTORY, DVIDEO are not read.

Samples
    Unsigned integers of ``bytes_per_sample`` bytes, multiplexed frame by frame
    (channel 0, channel 1, ... then the next frame), from ``data_start`` to the end
    of the file; the file size, not the header, gives the sample count. Physical
    value = (raw - logic_ground) * (phys_max - phys_min) / (logic_max - logic_min + 1)
    in the electrode's unit. A channel's rate is ``rate_min * rate_coefficient``.
"""

from __future__ import annotations

import numpy as np

FIXED_HEADER_SIZE = 640
SUPPORTED_HEADER_TYPE = 4
TITLE = b"* MICROMED  Brain-Quick file *  "
TITLE_MARK = b"MICROMED"
ELECTRODE_RECORD_SIZE = 128

ZONE_NAMES = ("ORDER", "LABCOD", "NOTE", "FLAGS", "TRONCA", "IMPED_B", "IMPED_E",
              "MONTAGE", "COMPRESS", "AVERAGE", "HISTORY", "DVIDEO", "EVENT A",
              "EVENT B", "TRIGGER")

#: Zone lengths of a "full size" header (256-channel ORDER, 640 electrode records,
#: 200 notes, 100 events, 8192 triggers), as acquisition software writes them.
FULL_ZONE_LENGTHS = {
    "ORDER": 512, "LABCOD": 81920, "NOTE": 8800, "FLAGS": 800, "TRONCA": 800,
    "IMPED_B": 512, "IMPED_E": 512, "MONTAGE": 122880, "COMPRESS": 10, "AVERAGE": 128,
    "HISTORY": 123392, "DVIDEO": 16384, "EVENT A": 1200, "EVENT B": 1200,
    "TRIGGER": 49152,
}

HEADER_TYPE_NAMES = {
    0: 'Micromed "System 1"', 1: 'Micromed "System 1"', 2: 'Micromed "System 2"',
    3: 'Micromed "System98" (type 3)', 4: 'Micromed "System98/Brain-Quick"',
}

ZONE_DESCRIPTOR = np.dtype([("name", "S8"), ("offset", "<u4"), ("length", "<u4")])

FIXED_HEADER = np.dtype({
    "names": ["title", "laboratory", "surname", "first_name", "birth",
              "recorded", "acquisition_unit", "file_type", "data_start", "n_channels",
              "multiplexer", "rate_min", "bytes_per_sample", "compression",
              "n_montages", "dvideo_begin", "mpeg_delay", "header_type", "zones"],
    "formats": ["S32", "S32", "S22", "S20", ("u1", 3), ("u1", 6), "<i2", "<u2", "<u4",
                "<u2", "<u2", "<u2", "<u2", "<u2", "<u2", "<u4", "<u2", "i1",
                (ZONE_DESCRIPTOR, len(ZONE_NAMES))],
    "offsets": [0, 32, 64, 86, 106, 128, 134, 136, 138, 142, 144, 146, 148, 150, 152,
                154, 158, 175, 176],
    "itemsize": FIXED_HEADER_SIZE,
})

ELECTRODE = np.dtype([
    ("status", "u1"), ("type", "u1"), ("positive", "S6"), ("negative", "S6"),
    ("logic_min", "<i4"), ("logic_max", "<i4"), ("logic_ground", "<i4"),
    ("physical_min", "<i4"), ("physical_max", "<i4"), ("unit", "<i2"),
    ("highpass_limit", "<u2"), ("highpass_type", "<u2"),
    ("lowpass_limit", "<u2"), ("lowpass_type", "<u2"),
    ("rate_coefficient", "<u2"), ("position", "<u2"),
    ("latitude", "<f4"), ("longitude", "<f4"), ("in_map", "u1"), ("in_average", "u1"),
    ("description", "S32"), ("x", "<f4"), ("y", "<f4"), ("z", "<f4"),
    ("coordinate_type", "<u2"), ("free", "V24"),
])
assert ELECTRODE.itemsize == ELECTRODE_RECORD_SIZE

NOTE = np.dtype([("sample", "<u4"), ("text", "S40")])
TRIGGER = np.dtype([("sample", "<u4"), ("code", "<u2")])
EVENT = np.dtype([("code", "<u4"), ("start", "<u4"), ("stop", "<u4")])
SEGMENT = np.dtype([("time", "<u4"), ("sample", "<u4")])

UNUSED_TRIGGER_SAMPLE = 0xFFFFFFFF

UNIT_NAMES = {-1: "nV", 0: "uV", 1: "mV", 2: "V", 100: "%", 101: "bpm",
              102: "dimensionless"}
UNIT_CODES = {name: code for code, name in UNIT_NAMES.items()}
UNIT_CODES.update({"µV": 0, "μV": 0, "percent": 100, "": 102})

#: Logic (integer) ranges this project writes: (min, max, ground). 4-byte codes stay
#: below 2**31 so that readers using int32 and uint32 agree.
LOGIC_RANGES = {1: (0, 255, 128), 2: (0, 65535, 32768), 4: (0, 2**31 - 1, 2**30)}

#: Text in names and notes: cp1252 is a superset of ASCII and what Windows wrote.
TEXT_ENCODING = "cp1252"


def decode_text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode(TEXT_ENCODING, errors="replace").strip()
