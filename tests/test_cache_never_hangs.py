"""A damaged cache never hangs: HDF5 metadata is first read by a child with a deadline.

4 KiB of zeros at byte 4830 of a cache as ``tracemark cache build`` writes it land in its
global heap, and the HDF5 library then loops for ever reading a root attribute, inside
one C call no Python timeout can end. ``tracemark.io_backends.h5_preflight`` reads every
object header and attribute of a file it has not seen in a child process first, and
refuses the file when the child stops making progress or dies. The whole damaged-cache
corpus (``test_bad_input_cache.py``) runs under a per-case hang guard as well; here are
the reported case end to end and the watchdog's own behaviour.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testkit.cache import synthetic_recording
from tracemark.io_backends import h5_preflight
from tracemark.io_backends.cache import (
    BuildSpec,
    CacheFile,
    CacheFormatError,
    build_cache,
)

REPO = Path(__file__).resolve().parents[1]
#: The child's no-progress deadline in these tests (10 s in normal use).
STALL_S = "2"


@pytest.fixture
def built_cache(tmp_path) -> Path:
    """A cache as ``tracemark cache build`` writes it, never checkpointed."""
    return build_cache([synthetic_recording(36, rate=2048.0)], tmp_path / "built.hdf5",
                       BuildSpec("TMS", 0.1, 0.4, readout="contralateral_mep"))


def _zero_4k_at(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(bytes(4096))


def _peek(path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, TRACEMARK_HDF5_STALL_S=STALL_S)
    return subprocess.run([sys.executable, "-m", "tracemark", "cache", "peek", str(path)], check=False,
                          capture_output=True, text=True, timeout=60, cwd=str(REPO), env=env)


def test_zeros_in_the_global_heap_give_one_error_line_not_a_hang(built_cache):
    assert _peek(built_cache).returncode == 0
    _zero_4k_at(built_cache, 4830)
    done = _peek(built_cache)  # the timeout above is the hang guard
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith("tracemark: error:") and built_cache.name in lines[0]
    assert "made no progress" in lines[0]


def test_opening_the_damaged_cache_raises_a_typed_error(built_cache, monkeypatch):
    monkeypatch.setattr(h5_preflight, "STALL_S", 1.0)
    walks = []
    real = h5_preflight._walk_in_child
    monkeypatch.setattr(h5_preflight, "_walk_in_child", lambda p: walks.append(p) or real(p))
    _zero_4k_at(built_cache, 4830)
    with pytest.raises(CacheFormatError, match="is not a readable HDF5 file: the HDF5 library"):
        CacheFile(built_cache, mode="r")
    assert len(walks) == 1
    with pytest.raises(CacheFormatError):  # the verdict is remembered: no second wait
        CacheFile(built_cache, mode="r")
    assert len(walks) == 1


def test_a_file_is_walked_once_per_identity(built_cache, monkeypatch):
    walks = []
    real = h5_preflight._walk_in_child
    monkeypatch.setattr(h5_preflight, "_walk_in_child", lambda p: walks.append(p) or real(p))
    with CacheFile(built_cache, mode="r"):  # the build vouched for the file it wrote
        pass
    assert walks == []
    foreign = built_cache.with_name("foreign.hdf5")  # the same bytes, not written by us
    shutil.copyfile(built_cache, foreign)
    for _ in range(3):
        with CacheFile(foreign, mode="r") as cache:
            cache.get_trace_attrs(0)
    assert len(walks) == 1
    with CacheFile(foreign, mode="w") as cache:  # its own checkpoint is not walked again
        cache.update(0, comment="checked")
        cache.checkpoint()
        assert cache.get_trace_attrs(0)["comment"] == "checked"
    assert len(walks) == 1
    stat = foreign.stat()
    os.utime(foreign, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # changed on disk
    with CacheFile(foreign, mode="r"):
        pass
    assert len(walks) == 2


@pytest.mark.timeout(120)  # the hang guard: the child sleeps for an hour unless killed
def test_a_child_that_stops_making_progress_is_killed(tmp_path, monkeypatch):
    monkeypatch.setattr(h5_preflight, "STALL_S", 0.5)
    monkeypatch.setattr(h5_preflight, "_walk", lambda path, counter: time.sleep(3600))
    target = tmp_path / "any.hdf5"
    target.write_bytes(b"x")
    assert "made no progress for 0.5 s" in h5_preflight.metadata_problem(target)


def test_a_child_that_crashes_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(h5_preflight, "_walk", lambda path, counter: os.abort())
    target = tmp_path / "any.hdf5"
    target.write_bytes(b"x")
    assert "crashed (signal 6)" in h5_preflight.metadata_problem(target)


def test_errors_hdf5_raises_are_left_to_the_opener(tmp_path):
    target = tmp_path / "text.hdf5"
    target.write_bytes(b"not hdf5 at all\n" * 100)
    assert h5_preflight.metadata_problem(target) is None
    with pytest.raises(CacheFormatError, match="is not a readable HDF5 file"):
        CacheFile(target, mode="r")
