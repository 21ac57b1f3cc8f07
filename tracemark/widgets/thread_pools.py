"""Worker thread pools that are never destroyed while the interpreter lock waits on them.

A QThreadPool waits for its running work when it is destroyed. Made as the Qt child of a
widget, it is destroyed inside that widget's C++ destructor, and when that destructor is
called from Python (the collector freeing a closed window on the GUI thread, or
``sip.delete``) the interpreter lock is held throughout: a worker that needs the lock to
finish its Python code never gets it, and the process hangs where no Python timeout can
reach it. A CI run hung that way for 90 minutes in the viewer's tests;
``tests/test_thread_pools.py`` shows the hang in a child process.

The pools made here have no Qt parent. Their owner keeps them in an attribute, and this
module keeps them too until their owner is gone *and* they are idle, so their last
reference is dropped by :func:`worker_pool` on the GUI thread, where there is nothing left
to wait for. Without the module's reference, a finishing job that held its owner's last
reference would destroy the pool from one of the pool's own threads, which waits for itself.
"""

from __future__ import annotations

import atexit
import weakref

from PyQt6 import sip
from PyQt6.QtCore import QObject, QThreadPool

__all__ = ["live_pool_count", "wait_for_all_pools", "worker_pool"]

#: Every pool made here, with a weak reference to its owner.
_pools: list[tuple[weakref.ref, QThreadPool]] = []


def worker_pool(owner: QObject, max_threads: int = 1) -> QThreadPool:
    """A pool of at most ``max_threads`` threads for ``owner``'s work (call on the GUI thread)."""
    _forget_finished()
    pool = QThreadPool()
    pool.setMaxThreadCount(max_threads)
    _pools.append((weakref.ref(owner), pool))
    return pool


def _owner_gone(owner_ref: weakref.ref) -> bool:
    owner = owner_ref()
    return owner is None or sip.isdeleted(owner)


def _finished(pool: QThreadPool) -> bool:
    return sip.isdeleted(pool) or pool.activeThreadCount() == 0   # gone with the application


def _forget_finished() -> None:
    """Drop the pools whose owner is gone and which run nothing (here, on the GUI thread)."""
    _pools[:] = [(owner_ref, pool) for owner_ref, pool in _pools
                 if not (_owner_gone(owner_ref) and _finished(pool))]


def live_pool_count() -> int:
    """How many pools this module still keeps (after forgetting the finished ones)."""
    _forget_finished()
    return len(_pools)


def wait_for_all_pools(timeout_ms: int = 10000) -> bool:
    """Abandon queued work and wait for running work in every pool; True when all stopped.

    Runs at exit, before the interpreter tears its threads down (a pool PyQt has
    already destroyed by then, with the application, has nothing left to wait for)."""
    stopped = True
    for _owner_ref, pool in list(_pools):
        if sip.isdeleted(pool):
            continue
        pool.clear()
        stopped = pool.waitForDone(timeout_ms) and stopped   # waits with the lock released
    return stopped


atexit.register(wait_for_all_pools)
