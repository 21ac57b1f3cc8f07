"""Traces are never shown against a recording they were not cut from.

With the demo open (its cache and its recording), opening an unrelated EDF asks first, in
a window-modal box that names both files: a new window for the EDF, close the traces and
open it here, or cancel. Opening the traces' own recording (from Open recent) does not
ask. A recording that is not the source never gets trace windows shaded on it: given with
the cache on the command line, or bearing the source's file name with other contents.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PyQt6 import sip
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QPushButton

from tracemark.app import main_window, opening
from tracemark.io_backends.cache import CacheFile
from tracemark.io_backends.edf_writer import write_edf

CTRL = Qt.KeyboardModifier.ControlModifier
SOURCE = "tracemark-demo-v1.TRC"
HIGHLIGHT = "current-trace"


@pytest.fixture
def unrelated_edf(tmp_path) -> Path:
    folder = tmp_path / "other"
    folder.mkdir()
    samples = np.sin(np.linspace(0, 40 * np.pi, 8000, dtype=np.float32))[:, None].repeat(2, axis=1)
    path = folder / "other-patient.edf"
    write_edf(path, [samples * 100.0], channel_names=["C3", "C4"], sampling_rates=1000.0,
              physical_ranges=(-200.0, 200.0))
    return path


def _open_recording_by_keys(driver, monkeypatch, path: Path) -> None:
    """Ctrl+O, and the file dialog answered with ``path``."""
    monkeypatch.setattr(opening.QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: (str(path), "")))
    driver.key(Qt.Key.Key_O, CTRL)


def _question(driver):
    window = driver.window
    driver.qtbot.waitUntil(lambda: window.last_dialog is not None
                           and window.last_dialog.objectName() == "recordingMismatchDialog"
                           and window.last_dialog.isVisible(), timeout=5000)
    return window.last_dialog


def _answer(driver, box, answer: str) -> None:
    button = box.findChild(QPushButton, f"recordingMismatch.{answer}")
    driver.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    driver.qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)


def _shaded(window) -> bool:
    return HIGHLIGHT in window.viewer.plot.highlights()


def _wait_shaded(driver) -> None:
    driver.qtbot.waitUntil(lambda: _shaded(driver.window), timeout=5000)


def test_the_question_names_both_files_and_cancel_changes_nothing(tracemark_window, demo_cache,
                                                                  unrelated_edf, monkeypatch):
    driver = tracemark_window(demo_cache)
    window = driver.window
    session, source = window.session, window.recording.path
    _open_recording_by_keys(driver, monkeypatch, unrelated_edf)
    box = _question(driver)
    assert box.windowModality() == Qt.WindowModality.WindowModal
    assert SOURCE in box.text() and unrelated_edf.name in box.text()
    assert str(unrelated_edf) in box.informativeText() and str(demo_cache) in box.informativeText()
    assert window.recording.path == source            # nothing opened while it asks
    _answer(driver, box, "cancel")
    assert window.session is session and window.recording.path == source
    assert window.last_new_window is None
    driver.key(Qt.Key.Key_N)
    _wait_shaded(driver)                              # the traces still mark their recording


def test_open_in_a_new_window(tracemark_window, demo_cache, unrelated_edf, monkeypatch):
    driver = tracemark_window(demo_cache)
    window = driver.window
    _open_recording_by_keys(driver, monkeypatch, unrelated_edf)
    _answer(driver, _question(driver), "newWindow")
    other = window.last_new_window
    try:   # not given to qtbot: the window deletes itself when closed
        driver.qtbot.waitUntil(lambda: other.recording is not None, timeout=5000)
        assert other.recording.path == unrelated_edf and other.session is None
        assert other.isVisible() and other.viewer.isVisible() and not other.editor.isVisible()
        assert other in main_window.EXTRA_WINDOWS         # kept alive while open
        assert window.recording.path.name == SOURCE and len(window.session) == 36
    finally:
        other.close()
    driver.qtbot.waitUntil(lambda: other not in main_window.EXTRA_WINDOWS, timeout=5000)
    assert sip.isdeleted(other)                           # by Qt, not left to the collector


def test_close_the_traces_and_open(tracemark_window, demo_cache, unrelated_edf, monkeypatch):
    driver = tracemark_window(demo_cache)
    window = driver.window
    driver.key(Qt.Key.Key_R)                           # an edit, to be kept through the close
    _open_recording_by_keys(driver, monkeypatch, unrelated_edf)
    _answer(driver, _question(driver), "closeTraces")
    driver.qtbot.waitUntil(lambda: window.recording is not None
                           and window.recording.path == unrelated_edf, timeout=5000)
    assert window.session is None and not window.editor.isVisible()
    assert not _shaded(window) and demo_cache.name not in window.windowTitle()
    with CacheFile(demo_cache, mode="w") as cache:     # closed and released: writable again
        assert cache.get_trace_attrs(0)["reject"] is True


def test_the_source_itself_opens_without_asking(tracemark_window, demo_cache):
    driver = tracemark_window(demo_cache)
    window = driver.window
    driver.qtbot.waitUntil(lambda: window.recording is not None, timeout=5000)
    recent = [a for a in window.recent_menu.actions() if a.data() == str(demo_cache.with_name(SOURCE))]
    assert recent, [a.data() for a in window.recent_menu.actions()]
    recent[0].trigger()                                # File › Open recent › the TRC
    assert window.last_dialog is None or window.last_dialog.objectName() != "recordingMismatchDialog"
    assert window.recording.path.name == SOURCE and window.session is not None
    driver.key(Qt.Key.Key_N)
    _wait_shaded(driver)


def test_a_recording_given_with_traces_not_cut_from_it_is_not_shaded(tracemark_window, demo_cache,
                                                                      unrelated_edf, monkeypatch):
    """``tracemark other.edf cache.hdf5`` with the cache's own recording gone: the traces
    are shown beside the EDF, and nothing of theirs is marked on it."""
    demo_cache.with_name(SOURCE).unlink()
    driver = tracemark_window(unrelated_edf, demo_cache)
    window = driver.window
    assert window.recording.path == unrelated_edf and window.viewer.isVisible()
    status = driver.find("sourceStatus").text()
    assert "not found" in status and f"{unrelated_edf.name} is not their source" in status
    for _ in range(3):
        driver.key(Qt.Key.Key_N)
    driver.qtbot.wait(100)                             # past the viewer's follow delay
    assert not _shaded(window)
    # Opening it (or any other unrelated recording) again asks, source or no source.
    _open_recording_by_keys(driver, monkeypatch, unrelated_edf)
    _answer(driver, _question(driver), "cancel")


@pytest.mark.parametrize("altered", [False, True], ids=["moved-with-the-cache", "same-name-other-file"])
def test_a_recording_of_the_sources_name_is_checked(tracemark_window, demo_cache, monkeypatch,
                                                    altered):
    """The cache names a source that is gone; a file of that name elsewhere is taken for it
    (the cache was moved with its recording) only while its checksum matches."""
    moved = demo_cache.parent / "moved" / SOURCE
    moved.parent.mkdir()
    shutil.move(demo_cache.with_name(SOURCE), moved)
    if altered:
        data = bytearray(moved.read_bytes())
        data[-2] ^= 0x01                               # one sample, near the end
        moved.write_bytes(bytes(data))
    driver = tracemark_window(demo_cache)
    window = driver.window
    assert window.recording is None
    _open_recording_by_keys(driver, monkeypatch, moved)
    driver.qtbot.waitUntil(lambda: window.recording is not None, timeout=5000)
    assert window.last_dialog is None                  # no question: it may be the source
    status = driver.find("sourceStatus")
    if not altered:
        driver.qtbot.waitUntil(lambda: "checksum matches" in status.text(), timeout=20000)
        driver.key(Qt.Key.Key_N)
        _wait_shaded(driver)
        return
    driver.qtbot.waitUntil(lambda: window.last_error_box is not None
                           and window.last_error_box.isVisible(), timeout=20000)
    box = window.last_error_box
    assert box.windowTitle() == "Not the traces' source recording" and str(moved) in box.text()
    box.accept()
    assert "not the traces' source" in status.text()
    driver.key(Qt.Key.Key_N)
    driver.qtbot.wait(100)
    assert not _shaded(window)
