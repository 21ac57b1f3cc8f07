"""Proof that the set-attributes path is as safe as a database's commit.

A writer process running single edits, batches, undos and checkpoints is killed with
SIGKILL at random moments, crashed before each of its write points in turn (and half-way
through each journal append), and handed an I/O error at each write point. After each, the
cache must open, every trace must read, every acknowledged operation must be present and
no operation may be half applied: the state must equal the model after exactly the
acknowledged operations, or after those plus the one in flight, whole. Then two writer
processes at once, and a writer beside a reading process.

Faults are injected through the cache's own file-operation layer (``fsops``), which every
write goes through, so these tests run anywhere without root, strace or a special
filesystem. A longer kill run is ``benchmarks/bench_cache_kill.py``.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from testkit.cache import (
    FaultAt,
    Model,
    check_after_crash,
    fork_writer,
    make_cache,
    read_acks,
    read_h5_state,
    read_state,
    run_operation,
    wait_ready,
)
from tracemark.io_backends.cache import CacheFile, CacheWriteError, CheckpointError, fsops

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")

N_TRACES = 40
SCENARIO_OPS = 26  # edits, batches (every 5th), undos (every 10th), a checkpoint (op 24)


@pytest.fixture(scope="module")
def base_cache(tmp_path_factory) -> Path:
    return make_cache(tmp_path_factory.mktemp("base") / "c.hdf5", n_traces=N_TRACES)


@pytest.fixture(scope="module")
def base_model(base_cache) -> Model:
    with CacheFile(base_cache, mode="r") as cache:
        return Model.of(cache)


def fresh_copy(base: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / base.name
    shutil.copyfile(base, path)
    return path


def verify(path: Path, model: Model, in_flight: list[int]) -> tuple[Model, bool]:
    return check_after_crash(path, model, in_flight, trace_shape=(150, 2))


def run_child(path: Path, first_op: int, n_ops: int, hook=None, kill_after: float | None = None,
              after_open: bool = True) -> tuple[list[int], int]:
    """Run a forked writer; with ``kill_after``, SIGKILL it that many seconds after it has
    opened the cache (``after_open``) or after the fork (so that kills also hit opening)."""
    read_fd, write_fd = os.pipe()
    pid = fork_writer(path, first_op, n_ops, write_fd, hook=hook)
    os.close(write_fd)
    early = b""
    if kill_after is not None:
        if after_open:
            early = wait_ready(read_fd)
        time.sleep(kill_after)
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    acks = read_acks(read_fd, early)
    os.close(read_fd)
    assert acks == list(range(first_op, first_op + len(acks)))
    return acks, status


def test_sigkill_at_random_moments_loses_no_acknowledged_edit(base_cache, base_model, tmp_path):
    path = fresh_copy(base_cache, tmp_path)
    model, next_op = base_model.copy(), 0
    rng = random.Random(20240611)
    acknowledged = in_flight_applied = 0
    for _ in range(50):
        acks, status = run_child(path, next_op, 100_000, kill_after=rng.uniform(0.0, 0.08),
                                 after_open=rng.random() < 0.8)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        for n in acks:
            model.apply(n)
        acknowledged += len(acks)
        next_op += len(acks)
        model, applied = verify(path, model, [next_op])
        if applied:
            next_op += 1
            in_flight_applied += 1
    print(f"\n50 SIGKILLs: {acknowledged} acknowledged operations all present, "
          f"{in_flight_applied} un-acknowledged in-flight operations found whole, none half")
    assert acknowledged > 50


def count_write_points(base_cache: Path, folder: Path) -> list[str]:
    path = fresh_copy(base_cache, folder)
    hook = FaultAt(None)
    fsops.set_fault_hook(hook)
    try:
        with CacheFile(path, mode="w") as cache:
            for n in range(SCENARIO_OPS):
                run_operation(cache, n)
    finally:
        fsops.set_fault_hook(None)
    return hook.points


def test_crash_before_each_write_point_and_inside_each_append(base_cache, base_model, tmp_path):
    points = count_write_points(base_cache, tmp_path / "count")
    assert {"append", "fsync", "create", "copy", "h5apply", "replace", "fsync_dir"} <= set(points)
    runs = [(p, "crash") for p in range(len(points))]
    runs += [(p, "partial") for p, name in enumerate(points) if name == "append"]
    applied_count = 0
    for target, action in runs:
        path = fresh_copy(base_cache, tmp_path / f"{action}{target}")
        acks, status = run_child(path, 0, SCENARIO_OPS, hook=FaultAt(target, action))
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) in (70, 71), (target, status)
        model = base_model.copy()
        for n in acks:
            model.apply(n)
        _, applied = verify(path, model, [len(acks)] if len(acks) < SCENARIO_OPS else [])
        applied_count += applied
        shutil.rmtree(path.parent)
    print(f"\n{len(runs)} crashes at {len(points)} write points ({points.count('append')} torn "
          f"appends): all acknowledged operations present; {applied_count} in-flight whole")


def test_io_error_at_each_write_point(base_cache, base_model, tmp_path):
    points = count_write_points(base_cache, tmp_path / "count")
    refused = 0
    for target in range(len(points)):
        path = fresh_copy(base_cache, tmp_path / f"eio{target}")
        failed: list[int] = []
        fsops.set_fault_hook(FaultAt(target, "eio"))
        try:
            cache = CacheFile(path, mode="w")
            for n in range(SCENARIO_OPS):
                try:
                    run_operation(cache, n)
                except (CacheWriteError, CheckpointError) as error:
                    assert "Input/output error" in str(error)
                    failed.append(n)
            try:
                cache.close()
            except CheckpointError:
                failed.append("close")
        finally:
            fsops.set_fault_hook(None)
        assert len(failed) == 1, (target, points[target], failed)
        refused += 1
        # Every operation but the failed one was acknowledged; the failed one (if an edit)
        # may be in the journal whole (the error hit after its bytes were written) or absent.
        worlds = [Model(base_model.n_traces, dict(base_model.state)) for _ in range(2)]
        for n in range(SCENARIO_OPS):
            worlds[1].apply(n)
            if n != failed[0]:
                worlds[0].apply(n)
        with CacheFile(path, mode="w") as reopened:
            state = read_state(reopened)
        assert state in (worlds[0].state, worlds[1].state), (target, points[target])
        assert read_h5_state(path) == state
        shutil.rmtree(path.parent)
    print(f"\nI/O error at each of {len(points)} write points: {refused} refused operations, "
          f"no acknowledged edit lost, none half applied")


WRITER_SCRIPT = textwrap.dedent("""
    import sys
    from tracemark.io_backends.cache import CacheFile
    path, name, parity = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for i in range(25):
        with CacheFile(path, mode="w", lock_timeout=30) as cache:
            trace = 2 * (i % 10) + parity
            cache.update(trace, comment=f"{name}-{i}")
            print(trace, f"{name}-{i}", flush=True)
""")


def test_two_writer_processes_at_once(base_cache, tmp_path):
    path = fresh_copy(base_cache, tmp_path)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(path), name, str(parity)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, parity in (("A", 0), ("B", 1))]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    expected = {}
    for out, _ in outputs:
        for line in out.split("\n"):
            if line:
                trace, value = line.split()
                expected[int(trace)] = value
    assert len(expected) == 20
    with CacheFile(path, mode="r") as cache:
        for trace, value in expected.items():
            assert cache.get_trace_attrs(trace)["comment"] == value
        assert len(cache.history()) == 50
    assert read_h5_state(path)[(0, "comment")] == expected[0]


def test_a_reader_beside_a_writer_always_reads_committed_state(base_cache, tmp_path):
    path = fresh_copy(base_cache, tmp_path)
    n_ops = 300
    read_fd, write_fd = os.pipe()
    go_read, go_write = os.pipe()  # the writer starts once the reader has opened the cache
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            with CacheFile(path, mode="w") as cache:
                os.write(write_fd, b"ready\n")
                os.read(go_read, 1)
                for n in range(n_ops):
                    cache.update(n % 10, comment=str(n))
                    if n % 40 == 39:
                        cache.checkpoint()
        except BaseException:  # noqa: BLE001 - reported through the exit code
            code = 3
        finally:
            os._exit(code)
    os.close(write_fd)
    assert os.read(read_fd, 6) == b"ready\n"
    os.close(read_fd)
    last_seen = {t: -1 for t in range(10)}
    reads = files_seen = 0
    with CacheFile(path, mode="r") as reader:
        os.write(go_write, b"g")
        os.close(go_write)
        inode = reader._reader.ino
        while True:
            finished = os.waitpid(pid, os.WNOHANG)[0] == pid
            for trace in range(10):
                comment = reader.get_trace_attrs(trace)["comment"]
                reader.get_trace_data(trace)
                reads += 1
                if comment:
                    value = int(comment)
                    assert value % 10 == trace and value >= last_seen[trace]
                    last_seen[trace] = value
            if reader._reader.ino != inode:
                files_seen, inode = files_seen + 1, reader._reader.ino
            if finished:
                break
    assert last_seen == {t: n_ops - 10 + t for t in range(10)}
    assert files_seen >= 1, "the reader never followed a checkpoint"
    print(f"\nreader: {reads} reads beside {n_ops} edits, followed {files_seen} checkpoints")
