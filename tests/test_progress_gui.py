"""Progress where work takes time, and Cancel where cancelling is safe.

* Closing a cache with edits not yet in the HDF5 file folds them in (a copy of the whole
  file, 0.2-1.8 s on big caches): on a worker, with a progress dialog that has no Cancel,
  while the window keeps repainting; every edit is in the file afterwards.
* CSV export runs on a worker with a progress dialog and Cancel; a cancelled export leaves
  no partial file and keeps a file that was already there.
* The overview summary shows its progress with a Stop button; a stopped build leaves no
  partial summary file, and the link offered builds it again.
* The build-cache dialog counts the traces as they are cut; closing it mid-build cancels
  and leaves no cache behind.

Slow work is made slow by wrapping the real functions with short sleeps, so the tests
stay fast while the dialogs have time to appear.
"""

from __future__ import annotations

import csv
import threading
import time
from datetime import datetime

import h5py
import numpy as np
import pytest
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QProgressDialog, QPushButton

from testkit.cache import make_cache
from tracemark.app.main_window import MainWindow
from tracemark.io_backends.cache import CacheFile
from tracemark.storage.summaries import summary_cache_dir

WAIT_MS = 15000


@pytest.fixture
def cache_path(tmp_path):
    return make_cache(tmp_path / "session.hdf5", n_traces=60)


def _window(qtbot, *paths) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    if paths:
        window.opener.open_paths(list(paths))
        qtbot.waitUntil(lambda: window.session is not None
                        and len(window.session.rows) == len(window.session), timeout=WAIT_MS)
    return window


def _key(qtbot, window, key) -> None:
    window.editor.plot.plot_widget.setFocus()
    qtbot.keyClick(window.editor.plot.plot_widget, key)


# -- the final checkpoint --------------------------------------------------------------------------
def test_closing_folds_the_edits_with_progress_and_without_freezing(qtbot, monkeypatch, cache_path):
    from tracemark.io_backends.cache import checkpointer

    real = checkpointer.write_checkpoint
    threads = []

    def slow_checkpoint(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        time.sleep(0.8)
        return real(*args, **kwargs)

    monkeypatch.setattr(checkpointer, "write_checkpoint", slow_checkpoint)
    window = _window(qtbot, cache_path)
    for key in (Qt.Key.Key_R, Qt.Key.Key_A, Qt.Key.Key_A):
        _key(qtbot, window, key)
    assert window.session.cache.pending_edits > 0
    seen = {"ticks": 0, "progress": [], "cancel_buttons": set()}

    def tick():
        seen["ticks"] += 1
        for dialog in window.findChildren(QProgressDialog, "checkpointProgress"):
            if dialog.isVisible():
                seen["progress"].append(dialog.labelText())
                seen["cancel_buttons"].add(len(dialog.findChildren(QPushButton)))

    timer = QTimer(interval=20)
    timer.timeout.connect(tick)
    timer.start()
    started = time.perf_counter()
    window.close()                       # returns once the cache is closed, as before
    took = time.perf_counter() - started
    timer.stop()
    assert took >= 0.8 and threads == [False]        # the copy ran on a worker
    assert seen["ticks"] >= 3                         # the event loop kept turning meanwhile
    assert seen["progress"] and "Saving the edits into session.hdf5" in seen["progress"][0]
    assert seen["cancel_buttons"] == {0}             # a checkpoint is never cancelled half way
    with h5py.File(cache_path, "r") as f:           # every edit is in the HDF5 file itself
        traces = f["rec0.trc"]["traces"]
        decided = [name for name in traces if traces[name].attrs.get("reviewed") == "True"]
    assert len(decided) == 3
    with CacheFile(cache_path, mode="r") as cache:
        assert cache.pending_edits == 0 and cache.get_trace_attrs(0)["reject"] is True


def test_closing_without_pending_edits_shows_nothing(qtbot, cache_path):
    window = _window(qtbot, cache_path)
    window.close()
    assert not window.findChildren(QProgressDialog, "checkpointProgress")


# -- CSV export --------------------------------------------------------------------------------------
def _slow_reads(monkeypatch, seconds: float) -> None:
    """Each row of the export (named through ``trace_origin`` as it is written) takes
    ``seconds`` on the worker, so the test can watch the progress and cancel."""
    real = CacheFile.trace_origin

    def slow(self, index):
        if threading.current_thread() is not threading.main_thread():
            time.sleep(seconds)
        return real(self, index)

    monkeypatch.setattr(CacheFile, "trace_origin", slow)


def test_export_shows_progress_and_cancel_leaves_no_partial_file(qtbot, monkeypatch, tmp_path,
                                                                 cache_path):
    window = _window(qtbot, cache_path)
    out = tmp_path / "table.csv"
    out.write_text("an older export\n")
    _slow_reads(monkeypatch, 0.03)
    task = window.opener.export_to(out)
    dialog = window.last_dialog
    assert dialog.objectName() == "exportProgress"
    qtbot.waitUntil(lambda: dialog.isVisible() and dialog.value() > 0, timeout=WAIT_MS)
    assert dialog.maximum() == 60 and dialog.value() < 60
    cancel = dialog.findChild(QPushButton)
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: task.done, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "cancelled" in window.status_label.text(), timeout=WAIT_MS)
    assert out.read_text() == "an older export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if "table" in p.name) == ["table.csv"]
    # Done again to the end, it replaces the older file whole.
    _slow_reads(monkeypatch, 0.0)
    task = window.opener.export_to(out)
    qtbot.waitUntil(lambda: task.done and "Exported" in window.status_label.text(), timeout=WAIT_MS)
    with open(out, newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 60
    assert sorted(p.name for p in tmp_path.iterdir() if "table" in p.name) == ["table.csv"]
    window.close()


def test_a_quick_export_shows_no_dialog(qtbot, tmp_path, cache_path):
    window = _window(qtbot, cache_path)
    task = window.opener.export_to(tmp_path / "quick.csv")
    dialog = window.last_dialog
    qtbot.waitUntil(lambda: task.done and "Exported" in window.status_label.text(), timeout=WAIT_MS)
    qtbot.wait(300)
    assert not window.findChildren(QProgressDialog, "exportProgress") or not dialog.isVisible()
    window.close()


# -- the overview summary -------------------------------------------------------------------------------
class _SlowSource:
    """A long one-channel recording computed on demand; each block read takes a while."""

    def __init__(self, n_samples: int = 12_000_000, rate: float = 1000.0, delay_s: float = 0.08):
        self.n_samples, self.sampling_rate, self.delay_s = n_samples, rate, delay_s
        self.name, self.identity = "slow", f"slow-test-source:{n_samples}"
        self.channel_names, self.units, self.start_datetime = ("Cz",), ("uV",), datetime(2024, 1, 1)

    def read_block(self, i_start, i_stop, channels):
        if i_stop - i_start > 100_000:      # the summary's chunks, not the viewer's pages
            time.sleep(self.delay_s)
        t = np.arange(i_start, i_stop, dtype=np.float64) / self.sampling_rate
        return np.sin(2 * np.pi * 3 * t).astype(np.float32)[:, None].repeat(len(channels), axis=1)

    def events(self):
        return ()


def _summary_files() -> list[str]:
    folder = summary_cache_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_the_summary_build_can_be_stopped_and_started_again(qtbot):
    from tracemark.widgets.viewer import SignalViewer

    viewer = SignalViewer()
    qtbot.addWidget(viewer)
    viewer.resize(900, 500)
    viewer.show()
    viewer.set_source(_SlowSource())
    overview = viewer.overview
    qtbot.waitUntil(lambda: overview.progress.isVisible() and overview.progress.value() > 0,
                    timeout=WAIT_MS)
    assert overview.stop_button.isVisible()
    qtbot.mouseClick(overview.stop_button, Qt.MouseButton.LeftButton)
    assert viewer.summaries.wait_idle(WAIT_MS)
    qtbot.wait(50)
    assert overview.message.isVisible() and "stopped" in overview.message.text()
    assert not overview.progress.isVisible() and not overview.stop_button.isVisible()
    assert not overview.has_summary
    assert _summary_files() == []                     # nothing partial was kept
    overview.message.linkActivated.emit("build")      # what clicking "Build it" sends
    qtbot.waitUntil(lambda: overview.has_summary, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(_summary_files()), timeout=WAIT_MS)   # saved once it is shown
    files = _summary_files()
    assert len(files) == 1 and files[0].endswith(".npz")
    viewer.shutdown()


# -- the build-cache dialog ----------------------------------------------------------------------------------
def test_build_dialog_counts_traces_and_closing_it_cancels(qtbot, monkeypatch, tmp_path):
    from tracemark.app import build_cache_dialog
    from tracemark.demo.trc_writer import write_trc_array
    from tracemark.io_backends import open_recording

    rate, n_pulses = 512, 40
    signals = np.random.default_rng(0).normal(0, 30, (rate * (n_pulses + 1), 2))
    source = write_trc_array(tmp_path / "pulses.TRC", signals, channel_names=["EMG1", "EMG2"],
                             sampling_rate=rate, triggers=[(rate * (k + 1), 1) for k in range(n_pulses)])
    recording = open_recording(source)
    dialog = build_cache_dialog.BuildCacheDialog(recording)
    qtbot.addWidget(dialog)
    out = tmp_path / "built.hdf5"
    dialog.output.setText(str(out))
    real = build_cache_dialog.build_cache

    def slow_build(*args, progress, **kwargs):
        def slow(done, total):
            time.sleep(0.03)
            progress(done, total)
        return real(*args, progress=slow, **kwargs)

    monkeypatch.setattr(build_cache_dialog, "build_cache", slow_build)
    dialog.show()
    assert f"{n_pulses} events selected" in dialog.summary.text()
    qtbot.mouseClick(dialog.build_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.progress.isVisible() and dialog.progress.value() >= 3,
                    timeout=WAIT_MS)
    assert dialog.progress.maximum() == n_pulses
    assert dialog.progress.format() == f"{dialog.progress.value()} of {n_pulses} traces"
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)          # closing the dialog cancels the build
    qtbot.waitUntil(lambda: dialog.task is None and not dialog.isVisible(), timeout=WAIT_MS)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("built")] in (
        [], ["built.hdf5.lock"])                        # lock files are kept by design
    recording.close()
