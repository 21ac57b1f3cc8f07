"""The writer lock: one writing process per cache file, across processes.

A ``flock`` on ``<cache>.lock`` held for as long as the cache is open for writing. Unlike
HDF5's own file lock it can wait (``timeout``), it is never switched off by an environment
variable, and it names its holder: after taking the lock the holder writes
``user``, ``host``, ``pid`` and ``since`` into the lock file, which a refused opener reads
to say who has the file. The kernel releases the lock when the holder dies, so a crash
never leaves a stale lock behind (the stale owner text is simply overwritten). On Linux
NFS ``flock`` is carried out as a POSIX byte-range lock by the client, so it holds there too.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import time
from datetime import datetime
from pathlib import Path

from .errors import CacheLockedError, CacheReadOnlyError


def lock_path(cache_path: Path) -> Path:
    return cache_path.with_name(cache_path.name + ".lock")


def whoami() -> tuple[str, str, int]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return user, socket.gethostname(), os.getpid()


class WriterLock:
    """Held while a cache is open for writing; ``release()`` is idempotent."""

    def __init__(self, cache_path: Path, timeout: float = 0.0):
        self.path = lock_path(cache_path)
        self._fd = -1
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise CacheReadOnlyError(cache_path, f"cannot be opened for writing: the lock file "
                                     f"{self.path.name} cannot be created ({error.strerror})") from error
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = describe_holder(self.path)
                    os.close(fd)
                    raise CacheLockedError(cache_path, holder) from None
                time.sleep(0.02)
            except OSError as error:
                os.close(fd)
                raise CacheReadOnlyError(cache_path, f"cannot be locked for writing "
                                         f"({error.strerror})") from error
        self._fd = fd
        self._write_owner()

    def _write_owner(self) -> None:
        user, host, pid = whoami()
        since = datetime.now().astimezone().isoformat(timespec="seconds")
        text = json.dumps({"user": user, "host": host, "pid": pid, "since": since}).encode()
        # Owner text is information for people, not cache state: it needs no fsync.
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text, 0)

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def release(self) -> None:
        if self._fd >= 0:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


def describe_holder(path: Path) -> str:
    """'user@host pid N since T' from a lock file, or a vaguer phrase when it is unreadable."""
    for _ in range(3):
        try:
            info = json.loads(path.read_bytes() or b"null")
        except (OSError, ValueError):
            info = None
        if isinstance(info, dict):
            return (f"{info.get('user', '?')}@{info.get('host', '?')} pid {info.get('pid', '?')} "
                    f"since {info.get('since', '?')}")
        time.sleep(0.01)  # the holder may be between truncating and writing its details
    return "another process"
