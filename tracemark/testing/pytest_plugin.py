"""The Tracemark pytest plugin (registered through the ``pytest11`` entry point).

Fixture ``tracemark_window``: a factory that opens a Tracemark main window on the given
files and returns a :class:`~tracemark.testing.TracemarkDriver` once it is ready::

    def test_reject_first_trace(tracemark_window, tmp_path):
        driver = tracemark_window("session.hdf5")
        driver.key(Qt.Key.Key_R)
        assert driver.session.cache.get_trace_attrs(0)["reject"] is True

It needs pytest-qt (``qtbot``). Windows are closed, and their caches checkpointed and
released, when the test ends. Qt is imported only when the fixture is used.

A Tracemark window hands Python's cycle collection to the GUI thread
(``tracemark.widgets.gui_gc``); after each test, the plugin collects what is due, so a
suite's later tests that run no event loop still free memory. Before that, every signal
viewer the test left is stopped (its page and summary workers), so that no worker of one
test reads on into the next.
"""

from __future__ import annotations

import gc
import sys

import pytest


@pytest.fixture
def tracemark_window(request):
    """Factory: ``tracemark_window(*paths, wait=True)`` -> TracemarkDriver."""
    qtbot = request.getfixturevalue("qtbot")
    from .driver import open_tracemark_window

    drivers = []

    def open_window(*paths, wait: bool = True, timeout_ms: int | None = None):
        kwargs = {} if timeout_ms is None else {"timeout_ms": timeout_ms}
        driver = open_tracemark_window(qtbot, *paths, wait=wait, **kwargs)
        drivers.append(driver)
        return driver

    yield open_window
    for driver in drivers:
        driver.window.close()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    _stop_viewers()
    gui_gc = sys.modules.get("tracemark.widgets.gui_gc")
    if gui_gc is not None and not gc.isenabled():
        gui_gc.collect_due()


def _stop_viewers() -> None:
    """Stop the workers of every signal viewer the test left behind, before any collection.

    A viewer that became garbage without being closed (pytest-qt closes only the widgets
    it still reaches) would otherwise be collected with its page and summary workers still
    reading, into the next test (its pools survive it: ``tracemark.widgets.thread_pools``)."""
    viewer_module = sys.modules.get("tracemark.widgets.viewer.viewer")
    widgets = sys.modules.get("PyQt6.QtWidgets")
    if viewer_module is None or widgets is None or widgets.QApplication.instance() is None:
        return
    for widget in widgets.QApplication.allWidgets():
        if isinstance(widget, viewer_module.SignalViewer):
            widget.shutdown()
