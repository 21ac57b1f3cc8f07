"""The main window around the review: a second instance opens read-only and says so, a
crash loses nothing acknowledged, errors are dialogs naming the file, recent files and
preferences persist, the help lists every key, the build dialog and the export work."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication, QLabel, QMessageBox

from tracemark.app.main_window import MainWindow
from tracemark.app.settings import Settings
from tracemark.io_backends.cache import CacheFile
from tracemark.widgets.editor import EDITOR_ACTIONS


def _child_env() -> dict:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return env


# -- a second instance -------------------------------------------------------------------------
def test_second_instance_opens_read_only_and_says_so(tracemark_window, demo_cache):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from tracemark.io_backends.cache import CacheFile
            cache = CacheFile({str(demo_cache)!r}, mode="w")
            print("holding", flush=True)
            for line in sys.stdin:
                cache.update(3, comment=line.strip())
                print("edited", flush=True)
            cache.close()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_child_env(), text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        driver = tracemark_window(demo_cache)
        window, editor = driver.window, driver.editor
        assert not window.session.writable
        banner = editor.banner
        assert banner.isVisible()
        text = banner.label.text()
        assert f"pid {holder.pid}" in text and "read-only" in text
        assert "[read-only]" in window.windowTitle()
        assert not window.window_actions["undo"].isEnabled()
        before = demo_cache.read_bytes()
        driver.key(Qt.Key.Key_A)
        driver.key(Qt.Key.Key_R)
        assert window.session.attrs(0)["reviewed"] is False
        # The holder's edits show up here as they are committed.
        holder.stdin.write("seen from the other window\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "edited"
        driver.qtbot.waitUntil(lambda: window.session.row(3).comment == "seen from the other window",
                               timeout=10000)
        window.close()
        assert demo_cache.read_bytes() == before
    finally:
        holder.stdin.close()
        holder.wait(10)


# -- a crash -----------------------------------------------------------------------------------
CHILD = """
import sys, time
from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication
app = QApplication([])
from tracemark.app.main_window import MainWindow
window = MainWindow()
window.show()
window.opener.open_paths([sys.argv[1]])
deadline = time.time() + 30
while (window.session is None or len(window.session.rows) != len(window.session)) and time.time() < deadline:
    app.processEvents()
    time.sleep(0.01)
editor = window.editor
print("ready", flush=True)
for step in range(len(window.session)):
    index = editor.current_index
    key = Qt.Key.Key_R if step % 3 == 1 else Qt.Key.Key_A
    if step % 4 == 2:
        QTest.keyClick(editor.plot.plot_widget, Qt.Key.Key_Right)
    QTest.keyClick(editor.plot.plot_widget, key)
    print(f"ack {index} {'R' if key == Qt.Key.Key_R else 'A'} {1 if step % 4 == 2 else 0}", flush=True)
    app.processEvents()
    time.sleep(0.02)
time.sleep(60)
"""


def test_a_crash_loses_nothing_acknowledged(demo_cache, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(demo_cache)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=_child_env(), text=True)
    acks = []
    try:
        assert child.stdout.readline().strip() == "ready"
        while len(acks) < 12:
            line = child.stdout.readline()
            assert line, "the reviewing process ended early"
            acks.append(line.split()[1:])
        child.send_signal(signal.SIGKILL)   # mid-review, no checkpoint, no clean close
    finally:
        child.kill()
        child.wait(10)
    with CacheFile(demo_cache, mode="auto") as cache:    # a writer: recovers the journal
        for index, decision, shifted in acks:
            attrs = cache.get_trace_attrs(int(index))
            assert attrs["reviewed"] is True
            assert attrs["reject"] is (decision == "R")
            assert attrs["onset_shift"] == int(shifted)
    with h5py.File(demo_cache, "r") as f:   # folded into the HDF5 file itself on reopen
        traces = f["tracemark-demo-v1.TRC"]["traces"]
        assert all(traces[index].attrs["reviewed"] == "True" for index, _, _ in acks)


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, problem", [
    (b"", "empty"), (b"\x89HDF\r\n\x1a\n" + b"\0" * 200, "HDF5"),
])
def test_a_damaged_cache_is_a_dialog_naming_it(qtbot, tmp_path, content, problem):
    bad = tmp_path / "damaged.hdf5"
    bad.write_bytes(content)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.open_path(bad)
    qtbot.waitUntil(lambda: window.last_error_box is not None and window.last_error_box.isVisible(),
                    timeout=10000)
    text = window.last_error_box.text()
    assert "damaged.hdf5" in text and "Traceback" not in text and len(text.splitlines()) >= 2
    window.last_error_box.accept()
    assert window.session is None and window.pages.currentWidget() is window.placeholder


def test_a_changed_source_recording_is_reported(tracemark_window, demo_cache):
    with h5py.File(demo_cache, "r+") as f:
        for origin in f:
            f[origin].attrs["source_sha256"] = "0" * 64
    driver = tracemark_window(demo_cache)
    window = driver.window
    driver.qtbot.waitUntil(lambda: window.last_error_box is not None, timeout=10000)
    text = window.last_error_box.text()
    assert "tracemark-demo-v1.TRC" in text and "checksum" in text
    window.last_error_box.accept()
    assert "differs" in driver.find("sourceStatus").text()
    assert window.recording is not None and window.session.writable


def test_traces_alone_when_the_source_is_missing(tracemark_window, demo_cache):
    demo_cache.with_name("tracemark-demo-v1.TRC").unlink()
    driver = tracemark_window(demo_cache)
    assert driver.window.recording is None and not driver.viewer.isVisible()
    assert driver.editor.isVisible()
    assert "not found" in driver.find("sourceStatus").text()


# -- settings ----------------------------------------------------------------------------------
def test_recent_files_preferences_and_layout_persist(qtbot, tracemark_window, demo_cache):
    driver = tracemark_window(demo_cache)
    window = driver.window
    # The source recording opens beside the cache once it is found: wait for it.
    qtbot.waitUntil(lambda: window.opener.recording is not None, timeout=10000)
    window.splitter.setSizes([300, 900])
    sizes = window.splitter.sizes()
    window.close()
    settings = Settings()
    assert settings.recent_files()[:2] == [str(demo_cache.absolute()),
                                           str(demo_cache.with_name("tracemark-demo-v1.TRC"))]
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    names = [a.text() for a in again.recent_menu.actions()]
    assert any(demo_cache.name in n for n in names)
    again.preferences()
    dialog = again.last_dialog
    dialog.examiner.setText("ab")
    dialog.window_start.setValue(18.0)
    dialog.window_stop.setValue(45.0)
    dialog._accept()
    assert again.editor.peak_window_ms == (18.0, 45.0)
    assert Settings().examiner() == "ab" and Settings().peak_window_ms() == (18.0, 45.0)
    # The examiner is recorded with each decision, in the same transaction.
    again.opener.open_paths([demo_cache])
    qtbot.waitUntil(lambda: again.session is not None and len(again.session.rows) == 36, timeout=10000)
    assert again.splitter.sizes()[0] == sizes[0]       # the viewer keeps its width
    again.activateWindow()
    qtbot.waitUntil(again.isActiveWindow)
    again.editor.plot.plot_widget.setFocus()
    qtbot.keyClick(again.editor.plot.plot_widget, Qt.Key.Key_A)
    attrs = again.session.attrs(0)
    assert attrs["examiner"] == "ab" and attrs["reviewed"] is True
    assert len(again.session.cache.history()) == 1
    again.close()


def test_first_run_hint_is_dismissed_for_good(qtbot, monkeypatch, demo_cache):
    from tracemark.app import demo_session, launch

    monkeypatch.setattr(demo_session, "ensure_demo_session", lambda: demo_session.DemoSession(
        demo_cache.with_name("tracemark-demo-v1.TRC"), demo_cache))
    windows = launch.open_windows(argparse.Namespace(files=[], demo=True))
    window = windows[0]
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.session is not None and window.recording is not None, timeout=10000)
    hint = window.findChild(type(window.last_dialog), "firstRunHint")
    assert hint is not None and hint.isVisible()
    assert "accept" in hint.findChild(QLabel, "firstRunHint.text").text()
    qtbot.mouseClick(hint.close_button, Qt.MouseButton.LeftButton)
    assert Settings().hint_dismissed()
    window.close()
    second = launch.open_windows(argparse.Namespace(files=[], demo=True))[0]
    qtbot.addWidget(second)
    assert second.findChild(type(hint), "firstRunHint") is None
    second.close()


# -- help, export, build -----------------------------------------------------------------------
def test_help_lists_every_key_of_the_window(tracemark_window, demo_cache):
    driver = tracemark_window(demo_cache)
    listed = {}

    def read(dialog):
        table = dialog.table
        for r in range(table.rowCount()):
            listed[(table.item(r, 0).text(), table.item(r, 1).text())] = table.item(r, 2).text()
        dialog.reject()

    driver.answer_next_dialog(read)
    driver.key(Qt.Key.Key_F1)
    driver.qtbot.waitUntil(lambda: bool(listed), timeout=5000)
    commands = {command for _, command in listed}
    for spec in EDITOR_ACTIONS:
        assert spec.text.rstrip("…") in commands
    assert listed[("Edit", "Undo")] == "Ctrl+Z"
    assert "Ctrl+Shift+Z" in listed[("Edit", "Redo")]
    assert listed[("Trace (trace editor)", "Accept and go on")] == "A"


def test_export_csv(tracemark_window, demo_cache, tmp_path):
    driver = tracemark_window(demo_cache)
    driver.key(Qt.Key.Key_R)
    out = tmp_path / "table.csv"
    task = driver.window.opener.export_to(out)
    driver.qtbot.waitUntil(lambda: task.done, timeout=10000)
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    assert len(lines) == 37 and "reviewed" in header
    first = dict(zip(header, lines[1].split(",")))
    assert first["reject"] == "True" and first["reviewed"] == "True"


def test_build_cache_dialog_end_to_end(tracemark_window, demo_cache, tmp_path):
    recording = demo_cache.with_name("tracemark-demo-v1.TRC")
    driver = tracemark_window(recording)
    window = driver.window
    out = tmp_path / "built.hdf5"
    window.window_actions["build_cache"].trigger()
    dialog = window.last_dialog
    assert dialog.objectName() == "buildCacheDialog"
    assert dialog.source.currentData() == "trigger" and "36 events" in dialog.summary.text()
    checked = [dialog.channels.item(i).text() for i in range(dialog.channels.count())
               if dialog.channels.item(i).checkState() == Qt.CheckState.Checked]
    assert checked == ["EMG", "EMG2"]
    dialog.pre.setValue(20.0)
    dialog.post.setValue(80.0)
    dialog.output.setText(str(out))
    grab = dialog.grab()
    assert not grab.isNull()
    driver.qtbot.mouseClick(dialog.build_button, Qt.MouseButton.LeftButton)
    driver.qtbot.waitUntil(lambda: window.session is not None and len(window.session.rows) == 36,
                           timeout=20000)
    assert window.session.path == out
    origin = window.session.origin_of(0)
    assert origin.channel_labels == ("EMG", "EMG2")
    assert origin.samples_pre == round(0.020 * origin.sampling_rate)
    assert window.recording is not None and window.viewer.isVisible()


def test_build_cache_dialog_cancel_leaves_nothing(qtbot, demo_cache, tmp_path, monkeypatch):
    from tracemark.app import build_cache_dialog
    from tracemark.io_backends import open_recording

    recording = open_recording(demo_cache.with_name("tracemark-demo-v1.TRC"))
    dialog = build_cache_dialog.BuildCacheDialog(recording)
    qtbot.addWidget(dialog)
    out = tmp_path / "cancelled.hdf5"
    dialog.output.setText(str(out))
    real = build_cache_dialog.build_cache

    def slow_build(*args, progress, **kwargs):
        def slow(done, total):
            time.sleep(0.05)
            progress(done, total)
        return real(*args, progress=slow, **kwargs)

    monkeypatch.setattr(build_cache_dialog, "build_cache", slow_build)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.progress.value() >= 2, timeout=10000)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.task is None, timeout=10000)
    assert "nothing was written" in dialog.message.text()
    # A cancelled build leaves no file behind, not even the lock file it made.
    assert [p.name for p in tmp_path.glob("cancelled*")] == []
    recording.close()


def test_tracemark_rec_and_cache_on_the_command_line(qtbot, demo_cache):
    from tracemark.app import launch

    recording = demo_cache.with_name("tracemark-demo-v1.TRC")
    windows = launch.open_windows(argparse.Namespace(files=[str(recording), str(demo_cache)], demo=False))
    assert len(windows) == 1
    window = windows[0]
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.session is not None and len(window.session.rows) == 36, timeout=10000)
    assert window.recording.path == recording and window.viewer.isVisible()
    assert "tracemark-demo-meps.hdf5" in window.windowTitle()
    window.close()
    assert QApplication.activeModalWidget() is None or not isinstance(
        QApplication.activeModalWidget(), QMessageBox)


def test_first_run_hint_steps_aside_after_the_first_decision(qtbot, monkeypatch, demo_cache):
    from tracemark.app import demo_session, launch

    monkeypatch.setattr(demo_session, "ensure_demo_session", lambda: demo_session.DemoSession(
        demo_cache.with_name("tracemark-demo-v1.TRC"), demo_cache))
    window = launch.open_windows(argparse.Namespace(files=[], demo=True))[0]
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.session is not None and len(window.session.rows) == 36, timeout=10000)
    hint = window.hint
    assert hint.isVisible()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.editor.plot.plot_widget.setFocus()
    qtbot.keyClick(window.editor.plot.plot_widget, Qt.Key.Key_A)
    assert window.session.attrs(0)["reviewed"] is True
    assert window.hint is None and "Saved trace 1: accepted" in window.status_label.text()
    window.close()


def test_idle_checkpoint_runs_off_the_gui_thread(tracemark_window, demo_cache, monkeypatch):
    import threading

    from tracemark.app import annotation_session
    from tracemark.io_backends.cache import cachefile

    monkeypatch.setattr(annotation_session, "IDLE_CHECKPOINT_S", 0.2)
    monkeypatch.setattr(annotation_session, "CHECKPOINT_POLL_MS", 100)
    threads = []
    real = cachefile.CacheFile.checkpoint_if_idle

    def spy(self, *args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cachefile.CacheFile, "checkpoint_if_idle", spy)
    driver = tracemark_window(demo_cache)
    driver.key(Qt.Key.Key_R)
    cache = driver.session.cache
    assert cache.pending_edits == 2
    driver.qtbot.waitUntil(lambda: cache.pending_edits == 0, timeout=10000)
    assert threads and not any(threads)
    with h5py.File(demo_cache, "r") as f:     # in the HDF5 file while the window is still open
        assert f["tracemark-demo-v1.TRC"]["traces"]["0"].attrs["reject"] == "True"


def test_about_names_the_version_and_the_licences(qtbot):
    from tracemark import __version__

    window = MainWindow()
    qtbot.addWidget(window)
    window.window_actions["about"].trigger()
    dialog = window.last_dialog
    text = dialog.label.text()
    assert f"Tracemark {__version__}" in text and "BSD 3-Clause" in text
    for component in ("PyQt6", "pyqtgraph", "h5py", "numpy", "neo"):
        assert component in text
    assert "GPL" in text and "LGPL" in text
    dialog.reject()
