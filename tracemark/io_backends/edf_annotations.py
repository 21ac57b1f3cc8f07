"""EDF+/BDF+ annotations (TALs) and BDF status-channel triggers, read from the data records.

A Time-stamped Annotation List is ``+onset[\\x15duration]\\x14text\\x14[text\\x14...]\\x00``.
The first TAL of every record in the first annotation signal is the record's time-keeping
TAL: its onset is the record's onset (relative to the header's start time) and its *first*
annotation text is empty. The same TAL may carry further texts after the empty one
(``+12.5\\x14\\x14Eyes closed\\x14\\x00``); Nihon Kohden exports put their annotations
there, so every TAL of every record is parsed, the time-keeping one included. An onset
beyond :data:`MAX_RECORD_ONSET_S` is damage and counts as no time-keeping TAL.

Only the bytes of the annotation signals are read, a block of records at a time with
positional reads, so the cost is proportional to the number of records times the
annotation signals' width, not to the size of the file. Malformed TALs (an onset that is
no number or overflows a float, no ``\\x14`` after the onset, a TAL running past the end
of its record without a ``\\x00``) are counted in :class:`TalParseProblems`, never fatal;
a TAL without text (a bare time-keeping TAL) has nothing to place and is not checked.

What is matched with mne (``mne.read_annotations(path)``, mne 1.13)
    * One event per non-empty annotation text, at ``onset - first record's onset``, with
      the TAL's duration (0 when absent), whichever TAL holds it: time-keeping or not,
      first or later annotation signal, contiguous or EDF+D records with gaps (onsets stay
      true times, as the gapped time axis of :mod:`.edf` is).
    * TALs are taken in file order (record by record, signals in header order) and
      duplicates are dropped as mne drops them. mne keys each annotation by the text of
      its onset, its duration (``0`` when absent, which is not the key of an explicit
      ``\\x150``) and its text. The first copy takes the plain key; any later copy takes
      the key plus the index of its TAL, and a further copy in that same TAL overwrites
      it. So identical annotations in different TALs are all kept, and within one TAL at
      most two are kept (the TAL that first holds the annotation) or one (any later TAL).
      mne builds these keys as strings, so in theory a text ending in ``_<number>`` can
      collide with a suffixed key; the keys here are tuples and never collide.
    * Texts are UTF-8 and kept as written (not stripped); ``text@@channel`` stays one text,
      since ``read_annotations`` gets no channel names to split on.

Where this deliberately differs from mne, on files that break the spec or where mne is
inconsistent
    * Annotations in the *first* record's time-keeping TAL: mne does not subtract that
      record's onset from them (it sets its offset only after reading that TAL), so with
      a sub-second start of 0.25 s mne places them at 0.25 s, every other annotation
      relative to the first record. Here they are at 0 s, their true place.
    * mne finds TALs with one regular expression over the whole file, whose ``.`` does
      not match ``\\n``: a text holding a line break is skipped there and kept here. Its
      pattern also runs on past a ``\\x00`` when a TAL lacks the closing ``\\x14``, gluing
      two TALs into one; here a TAL ends at its ``\\x00`` and its texts are kept.
    * Invalid UTF-8 raises in mne; here it becomes U+FFFD.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np

from .protocol import Event
from .rawfile import RecordFile

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


def record_onsets(records: RecordFile | np.ndarray, offset: int, width: int) -> np.ndarray:
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


def first_record_onset(records: RecordFile | np.ndarray, offset: int, width: int) -> float | None:
    """Onset of record 0 from its time-keeping TAL, or ``None`` when absent."""
    if records.shape[0] == 0:
        return None
    return _timekeeping_onset(bytes(records[0, offset:offset + width]))


def parse_annotations(records: RecordFile | np.ndarray, signals: Iterable[tuple[int, int]], origin_s: float,
                      problems: TalParseProblems) -> list[Event]:
    """Every non-empty annotation text of the annotation ``signals`` as an :class:`Event`.

    ``signals`` are ``(record_offset, width_bytes)`` of each annotation signal, in header
    order. Every TAL counts, the time-keeping ones included (their first, empty text is
    skipped like any empty text). Times are relative to ``origin_s`` (the first record's
    onset, i.e. the recording start). Duplicates are dropped as mne drops them (see the
    module docstring).
    """
    ordered = sorted(signals)
    kept = _MneDeduplicated()
    if not ordered:
        return []
    span = (ordered[0][0], ordered[-1][0] + ordered[-1][1])
    # Annotation signals usually sit side by side at the end of a record: then one read
    # per block of records fetches them all.
    adjacent = span[1] - span[0] == sum(width for _, width in ordered)
    for first in range(0, records.shape[0], _BLOCK_RECORDS):
        rows = slice(first, first + _BLOCK_RECORDS)
        if adjacent:
            both = records[rows, span[0]:span[1]]
            blocks = [both[:, offset - span[0]:offset - span[0] + width] for offset, width in ordered]
        else:
            blocks = [records[rows, offset:offset + width] for offset, width in ordered]
        blocks = [np.asarray(block, dtype=np.uint8) for block in blocks]
        worth_parsing = [_not_bare(block) for block in blocks]
        for j in np.flatnonzero(np.logical_or.reduce(worth_parsing)):
            for block, worth in zip(blocks, worth_parsing):
                if worth[j]:
                    for tal in _record_tals(block[j].tobytes(), first + int(j), problems):
                        _parse_tal(kept, tal, origin_s, first + int(j), problems)
    return kept.events()


def _not_bare(block: np.ndarray) -> np.ndarray:
    """Rows of annotation bytes that may hold a text (or damage) and must be parsed.

    Nearly every record holds only its time-keeping TAL (``+onset\\x14\\x14\\x00``, then
    NULs) or nothing. Both are told apart here in a few vectorised passes, so that the
    per-record Python work is spent only on the records with annotations: a row is bare
    when its bytes up to the trailing NULs hold no NUL, exactly two ``\\x14`` and end with
    both.
    """
    n, width = block.shape
    nonzero = block != 0
    filled = nonzero.sum(axis=1)
    if width < 3:
        filled_rows: np.ndarray = filled > 0
        return filled_rows
    last = width - 1 - np.argmax(nonzero[:, ::-1], axis=1)  # last non-NUL byte
    rows = np.arange(n)
    bare = ((filled == last + 1) & (last >= 2) & (last < width - 1)
            & ((block == 0x14).sum(axis=1) == 2)
            & (block[rows, last] == 0x14) & (block[rows, np.maximum(last - 1, 0)] == 0x14))
    annotated: np.ndarray = (filled > 0) & ~bare
    return annotated


class _MneDeduplicated:
    """Annotations kept under mne's keys; see the module docstring for the rule."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[object, ...], Event] = {}
        self._tal_index = -1

    def next_tal(self) -> None:
        self._tal_index += 1

    def add(self, onset: float, duration_text: bytes | None, text: str, event: Event) -> None:
        # repr() of the floats, as mne's f-string key: -0.0 and 0.0 are different keys,
        # and an absent duration (int 0) is not an explicit one of 0.0.
        key: tuple[object, ...] = (repr(onset), repr(float(duration_text)) if duration_text else "0", text)
        if key in self._by_key:
            key += (self._tal_index,)
        self._by_key[key] = event

    def events(self) -> list[Event]:
        return list(self._by_key.values())


def _record_tals(raw: bytes, record: int, problems: TalParseProblems) -> list[bytes]:
    """The TALs of one record's annotation bytes; one running past the record is counted."""
    data = raw.rstrip(b"\x00")  # first: most records of a wide signal are padding only
    if not data:
        return []
    tals = data.split(b"\x00")
    if len(data) == len(raw):  # no NUL after the last TAL: it runs past the record's end
        problems.add(record, tals.pop())
    return [tal for tal in tals if tal]


def _parse_tal(kept: _MneDeduplicated, tal: bytes, origin_s: float, record: int,
               problems: TalParseProblems) -> None:
    head, separator, rest = tal.partition(b"\x14")
    if separator and not rest.strip(b"\x14"):
        return  # no text (a bare time-keeping TAL): nothing to place
    match = _ONSET.match(head)
    if match is None or not separator:
        problems.add(record, tal)
        return
    onset = float(match.group(1)) - origin_s
    duration_text = match.group(2)
    duration = float(duration_text) if duration_text else 0.0
    if not (math.isfinite(onset) and math.isfinite(duration)):
        problems.add(record, tal)  # 310+ digits overflow a float: no time to place it at
        return
    kept.next_tal()
    for text in rest.split(b"\x14"):
        if text:
            label = text.decode("utf-8", errors="replace")
            kept.add(onset, duration_text, label, Event(onset, duration, label, "annotation"))


def _timekeeping_onset(raw: bytes) -> float | None:
    head = raw.split(b"\x14", 1)[0]
    match = _ONSET.match(head)
    if match is None:
        return None
    onset = float(match.group(1))
    # A damaged onset of 10**60 s (or so many digits that it overflows to infinity)
    # cannot place a record in time, and would put the start date past year 9999.
    return onset if abs(onset) < MAX_RECORD_ONSET_S else None


def status_events(blocks: Iterable[np.ndarray], rate: float, *, mask: int | None = 0xFFFF,
                  source: str = "status", max_change_rate: float | None = None) -> list[Event]:
    """Trigger events from a BioSemi ``Status`` channel's raw values, given in blocks.

    The low 16 bits carry the trigger code (the high byte is device state: CMS, battery,
    speed mode). An event starts where the code changes to a non-zero value and lasts
    until it changes again. A code already present at the first sample is a state, not an
    observed change (as in mne's ``find_events`` with ``initial_event=False``). Times are
    seconds from the first sample.

    Other trigger channels pass integer codes with ``mask=None`` and their own ``source``;
    with ``max_change_rate``, a channel whose code changes at more than that fraction of
    its samples (beyond the first hundred changes) is an analog signal, not a trigger
    line, and gives no events.
    """
    starts, codes_at, previous, position = [], [], None, 0
    changes = 0
    for block in blocks:
        codes = np.asarray(block, dtype=np.int64)
        if mask is not None:
            codes = codes & mask
        if codes.size == 0:
            continue
        if previous is None:
            changed = np.flatnonzero(np.diff(codes)) + 1
        else:
            changed = np.flatnonzero(np.diff(codes, prepend=previous))
        changes += changed.size
        if max_change_rate is not None and changes > 100 + max_change_rate * (position + codes.size):
            return []
        starts.append(changed + position)
        codes_at.append(codes[changed])
        previous, position = codes[-1], position + codes.size
    if not starts:
        return []
    start = np.concatenate(starts)
    code = np.concatenate(codes_at)
    end = np.append(start[1:], position)
    keep = code != 0
    return [Event(float(s / rate), float((e - s) / rate), str(int(c)), source)
            for s, e, c in zip(start[keep], end[keep], code[keep])]
