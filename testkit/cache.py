"""Tools to test and benchmark caches: a synthetic in-memory recording, a small cache maker,
and a deterministic edit workload with a model of the state it must leave behind.

The workload is what the crash tests run in a writer process that gets killed, crashed at
each write point or handed I/O errors; the model says which states are acceptable
afterwards: the state after every acknowledged operation, possibly plus the one operation
in flight, whole, never part of it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tracemark.io_backends.cache import fsops
from tracemark.io_backends.cache.build import BuildSpec, build_cache
from tracemark.io_backends.cache.cachefile import CacheFile
from tracemark.io_backends.protocol import BaseRecording, Event, RecordingHeader, StreamHeader

WATCHED_KEYS = ("comment", "examiner", "onset_shift", "reject")


class MemoryRecording(BaseRecording):
    """A recording held in a numpy array (samples x channels), with given events."""

    def __init__(self, data: np.ndarray, rate: float, channel_names, events, name="mem.trc"):
        data = np.asarray(data, dtype=np.float32)
        stream = StreamHeader("0", "signals", rate, data.shape[0], tuple(channel_names),
                              ("uV",) * data.shape[1], np.ones(data.shape[1]),
                              np.zeros(data.shape[1]))
        super().__init__(RecordingHeader(Path(name), "memory", None, (stream,)), events)
        self._data = data

    def _read_raw_block(self, stream_index, i_start, i_stop, channels):
        return self._data[i_start:i_stop][:, channels]


def synthetic_recording(n_events: int, rate: float = 1000.0, n_channels: int = 2,
                        spacing_s: float = 0.2, name: str = "mem.trc") -> MemoryRecording:
    n = int((n_events + 1) * spacing_s * rate)
    rows = np.arange(n, dtype=np.float32)[:, None]
    data = rows + 1000 * np.arange(n_channels, dtype=np.float32)[None, :]
    events = [Event(spacing_s * (k + 0.5), 0.0, "TMS", "trigger") for k in range(n_events)]
    return MemoryRecording(data, rate, [f"EMG{c}" for c in range(n_channels)], events, name)


def make_cache(path: Path, n_traces: int = 40, n_origins: int = 1, pre_s: float = 0.05,
               post_s: float = 0.1, rate: float = 1000.0) -> Path:
    recordings = [synthetic_recording(n_traces // n_origins, rate, name=f"rec{o}.trc")
                  for o in range(n_origins)]
    return build_cache(recordings, path, BuildSpec("TMS", pre_s, post_s, readout="generic"))


def abandon(cache: CacheFile) -> None:
    """Let go of a cache the way a crash would: handles and lock released, no checkpoint."""
    cache._release_handles()


# -- the workload ---------------------------------------------------------------------------
def operation(n: int, n_traces: int) -> tuple[str, list[tuple[int, dict]]]:
    """Operation number ``n``: ("edit", edits), ("undo", []) or ("checkpoint", [])."""
    if n % 25 == 24:
        return "checkpoint", []
    if n % 10 == 9:
        return "undo", []
    if n % 5 == 4:
        traces = sorted({(n * 7 + j * 13) % n_traces for j in range(4)})
        return "edit", [(t, {"examiner": f"b{n}", "onset_shift": n % 40,
                             "reject": n % 2 == 0}) for t in traces]
    return "edit", [((n * 31) % n_traces, {"comment": f"c{n}", "onset_shift": n % 40 - 20})]


def run_operation(cache: CacheFile, n: int) -> None:
    kind, edits = operation(n, len(cache))
    if kind == "checkpoint":
        cache.checkpoint()
    elif kind == "undo":
        cache.undo()
    else:
        cache.apply_edits(edits)


@dataclass
class Model:
    """What the watched attributes must be after a sequence of whole operations."""

    n_traces: int
    state: dict[tuple[int, str], str] = field(default_factory=dict)
    undo_stack: list[list[tuple[int, str, str, str]]] = field(default_factory=list)

    @classmethod
    def of(cls, cache: CacheFile) -> Model:
        return cls(len(cache), read_state(cache))

    def copy(self) -> Model:
        return Model(self.n_traces, dict(self.state), [list(t) for t in self.undo_stack])

    def apply(self, n: int) -> None:
        kind, edits = operation(n, self.n_traces)
        if kind == "undo":
            if self.undo_stack:
                for trace, key, old, _ in reversed(self.undo_stack.pop()):
                    self.state[(trace, key)] = old
            return
        if kind != "edit":
            return
        changes = []
        for trace, values in edits:
            for key, value in values.items():
                new = str(value)
                old = self.state[(trace, key)]
                if new != old:
                    changes.append((trace, key, old, new))
                    self.state[(trace, key)] = new
        if changes:
            self.undo_stack.append(changes)


def check_after_crash(path: Path, model: Model, in_flight: list[int],
                      trace_shape: tuple[int, ...] | None = None) -> tuple[Model, bool]:
    """Open as writer (which completes interrupted work), read every trace, and match the
    state to ``model`` with none or all of the ``in_flight`` operations applied. Afterwards
    the HDF5 file alone (without the journal) must hold the same state. Returns the
    matching model and whether the in-flight operations were found applied; raises
    ``AssertionError`` saying what is wrong otherwise."""
    candidates = [model]
    for n in in_flight:
        candidates.append(candidates[-1].copy())
        candidates[-1].apply(n)
    with CacheFile(path, mode="w") as cache:
        for index in range(len(cache)):
            data = cache.get_trace_data(index)
            assert trace_shape is None or data.shape == trace_shape, (index, data.shape)
        state = read_state(cache)
        assert cache.pending_edits == 0, "opening for writing did not finish interrupted work"
    applied = next((n for n, candidate in enumerate(candidates) if candidate.state == state), None)
    if applied is None:
        differing = {k: (model.state[k], state[k]) for k in state if state[k] != model.state[k]}
        raise AssertionError(f"{path}: state matches neither before nor after the in-flight "
                             f"operation; differences from the acknowledged state: {differing}")
    assert read_h5_state(path) == state, "the edits did not reach the HDF5 file itself"
    return candidates[applied], applied > 0


def read_state(cache: CacheFile) -> dict[tuple[int, str], str]:
    return {(i, key): value for i in range(len(cache))
            for key, value in cache.get_trace_attrs_raw(i).items() if key in WATCHED_KEYS}


def read_h5_state(path: Path) -> dict[tuple[int, str], str]:
    """The watched attributes as the HDF5 file alone holds them (no journal)."""
    import h5py

    with h5py.File(path, "r") as f:
        origins = sorted(f.keys())
        out, index = {}, 0
        for origin in origins:
            group = f[origin]["traces"]
            for name in sorted(group.keys(), key=int):
                for key in WATCHED_KEYS:
                    value = group[name].attrs[key]
                    out[(index, key)] = value.decode() if isinstance(value, bytes) else value
                index += 1
    return out


# -- fault hooks ----------------------------------------------------------------------------
class FaultAt:
    """A fault hook acting at the ``target``-th write point (0-based) and counting points.

    ``action``: "crash" ends the process before the point; "partial" writes half of an
    append and then ends the process (other points: like "crash"); "eio" raises an I/O error.
    """

    def __init__(self, target: int | None = None, action: str = "crash", exit_code: int = 71):
        self.target, self.action, self.exit_code = target, action, exit_code
        self.count = 0
        self.points: list[str] = []

    def __call__(self, point: str, detail: str) -> int | None:
        index = self.count
        self.count += 1
        self.points.append(point)
        if index != self.target:
            return None
        if self.action == "eio":
            raise OSError(errno.EIO, os.strerror(errno.EIO), detail)
        if self.action == "partial" and point == "append":
            return 1 + index % 7  # a torn record: a few bytes, then the crash
        os._exit(self.exit_code)


def fork_writer(path: Path, first_op: int, n_ops: int, ack_fd: int,
                hook: Callable | None = None, close: bool = True) -> int:
    """Fork a writer process that opens the cache, writes ``ready`` to ``ack_fd``, runs
    operations ``first_op ..`` and writes each finished operation's number (one line) to
    ``ack_fd``. Returns the child's pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        fsops.set_fault_hook(hook)
        cache = CacheFile(path, mode="w", lock_timeout=10)
        os.write(ack_fd, b"ready\n")
        for n in range(first_op, first_op + n_ops):
            run_operation(cache, n)
            os.write(ack_fd, b"%d\n" % n)
        if close:
            cache.close()
    except BaseException:  # noqa: BLE001 - the child reports through its exit code only
        code = 3
    finally:
        os._exit(code)


def wait_ready(fd: int, timeout: float = 30.0) -> bytes:
    """Wait until a forked writer has opened the cache; returns any acks read with it."""
    import select

    data = b""
    while b"ready\n" not in data:
        if not select.select([fd], [], [], timeout)[0]:
            raise TimeoutError("the writer process did not open the cache")
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.replace(b"ready\n", b"", 1)


def read_acks(fd: int, already: bytes = b"") -> list[int]:
    chunks = [already]
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return [int(line) for line in b"".join(chunks).split() if line != b"ready"]


# -- power loss -----------------------------------------------------------------------------------
SECTOR = 512


class PowerLoss(BaseException):
    """Raised by :class:`PowerCut` to stop the writer where the power went."""


class PowerCut:
    """A fault hook that records the journal's bytes around its ``target``-th append (0-based)
    and cuts the power before that append's sync returns: the append is never acknowledged.

    ``before`` is what the disk durably held (every earlier append was synced), ``after``
    what the unsynced write made of it in the page cache."""

    def __init__(self, journal: Path, target: int):
        self.journal, self.target = str(journal), target
        self.appends = 0
        self.before: bytes | None = None
        self.after: bytes | None = None

    def __call__(self, point: str, detail: str) -> None:
        if detail != self.journal:
            return
        if point == "append":
            if self.appends == self.target:
                self.before = Path(self.journal).read_bytes()
            self.appends += 1
        elif point == "fsync" and self.before is not None:
            self.after = Path(self.journal).read_bytes()
            raise PowerLoss(f"power lost before journal append {self.target} was synced")


def after_power_loss(before: bytes, after: bytes, rng: np.random.Generator) -> bytes:
    """A file as the disk may hold it after power was lost during an unsynced write that
    turned ``before`` into ``after`` (SQLite's test6 crash model): each 512-byte sector the
    write touched holds its old bytes, its new bytes or garbage, chosen at random, and the
    file keeps its old size or has its new one."""
    changed = next((i for i, (a, b) in enumerate(zip(before, after)) if a != b),
                   min(len(before), len(after)))
    old = before.ljust(len(after), b"\0")
    image = bytearray(after)
    for sector in range(changed // SECTOR, -(-len(after) // SECTOR)):
        lo, hi = sector * SECTOR, min((sector + 1) * SECTOR, len(after))
        fate = rng.integers(3)
        if fate == 0:
            image[lo:hi] = old[lo:hi]  # the write never reached this sector
        elif fate == 2:
            image[lo:hi] = rng.bytes(hi - lo)  # the sector was being written: garbage
    size = len(after) if rng.integers(2) else len(before)
    return bytes(image[:size]).ljust(size, b"\0")


@dataclass
class PowerLossOutcome:
    """What one simulated power loss did: the append it hit (``None``: the run ended
    first) and whether the in-flight operation survived it."""

    hit_append: int | None
    in_flight_applied: bool


def power_loss_run(template: Path, folder: Path, seed: int, n_ops: int = 40
                   ) -> PowerLossOutcome:
    """Copy the cache ``template`` into ``folder``, run the workload on it and lose the
    power during a random journal append; then check with :func:`check_after_crash` that
    the cache opens for writing and holds every acknowledged operation, and the one in
    flight whole or not at all (``AssertionError`` otherwise)."""
    import shutil

    from tracemark.io_backends.cache.journal import journal_path

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / template.name
    shutil.copyfile(template, path)
    cache = CacheFile(path, mode="w")
    model = Model.of(cache)
    cut = PowerCut(journal_path(path), target=int(rng.integers(n_ops)))
    in_flight: list[int] = []
    fsops.set_fault_hook(cut)
    try:
        for n in range(n_ops):
            in_flight = [n]
            run_operation(cache, n)
            model.apply(n)  # returned: acknowledged
            in_flight = []
    except PowerLoss:
        pass
    finally:
        fsops.set_fault_hook(None)
        abandon(cache)
    if cut.after is None:
        check_after_crash(path, model, [])
        return PowerLossOutcome(None, False)
    journal_path(path).write_bytes(after_power_loss(cut.before, cut.after, rng))
    _, applied = check_after_crash(path, model, in_flight)
    return PowerLossOutcome(cut.target, applied)
