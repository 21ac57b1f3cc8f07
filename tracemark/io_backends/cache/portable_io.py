"""File primitives the cache needs that POSIX and Windows spell differently.

The lock, the journal, the backup and the attribute table read and write through these
few functions instead of calling ``os.pread``, ``os.pwrite``, ``fcntl.flock`` or
``os.fdatasync`` themselves; each call takes the native path where the platform has one
and the *portable* path (what Windows runs) otherwise:

* **positional reads and writes**: ``os.pread``/``os.pwrite`` where they exist; on
  Windows a seek followed by ``os.read``/``os.write``, under a process-wide lock so that
  two threads sharing a descriptor cannot interleave their seeks;
* **the writer lock**: ``flock`` on the whole lock file where ``fcntl`` exists. The
  portable lock is an exclusive lock on the single byte at :data:`LOCK_BYTE`, far beyond
  the holder's details at the start of the file. Windows byte-range locks are mandatory
  (a locked byte cannot be read through another handle), so a lock over the details would
  stop a refused opener from naming the holder; the lone byte leaves them readable. On
  Windows it is ``msvcrt.locking`` (``LockFileEx``, released when the process dies); on
  Linux, when the portable path is forced, an open-file-description lock on the same byte
  (``F_OFD_SETLK``), which like a Windows handle lock belongs to the open file, not to the
  process, so a second open in the same process is refused as on Windows. (Not filelock
  or portalocker: on Windows both lock from the start of the file, over the details, and
  portalocker's lock needs pywin32.)
* **durability**: ``fdatasync`` where it exists; ``F_FULLFSYNC`` on macOS, whose
  ``fsync`` leaves the data in the drive's cache; ``fsync`` (Windows: ``FlushFileBuffers``)
  on the portable path;
* :data:`BINARY`, to be or-ed into every ``os.open`` flag set: Windows opens in text mode
  otherwise, turning each ``\\n`` written into ``\\r\\n`` and stopping reads at a Ctrl-Z.

``TRACEMARK_PORTABLE_IO=1`` in the environment, read once at import, forces the portable
paths on Linux so that the cache suite proves them (``tests/conftest.py`` runs the cache
tests in both modes, setting :data:`portable` in the test process); processes started
from one so configured inherit the variable.
"""

from __future__ import annotations

import errno
import os
import struct
import sys
import threading

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

PORTABLE_IO_ENV = "TRACEMARK_PORTABLE_IO"

#: Or-ed into ``os.open`` flags: binary mode on Windows, nothing elsewhere.
BINARY: int = getattr(os, "O_BINARY", 0)

#: The byte the portable writer lock locks: far beyond the holder's details (a few hundred
#: bytes at offset 0), yet within a 32-bit offset. Windows locks a range past the end of
#: a file without growing it.
LOCK_BYTE = 1 << 30

#: errno values meaning "another holder has the lock": EACCES is what ``msvcrt.locking``
#: reports for Windows' ERROR_LOCK_VIOLATION, EAGAIN what a busy ``F_OFD_SETLK`` does.
_BUSY = {errno.EACCES, errno.EAGAIN, getattr(errno, "EDEADLOCK", errno.EDEADLK)}


def _forced_by_environment() -> bool:
    return os.environ.get(PORTABLE_IO_ENV, "").strip() not in ("", "0")


def _native_available() -> bool:
    return sys.platform != "win32" and hasattr(os, "pread") and hasattr(os, "pwrite")


#: True when this process takes the portable paths: on Windows always, elsewhere only
#: when forced.
portable: bool = _forced_by_environment() or not _native_available()


# Serialises seek-then-transfer pairs on the portable path. Replaced in a forked child,
# where a copy taken while another thread held it would never be released.
_seek_lock = threading.Lock()


def _new_seek_lock_after_fork() -> None:
    global _seek_lock
    _seek_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_seek_lock_after_fork)


def read_at(fd: int, size: int, offset: int) -> bytes:
    """Up to ``size`` bytes from ``offset`` (fewer only at the end of the file), as
    ``os.pread``. On the portable path the descriptor's file position moves."""
    if sys.platform != "win32" and not portable:
        return os.pread(fd, size, offset)
    with _seek_lock:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, size)


def write_at(fd: int, data: bytes, offset: int) -> int:
    """Write ``data`` at ``offset``; returns the number of bytes written, as ``os.pwrite``
    (never on a descriptor opened ``O_APPEND``, where both paths would append)."""
    if sys.platform != "win32" and not portable:
        return os.pwrite(fd, data, offset)
    with _seek_lock:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.write(fd, data)


def sync_data(fd: int) -> None:
    """Make the file's data (and its size) durable before returning."""
    if portable:
        os.fsync(fd)
    elif sys.platform == "darwin":
        try:
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
        except OSError:  # file systems without it (some network shares): the next best
            os.fsync(fd)
    else:
        (os.fdatasync if hasattr(os, "fdatasync") else os.fsync)(fd)


def try_lock(fd: int) -> bool:
    """Take the exclusive writer lock on the lock file open as ``fd`` (read-write) without
    waiting: ``False`` when another open file holds it; other failures raise ``OSError``."""
    try:
        if sys.platform != "win32" and not portable:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            _lock_byte(fd, lock=True)
    except OSError as error:
        if isinstance(error, BlockingIOError) or error.errno in _BUSY:
            return False
        raise
    return True


def unlock(fd: int) -> None:
    """Release the lock taken by :func:`try_lock` on ``fd``. Explicitly, before closing:
    a child forked meanwhile shares the open file, and Windows frees the locks of a closed
    handle only "when resources allow"."""
    if sys.platform != "win32" and not portable:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        _lock_byte(fd, lock=False)


def _lock_byte(fd: int, lock: bool) -> None:
    # Both calls lock from the file position, so the seek and the call stay together.
    with _seek_lock:
        os.lseek(fd, LOCK_BYTE, os.SEEK_SET)
        if sys.platform == "win32":
            msvcrt.locking(fd, msvcrt.LK_NBLCK if lock else msvcrt.LK_UNLCK, 1)
        else:
            _ofd_lock_here(fd, lock)


def _ofd_lock_here(fd: int, lock: bool) -> None:
    """The open-file-description lock of one byte at the file position (Linux; Windows
    locks through ``msvcrt``)."""
    if sys.platform != "win32":
        command = getattr(fcntl, "F_OFD_SETLK", None)
        if command is None:
            raise OSError(errno.ENOSYS, "byte-range locks that belong to the open file "
                                        "(F_OFD_SETLK) are not available on this system")
        # struct flock: l_type, l_whence, l_start, l_len, l_pid (0, as OFD locks require),
        # with the platform's alignment; the trailing bytes cover the structure's padding.
        kind = fcntl.F_WRLCK if lock else fcntl.F_UNLCK
        request = struct.pack("@hhqqi", kind, os.SEEK_CUR, 0, 1, 0) + bytes(8)
        fcntl.fcntl(fd, command, request)
