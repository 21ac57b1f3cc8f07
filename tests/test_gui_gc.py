"""Cycles are collected on the GUI thread only, once a Tracemark window exists."""

from __future__ import annotations

import gc
import threading

from tracemark.widgets.gui_gc import collect_due, collect_in_gui_thread, collecting_in_gui_thread


class _Cycle:
    """A reference cycle that notes the thread which finalises it."""

    def __init__(self, finalised_in: list[str]):
        self.me = self
        self.finalised_in = finalised_in

    def __del__(self):
        self.finalised_in.append(threading.current_thread().name)


def test_a_viewer_hands_collection_to_the_gui_thread(qtbot):
    from tracemark.widgets.viewer import SignalViewer

    viewer = SignalViewer()
    qtbot.addWidget(viewer)
    assert collecting_in_gui_thread()
    assert not gc.isenabled()


def test_a_worker_that_allocates_never_collects_a_cycle(qapp):
    collect_in_gui_thread()
    finalised_in: list[str] = []
    _Cycle(finalised_in)   # garbage now: only the collector can free it

    kept: list[dict] = []

    def allocate():   # far past generation 0's threshold: automatic collection would run here
        kept.extend({} for _ in range(3 * gc.get_threshold()[0]))

    worker = threading.Thread(target=allocate, name="allocating-worker")
    worker.start()
    worker.join()
    assert finalised_in == []

    assert collect_due() >= 1
    assert finalised_in == [threading.current_thread().name]


def test_nothing_is_collected_before_a_threshold_is_passed(qapp):
    collect_in_gui_thread()
    gc.collect()
    finalised_in: list[str] = []
    _Cycle(finalised_in)
    assert gc.get_count()[0] <= gc.get_threshold()[0]
    assert collect_due() == 0
    assert finalised_in == []


def test_no_timer_calls_a_lambda():
    """Timers call methods: a lambda's closure can be cleared by a collection while its timer
    still runs (tracemark.widgets.gui_gc)."""
    import ast
    from pathlib import Path

    import tracemark

    offenders = []
    for path in Path(tracemark.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            timer_call = (node.func.attr == "singleShot"
                          or (node.func.attr == "connect" and isinstance(node.func.value, ast.Attribute)
                              and node.func.value.attr == "timeout"))
            if timer_call and any(isinstance(arg, ast.Lambda) for arg in node.args):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
