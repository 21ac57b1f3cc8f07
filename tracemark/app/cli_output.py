"""Standard output of the ``tracemark`` command: a failure to print told apart from a failure
of the work itself.

While a command runs, :func:`guarded_stdout` routes ``sys.stdout`` through a thin guard
that turns any ``OSError`` of a write or flush (the reader of a pipe exited, as with
``| head``; a full disk; a closed terminal) into :class:`StdoutError`. Code that prints
need not know: :mod:`tracemark.app.cli` catches the error once, for every command.

Two outcomes follow, and they differ on purpose:

* A command whose work *is* its output (``info``, ``cache peek``, ``cache export`` to
  standard output) has failed when the output cannot be written: exit 1, silently when the
  reader simply left (``BrokenPipeError``, as a shell pipeline expects), with one line on
  stderr otherwise.
* A command that has already done durable work (``cache set``, ``build``, ``merge``) prints
  its report with :func:`report`: if that report cannot be printed, the work still stands
  and the command exits 0, saying so in one line on stderr unless the reader simply left.

Either way file descriptor 1 is then pointed at ``os.devnull`` (:func:`detach_stdout`), so
that the interpreter's own flush at exit cannot fail a second time with a traceback-like
"Exception ignored" message, as the Python documentation's note on SIGPIPE recommends.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class StdoutError(Exception):
    """Writing to standard output failed; ``cause`` is the ``OSError`` from the write."""

    def __init__(self, cause: OSError):
        self.cause = cause
        super().__init__(f"standard output cannot be written to ({cause.strerror or cause})")

    @property
    def reader_left(self) -> bool:
        """True when the other end of a pipe closed (``| head``): nobody is left to tell."""
        return isinstance(self.cause, BrokenPipeError) or self.cause.errno == errno.EPIPE


class _GuardedStream:
    """``sys.stdout`` as it was, except that write errors are raised as :class:`StdoutError`."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as error:
            raise StdoutError(error) from error

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            raise StdoutError(error) from error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def guarded_stdout() -> Iterator[None]:
    """Guard ``sys.stdout`` for the length of the block and flush it at the end, so that a
    failure of buffered output surfaces here rather than at interpreter exit."""
    original = sys.stdout
    if original is None:  # started with stdout closed: print() already writes nothing
        _occupy_closed_stdout()
        yield
        return
    guard = _GuardedStream(original)
    sys.stdout = guard
    try:
        yield
    finally:
        try:
            guard.flush()
        finally:
            sys.stdout = original


def _occupy_closed_stdout() -> None:
    """Put ``os.devnull`` on a closed descriptor 1, so that the next file the command opens
    (a cache, its journal) cannot become descriptor 1 and receive what a library prints."""
    try:
        os.fstat(1)
    except OSError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        if devnull != 1:
            os.dup2(devnull, 1)
            os.close(devnull)


def detach_stdout() -> None:
    """Point file descriptor 1 at ``os.devnull``: whatever is still buffered, and anything
    printed later, goes nowhere instead of failing again."""
    stream = sys.stdout  # the stream that failed, not sys.__stdout__: a test may capture it
    if stream is None:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError):
        pass  # no real descriptor behind stdout (an in-process test's capture): nothing to do


def tell_stdout_failure(error: StdoutError, level: str, consequence: str = "") -> None:
    """One line on stderr about ``error`` (none when the reader of a pipe left), then detach."""
    detach_stdout()
    if not error.reader_left:
        print(f"tracemark: {level}: {error}{consequence}", file=sys.stderr)


def report(lines: list[str], done: str) -> None:
    """Print the report of work that is already durable. When it cannot be printed, say
    (``done``: what stands, e.g. "the edit is saved") on stderr and carry on: the command
    still succeeded."""
    try:
        try:
            for line in lines:
                print(line)
            if sys.stdout is not None:
                sys.stdout.flush()
        except OSError as error:  # stdout not guarded (the function called on its own)
            raise StdoutError(error) from error
    except StdoutError as error:
        tell_stdout_failure(error, "warning", f"; {done}")
