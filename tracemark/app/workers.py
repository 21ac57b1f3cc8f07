"""Running work off the GUI thread: a task on Qt's global thread pool whose result, error
and progress come back to the GUI thread as queued signals.

Used for anything whose cost grows with a file (loading a cache's table, building a cache,
hashing a source recording, idle checkpoints, CSV export). A task may be cancelled where
cancelling is safe: the function receives ``progress(done, total)`` and ``cancelled()``
callables and decides itself where to stop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal


class TaskCancelled(Exception):
    """Raised by a task's function when it noticed ``cancelled()`` and stopped."""


class Task(QObject):
    """One background job. Connect to ``finished``/``failed``/``progress`` then ``start()``."""

    finished = pyqtSignal(object)
    failed = pyqtSignal(object)          # the exception
    progress = pyqtSignal(int, int)
    cancelled_signal = pyqtSignal()

    def __init__(self, function: Callable[..., Any], parent: QObject | None = None, *,
                 name: str = "task"):
        super().__init__(parent)
        self.setObjectName(name)
        self._function = function
        self._cancel = threading.Event()
        self._done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def start(self, pool: QThreadPool | None = None) -> Task:
        chosen = pool or QThreadPool.globalInstance()
        assert chosen is not None  # Qt's global pool exists while the application does
        chosen.start(_Runner(self))
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        return self._done.wait(timeout_s)

    def _run(self) -> None:
        try:
            self.result = self._function(self.progress.emit, self._cancel.is_set)
        except TaskCancelled:
            self._done.set()
            self.cancelled_signal.emit()
            return
        except BaseException as error:  # noqa: BLE001 (handed to the GUI thread as a message)
            self.error = error
            self._done.set()
            self.failed.emit(error)
            return
        self._done.set()
        self.finished.emit(self.result)


class _Runner(QRunnable):
    def __init__(self, task: Task):
        super().__init__()
        self.task = task
        self.setAutoDelete(True)

    def run(self) -> None:
        self.task._run()
