"""A remote file read by position: the byte source the TRC, EDF and NWB readers use over HTTP.

:class:`RemoteFile` has the interface of :class:`~tracemark.io_backends.rawfile.PositionalFile`
(``path``, ``size()``, ``read_array()``, ``close()``, ``closed``), so the TRC and EDF readers
run on it unchanged, and :meth:`RemoteFile.open_view` gives a seekable file object for the
header parsers and for ``h5py.File(fileobj)``.

How a read is served
    The file is cut into fixed blocks (256 KiB by default). A read takes its blocks from
    memory (an LRU of ``memory_bytes``), then from the shared disk cache
    (:mod:`.block_cache`), and fetches the rest: consecutive missing blocks become one range
    request, made by the reading thread itself; a run longer than 4 MiB (the summary
    build, loading into memory) is split across the connection pool so that it arrives in
    parallel. Several threads may read at once; a block being fetched for one thread is
    waited for, never fetched twice. Each block is handed over as soon as its bytes are in,
    not when its whole request is: a read waiting for the front of a long request waits for
    the front only. Fetched blocks are written to the disk cache by a background thread, so
    a read waits for the network only.

Read-ahead
    A read that starts where an earlier one ended (paging forward, a summary pass) queues
    the blocks after it: eight times the length of the sequential run of reads so far (at
    least 1 MiB, at most 32 MiB or half the memory cache; h5py reads a page chunk by
    chunk), in requests of up to 4 MiB, nearest first, on six background workers, so that
    the next pages are usually in memory when they are asked for. It stops at the end of the file and never delays a
    read that waits: reads have their own workers and connections, and a read that needs
    blocks whose read-ahead request has not started yet makes that request itself.

Memory and disk stay bounded: memory by ``memory_bytes`` plus the blocks of reads in flight,
disk by the block cache's limit.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..errors import RecordingClosedError, RecordingError
from .block_cache import BlockCache, FileBlocks
from .errors import RemoteRecordingError, RemoteTruncatedError
from .http_range import HttpRangeClient, Probe
from .locations import RemotePath

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

DEFAULT_BLOCK_SIZE = 256 << 10
DEFAULT_MEMORY_BYTES = 64 << 20
READ_AHEAD_MIN = 1 << 20
#: The furthest read-ahead reaches (and at most half the memory cache). At 80 ms RTT a
#: 16-MiB window left one page in three waiting a round trip when paging back to back;
#: 32 MiB (12 pages of 64 channels x 10 s) left about one in twelve.
READ_AHEAD_MAX = 32 << 20
#: Requests in flight at once for read-ahead: enough to keep the window's pieces arriving
#: together (3 left the pipe half empty at 80 ms RTT; ``benchmarks/bench_remote.py``).
READ_AHEAD_WORKERS = 6
#: Read-ahead asks for this much per request, nearest first. Smaller pieces (1 MiB) cost
#: more round trips than they save: 4 MiB halved the page p50 at 20 and 80 ms RTT.
READ_AHEAD_PIECE = 4 << 20
#: Read-ahead covers this many times the length of the sequential run that triggered it:
#: two pages read in a row already reach the whole window.
READ_AHEAD_FACTOR = 8
#: Runs shorter than this are not split across connections: on a fast link the hand-offs
#: between threads cost more than a second connection gains (``benchmarks/bench_remote.py``).
MIN_SPLIT_BYTES = 4 << 20


@dataclass
class FetchStats:
    """What the source has done so far: how blocks were served and what crossed the network."""

    memory_hits: int = 0
    disk_hits: int = 0
    fetched_blocks: int = 0
    fetched_bytes: int = 0
    requests: int = 0

    @property
    def hit_rate(self) -> float:
        """Share of the blocks asked for that did not have to be fetched."""
        served = self.memory_hits + self.disk_hits
        total = served + self.fetched_blocks
        return served / total if total else 0.0


class RemoteFile:
    """Positional, thread-safe reads of a file on a server; see the module docstring."""

    def __init__(self, path: RemotePath, client: HttpRangeClient, probe: Probe,
                 disk: FileBlocks | None, *, block_size: int = DEFAULT_BLOCK_SIZE,
                 memory_bytes: int = DEFAULT_MEMORY_BYTES, workers: int = 4,
                 read_ahead: bool = True):
        self.path = path
        self._client = client
        self._size = probe.size
        self._block_size = block_size
        self._disk = disk
        self._memory: OrderedDict[int, bytes] = OrderedDict()
        self._memory_bytes = memory_bytes
        self._held_bytes = 0
        self._lock = threading.Lock()
        self._inflight: dict[int, _Pending] = {}
        self._workers = workers
        self._disk_writes = ThreadPoolExecutor(1, thread_name_prefix="tracemark-blockcache")
        self._fetchers = ThreadPoolExecutor(workers, thread_name_prefix="tracemark-fetch")
        self._read_ahead = ThreadPoolExecutor(READ_AHEAD_WORKERS, thread_name_prefix="tracemark-readahead") \
            if read_ahead else None
        #: (start, end) of the latest sequential runs of reads, for read-ahead.
        self._recent_runs: list[tuple[int, int]] = []
        self._closed = False
        self._failures = threading.local()
        self.stats = FetchStats()
        self._seed(probe)

    def _seed(self, probe: Probe) -> None:
        """Keep what the probe brought: the whole file, or its first whole blocks."""
        body = probe.whole_body if probe.whole_body is not None else probe.first_bytes
        whole = len(body) if probe.whole_body is not None else len(body) - len(body) % self._block_size
        for index in range(-(-whole // self._block_size)):
            block = body[index * self._block_size:(index + 1) * self._block_size]
            self._keep(index, block, store=True)

    # -- the PositionalFile interface ----------------------------------------------------
    def size(self) -> int:
        self._check_open()
        return self._size

    def read_array(self, offset: int, dtype: npt.DTypeLike, shape: tuple[int, ...]) -> np.ndarray:
        """``shape`` items of ``dtype`` from byte ``offset``; a read past the end raises."""
        out = np.empty(shape, dtype=dtype)
        view = out.reshape(-1).view(np.uint8).data
        if offset + len(view) > self._size:
            raise RemoteTruncatedError(
                self.path, f"the file on the server ends at byte {self._size}, before the "
                           f"{len(view)} bytes asked for at byte {offset}")
        self.read_into(offset, view)
        return out

    def read_into(self, offset: int, out: memoryview) -> int:
        """Fill ``out`` from byte ``offset`` (less at the end of the file); bytes written."""
        self._check_open()
        stop = min(offset + len(out), self._size)
        if stop <= offset:
            return 0
        first, last = offset // self._block_size, (stop - 1) // self._block_size
        blocks = self._blocks(first, last + 1)
        at = 0
        for index, block in zip(range(first, last + 1), blocks):
            lo = max(offset - index * self._block_size, 0)
            hi = min(stop - index * self._block_size, len(block))
            if hi - lo <= 0 and index * self._block_size + lo < stop:
                raise RemoteTruncatedError(self.path, f"block {index} came back short")
            out[at:at + hi - lo] = block[lo:hi]
            at += hi - lo
        self._maybe_read_ahead(offset, stop)
        return at

    def read_bytes(self, offset: int, n: int) -> bytes:
        buffer = bytearray(n)
        got = self.read_into(offset, memoryview(buffer))
        return bytes(buffer[:got])

    def note_failure(self, error: RecordingError) -> None:
        """Remember the typed error behind a failed read in this thread (see :meth:`pop_failure`)."""
        self._failures.error = error

    def pop_failure(self) -> RecordingError | None:
        """The typed error behind this thread's last failed read through a view, once; else None.

        h5py turns an exception raised inside a file object's ``readinto`` into a generic
        ``OSError``; a reader catching that asks here for the error to raise instead.
        """
        error = getattr(self._failures, "error", None)
        self._failures.error = None
        return error

    def open_view(self) -> RemoteFileView:
        """A new seekable, read-only file object over this source (its own position)."""
        return RemoteFileView(self)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._memory.clear()
        if self._read_ahead is not None:
            self._read_ahead.shutdown(wait=False, cancel_futures=True)
        self._fetchers.shutdown(wait=False, cancel_futures=True)
        # Fetches that were queued are cancelled: whoever waits for their blocks is told.
        with self._lock:
            pending, self._inflight = list(self._inflight.values()), {}
        closed = RecordingClosedError(self.path, "the recording was closed")
        for entry in pending:
            _settle(entry.future, closed)
        self._disk_writes.shutdown(wait=True)   # blocks fetched so far stay cached for next time
        self._client.close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def block_size(self) -> int:
        return self._block_size

    @property
    def client(self) -> HttpRangeClient:
        """The connection pool the blocks are fetched through."""
        return self._client

    @property
    def disk_cache(self) -> BlockCache | None:
        """The shared disk block cache this file's blocks go to, or None when it is off."""
        return None if self._disk is None else self._disk.cache

    # -- blocks --------------------------------------------------------------------------
    def _blocks(self, first: int, stop: int) -> list[bytes]:
        found: dict[int, bytes] = {}
        waiting: dict[int, Future[bytes]] = {}
        with self._lock:
            for index in range(first, stop):
                if index in self._memory:
                    self._memory.move_to_end(index)
                    found[index] = self._memory[index]
                    self.stats.memory_hits += 1
                elif index in self._inflight:
                    waiting[index] = self._inflight[index].future
        for index in range(first, stop):
            if index not in found and index not in waiting:
                cached = self._disk.get(index) if self._disk is not None else None
                if cached is not None:
                    found[index] = cached
                    self._keep(index, cached, store=False)
                    with self._lock:
                        self.stats.disk_hits += 1
        self._fetch_queued_here(waiting)
        missing = [i for i in range(first, stop) if i not in found and i not in waiting]
        waiting.update(self._fetch(missing, self._fetchers, self._workers, here=True))
        for index, future in waiting.items():
            found[index] = future.result()
        return [found[i] for i in range(first, stop)]

    def _fetch_queued_here(self, waiting: dict[int, Future[bytes]]) -> None:
        """Fetch, in this thread and with one request per span, the requests still queued
        (read-ahead not yet started) for blocks this read waits for: waiting behind the rest
        of the read-ahead queue would cost more than asking now."""
        with self._lock:
            queued = {id(entry.run): entry.run for index in waiting
                      if (entry := self._inflight.get(index)) is not None and not entry.run.claimed}
            for run in queued.values():
                run.claimed = True
        spans: list[list[_Run]] = []
        for run in sorted(queued.values(), key=lambda r: r.indexes[0]):
            if spans and spans[-1][-1].indexes[-1] + 1 == run.indexes[0]:
                spans[-1].append(run)
            else:
                spans.append([run])
        for span in spans:
            self._fetch_claimed(span)

    def _fetch(self, indexes: list[int], pool: ThreadPoolExecutor, workers: int | None,
               here: bool = False) -> dict[int, Future[bytes]]:
        """Start fetching ``indexes`` (those not already on their way) on ``pool``; their futures.

        ``here``: the first request runs in the calling thread (which is about to wait for
        it anyway), the others on the pool.
        """
        futures: dict[int, Future[bytes]] = {}
        fresh: list[int] = []
        with self._lock:
            for index in indexes:
                if index in self._inflight:
                    futures[index] = self._inflight[index].future
                elif index not in self._memory:
                    fresh.append(index)
                    futures[index] = Future()
            runs = [_Run(piece, [futures[i] for i in piece]) for piece in self._runs(fresh, workers)]
            for run in runs:
                for index, future in zip(run.indexes, run.futures):
                    self._inflight[index] = _Pending(future, run)
        first = runs.pop(0) if here and runs else None
        for run in runs:
            try:
                pool.submit(self._fetch_run, run)
            except RuntimeError:  # the pool was shut down: the file was closed
                self._fail(run, RecordingClosedError(self.path, "the recording was closed"))
        if first is not None:
            self._fetch_run(first)
        return futures

    def _runs(self, indexes: list[int], workers: int | None) -> list[list[int]]:
        """Consecutive blocks grouped into requests: long runs split across ``workers``, or,
        for read-ahead (``workers=None``), cut into pieces fetched nearest first."""
        runs: list[list[int]] = []
        for index in indexes:
            if runs and runs[-1][-1] == index - 1:
                runs[-1].append(index)
            else:
                runs.append([index])
        pieces = []
        for run in runs:
            if workers is None:
                step = max(READ_AHEAD_PIECE // self._block_size, 1)
            else:
                step = max(MIN_SPLIT_BYTES // self._block_size, 1, -(-len(run) // workers))
            pieces += [run[k:k + step] for k in range(0, len(run), step)]
        return pieces

    def _fetch_run(self, run: _Run) -> None:
        """Fetch ``run`` unless another thread has taken it."""
        with self._lock:
            if run.claimed:
                return
            run.claimed = True
        self._fetch_claimed([run])

    def _fetch_claimed(self, runs: list[_Run]) -> None:
        """One request for consecutive ``runs`` taken by this thread; settle their futures."""
        indexes = [i for run in runs for i in run.indexes]
        futures = [f for run in runs for f in run.futures]
        start = indexes[0] * self._block_size
        stop = min((indexes[-1] + 1) * self._block_size, self._size)
        arrived = 0

        def settle_next(block: bytes) -> None:
            # Each block is handed over as soon as it is in: a read waiting for the front of
            # a long read-ahead request does not wait for the rest of it.
            nonlocal arrived
            index, future = indexes[arrived], futures[arrived]
            arrived += 1
            self._keep(index, block, store=True)
            with self._lock:
                self._inflight.pop(index, None)
                self.stats.fetched_blocks += 1
                self.stats.fetched_bytes += len(block)
            _settle(future, block)

        try:
            self._client.stream(start, stop, settle_next, piece=self._block_size)
        except Exception as error:  # noqa: BLE001 (handed to every reader waiting for these blocks)
            for run in runs:
                self._fail(run, error)
            return
        with self._lock:
            self.stats.requests += 1

    def _fail(self, run: _Run, error: BaseException) -> None:
        with self._lock:
            for index in run.indexes:   # blocks that did arrive may be on their way again
                entry = self._inflight.get(index)
                if entry is not None and entry.run is run:
                    del self._inflight[index]
        for future in run.futures:
            _settle(future, error)

    def _keep(self, index: int, block: bytes, store: bool) -> None:
        if store and self._disk is not None:
            try:   # off the reading thread: a read waits for the network, not for the disk
                self._disk_writes.submit(self._disk.put, index, block)
            except RuntimeError:
                pass  # closed meanwhile: the block is simply not cached
        with self._lock:
            if self._closed or index in self._memory:
                return
            self._memory[index] = block
            self._held_bytes += len(block)
            while self._held_bytes > self._memory_bytes and len(self._memory) > 1:
                _, dropped = self._memory.popitem(last=False)
                self._held_bytes -= len(dropped)

    # -- read-ahead ----------------------------------------------------------------------
    def _maybe_read_ahead(self, start: int, stop: int) -> None:
        if self._read_ahead is None:
            return
        with self._lock:
            # A read that continues a sequential run (h5py reads a page chunk by chunk)
            # extends it; read-ahead grows with the run, not with the one read.
            run_start = next((first for first, end in self._recent_runs
                              if abs(start - end) <= self._block_size), None)
            self._recent_runs = [*self._recent_runs[-7:], (start if run_start is None else run_start, stop)]
        if run_start is None or stop >= self._size:
            return
        length = min(max(READ_AHEAD_FACTOR * (stop - run_start), READ_AHEAD_MIN), READ_AHEAD_MAX,
                     max(self._memory_bytes // 2, READ_AHEAD_MIN))
        first = -(-stop // self._block_size)
        last = (min(stop + length, self._size) - 1) // self._block_size
        with self._lock:
            wanted = [i for i in range(first, last + 1)
                      if i not in self._memory and i not in self._inflight]
        if self._disk is not None:
            wanted = [i for i in wanted if not self._from_disk(i)]
        if wanted and not self._closed:
            self._fetch(wanted, self._read_ahead, None)

    def _from_disk(self, index: int) -> bool:
        cached = self._disk.get(index) if self._disk is not None else None
        if cached is not None:
            self._keep(index, cached, store=False)
            with self._lock:
                self.stats.disk_hits += 1
        return cached is not None

    def _check_open(self) -> None:
        if self._closed:
            raise RecordingClosedError(self.path, "the recording was closed")


@dataclass(eq=False)
class _Run:
    """One range request: its consecutive blocks, their futures, and whether a thread took it."""

    indexes: list[int]
    futures: list[Future[bytes]]
    claimed: bool = False


@dataclass(frozen=True)
class _Pending:
    """A block on its way: what to wait for, and the request that brings it."""

    future: Future[bytes]
    run: _Run


def _settle(future: Future[bytes], outcome: bytes | BaseException) -> None:
    """Give ``future`` its block or error, unless ``close()`` has already failed it."""
    try:
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    except InvalidStateError:
        pass


class RemoteFileView(io.RawIOBase):
    """A seekable, read-only file object over a :class:`RemoteFile`, for parsers and h5py.

    Closing a view (or its garbage collection) leaves the source open: the recording that
    reads through it owns the source and closes it.
    """

    def __init__(self, source: RemoteFile):
        super().__init__()
        self._source = source
        self._position = 0

    @property
    def source(self) -> RemoteFile:
        return self._source

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._source.size()}[whence]
        self._position = max(base + offset, 0)
        return self._position

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            n = self._source.read_into(self._position, view)
        except RecordingError as error:
            self._source.note_failure(error)
            raise OSError(str(error)) from error
        self._position += n
        return n


__all__ = ["FetchStats", "RemoteFile", "RemoteFileView", "RemoteRecordingError"]
