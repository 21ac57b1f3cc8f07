"""A thread-safe LRU cache of numpy arrays bounded by total bytes.

The viewer pages signal blocks on worker threads and keeps recently drawn and
prefetched blocks here, so PageDown shows data that is already in memory while the
memory used stays bounded whatever the recording's length. The bound is on the sum of
``nbytes`` of the stored arrays (not on the number of entries), because blocks differ
widely in size (a decimated whole-hour block is tiny, a raw 10 s block of 256 channels
is not).

Stored arrays are kept as read-only views: a consumer that drew a cached block cannot
corrupt it for the next one. A value may also be a tuple of arrays (e.g. the
``(bin_starts, mins, maxs)`` of a decimated block); its size is the sum of its parts.

Caching is an explicit policy owned by the viewer; readers never cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np

__all__ = ["BlockCache"]

CachedValue = np.ndarray | tuple[np.ndarray, ...]


def _read_only(array: np.ndarray) -> np.ndarray:
    view: np.ndarray = array.view()
    view.flags.writeable = False
    return view


def _frozen(value: CachedValue) -> tuple[CachedValue, int]:
    if isinstance(value, np.ndarray):
        return _read_only(value), int(value.nbytes)
    if isinstance(value, tuple) and all(isinstance(v, np.ndarray) for v in value):
        return tuple(_read_only(v) for v in value), sum(int(v.nbytes) for v in value)
    raise TypeError(
        f"BlockCache stores numpy arrays or tuples of them, not {type(value).__name__}")


class BlockCache:
    """Least-recently-used arrays, at most ``max_bytes`` in total; safe across threads.

    ``get`` counts a hit or a miss and marks the entry as recently used. ``put`` of a
    value larger than ``max_bytes`` does not keep it (and drops any older value under
    the same key), so a single huge block can never evict everything else.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, got {max_bytes}")
        self._max_bytes = int(max_bytes)
        self._entries: OrderedDict[Hashable, tuple[CachedValue, int]] = OrderedDict()
        self._nbytes = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def nbytes(self) -> int:
        """Total bytes of the arrays currently held."""
        with self._lock:
            return self._nbytes

    @property
    def hits(self) -> int:
        with self._lock:
            return self._hits

    @property
    def misses(self) -> int:
        with self._lock:
            return self._misses

    def get(self, key: Hashable) -> CachedValue | None:
        """The value stored under ``key`` (read-only), or ``None``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return entry[0]

    def peek(self, key: Hashable) -> CachedValue | None:
        """Like :meth:`get` but neither counts nor changes the recency order."""
        with self._lock:
            entry = self._entries.get(key)
            return None if entry is None else entry[0]

    def put(self, key: Hashable, value: CachedValue) -> bool:
        """Store ``value`` under ``key``; returns whether it was kept."""
        frozen, size = _frozen(value)
        with self._lock:
            self._discard_locked(key)
            if size > self._max_bytes:
                return False
            self._entries[key] = (frozen, size)
            self._nbytes += size
            while self._nbytes > self._max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._nbytes -= evicted
            return True

    def discard(self, key: Hashable) -> None:
        """Forget ``key`` if present."""
        with self._lock:
            self._discard_locked(key)

    def _discard_locked(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._nbytes -= entry[1]

    def clear(self) -> None:
        """Forget every entry (the hit and miss counters are kept)."""
        with self._lock:
            self._entries.clear()
            self._nbytes = 0

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        with self._lock:
            return (f"BlockCache({len(self._entries)} blocks, {self._nbytes}/"
                    f"{self._max_bytes} bytes, {self._hits} hits, {self._misses} misses)")
