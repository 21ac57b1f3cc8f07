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

import os
import threading
from pathlib import Path

import numpy as np

from .errors import RecordingClosedError, RecordingError, TruncatedRecordingError

_HAS_PREADV = hasattr(os, "preadv")
_HAS_PREAD = hasattr(os, "pread")


class PositionalFile:
    """A file opened read-only; ``read_array`` returns fresh arrays, never views of the file."""

    def __init__(self, path: str | os.PathLike):
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

    def read_array(self, offset: int, dtype, shape: tuple[int, ...]) -> np.ndarray:
        """``shape`` items of ``dtype`` starting at byte ``offset``; a short file raises."""
        out = np.empty(shape, dtype=dtype)
        view = memoryview(out.reshape(-1).view(np.uint8))
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

    def _reading(self):
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

    def __enter__(self):
        state = self.file._state
        with state:
            if self.file._closed:
                raise RecordingClosedError(self.file.path, "the recording was closed")
            self.file._active_reads += 1

    def __exit__(self, *exc_info):
        state = self.file._state
        with state:
            self.file._active_reads -= 1
            state.notify_all()
