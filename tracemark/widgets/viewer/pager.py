"""Runs page requests off the GUI thread and delivers only the latest result.

The GUI thread calls :meth:`Pager.request` with the page to show and the pages worth
having next (the viewer names the pages ahead in the direction of travel, and one
behind). A page already in the pipeline's result cache is delivered at once, in the same
turn of the event loop, so the axis and the data change in one frame. Otherwise a single
worker computes, in order, the latest request and then the pages after it: it always
works on the most useful page not yet computed, and a page it is computing stays wanted
if the next request asks for it (a held key finds the page it presses for already on its
way, or done). Work on a page nobody wants any more is abandoned between blocks. Results
that arrive for an older request are dropped. :meth:`Pager.shutdown` stops everything and
waits for running work, so closing a window leaves no thread behind.

:class:`SummaryBuilder` builds (or loads from the user's cache directory) the min/max
pyramid of a stream in the background and reports its progress; it gives way while the
person pages (:meth:`SummaryBuilder.pause_for`) and runs at a lower priority than pages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from PyQt6 import sip
from PyQt6.QtCore import QObject, QRunnable, QThread, pyqtSignal

from tracemark.paging.pipeline import DisplayPipeline
from tracemark.paging.priority import lower_os_priority_of_this_thread
from tracemark.paging.request import ORIGIN_PENDING, PageRequest, PageResult
from tracemark.widgets.thread_pools import worker_pool


class _Relay(QObject):
    """Carries a worker's result to the GUI thread (queued across threads)."""

    delivered = pyqtSignal(object)
    failed = pyqtSignal(object, str)
    progress = pyqtSignal(float)
    task_done = pyqtSignal(object)


class _Job(QRunnable):
    """One piece of work on a pool thread, reporting through ``relay``.

    A window deleted without being closed (so without waiting for its workers) deletes the
    relay under a running job; the job's report then has nobody to go to, and is dropped."""

    def __init__(self, work: Callable[[], None], relay: _Relay):
        super().__init__()
        self._work = work
        self._relay = relay
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            self._work()
        except RuntimeError:
            if not sip.isdeleted(self._relay):
                raise


class Pager(QObject):
    """Latest-only page delivery, computing ahead of the person, for one pipeline."""

    page_ready = pyqtSignal(object)   # PageResult of the latest request
    page_failed = pyqtSignal(str)     # a read failed: the message names the problem
    busy_changed = pyqtSignal(bool)
    task_done = pyqtSignal(str, object, object)  # name, value, error (one of them None)

    def __init__(self, pipeline: DisplayPipeline, parent: QObject | None = None):
        super().__init__(parent)
        self.pipeline = pipeline
        self._pool = worker_pool(self)
        # Tasks (the amplitude survey of a new source) run beside the pages, on the other
        # core: the first page and the survey that scales it are computed at once.
        self._task_pool = worker_pool(self)
        self._relay = _Relay(self)
        self._relay.delivered.connect(self._on_delivered)
        self._relay.failed.connect(self._on_failed)
        self._relay.task_done.connect(self._on_task_done)
        self._lock = threading.Lock()
        self._latest: PageRequest | None = None
        self._wanted: tuple[PageRequest, ...] = ()
        self._worker_running = False
        self._latest_id = 0
        self._id_lock = threading.Lock()
        self._closed = threading.Event()
        self._busy = False
        self.prefetched_count = 0
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
        """Ask for ``request``; pages asked for before and not among ``neighbours`` are
        dropped. ``neighbours`` (most useful first) are computed after it, so that moving
        to one of them finds it ready."""
        if self._closed.is_set():
            return
        with self._lock:
            self._latest = request
            self._wanted = (request, *neighbours)
        hit = self.pipeline.cached(request)
        if hit is not None and hit.origin != ORIGIN_PENDING:
            self._deliver(hit)
        else:
            self._set_busy(True)
        self._ensure_worker()

    def read_ahead(self, neighbours: Sequence[PageRequest]) -> None:
        """Compute ``neighbours`` too (after what is already wanted), delivering nothing."""
        if self._closed.is_set() or not neighbours:
            return
        with self._lock:
            keys = {w.cache_key for w in self._wanted}
            self._wanted = (*self._wanted, *(n for n in neighbours if n.cache_key not in keys))
        self._ensure_worker()

    def is_latest(self, request: PageRequest) -> bool:
        latest = self._latest
        return latest is not None and latest.request_id == request.request_id and not self._closed.is_set()

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker_running or self._closed.is_set():
                return
            self._worker_running = True
        self._pool.start(_Job(self._work, self._relay))

    # -- worker side -------------------------------------------------------------------------
    def _still_wanted(self, request: PageRequest) -> bool:
        with self._lock:
            return not self._closed.is_set() and any(w.cache_key == request.cache_key for w in self._wanted)

    def _next_job(self) -> PageRequest | None:
        """The most useful wanted page that is not computed yet, or None (the worker stops)."""
        with self._lock:
            wanted = self._wanted
            if self._closed.is_set() or not wanted:
                self._worker_running = False
                return None
        for request in wanted:
            if self.pipeline.cached(request) is None:
                return request
        with self._lock:
            if self._wanted == wanted:     # nothing new was asked for meanwhile
                self._worker_running = False
                return None
        return self._next_job()

    def _work(self) -> None:
        while (request := self._next_job()) is not None:
            try:
                result = self.pipeline.compute(request, cancelled=lambda r=request: not self._still_wanted(r))
            except Exception as error:  # a failing read must reach the user, not kill the worker
                latest = self._latest
                if latest is not None and latest.cache_key == request.cache_key:
                    self._relay.failed.emit(latest, f"{type(error).__name__}: {error}")
                with self._lock:   # do not retry it in a loop: it stays failed until asked again
                    self._wanted = tuple(w for w in self._wanted if w.cache_key != request.cache_key)
                continue
            if result is None:
                continue
            if result.origin == ORIGIN_PENDING:   # waits for the summary, not for this worker
                with self._lock:
                    self._wanted = tuple(w for w in self._wanted if w.cache_key != request.cache_key)
            latest = self._latest
            if latest is not None and latest.cache_key == request.cache_key:
                self._relay.delivered.emit(result)
            else:
                self.prefetched_count += 1

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
            self._task_pool.start(_Job(job, self._relay))

    def _on_task_done(self, payload) -> None:
        if not self._closed.is_set():
            self.task_done.emit(*payload)

    # -- GUI side ----------------------------------------------------------------------------
    def _on_delivered(self, result: PageResult) -> None:
        latest = self._latest
        if latest is not None and not self._closed.is_set() and latest.cache_key == result.request.cache_key:
            # Computed ahead (under another id) and asked for since: it answers the latest.
            self._deliver(replace(result, request=latest))
            return
        self.dropped_count += 1

    def _deliver(self, result: PageResult) -> None:
        self.delivered_count += 1
        self._set_busy(False)
        self.page_ready.emit(result)

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
        """True while the worker is still computing wanted pages."""
        return self._worker_running

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Block until queued work has run (for tests and benchmarks)."""
        return self._task_pool.waitForDone(timeout_ms) and self._pool.waitForDone(timeout_ms)

    @property
    def active_threads(self) -> int:
        return self._pool.activeThreadCount()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop accepting requests, abandon queued work and wait for running work."""
        self._closed.set()
        self._pool.clear()
        self._task_pool.clear()
        return self._pool.waitForDone(timeout_ms) and self._task_pool.waitForDone(timeout_ms)


def lower_priority_of_this_thread() -> None:
    """Let the operating system run pages and the GUI before this thread (see
    :mod:`tracemark.paging.priority`); Qt's low priority covers macOS as well."""
    QThread.currentThread().setPriority(QThread.Priority.LowPriority)
    lower_os_priority_of_this_thread()


#: Shortest time between two progress reports of the summary build. Each report is handled
#: and painted on the GUI thread: one per 4 MB chunk (225 for 1 hour x 64 channels) took
#: that thread's share of the cores from the build the person was waiting for.
PROGRESS_INTERVAL_S = 0.1


def _every(interval_s: float, report: Callable[[float], None]) -> Callable[[float], None]:
    """``report``, passed a fraction at most once per ``interval_s`` (and always the end)."""
    last = -float("inf")

    def limited(fraction: float) -> None:
        nonlocal last
        now = time.monotonic()
        if fraction >= 1.0 or now - last >= interval_s:
            last = now
            report(fraction)
    return limited


class SummaryBuilder(QObject):
    """Builds one montage's min/max pyramid in the background, with progress.

    ``build`` is a callable ``(progress, cancelled) -> pyramid | None`` supplied by the
    viewer (it knows the source, the montage and the cache file). The build gives way to
    paging: :meth:`pause_for` holds it (between chunks, in ``cancelled``) until the
    person has stopped moving for a moment, so it never competes with a page for the
    cores and the interpreter lock.
    """

    progress = pyqtSignal(float)
    finished = pyqtSignal(str, object)  # montage key, pyramid
    failed = pyqtSignal(str, str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = worker_pool(self)
        self._relay = _Relay(self)
        self._relay.progress.connect(self.progress)
        self._relay.delivered.connect(self._on_done)
        self._relay.failed.connect(lambda key, message: self.failed.emit(key, message))
        self._cancel: threading.Event | None = None
        self._resume_at = 0.0
        self._closed = False
        self.running_key: str | None = None

    def resume(self) -> None:
        """End any pause now (the window on screen waits for this summary)."""
        self._resume_at = 0.0

    def pause_for(self, seconds: float) -> None:
        """Hold the build until ``seconds`` from now (each call pushes it further)."""
        self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def start(self, key: str, build: Callable) -> None:
        """Build ``key``'s pyramid, cancelling the build under way (none after shutdown)."""
        self.cancel()
        if self._closed:
            return
        cancel = threading.Event()
        self._cancel = cancel
        self.running_key = key

        def cancelled() -> bool:
            while not cancel.is_set() and time.monotonic() < self._resume_at:
                time.sleep(0.01)   # sleeping releases the interpreter lock to the pages
            return cancel.is_set()

        def work() -> None:
            lower_priority_of_this_thread()
            try:
                pyramid = build(_every(PROGRESS_INTERVAL_S, self._relay.progress.emit), cancelled)
            except Exception as error:  # reported in the overview, the viewer stays usable
                self._relay.failed.emit(key, f"{type(error).__name__}: {error}")
                return
            if pyramid is not None and not cancel.is_set():
                self._relay.delivered.emit((key, pyramid))
                # Work the result does not wait for (saving it), done once it is shown.
                after = getattr(pyramid, "after_delivery", None)
                if after is not None:
                    after()

        self._pool.start(_Job(work, self._relay))

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
        """Cancel the build, start no other, and wait for the running one."""
        self._closed = True
        self.cancel()
        self._pool.clear()
        return self._pool.waitForDone(timeout_ms)
