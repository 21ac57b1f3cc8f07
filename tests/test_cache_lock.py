"""The writer lock: waiting for it up to ``lock_timeout`` in every mode, giving up with the
holder named, and failing cleanly (typed error, no leaked lock) when the holder's details
cannot be written."""

from __future__ import annotations

import errno
import multiprocessing
import os
import threading
import time
from pathlib import Path

import h5py
import pytest

from testkit.cache import make_cache
from tracemark.io_backends.cache import CacheFile, CacheLockedError, CacheReadOnlyError
from tracemark.io_backends.cache import lock as lock_module

N_WRITERS = 4
EDITS_PER_WRITER = 3


@pytest.fixture
def cache_path(tmp_path) -> Path:
    return make_cache(tmp_path / "c.hdf5", n_traces=20)


def comment(writer: int, edit: int) -> str:
    return f"writer {writer} edit {edit}"


def edit_as_soon_as_the_lock_is_free(path: str, writer: int, start) -> None:
    """Runs in a spawned process: open in the default mode, wait for every writer to be
    ready, then edit (taking the lock at the first edit) and hold the lock a moment, so
    that the writers' turns overlap."""
    with CacheFile(path, lock_timeout=60) as cache:
        start.wait(60)
        for edit in range(EDITS_PER_WRITER):
            cache.update(writer, comment=comment(writer, edit))
        time.sleep(0.2)


@pytest.mark.timeout(180)
def test_concurrent_writers_in_the_default_mode_wait_their_turn(cache_path):
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(N_WRITERS)
    writers = [context.Process(target=edit_as_soon_as_the_lock_is_free,
                               args=(str(cache_path), writer, start))
               for writer in range(N_WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(150)
    assert [p.exitcode for p in writers] == [0] * N_WRITERS
    last = EDITS_PER_WRITER - 1
    with CacheFile(cache_path, mode="r") as cache:
        assert [cache.get_trace_attrs(w)["comment"] for w in range(N_WRITERS)] == \
               [comment(w, last) for w in range(N_WRITERS)]
        committed = [c.new for record in cache.history() for c in record.changes]
    assert sorted(committed) == sorted(comment(w, e) for w in range(N_WRITERS)
                                       for e in range(EDITS_PER_WRITER))
    with h5py.File(cache_path, "r") as f:  # each writer checkpointed at close
        assert [f[f"rec0.trc/traces/{w}"].attrs["comment"] for w in range(N_WRITERS)] == \
               [comment(w, last) for w in range(N_WRITERS)]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["r+", "w", "auto"])
def test_a_waiting_writer_gets_the_lock_once_it_is_released(cache_path, mode):
    holder = CacheFile(cache_path, mode="w")
    holder.update(1, comment="by the holder")
    release = threading.Timer(0.3, holder.close)
    release.start()
    try:
        with CacheFile(cache_path, mode=mode, lock_timeout=30) as waiter:
            waiter.update(2, comment="by the waiter")
            assert waiter.writable
            assert waiter.get_trace_attrs(1)["comment"] == "by the holder"
    finally:
        release.join()
    with CacheFile(cache_path, mode="r") as cache:
        assert cache.get_trace_attrs(2)["comment"] == "by the waiter"


@pytest.mark.timeout(60)  # a hang guard: giving up must not take much longer than the wait
@pytest.mark.parametrize("mode", ["r+", "w"])
def test_a_writer_gives_up_after_lock_timeout_naming_the_holder(cache_path, mode):
    timeout = 0.5
    with CacheFile(cache_path, mode="w") as holder:
        holder.update(0, comment="held")
        started = time.monotonic()
        with pytest.raises(CacheLockedError, match=rf"c\.hdf5: is open for writing by \S+@\S+ "
                                                   rf"pid {os.getpid()} since "), \
                CacheFile(cache_path, mode=mode, lock_timeout=timeout) as waiter:
            waiter.update(1, comment="never written")
        assert time.monotonic() - started >= timeout  # it waited rather than failing at once
    with CacheFile(cache_path, mode="r") as cache:
        assert cache.get_trace_attrs(1)["comment"] != "never written"


@pytest.mark.timeout(60)
def test_auto_mode_waits_then_opens_read_only_naming_the_holder(cache_path):
    with CacheFile(cache_path, mode="w"):
        started = time.monotonic()
        with CacheFile(cache_path, mode="auto", lock_timeout=0.3) as cache:
            assert time.monotonic() - started >= 0.3
            assert not cache.writable
            assert f"pid {os.getpid()}" in cache.read_only_reason


def open_descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def fail_with_eio(*args, **kwargs):
    raise OSError(errno.EIO, os.strerror(errno.EIO))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
@pytest.mark.parametrize("failing_call", ["os.ftruncate", "portable_io.write_at"])
@pytest.mark.parametrize("mode", ["r+", "w", "auto"])
def test_failing_to_write_the_holder_details_is_a_typed_error_and_leaks_no_lock(
        cache_path, monkeypatch, failing_call, mode):
    descriptors_before = open_descriptors()
    module, name = failing_call.split(".")
    monkeypatch.setattr(getattr(lock_module, module), name, fail_with_eio)
    expected = r"c\.hdf5: cannot be opened for writing: the lock file c\.hdf5\.lock cannot be " \
               r"written \(Input/output error\)"
    if mode == "auto":
        with CacheFile(cache_path, mode="auto") as cache:
            assert not cache.writable
            assert "c.hdf5.lock cannot be written (Input/output error)" in cache.read_only_reason
    else:
        with pytest.raises(CacheReadOnlyError, match=expected), \
                CacheFile(cache_path, mode=mode) as cache:
            cache.update(0, comment="not written")
    monkeypatch.undo()
    assert open_descriptors() == descriptors_before
    with CacheFile(cache_path, mode="w") as cache:  # this same process can lock it again
        cache.update(0, comment="written")
    with CacheFile(cache_path, mode="r") as cache:
        assert cache.get_trace_attrs(0)["comment"] == "written"
