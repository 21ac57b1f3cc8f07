"""Runs page requests off the GUI thread and delivers only the latest result.

The GUI thread calls :meth:`Pager.request` for every viewport change. A result
already in the pipeline's result cache (a prefetched neighbour, a page seen before)
is delivered at once; otherwise requests are debounced, so a burst of key repeats or
wheel notches costs one read, and the last one is run on a one-thread pool. A job
whose request is no longer the latest is abandoned, and results that arrive late are
dropped. Shortly after each page is shown the worker computes the neighbouring pages
the viewer names (the next and previous page), which is why PageDown usually finds its
data ready. :meth:`Pager.shutdown` stops
everything and waits for running work, so closing a window leaves no thread behind.

:class:`SummaryBuilder` builds (or loads from the user's cache directory) the min/max
pyramid of a stream in the background and reports its progress.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, QTimer, pyqtSignal

from .pipeline import DisplayPipeline
from .request import ORIGIN_PENDING, PageRequest, PageResult


class _Relay(QObject):
    """Carries a worker's result to the GUI thread (queued across threads)."""

    delivered = pyqtSignal(object)
    failed = pyqtSignal(object, str)
    progress = pyqtSignal(float)
    task_done = pyqtSignal(object)


class _Job(QRunnable):
    def __init__(self, work: Callable[[], None]):
        super().__init__()
        self._work = work
        self.setAutoDelete(True)

    def run(self) -> None:
        self._work()


class Pager(QObject):
    """Latest-only, debounced, prefetching page delivery for one pipeline."""

    page_ready = pyqtSignal(object)   # PageResult of the latest request
    page_failed = pyqtSignal(str)     # a read failed: the message names the problem
    busy_changed = pyqtSignal(bool)
    task_done = pyqtSignal(str, object, object)  # name, value, error (one of them None)

    def __init__(self, pipeline: DisplayPipeline, parent: QObject | None = None, *,
                 debounce_ms: int = 12, prefetch_delay_ms: int = 40):
        super().__init__(parent)
        self.pipeline = pipeline
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        # Tasks (the amplitude survey of a new source) run beside the pages, on the other
        # core: the first page and the survey that scales it are computed at once.
        self._task_pool = QThreadPool(self)
        self._task_pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.delivered.connect(self._on_delivered)
        self._relay.failed.connect(self._on_failed)
        self._relay.task_done.connect(self._on_task_done)
        self._timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self._timer.timeout.connect(self._submit_latest)
        self._prefetch_timer = QTimer(self, singleShot=True, interval=prefetch_delay_ms)
        self._prefetch_timer.timeout.connect(self._start_prefetch)
        self._latest: PageRequest | None = None
        self._neighbours: tuple[PageRequest, ...] = ()
        self._last_delivered: PageRequest | None = None
        self._last_request_at = 0.0
        self.prefetched_count = 0
        self._latest_id = 0
        self._id_lock = threading.Lock()
        self._closed = threading.Event()
        self._busy = False
        self.delivered_count = 0
        self.dropped_count = 0

    # -- requests ----------------------------------------------------------------------------
    def next_id(self) -> int:
        with self._id_lock:
            self._latest_id += 1
            return self._latest_id

    @property
    def latest_request(self) -> PageRequest | None:
        return self._latest

    def request(self, request: PageRequest, neighbours: Sequence[PageRequest] = ()) -> None:
        """Ask for ``request``; earlier requests still in flight are superseded.

        ``neighbours`` are computed after it, while it is still the latest request, so
        that moving to one of them finds its result ready.
        """
        if self._closed.is_set():
            return
        self._latest = request
        self._neighbours = tuple(neighbours)
        hit = self.pipeline.cached(request)
        if hit is not None and hit.origin != ORIGIN_PENDING:
            self._timer.stop()
            self._deliver(hit)
            return
        self._set_busy(True)
        self._prefetch_timer.stop()
        # Leading edge: an isolated request runs at once; a burst is coalesced.
        now = time.monotonic()
        quiet = (now - self._last_request_at) * 1000 > self._timer.interval()
        self._last_request_at = now
        if quiet and self._pool.activeThreadCount() == 0:
            self._timer.stop()
            self._submit_latest()
        else:
            self._timer.start()

    def is_latest(self, request: PageRequest) -> bool:
        latest = self._latest
        return latest is not None and latest.request_id == request.request_id and not self._closed.is_set()

    def _submit_latest(self) -> None:
        request, neighbours = self._latest, self._neighbours
        if request is not None:
            self._start(lambda: self._run(request, neighbours))

    def _start(self, work: Callable[[], None]) -> None:
        if not self._closed.is_set():
            self._pool.start(_Job(work))

    def run_task(self, name: str, work: Callable[[], object]) -> None:
        """Run ``work`` on a worker beside the page worker and report it by
        :attr:`task_done`. The viewer measures a new recording's amplitudes this way while
        its first page is computed, and draws that page once both are done."""
        def job() -> None:
            try:
                value, error = work(), None
            except Exception as exc:  # reported, never fatal to the worker
                value, error = None, exc
            if not self._closed.is_set():
                self._relay.task_done.emit((name, value, error))

        if not self._closed.is_set():
            self._task_pool.start(_Job(job))

    def _on_task_done(self, payload) -> None:
        if not self._closed.is_set():
            self.task_done.emit(*payload)

    # -- worker side -------------------------------------------------------------------------
    def _run(self, request: PageRequest, neighbours: tuple[PageRequest, ...]) -> None:
        if not self.is_latest(request):
            return
        try:
            result = self.pipeline.compute(request, cancelled=lambda: not self.is_latest(request))
        except Exception as error:  # a failing read must reach the user, not kill the worker
            self._relay.failed.emit(request, f"{type(error).__name__}: {error}")
            return
        if result is None:
            return
        self._relay.delivered.emit(result)

    def _prefetch(self, request: PageRequest, neighbours: tuple[PageRequest, ...]) -> None:
        for neighbour in neighbours:
            if not self.is_latest(request):
                return
            try:
                self.pipeline.compute(neighbour, cancelled=lambda: not self.is_latest(request))
            except Exception:  # the page itself will report the failure when asked for
                return
            self.prefetched_count += 1

    # -- GUI side ----------------------------------------------------------------------------
    def _on_delivered(self, result: PageResult) -> None:
        if self.is_latest(result.request):
            self._deliver(result)
        else:
            self.dropped_count += 1

    def _deliver(self, result: PageResult) -> None:
        self.delivered_count += 1
        self._last_delivered = result.request
        self._set_busy(False)
        self.page_ready.emit(result)
        # Prefetch once this page has been painted: a worker computing at the same time
        # competes with the paint for the GIL and made prefetched pages slower to show.
        self._prefetch_timer.start()

    def _start_prefetch(self) -> None:
        request, neighbours = self._latest, self._neighbours
        delivered = self._last_delivered
        if (request is not None and neighbours and delivered is not None
                and delivered.request_id == request.request_id):
            self._start(lambda: self._prefetch(request, neighbours))

    def _on_failed(self, request: PageRequest, message: str) -> None:
        if self.is_latest(request):
            self._set_busy(False)
            self.page_failed.emit(message)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    @property
    def prefetch_pending(self) -> bool:
        """True while a prefetch is scheduled but not yet handed to the worker."""
        return self._prefetch_timer.isActive()

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Block until queued work has run (for tests and benchmarks)."""
        return self._task_pool.waitForDone(timeout_ms) and self._pool.waitForDone(timeout_ms)

    @property
    def active_threads(self) -> int:
        return self._pool.activeThreadCount()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop accepting requests, abandon queued work and wait for running work."""
        self._closed.set()
        self._timer.stop()
        self._prefetch_timer.stop()
        self._pool.clear()
        self._task_pool.clear()
        return self._pool.waitForDone(timeout_ms) and self._task_pool.waitForDone(timeout_ms)


class SummaryBuilder(QObject):
    """Builds one montage's min/max pyramid in the background, with progress.

    ``build`` is a callable ``(progress, cancelled) -> pyramid | None`` supplied by the
    viewer (it knows the source, the montage and the cache file).
    """

    progress = pyqtSignal(float)
    finished = pyqtSignal(str, object)  # montage key, pyramid
    failed = pyqtSignal(str, str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.progress.connect(self.progress)
        self._relay.delivered.connect(self._on_done)
        self._relay.failed.connect(lambda key, message: self.failed.emit(key, message))
        self._cancel: threading.Event | None = None
        self.running_key: str | None = None

    def start(self, key: str, build: Callable) -> None:
        self.cancel()
        cancel = threading.Event()
        self._cancel = cancel
        self.running_key = key

        def work() -> None:
            try:
                pyramid = build(self._relay.progress.emit, cancel.is_set)
            except Exception as error:  # reported in the overview, the viewer stays usable
                self._relay.failed.emit(key, f"{type(error).__name__}: {error}")
                return
            if pyramid is not None and not cancel.is_set():
                self._relay.delivered.emit((key, pyramid))

        self._pool.start(_Job(work))

    def _on_done(self, payload) -> None:
        key, pyramid = payload
        if key == self.running_key:
            self.running_key = None
        self.finished.emit(key, pyramid)

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        self.running_key = None

    def wait_idle(self, timeout_ms: int = 30000) -> bool:
        return self._pool.waitForDone(timeout_ms)

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        self.cancel()
        self._pool.clear()
        return self._pool.waitForDone(timeout_ms)
