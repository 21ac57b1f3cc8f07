"""Every operation by which the cache changes anything on disk, in one place.

The journal, the lock and the checkpoint call these functions and nothing else to write,
so that one hook sees every write point. The hook is how the test-suite proves crash
safety without root or strace: it can end the process before (or half-way through) any
write point, or make one fail with an I/O error, the way SQLite's test VFS does. In
normal use the hook is ``None`` and costs one attribute test per call.

Replacing a file and syncing a folder are :mod:`tracemark.storage.atomic`'s, behind the
hook, so the cache keeps the same durability contract as every other file Tracemark writes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from tracemark.storage import atomic

from . import portable_io

#: ``hook(point, detail)`` is called before each write point. It may return normally,
#: raise ``OSError`` (an injected I/O error) or end the process. For ``"append"`` it may
#: return an int n: only the first n bytes are written and then the process is ended.
FaultHook = Callable[[str, str], "int | None"]
_hook: FaultHook | None = None

WRITE_POINTS = ("append", "fsync", "truncate", "create", "copy", "h5apply", "replace",
                "fsync_dir", "unlink")


def set_fault_hook(hook: FaultHook | None) -> None:
    """Install (or remove, with ``None``) the fault hook. For tests only."""
    global _hook
    _hook = hook


def _point(name: str, detail: str) -> int | None:
    if _hook is None:
        return None
    return _hook(name, detail)


def append(fd: int, data: bytes, detail: str = "") -> None:
    """Write all of ``data`` at the end of the file open as ``fd`` (opened ``O_APPEND``)."""
    cut = _point("append", detail)
    if cut is not None:
        os.write(fd, data[:cut])
        os._exit(70)
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync(fd: int, detail: str = "") -> None:
    _point("fsync", detail)
    # fdatasync where there is one: enough for appended data and file contents, since the
    # size is data-sync'd (portable_io says what macOS and Windows need instead).
    portable_io.sync_data(fd)


def truncate(fd: int, size: int, detail: str = "") -> None:
    _point("truncate", detail)
    os.ftruncate(fd, size)


def create_file(path: Path, data: bytes) -> None:
    """Create ``path`` holding ``data`` atomically: write a temporary, fsync, rename, fsync dir.

    The temporary's name is one the cache's sweep of leftovers knows, so a killed writer's
    is cleared by the next; a failure here removes it at once."""
    _point("create", str(path))
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | portable_io.BINARY, 0o644)
    try:
        try:
            append(fd, data, str(tmp))
            fsync(fd, str(tmp))
        finally:
            os.close(fd)
        replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def copy(src: Path, dst: Path) -> None:
    """Copy file contents (kernel-side when possible) and permission bits."""
    _point("copy", str(dst))
    shutil.copyfile(src, dst)
    shutil.copymode(src, dst)


def h5apply(detail: str) -> None:
    """Marks the moment the checkpoint starts changing its private copy with h5py.

    h5py's own writes cannot be hooked one by one; a fault here stands for a fault at any
    of them, which is equivalent because the copy is discarded unless it is complete.
    """
    _point("h5apply", detail)


def fsync_path(path: Path) -> None:
    # Windows flushes a file only through a handle that may write to it (FlushFileBuffers).
    fd = os.open(path, (os.O_RDWR if portable_io.portable else os.O_RDONLY) | portable_io.BINARY)
    try:
        fsync(fd, str(path))
    finally:
        os.close(fd)


def replace(src: Path, dst: Path) -> None:
    """Move the finished temporary ``src`` over ``dst`` durably (:func:`atomic.replace_file`)."""
    _point("replace", str(dst))
    atomic.replace_file(src, dst)


def fsync_dir(path: Path) -> None:
    _point("fsync_dir", str(path))
    atomic.fsync_directory(path)


def unlink(path: Path) -> None:
    _point("unlink", str(path))
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
