"""Read a remote HDF5 file's metadata once in a child process before h5py opens it in ours.

Why: the never-hang guarantee of :mod:`tracemark.io_backends.h5_preflight` holds for files
on servers too. Damaged HDF5 metadata can send the HDF5 library into an endless loop inside
one C call that holds h5py's lock, whether the bytes come from a disk or through
``h5py.File(file object)`` over a :class:`~.source.RemoteFile`; an NWB file damaged on a
server must give a typed :class:`~tracemark.io_backends.errors.CorruptRecordingError`
naming the URL within a bounded time, not hang the CLI or the GUI.

How: the child cannot share the parent's ``RemoteFile`` (it owns threads and sockets). It is
given what identifies and reaches the file instead: the URL the person gave (which keys the
shared disk block cache), the address bytes are fetched from (after DANDI resolution and
redirects), the ETag, the size, the timeout, the block size, the block cache folder and,
for a private S3 object, the region its requests are signed for (the child finds the
credentials as the parent did, from the environment it inherits: no secret crosses the
command line). It builds its own one-connection ``RemoteFile`` on them, checks with a
one-byte probe that the server still has that version, and walks ``h5py.File(view)`` with
:func:`h5_preflight._walk_object`, counting progress in a small file mapped into memory by
both processes. The blocks it fetches land in the shared disk block cache, so the parent's
own open then reads the same metadata from disk rather than from the network. Measured
with the shared test data's NWB files served by ``tests/remote_server.py`` (default 256 KiB
blocks, parent read-ahead off so that only the open's own reads count), bytes the parent's
open fetched besides its probe, without the walk and after it: 3.53 MB and 1.05 MB
(pynapple_neurosuite, 7.2 MB), 1.57 MB and 0 (NWBShowcase Ferguson, 1.8 MB), 444 KB and 0
(the 64-channel EEG, 2.3 MB). The server sent the same bytes in both cases (plus the one
byte of the child's probe): the walk moves the metadata fetches into the child rather than
adding to them, at one to three more requests. With read-ahead on (the default), the parent
fetched 6.94 MB and 4.46 MB, 1.57 MB and 2 KB, 1.49 MB and 1.05 MB. What the walk adds to a
first open is the child's start: 0.25-0.5 s on a 2-core machine (0.03-0.18 s without it).

The child is always a fresh interpreter (``python -m``), never a ``fork``, unlike the local
walk: a fork copies only the forking thread of a parent whose fetch, read-ahead and cache
threads may hold locks (the pool's, the resolver's, the allocator's), and a child that then
deadlocks in its own network code would be killed and reported as a damaged file. The
fresh interpreter costs about half a second, small beside network round trips, and is paid
once per version of a file (see the verdicts below). The stall limit starts counting at
the child's first request; until then (its start and imports) it has :data:`START_S`.

Stall and network: the parent kills the child when its progress stops moving. The child
counts walked items and, separately, network events (each request attempt, each piece of
body received), and flags while it waits on the network. A legitimate network wait without
any event lasts up to one socket timeout (connect, or waiting for the answer, or one piece
of the body) plus the longest pause between retries, so the stall limit for a remote walk is
``h5_preflight.STALL_S + timeout + 1 s``: shorter, and a slow but healthy server would be
reported stuck. A child killed while its flag says it waits on the network is reported as
:class:`~.errors.RemoteTimeoutError` (a name lookup, which no socket timeout bounds, can
do that), and a network error the child meets (unreachable, timed out after retries,
changed ETag) comes back as that typed error: neither is called damage.

Verdicts: the identity of a remote file is (URL the person gave, ETag, size). The URL given
rather than the fetch address, because DANDI's fetch addresses are signed and change at
every resolution; the ETag names the bytes (every read sends ``If-Match`` with it). A walk
that ended is remembered in memory and in :mod:`..h5_verdict_store` (as a hashed identity
no local file can have), so reopening the same unchanged object walks no more, in this
process or a later one; a new ETag walks again. Damage verdicts are remembered in memory
only; network failures are not remembered. A server that sends no ETag gives no identity:
its file is walked at every open (S3, nginx, Apache and DANDI's storage all send ETags).

Not walked, as for local files: the chunk indexes of chunked datasets.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from .. import h5_preflight, h5_verdict_store
from ..errors import RecordingError
from ..h5_verdict_store import Identity
from . import errors as remote_errors
from .errors import RemoteChangedError, RemoteRecordingError, RemoteTimeoutError
from .http_range import HttpRangeClient
from .locations import RemotePath
from .source import RemoteFile, RemoteFileView

#: The longest pause between two attempts of one request in :mod:`.http_range`.
RETRY_PAUSE_S = 1.0
#: Time the child may take to start (a fresh interpreter importing h5py: half a second, more
#: on a loaded machine) before its first request; the stall limit counts from that request.
START_S = 60.0
#: Memory the child's block cache may hold (metadata is small; the disk cache keeps the rest).
CHILD_MEMORY_BYTES = 16 << 20
#: Walks started by this process (tests count walks with it).
walks = 0

_verdicts: OrderedDict[Identity, str | None] = OrderedDict()
_verdicts_lock = threading.Lock()
#: The shared progress record: items walked, network events, "waiting on the network" flag.
_SHARED = struct.Struct("<QQQ")
_NETWORK_AT, _BUSY_AT = 8, 16
#: Errors the child may report back by name (all RemoteRecordingError subclasses).
_REPORTABLE = {name: getattr(remote_errors, name) for name in dir(remote_errors)
               if isinstance(getattr(remote_errors, name), type)
               and issubclass(getattr(remote_errors, name), RemoteRecordingError)}
_T = TypeVar("_T")


@dataclass(frozen=True)
class RemoteTarget:
    """What the child needs to open the same version of the file the parent has open."""

    url: str
    fetch_address: str
    etag: str
    size: int
    timeout: float
    block_size: int
    cache_root: str | None
    cache_limit: int
    #: The region requests are signed for (private S3), ``None`` for anonymous requests.
    signed_region: str | None = None

    @classmethod
    def of(cls, source: RemoteFile) -> RemoteTarget:
        """The target of an open ``source``: its address, version, and block cache."""
        client, cache, signer = source.client, source.disk_cache, source.client.signer
        return cls(url=source.path.url, fetch_address=client.address, etag=client.etag,
                   size=source.size(), timeout=client.timeout, block_size=source.block_size,
                   cache_root=None if cache is None else str(cache.root),
                   cache_limit=0 if cache is None else cache.limit_bytes,
                   signed_region=getattr(signer, "region", None))

    def identity(self) -> Identity | None:
        """The verdict key, or ``None`` when the server gave no ETag to name the bytes by."""
        return h5_verdict_store.remote_identity(self.url, self.etag, self.size) if self.etag else None


def stall_limit(timeout: float) -> float:
    """Seconds without any progress after which the child is killed (see the module docstring)."""
    return h5_preflight.STALL_S + timeout + RETRY_PAUSE_S


def metadata_problem(source: RemoteFile) -> str | None:
    """``None`` when the HDF5 library reads all of ``source``'s metadata in bounded time,
    else why the file is damaged. Network failures on the way raise their typed
    :class:`~.errors.RemoteRecordingError` naming the URL."""
    target = RemoteTarget.of(source)
    key = target.identity()
    if key is not None:
        with _verdicts_lock:
            if key in _verdicts:
                _verdicts.move_to_end(key)
                return _verdicts[key]
        if h5_verdict_store.contains(key):
            _remember(key, None)
            return None
    verdict = _walk_in_child(target)  # raises network errors, which are not verdicts
    if key is not None:
        _remember(key, verdict)
        if verdict is None:
            h5_verdict_store.record(key)
    return verdict


def forget_all() -> None:
    """Forget the verdicts held in memory (the on-disk store is ``h5_verdict_store``'s)."""
    with _verdicts_lock:
        _verdicts.clear()


def _remember(key: Identity, verdict: str | None) -> None:
    with _verdicts_lock:
        _verdicts[key] = verdict
        _verdicts.move_to_end(key)
        while len(_verdicts) > h5_preflight.MEMORY:
            _verdicts.popitem(last=False)


# -- the parent side -----------------------------------------------------------------------------
def _walk_in_child(target: RemoteTarget) -> str | None:
    global walks
    walks += 1
    handle, name = tempfile.mkstemp(prefix="tracemark-walk-")
    try:
        os.write(handle, bytes(_SHARED.size))
        shared = mmap.mmap(handle, _SHARED.size)
        try:
            child = subprocess.Popen([sys.executable, "-m", __name__, json.dumps(asdict(target)), name],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
            try:
                return _watch(target, child, shared)
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
                if child.stdout is not None:
                    child.stdout.close()
        finally:
            shared.close()
    finally:
        os.close(handle)
        os.unlink(name)


def _watch(target: RemoteTarget, child: subprocess.Popen[bytes], shared: mmap.mmap) -> str | None:
    """Wait for the child while its counts move; kill it when they stop for the stall limit."""
    limit = stall_limit(target.timeout)
    seen, last_progress = (-1, -1), time.monotonic()
    while True:
        try:
            status = child.wait(0.05)
            break
        except subprocess.TimeoutExpired:
            pass
        items, network, busy = _SHARED.unpack_from(shared)
        now = time.monotonic()
        if (items, network) != seen:
            seen, last_progress = (items, network), now
        elif now - last_progress > (limit if items or network else max(limit, START_S)):
            child.kill()
            child.wait()
            if busy:
                raise RemoteTimeoutError(RemotePath(target.url), f"no answer within {limit:g} s while "
                                                                 "checking the file's HDF5 metadata")
            return (f"the HDF5 library made no progress for {limit:g} s while reading its "
                    f"metadata (it loops on damaged metadata)")
    assert child.stdout is not None
    return _outcome(target, status, child.stdout.read())


def _outcome(target: RemoteTarget, status: int, report: bytes) -> str | None:
    """The verdict from the child's exit status and its one-line report on stdout."""
    if status < 0:
        return (f"the HDF5 library crashed (signal {-status}) while reading its metadata; "
                f"the file is damaged")
    try:
        told = json.loads(report)
        outcome, error, problem = told["outcome"], told.get("error", ""), told.get("problem", "")
    except (ValueError, KeyError, TypeError):
        return "the HDF5 library failed while reading its metadata; the file is damaged"
    if outcome == "walked":
        return None
    if outcome == "too_many":
        return (f"its metadata names more than {h5_preflight.MAX_ITEMS} objects and attributes "
                f"(a loop in damaged metadata)")
    raise _REPORTABLE.get(error, RemoteRecordingError)(RemotePath(target.url), problem)


# -- the child side --------------------------------------------------------------------------------
class _CountingClient(HttpRangeClient):
    """A client that counts each request attempt and each piece of body it receives, and
    flags while a request (with its retries) is under way, in memory the parent watches."""

    def __init__(self, shared: mmap.mmap, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._shared, self._events = shared, 0

    def _event(self) -> None:
        self._events += 1
        struct.pack_into("<Q", self._shared, _NETWORK_AT, self._events)

    def _attempt(self, once: Callable[[], _T]) -> _T:
        struct.pack_into("<Q", self._shared, _BUSY_AT, 1)
        try:
            return super()._attempt(lambda: self._counted(once))
        finally:
            struct.pack_into("<Q", self._shared, _BUSY_AT, 0)

    def _counted(self, once: Callable[[], _T]) -> _T:
        self._event()
        return once()

    def _request(self, conn: Any, headers: dict[str, str]) -> Any:
        self._event()  # the connection and the request are sent: now the answer is awaited
        response = super()._request(conn, headers)
        self._event()
        read = response.read

        def counted_read(*args: Any) -> bytes:
            data: bytes = read(*args)
            self._event()
            return data

        setattr(response, "read", counted_read)  # noqa: B010 (shadow the method on this response)
        return response


class _FailFastView(RemoteFileView):
    """A view that keeps the first network error and fails every later read at once: the
    walk swallows the errors h5py raises, and each further read would wait out the
    timeout and retries again."""

    failure: RemoteRecordingError | None = None

    def readinto(self, buffer: Any) -> int:
        if self.failure is not None:
            raise OSError(str(self.failure))
        try:
            return super().readinto(buffer)
        except OSError:
            error = self.source.pop_failure()
            if isinstance(error, RemoteRecordingError):
                self.failure = error
            raise


def _walk_remote(target: RemoteTarget, shared: mmap.mmap) -> dict[str, str]:
    """Open ``target`` anew and walk its metadata; the report for the parent."""
    import h5py

    from .block_cache import BlockCache

    path = RemotePath(target.url)
    client = _CountingClient(shared, target.fetch_address, path, connections=1, timeout=target.timeout,
                             **_signing(target))
    try:
        probe = client.probe(1)  # size and ETag; the first block is in the disk cache already
        if probe.etag != target.etag or probe.size != target.size:
            raise RemoteChangedError(path, "the file changed on the server while it was being "
                                           "opened (another ETag or size); open it again")
    except BaseException:
        client.close()
        raise
    disk = BlockCache(target.cache_root, target.cache_limit).for_file(target.url, target.etag,
                                                                      target.block_size)
    source = RemoteFile(path, client, probe, disk, block_size=target.block_size,
                        memory_bytes=CHILD_MEMORY_BYTES, workers=1, read_ahead=False)
    view = _FailFastView(source)
    progress = h5_preflight._Progress(shared)
    outcome = "walked"
    try:
        with h5py.File(view, "r") as f:
            h5_preflight._walk_object(f.id, progress, set())
    except h5_preflight._TooMany:
        outcome = "too_many"
    except h5_preflight._H5_ERRORS:
        pass  # errors HDF5 raises are met again by the opener, which handles them
    finally:
        source.close()  # waits for the fetched blocks to reach the disk cache
    if view.failure is not None:
        raise view.failure
    return {"outcome": outcome}


def _signing(target: RemoteTarget) -> dict[str, Any]:
    """The signer of a private S3 object's requests: the child finds the same credentials the
    parent found (it inherits the environment; no secret crosses the command line) and signs
    for the region the parent's requests ended up signed for."""
    if target.signed_region is None:
        return {}
    from .s3_auth import signer_for

    signer = signer_for(target.url)
    if signer is None:
        return {}
    signer.region = target.signed_region
    return {"signer": signer}


def _main(argv: list[str]) -> int:
    """Child entry point: walk the target described by ``argv[0]`` (JSON), counting in the
    file ``argv[1]``; print one JSON line saying how it ended."""
    target = RemoteTarget(**json.loads(argv[0]))
    with open(argv[1], "r+b") as handle:
        shared = mmap.mmap(handle.fileno(), _SHARED.size)
    try:
        try:
            report = _walk_remote(target, shared)
        except RecordingError as error:  # the network's, or the file closing: not damage
            report = {"outcome": "network", "error": type(error).__name__, "problem": error.problem[:2000]}
    finally:
        shared.close()
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
