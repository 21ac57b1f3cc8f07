"""The journal: an append-only, checksummed log of committed edits beside the cache file.

An edit is acknowledged once its record is appended and fdatasync'd here: this file is the
moment of durability (see ``docs/cache-format.md`` and the measurements in the research
note on HDF5 write safety, where every design that survived crashes had an fsync'd log as
its acknowledgement). The HDF5 file catches up at checkpoints. The journal is never
truncated below a committed record, so it is also the audit trail used for undo/redo.

File format, version 2 (text, UTF-8)::

    TRACEMARK-JOURNAL 2 <cache-id>\n<spaces>\n              <- the whole first 512-byte sector
    <crc32 as 8 hex digits> <payload length> <payload JSON>\n<spaces>\n   <- from a sector start
    ...

Each record starts on a 512-byte boundary and is padded with a line of spaces up to the
next one. Why: a disk that loses power during a write may garble every sector the write
touched (SQLite's crash model, in its test6); when records shared sectors, a torn append
destroyed the acknowledged record before it, or the header, in 2 of 100 simulated power
losses. Now an append touches only sectors no acknowledged byte lives in. The cost is
the padding: about 256 bytes per record on average, and no extra write or sync.

A record is valid only when its line is complete, its length matches and its CRC
matches; lines of spaces (padding) are skipped wherever they are. A crash can leave at
most one torn record at the end; readers stop before it and the next writer cuts it off
and pads the journal back to a sector boundary. Values inside records are the encoded
attribute strings (or ``null`` for "attribute absent"), so NaN and infinity never meet
JSON.

Version 1 journals (the same records, one after another, without padding) are read as
before. The first writer to open one rewrites it as version 2 (every valid record kept
byte for byte; written beside it, fsync'd and renamed over it) before appending, since
appending to it would share sectors again. Readers notice the replaced file and follow
the new one. An older Tracemark, which knows only version 1, shows such a cache's HDF5
file alone and refuses to edit it, as for any journal from the future.

Reads at an offset and the binary open flag come from :mod:`.portable_io`, since Windows
has no ``pread`` and opens files in text mode unless told otherwise.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import fsops, portable_io
from .errors import JournalError

MAGIC = b"TRACEMARK-JOURNAL"
VERSION = 2
#: Versions this module reads; version 1 has no sector padding.
READABLE_VERSIONS = (1, 2)
#: The unit a power loss may garble whole; no record shares one with an earlier record.
SECTOR = 512


@dataclass(frozen=True)
class Change:
    """One attribute of one trace: ``old``/``new`` are stored strings, ``None`` = absent."""

    origin: str
    trace: str
    key: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Record:
    """One committed transaction: every change in it is applied, or none is."""

    seq: int
    tx: str
    kind: str  # "edit", "undo" or "redo"
    time: str
    user: str
    host: str
    pid: int
    changes: tuple[Change, ...]
    #: For undo/redo: the ``tx`` of the edit being undone or redone.
    target: str | None = None
    note: str = ""
    #: Set by a merge: the cache file (name) whose journal this record was copied from.
    source: str = ""
    offset: int = field(default=-1, compare=False)

    def to_payload(self) -> bytes:
        body = {"seq": self.seq, "tx": self.tx, "kind": self.kind, "target": self.target,
                "time": self.time, "user": self.user, "host": self.host, "pid": self.pid,
                "note": self.note,
                "changes": [[c.origin, c.trace, c.key, c.old, c.new] for c in self.changes]}
        if self.source:  # only merged records carry it; older readers ignore the field
            body["source"] = self.source
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Record:
        """The record in ``payload``; ``ValueError`` when it is not one this module wrote
        (a checksum only proves the bytes are as written, not who wrote them)."""
        body = json.loads(payload)
        if not isinstance(body, dict) or not isinstance(body.get("changes"), list):
            raise ValueError("not a journal record")
        changes = tuple(Change(*c) for c in body["changes"])
        if not all(len(c) == 5 for c in body["changes"]) or not all(
                _is_text(c.origin, c.trace, c.key) and _is_text_or_none(c.old, c.new)
                for c in changes):
            raise ValueError("a change is not [origin, trace, key, old, new] of text")
        record = cls(seq=body["seq"], tx=body["tx"], kind=body["kind"], time=body["time"],
                     user=body["user"], host=body["host"], pid=body["pid"], changes=changes,
                     target=body.get("target"), note=body.get("note", ""),
                     source=body.get("source", ""), offset=offset)
        if (type(record.seq) is not int or record.seq < 1 or record.kind not in KINDS
                or not _is_text(record.tx, record.time, record.user, record.host, record.note,
                                record.source)
                or not _is_text_or_none(record.target) or type(record.pid) is not int):
            raise ValueError("a field of the record has the wrong type")
        return record


KINDS = ("edit", "undo", "redo")


def _is_text(*values: object) -> bool:
    return all(isinstance(v, str) for v in values)


def _is_text_or_none(*values: object) -> bool:
    return all(v is None or isinstance(v, str) for v in values)


def frame(payload: bytes) -> bytes:
    """One record line (what version 1 wrote, and what version 2 pads)."""
    return b"%08x %d %s\n" % (zlib.crc32(payload), len(payload), payload)


def padded(line: bytes, start: int = 0) -> bytes:
    """``line`` (written at ``start``) followed by a line of spaces up to the next sector
    boundary; nothing is added when it already ends on one."""
    short = -(start + len(line)) % SECTOR
    if short == 0:
        return line
    return line + b" " * (short - 1) + b"\n"


def header_bytes(cache_id: str) -> bytes:
    return padded(b"%s %d %s\n" % (MAGIC, VERSION, cache_id.encode("ascii")))


def is_padding(line: bytes) -> bool:
    return not line.strip(b" ")


def journal_path(cache_path: Path) -> Path:
    return cache_path.with_name(cache_path.name + ".journal")


@dataclass
class ScanResult:
    records: list[Record]
    #: Offset just past the last valid record: where the next record belongs.
    end: int
    #: Bytes after ``end`` that are not a valid record (a torn write, or damage).
    trailing: int
    #: The first line after ``end`` is complete (it ends in a newline) but not a valid
    #: record, or it is out of order: damage, not a write in progress.
    bad_line: bool = False
    #: Sequence number of the last valid record scanned (kept or not).
    last_seq: int | None = None


def read_header(fd: int, path: Path) -> tuple[str, int, int]:
    """(cache id, offset of the first record, journal version)."""
    try:
        head = portable_io.read_at(fd, 256, 0)
    except OSError as error:
        raise JournalError(path, f"cannot be read ({error.strerror})") from error
    line, sep, _ = head.partition(b"\n")
    parts = line.split(b" ")
    if not sep or len(parts) != 3 or parts[0] != MAGIC or not parts[2].isascii():
        raise JournalError(path, "is not a Tracemark journal (bad first line)")
    version = parts[1].decode(errors="replace")
    if version not in {str(v) for v in READABLE_VERSIONS}:
        raise JournalError(path, f"journal version {version!r} is not supported by this "
                                 f"Tracemark (it reads versions "
                                 f"{', '.join(map(str, READABLE_VERSIONS))})")
    return parts[2].decode("ascii"), len(line) + 1, int(version)


#: No record is longer (a transaction of 100,000 values is about 20 MB); a longer "line"
#: is damage, and reading stops looking for its end.
MAX_RECORD_BYTES = 64 << 20
_CHUNK = 1 << 20


def lines(fd: int, start: int, stop: int | None = None) -> Iterator[tuple[int, bytes | None]]:
    """``(offset, line)`` for each complete line from ``start`` on, read in bounded chunks;
    ``line`` is ``None`` for one longer than :data:`MAX_RECORD_BYTES`. Holes of a sparse
    file (what a crash can leave after a size change) are skipped, not read: they hold
    zeros, never a newline."""
    size = os.fstat(fd).st_size if stop is None else stop
    buffer, buf_start, line_start, read_at, searched = bytearray(), start, start, start, 0
    while True:
        newline = buffer.find(b"\n", searched)
        if newline >= 0:
            end = buf_start + newline
            long = end - line_start > MAX_RECORD_BYTES
            yield line_start, None if long else bytes(buffer[:newline])
            del buffer[:newline + 1]
            buf_start = line_start = end + 1
            searched = 0
            continue
        searched = len(buffer)
        if buf_start + len(buffer) - line_start > MAX_RECORD_BYTES:
            buf_start += len(buffer)  # too long for a record: keep looking for its end only
            buffer.clear()
            searched = 0
        if read_at >= size:
            return
        data_at = _next_data(fd, read_at)
        if data_at is None or data_at >= size:
            return
        if data_at > read_at:
            if data_at - line_start > MAX_RECORD_BYTES:
                buffer.clear()
                buf_start, searched = data_at, 0
            else:
                buffer += bytes(data_at - read_at)
            read_at = data_at
        chunk = portable_io.read_at(fd, min(_CHUNK, size - read_at), read_at)
        if not chunk:
            return
        read_at += len(chunk)
        buffer += chunk


def _next_data(fd: int, offset: int) -> int | None:
    """The first offset >= ``offset`` that is not in a hole; ``None`` if only a hole follows."""
    seek_data = getattr(os, "SEEK_DATA", None)
    if seek_data is None:
        return offset
    try:
        return os.lseek(fd, offset, seek_data)
    except OSError as error:
        return None if error.errno == errno.ENXIO else offset


def scan(fd: int, start: int, after_seq: int = 0, limit: int | None = None,
         last_seq: int | None = None) -> ScanResult:
    """Valid records from ``start`` on (those with ``seq > after_seq``), stopping at the
    first incomplete or damaged one, at one whose ``seq`` does not exceed the previous
    one's (or ``last_seq``), or after ``limit`` records."""
    size = os.fstat(fd).st_size
    records: list[Record] = []
    end, bad = start, False
    for offset, line in lines(fd, start, size):
        if limit is not None and len(records) >= limit:
            break
        if line is not None and is_padding(line):
            end = offset + len(line) + 1
            continue
        record = _parse_line(line, offset) if line is not None else None
        if record is None or (last_seq is not None and record.seq <= last_seq):
            bad = True
            break
        last_seq = record.seq
        if record.seq > after_seq:
            records.append(record)
        end = offset + len(line or b"") + 1
    return ScanResult(records, end, size - end, bad, last_seq)


def valid_after(fd: int, offset: int) -> list[int]:
    """Sequence numbers of the valid records after the damaged line at ``offset``: what
    cutting the journal there would throw away."""
    found = []
    for line_offset, line in lines(fd, offset):
        if line_offset > offset and line is not None:
            record = _parse_line(line, line_offset)
            if record is not None:
                found.append(record.seq)
    return found


def _parse_line(line: bytes, offset: int) -> Record | None:
    parts = line.split(b" ", 2)
    if len(parts) != 3:
        return None
    try:
        crc, length = int(parts[0], 16), int(parts[1])
    except ValueError:
        return None
    payload = parts[2]
    if len(payload) != length or zlib.crc32(payload) != crc:
        return None
    try:
        return Record.from_payload(payload, offset)
    except (ValueError, KeyError, TypeError, RecursionError):
        return None


def damage_text(offset: int, later: list[int]) -> str:
    """What a damaged record in the middle of a journal means for the person."""
    seqs = f"#{later[0]}" if len(later) == 1 else f"#{later[0]}-#{later[-1]}"
    count = f"{len(later)} later record{'s' if len(later) > 1 else ''}"
    return (f"the record at byte {offset} is damaged and {count} ({seqs}) "
            f"follow{'s' if len(later) == 1 else ''} it; they are not applied, and the cache "
            f"stays read-only so that nothing acknowledged is thrown away (move the journal "
            f"aside to edit without them)")


class JournalWriter:
    """The appending end of a journal. Only the holder of the writer lock creates one."""

    def __init__(self, path: Path, cache_id: str, resume: tuple[int, int] | None = None):
        """``resume=(offset, seq)``: the caller has already validated the journal up to
        ``offset``, whose last record is ``seq``; only the rest is scanned (opening a long
        journal then costs what its unread tail costs)."""
        self.path = path
        if not path.exists() or (path.is_file() and path.stat().st_size == 0):
            # An empty journal holds no record (see JournalReader.open_if_present).
            fsops.create_file(path, header_bytes(cache_id))
            resume = None
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | portable_io.BINARY)
        except OSError as error:
            raise JournalError(path, f"cannot be opened for writing ({error.strerror})") from error
        try:
            found_id, first, version = read_header(self._fd, path)
            if found_id != cache_id:
                raise JournalError(path, f"belongs to another cache (id {found_id}, the cache "
                                         f"is {cache_id}); move it aside")
            start, last_seq = resume if resume and resume[0] >= first else (first, 0)
            result = scan(self._fd, start, last_seq=last_seq)
            if result.trailing:
                self._cut_tail(result)
            end = result.end
            if version < VERSION:
                first, end = self._upgrade(cache_id, first, end)
            elif end % SECTOR:
                end = self._pad_to_sector(end)
        except BaseException:
            os.close(self._fd)
            raise
        self.first = first
        self.end = end
        self.last_seq = result.records[-1].seq if result.records else last_seq

    def _upgrade(self, cache_id: str, first: int, end: int) -> tuple[int, int]:
        """Rewrite a version 1 journal (whose damage is already cut) as version 2, every
        record's bytes kept, and continue in the new file. Atomic: a crash leaves the old
        journal or the new one. Returns (first record offset, end) of the new file."""
        records = [line + b"\n" for _, line in lines(self._fd, first, end)
                   if line is not None and not is_padding(line)]
        header = header_bytes(cache_id)
        body, at = [], len(header)
        for line in records:
            body.append(padded(line, at))
            at += len(body[-1])
        fsops.create_file(self.path, header + b"".join(body))
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | portable_io.BINARY)
        return len(header), at

    def _pad_to_sector(self, end: int) -> int:
        """Pad after a record whose padding a crash cut off (or that a version 1 writer
        appended), so that the next record starts a sector of its own. Only a record
        that was never acknowledged shares the sector written here: an acknowledged
        record's padding was synced with it."""
        filler = padded(b"", end)
        fsops.append(self._fd, filler, str(self.path))
        fsops.fsync(self._fd, str(self.path))
        return end + len(filler)

    def _cut_tail(self, result: ScanResult) -> None:
        """Remove what a crash left after the last valid record: an incomplete line (a
        torn append) is cut; complete lines are damage, saved beside the journal (up to
        64 MB) before the cut. Damage followed by valid records is never cut: they were
        acknowledged, and cutting would throw them away."""
        if result.bad_line:
            later = valid_after(self._fd, result.end)
            if later:
                raise JournalError(self.path, damage_text(result.end, later))
            tail = portable_io.read_at(self._fd, min(result.trailing, MAX_RECORD_BYTES), result.end)
            fsops.create_file(self.path.with_name(f"{self.path.name}.damaged-{os.getpid()}"), tail)
        fsops.truncate(self._fd, result.end, str(self.path))
        fsops.fsync(self._fd, str(self.path))

    def append(self, record: Record) -> int:
        """Append and fdatasync one record; returns its offset. On ``OSError`` the record
        is not acknowledged and this writer must be reopened before it is used again."""
        offset = self.end
        data = padded(frame(record.to_payload()), offset)
        fsops.append(self._fd, data, str(self.path))
        fsops.fsync(self._fd, str(self.path))
        self.end = offset + len(data)
        self.last_seq = record.seq
        return offset

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class JournalReader:
    """Follows a journal written by this or another process: ``poll()`` returns the records
    committed since the last call. Costs one ``fstat`` when nothing changed.

    ``damage`` describes damage the last ``poll`` stopped at (``None`` when it stopped at
    the end or at a record still being written); ``damage_blocks_writing`` is true when
    valid records follow the damage. ``stop(reason)`` stops following the journal.
    """

    def __init__(self, path: Path):
        self.path = path
        self._fd = -1
        self.cache_id: str | None = None
        self.first = 0
        self.end = 0
        self.last_seq: int | None = None
        self.damage: str | None = None
        self.damage_blocks_writing = False
        self.stopped: str | None = None
        self._seen_size = -1
        self._ino = -1

    def open_if_present(self) -> bool:
        """Open the journal when there is one. An empty file counts as none: it holds no
        record (a writer replaces it)."""
        if self._fd >= 0:
            return True
        try:  # O_NONBLOCK: a named pipe in the journal's place must not block the opener
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | portable_io.BINARY)
        except FileNotFoundError:
            return False
        except OSError as error:
            raise JournalError(self.path, f"cannot be read: {error.strerror}") from error
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise JournalError(self.path, "is not a regular file")
            if info.st_size == 0:
                os.close(fd)
                return False
            self.cache_id, self.first, _version = read_header(fd, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        self._fd, self.end, self._ino = fd, self.first, info.st_ino
        return True

    def _follow_replacement(self) -> None:
        """A writer that upgraded a version 1 journal renamed a new file over it: drop
        the old one, so the next read opens the new one from its start. One ``stat``."""
        if self._fd < 0:
            return
        try:
            replaced = os.stat(self.path).st_ino != self._ino
        except OSError:
            return
        if replaced:
            self.close()
            self.last_seq, self._seen_size = None, -1

    def seek(self, offset: int) -> None:
        self.end = max(offset, self.first)
        self.last_seq, self._seen_size = None, -1

    def stop(self, reason: str) -> None:
        """Stop following the journal (it is damaged in a way reading cannot step over)."""
        self.stopped = reason

    def poll(self, after_seq: int) -> list[Record]:
        self._follow_replacement()
        if self.stopped is not None or not self.open_if_present():
            return []
        size = os.fstat(self._fd).st_size
        if size == self.end or size == self._seen_size:
            return []
        if size < self.end:  # cut back by a recovering writer: re-read from the start
            self.end, self.last_seq = self.first, None
        result = scan(self._fd, self.end, after_seq, last_seq=self.last_seq)
        self.end, self._seen_size = result.end, size
        self.last_seq = result.last_seq if result.last_seq is not None else self.last_seq
        self.damage, self.damage_blocks_writing = None, False
        if result.bad_line:
            later = valid_after(self._fd, result.end)
            self.damage_blocks_writing = bool(later)
            self.damage = damage_text(result.end, later) if later else (
                f"{result.trailing} bytes after its last record (byte {result.end}) are not a "
                f"valid record and are ignored; the next writer keeps a copy of them beside "
                f"the journal and cuts them off")
        return result.records

    def read_all(self) -> list[Record]:
        self._follow_replacement()
        if not self.open_if_present():
            return []
        return scan(self._fd, self.first).records

    def record_at(self, offset: int) -> Record | None:
        self._follow_replacement()
        if not self.open_if_present() or offset < self.first:
            return None
        result = scan(self._fd, offset, limit=1)
        return result.records[0] if result.records else None

    def backwards(self, chunk: int = 1 << 16) -> Iterator[Record]:
        """Valid records from the newest to the oldest (a torn tail is skipped)."""
        self._follow_replacement()
        if not self.open_if_present():
            return
        pos = os.fstat(self._fd).st_size
        carry = b""
        while pos > self.first:
            start = max(self.first, pos - chunk)
            lines = (portable_io.read_at(self._fd, pos - start, start) + carry).split(b"\n")
            pos = start
            carry = lines.pop(0) if pos > self.first else b""
            for line in reversed(lines):
                record = _parse_line(line, -1) if line else None
                if record is not None:
                    yield record

    def record_ending_at(self, offset: int) -> int | None:
        """Sequence number of the valid record that ends just before ``offset``, if any.

        Lets an opener skip the part of a long journal already folded into the HDF5 file
        (whose root attributes name that offset) without parsing it."""
        self._follow_replacement()
        if not self.open_if_present() or not self.first < offset <= os.fstat(self._fd).st_size:
            return None
        window = 1 << 16
        while True:
            start = max(offset - window, self.first)
            data = portable_io.read_at(self._fd, offset - start, start)
            if not data.endswith(b"\n"):
                return None
            body = data.rstrip(b" \n")  # the record's padding (a record ends in "}")
            line_start = body.rfind(b"\n") + 1
            if not body and start == self.first:
                return None
            if body and (line_start > 0 or start == self.first):
                found = scan(self._fd, start + line_start, limit=1).records
                return found[0].seq if found else None
            window *= 4

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
