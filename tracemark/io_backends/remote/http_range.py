"""HTTP range reads over a small pool of kept-alive connections, with timeouts and typed errors.

Why our own range reader on ``http.client`` rather than remfile or fsspec: the byte ranges
a read needs are already known exactly (the block cache in :mod:`.source` decides them), so
what is left is one GET with a ``Range`` header per run of missing blocks on a connection
that is kept alive. ``http.client`` does that with nothing to import at start-up (fsspec's
HTTP filesystem pulls in aiohttp and runs an asyncio loop in a thread, about 0.3 s of
imports, and it has its own read-ahead cache that would sit on top of ours), serves any
number of threads through the pool, and lets every failure become a typed error naming the
URL. ``benchmarks/bench_remote.py`` compares the transports on 24 consecutive 10-s pages
of a 64-channel, 2048 Hz TRC file (2.6 MB each) read back to back from a local server in
its own process, with 0, 20 and 80 ms added per request (2 shared cores):

    ==============================  ============  ==============  ==============
    transport                       open          page p50        page p95
    ==============================  ============  ==============  ==============
    this module (+ .source)         4-85 ms       4-7 ms          15-95 ms
    fsspec HTTP, ``readahead``      60-219 ms     3-84 ms         3-84 ms
    fsspec HTTP, ``blockcache``     55-223 ms     7-818 ms        9-837 ms
    ==============================  ============  ==============  ==============

Bodies are handed over piece by piece as they arrive (:meth:`HttpRangeClient.stream`), so
the blocks at the front of a long read-ahead request serve a waiting read before its end
has come; a retry resumes after the last whole piece received.

fsspec's read-ahead cache serves one reader at a time through one file position, so the
viewer's workers would need a file object each; its block cache fetches block by block.
remfile (an h5py-oriented range reader) was not measured: it is not installed here.

What the server must do, and what happens when it does not
    * Range support (``206 Partial Content``). A server that ignores ``Range`` and answers
      ``200`` with the whole body is detected on the first request: a body of at most
      ``full_download_limit`` bytes (32 MiB by default) is downloaded once, whole, and
      served from the block cache; a larger one is refused with
      :class:`RangeNotSupportedError`, since reading one page would cost the whole file.
    * An ``ETag`` (or ``Last-Modified``) validator. Later requests send ``If-Match`` with it,
      and a ``412``, or a response carrying another ETag, raises :class:`RemoteChangedError`.
    * Timeouts: every connect and every receive has ``timeout`` seconds, and a whole body has
      ``timeout`` seconds plus one per 100 kB; a request that runs out is retried
      ``retries`` times (as are 5xx answers, resets and short bodies), then raises a typed
      error. Nothing waits for ever.
    * Redirects (DANDI asset downloads go to S3) are followed on the first request; later
      range requests go straight to where it led.
    * Authentication: a :class:`RequestSigner` (private S3 objects, :mod:`.s3_auth`) signs
      every request attempt as it is sent, so the URL itself never carries a credential.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar
from urllib.parse import urljoin, urlsplit

from ..errors import RecordingClosedError
from .errors import (
    RangeNotSupportedError,
    RemoteAccessDeniedError,
    RemoteChangedError,
    RemoteCredentialsError,
    RemoteNotFoundError,
    RemoteRecordingError,
    RemoteTimeoutError,
    RemoteTruncatedError,
    RemoteUnreachableError,
)
from .locations import RemotePath

#: A server that ignores Range gets its file downloaded whole when it is at most this long.
FULL_DOWNLOAD_LIMIT = 32 << 20
#: Slowest body rate tolerated before a request counts as timed out (bytes per second).
MIN_BODY_RATE = 100_000
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 5
_RETRY_PAUSES_S = (0.1, 0.4, 1.0)
_T = TypeVar("_T")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Probe:
    """What the first request learnt: the file's size and validator, and its first bytes."""

    size: int
    etag: str
    last_modified: str
    first_bytes: bytes
    #: The whole file, when the server ignored Range and the file was small enough.
    whole_body: bytes | None = None

    @property
    def validator(self) -> str:
        """What identifies this version of the file ("" when the server gives nothing)."""
        return self.etag or (f"modified {self.last_modified}" if self.last_modified else "")


class _Retryable(Exception):
    """A failure worth another attempt; carries the typed error raised when attempts run out."""

    def __init__(self, error: RemoteRecordingError):
        super().__init__(str(error))
        self.error = error


class RequestSigner(Protocol):
    """Authenticates each request, as :class:`.s3_auth.S3RequestSigner` does for private S3 objects."""

    def sign(self, address: str, headers: dict[str, str]) -> dict[str, str]:
        """The headers to send for a GET of ``address``: ``headers`` plus authentication."""

    def retry_in_region(self, status: int, bucket_region: str | None) -> bool:
        """Whether the first request is to be sent again (re-signed for the bucket's region)."""

    def refusal(self, body: bytes) -> str:
        """Why a 401/403 with this error ``body`` refused the request, naming the credentials."""


class HttpRangeClient:
    """Range GETs of one URL from several threads at once, through a pool of connections."""

    def __init__(self, url: str, path: RemotePath, *, connections: int = 6,
                 timeout: float = 10.0, retries: int = 2,
                 full_download_limit: int = FULL_DOWNLOAD_LIMIT, signer: RequestSigner | None = None):
        self.path = path
        self._signer = signer
        self.timeout = timeout
        self.retries = retries
        self.full_download_limit = full_download_limit
        self._target = url
        self._etag = ""
        self._idle: list[http.client.HTTPConnection] = []
        self._pool_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(connections)
        self._closed = False
        self.requests = 0
        self.bytes_received = 0

    # -- public --------------------------------------------------------------------------
    @property
    def address(self) -> str:
        """Where requests go: the URL given, or where its redirect led after :meth:`probe`."""
        return self._target

    @property
    def etag(self) -> str:
        """The ETag every request insists on (``If-Match``), "" before the probe or without one."""
        return self._etag

    @property
    def signer(self) -> RequestSigner | None:
        return self._signer

    def probe(self, length: int) -> Probe:
        """Fetch the first ``length`` bytes, following redirects; learn size and ETag."""
        for _ in range(_MAX_REDIRECTS + 1):
            outcome = self._attempt(lambda: self._probe_once(length))
            if isinstance(outcome, Probe):
                self._etag = outcome.etag
                return outcome
            self._close_pool()
            self._target = outcome
        raise RemoteRecordingError(self.path, f"more than {_MAX_REDIRECTS} redirects")

    def fetch(self, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)`` of the file; typed errors after ``retries`` more attempts."""
        pieces: list[bytes] = []
        self.stream(start, stop, pieces.append)
        return b"".join(pieces)

    def stream(self, start: int, stop: int, receive: Callable[[bytes], None], piece: int = _CHUNK) -> None:
        """Bytes ``[start, stop)`` handed to ``receive`` as they arrive, ``piece`` bytes at a time
        (the last piece may be shorter), so a reader waiting for the front of a long request
        need not wait for its end. An attempt that fails is retried from the first piece not yet
        received: ``receive`` sees every byte exactly once, in order."""
        received = 0

        def take(chunk: bytes) -> None:
            nonlocal received
            received += len(chunk)
            receive(chunk)

        self._attempt(lambda: self._fetch_once(start + received, stop, take, piece))

    def close(self) -> None:
        self._closed = True
        self._close_pool()

    # -- one request ---------------------------------------------------------------------
    def _probe_once(self, length: int) -> Probe | str:
        with self._connection() as conn:
            response = self._request(conn, {"Range": f"bytes=0-{length - 1}"})
            if self._signer is not None and self._signer.retry_in_region(
                    response.status, response.getheader("x-amz-bucket-region")):
                response.read()
                return self._target  # the same address, signed for the bucket's own region
            if response.status in _REDIRECTS:
                location = response.getheader("Location")
                response.read()
                if not location:
                    raise RemoteRecordingError(self.path, f"redirect {response.status} without a Location")
                return urljoin(self._target, location)
            etag = response.getheader("ETag") or ""
            modified = response.getheader("Last-Modified") or ""
            if response.status == 206:
                total = _content_range(self.path, response.getheader("Content-Range"))[2]
                if total is None:
                    raise RemoteRecordingError(self.path, "the server does not say how long the file is "
                                                          "(Content-Range without a total)")
                body = self._body(response, min(length, total))
                return Probe(total, etag, modified, body)
            if response.status == 200:
                return self._whole_body(response, etag, modified)
            if response.status == 416:  # an empty file: no byte 0 to send
                response.read()
                return Probe(0, etag, modified, b"")
            self._raise_for_status(response)
        raise AssertionError("unreachable")

    def _whole_body(self, response: http.client.HTTPResponse, etag: str, modified: str) -> Probe:
        declared = response.getheader("Content-Length")
        size = int(declared) if declared and declared.isdigit() else None
        if size is not None and size > self.full_download_limit:
            response.close()
            raise RangeNotSupportedError(
                self.path, f"the server ignores range requests and the file is {_mb(size)}, more "
                           f"than the {_mb(self.full_download_limit)} Tracemark downloads whole; "
                           "serve it from a server that supports HTTP Range (any static file server, S3)")
        body = self._body(response, size, limit=self.full_download_limit)
        return Probe(len(body), etag, modified, body[:_CHUNK], whole_body=body)

    def _fetch_once(self, start: int, stop: int, receive: Callable[[bytes], None], piece: int) -> None:
        headers = {"Range": f"bytes={start}-{stop - 1}"}
        if self._etag:
            headers["If-Match"] = self._etag
        with self._connection() as conn:
            response = self._request(conn, headers)
            if response.status == 206:
                first = _content_range(self.path, response.getheader("Content-Range"))[0]
                self._check_etag(response)
                if first != start:
                    raise RemoteRecordingError(self.path, f"asked for byte {start}, the server sent "
                                                          f"bytes from {first}")
                self._body(response, stop - start, receive=receive, piece=piece)
                return
            if response.status == 200:
                response.close()
                raise RemoteRecordingError(self.path, "the server stopped honouring range requests")
            if response.status == 416:
                response.read()
                raise RemoteTruncatedError(self.path, f"bytes {start}..{stop} lie past the end of the "
                                                      "file on the server; was it replaced?")
            self._raise_for_status(response)
        raise AssertionError("unreachable")

    def _request(self, conn: http.client.HTTPConnection, headers: dict[str, str]) -> http.client.HTTPResponse:
        parts = urlsplit(self._target)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        headers = {"Accept-Encoding": "identity", **headers}
        if self._signer is not None:
            headers = self._signer.sign(self._target, headers)
        conn.request("GET", target, headers=headers)
        self.requests += 1
        return conn.getresponse()

    def _body(self, response: http.client.HTTPResponse, length: int | None, limit: int | None = None,
              receive: Callable[[bytes], None] | None = None, piece: int = _CHUNK) -> bytes:
        """Read the body (exactly ``length`` bytes when known) within its deadline.

        With ``receive``, whole ``piece``-sized parts go to it as they complete (and the
        tail at the end); a part cut short by a failure is dropped, for the retry to fetch.
        Without, the body is returned."""
        deadline = time.monotonic() + self.timeout + (length or limit or 0) / MIN_BODY_RATE
        chunks: list[bytes] = []
        pending = 0
        received = 0
        while length is None or received < length:
            want = _CHUNK if length is None else min(_CHUNK, length - received)
            if receive is not None:
                want = min(want, piece - pending)
            chunk = response.read(want)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
            pending += len(chunk)
            self.bytes_received += len(chunk)
            if receive is not None and (pending == piece or received == length):
                receive(b"".join(chunks) if len(chunks) > 1 else chunks[0])
                chunks, pending = [], 0
            if limit is not None and received > limit:
                response.close()
                raise RangeNotSupportedError(
                    self.path, f"the server ignores range requests and sent more than "
                               f"{_mb(limit)} without saying the file's length")
            if time.monotonic() > deadline:
                response.close()
                raise _Retryable(RemoteTimeoutError(self.path, f"the body came too slowly (under "
                                                               f"{MIN_BODY_RATE // 1000} kB/s)"))
        if length is not None and received < length:
            response.close()
            raise _Retryable(RemoteTruncatedError(
                self.path, f"the server sent {received} of the {length} bytes it promised "
                           "(the connection was cut)"))
        return b"".join(chunks)

    def _check_etag(self, response: http.client.HTTPResponse) -> None:
        etag = response.getheader("ETag")
        if self._etag and etag and etag != self._etag:
            response.close()
            raise RemoteChangedError(self.path, f"the file changed on the server while it was open "
                                                f"(ETag {self._etag} is now {etag}); open it again")

    def _raise_for_status(self, response: http.client.HTTPResponse) -> None:
        status, reason = response.status, response.reason
        body = response.read()
        said = f"the server answered {status} {reason}"
        if status in (404, 410):
            raise RemoteNotFoundError(self.path, f"{said}: nothing is at this address")
        if status in (401, 403) and self._signer is not None:
            raise RemoteCredentialsError(self.path, f"{said}: {self._signer.refusal(body)}")
        if status in (401, 403):
            raise RemoteAccessDeniedError(self.path, f"{said}: access is refused (a private file "
                                                     "or an expired link?)")
        if status == 412:
            raise RemoteChangedError(self.path, "the file changed on the server while it was open "
                                                "(its ETag no longer matches); open it again")
        if status == 429 or status >= 500:
            raise _Retryable(RemoteRecordingError(self.path, f"{said}; try again later"))
        raise RemoteRecordingError(self.path, said)

    # -- retries and connections ---------------------------------------------------------
    def _attempt(self, once: Callable[[], _T]) -> _T:
        failure: RemoteRecordingError | None = None
        for pause in (0.0, *_RETRY_PAUSES_S[:self.retries]):
            if self._closed:
                raise RecordingClosedError(self.path, "the recording was closed")
            time.sleep(pause)
            try:
                return once()
            except _Retryable as retry:
                failure = retry.error
            except TimeoutError:
                failure = RemoteTimeoutError(self.path, f"no answer within {self.timeout:g} s")
            except (ConnectionRefusedError, socket.gaierror) as exc:
                raise RemoteUnreachableError(self.path, f"cannot connect to "
                                                        f"{urlsplit(self._target).netloc}: {exc}") from exc
            except ssl.SSLError as exc:
                raise RemoteUnreachableError(self.path, f"secure connection failed: {exc}") from exc
            except (http.client.HTTPException, ConnectionError, OSError) as exc:
                failure = RemoteUnreachableError(self.path, f"the connection failed: {exc or type(exc).__name__}")
        assert failure is not None
        tries = 1 + min(self.retries, len(_RETRY_PAUSES_S))
        if tries > 1:
            failure = type(failure)(self.path, f"{failure.problem} ({tries} tries)")
        raise failure

    def _connection(self) -> _Lease:
        return _Lease(self)

    def _take(self) -> http.client.HTTPConnection:
        if not self._slots.acquire(timeout=self.timeout * 3):
            raise _Retryable(RemoteTimeoutError(self.path, "every connection stayed busy"))
        with self._pool_lock:
            if self._idle:
                return self._idle.pop()
        parts = urlsplit(self._target)
        if not parts.hostname:
            self._slots.release()
            raise RemoteUnreachableError(self.path, f"the address {self._target!r} names no server")
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=self.timeout)
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)

    def _give_back(self, conn: http.client.HTTPConnection, healthy: bool) -> None:
        try:
            if healthy and not self._closed:
                with self._pool_lock:
                    self._idle.append(conn)
                    return
            conn.close()
        finally:
            self._slots.release()

    def _close_pool(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class _Lease:
    """A pooled connection for one request; dropped rather than reused after any failure."""

    def __init__(self, client: HttpRangeClient):
        self.client = client

    def __enter__(self) -> http.client.HTTPConnection:
        self.conn = self.client._take()
        return self.conn

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        # Successful requests read their bodies to the end, so the connection is ready again.
        self.client._give_back(self.conn, healthy=exc_type is None)


def _content_range(path: RemotePath, value: str | None) -> tuple[int, int, int | None]:
    """``(first, last, total)`` of ``Content-Range: bytes first-last/total`` (total may be ``*``)."""
    try:
        unit, _, rest = (value or "").partition(" ")
        span, _, total = rest.partition("/")
        first, _, last = span.partition("-")
        if unit != "bytes":
            raise ValueError(value)
        return int(first), int(last), None if total.strip() == "*" else int(total)
    except ValueError:
        raise RemoteRecordingError(path, f"the server sent a malformed Content-Range {value!r}") from None


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"

