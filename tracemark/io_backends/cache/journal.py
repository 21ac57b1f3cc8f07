"""The journal: an append-only, checksummed log of committed edits beside the cache file.

An edit is acknowledged once its record is appended and fdatasync'd here: this file is the
moment of durability (see ``docs/cache-format.md`` and the measurements in the research
note on HDF5 write safety, where every design that survived crashes had an fsync'd log as
its acknowledgement). The HDF5 file catches up at checkpoints. The journal is never
truncated below a committed record, so it is also the audit trail used for undo/redo.

File format (text, one record per line, UTF-8)::

    TRACEMARK-JOURNAL 1 <cache-id>\n
    <crc32 as 8 hex digits> <payload length> <payload JSON>\n
    ...

A record is valid only when it is complete, its length matches and its CRC matches. A
crash can leave at most one torn record at the end; readers stop before it and the next
writer cuts it off. Values inside records are the encoded attribute strings (or ``null``
for "attribute absent"), so NaN and infinity never meet JSON.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from . import fsops
from .errors import JournalError

MAGIC = b"TRACEMARK-JOURNAL"
VERSION = 1


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
    offset: int = field(default=-1, compare=False)

    def to_payload(self) -> bytes:
        body = {"seq": self.seq, "tx": self.tx, "kind": self.kind, "target": self.target,
                "time": self.time, "user": self.user, "host": self.host, "pid": self.pid,
                "note": self.note,
                "changes": [[c.origin, c.trace, c.key, c.old, c.new] for c in self.changes]}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_payload(cls, payload: bytes, offset: int) -> Record:
        body = json.loads(payload)
        changes = tuple(Change(*c) for c in body["changes"])
        return cls(seq=int(body["seq"]), tx=body["tx"], kind=body["kind"], time=body["time"],
                   user=body["user"], host=body["host"], pid=int(body["pid"]), changes=changes,
                   target=body.get("target"), note=body.get("note", ""), offset=offset)


def frame(payload: bytes) -> bytes:
    return b"%08x %d %s\n" % (zlib.crc32(payload), len(payload), payload)


def header_bytes(cache_id: str) -> bytes:
    return b"%s %d %s\n" % (MAGIC, VERSION, cache_id.encode("ascii"))


def journal_path(cache_path: Path) -> Path:
    return cache_path.with_name(cache_path.name + ".journal")


@dataclass
class ScanResult:
    records: list[Record]
    #: Offset just past the last valid record: where the next record belongs.
    end: int
    #: Bytes after ``end`` that are not a valid record (a torn write, or damage).
    trailing: int


def read_header(fd: int, path: Path) -> tuple[str, int]:
    """(cache id, offset of the first record)."""
    head = os.pread(fd, 256, 0)
    line, sep, _ = head.partition(b"\n")
    parts = line.split(b" ")
    if not sep or len(parts) != 3 or parts[0] != MAGIC:
        raise JournalError(path, "is not a Tracemark journal (bad first line); move it aside "
                                 "to open the cache without it")
    if int(parts[1]) != VERSION:
        raise JournalError(path, f"journal version {parts[1].decode()} is not supported")
    return parts[2].decode("ascii"), len(line) + 1


def scan(fd: int, start: int, after_seq: int = 0, limit: int | None = None) -> ScanResult:
    """Valid records from ``start`` on (those with ``seq > after_seq``), stopping at the
    first incomplete or damaged one, or after ``limit`` records."""
    size = os.fstat(fd).st_size
    want = max(size - start, 0) if limit is None else min(max(size - start, 0), 1 << 20)
    data = os.pread(fd, want, start) if want else b""
    records: list[Record] = []
    pos = 0
    while pos < len(data) and (limit is None or len(records) < limit):
        newline = data.find(b"\n", pos)
        if newline < 0:
            break
        record = _parse_line(data[pos:newline], start + pos)
        if record is None:
            break
        if record.seq > after_seq:
            records.append(record)
        pos = newline + 1
    return ScanResult(records, start + pos, len(data) - pos)


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
    except (ValueError, KeyError, TypeError):
        return None


class JournalWriter:
    """The appending end of a journal. Only the holder of the writer lock creates one."""

    def __init__(self, path: Path, cache_id: str, resume: tuple[int, int] | None = None):
        """``resume=(offset, seq)``: the caller has already validated the journal up to
        ``offset``, whose last record is ``seq``; only the rest is scanned (opening a long
        journal then costs what its unread tail costs)."""
        self.path = path
        if not path.exists():
            fsops.create_file(path, header_bytes(cache_id))
            resume = None
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND)
        try:
            found_id, first = read_header(self._fd, path)
            if found_id != cache_id:
                raise JournalError(path, f"belongs to another cache (id {found_id}, the cache "
                                         f"is {cache_id}); move it aside")
            start, last_seq = resume if resume and resume[0] >= first else (first, 0)
            result = scan(self._fd, start)
            if result.trailing:
                self._cut_tail(result)
        except BaseException:
            os.close(self._fd)
            raise
        self.first = first
        self.end = result.end
        self.last_seq = result.records[-1].seq if result.records else last_seq

    def _cut_tail(self, result: ScanResult) -> None:
        """Remove what a crash left after the last valid record. More than one line of it
        is not a torn write but damage: it is saved beside the journal before the cut."""
        tail = os.pread(self._fd, result.trailing, result.end)
        if tail.count(b"\n") > 1:
            fsops.create_file(self.path.with_name(f"{self.path.name}.damaged-{os.getpid()}"), tail)
        fsops.truncate(self._fd, result.end, str(self.path))
        fsops.fsync(self._fd, str(self.path))

    def append(self, record: Record) -> int:
        """Append and fdatasync one record; returns its offset. On ``OSError`` the record
        is not acknowledged and this writer must be reopened before it is used again."""
        data = frame(record.to_payload())
        offset = self.end
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
    committed since the last call. Costs one ``fstat`` when nothing changed."""

    def __init__(self, path: Path):
        self.path = path
        self._fd = -1
        self.cache_id: str | None = None
        self.first = 0
        self.end = 0

    def open_if_present(self) -> bool:
        if self._fd >= 0:
            return True
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        except OSError as error:
            raise JournalError(self.path, f"cannot be read: {error.strerror}") from error
        try:
            self.cache_id, self.first = read_header(fd, self.path)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self.end = fd, self.first
        return True

    def seek(self, offset: int) -> None:
        self.end = max(offset, self.first)

    def poll(self, after_seq: int) -> list[Record]:
        if not self.open_if_present():
            return []
        size = os.fstat(self._fd).st_size
        if size == self.end:
            return []
        if size < self.end:  # cut back by a recovering writer: re-read from the start
            self.end = self.first
        result = scan(self._fd, self.end, after_seq)
        self.end = result.end
        return result.records

    def read_all(self) -> list[Record]:
        if not self.open_if_present():
            return []
        return scan(self._fd, self.first).records

    def record_at(self, offset: int) -> Record | None:
        if not self.open_if_present() or offset < self.first:
            return None
        result = scan(self._fd, offset, limit=1)
        return result.records[0] if result.records else None

    def backwards(self, chunk: int = 1 << 16):
        """Valid records from the newest to the oldest (a torn tail is skipped)."""
        if not self.open_if_present():
            return
        pos = os.fstat(self._fd).st_size
        carry = b""
        while pos > self.first:
            start = max(self.first, pos - chunk)
            lines = (os.pread(self._fd, pos - start, start) + carry).split(b"\n")
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
        if not self.open_if_present() or not self.first < offset <= os.fstat(self._fd).st_size:
            return None
        window = 1 << 16
        while True:
            start = max(offset - window, self.first)
            data = os.pread(self._fd, offset - start, start)
            if not data.endswith(b"\n"):
                return None
            line_start = data.rfind(b"\n", 0, len(data) - 1) + 1
            if line_start > 0 or start == self.first:
                found = scan(self._fd, start + line_start, limit=1).records
                return found[0].seq if found else None
            window *= 4

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
