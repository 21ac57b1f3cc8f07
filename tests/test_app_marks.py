"""The person's marks in the main window: made by keys and the mouse on a recording, kept in
its annotation file (reopened with the recording, undone with Edit › Undo), read-only in a
second instance that names the holder, never lost when the process is killed between
marks, and imported and exported through the Annotate menu.

Recordings are written here; the annotation files live in the test's own data folder
(the suite's conftest points XDG_DATA_HOME there).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from viewer_support import drag, hover, plot_point

from tracemark.app.focus_marker import VIEWER
from tracemark.app.main_window import MainWindow
from tracemark.demo.trc_writer import write_trc_array
from tracemark.io_backends.annotation_store import default_annotation_path, open_annotations

RATE = 256.0
TESTS = Path(__file__).resolve().parent


@pytest.fixture
def recording(tmp_path) -> Path:
    rng = np.random.default_rng(3)
    return write_trc_array(tmp_path / "marks.TRC", rng.normal(0, 30, (int(RATE * 120), 6)).astype(np.float32),
                           sampling_rate=RATE)


def open_window(qtbot, recording: Path) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1300, 760)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    assert window.open_path(recording)
    qtbot.waitUntil(lambda: window.marks.store is not None, timeout=15000)
    window.viewer.plot.setFocus()
    qtbot.waitUntil(lambda: window.focus_marker.active == VIEWER, timeout=5000)
    return window



def marks_of(window) -> list:
    return window.marks.store.state.sorted_annotations()


def test_marks_made_in_the_window_are_in_the_recordings_file_and_come_back(qtbot, recording):
    window = open_window(qtbot, recording)
    viewer = window.viewer
    hover(viewer, 2.0)
    qtbot.keyClick(viewer.plot, Qt.Key.Key_1)                  # a point event: Event
    viewer.commands.action_set["toggle_annotate"].trigger()
    drag(viewer.plot.viewport(), plot_point(viewer, 4.0, 1), plot_point(viewer, 6.0, 1))   # a span
    viewer.commands.action_set["toggle_annotate"].trigger()
    marks = marks_of(window)
    assert [m.label for m in marks] == ["Event", "Event"]
    point, span = marks
    assert point.duration_s == 0 and abs(point.onset_s - 2.0) < 0.05
    assert span.onset_s == pytest.approx(4.0, abs=0.05) and span.end_s == pytest.approx(6.0, abs=0.05)
    # Edit › Undo with the keys in the viewer undoes the last mark, Redo brings it back.
    window.window_actions["undo"].trigger()
    assert len(marks_of(window)) == 1
    window.window_actions["redo"].trigger()
    assert len(marks_of(window)) == 2
    path = window.marks.store.path
    assert path == default_annotation_path(recording)
    window.close()
    # The file holds them; a new window on the same recording shows them.
    with open_annotations(recording, mode="r") as store:
        assert [(m.onset_s, m.duration_s) for m in store.state.sorted_annotations()] == \
            [(m.onset_s, m.duration_s) for m in marks]
    again = open_window(qtbot, recording)
    assert [m.id for m in marks_of(again)] == [m.id for m in marks]
    assert set(again.viewer.marking.layer.drawn_points) | {s.ident for s in again.viewer.marking.layer.drawn_spans} >= \
        {m.id for m in marks}


def test_a_second_instance_shows_the_marks_read_only_and_names_the_holder(qtbot, recording):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from tracemark.domain import annotations as marks
            from tracemark.io_backends.annotation_store import open_annotations
            store = open_annotations({str(recording)!r}, mode="r+")
            print("holding", flush=True)
            for line in sys.stdin:
                _, changes = marks.add(store.state, float(line), 0.0, "Spike")
                store.commit(changes)
                print("marked", flush=True)
            store.close()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert holder.stdout.readline().strip() == "holding"
        window = open_window(qtbot, recording)
        reason = window.marks.store.read_only_reason
        assert f"pid {holder.pid}" in reason
        assert "read-only" in window.status_label.text()
        hover(window.viewer, 3.0)
        qtbot.keyClick(window.viewer.plot, Qt.Key.Key_1)
        assert marks_of(window) == []                       # refused, nothing written
        holder.stdin.write("7.5\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "marked"
        qtbot.waitUntil(lambda: [m.onset_s for m in marks_of(window)] == [7.5], timeout=10000)
    finally:
        holder.stdin.close()
        holder.wait(10)


def test_import_and_export_through_the_window(qtbot, recording, tmp_path):
    mne = pytest.importorskip("mne")
    window = open_window(qtbot, recording)
    viewer = window.viewer
    for time_s, key in ((1.0, Qt.Key.Key_1), (3.5, Qt.Key.Key_2)):
        hover(viewer, time_s)
        qtbot.keyClick(viewer.plot, key)
    written = window.marks.export_to(tmp_path / "marks.txt", "mne")
    read = mne.read_annotations(written[0])
    ours = marks_of(window)
    assert list(read.description) == [m.label for m in ours]
    assert [round(o * RATE) for o in read.onset] == [round(m.onset_s * RATE) for m in ours]
    # Importing a CSV adds its marks as one undoable edit.
    table = tmp_path / "more.csv"
    table.write_text("onset_s,duration_s,label,channels\n10.0,2.0,Seizure onset,\n20.5,0,Spike,\n")
    assert window.marks.import_from(table) == 2
    assert len(marks_of(window)) == 4
    window.window_actions["undo"].trigger()
    assert len(marks_of(window)) == 2
    # A file that is not one gets a dialog naming it, and nothing is added.
    bad = tmp_path / "bad.csv"
    bad.write_text("onset_s,duration_s,label\nsoon,1,x\n")
    assert window.marks.import_from(bad) == 0
    assert "bad.csv" in window.last_error_box.text()
    assert len(marks_of(window)) == 2


# -- a crash -------------------------------------------------------------------------------------
CHILD = """
import sys, time
from PyQt6.QtCore import Qt, QPointF
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication
app = QApplication([])
from viewer_support import drag, plot_point
from tracemark.app.main_window import MainWindow
window = MainWindow()
window.resize(1300, 760)
window.show()
window.opener.open_paths([sys.argv[1]])
deadline = time.time() + 60
while window.marks.store is None and time.time() < deadline:
    app.processEvents()
    time.sleep(0.01)
viewer = window.viewer
viewer.plot.setFocus()
print("ready", flush=True)
keys = [Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4]

def newest(before):
    state = window.marks.store.state
    return next(m for i, m in state.annotations.items() if i not in before)

for step in range(200):
    before = set(window.marks.store.state.annotations)
    t = 1.0 + (step % 40) * 0.2
    viewport = viewer.plot.viewport()
    if step % 5 == 4:     # a span by mouse, in annotate mode
        viewer.commands.action_set["toggle_annotate"].trigger()
        drag(viewport, plot_point(viewer, t, 1), plot_point(viewer, t + 0.5, 1))
        viewer.commands.action_set["toggle_annotate"].trigger()
        QTest.keyClick(viewer.plot, Qt.Key.Key_Escape)   # unselect it: a key would relabel it
    else:                 # a point event by key at the pointer
        pos = plot_point(viewer, t, 2)
        QApplication.sendEvent(viewport, QMouseEvent(QMouseEvent.Type.MouseMove, QPointF(pos),
                               QPointF(viewport.mapToGlobal(pos)), Qt.MouseButton.NoButton,
                               Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
        QTest.keyClick(viewer.plot, keys[step % 4])
    mark = newest(before)  # committed (journaled and fsync'd) before the key returned
    print(f"ack {mark.id} {mark.onset_s!r} {mark.duration_s!r} {mark.label}", flush=True)
    app.processEvents()
time.sleep(60)
"""


def test_a_killed_window_loses_no_acknowledged_mark(recording, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join([str(TESTS.parent), str(TESTS)]))
    rng = np.random.default_rng(11)
    acknowledged: dict[str, tuple[float, float, str]] = {}
    for _round in range(3):
        child = subprocess.Popen([sys.executable, str(script), str(recording)], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env=env, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            for _ in range(int(rng.integers(3, 12))):
                line = child.stdout.readline()
                assert line.startswith("ack"), "the marking process ended early"
                _, ident, onset, duration, label = line.split(maxsplit=4)
                acknowledged[ident] = (float(onset), float(duration), label.strip())
            child.send_signal(signal.SIGKILL)        # between marks, no clean close
        finally:
            child.kill()
            child.wait(10)
    with open_annotations(recording, mode="r") as store:
        stored = store.state.annotations
        assert not store.read_only_reason.startswith("damaged")
    missing = set(acknowledged) - set(stored)
    assert not missing, f"acknowledged marks lost: {sorted(missing)}"
    for ident, (onset, duration, label) in acknowledged.items():
        assert (stored[ident].onset_s, stored[ident].duration_s, stored[ident].label) == (onset, duration, label)
    assert any(d > 0 for _, d, _ in acknowledged.values()) and any(d == 0 for _, d, _ in acknowledged.values())
