"""Typed errors for recordings read from a server; each names the URL and says what to do.

They are :class:`~tracemark.io_backends.errors.RecordingError` subclasses, so the GUI and
the CLI report them like any unreadable file: a dialog, or one line on stderr.
"""

from __future__ import annotations

from ..errors import RecordingError, TruncatedRecordingError


class RemoteRecordingError(RecordingError):
    """A recording on a server cannot be read (network, server or address problem)."""


class RemoteNotFoundError(RemoteRecordingError):
    """The server answers that nothing is at the URL (HTTP 404, S3 NoSuchKey, unknown DANDI asset)."""


class RemoteAccessDeniedError(RemoteRecordingError):
    """The server refuses access (HTTP 401/403)."""


class RemoteCredentialsError(RemoteAccessDeniedError):
    """The AWS credentials found were refused by S3, or could not be loaded at all."""


class RemoteTimeoutError(RemoteRecordingError):
    """The server did not answer within the timeout, after retrying."""


class RemoteUnreachableError(RemoteRecordingError):
    """No connection could be made (offline, unknown host, connection refused)."""


class RemoteChangedError(RemoteRecordingError):
    """The file on the server changed (a new ETag) while it was open; reopen it."""


class RangeNotSupportedError(RemoteRecordingError):
    """The server ignores HTTP Range requests and the file is too large to download whole."""


class RemoteTruncatedError(RemoteRecordingError, TruncatedRecordingError):
    """The server sent fewer bytes than it promised, or a read runs past the file's end."""
