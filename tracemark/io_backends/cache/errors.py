"""Typed errors of the trace cache file.

Each error names the cache file and says what is wrong and, where there is something to do,
what to do. ``str(error)`` is what the GUI shows in a dialog and the CLI prints on stderr.
"""

from __future__ import annotations

from pathlib import Path

from tracemark.io_backends.errors import TracemarkError


class CacheError(TracemarkError):
    """A cache file cannot be read or written. ``path`` is the file, ``problem`` what is wrong."""

    def __init__(self, path: str | Path | None, problem: str):
        self.path = Path(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class CacheFormatError(CacheError):
    """The file is not a trace cache, or its layout is inconsistent."""


class CacheLockedError(CacheError):
    """Another process holds the writer lock; ``holder`` describes it (user@host pid N since T)."""

    def __init__(self, path: str | Path, holder: str):
        self.holder = holder
        super().__init__(path, f"is open for writing by {holder}")


class CacheReadOnlyError(CacheError):
    """A write was asked of a cache opened read-only."""


class CacheValueError(CacheError):
    """An attribute value, key or trace index was refused by the schema; nothing was written."""


class CacheIndexError(CacheValueError, IndexError):
    """A trace index outside ``0 .. len(cache) - 1``."""


class CacheWriteError(CacheError):
    """A write failed (I/O error, disk full); the edit was NOT acknowledged.

    The cache is as it was before the edit, or (when the failure hit after the bytes reached
    the disk) as after it, never in between.
    """


class CheckpointError(CacheError):
    """Folding the journal into the HDF5 file failed; no acknowledged edit is lost (the journal
    still holds them) and the HDF5 file is unchanged."""


class JournalError(CacheError):
    """The journal beside a cache cannot be read or does not belong to that cache."""


class MergeError(CacheError):
    """Caches to merge are inconsistent (readout, sampling rate or channels differ)."""


class CacheClosedError(CacheError):
    """Use of a cache after ``close()``."""
