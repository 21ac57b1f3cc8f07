"""Positional reads of a read-only file into numpy arrays, shared by the TRC and EDF readers.

Why not ``numpy.memmap``: every page a map touches stays counted in the process's
resident memory until the map goes, so a viewer that pages through (or summarises) a
24-hour, 22 GB TRC file reached 20 GB RSS with a map, against 156 MB of its own memory
(``benchmarks/bench_viewer.py``). A file that is cut while mapped also kills the reader
with SIGBUS instead of raising. ``os.preadv`` reads straight into the array, has no
cursor (so threads need no lock), and the kernel's page cache still serves repeated
reads; a 10 s x 64 ch window costs the same as the map's copy (``benchmarks/bench_read.py``).

``close()`` waits for reads in flight before it releases the descriptor, so a read in
another thread never lands on a descriptor number the process has since reused.
"""

from __future__ import annotations

import mmap
import os
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .errors import RecordingClosedError, RecordingError, TruncatedRecordingError

_HAS_PREADV = hasattr(os, "preadv")
_HAS_PREAD = hasattr(os, "pread")


class ArrayFile(Protocol):
    """What the TRC and EDF readers read from: a local :class:`PositionalFile`, or a file on
    a server (``remote.source.RemoteFile``)."""

    def size(self) -> int: ...

    def read_array(self, offset: int, dtype: npt.DTypeLike, shape: tuple[int, ...]) -> np.ndarray: ...

    def close(self) -> None: ...


class PositionalFile:
    """A file opened read-only; ``read_array`` returns fresh arrays, never views of the file."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        try:
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise RecordingError(self.path, f"cannot be opened for reading: {exc.strerror or exc}") from exc
        self._state = threading.Condition()
        self._active_reads = 0
        self._closed = False
        # Platforms without positional reads (Windows) fall back to seek + read under a lock.
        self._seek_lock = threading.Lock()

    def size(self) -> int:
        with self._reading():
            return os.fstat(self._fd).st_size

    def read_array(self, offset: int, dtype: npt.DTypeLike, shape: tuple[int, ...]) -> np.ndarray:
        """``shape`` items of ``dtype`` starting at byte ``offset``; a short file raises."""
        out = np.empty(shape, dtype=dtype)
        view = out.reshape(-1).view(np.uint8).data
        with self._reading():
            done = 0
            while done < len(view):
                n = self._read_into(view[done:], offset + done)
                if n == 0:
                    raise TruncatedRecordingError(
                        self.path, f"the file ends at byte {offset + done}, before the {len(view)} bytes "
                        f"asked for at byte {offset}; was it cut or overwritten since it was opened?")
                done += n
        return out

    def map_array(self, offset: int, dtype: npt.DTypeLike, shape: tuple[int, ...]) -> np.ndarray | None:
        """A read-only array over a fresh memory map of those bytes, or None where the file
        cannot be mapped (the caller reads instead). The map goes when the array does.

        For a read that is reduced at once and let go (a long window's min/max): it saves
        the copy ``read_array`` makes, a third of that work (300 s x 64 channels: 50 -> 39
        ms of CPU). Such maps are short-lived, so the resident memory a long-lived map
        would pile up never does. The file's size is checked first; a file cut in the
        instant between the check and the reduction would still end the process with
        SIGBUS, which is why views are used for nothing that is kept."""
        count = int(np.prod(shape))
        nbytes = count * np.dtype(dtype).itemsize
        if nbytes == 0:
            return None
        with self._reading():
            try:
                if os.fstat(self._fd).st_size < offset + nbytes:
                    return None   # read_array raises the typed truncation error
                base = offset - offset % mmap.ALLOCATIONGRANULARITY
                mapped = mmap.mmap(self._fd, nbytes + offset - base, offset=base, access=mmap.ACCESS_READ)
            except (OSError, ValueError, OverflowError):
                return None
        return np.frombuffer(mapped, dtype=dtype, count=count, offset=offset - base).reshape(shape)

    def _read_into(self, buffer: memoryview, offset: int) -> int:
        try:
            if _HAS_PREADV:
                return os.preadv(self._fd, [buffer], offset)
            if _HAS_PREAD:
                data = os.pread(self._fd, len(buffer), offset)
            else:
                with self._seek_lock:
                    os.lseek(self._fd, offset, os.SEEK_SET)
                    data = os.read(self._fd, len(buffer))
        except OSError as exc:
            raise RecordingError(self.path, f"read failed at byte {offset}: {exc.strerror or exc}") from exc
        buffer[:len(data)] = data
        return len(data)

    def _reading(self) -> _ReadGuard:
        return _ReadGuard(self)

    def close(self) -> None:
        with self._state:
            if self._closed:
                return
            self._closed = True
            while self._active_reads:
                self._state.wait()
        os.close(self._fd)

    @property
    def closed(self) -> bool:
        return self._closed


class _ReadGuard:
    """Counts a read in flight so that ``close`` waits for it."""

    def __init__(self, file: PositionalFile):
        self.file = file

    def __enter__(self) -> None:
        state = self.file._state
        with state:
            if self.file._closed:
                raise RecordingClosedError(self.file.path, "the recording was closed")
            self.file._active_reads += 1

    def __exit__(self, *exc_info: object) -> None:
        state = self.file._state
        with state:
            self.file._active_reads -= 1
            state.notify_all()


class RecordFile:
    """Fixed-size records after a header, indexed like a ``(n_records, record_bytes)`` uint8 array.

    ``records[r0:r1]`` reads whole records with one positional read; ``records[r0:r1, a:b]``
    (e.g. the annotation bytes of an EDF+ record) reads only those bytes of each record
    when the records are much wider, so its cost follows the bytes asked for.
    """

    #: Below this record width a column read fetches whole records: one read beats many.
    WHOLE_RECORD_BYTES = 16384

    def __init__(self, file: ArrayFile, header_bytes: int, record_bytes: int, n_records: int):
        self.file = file
        self.header_bytes = header_bytes
        self.record_bytes = record_bytes
        self.shape = (n_records, record_bytes)

    def rows(self, r0: int, r1: int) -> np.ndarray:
        r0, r1 = max(r0, 0), min(r1, self.shape[0])
        n = max(r1 - r0, 0)
        return self.file.read_array(self.header_bytes + r0 * self.record_bytes, np.uint8,
                                    (n, self.record_bytes))

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, columns = key if isinstance(key, tuple) else (key, slice(None))
        if isinstance(rows, int):
            row: np.ndarray = self[rows:rows + 1, columns][0]
            return row
        r0, r1, _ = rows.indices(self.shape[0])
        c0, c1, _ = columns.indices(self.record_bytes) if isinstance(columns, slice) else \
            (columns, columns + 1, 1)
        if self.record_bytes <= self.WHOLE_RECORD_BYTES or c1 - c0 > self.record_bytes // 4:
            return np.ascontiguousarray(self.rows(r0, r1)[:, c0:c1])
        out = np.empty((max(r1 - r0, 0), max(c1 - c0, 0)), dtype=np.uint8)
        for k, record in enumerate(range(r0, r1)):
            out[k] = self.file.read_array(self.header_bytes + record * self.record_bytes + c0,
                                          np.uint8, (c1 - c0,))
        return out
