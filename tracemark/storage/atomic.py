"""Replace a whole file atomically and durably: the one way Tracemark does it.

The contract, for every form below:

* The new content is written to a *temporary* beside the target (same folder, so the
  rename never crosses file systems), named ``.<stem>.tmp-<pid>-<random><suffix>``: hidden,
  unique per writer, and keeping the target's suffix for writers that look at it.
* On success the temporary's data is synced to disk (``fsync``), renamed over the target
  (``os.replace``, atomic on POSIX and Windows), and then the folder is synced, so that
  the rename itself survives a power loss. A reader sees the old file or the new one,
  never a part of either.
* On any failure before the rename (an exception, ``KeyboardInterrupt`` included) the
  temporary is removed, the target is left as it was, and the exception propagates. If
  syncing the folder fails after the rename, the error propagates too, but the target
  already holds the new content.
* The one exception to durability is asked for by name: ``durable=False`` (see
  :func:`open_replacement`) keeps everything above but the two syncs, for disposable
  caches whose writes would otherwise queue up behind the disk.

Forms, from the simplest:

* :func:`write_bytes` / :func:`write_text` -- content already in memory.
* :func:`open_replacement` -- a context manager giving an open file, for writers that
  stream into it.
* :class:`Replacement` -- a temporary *path* (not yet created), for writers that open the
  file themselves (h5py, numpy, another module's writer); commit or discard it, or use it
  as a context manager.
* :func:`replace_file` -- move a temporary the caller prepared (with a name its own
  recovery knows, as the trace cache does) over the target.

Standard library only, so every layer may import it.
"""

from __future__ import annotations

import glob
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Any

__all__ = [
    "TEMPORARY_MARK",
    "Replacement",
    "fsync_directory",
    "fsync_file",
    "open_replacement",
    "replace_file",
    "temporaries_of",
    "temporary_beside",
    "write_bytes",
    "write_text",
]

#: Part of every temporary's name, so leftovers of a killed process can be recognised.
TEMPORARY_MARK = ".tmp-"


def temporary_beside(target: str | os.PathLike[str]) -> Path:
    """A fresh name for a temporary in the target's folder; the file is not created."""
    target = Path(target)
    token = secrets.token_hex(4)
    return target.with_name(f".{target.stem}{TEMPORARY_MARK}{os.getpid()}-{token}{target.suffix}")


def temporaries_of(target: str | os.PathLike[str]) -> list[Path]:
    """Temporaries of ``target`` present in its folder (any writer's, finished or not)."""
    target = Path(target)
    pattern = f".{glob.escape(target.stem)}{TEMPORARY_MARK}*{glob.escape(target.suffix)}"
    return sorted(target.parent.glob(pattern))


def _sync(fd: int) -> None:
    if sys.platform == "darwin":
        import fcntl  # noqa: PLC0415 -- not on Windows

        try:
            # macOS's fsync leaves the data in the drive's own cache; this flushes that too.
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
            return
        except OSError:
            pass  # file systems without it (some network shares): fsync is the best left
    os.fsync(fd)


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Sync a closed file's data to disk."""
    # Windows flushes only through a handle open for writing; POSIX syncs any descriptor,
    # and read-only opening also works on files whose mode forbids writing.
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        _sync(fd)
    finally:
        os.close(fd)


def fsync_directory(folder: str | os.PathLike[str]) -> None:
    """Sync a folder's entries (a rename or a new name in it) to disk.

    Where a folder cannot be opened as a file (Windows) there is no folder sync to ask
    for, and this does nothing.
    """
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        _sync(fd)
    finally:
        os.close(fd)


def _discard(temporary: Path) -> None:
    try:
        temporary.unlink()
    except FileNotFoundError:
        pass


def _move_into_place(temporary: Path, target: Path, *, sync_file: bool, sync_folder: bool) -> None:
    try:
        if sync_file:
            fsync_file(temporary)
        os.replace(temporary, target)
    except BaseException:
        _discard(temporary)
        raise
    if sync_folder:
        fsync_directory(target.parent)


def replace_file(temporary: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Sync ``temporary``, rename it over ``target`` and sync ``target``'s folder.

    ``temporary`` must be a closed file on the same file system, normally in ``target``'s
    folder. It is removed if the replacement fails.
    """
    _move_into_place(Path(temporary), Path(target), sync_file=True, sync_folder=True)


class Replacement:
    """A temporary path that becomes ``target`` on :meth:`commit`.

    The temporary is not created: the writer creates it (and may refuse to overwrite, as
    it would the target). As a context manager, leaving the block normally commits and
    leaving it by an exception discards::

        with Replacement(path) as replacement:
            write_somehow(replacement.temporary)
    """

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = Path(target)
        self.temporary = temporary_beside(self.target)

    def commit(self) -> None:
        """Make the temporary (written and closed by now) the target; see the module doc."""
        replace_file(self.temporary, self.target)

    def discard(self) -> None:
        """Remove the temporary, if it was created; the target is not touched."""
        _discard(self.temporary)

    def __enter__(self) -> Replacement:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


@contextmanager
def open_replacement(target: str | os.PathLike[str], mode: str = "wb", *, durable: bool = True,
                     **open_arguments: Any) -> Iterator[IO[Any]]:
    """An open file whose content replaces ``target`` when the block ends normally.

    ``mode`` is ``"wb"`` or ``"w"`` (``open_arguments`` such as ``encoding`` and
    ``newline`` go to :func:`open`). An exception in the block removes the temporary.

    ``durable=False`` skips both syncs, for a disposable cache written faster than a disk
    syncs (a remote file's blocks): the replacement is still atomic for every reader and
    survives the writer being killed, but after a power loss the target may be empty, so
    its reader must treat an empty file as absent.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"open_replacement writes a new file: mode 'w' or 'wb', not {mode!r}")
    target = Path(target)
    temporary = temporary_beside(target)
    try:
        with open(temporary, mode.replace("w", "x"), **open_arguments) as handle:
            yield handle
            if durable:
                handle.flush()
                _sync(handle.fileno())
    except BaseException:
        _discard(temporary)
        raise
    _move_into_place(temporary, target, sync_file=False, sync_folder=durable)


def write_bytes(target: str | os.PathLike[str], data: bytes, *, durable: bool = True) -> None:
    """Replace ``target`` with ``data``; see the module doc for what a failure leaves, and
    :func:`open_replacement` for ``durable``."""
    with open_replacement(target, "wb", durable=durable) as handle:
        handle.write(data)


def write_text(target: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Replace ``target`` with ``text``; see the module doc for what a failure leaves."""
    with open_replacement(target, "w", encoding=encoding) as handle:
        handle.write(text)
