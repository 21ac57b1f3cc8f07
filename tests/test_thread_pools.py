"""Deleting a window from Python while its workers run must not hang the process.

Each case runs in a child process with a time limit, since the failure is a hang that
holds the interpreter lock, which no timeout inside the process can interrupt.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

#: A job that needs the interpreter lock for about a second, and the application around it.
PRELUDE = """
import gc, os, sys, time
sys.path.insert(0, {tests!r})
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PyQt6 import sip
from PyQt6.QtCore import QObject, QRunnable, QThreadPool
from PyQt6.QtWidgets import QApplication
app = QApplication([])
started = []

class PythonJob(QRunnable):
    def __init__(self, keep=None):
        super().__init__()
        self.keep = keep
    def run(self):
        started.append(1)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            sum(range(1000))   # pure Python: needs the interpreter lock throughout
        self.keep = None

def wait_started():
    while not started:
        time.sleep(0.005)
"""


def run_child(body: str, limit_s: float) -> subprocess.CompletedProcess | None:
    """Run ``body`` after the prelude; None when it did not finish within ``limit_s``."""
    script = PRELUDE.format(tests=str(TESTS)) + textwrap.dedent(body)
    try:
        return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=limit_s)
    except subprocess.TimeoutExpired:
        return None


def test_a_qt_child_pool_deleted_from_python_under_a_running_job_hangs():
    """Why the viewer's pools are nobody's Qt children: this is the hang they avoid."""
    result = run_child("""
        owner = QObject()
        pool = QThreadPool(owner)
        pool.start(PythonJob())
        wait_started()
        del pool
        sip.delete(owner)       # ~QThreadPool waits for the job, holding the lock it needs
        print("returned")
    """, limit_s=8)
    assert result is None, "PyQt now releases the lock here; tracemark.widgets.thread_pools may be simplified"


def test_a_worker_pool_outlives_its_deleted_owner_until_its_job_ends():
    result = run_child("""
        from tracemark.widgets.thread_pools import live_pool_count, worker_pool
        owner = QObject()
        pool = worker_pool(owner)
        pool.start(PythonJob())
        wait_started()
        del pool
        sip.delete(owner)
        del owner
        gc.collect()
        print("returned", live_pool_count())     # the job still runs: the pool is kept
        deadline = time.monotonic() + 10
        while live_pool_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        print("forgotten", live_pool_count())
    """, limit_s=60)
    assert result is not None, "deleting the owner waited for the job while holding the interpreter lock"
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["returned", "1", "forgotten", "0"]


def test_a_job_holding_its_owners_last_reference_ends_without_destroying_its_own_pool():
    result = run_child("""
        from tracemark.widgets.thread_pools import live_pool_count, worker_pool

        class Owner(QObject):
            def __init__(self):
                super().__init__()
                self.pool = worker_pool(self)

        owner = Owner()
        owner.pool.start(PythonJob(keep=owner))    # the job holds the owner, the owner its pool
        wait_started()
        del owner                                  # now only the job does
        deadline = time.monotonic() + 10
        while live_pool_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        print("forgotten", live_pool_count())
    """, limit_s=60)
    assert result is not None, "the pool was destroyed from its own thread and waited for itself"
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["forgotten", "0"]


@pytest.mark.slow
def test_a_signal_viewer_deleted_while_a_page_is_read_returns_at_once():
    result = run_child("""
        from viewer_support import make_source
        from tracemark.widgets.viewer import SignalViewer

        source = make_source(duration_s=60.0)
        plain_read = source.read_block

        def slow_read(*args, **kwargs):
            started.append(1)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                sum(range(1000))
            return plain_read(*args, **kwargs)

        source.read_block = slow_read
        viewer = SignalViewer()
        viewer.resize(900, 600)
        viewer.show()
        viewer.set_source(source)
        wait_started()                 # a page (or the survey) is being read on a worker
        sip.delete(viewer)             # no close, so nothing waited for the workers
        del viewer
        gc.collect()
        print("returned")
        time.sleep(2.5)                # the orphaned jobs end, their reports dropped
        app.processEvents()
        print("ended")
    """, limit_s=60)
    assert result is not None, "deleting the viewer waited for its workers while holding the interpreter lock"
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["returned", "ended"]
    assert "Traceback" not in result.stderr, result.stderr


def test_pools_left_when_the_application_ends_first_are_passed_over_at_exit():
    """PyQt destroys the pools with the application (waiting for their jobs); the drain at
    exit then finds them gone and must not raise."""
    result = run_child("""
        from tracemark.widgets.thread_pools import worker_pool

        def session():
            local_app = QApplication.instance()
            owner = QObject()
            pool = worker_pool(owner)
            pool.start(PythonJob())
            wait_started()
            return owner

        kept = session()
        del app
        gc.collect()
        print("ended")
    """, limit_s=60)
    assert result is not None, "the application's end waited for a job while holding the interpreter lock"
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ended"]
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
