"""Open a recording by URL: resolve the address, probe the server, and hand the bytes to a backend.

The format is sniffed from the first bytes, as for local files (suffix second). NWB (HDF5)
is read by :mod:`tracemark.io_backends.nwb` through ``h5py.File(file object)``; TRC and
EDF/BDF by their own readers, whose positional reads go to a :class:`~.source.RemoteFile`
instead of a local file: both layouts put the whole header first and samples in fixed-size
frames or records, so the header costs a few blocks and a page costs its frames.

NWB-Zarr stores (URLs ending in ``.zarr``, DANDI Zarr assets) are folders of many objects, not
one file: they go to :mod:`.nwb_zarr` (hdmf-zarr over fsspec's HTTP store) instead. Not read
from servers: the formats only neo reads (neo opens local paths).
"""

from __future__ import annotations

import os
from typing import Any

from ..protocol import BaseRecording
from .block_cache import BlockCache
from .dandi import download_url, is_dandi, resolve_asset
from .errors import RemoteAccessDeniedError, RemoteRecordingError
from .http_range import FULL_DOWNLOAD_LIMIT, HttpRangeClient
from .locations import RemotePath, file_suffix, s3_http_url
from .s3_auth import refused, signer_for
from .source import DEFAULT_BLOCK_SIZE, DEFAULT_MEMORY_BYTES, RemoteFile

#: Bytes sniffed for the format, as ``registry.sniff_format`` reads from local files.
SNIFF_BYTES = 2048 + 8


def open_remote(url: str, *, format: str | None = None, timeout: float = 10.0,
                connections: int = 12, block_size: int = DEFAULT_BLOCK_SIZE,
                memory_bytes: int = DEFAULT_MEMORY_BYTES, cache_dir: str | os.PathLike[str] | None = None,
                cache_limit_bytes: int | None = None, read_ahead: bool = True,
                full_download_limit: int = FULL_DOWNLOAD_LIMIT, anonymous: bool = False,
                **options: Any) -> BaseRecording:
    """Open the recording at ``url`` (http, https, s3 or dandi) read-only.

    ``timeout`` bounds every connect and receive (seconds); ``connections`` is the size of
    the connection pool; ``cache_dir`` and ``cache_limit_bytes`` place and bound the shared
    disk block cache (default: the user's cache folder, 2 GiB; a limit of 0 turns it off).
    ``s3://`` requests are signed with the person's AWS credentials when any are found
    (:mod:`.s3_auth`); ``anonymous=True`` sends them unsigned even then.
    Other options go to the format's backend. Raises a typed ``RecordingError`` naming the URL.
    """
    # A DANDI asset is looked up once: the answer says whether it is a Zarr store or a blob.
    asset = resolve_asset(url, timeout) if is_dandi(url) else None
    zarr_store = asset.is_zarr if asset is not None else _is_zarr(url)
    if zarr_store:
        from .nwb_zarr import open_nwb_zarr

        store = asset.address if asset is not None else _fetch_address(url, timeout)
        return open_nwb_zarr(RemotePath(url), store, timeout=timeout, **options)
    source = open_source(url, address=asset.address if asset is not None else None,
                         timeout=timeout, connections=connections, block_size=block_size,
                         memory_bytes=memory_bytes, cache_dir=cache_dir,
                         cache_limit_bytes=cache_limit_bytes, read_ahead=read_ahead,
                         full_download_limit=full_download_limit, anonymous=anonymous)
    try:
        name = format or _sniff(source)
        return _open_backend(name, source, options)
    except BaseException:
        source.close()
        raise


def open_source(url: str, *, timeout: float = 10.0, connections: int = 12,
                block_size: int = DEFAULT_BLOCK_SIZE, memory_bytes: int = DEFAULT_MEMORY_BYTES,
                cache_dir: str | os.PathLike[str] | None = None, cache_limit_bytes: int | None = None,
                read_ahead: bool = True, anonymous: bool = False,
                full_download_limit: int = FULL_DOWNLOAD_LIMIT, address: str | None = None) -> RemoteFile:
    """The remote file at ``url``, probed (size, ETag, first block) and ready for reads;
    ``address``, when given, is where ``url`` was already resolved to (a DANDI download)."""
    path = RemotePath(url)
    signer = signer_for(url, anonymous=anonymous)
    client = HttpRangeClient(address or _fetch_address(url, timeout), path, connections=connections,
                             timeout=timeout, full_download_limit=full_download_limit, signer=signer)
    try:
        probe = client.probe(block_size)
    except RemoteAccessDeniedError as denied:
        client.close()
        raise refused(url, signer, denied) from None
    except BaseException:
        client.close()
        raise
    cache = BlockCache(cache_dir) if cache_limit_bytes is None else BlockCache(cache_dir, cache_limit_bytes)
    disk = cache.for_file(url, probe.validator, block_size)
    return RemoteFile(path, client, probe, disk, block_size=block_size, memory_bytes=memory_bytes,
                      workers=max(connections // 2, 1), read_ahead=read_ahead)


def _is_zarr(url: str) -> bool:
    """An NWB-Zarr store: a folder whose name ends in ``.zarr`` (``x.nwb.zarr``)."""
    return file_suffix(url.rstrip("/")) == ".zarr"


def _fetch_address(url: str, timeout: float) -> str:
    if is_dandi(url):
        return download_url(url, timeout)
    if url.lower().startswith("s3://"):
        try:
            return s3_http_url(url)
        except ValueError as exc:
            raise RemoteRecordingError(RemotePath(url), str(exc).split(": ", 1)[-1]) from None
    return url


def _sniff(source: RemoteFile) -> str:
    from ..registry import format_of_head

    head = source.read_bytes(0, SNIFF_BYTES)
    return format_of_head(source.path, head, source.path.suffix.lower())


def _open_backend(name: str, source: RemoteFile, options: dict[str, Any]) -> BaseRecording:
    path = source.path
    if name == "nwb":
        from ..nwb import open_nwb

        return open_nwb(path, source=source, **options)
    if name == "trc":
        from ..trc import TrcRecording
        from ..trc_header import parse_trc

        if options:
            raise TypeError(f"open_trc() got unexpected options: {', '.join(sorted(options))}")
        return TrcRecording(parse_trc(path, fileobj=source.open_view(), size=source.size()), file=source)
    if name == "edf":
        from ..edf import EdfRecording
        from ..edf_header import read_edf_header

        status_events = options.pop("status_events", True)
        edf = read_edf_header(path, fileobj=source.open_view(), size=source.size(), **options)
        return EdfRecording(path, edf, status_events=status_events, file=source)
    from ..errors import UnsupportedFormatError

    raise UnsupportedFormatError(path, f"is read by the {name!r} backend, which reads local files "
                                       "only; download it first (TRC, EDF/BDF and NWB stream "
                                       "from servers)")
