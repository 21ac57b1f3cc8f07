"""Typed errors raised by the readers and the cache file.

Every error names the file and says what is wrong in words a user can act on; the GUI
shows ``str(error)`` in a dialog and the CLI prints it to stderr. No backend lets a bare
``struct.error``, ``OSError`` or ``KeyError`` escape for a problem with the file itself.
"""

from __future__ import annotations

from pathlib import Path


class TracemarkError(Exception):
    """Base of every error Tracemark reports to a person instead of a traceback."""


class RecordingError(TracemarkError):
    """A recording cannot be read. ``path`` is the file, ``problem`` what is wrong."""

    def __init__(self, path: str | Path, problem: str):
        # A Path is kept as given: a remote recording's RemotePath prints as its URL.
        self.path = path if isinstance(path, Path) else Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class UnsupportedFormatError(RecordingError):
    """No backend recognises the file (wrong magic, unknown suffix)."""


class CorruptRecordingError(RecordingError):
    """The file claims a known format but its header or layout is inconsistent."""


class TruncatedRecordingError(CorruptRecordingError):
    """The file is shorter than its header says."""


class UnsupportedVariantError(RecordingError):
    """A known format in a variant Tracemark does not read (e.g. an old TRC header type)."""


class MissingDependencyError(RecordingError):
    """The backend for this file needs an optional library that is not installed."""


class RecordingClosedError(RecordingError):
    """A read after ``close()``."""
