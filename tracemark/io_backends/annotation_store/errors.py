"""Typed errors of the annotation file.

Each names the annotation file (``path``) and says what is wrong (``problem``);
``str(error)`` is what the window shows in a dialog and the command line prints on stderr.
An edit refused because of its content (a stale change, an unknown id) is the domain's
:class:`~tracemark.domain.annotations.AnnotationError` instead: the file is fine.
"""

from __future__ import annotations

from pathlib import Path

from tracemark.io_backends.errors import TracemarkError


class AnnotationFileError(TracemarkError):
    """An annotation file cannot be opened, read or written."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class AnnotationLockedError(AnnotationFileError):
    """Another process holds the file for writing; ``holder`` says who (user@host pid N)."""

    def __init__(self, path: str | Path, holder: str):
        self.holder = holder
        super().__init__(path, f"is open for writing by {holder}")


class AnnotationReadOnlyError(AnnotationFileError):
    """A change was asked of a store opened read-only; the problem says why it is."""
