"""Python's cyclic garbage collector, run only on the GUI thread.

Python collects reference cycles in whichever thread happens to allocate when a
generation's threshold is crossed. Tracemark reads and reduces pages, builds summaries and
writes sessions on worker threads, and those allocate the most. A window that was closed
is a web of cycles (widgets, pyqtgraph items and their ViewBoxes), so a worker could be the
thread that deletes its C++ graphics items, while the GUI thread paints or hit-tests the
same scene. That is a crash: seen as "pure virtual method called", as a segmentation fault,
and as pyqtgraph's ``InfiniteLine`` finding its ViewBox gone between two lines of its own
``boundingRect``.

pyqtgraph documents the remedy (``pyqtgraph.util.garbage_collector``): turn automatic
collection off and collect from a GUI-thread timer, generation by generation, with the same
thresholds. This module does that with the timer parented to the application, so it stops
with it, and exposes :func:`collect_due` for callers (the test suite between tests) that run
no event loop for a while. The module keeps a reference to its timer, so asking whether it
runs costs nothing; a search of the application's children for it took about 10 ms of every
start-up.

A second rule goes with it: a slot that a timer calls later is a method of a QObject, not
a lambda or a nested function. A lambda that captures its window and that only Qt's
connection refers to sits in a cycle the collector may clear, closure first, while the C++
timer still runs; when the timer fires, the cleared lambda crashes the process. This was
seen in the test suite as a segmentation fault inside a ``main_window`` lambda, called by a
timer, at the lambda's first instruction. The same holds for signals a widget sends while
Qt deletes it: a dock says it is hidden and its toggle action unchecks, so their slots are
methods too (``tests/test_app_dropped_window.py``).
"""

from __future__ import annotations

import gc

from PyQt6 import sip
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

__all__ = ["collect_due", "collect_in_gui_thread", "collecting_in_gui_thread", "delete_before_exit"]

#: How often the GUI thread looks at the collector's counts: pyqtgraph's interval.
CHECK_INTERVAL_MS = 1000

_TIMER_NAME = "tracemarkGuiThreadCollector"

#: The collector's timer, once started (a child of the application, deleted with it).
_timer: QTimer | None = None


def collect_in_gui_thread() -> None:
    """From now on, cycles are collected on the GUI thread only (idempotent).

    Needs a QApplication; call it from the GUI thread before starting worker threads."""
    global _timer
    app = QApplication.instance()
    if app is None or collecting_in_gui_thread():
        return
    timer = QTimer(app)
    timer.setObjectName(_TIMER_NAME)
    timer.setInterval(CHECK_INTERVAL_MS)
    timer.timeout.connect(collect_due)
    gc.disable()
    timer.start()
    _timer = timer


def collecting_in_gui_thread() -> bool:
    app = QApplication.instance()
    timer = _timer
    return (app is not None and timer is not None and not sip.isdeleted(timer)
            and timer.parent() is app)


def collect_due() -> int:
    """Collect the generations whose counts passed their thresholds, as Python itself would
    have; returns the number of unreachable objects found."""
    thresholds = gc.get_threshold()
    counts = gc.get_count()
    if counts[0] <= thresholds[0]:
        return 0
    # As CPython chooses: the oldest generation whose count passed its threshold.
    generation = next(level for level in (2, 1, 0) if level == 0 or counts[level] > thresholds[level])
    return gc.collect(generation)


def delete_before_exit(widgets) -> None:
    """Delete these (closed) top-level widgets now, while the application exists, and
    collect what they leave behind.

    With automatic collection off, a window that sits in a reference cycle outlives the
    function that made it, and is still alive when the interpreter exits; it would then
    be torn down after the QApplication, an order Qt does not support. The smoke test once
    ended that way, with SIGSEGV after it had passed."""
    for widget in widgets:
        if not sip.isdeleted(widget):
            sip.delete(widget)
    gc.collect()
