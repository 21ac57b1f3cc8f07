"""Recordings that live on a server: NWB, EDF/BDF and TRC streamed over HTTP(S), S3 and DANDI.

``open_recording("https://…/x.nwb")`` (and ``s3://bucket/key``, ``dandi://dandi/000027@draft/path``,
DANDI asset URLs) lands here. A URL is resolved to the address bytes are fetched from
(:mod:`.locations`, :mod:`.dandi`), a :class:`~.source.RemoteFile` serves positional reads
from it through a memory and disk block cache (:mod:`.source`, :mod:`.block_cache`) over a
small pool of HTTP connections (:mod:`.http_range`), and the format's ordinary backend reads
the header and samples through that file, so the reader protocol holds unchanged: the header
is read once and a read fetches the blocks it returns.

This module itself imports nothing but the standard library's URL parser, so that
``registry`` can ask :func:`is_remote` on every open without loading network code.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..protocol import BaseRecording

#: URL schemes opened from a server rather than from the file system.
REMOTE_SCHEMES = ("http://", "https://", "s3://", "dandi://")


def is_remote(location: str | os.PathLike[str]) -> bool:
    """True when ``location`` names a recording on a server (a URL or a :class:`RemotePath`)."""
    text = str(location)
    return text[:9].lower().startswith(REMOTE_SCHEMES)


def open_remote_recording(url: str | os.PathLike[str], *, format: str | None = None,
                          **options: Any) -> BaseRecording:
    """Open the recording at ``url`` read-only; see :func:`.opening.open_remote`."""
    from .opening import open_remote

    return open_remote(str(url), format=format, **options)


__all__ = ["REMOTE_SCHEMES", "is_remote", "open_remote_recording"]
