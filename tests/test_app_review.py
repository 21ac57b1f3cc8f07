"""End to end: the demo cache reviewed in the main window by keyboard alone, then read back
through the Python API, attribute by attribute."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import point_at_recording
from PyQt6.QtCore import Qt

from tracemark.analysis.peaks import estimate_peaks
from tracemark.app.plot_data import build_demo_cache
from tracemark.io_backends.cache import CacheFile

SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier
TRANSIENT = ("origin", "cache_file", "cache_file_index")


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    return build_demo_cache(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_cache(demo_template, tmp_path):
    """A fresh copy of the demo cache, its source recording beside it."""
    import shutil

    folder = demo_template.parent
    for path in folder.iterdir():
        if path.is_file() and not path.name.endswith((".journal", ".lock")):
            shutil.copy2(path, tmp_path / path.name)
    copy = tmp_path / demo_template.name
    point_at_recording(copy, tmp_path / "tracemark-demo-v1.TRC")
    return copy


def stored(path):
    with CacheFile(path, mode="r") as cache:
        return [{k: v for k, v in cache.get_trace_attrs(i).items() if k not in TRANSIENT}
                for i in range(len(cache))], cache


def test_review_twenty_traces_by_keyboard(tracemark_window, demo_cache):
    before, _ = stored(demo_cache)
    expected = [dict(a) for a in before]
    driver = tracemark_window(demo_cache)
    window, editor = driver.window, driver.editor
    assert window.viewer.isVisible() and window.recording is not None   # source found beside it
    assert editor.current_index == 0 and window.session.writable
    rate = window.session.origin_of(0).sampling_rate
    ms_samples = round(rate / 1000.0)
    keys = decisions = 0

    def key(k, modifier=None):
        nonlocal keys
        keys += 1
        driver.key(k, modifier)

    for step in range(20):
        index = editor.current_index
        assert index == step, "each decision moves on to the next unreviewed trace"
        shift = 0
        if step % 5 == 2:
            key(Qt.Key.Key_Right), key(Qt.Key.Key_Right)
            shift = 2
        elif step % 5 == 3:
            key(Qt.Key.Key_Right, SHIFT)
            shift = ms_samples
        elif step % 5 == 4:
            key(Qt.Key.Key_Left)
            shift = -1
        if step == 6:
            data = window.session.cache.get_trace_data(index)
            origin = window.session.origin_of(index)
            peaks = estimate_peaks(data[:, 0], rate, origin.samples_pre, 0, editor.peak_window_ms)
            key(Qt.Key.Key_E)
            expected[index].update(peaks.as_attrs(), channel_of_interest="EMG")
        if step == 8:
            key(Qt.Key.Key_C)
            assert editor.form.comment_edit.hasFocus()
            driver.qtbot.keyClicks(editor.form.comment_edit, "late onset")
            assert window.session.attrs(index)["comment"] == ""     # not per keystroke
            driver.qtbot.keyClick(editor.form.comment_edit, Qt.Key.Key_Return)
            assert window.session.attrs(index)["comment"] == "late onset"
            expected[index]["comment"] = "late onset"
        reject = step % 5 in (1, 3)
        key(Qt.Key.Key_R if reject else Qt.Key.Key_A)
        decisions += 1
        expected[index].update(reviewed=True, reject=reject, onset_shift=shift)

    assert editor.current_index == 20
    # Undo the last two edits (trace 19: the accept, then its onset shift), redo one.
    key(Qt.Key.Key_Z, CTRL)
    assert editor.current_index == 19 and editor.current_trace.attrs["reviewed"] is False
    key(Qt.Key.Key_Z, CTRL)
    assert editor.current_trace.onset_shift == 0
    key(Qt.Key.Key_Z, CTRL | SHIFT)
    assert editor.current_trace.onset_shift == -1
    expected[19].update(reviewed=False, reject=False, onset_shift=-1)
    counts = editor.counts()
    assert counts == {"accepted": 11, "rejected": 8, "unreviewed": 36 - 19}
    path = window.session.path
    window.close()
    assert window.session is None

    after, _ = stored(path)
    assert len(after) == len(expected)
    for index, (got, want) in enumerate(zip(after, expected)):
        assert got.keys() == want.keys(), index
        for attr, value in want.items():
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(got[attr])
            else:
                assert got[attr] == value, (index, attr, got[attr], value)
    assert decisions == 20


def test_looking_writes_nothing(tracemark_window, demo_cache):
    journal = demo_cache.with_name(demo_cache.name + ".journal")
    before = demo_cache.read_bytes()
    driver = tracemark_window(demo_cache)
    for _ in range(10):
        driver.key(Qt.Key.Key_N)
    driver.key(Qt.Key.Key_End)
    driver.key(Qt.Key.Key_P)
    assert driver.editor.current_index == 34
    driver.window.close()
    assert demo_cache.read_bytes() == before and not journal.exists()


def test_viewer_follows_the_trace_and_its_onset_drags(tracemark_window, demo_cache):
    driver = tracemark_window(demo_cache)
    window = driver.window
    driver.key(Qt.Key.Key_N)
    attrs = window.session.attrs(1)
    origin = window.session.origin_of(1)
    event_s = attrs["event_sample"] / origin.sampling_rate
    expected_start = event_s - origin.samples_pre / origin.sampling_rate
    # The viewer follows on the next turn of the event loop, after the editor has painted.
    driver.qtbot.waitUntil(lambda: window.viewer.plot.highlights().get("current-trace", (None,))[0]
                           == pytest.approx(expected_start), timeout=5000)
    start, stop = window.viewer.plot.highlights()["current-trace"]
    assert start == pytest.approx(event_s - origin.samples_pre / origin.sampling_rate)
    assert stop == pytest.approx(event_s + origin.samples_post / origin.sampling_rate)
    viewer_window = window.viewer.model.window
    assert viewer_window.start_s <= event_s <= viewer_window.stop_s
    # Dragging the onset line in the continuous viewer and releasing it: one edit.
    line = window.link.onset_line
    line.setValue(event_s + 7 / origin.sampling_rate)
    line.sigPositionChangeFinished.emit(line)
    assert window.session.attrs(1)["onset_shift"] == 7
    assert driver.editor.current_trace.onset_shift == 7
    assert len(window.session.cache.history()) == 1


def test_refused_edit_is_a_dialog_and_nothing_looks_saved(tracemark_window, demo_cache):
    driver = tracemark_window(demo_cache)
    window = driver.window
    window.editor.edit_requested.emit(0, {"onset_shift": 10**6})
    box = window.last_error_box
    assert box is not None and box.isVisible()
    assert demo_cache.name in box.text() and "onset_shift" in box.text()
    assert "Traceback" not in box.text()
    box.accept()
    assert driver.editor.current_trace.onset_shift == 0
    assert window.session.attrs(0)["onset_shift"] == 0


def test_plots_update_live_and_open_traces(tracemark_window, demo_cache):
    driver = tracemark_window(demo_cache)
    window = driver.window
    average = window.plots.views["average"]
    assert average.traces is None                  # hidden docks draw nothing
    window.plots.docks["average"].show()
    driver.qtbot.waitUntil(lambda: average.traces is not None, timeout=10000)
    assert not bool(average.traces.reject[0])
    driver.key(Qt.Key.Key_R)
    driver.qtbot.waitUntil(lambda: bool(average.traces.reject[0]), timeout=5000)
    measures = window.plots.views["measures"]
    assert measures.traces is None                 # tabbed behind: catches up when shown
    window.plots.docks["measures"].show()
    window.plots.docks["measures"].raise_()
    driver.qtbot.waitUntil(lambda: measures.traces is not None and bool(measures.traces.reject[0]),
                           timeout=5000)
    window.plots.views["measures"].trace_selected.emit(12)
    assert driver.editor.current_index == 12
    assert np.isfinite(average.traces.data[12]).any()
