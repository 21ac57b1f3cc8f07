"""Verdicts of the HDF5 pre-flight persist across processes, and only while a file is unchanged.

A file walked once, or written by Tracemark itself (build, checkpoint, merge, backup), is
opened by a later process without a walk; any write to it afterwards (even 4 KiB over
the same bytes, at once) changes its identity, so it is walked again and damage is
caught. The store itself (``tracemark.io_backends.h5_verdict_store``) stays bounded,
survives racing writers and is ignored when corrupt. Walks in a child Python process
are counted by wrapping the function that starts them, as the tests in
``test_cache_never_hangs.py`` do in-process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.cache import make_cache
from tracemark.io_backends import h5_preflight, h5_verdict_store
from tracemark.io_backends.cache import CacheFile, CacheFormatError, merge_caches

REPO = Path(__file__).resolve().parents[1]

#: Opens the cache named by argv[1] in a fresh process; prints how many walks it took.
COUNT_WALKS = """
import sys
from tracemark.io_backends import h5_preflight
from tracemark.io_backends.cache import CacheFile
walks = []
real = h5_preflight._walk_in_child
h5_preflight._walk_in_child = lambda path: walks.append(path) or real(path)
with CacheFile(sys.argv[1], mode="r") as cache:
    cache.get_trace_attrs(0)
print(len(walks))
"""


def walks_in_new_process(path: Path) -> int:
    done = subprocess.run([sys.executable, "-c", COUNT_WALKS, str(path)], capture_output=True,
                          text=True, timeout=120, cwd=str(REPO), check=False)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def walks(monkeypatch) -> list[Path]:
    """The paths walked in this process from now on (memory of earlier verdicts dropped)."""
    h5_preflight.forget_all()
    walked: list[Path] = []
    real = h5_preflight._walk_in_child
    monkeypatch.setattr(h5_preflight, "_walk_in_child", lambda p: walked.append(p) or real(p))
    return walked


@pytest.fixture
def built(tmp_path) -> Path:
    return make_cache(tmp_path / "built.hdf5", n_traces=12)


def foreign_copy(path: Path, name: str = "foreign.hdf5") -> Path:
    """The same bytes as a file Tracemark did not write: an unknown identity."""
    copy = path.with_name(name)
    shutil.copyfile(path, copy)
    return copy


def test_a_walked_file_is_not_walked_again_by_a_new_process(built, walks):
    unknown, never_opened = foreign_copy(built), foreign_copy(built, "other.hdf5")
    with CacheFile(unknown, mode="r"):
        pass
    assert walks == [unknown]
    assert walks_in_new_process(unknown) == 0
    assert walks_in_new_process(never_opened) == 1  # the counter does count


def test_files_tracemark_writes_open_without_a_walk_in_a_new_process(built, tmp_path):
    assert h5_verdict_store.contains(h5_preflight.identity(built))
    assert walks_in_new_process(built) == 0
    with CacheFile(built, mode="w") as cache:
        cache.update(0, comment="checked")
        cache.checkpoint()
        backup = cache.backup(tmp_path / "backup.hdf5")
    merged = merge_caches([built], tmp_path / "merged.hdf5")
    for written in (built, backup, merged):
        assert h5_verdict_store.contains(h5_preflight.identity(written)), written.name
        assert walks_in_new_process(written) == 0, written.name


def test_a_backup_of_an_unknown_file_is_not_vouched_for(built, tmp_path):
    unknown = foreign_copy(built)
    with CacheFile(unknown, mode="r") as cache:
        h5_verdict_store.clear()
        h5_preflight.forget_all()  # as if the file had changed since it was walked
        backup = cache.backup(tmp_path / "backup.hdf5")
    assert not h5_verdict_store.contains(h5_preflight.identity(backup))


@pytest.mark.parametrize("change", ["touch", "overwrite the same bytes"])
def test_a_file_changed_after_its_verdict_is_walked_again(built, walks, change):
    recorded = h5_preflight.identity(built)
    if change == "touch":
        os.utime(built)
    else:
        with open(built, "r+b") as handle:
            handle.seek(4830)
            same = handle.read(4096)
            handle.seek(4830)
            handle.write(same)
    assert h5_preflight.identity(built) != recorded
    assert walks_in_new_process(built) == 1
    with CacheFile(built, mode="r"):  # that process's verdict on the new identity serves
        pass
    assert walks == []


def test_damage_written_right_after_a_build_is_caught(built, monkeypatch):
    """The 4 KiB of zeros at byte 4830 that make HDF5 loop, written at once after the
    build recorded its verdict, with the same size: the ctime still tells."""
    monkeypatch.setattr(h5_preflight, "STALL_S", 1.0)
    with open(built, "r+b") as handle:
        handle.seek(4830)
        handle.write(bytes(4096))
    with pytest.raises(CacheFormatError, match="made no progress"):
        CacheFile(built, mode="r")


def test_every_write_after_remember_sound_changes_the_identity(tmp_path):
    """A write in the same clock tick as the last one keeps mtime and ctime: what is
    recorded must be an identity that no later write can keep. (Linux 6.13 and later
    give a file whose ctime was read a fine-grained one on its next change; older
    kernels rely on ``remember_sound`` waiting for the clock.)"""
    target = tmp_path / "file.bin"
    target.write_bytes(bytes(8192))
    for _ in range(20):
        with open(target, "r+b") as handle:
            handle.write(b"\x01" * 4096)
        h5_preflight.remember_sound(target)
        recorded = h5_preflight.identity(target)
        assert h5_verdict_store.contains(recorded)
        with open(target, "r+b") as handle:
            handle.write(b"\x02" * 4096)
        assert h5_preflight.identity(target) != recorded


def test_an_identity_is_trusted_only_once_the_clock_has_passed_its_ctime():
    """Kernels without fine-grained ctimes (before Linux 6.13, other systems) stamp every
    change in one clock tick alike; file systems with coarse times, every change in one
    or two seconds (their ctimes are whole milliseconds)."""
    fine_ctime, coarse_ctime = 1_700_000_000_123_456_789, 1_700_000_001_000_000_000
    assert not h5_preflight._settled((0, 0, 0, 0, fine_ctime), fine_ctime + 500_000)
    assert h5_preflight._settled((0, 0, 0, 0, fine_ctime), fine_ctime + 1_000_001)
    assert not h5_preflight._settled((0, 0, 0, 0, coarse_ctime), coarse_ctime + 1_999_000_000)
    assert h5_preflight._settled((0, 0, 0, 0, coarse_ctime), coarse_ctime + 2_000_000_001)
    future = (0, 0, 0, 0, h5_preflight._change_clock_ns() + 10**10)
    assert not h5_preflight._wait_past_ctime(future)  # at once: never waits 10 s


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped bit", "empty"])
def test_a_corrupt_store_is_ignored_and_rebuilt(built, walks, damage):
    unknown = foreign_copy(built)
    store = h5_verdict_store.store_path()
    data = store.read_bytes()
    store.write_bytes({"garbage": b"\x00not a store" * 50, "truncated": data[:-7],
                       "flipped bit": data[:40] + bytes([data[40] ^ 1]) + data[41:],
                       "empty": b""}[damage])
    assert not h5_verdict_store.contains(h5_preflight.identity(built))
    with CacheFile(unknown, mode="r"):
        pass
    assert walks == [unknown]
    assert h5_verdict_store._read(store) == [h5_preflight.identity(unknown)]


def test_the_store_keeps_the_most_recently_used_identities(monkeypatch):
    monkeypatch.setattr(h5_verdict_store, "CAPACITY", 8)
    identities = [(1, inode, 100, 5, 6) for inode in range(20)]
    for identity in identities:
        h5_verdict_store.record(identity)
    assert h5_verdict_store._read(h5_verdict_store.store_path()) == identities[-8:]
    assert h5_verdict_store.contains(identities[12])  # old half: used, so kept longer
    for identity in identities[:6]:
        h5_verdict_store.record(identity)
    kept = h5_verdict_store._read(h5_verdict_store.store_path())
    assert len(kept) == 8 and identities[12] in kept and identities[13] not in kept
    assert not h5_verdict_store.contains(identities[13])


RECORD_MANY = """
import sys
from tracemark.io_backends import h5_verdict_store
for inode in range(200):
    h5_verdict_store.record((2, int(sys.argv[1]), inode, 0, 0))
"""


def test_racing_writers_leave_a_valid_store():
    writers = [subprocess.Popen([sys.executable, "-c", RECORD_MANY, str(n)], cwd=str(REPO))
               for n in range(4)]
    assert [w.wait(timeout=120) for w in writers] == [0] * 4
    kept = h5_verdict_store._read(h5_verdict_store.store_path())
    assert kept and len(kept) <= h5_verdict_store.CAPACITY
    assert all(identity[0] == 2 and identity[1] in range(4) for identity in kept)
    assert not list(h5_verdict_store.store_path().parent.glob("*.tmp-*"))
