"""Many producer processes, one writer: edits sent to the process that holds a cache's
writer lock, applied there through the one write path and acknowledged once durable.

A cache has one writer at a time. Work that makes annotations in parallel (a pool of
processes measuring peaks, say) would otherwise have every worker take the lock in turn,
paying an open, a wait and a checkpoint each, or be refused. Instead the process that holds
the cache open for writing runs a :class:`QueueWriter`, and the workers send it their edits
through a :class:`QueueWriterHandle`: many producers, one storage service, the shape of
pypet's QUEUE wrap mode. ::

    with CacheFile(path, mode="w") as cache, cache.queue_writer() as service:
        workers = [ctx.Process(target=measure, args=(service.handle, chunk)) for chunk in ...]
        ...                                   # in a worker: handle.update(7, reject=True)

How it works, and what it promises:

* The service listens on a local connection (``multiprocessing.connection``: a Unix socket
  in a private temporary folder, a named pipe on Windows) that only a holder of its random
  key can open. The handle holds nothing but the address, the key and the cache's path, so
  it pickles into any process however that was started (spawn, fork, a pool, a queue).
* A producer's ``update`` / ``apply_edits`` sends one request and blocks for the reply. The
  service replies only once ``CacheFile.apply_edits`` has returned, that is once the record
  is journaled and fdatasync'd: an acknowledged edit is as durable as one made directly,
  and each request is one transaction. One service thread does all the writing, so the
  requests of different producers are serialised in the order they arrive, and each
  producer's in the order it sent them.
* A refused edit (bad value, index out of range, I/O error) raises the same typed cache error
  in the producer, and the service goes on. A producer that dies or sends what is not a
  request loses only its own connection. A producer whose writer stops before replying gets
  :class:`CacheWriteError`: the edit was not acknowledged (it is in the cache whole or not
  at all, as for any unacknowledged edit).
* While no request comes, the service checkpoints the cache when it is idle
  (``CacheFile.checkpoint_if_idle``), as the GUI's timer does; a request arriving during a
  checkpoint waits for it (a file copy: ~30 ms for a small cache, up to ~2 s for a large one).
* ``close()`` stops accepting producers, answers the requests already received, then closes
  every producer's connection (one still waiting gets ``CacheWriteError``; later calls get
  :class:`CacheClosedError`). It does not close the cache, which belongs to its opener.
"""

from __future__ import annotations

import operator
import os
import pickle
import threading
from collections.abc import Iterable, Mapping
from multiprocessing import AuthenticationError, Pipe
from multiprocessing.connection import Client, Connection, Listener, wait
from pathlib import Path
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any, cast

from .errors import CacheClosedError, CacheError, CacheIndexError, CacheReadOnlyError, CacheValueError, CacheWriteError
from .journal import Record

if TYPE_CHECKING:
    from .cachefile import CacheFile

#: A request larger than this is refused (its producer's connection is dropped), so that a
#: runaway producer cannot make the writer allocate without bound.
MAX_REQUEST_BYTES = 64 * 1024 * 1024
#: How long the service waits for a request before it looks whether a checkpoint is due.
IDLE_POLL_S = 0.5
#: Bound on waiting for the service's threads at close (they end at once unless the system
#: is stuck; they are daemon threads, so a stuck one never keeps the process alive).
THREAD_JOIN_S = 10.0

_EDITS, _ACK, _REFUSED = "edits", "ack", "refused"


class QueueWriterHandle:
    """A producer's end of a :class:`QueueWriter`: send edits, block until they are durable.

    Picklable; give it to worker processes (as a ``Process`` argument, through a queue, ...).
    Each process and thread opens its own connection on first use.
    """

    def __init__(self, address: Any, authkey: bytes, cache_path: str | os.PathLike[str]):
        self.address = address
        self.cache_path = Path(cache_path)
        self._authkey = authkey
        self._connections: dict[tuple[int, int], Connection] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"address": self.address, "authkey": self._authkey, "cache_path": self.cache_path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        QueueWriterHandle.__init__(self, **state)

    def __repr__(self) -> str:
        return f"<QueueWriterHandle for {self.cache_path.name!r}>"

    def update(self, index: int, values: Mapping[str, Any] | None = None, /, *,
               note: str = "", **more: Any) -> Record | None:
        """Set attributes of one trace as one transaction (as ``CacheFile.update``); returns
        its journal record (``None`` when nothing changed) once the writer made it durable."""
        return self.apply_edits([(index, {**(values or {}), **more})], note=note)

    def apply_edits(self, edits: Iterable[tuple[int, Mapping[str, Any]]], note: str = "",
                    ) -> Record | None:
        """Several traces' attributes as ONE transaction (as ``CacheFile.apply_edits``)."""
        try:
            request = pickle.dumps((_EDITS, self._plain_edits(edits), str(note)))
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            raise CacheValueError(self.cache_path, f"a value cannot be sent to the queue "
                                                   f"writer ({error}); nothing was written"
                                  ) from None
        connection = self._connection()
        try:
            connection.send_bytes(request)
            reply = pickle.loads(connection.recv_bytes())
        except (EOFError, OSError) as error:
            self._forget(connection)
            raise CacheWriteError(self.cache_path, "the queue writer stopped before "
                                                   "acknowledging the edit, which is saved "
                                                   "whole or not at all") from error
        except BaseException:
            # Interrupted between request and reply: the late reply must not be read as
            # the answer to this producer's next request.
            self._forget(connection)
            raise
        status, payload = reply
        if status == _REFUSED:
            raise _restore_error(*payload)
        answer: Record | None = payload
        return answer

    def _plain_edits(self, edits: Iterable[tuple[int, Mapping[str, Any]]],
                     ) -> list[tuple[int, dict[str, Any]]]:
        plain = []
        for index, values in edits:
            try:
                plain.append((operator.index(index), dict(values)))
            except TypeError:
                raise CacheIndexError(self.cache_path, f"trace index {index!r} is not an "
                                                       f"integer; nothing was written") from None
        return plain

    def _connection(self) -> Connection:
        key = (os.getpid(), threading.get_ident())
        connection = self._connections.get(key)
        if connection is None:
            try:
                connection = Client(self.address, authkey=self._authkey)
            except (OSError, EOFError, AuthenticationError) as error:
                raise CacheClosedError(self.cache_path, f"its queue writer is not running "
                                                        f"({error}); nothing was written"
                                       ) from None
            self._connections[key] = connection
        return connection

    def _forget(self, connection: Connection) -> None:
        self._connections = {k: c for k, c in self._connections.items() if c is not connection}
        connection.close()

    def close(self) -> None:
        """Close this process's connections (they are also closed when the process ends)."""
        pid = os.getpid()
        for key, connection in list(self._connections.items()):
            if key[0] == pid:
                self._forget(connection)

    def __enter__(self) -> QueueWriterHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class QueueWriter:
    """Serves edits sent by producers through ``handle`` into one writable ``CacheFile``.

    Made by :meth:`CacheFile.queue_writer`; runs until :meth:`close` (or the end of a
    ``with`` block). ``last_checkpoint_error`` keeps the last failed idle checkpoint (the
    edits stay safe in the journal; the next checkpoint tries again).
    """

    def __init__(self, cache: CacheFile):
        if not cache.writable:
            raise CacheReadOnlyError(cache.path, "a queue writer needs the cache open for "
                                                 "writing; use CacheFile.queue_writer()")
        self.last_checkpoint_error: CacheError | None = None
        self._cache = cache
        self._closed = False
        self._stopping = threading.Event()
        self._authkey = os.urandom(32)
        self._listener = Listener(backlog=64, authkey=self._authkey)
        self._address = self._listener.address
        self.handle = QueueWriterHandle(self._address, self._authkey, cache.path)
        self._arrivals: SimpleQueue[Connection] = SimpleQueue()
        self._producers: list[Connection] = []
        self._wake_reader, self._wake_writer = Pipe(duplex=False)
        self._acceptor = threading.Thread(target=self._accept_producers, daemon=True,
                                          name=f"queue writer accept {cache.path.name}")
        self._service = threading.Thread(target=self._serve, daemon=True,
                                         name=f"queue writer {cache.path.name}")
        self._acceptor.start()
        self._service.start()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._producers)} producers"
        return f"<QueueWriter for {self._cache.path.name!r} ({state})>"

    # -- accepting producers (own thread: accept() blocks) -------------------------------
    def _accept_producers(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    connection = self._listener.accept()
                except (AuthenticationError, EOFError, ConnectionError):
                    continue  # a caller without the key, or one that left mid-handshake
                except OSError:
                    if self._stopping.is_set():
                        break
                    self._stopping.wait(0.05)  # a transient accept failure: do not spin
                    continue
                if self._stopping.is_set():
                    connection.close()
                    break
                self._arrivals.put(connection)
                self._wake()
        finally:
            # Nobody accepts from here on: later producers must be refused, not left
            # waiting in the listen queue for a handshake that never comes.
            self._listener.close()

    def _wake(self) -> None:
        try:
            self._wake_writer.send_bytes(b"!")
        except OSError:
            pass  # closing: the service is already on its way out

    # -- serving (the one thread that writes) ---------------------------------------------
    def _serve(self) -> None:
        try:
            while True:
                while not self._arrivals.empty():
                    self._producers.append(self._arrivals.get())
                if self._stopping.is_set():
                    self._serve_ready(timeout=0)  # answer what has already arrived
                    break
                if not self._serve_ready(timeout=IDLE_POLL_S):
                    self._checkpoint_if_idle()
        finally:
            # Also after an unforeseen fault: producers then get an error, never a hang.
            self._stopping.set()
            if not self._closed:
                self._wake_acceptor()
            for connection in self._producers:
                connection.close()
            self._producers.clear()

    def _serve_ready(self, timeout: float) -> bool:
        """Answer one request from each producer that has sent one; False if none came."""
        ready = wait([self._wake_reader, *self._producers], timeout)
        for connection in ready:
            if connection is self._wake_reader:
                while self._wake_reader.poll():
                    self._wake_reader.recv_bytes()
            else:
                self._serve_one(cast(Connection, connection))   # wait() returns what it was given
        return bool(ready)

    def _serve_one(self, producer: Connection) -> None:
        try:
            request = pickle.loads(producer.recv_bytes(MAX_REQUEST_BYTES))
        except Exception:  # noqa: BLE001 - gone, or sent no request: only it is dropped
            self._drop(producer)
            return
        reply = pickle.dumps(self._answer(request))
        try:
            producer.send_bytes(reply)
        except OSError:  # it left before its reply; the edit stands, as any acknowledged one
            self._drop(producer)

    def _answer(self, request: Any) -> tuple[str, Any]:
        try:
            edits, note = self._parse(request)
            return _ACK, self._cache.apply_edits(edits, note=note)
        except CacheError as error:
            return _REFUSED, _portable_error(error)
        except Exception as error:  # noqa: BLE001 - a fault in one edit must not end the service
            failure = CacheWriteError(self._cache.path, f"the queue writer could not apply the "
                                                        f"edit ({type(error).__name__}: {error});"
                                                        f" it was not acknowledged")
            return _REFUSED, _portable_error(failure)

    def _parse(self, request: Any) -> tuple[list[tuple[int, dict[str, Any]]], str]:
        """The edits and note of a request, checked in shape (the cache checks the values)."""
        try:
            kind, edits, note = request
            if kind != _EDITS:
                raise ValueError(kind)
            return [(operator.index(i), dict(values)) for i, values in edits], str(note)
        except (TypeError, ValueError):
            raise CacheValueError(self._cache.path, "the queue writer received a request that "
                                                    "is not a list of edits; nothing was "
                                                    "written") from None

    def _drop(self, producer: Connection) -> None:
        self._producers.remove(producer)
        producer.close()

    def _checkpoint_if_idle(self) -> None:
        try:
            self._cache.checkpoint_if_idle()
        except CacheError as error:  # the edits stay in the journal; retried when idle again
            self.last_checkpoint_error = error

    # -- lifetime ------------------------------------------------------------------------
    def close(self) -> None:
        """Stop accepting, answer requests already received, then close every connection."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._wake_acceptor()
        self._acceptor.join(THREAD_JOIN_S)
        self._listener.close()  # already closed by the acceptor, unless it is stuck
        self._wake()
        self._service.join(THREAD_JOIN_S)
        while not self._arrivals.empty():
            self._arrivals.get().close()
        self._wake_reader.close()
        self._wake_writer.close()

    def _wake_acceptor(self) -> None:
        """accept() cannot be interrupted portably; a connection of our own ends its wait."""
        try:
            Client(self._address, authkey=self._authkey).close()
        except (OSError, EOFError, AuthenticationError):
            pass  # the acceptor is not waiting in accept(): it sees the stop flag itself

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> QueueWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _portable_error(error: CacheError) -> tuple[type, Path | None, str, dict[str, Any]]:
    """A cache error as plain data: the error classes take different constructor arguments,
    so pickling the exception itself would not rebuild it."""
    extra = {k: v for k, v in vars(error).items() if k not in ("path", "problem")}
    return type(error), error.path, error.problem, extra


def _restore_error(cls: type, path: Path | None, problem: str,
                   extra: dict[str, Any]) -> CacheError:
    if not (isinstance(cls, type) and issubclass(cls, CacheError)):
        cls = CacheError
    error = cls.__new__(cls)
    CacheError.__init__(error, path, problem)
    vars(error).update(extra)
    return error
