"""Proxy readers for recordings, and the trace cache file. No Qt here.

``open_recording(path)`` returns a reader that satisfies the protocol documented in
:mod:`tracemark.io_backends.protocol`.
"""

from .errors import (
    CorruptRecordingError,
    MissingDependencyError,
    RecordingClosedError,
    RecordingError,
    TruncatedRecordingError,
    UnsupportedFormatError,
    UnsupportedVariantError,
)
from .protocol import BaseRecording, Event, RecordingHeader, StreamHeader
from .registry import open_recording, sniff_format
from .stream_proxy import StreamProxy

__all__ = [
    "BaseRecording",
    "CorruptRecordingError",
    "Event",
    "MissingDependencyError",
    "RecordingClosedError",
    "RecordingError",
    "RecordingHeader",
    "StreamHeader",
    "StreamProxy",
    "TruncatedRecordingError",
    "UnsupportedFormatError",
    "UnsupportedVariantError",
    "open_recording",
    "sniff_format",
]
