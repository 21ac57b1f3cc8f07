"""Crash at every write-type system call, h5py's included, with ``strace`` fault injection.

The Python-level fault layer in ``test_cache_crash.py`` reaches every write point the cache
code makes itself; this test also reaches the ones inside HDF5 (the checkpoint's writes to
its private copy) by running ``tracemark cache set`` under ``strace -e inject=SYSCALL:signal=
SIGKILL:when=N`` for every write-type system call it makes (strace counts invocations per
system call, so a first uninjected run counts them). After each run the edit (two keys)
must be present when the command acknowledged it, absent or whole otherwise, and the cache
must open and read. Skipped when strace is not installed or not
permitted (it needs ptrace).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from testkit.cache import make_cache, read_h5_state
from tracemark.io_backends.cache import CacheFile

SYSCALLS = ("write,pwrite64,pwritev,pwritev2,fsync,fdatasync,rename,renameat,renameat2,"
            "ftruncate,copy_file_range,sendfile,unlink,unlinkat")


def _strace_usable() -> str | None:
    if shutil.which("strace") is None:
        return "strace is not installed (apt-get install strace)"
    probe = subprocess.run(["strace", "-qq", "-o", "/dev/null", "-e", "trace=write",
                            "-e", "inject=write:error=EIO:when=1", "true"],
                           capture_output=True, timeout=30)
    if probe.returncode != 0:
        return f"strace cannot trace here: {probe.stderr.decode(errors='replace').strip()}"
    return None


@pytest.mark.slow
def test_sigkill_before_each_write_syscall_of_cache_set(tmp_path):
    reason = _strace_usable()
    if reason:
        pytest.skip(reason)
    (tmp_path / "base").mkdir()
    base = make_cache(tmp_path / "base" / "c.hdf5", n_traces=10)
    with CacheFile(base) as cache:  # a journal that already holds a checkpointed edit
        cache.update(1, comment="earlier")
    command = [sys.executable, "-m", "tracemark", "cache", "set", "CACHE", "3", "comment=x",
               "reject=true"]
    subprocess.run([c.replace("CACHE", str(tmp_path / "warm.hdf5")) for c in command],
                   capture_output=True, timeout=60)  # warm bytecode caches: no stray writes
    points = count_syscalls(command, base, tmp_path / "count")
    # fdatasync natively, fsync on the portable paths (what Windows' FlushFileBuffers is).
    syncs = points.get("fdatasync", 0) + points.get("fsync", 0)
    assert syncs >= 2 and points.get("rename", 0) >= 1, points
    crashed_acked = crashed_unacked = 0
    for name, count in sorted(points.items()):
        for n in range(1, count + 1):
            folder = tmp_path / f"{name}{n}"
            path = copy_cache(base, folder)
            run = run_under_strace(command, path, "-o", "/dev/null", "-e", f"inject={name}:signal=SIGKILL:when={n}")
            assert run.returncode in (-9, 137), (name, n, run.returncode, run.stderr[-500:])
            acked = "index 3 comment" in run.stdout
            check(path, acked, (name, n))
            shutil.rmtree(folder)
            crashed_acked += acked
            crashed_unacked += not acked
    assert crashed_acked and crashed_unacked
    total = sum(points.values())
    print(f"\nstrace: killed before each of the {total} write-type system calls of `cache "
          f"set` ({crashed_unacked} before the acknowledgement, {crashed_acked} after; "
          f"{dict(sorted(points.items()))}): never lost, never half applied")


def copy_cache(base, folder):
    folder.mkdir()
    for sidecar in ("c.hdf5", "c.hdf5.journal"):
        shutil.copyfile(base.parent / sidecar, folder / sidecar)
    return folder / "c.hdf5"


def run_under_strace(command, path, *options):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the acknowledgement line leaves at once
    return subprocess.run(["strace", "-f", "-qq", "-e", f"trace={SYSCALLS}", *options,
                           *[c.replace("CACHE", str(path)) for c in command]],
                          capture_output=True, text=True, timeout=120, env=env)


def count_syscalls(command, base, folder) -> dict[str, int]:
    path = copy_cache(base, folder)
    run = run_under_strace(command, path, "-o", str(folder / "trace.log"))
    assert run.returncode == 0, run.stderr
    calls = [m.groups() for line in (folder / "trace.log").read_text().splitlines()
             if (m := re.match(r"^(\d+)\s+(\w+)\(", line))]
    # strace counts per process; helper processes (e.g. uname at start-up) are not the cache
    main_pid = Counter(pid for pid, _ in calls).most_common(1)[0][0]
    counts = dict(Counter(name for pid, name in calls if pid == main_pid))
    check(path, True, "uninjected run")
    return counts


def check(path, acked, where) -> None:
    """The cache opens and reads; trace 3 holds both keys of the edit or neither (and both
    when it was acknowledged); the HDF5 file alone agrees after the writer's open."""
    with CacheFile(path, mode="w") as cache:
        for index in range(len(cache)):
            cache.get_trace_data(index)
        attrs = cache.get_trace_attrs(3)
        assert cache.get_trace_attrs(1)["comment"] == "earlier", where
    pair = (attrs["comment"], attrs["reject"])
    assert pair in ((("x", True),) if acked else (("x", True), ("", False))), (where, pair)
    h5 = read_h5_state(path)
    assert (h5[(3, "comment")], h5[(3, "reject")]) == (pair[0], str(pair[1])), where
