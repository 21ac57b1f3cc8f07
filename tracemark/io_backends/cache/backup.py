"""Consistent copies of a cache, history included, while it is open (even for writing).

Why this is consistent without stopping the writer. Tracemark never changes a cache's
HDF5 file in place: a checkpoint writes a new file and renames it over the old one. So an
open descriptor of the HDF5 file is a frozen version of it, however many checkpoints follow.
The journal is append-only and never cut below a committed record, so once the HDF5 file is
open, the journal read *after* it holds every record that version folded in, plus perhaps
newer ones, which a reader of the copy replays (records hold absolute values, so replaying
one the file already holds changes nothing). The copy is therefore exactly the cache as it
stood at the moment the journal was read: never a torn mix. Only complete journal lines are
copied; an append half-written at that moment was not acknowledged yet and is left out, as a
crash would leave it out.

The copy is written beside its destination and renamed into place under the destination's
writer lock, as a build is.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .. import h5_preflight
from . import fsops, portable_io
from .errors import CacheError
from .journal import journal_path
from .lock import WriterLock

_COPY_CHUNK = 1 << 20


def write_backup(source: Path, out: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Copy the cache at ``source`` (HDF5 file and journal) to ``out``; returns ``out``."""
    out = Path(out).expanduser().absolute()
    _check_target(source, out, overwrite)
    lock = WriterLock(out)
    tmp = out.with_name(f"{out.name}.backup-{os.getpid()}")
    try:
        try:
            frozen = os.open(source, os.O_RDONLY | portable_io.BINARY)
        except OSError as error:
            raise CacheError(source, f"cannot be read for a backup ({error.strerror})") from error
        try:
            journal = committed_journal(journal_path(source))
            copied = h5_preflight.identity_of_descriptor(frozen)
            _copy_descriptor(frozen, tmp)
            shutil.copymode(source, tmp)
        finally:
            os.close(frozen)
        fsops.fsync_path(tmp)
        fsops.unlink(journal_path(out))  # a journal of what was at ``out`` does not apply
        fsops.replace(tmp, out)
        fsops.fsync_dir(out.parent)
        h5_preflight.remember_copy(copied, out)  # the same bytes as a file known sound
        if journal:
            fsops.create_file(journal_path(out), journal)
    except OSError as error:
        raise CacheError(out, f"the backup could not be written ({error.strerror or error})"
                         ) from error
    finally:
        if tmp.exists():
            tmp.unlink()
        lock.release()
    return out


def committed_journal(path: Path) -> bytes:
    """The journal's complete lines (``b""`` when there is none)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return b""
    return data[:data.rfind(b"\n") + 1]


def _check_target(source: Path, out: Path, overwrite: bool) -> None:
    if out == source or out == journal_path(source):
        raise CacheError(out, "is the cache being backed up; choose another file")
    if out.is_dir():
        raise CacheError(out, "is a folder; give the name of the backup file to write")
    if out.exists() and not overwrite:
        raise CacheError(out, "already exists; choose another name or allow overwriting")
    if not out.parent.is_dir():
        raise CacheError(out, f"cannot be written: folder {out.parent} does not exist")


def _copy_descriptor(source_fd: int, target: Path) -> None:
    with open(target, "wb") as handle:
        offset = 0
        while chunk := portable_io.read_at(source_fd, _COPY_CHUNK, offset):
            handle.write(chunk)
            offset += len(chunk)
