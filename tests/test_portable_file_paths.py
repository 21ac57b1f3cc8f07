"""The portable file primitives (what Windows runs), checked on Linux where both exist.

The cache suite runs on these paths as well as on the native ones (``tests/conftest.py``),
kill and power-loss tests included. What is checked here is what that suite cannot see:
that the portable writer lock covers one byte beyond the holder's details (Windows locks
are mandatory, so the details must stay outside the locked range to be readable by a
refused opener), that positional reads and writes give the native results even from
several threads sharing a descriptor, and that the environment variable reaches a new
process.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading

import pytest

from tracemark.io_backends.cache import portable_io
from tracemark.io_backends.cache.lock import WriterLock, lock_path

fcntl = pytest.importorskip("fcntl")
needs_ofd_locks = pytest.mark.skipif(not hasattr(fcntl, "F_OFD_GETLK"),
                                     reason="needs open-file-description locks (Linux)")


@pytest.fixture
def portable(monkeypatch):
    monkeypatch.setattr(portable_io, "portable", True)


def locked_by_another(path, start: int, length: int) -> bool:
    """Whether another open file holds a lock over ``[start, start + length)`` of ``path``."""
    fd = os.open(path, os.O_RDWR)
    try:
        probe = struct.pack("@hhqqi", fcntl.F_WRLCK, os.SEEK_SET, start, length, 0) + bytes(8)
        answer = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, probe)
        return struct.unpack_from("@h", answer)[0] != fcntl.F_UNLCK
    finally:
        os.close(fd)


@needs_ofd_locks
def test_the_portable_lock_leaves_the_holder_details_unlocked_and_readable(tmp_path, portable):
    cache = tmp_path / "c.hdf5"
    held = WriterLock(cache)
    try:
        details = lock_path(cache).read_bytes()
        assert json.loads(details)["pid"] == os.getpid()
        assert len(details) < portable_io.LOCK_BYTE
        assert locked_by_another(lock_path(cache), portable_io.LOCK_BYTE, 1)
        assert not locked_by_another(lock_path(cache), 0, portable_io.LOCK_BYTE)
        second = os.open(lock_path(cache), os.O_RDWR)
        try:  # another open file, even in this process, is refused
            assert not portable_io.try_lock(second)
        finally:
            os.close(second)
    finally:
        held.release()
    assert not locked_by_another(lock_path(cache), 0, portable_io.LOCK_BYTE + 1)
    assert lock_path(cache).read_bytes() == b""  # released: the details are no longer true


@pytest.mark.parametrize("mode", ["native", "portable"])
def test_positional_reads_and_writes_match_pread_and_pwrite(tmp_path, monkeypatch, mode):
    monkeypatch.setattr(portable_io, "portable", mode == "portable")
    path = tmp_path / "data"
    path.write_bytes(bytes(range(256)) * 4)
    fd = os.open(path, os.O_RDWR)
    try:
        assert portable_io.write_at(fd, b"\x00\xff", 1000) == 2
        assert portable_io.write_at(fd, b"tail", 1024) == 4       # extends the file
        assert portable_io.read_at(fd, 3, 999) == bytes([999 % 256, 0, 255])
        assert portable_io.read_at(fd, 100, 1022) == b"\xfe\xfftail"  # short at the end
        assert portable_io.read_at(fd, 10, 5000) == b""
    finally:
        os.close(fd)
    expected = bytearray(bytes(range(256)) * 4)
    expected[1000:1002] = b"\x00\xff"
    assert path.read_bytes() == bytes(expected) + b"tail"


def test_portable_reads_from_many_threads_sharing_a_descriptor_get_their_own_bytes(
        tmp_path, portable):
    blocks = [bytes([i]) * 4096 for i in range(64)]
    path = tmp_path / "blocks"
    path.write_bytes(b"".join(blocks))
    fd = os.open(path, os.O_RDONLY)
    wrong = []

    def read_every_block(order):
        for _ in range(20):
            for i in order:
                if portable_io.read_at(fd, 4096, i * 4096) != blocks[i]:
                    wrong.append(i)

    threads = [threading.Thread(target=read_every_block, args=(list(range(64))[k::4],))
               for k in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        os.close(fd)
    assert wrong == []


@pytest.mark.parametrize("value, expected", [("1", True), ("", False), ("0", False)])
def test_the_environment_variable_forces_the_portable_paths_in_a_new_process(value, expected):
    env = {**os.environ, portable_io.PORTABLE_IO_ENV: value}
    result = subprocess.run(
        [sys.executable, "-c",
         "from tracemark.io_backends.cache import portable_io; print(portable_io.portable)"],
        env=env, capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == str(expected)
