"""The on-disk list of HDF5 file identities whose metadata is known to read in bounded time.

What it is for: :mod:`tracemark.io_backends.h5_preflight` walks an HDF5 file's metadata in
a child process before h5py opens it in ours, which costs about a millisecond per trace.
This store lets a file walked (or written by Tracemark) once skip that walk in every later
process: the CLI, the GUI, a reader beside a writer.

What it holds: only "sound" verdicts, as identities (device, inode, size, mtime_ns,
ctime_ns), never paths or contents; a file on a server (walked by
:mod:`tracemark.io_backends.remote.h5_walk`) is stored as :func:`remote_identity`, a hash of
its URL and ETag in a record whose device number no local file has. A file that failed its
walk is not stored: a stall may have been a slow network share, and forgetting a refusal
costs one more bounded walk. The caller
decides when an identity is safe to store (``h5_preflight`` stores only identities that a
later write would change, see its docstring); this module only keeps the list.

Where and how: ``<user cache dir>/hdf5-verified-v1.bin`` (``platformdirs``; tests point
``XDG_CACHE_HOME`` at a temporary folder). A magic line, fixed-size records (oldest first),
and a CRC-32 of all of it. At most :data:`CAPACITY` identities: the least recently used go
first (a hit refreshes an identity only once it has aged into the older half, so opening a
known file seldom writes). Every change replaces the file atomically
(:mod:`tracemark.storage.atomic`), so a reader sees the old list or the new one. Writers that race
lose each other's additions (last writer wins), which costs a later walk and nothing else.
A store that is missing, truncated or corrupt reads as empty; any error writing it is
swallowed for the same reason: a lost verdict only means walking the file again.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
import zlib
from pathlib import Path

from tracemark.storage import atomic

#: Identities kept; 40 bytes each, so the file stays under 200 KiB.
CAPACITY = 4096

_MAGIC = b"tracemark hdf5 verified v1\n"
_RECORD = struct.Struct("<QQQqq")  # device, inode, size, mtime_ns, ctime_ns
_CRC = struct.Struct("<I")
_FILE_NAME = "hdf5-verified-v1.bin"
#: A temporary left by a writer that was killed is removed once it is this old.
_STALE_TEMP_S = 3600.0

Identity = tuple[int, int, int, int, int]

_write_lock = threading.Lock()  # threads of one process do not lose each other's additions
#: The device number of remote identities: every bit set, which no file system's st_dev is.
_REMOTE_DEVICE = (1 << 64) - 1


def remote_identity(url: str, validator: str, size: int) -> Identity:
    """The identity of one version of a file on a server, in the shape of a local one:
    192 bits of a hash of ``url`` and ``validator`` (its ETag), and its size."""
    digest = hashlib.blake2b(f"{url}\n{validator}".encode(), digest_size=24).digest()
    inode, mtime, ctime = struct.unpack("<Qqq", digest)
    return (_REMOTE_DEVICE, inode, size, mtime, ctime)


def store_path() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tracemark", appauthor=False)) / _FILE_NAME


def contains(identity: Identity) -> bool:
    """Whether ``identity`` is stored; refreshes it when it is among the oldest half."""
    identities = _read(store_path())
    try:
        age = len(identities) - 1 - identities.index(identity)
    except ValueError:
        return False
    if age >= CAPACITY // 2:
        record(identity)
    return True


def record(identity: Identity) -> None:
    """Store ``identity`` as the most recently used one."""
    path = store_path()
    with _write_lock:
        identities = [i for i in _read(path) if i != identity]
        identities.append(identity)
        _write(path, identities[-CAPACITY:])


def clear() -> None:
    """Forget every stored identity (for benchmarks measuring a first open)."""
    try:
        store_path().unlink()
    except OSError:
        pass


def _read(path: Path) -> list[Identity]:
    try:
        data = path.read_bytes()
    except OSError:
        return []
    body_end = len(data) - _CRC.size
    records = data[len(_MAGIC):body_end]
    if (not data.startswith(_MAGIC) or body_end < len(_MAGIC)
            or len(records) % _RECORD.size
            or _CRC.unpack_from(data, body_end)[0] != zlib.crc32(data[:body_end])):
        return []  # corrupt or from another version: rebuilt by the next record()
    return list(_RECORD.iter_unpack(records))


def _write(path: Path, identities: list[Identity]) -> None:
    body = _MAGIC + b"".join(_RECORD.pack(*i) for i in identities if _packable(i))
    data = body + _CRC.pack(zlib.crc32(body))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(path)
        atomic.write_bytes(path, data)
    except OSError:
        pass  # a verdict not kept only means walking that file again


def _packable(identity: Identity) -> bool:
    try:
        _RECORD.pack(*identity)
    except struct.error:  # a field out of range (a negative device number?): not stored
        return False
    return True


def _remove_stale_temps(path: Path) -> None:
    deadline = time.time() - _STALE_TEMP_S
    for temp in atomic.temporaries_of(path):
        try:
            if temp.stat().st_mtime < deadline:
                temp.unlink()
        except OSError:
            pass
