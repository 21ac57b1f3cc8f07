"""The main window end to end: open TRC and NWB files, page by keyboard, errors, events list."""

from __future__ import annotations

import argparse
import hashlib
from datetime import datetime, timezone

import numpy as np
import pytest
from conftest import shared_params
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication
from viewer_support import EEG_NAMES, synthetic_data, wait_drawn

from tracemark.app.main_window import MainWindow
from tracemark.demo.nwb_writer import write_nwb
from tracemark.demo.trc_writer import write_trc_array

RATE = 256.0


@pytest.fixture
def trc_file(tmp_path):
    data = synthetic_data(int(90 * RATE), len(EEG_NAMES), RATE)
    triggers = [(int(t * RATE), 7) for t in (12.0, 33.5, 61.25)]
    return write_trc_array(tmp_path / "session.TRC", data, channel_names=EEG_NAMES, sampling_rate=RATE,
                           units="uV", bytes_per_sample=2, physical_range=(-400.0, 400.0),
                           start_datetime=datetime(2023, 1, 2, 8, 0, 0), triggers=triggers,
                           notes=[(int(20 * RATE), "eyes closed")])


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window


def open_and_wait(qtbot, window, path):
    assert window.open_path(path)
    wait_drawn(qtbot, window.viewer)
    return window.viewer


def show_samples_as_recorded(qtbot, viewer):
    """DC removal and clipping off, so drawn values can be compared with the samples."""
    from tracemark.dsp.filters import DisplayFilter

    viewer.model.display.set_display_filter(DisplayFilter())
    viewer.plot.set_clipping(None)
    wait_drawn(qtbot, viewer)


def key(qtbot, viewer, k, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(viewer.plot, k, modifier)
    wait_drawn(qtbot, viewer)


def test_open_a_trc_file_and_page_through_it_by_keyboard(qtbot, window, trc_file):
    digest = hashlib.sha256(trc_file.read_bytes()).hexdigest()
    viewer = open_and_wait(qtbot, window, trc_file)
    show_samples_as_recorded(qtbot, viewer)
    assert window.windowTitle().startswith("session.TRC")
    assert viewer.row_labels() == EEG_NAMES
    pages = 0
    while viewer.model.window.stop_s < 90.0 - 1e-6:
        key(qtbot, viewer, Qt.Key.Key_PageDown)
        pages += 1
    assert pages == 8
    x, y = viewer.plot.drawn_values(0)
    assert x[-1] == pytest.approx(90.0, abs=0.01) and np.isfinite(y).all()
    expected = window.recording.read_samples(int(80 * RATE), int(90 * RATE), [0])[:, 0]
    drawn = viewer.plot.drawn_values(0)[1]
    factor = viewer.last_result.request.factor
    assert drawn.max() == pytest.approx(expected.max(), abs=1e-3)
    assert drawn.min() == pytest.approx(expected.min(), abs=1e-3)
    assert factor >= 1
    window.close()
    assert hashlib.sha256(trc_file.read_bytes()).hexdigest() == digest  # opened read-only


def test_events_are_drawn_listed_and_jumped_to(qtbot, window, trc_file):
    viewer = open_and_wait(qtbot, window, trc_file)
    key(qtbot, viewer, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    panel = viewer.events_panel
    assert panel.isVisible() and panel.model.rowCount() == 4
    key(qtbot, viewer, Qt.Key.Key_J)
    window_model = viewer.model.window
    assert window_model.start_s + window_model.span_s / 2 == pytest.approx(12.0, abs=1e-3)
    assert ("7", ) == tuple(label for t, label in viewer.plot.visible_markers() if abs(t - 12.0) < 1e-3)
    key(qtbot, viewer, Qt.Key.Key_J)
    assert window_model.start_s + window_model.span_s / 2 == pytest.approx(20.0, abs=1e-3)
    key(qtbot, viewer, Qt.Key.Key_J, Qt.KeyboardModifier.ShiftModifier)
    assert window_model.start_s + window_model.span_s / 2 == pytest.approx(12.0, abs=1e-3)
    panel.table.setFocus()
    panel.table.setCurrentIndex(panel.proxy.index(0, 0))
    qtbot.keyClick(panel.table, Qt.Key.Key_Down)  # the list moves its selection, the viewer stays
    assert panel.table.currentIndex().row() == 1
    assert window_model.start_s + window_model.span_s / 2 == pytest.approx(12.0, abs=1e-3)
    qtbot.keyClicks(panel.filter_edit, "eyes")
    assert panel.proxy.rowCount() == 1
    panel.table.setFocus()
    panel.table.setCurrentIndex(panel.proxy.index(0, 0))
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    wait_drawn(qtbot, viewer)
    assert window_model.start_s + window_model.span_s / 2 == pytest.approx(20.0, abs=1e-3)


def test_an_unreadable_file_is_reported_and_the_window_stays_usable(qtbot, window, tmp_path, trc_file):
    bad = tmp_path / "broken.TRC"
    bad.write_bytes(b"* MICROMED  Brain-Quick file *" + b"\0" * 100)
    assert not window.open_path(bad)
    box = window.last_error_box
    assert box.isVisible()
    assert "broken.TRC" in box.windowTitle() + box.text() and str(bad) in box.text()
    assert "Traceback" not in box.text()
    box.accept()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    viewer = open_and_wait(qtbot, window, trc_file)
    key(qtbot, viewer, Qt.Key.Key_PageDown)
    assert viewer.model.window.start_s == 10.0


def test_open_an_nwb_file(qtbot, window, tmp_path):
    data = synthetic_data(int(40 * RATE), 8, RATE)
    path = write_nwb(tmp_path / "rec.nwb", [data], channel_names=[f"E{i}" for i in range(8)],
                     sampling_rate=RATE, n_samples=len(data), units="uV",
                     start_datetime=datetime(2023, 5, 1, 12, 0, tzinfo=timezone.utc),
                     events=[(5.0, 0.0, "pulse")])
    viewer = open_and_wait(qtbot, window, path)
    show_samples_as_recorded(qtbot, viewer)
    assert len(viewer.row_labels()) == 8
    key(qtbot, viewer, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert viewer.model.window.stop_s == pytest.approx(40.0)
    expected = window.recording.read_samples(int(30 * RATE), int(40 * RATE), [3])[:, 0]
    assert viewer.plot.drawn_values(3)[1].max() == pytest.approx(expected.max(), rel=1e-4)


@pytest.mark.shared_data
@pytest.mark.parametrize("path", shared_params("trc", ".TRC") + shared_params("edf", ".edf"))
def test_shared_recordings_open_and_page(qtbot, window, path):
    viewer = open_and_wait(qtbot, window, path)
    start = viewer.model.window.start_s
    key(qtbot, viewer, Qt.Key.Key_PageDown)
    assert viewer.model.window.start_s > start or viewer.model.window.stop_s >= viewer.model.window.duration_s
    assert viewer.last_result.mins.shape[1] == len(viewer.model.channels.visible_rows)


@pytest.mark.shared_data
@pytest.mark.parametrize("path", shared_params("nwb", ".nwb"))
def test_shared_nwb_files_open_or_say_why_not(qtbot, window, path):
    if window.open_path(path) and not window.viewer.source.channel_names:
        assert window.viewer.events_panel.model.rowCount() > 0      # events only: listed
    elif window.viewer.source is not None:
        wait_drawn(qtbot, window.viewer)
        key(qtbot, window.viewer, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        assert window.viewer.model.window.stop_s == pytest.approx(window.viewer.model.window.duration_s)
    else:
        text = window.last_error_box.text()
        assert path.name in text and "Traceback" not in text


def test_several_streams_are_offered_and_shown(qtbot, window, tmp_path):
    from tracemark.io_backends.edf_writer import write_edf

    fast = synthetic_data(int(20 * 200), 2, 200.0)
    slow = synthetic_data(int(20 * 50), 1, 50.0)
    path = tmp_path / "rates.edf"
    write_edf(path, [[fast[:, 0], fast[:, 1], slow[:, 0]]], channel_names=["C3", "C4", "Resp"],
              sampling_rates=[200.0, 200.0, 50.0], physical_ranges=(-500.0, 500.0))
    viewer = open_and_wait(qtbot, window, path)
    actions = window.streams_menu.actions()
    assert window.streams_menu.isEnabled() and len(actions) == 2
    assert [a.text() for a in actions] == ["200 Hz — 2 channels (EEG 2)", "50 Hz — 1 channel (Resp)"]
    actions[1].trigger()
    wait_drawn(qtbot, viewer)
    assert viewer.source.sampling_rate == 50.0 and viewer.row_labels() == ("Resp",)
    assert [a.isChecked() for a in window.streams_menu.actions()] == [False, True]


def test_a_multi_rate_edf_opens_on_its_main_stream_not_a_slow_trend(qtbot, window, tmp_path):
    """An oximeter trend at 1 Hz stored first must not be what a clinician sees first."""
    from tracemark.io_backends.edf_writer import write_edf

    eeg = synthetic_data(int(20 * 256), 6, 256.0)
    trend = np.full(20, 97.0, dtype=np.float32)
    path = tmp_path / "psg.edf"
    names = ["SpO2", "Fp1", "Fp2", "C3", "C4", "O1", "O2"]
    write_edf(path, [[trend] + [eeg[:, k] for k in range(6)]], channel_names=names,
              sampling_rates=[1.0] + [256.0] * 6, physical_ranges=(-500.0, 500.0))
    viewer = open_and_wait(qtbot, window, path)
    assert viewer.source.sampling_rate == 256.0
    assert viewer.row_labels() == tuple(names[1:])
    checked = [a.text() for a in window.streams_menu.actions() if a.isChecked()]
    assert checked == ["256 Hz — 6 channels (EEG 6)"]


def test_summary_cache_lives_in_the_user_cache_dir(qtbot, window, trc_file, tmp_path):
    import os
    from pathlib import Path

    before = set(trc_file.parent.iterdir())
    viewer = open_and_wait(qtbot, window, trc_file)
    qtbot.waitUntil(lambda: viewer.overview.has_summary, timeout=10000)
    window.close()
    assert set(trc_file.parent.iterdir()) == before  # nothing written beside the recording
    caches = list((Path(os.environ["XDG_CACHE_HOME"]) / "tracemark" / "summaries").glob("*.npz"))
    assert len(caches) == 1


def test_highlighted_regions_for_the_trace_editor(qtbot, window, trc_file):
    viewer = open_and_wait(qtbot, window, trc_file)
    viewer.plot.add_highlight("trace 3", 2.0, 2.5)
    viewer.plot.add_highlight("trace 3", 2.1, 2.6)  # the same key moves the region
    assert viewer.plot.highlights() == {"trace 3": (2.1, 2.6)}
    viewer.plot.remove_highlight("trace 3")
    assert viewer.plot.highlights() == {}


def test_launch_gui_opens_each_file_in_a_window(qtbot, trc_file, tmp_path, monkeypatch):
    from tracemark.app import launch

    missing = tmp_path / "absent.TRC"
    windows = launch.open_windows(argparse.Namespace(files=[str(trc_file), str(missing)], demo=False))
    for window in windows:
        qtbot.addWidget(window)
    assert windows[0].windowTitle().startswith("session.TRC")
    wait_drawn(qtbot, windows[0].viewer)
    assert windows[1].recording is None and "no such file" in windows[1].last_error_box.text()
    windows[1].last_error_box.accept()
    # launch_gui runs the same and then the event loop (stubbed: a test cannot block on it).
    ran = []
    monkeypatch.setattr(launch, "open_windows", lambda args: ran.append(args) or [])
    monkeypatch.setattr(QApplication, "exec", lambda *a: 0)
    assert launch.launch_gui(argparse.Namespace(files=[], demo=False)) == 0 and len(ran) == 1


def test_a_hypnogram_of_annotations_only_opens_on_its_events(qtbot, window, tmp_path):
    from test_edf_annotations_mne import hypnogram

    path = hypnogram(tmp_path, 30.0)
    assert window.open_path(path)
    viewer = window.viewer
    qtbot.waitUntil(viewer.page_is_current, timeout=5000)
    assert viewer.isVisible() and viewer.source.channel_names == ()
    assert viewer.events_panel.isVisible() and viewer.events_panel.model.rowCount() > 0
    labels = [label for _t, label in viewer.plot.visible_markers()]
    assert labels and all(label.startswith("Sleep stage") for label in labels)
    assert "events only" in window.status_label.text()
    start = viewer.model.window.start_s
    qtbot.keyClick(viewer.plot, Qt.Key.Key_J)   # the keys move from event to event
    qtbot.waitUntil(lambda: viewer.model.window.start_s != start)

