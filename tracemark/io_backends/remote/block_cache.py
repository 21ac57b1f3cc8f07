"""A disk cache of fixed-size blocks of remote files, shared by every Tracemark session.

Layout: ``<root>/<sha256 of the URL>/`` holds a ``validator`` file (the server's ETag, or
its Last-Modified date) and one file per cached block, named ``<block size>-<index>``. A
file opened with another validator than the one stored empties its folder first, so a
changed file on the server is never served from old blocks. Files without any validator
are not cached on disk (only in memory, for the session).

Blocks are replaced atomically (:mod:`tracemark.storage.atomic`), so sessions reading and
writing the same cache at once only ever see whole blocks. They are not synced to disk: a
sync costs more than a block takes to arrive, and the writes would queue up behind it. A
power loss may therefore leave a block file empty, and an empty file reads as a miss. The total size stays under
``limit_bytes``: when a write takes it over, the least recently used blocks (by
modification time, refreshed on every hit) are removed until it is under 90 % of the limit.
A disk that is full or read-only turns the disk cache off for the session, never a read.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from tracemark.storage import atomic

#: Default size limit of the whole cache.
DEFAULT_LIMIT_BYTES = 2 << 30
_VALIDATOR = "validator"


def default_cache_root() -> Path:
    """``<user cache dir>/tracemark/remote-blocks`` (``XDG_CACHE_HOME`` on Linux)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tracemark")) / "remote-blocks"


class BlockCache:
    """The shared cache folder, with its size limit; hands out one :class:`FileBlocks` per file."""

    def __init__(self, root: str | os.PathLike[str] | None = None, limit_bytes: int = DEFAULT_LIMIT_BYTES):
        self.root = Path(root) if root is not None else default_cache_root()
        self.limit_bytes = limit_bytes
        self._lock = threading.Lock()
        self._total: int | None = None  # measured on the first write, then kept up to date

    def for_file(self, url: str, validator: str, block_size: int) -> FileBlocks | None:
        """The cached blocks of ``url`` as of ``validator``; None when the file cannot be cached."""
        if not validator or self.limit_bytes <= 0:
            return None
        folder = self.root / hashlib.sha256(url.encode()).hexdigest()[:32]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = folder / _VALIDATOR
            stored = stamp.read_text(encoding="utf-8") if stamp.exists() else None
            if stored != validator:
                self._empty(folder)
                atomic.write_bytes(stamp, validator.encode())
        except OSError:
            return None
        return FileBlocks(self, folder, block_size)

    def added(self, n_bytes: int) -> None:
        """Count a new block; evict old ones when the total passes the limit."""
        with self._lock:
            if self._total is None:
                self._total = self._measure()
            self._total += n_bytes
            if self._total > self.limit_bytes:
                self._total = self._evict(int(self.limit_bytes * 0.9))

    def _measure(self) -> int:
        return sum(size for _, size, _ in self._blocks())

    def _blocks(self) -> Iterator[tuple[Path, int, float]]:
        """(path, size, last use) of every block of every file in the cache."""
        for folder in self.root.iterdir() if self.root.is_dir() else ():
            for entry in os.scandir(folder) if folder.is_dir() else ():
                if entry.name != _VALIDATOR and not entry.name.startswith("."):
                    try:
                        info = entry.stat()
                    except OSError:
                        continue
                    yield Path(entry.path), info.st_size, info.st_mtime

    def _evict(self, target: int) -> int:
        blocks = sorted(self._blocks(), key=lambda block: block[2])
        total = sum(size for _, size, _ in blocks)
        for path, size, _ in blocks:
            if total <= target:
                break
            try:
                path.unlink()
                total -= size
            except FileNotFoundError:
                total -= size  # another session evicted it first
            except OSError:
                pass
        return total

    def _empty(self, folder: Path) -> None:
        removed = 0
        for entry in os.scandir(folder):
            if entry.name != _VALIDATOR:
                removed += entry.stat().st_size
                os.unlink(entry.path)
        with self._lock:
            if self._total is not None:
                self._total -= removed


class FileBlocks:
    """The cached blocks of one file version; every failure reads as a miss."""

    def __init__(self, cache: BlockCache, folder: Path, block_size: int):
        self.cache = cache
        self.folder = folder
        self.block_size = block_size
        self.enabled = True

    def get(self, index: int) -> bytes | None:
        if not self.enabled:
            return None
        path = self._path(index)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            os.utime(path)  # the eviction order is least recently *used*
        except OSError:
            return None
        return data or None  # empty: what a power loss may leave of an unsynced block

    def put(self, index: int, data: bytes) -> None:
        if not self.enabled:
            return
        try:
            atomic.write_bytes(self._path(index), data, durable=False)
        except OSError:
            self.enabled = False  # a full or read-only disk: go on without it
            return
        self.cache.added(len(data))

    def _path(self, index: int) -> Path:
        return self.folder / f"{self.block_size}-{index}"
