"""EDF+/BDF+ annotations (TALs) and BDF status-channel triggers, read from the data records.

A Time-stamped Annotation List is ``+onset[\\x15duration]\\x14text\\x14[text\\x14...]\\x00``.
The first TAL of every record in the first annotation signal is the record's time-keeping
TAL (onset of the record relative to the header's start time, no text); an onset beyond
:data:`MAX_RECORD_ONSET_S` is damage and counts as no time-keeping TAL, and an annotation
whose onset or duration overflows a float is counted as malformed. Only the bytes of
the annotation signals are read, record by record with positional reads, so the
cost is proportional to the number of records times the annotation signal's width, not to
the size of the file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np

from .protocol import Event

#: Records parsed per block: bounds memory for files with hundreds of thousands of records.
_BLOCK_RECORDS = 4096
#: Record onsets beyond this (about 300 years) are damage, not time-keeping.
MAX_RECORD_ONSET_S = 1e10
_ONSET = re.compile(rb"^([+-]\d+(?:\.\d*)?)(?:\x15(\d+(?:\.\d*)?))?$")


class TalParseProblems:
    """Counts malformed TALs instead of failing on them: one bad byte must not hide the data."""

    def __init__(self) -> None:
        self.count = 0
        self.first: str = ""

    def add(self, record: int, tal: bytes) -> None:
        if not self.count:
            self.first = f"record {record}: {tal[:40]!r}"
        self.count += 1


def record_onsets(records: np.ndarray, offset: int, width: int) -> np.ndarray:
    """Onset (s, relative to the header start time) of every record, from the time-keeping TALs.

    ``records`` is indexed like a ``(n_records, record_bytes)`` uint8 array (a
    :class:`~.rawfile.RecordFile`); only ``width`` bytes at
    ``offset`` of each record are read. Raises ``ValueError`` naming the first record whose
    time-keeping TAL is missing or malformed.
    """
    n = records.shape[0]
    onsets = np.empty(n, dtype=np.float64)
    for first in range(0, n, _BLOCK_RECORDS):
        block = np.ascontiguousarray(records[first:first + _BLOCK_RECORDS, offset:offset + width])
        for j, row in enumerate(block):
            onset = _timekeeping_onset(row.tobytes())
            if onset is None:
                raise ValueError(f"data record {first + j} has no valid time-keeping annotation")
            onsets[first + j] = onset
    return onsets


def first_record_onset(records: np.ndarray, offset: int, width: int) -> float | None:
    """Onset of record 0 from its time-keeping TAL, or ``None`` when absent."""
    if records.shape[0] == 0:
        return None
    return _timekeeping_onset(bytes(records[0, offset:offset + width]))


def parse_annotations(records: np.ndarray, signals, origin_s: float,
                      problems: TalParseProblems) -> list[Event]:
    """Every non-empty annotation text in the annotation ``signals`` as an :class:`Event`.

    ``signals`` are ``(record_offset, width_bytes, is_first)``; the first annotation signal's
    first TAL per record is time-keeping and skipped. Times are relative to ``origin_s``
    (the first record's onset, i.e. the recording start).
    """
    events: list[Event] = []
    for offset, width, is_first in signals:
        for first in range(0, records.shape[0], _BLOCK_RECORDS):
            block = np.ascontiguousarray(records[first:first + _BLOCK_RECORDS, offset:offset + width])
            for j, row in enumerate(block):
                data = row.tobytes().rstrip(b"\x00")
                if not data:
                    continue
                tals = data.split(b"\x00")
                if is_first:
                    tals = tals[1:]
                for tal in tals:
                    if tal:
                        _append_tal(events, tal, origin_s, first + j, problems)
    return events


def _append_tal(events: list[Event], tal: bytes, origin_s: float, record: int,
                problems: TalParseProblems) -> None:
    head, _, rest = tal.partition(b"\x14")
    match = _ONSET.match(head)
    if match is None or not _:
        problems.add(record, tal)
        return
    onset = float(match.group(1)) - origin_s
    duration = float(match.group(2)) if match.group(2) else 0.0
    if not (math.isfinite(onset) and math.isfinite(duration)):
        problems.add(record, tal)  # 310+ digits overflow a float: no time to place it at
        return
    for text in rest.split(b"\x14"):
        if text:
            label = text.decode("utf-8", errors="replace")
            events.append(Event(onset, duration, label, "annotation"))


def _timekeeping_onset(raw: bytes) -> float | None:
    head = raw.split(b"\x14", 1)[0]
    match = _ONSET.match(head)
    if match is None:
        return None
    onset = float(match.group(1))
    # A damaged onset of 10**60 s (or so many digits that it overflows to infinity)
    # cannot place a record in time, and would put the start date past year 9999.
    return onset if abs(onset) < MAX_RECORD_ONSET_S else None


def status_events(blocks: Iterable[np.ndarray], rate: float) -> list[Event]:
    """Trigger events from a BioSemi ``Status`` channel's raw values, given in blocks.

    The low 16 bits carry the trigger code (the high byte is device state: CMS, battery,
    speed mode). An event starts where the code changes to a non-zero value and lasts
    until it changes again. A code already present at the first sample is a state, not an
    observed change (as in mne's ``find_events`` with ``initial_event=False``). Times are
    seconds from the first sample.
    """
    starts, codes_at, previous, position = [], [], None, 0
    for block in blocks:
        codes = np.asarray(block, dtype=np.int64) & 0xFFFF
        if codes.size == 0:
            continue
        if previous is None:
            changed = np.flatnonzero(np.diff(codes)) + 1
        else:
            changed = np.flatnonzero(np.diff(codes, prepend=previous))
        starts.append(changed + position)
        codes_at.append(codes[changed])
        previous, position = codes[-1], position + codes.size
    if not starts:
        return []
    start = np.concatenate(starts)
    code = np.concatenate(codes_at)
    end = np.append(start[1:], position)
    keep = code != 0
    return [Event(float(s / rate), float((e - s) / rate), str(int(c)), "status")
            for s, e, c in zip(start[keep], end[keep], code[keep])]
