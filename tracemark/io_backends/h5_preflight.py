"""Read an HDF5 file's metadata once in a child process before h5py opens it in ours.

Why: damaged HDF5 metadata can send the HDF5 library into an endless loop inside one C
call (4 KiB of zeros at byte 4830 of a cache built by ``tracemark cache build`` makes
reading a root attribute spin for ever). Such a call holds h5py's global lock and cannot
be interrupted from Python, so no timeout inside our process can end it: the reader, the
CLI or the whole GUI would hang. A damaged cache or recording must instead give a typed
error within a bounded time (``docs/cache-format.md``, "Damaged caches").

How: before a file is opened, its identity (device, inode, size, mtime and ctime in
nanoseconds) is looked up among the verdicts this process holds in memory, then in the
store of identities verified by any Tracemark process (:mod:`.h5_verdict_store`, in the
user's cache directory). If neither knows it, a child process reads every object header,
link and attribute value of the file. The child counts what it has read in memory
shared with the parent, so it makes no system call of its own beyond HDF5's reads
(fault-injection tests that count a command's writes see none from it). When the count
stops moving for :data:`STALL_S` seconds the child is killed and the file reported
stuck; when it dies (HDF5 aborting or crashing on the damage) the file is reported as
crashing the library. Only a file whose walk ended is opened in-process, so every
metadata call the opener then makes was made once before, on the same bytes, by the
child. Errors that HDF5 *raises* are not verdicts: the opener meets them again and
handles them by its own policy (a cache tells one damaged trace and shows the others).

The trust rule: a file is opened without a walk only when its identity now is one that

* this process walked to the end, or that a walk ended on in another process and the
  file had that identity before and after the walk; or
* Tracemark's own HDF5 library wrote (a build, a checkpoint, a merge: each from
  recordings or from caches walked first), or byte-copied from a file trusted by this
  rule (a backup), recorded right after the file was fsynced and renamed into place.

An identity goes to the on-disk store only once the clock the kernel stamps ctimes from
has passed the file's ctime by a millisecond (a wait of one clock tick at most): a
write in the same tick as the previous one would keep both times, and an overwrite
keeps the size. From then on every write, ``chmod``, rename-over or truncation changes
the ctime (which no user call can set back) and so the identity, and the file is walked
again: 4 KiB of zeros written over a verified cache a moment after Tracemark wrote it is
caught. Failed verdicts are remembered in memory only (a stall may have been a slow
share). What the rule does not notice, honestly: a change that leaves size, mtime and
ctime as they were, which a write through the file system cannot do but bit rot on the
disk, a change made by writing to the block device beneath the file system, or a
network file system that caches stale attributes can; a clock stepped backwards to the
very tick of a file's ctime; and damage done by another program in the moment between
Tracemark writing a file and recording it (a build's or checkpoint's private file, a
merge's or backup's target under the writer lock). A file system whose times are whole
milliseconds or coarser (FAT, some network file systems) keeps verdicts in memory only,
unless the file's ctime is more than 2 s old when it is walked.

Why not structural checks of the superblock and object headers in Python instead: they
would have to re-implement the HDF5 format (superblock versions, v1/v2 object headers,
B-trees, fractal heaps, dense attribute storage) to know that the library will not loop,
and would still trust the library's own code paths to be loop-free on anything they
missed. A child process is bounded whatever the library does.

Cost (``benchmarks/bench_cache_open.py``, 2-vCPU machine shared with other work, two
runs at load averages of 1.5 and 2.6, caches of 2 origins): the walk costs about what
reading every attribute once costs, mostly HDF5 decoding variable-length strings. A
first open of a file no Tracemark process knows took 41-55 ms for 16 traces, 0.1-0.23 s
for 100 and 0.57-0.77 s for 1000; opening a cache Tracemark wrote, in a new process,
took 9-12 ms whatever its size, about what a reopen in the same process takes. Reading
attributes as strings straight away (:func:`_read_value`) cut the walk of 1000 traces
from 0.74 s to 0.53 s (medians of 5 in-process walks, interleaved with the former
per-attribute dtype read). On Linux the child is a ``fork`` (1-2 ms) taken while
holding h5py's lock, so it never inherits that lock held by another thread, and it is
awaited through a pidfd; elsewhere it is a fresh interpreter (about 0.4 s more).

What is not walked: the chunk indexes of chunked datasets (walking them is proportional
to the data). Trace caches store every trace contiguously, so for them the guarantee is
whole; a recording's chunked signal data are read in-process as before.
"""

from __future__ import annotations

import mmap
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import h5_verdict_store
from .h5_verdict_store import Identity

#: No progress for this long means the HDF5 library is stuck in a loop. Generous, for a
#: large attribute on a slow network share; the test-suite shortens it through the
#: environment variable ``TRACEMARK_HDF5_STALL_S``.
STALL_S = float(os.environ.get("TRACEMARK_HDF5_STALL_S", "10"))
#: More objects, links or attributes than this is damage (a loop that keeps yielding).
MAX_ITEMS = 5_000_000
#: File identities whose verdict is remembered (most recent first out when full).
MEMORY = 512

_verdicts: OrderedDict[Identity, str | None] = OrderedDict()
_verdicts_lock = threading.Lock()


def identity(path: Path) -> Identity:
    """What tells one state of a file from another: a rename, a rewrite or an append."""
    return _identity_of(os.stat(path))


def identity_of_open(h5file: Any) -> Identity | None:
    """The identity of the file an ``h5py.File`` has open (``None`` if it cannot tell)."""
    try:
        return identity_of_descriptor(h5file.id.get_vfd_handle())
    except (AttributeError, TypeError, ValueError, OSError):
        return None


def identity_of_descriptor(fd: int) -> Identity:
    return _identity_of(os.fstat(fd))


def _identity_of(info: os.stat_result) -> Identity:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def metadata_problem(path: str | os.PathLike[str]) -> str | None:
    """``None`` when the HDF5 library reads all of ``path``'s metadata in bounded time
    (errors it raises included), else why the file must not be opened in this process.
    ``OSError`` from ``stat`` (a missing file) is raised for the caller to tell."""
    path = Path(path)
    key = identity(path)
    with _verdicts_lock:
        if key in _verdicts:
            _verdicts.move_to_end(key)
            return _verdicts[key]
    if h5_verdict_store.contains(key):
        remember(key, None)
        return None
    # Once the clock has passed the file's ctime, a write during or after the walk
    # changes the identity; a write before it is in the bytes walked.
    settled = _wait_past_ctime(key)
    verdict = _walk_in_child(path)
    remember(key, verdict)
    if verdict is None and settled and identity(path) == key:
        h5_verdict_store.record(key)  # the bytes walked are the bytes there now
    return verdict


def remember_sound(path: str | os.PathLike[str]) -> None:
    """Record that ``path`` as it is now was just written by this process's own HDF5
    library (a build, a checkpoint, a merge) or copied from a file known sound, so that
    opening it needs no walk, in this process or any later one. Waits (a clock tick,
    a few milliseconds) until any later write to the file would change its identity."""
    key = identity(Path(path))
    remember(key, None)
    if _wait_past_ctime(key) and identity(Path(path)) == key:
        h5_verdict_store.record(key)


def remember_copy(source: Identity, copy: str | os.PathLike[str]) -> None:
    """Record ``copy`` as sound when it is a byte copy of the file whose identity was
    ``source`` and that file is known sound (walked, or written by Tracemark)."""
    with _verdicts_lock:
        known = source in _verdicts and _verdicts[source] is None
    if known or h5_verdict_store.contains(source):
        remember_sound(copy)


def remember(key: Identity, verdict: str | None) -> None:
    with _verdicts_lock:
        _verdicts[key] = verdict
        _verdicts.move_to_end(key)
        while len(_verdicts) > MEMORY:
            _verdicts.popitem(last=False)


# -- when an identity may be trusted across processes --------------------------------------------
#: How long to wait at most for the clock to pass a file's ctime (usually one tick, a
#: few milliseconds; a file system with coarse times never gets there: not stored).
_SETTLE_S = 0.2
#: Timestamps that are whole milliseconds come from a file system with coarse times
#: (FAT: 2 s, some network file systems: 1 s); a write within that step keeps them.
#: Finer ones may still be truncated (to microseconds, to 100 ns): a millisecond covers it.
_COARSE_TIMES_NS = 1_000_000
_COARSE_STEP_NS = 2_000_000_000
_FINE_STEP_NS = 1_000_000


def _change_clock_ns() -> int:
    """The clock the kernel stamps a file's ctime from: on Linux the coarse real-time
    clock (a change made now gets a ctime no earlier than it reads now)."""
    coarse = getattr(time, "CLOCK_REALTIME_COARSE", None)
    return time.clock_gettime_ns(coarse) if coarse is not None else time.time_ns()


def _settled(key: Identity, now: int) -> bool:
    """Whether every write from ``now`` on gives the file of ``key`` a new ctime. A write
    in the same clock tick as the last one keeps mtime and ctime (and the size, if it
    overwrites), so an identity is trusted across processes only once the clock has
    moved past its ctime."""
    return _settles_at(key) < now


def _settles_at(key: Identity) -> int:
    ctime = key[4]
    return ctime + (_COARSE_STEP_NS if ctime % _COARSE_TIMES_NS == 0 else _FINE_STEP_NS)


def _wait_past_ctime(key: Identity) -> bool:
    """Wait until :func:`_settled`; ``False`` at once if that would take longer than
    :data:`_SETTLE_S` (a coarse file system, a ctime in the future)."""
    while True:
        wait_ns = _settles_at(key) - _change_clock_ns()
        if wait_ns < 0:
            return True
        if wait_ns > _SETTLE_S * 1e9:
            return False
        time.sleep(min(wait_ns / 1e9 + 1e-4, 0.005))


def forget_all() -> None:
    """Forget every verdict this process holds in memory (the on-disk store is
    :mod:`.h5_verdict_store`'s: ``clear()`` it too to measure a first walk)."""
    with _verdicts_lock:
        _verdicts.clear()


# -- the parent side -----------------------------------------------------------------------------
#: Exit codes of the child: the walk ended (completed, or stopped by an error HDF5
#: raised, which the opener meets again), or it met more than MAX_ITEMS items.
_WALKED, _TOO_MANY = 0, 3


def _walk_in_child(path: Path) -> str | None:
    """Progress travels through a shared counter and the verdict through the exit code,
    so the child makes no system call of its own beyond what HDF5 makes to read."""
    if sys.platform.startswith("linux"):
        counter = mmap.mmap(-1, _COUNTER.size)
        try:
            pid = _fork_walker(path, counter)
            exited = os.pidfd_open(pid)  # readable once the child has ended
            try:
                return _watch(counter, lambda timeout: _wait_pid(pid, exited, timeout),
                              lambda: _kill_pid(pid))
            finally:
                os.close(exited)
        finally:
            counter.close()
    from multiprocessing import shared_memory

    shared = shared_memory.SharedMemory(create=True, size=_COUNTER.size)
    try:
        child = subprocess.Popen([sys.executable, "-m", __name__, str(path), shared.name],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        return _watch(shared.buf, lambda timeout: _wait_popen(child, timeout), child.kill)
    finally:
        shared.close()
        shared.unlink()


def _fork_walker(path: Path, counter: _Counter) -> int:
    import h5py._objects  # the lock every h5py call takes

    with h5py._objects.phil:
        pid = os.fork()
        if pid == 0:  # the child: walk, and leave without running any cleanup
            code = 1
            try:
                _quiet_child()
                code = _walk(path, counter)
            finally:
                os._exit(code)
    return pid


def _quiet_child() -> None:
    """The parent tells what happened: a crash dump or an HDF5 message from the child
    would reach the person's terminal as a second, confusing error."""
    import faulthandler

    faulthandler.disable()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _watch(counter: _Counter, wait: Callable[[float | None], int | None], kill: Callable[[], None]) -> str | None:
    """Wait for the child's exit while its counter moves; kill it when it stops moving.
    ``wait(timeout)`` returns the child's status, or ``None`` if it still runs."""
    seen, last_progress = -1, time.monotonic()
    while True:
        status = wait(0.05)
        if status is not None:
            break
        count = _COUNTER.unpack_from(counter)[0]
        now = time.monotonic()
        if count != seen:
            seen, last_progress = count, now
        elif now - last_progress > STALL_S:
            kill()
            wait(None)
            return (f"the HDF5 library made no progress for {STALL_S:g} s while reading "
                    f"its metadata (it loops on damaged metadata)")
    if status == _WALKED:
        return None
    if status == _TOO_MANY:
        return (f"its metadata names more than {MAX_ITEMS} objects and attributes (a loop "
                f"in damaged metadata)")
    if status < 0:
        return (f"the HDF5 library crashed (signal {-status}) while reading its metadata; "
                f"the file is damaged")
    return "the HDF5 library failed while reading its metadata; the file is damaged"


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_pid(pid: int, exited: int, timeout: float | None) -> int | None:
    """The child's exit code, or minus the signal that ended it (as ``Popen.wait``), or
    ``None`` when it still runs after ``timeout`` seconds."""
    if not select.select([exited], [], [], timeout)[0]:
        return None
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # someone reaps children for us (SIGCHLD ignored)
        return _WALKED
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _wait_popen(child: subprocess.Popen[bytes], timeout: float | None) -> int | None:
    try:
        return child.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


# -- the child side --------------------------------------------------------------------------------
#: The shared progress counter: one unsigned 64-bit count of items touched.
_COUNTER = struct.Struct("<Q")
#: The memory that holds it: a mapping shared with a forked child, or a named block.
_Counter = mmap.mmap | memoryview


class _Progress:
    """Counts what the walk touched, in memory the parent watches."""

    def __init__(self, counter: _Counter):
        self.counter, self.count = counter, 0

    def step(self) -> None:
        self.count += 1
        if self.count > MAX_ITEMS:
            raise _TooMany
        _COUNTER.pack_into(self.counter, 0, self.count)


class _TooMany(Exception):
    """The walk met more items than a sound file holds: a loop in the metadata."""


#: What h5py raises on damaged metadata; the opener meets these again and handles them.
_H5_ERRORS = (OSError, KeyError, RuntimeError, ValueError, TypeError, SystemError)


def _walk(path: Path, counter: _Counter) -> int:
    """Walk ``path``; the exit code for the parent."""
    import h5py

    progress = _Progress(counter)
    try:
        with h5py.File(path, "r", locking="best-effort") as f:
            _walk_object(f.id, progress, set())
    except _TooMany:
        return _TOO_MANY
    except _H5_ERRORS:
        pass
    return _WALKED


def _walk_object(oid: Any, progress: _Progress, seen: set[int]) -> None:
    """Read ``oid``'s header and attributes and, for a group, each hard-linked member,
    once per object. h5py's low-level API: its high-level objects cost several times
    more per item, which matters for caches of thousands of traces."""
    from h5py import h5o

    try:
        info = h5o.get_info(oid)
    except _H5_ERRORS:
        return
    if info.addr in seen:
        return
    seen.add(info.addr)
    _walk_attributes(oid, progress)
    if info.type == h5o.TYPE_DATASET:
        _touch_dataset(oid)
    elif info.type == h5o.TYPE_GROUP:
        _walk_members(oid, progress, seen)


def _walk_members(gid: Any, progress: _Progress, seen: set[int]) -> None:
    from h5py import h5l, h5o

    names = _names(gid.links.iterate, progress)
    for name in names:
        progress.step()
        try:
            if gid.links.get_info(name).type != h5l.TYPE_HARD:
                continue  # soft and external links are resolved (and refused) by the opener
            member = h5o.open(gid, name)
        except _H5_ERRORS:
            continue
        _walk_object(member, progress, seen)


def _names(iterate: Callable[[Callable[..., None]], object], progress: _Progress) -> list[bytes]:
    """Names an HDF5 iteration yields, up to the first error it raises."""
    names: list[bytes] = []

    def collect(name: bytes, *_: object) -> None:
        progress.step()
        names.append(name)

    try:
        iterate(collect)
    except _H5_ERRORS:
        pass
    return names


def _walk_attributes(oid: Any, progress: _Progress) -> None:
    from h5py import h5a

    for name in _names(lambda visit: h5a.iterate(oid, visit), progress):
        progress.step()
        try:
            _read_value(h5a.open(oid, name))
        except _H5_ERRORS:
            continue


def _read_value(attribute: Any) -> None:
    """Make HDF5 decode ``attribute``'s value. Nearly every attribute in our files is a
    variable-length string: it is read as one straight away (its value decoded from
    the global heap), which saves building a numpy dtype and a memory type per
    attribute, about half of the walk's time. Any other type fails that read
    without touching its value and is read as its own type."""
    import numpy as np
    from h5py import h5t

    shape = attribute.shape or ()  # h5py does not check that the buffer is large enough
    try:
        attribute.read(np.empty(shape, dtype=object), mtype=_text_type())
        return
    except _H5_ERRORS:
        pass
    dtype = attribute.dtype
    value = np.zeros(shape, dtype=dtype)
    attribute.read(value, mtype=h5t.py_create(dtype))


def _text_type() -> Any:
    """The memory type of a variable-length string (HDF5 converts ASCII ones to it)."""
    global _TEXT_TYPE
    if _TEXT_TYPE is None:
        import h5py
        from h5py import h5t

        _TEXT_TYPE = h5t.py_create(h5py.string_dtype("utf-8"))
    return _TEXT_TYPE


_TEXT_TYPE: Any = None


def _touch_dataset(oid: Any) -> None:
    try:
        oid.shape, oid.dtype, oid.get_create_plist().get_layout()
    except _H5_ERRORS:
        pass


def _main(argv: list[str]) -> int:
    """Child entry point where there is no ``fork``: walk ``argv[0]``, counting in the
    shared memory named ``argv[1]``."""
    from multiprocessing import shared_memory

    shared = shared_memory.SharedMemory(name=argv[1])
    assert shared.buf is not None  # None only after close()
    try:
        return _walk(Path(argv[0]), shared.buf)
    finally:
        shared.close()


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
