"""The writer lock: one writing process per cache file, across processes.

A ``flock`` on ``<cache>.lock`` held for as long as the cache is open for writing. Unlike
HDF5's own file lock it can wait (``timeout``: polled with a growing pause, so that several
waiting writers neither spin nor sleep long past the moment the lock comes free), it is
never switched off by an environment variable, and it names its holder: after taking the
lock the holder writes ``user``, ``host``, ``pid`` and ``since`` into the lock file, which a
refused opener reads to say who has the file. The kernel releases the lock when the holder
dies, so a crash never leaves a stale lock behind (the stale owner text is simply
overwritten). On Linux NFS ``flock`` is carried out as a POSIX byte-range lock by the
client, so it holds there too.

On Windows (and wherever the portable file paths are forced) the lock is not a ``flock``
but an exclusive lock on one byte far beyond the owner text (see
:mod:`.portable_io`): Windows byte-range locks are mandatory, and a lock over the text
would keep a refused opener from reading who holds the file.

Every way out of :class:`WriterLock` other than success closes the lock file's descriptor,
which drops the lock with it: a failed attempt never leaves this process holding a
lock it does not know about (which would then refuse this same process as "another
writer"). Failures are typed cache errors naming the cache file.
"""

from __future__ import annotations

import getpass
import json
import os
import random
import socket
import time
from datetime import datetime
from pathlib import Path

from . import portable_io
from .errors import CacheLockedError, CacheReadOnlyError

#: Pauses between attempts to take a busy lock grow from the first to the last value.
FIRST_RETRY_PAUSE_S = 0.005
LONGEST_RETRY_PAUSE_S = 0.2


def lock_path(cache_path: Path) -> Path:
    return cache_path.with_name(cache_path.name + ".lock")


def whoami() -> tuple[str, str, int]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return user, socket.gethostname(), os.getpid()


class WriterLock:
    """Held while a cache is open for writing; ``release()`` is idempotent.

    Waits up to ``timeout`` seconds for a lock held by another writer, then raises
    :class:`CacheLockedError` naming the holder. Any other failure (the lock file cannot be
    created, locked or written) raises :class:`CacheReadOnlyError` saying why.
    """

    def __init__(self, cache_path: Path, timeout: float = 0.0):
        self.cache_path = cache_path
        self.path = lock_path(cache_path)
        self._fd = -1
        fd = self._open_lock_file()
        try:
            self._wait_for_lock(fd, timeout)
        except BaseException:
            os.close(fd)
            raise
        try:
            self._write_owner(fd)
        except BaseException:
            self._unlock_and_close(fd)
            raise
        self._fd = fd

    def _open_lock_file(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | portable_io.BINARY, 0o644)
        except OSError as error:
            raise CacheReadOnlyError(self.cache_path, f"cannot be opened for writing: the lock "
                                     f"file {self.path.name} cannot be created "
                                     f"({error.strerror or error})") from error

    def _wait_for_lock(self, fd: int, timeout: float) -> None:
        deadline = time.monotonic() + max(timeout, 0.0)
        pause = FIRST_RETRY_PAUSE_S
        while not self._try_lock(fd):
            left = deadline - time.monotonic()
            if left <= 0:
                raise CacheLockedError(self.cache_path, describe_holder(self.path))
            # Jitter keeps waiters that started together from retrying in step.
            time.sleep(min(left, pause * random.uniform(0.5, 1.0)))
            pause = min(pause * 2, LONGEST_RETRY_PAUSE_S)

    def _try_lock(self, fd: int) -> bool:
        try:
            return portable_io.try_lock(fd)
        except OSError as error:
            raise CacheReadOnlyError(self.cache_path, f"cannot be locked for writing "
                                     f"({error.strerror or error})") from error

    def _write_owner(self, fd: int) -> None:
        user, host, pid = whoami()
        since = datetime.now().astimezone().isoformat(timespec="seconds")
        text = json.dumps({"user": user, "host": host, "pid": pid, "since": since}).encode()
        # Owner text is information for people, not cache state: it needs no fsync. A failure
        # to write it still refuses the lock, since a disk that cannot take these few bytes
        # will not take the journal's either, and a waiting writer would misname the holder.
        try:
            os.ftruncate(fd, 0)
            if portable_io.write_at(fd, text, 0) != len(text):
                raise OSError(0, "short write")
        except OSError as error:
            raise CacheReadOnlyError(self.cache_path, f"cannot be opened for writing: the lock "
                                     f"file {self.path.name} cannot be written "
                                     f"({error.strerror or error})") from error

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def release(self) -> None:
        if self._fd < 0:
            return
        fd, self._fd = self._fd, -1
        try:
            os.ftruncate(fd, 0)  # the holder's details are no longer true
        except OSError:
            pass
        self._unlock_and_close(fd)

    @staticmethod
    def _unlock_and_close(fd: int) -> None:
        try:
            # Unlock explicitly: a child forked meanwhile shares the descriptor, and closing
            # ours alone would leave the lock held for as long as the child lives (and
            # Windows frees a closed handle's locks only some time later).
            portable_io.unlock(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


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
