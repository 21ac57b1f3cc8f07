"""BlockCache: LRU order, byte bound, counters, read-only values, thread safety."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tracemark.dsp.blockcache import BlockCache


def block(n_bytes: int, fill: float = 0.0) -> np.ndarray:
    return np.full(n_bytes // 4, fill, dtype=np.float32)


def test_get_put_and_counters():
    cache = BlockCache(1000)
    assert cache.get(("s", 0)) is None
    cache.put(("s", 0), block(400, 1.0))
    assert ("s", 0) in cache and ("s", 1) not in cache
    got = cache.get(("s", 0))
    assert got is not None and got[0] == 1.0
    assert (cache.hits, cache.misses) == (1, 1)
    assert cache.nbytes == 400 and len(cache) == 1


def test_evicts_least_recently_used_by_bytes():
    cache = BlockCache(1000)
    for i in range(3):
        cache.put(i, block(300, i))
    cache.get(0)                      # 0 becomes most recent; 1 is now the oldest
    cache.put(3, block(300, 3))       # 1200 bytes > 1000: evict 1
    assert 1 not in cache
    assert all(k in cache for k in (0, 2, 3))
    assert cache.nbytes == 900


def test_oversized_value_is_not_kept_and_does_not_flush_the_cache():
    cache = BlockCache(1000)
    cache.put("a", block(400))
    assert cache.put("huge", block(4000)) is False
    assert "huge" not in cache and "a" in cache and cache.nbytes == 400


def test_replacing_a_key_updates_the_byte_count():
    cache = BlockCache(1000)
    cache.put("a", block(400))
    cache.put("a", block(800))
    assert cache.nbytes == 800 and len(cache) == 1
    cache.put("a", block(4000))       # too big: the old value goes too
    assert "a" not in cache and cache.nbytes == 0


def test_values_are_read_only_views_and_the_callers_array_stays_writable():
    cache = BlockCache(1000)
    original = block(400, 2.0)
    cache.put("a", original)
    stored = cache.get("a")
    with pytest.raises(ValueError):
        stored[0] = 5.0
    original[0] = 3.0                 # the caller's own array is not frozen
    assert original.flags.writeable


def test_tuples_of_arrays_count_all_parts():
    cache = BlockCache(10_000)
    starts = np.arange(10, dtype=np.int64)
    mins = np.zeros((10, 4), np.float32)
    maxs = np.ones((10, 4), np.float32)
    cache.put(("decimated", 0), (starts, mins, maxs))
    assert cache.nbytes == starts.nbytes + mins.nbytes + maxs.nbytes
    got_starts, got_mins, got_maxs = cache.get(("decimated", 0))
    np.testing.assert_array_equal(got_maxs, maxs)
    with pytest.raises(TypeError):
        cache.put("bad", [1, 2, 3])


def test_clear_discard_and_peek():
    cache = BlockCache(1000)
    cache.put("a", block(100))
    cache.put("b", block(100))
    assert cache.peek("a") is not None and cache.hits == 0
    cache.discard("a")
    assert "a" not in cache and cache.nbytes == 100
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0


def test_concurrent_use_keeps_the_bound_and_the_accounting():
    cache = BlockCache(64 * 1024)
    errors = []

    def worker(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(500):
                key = int(rng.integers(0, 50))
                if cache.get(key) is None:
                    cache.put(key, block(4096 * int(rng.integers(1, 4))))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert cache.nbytes <= 64 * 1024
    assert cache.hits + cache.misses == 4 * 500
    total = sum(cache.peek(k).nbytes for k in range(50) if k in cache)
    assert total == cache.nbytes
