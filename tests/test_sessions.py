"""Reading sessions: a recording reopens as it was left, in a new window, from File › Recent;
a changed recording is restored as far as it applies; a corrupt session file is ignored
with a note; File › Reset view forgets the session. Driven by keys and actions; QSettings
and the data directory are temporary folders (conftest)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QApplication
from viewer_support import EEG_NAMES, synthetic_data, wait_drawn

from tracemark.app.main_window import MainWindow
from tracemark.app.session_store import (
    SCHEMA_VERSION,
    SessionFileError,
    SessionStore,
    ViewState,
)
from tracemark.app.sessions import SAVE_AFTER_MS, format_position, montage_that_applies
from tracemark.demo.trc_writer import write_trc_array
from tracemark.dsp.filters import DisplayFilter
from tracemark.dsp.montage import bipolar_longitudinal_1020

RATE = 256.0
DURATION_S = 300.0
CTRL, SHIFT, ALT = (Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier,
                    Qt.KeyboardModifier.AltModifier)


def write_recording(path: Path, names=EEG_NAMES, duration_s: float = DURATION_S) -> Path:
    data = synthetic_data(int(duration_s * RATE), len(names), RATE)
    return write_trc_array(path, data, channel_names=list(names), sampling_rate=RATE, units="uV",
                           bytes_per_sample=2, physical_range=(-400.0, 400.0),
                           start_datetime=datetime(2023, 1, 2, 8, 0, 0))


@pytest.fixture
def recording(tmp_path):
    return write_recording(tmp_path / "session.TRC")


@pytest.fixture
def new_window(qtbot):
    def make() -> MainWindow:
        window = MainWindow()
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        return window
    return make


def open_and_wait(qtbot, window, path):
    assert window.open_path(path)
    wait_drawn(qtbot, window.viewer)
    return window.viewer


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    if not window.isActiveWindow():   # the offscreen platform does not hand activation back
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.viewer.plot, key, modifier)
    wait_drawn(qtbot, window.viewer)


def answer_modal(respond):
    """Run ``respond(dialog)`` on the next modal dialog, as a person would answer it."""
    def attempt():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(10, attempt)
            return
        respond(dialog)
    QTimer.singleShot(0, attempt)


def labels_in_order(viewer) -> list[str]:
    return [viewer.row_labels()[r] for r in viewer.model.channels.order]


def session_file(recording: Path) -> Path:
    return SessionStore().path_for(recording)


def set_up_a_reading(qtbot, window) -> None:
    """What a person does to read a recording their way, by keys and dialogs."""
    press(qtbot, window, Qt.Key.Key_M)                     # next montage: bipolar
    assert window.viewer.model.display.montage is not None

    def keep_five_reordered(dialog):
        dialog._check_all(False)
        for row in (0, 1, 2, 3, 5):
            dialog.set_checked(row, True)
        dialog.list.setCurrentRow(5)
        dialog._move(-1)
        dialog.accept()

    answer_modal(keep_five_reordered)
    press(qtbot, window, Qt.Key.Key_L, CTRL)               # channels: five, one moved up

    def high_pass(dialog):
        dialog.highpass_on.setChecked(True)
        dialog.highpass.setValue(1.0)
        dialog._accept()

    answer_modal(high_pass)
    press(qtbot, window, Qt.Key.Key_F, CTRL)               # display filters: HP 1 Hz
    press(qtbot, window, Qt.Key.Key_D)                     # DC removal off
    press(qtbot, window, Qt.Key.Key_Plus)                  # larger traces
    press(qtbot, window, Qt.Key.Key_Plus)
    while window.viewer.model.channels.per_page > 2:
        press(qtbot, window, Qt.Key.Key_Up, CTRL)          # fewer channels per page
    press(qtbot, window, Qt.Key.Key_Down, ALT)             # select the next channel
    press(qtbot, window, Qt.Key.Key_Down)                  # next channel page
    press(qtbot, window, Qt.Key.Key_BracketRight)          # longer span
    press(qtbot, window, Qt.Key.Key_PageDown)
    press(qtbot, window, Qt.Key.Key_PageDown)
    press(qtbot, window, Qt.Key.Key_K)                     # clipping off
    press(qtbot, window, Qt.Key.Key_T)                     # clock time
    press(qtbot, window, Qt.Key.Key_E, CTRL)               # the events list
    press(qtbot, window, Qt.Key.Key_F, CTRL | SHIFT)       # the power spectrum dock


def view_of(window) -> dict:
    viewer = window.viewer
    model = viewer.model
    channels = model.channels
    return {"start": model.window.start_s, "span": model.window.span_s,
            "time_mode": model.window.time_mode,
            "montage": model.display.montage.to_dict() if model.display.montage else None,
            "order": labels_in_order(viewer), "per_page": channels.per_page, "first": channels.first,
            "selected": viewer.row_labels()[channels.selected],
            "filter": model.display.display_filter, "filters_on": viewer.filters_enabled,
            "clipping": viewer.plot.clip_rows, "sensitivities": channels.sensitivities,
            "events_list": viewer.actions["toggle_events_panel"].isChecked(),
            "spectrum_dock": window.spectrum.docks["psd"].toggleViewAction().isChecked()}


def test_a_recording_reopens_in_a_new_window_as_it_was_left(qtbot, new_window, recording):
    first = new_window()
    viewer = open_and_wait(qtbot, first, recording)
    default = view_of(first)
    set_up_a_reading(qtbot, first)
    left = view_of(first)
    # Every part of the view was changed, so that restoring it is seen.
    changed = {key for key in left if left[key] != default[key]}
    assert changed == set(left) - {"filters_on"}, changed
    assert left["filter"] == DisplayFilter(highpass_hz=1.0, remove_dc=False)
    assert viewer.model.channels.sensitivities["eeg"] < default["sensitivities"]["eeg"]
    first.close()

    assert session_file(recording).is_file()
    assert str(session_file(recording)).startswith(os.environ["XDG_DATA_HOME"])
    second = new_window()
    open_and_wait(qtbot, second, recording)
    qtbot.waitUntil(lambda: view_of(second)["sensitivities"] == left["sensitivities"], timeout=5000)
    assert view_of(second) == left
    assert second.viewer.last_result.request.rows == second.viewer.model.channels.visible_rows
    assert "as you left it" in second.status_label.text()


def test_measured_sensitivities_are_measured_again_not_restored(qtbot, new_window, recording):
    window = new_window()
    open_and_wait(qtbot, window, recording)
    press(qtbot, window, Qt.Key.Key_PageDown)
    window.close()
    state = SessionStore().load(recording).last_state()
    assert state.start_s == pytest.approx(10.0)
    assert state.sensitivities == {}


def test_changes_are_saved_within_seconds_without_closing(qtbot, new_window, recording):
    window = new_window()
    open_and_wait(qtbot, window, recording)
    qtbot.wait(SAVE_AFTER_MS + 500)
    assert not session_file(recording).exists()   # opening alone writes nothing
    press(qtbot, window, Qt.Key.Key_End, CTRL)
    qtbot.waitUntil(session_file(recording).exists, timeout=SAVE_AFTER_MS + 3000)
    state = SessionStore().load(recording).last_state()
    assert state.start_s == pytest.approx(DURATION_S - 10.0)
    assert [p.name for p in session_file(recording).parent.iterdir()] == [session_file(recording).name]


def test_opening_another_recording_saves_the_first(qtbot, new_window, recording, tmp_path):
    other = write_recording(tmp_path / "other.TRC", duration_s=60.0)
    window = new_window()
    open_and_wait(qtbot, window, recording)
    press(qtbot, window, Qt.Key.Key_PageDown)
    open_and_wait(qtbot, window, other)
    assert SessionStore().load(recording).last_state().start_s == pytest.approx(10.0)
    assert window.viewer.model.window.start_s == 0.0   # the other one opens at its start


def test_a_changed_recording_is_restored_as_far_as_it_applies(qtbot, new_window, recording):
    window = new_window()
    open_and_wait(qtbot, window, recording)
    press(qtbot, window, Qt.Key.Key_M)
    press(qtbot, window, Qt.Key.Key_End, CTRL)
    montage_rows = len(window.viewer.row_labels())
    window.close()

    # The recording is rewritten: two channels fewer, and a third as long.
    remaining = tuple(n for n in EEG_NAMES if n not in ("Fz", "C3"))
    write_recording(recording, names=remaining, duration_s=100.0)
    again = new_window()
    viewer = open_and_wait(qtbot, again, recording)
    assert again.last_error_box is None
    model = viewer.model
    assert model.window.start_s == pytest.approx(100.0 - model.window.span_s)   # clamped
    montage = model.display.montage
    assert montage is not None and 0 < len(montage.derivations) < montage_rows
    assert all("Fz" not in (d.positive, d.negative) and "C3" not in (d.positive, d.negative)
               for d in montage.derivations)
    assert viewer.last_result.request.rows == model.channels.visible_rows
    assert "changed" in again.status_label.text()


def test_channels_gone_from_the_recording_are_dropped_from_its_order(qtbot, new_window, recording):
    window = new_window()
    open_and_wait(qtbot, window, recording)
    window.viewer.model.channels.set_order([4, 8, 0])          # Fz, C3, Fp1: what the dialog does
    window.close()
    remaining = tuple(n for n in EEG_NAMES if n != "Fz") + ("X1",)
    write_recording(recording, names=remaining)
    again = new_window()
    viewer = open_and_wait(qtbot, again, recording)
    # Fz is gone; X1 is new, so it is shown (the person never hid it).
    assert labels_in_order(viewer) == ["C3", "Fp1", "X1"]


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00garbage",
                                     json.dumps({"format": "tracemark-session", "version": 1,
                                                 "streams": {"0": {"start_s": "soon"}}}).encode(),
                                     json.dumps({"format": "tracemark-session",
                                                 "version": SCHEMA_VERSION + 1, "streams": {}}).encode()],
                         ids=["truncated", "binary", "wrong-type", "newer-version"])
def test_an_unreadable_session_is_ignored_with_a_note(qtbot, new_window, recording, content):
    path = session_file(recording)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    window = new_window()
    viewer = open_and_wait(qtbot, window, recording)
    assert window.last_error_box is None
    assert "ignored" in window.status_label.text()
    assert viewer.model.window.start_s == 0.0
    press(qtbot, window, Qt.Key.Key_PageDown)
    window.close()
    assert SessionStore().load(recording).last_state().start_s == pytest.approx(10.0)   # replaced


def test_reset_view_forgets_the_session_and_shows_the_defaults(qtbot, new_window, recording):
    window = new_window()
    viewer = open_and_wait(qtbot, window, recording)
    default = view_of(window)
    press(qtbot, window, Qt.Key.Key_M)
    press(qtbot, window, Qt.Key.Key_D)
    press(qtbot, window, Qt.Key.Key_K)
    press(qtbot, window, Qt.Key.Key_Plus)
    press(qtbot, window, Qt.Key.Key_PageDown)
    window.sessions.save_now()
    assert session_file(recording).exists()

    window.session_actions["reset_view"].trigger()
    wait_drawn(qtbot, viewer)
    qtbot.waitUntil(lambda: view_of(window)["sensitivities"] == default["sensitivities"], timeout=5000)
    assert not session_file(recording).exists()
    assert view_of(window) == default
    window.close()
    assert not session_file(recording).exists()   # nothing changed since the reset


def test_recent_menu_shows_where_each_recording_was_left_and_reopens_it(qtbot, new_window, recording):
    window = new_window()
    open_and_wait(qtbot, window, recording)
    press(qtbot, window, Qt.Key.Key_End, CTRL)
    press(qtbot, window, Qt.Key.Key_M)
    window.close()

    again = new_window()
    again.recent_menu.aboutToShow.emit()
    entries = [a for a in again.recent_menu.actions() if a.data()]
    assert [a.text() for a in entries] == [f"&1 session.TRC — {format_position(DURATION_S - 10.0)}"]
    assert entries[0].text().endswith("00:04:50")
    entries[0].trigger()
    wait_drawn(qtbot, again.viewer)
    assert again.viewer.model.window.start_s == pytest.approx(DURATION_S - 10.0)
    assert again.viewer.model.display.montage is not None


def test_a_cache_in_the_recent_list_shows_no_position(qtbot, new_window, recording, tmp_path):
    window = new_window()
    window.settings.add_recent(tmp_path / "traces.hdf5")
    window.recent_menu.aboutToShow.emit()
    assert [a.text() for a in window.recent_menu.actions() if a.data()] == ["&1 traces.hdf5"]


# -- the store and the pieces, without a window ------------------------------------------------
def test_store_round_trips_every_field_and_keeps_other_streams(tmp_path):
    store = SessionStore(tmp_path / "sessions")
    recording = tmp_path / "r.edf"
    recording.write_bytes(b"")
    montage = bipolar_longitudinal_1020(EEG_NAMES)
    state = ViewState(start_s=12.5, span_s=20.0, time_mode="clock", montage=montage.to_dict(),
                      shown_channels=("Fp1-F7", "F7-T3"), hidden_channels=("T3-T5",), rows_per_page=8,
                      first_row="F7-T3", selected_channel="Fp1-F7",
                      display_filter={"highpass_hz": 0.5, "lowpass_hz": None, "notch_hz": 50.0,
                                      "remove_dc": True},
                      filters_enabled=False, clipping=False, sensitivities={"eeg": 5.0},
                      panels={"toggle_events_panel": True}, docks={"dock.psd": True},
                      bad_channels=("T3-T5",), channel_names=EEG_NAMES, duration_s=300.0)
    store.save(recording, "0", ViewState(start_s=1.0))
    store.save(recording, "1", state)
    loaded = store.load(recording)
    assert loaded.streams == {"0": ViewState(start_s=1.0), "1": state}
    assert loaded.last_state() == state
    assert store.forget(recording) and store.load(recording) is None and not store.forget(recording)


def test_store_names_the_file_and_the_problem(tmp_path):
    store = SessionStore(tmp_path)
    recording = tmp_path / "r.edf"
    store.path_for(recording).write_text(json.dumps(
        {"format": "tracemark-session", "version": 1, "streams": {"0": {"rows_per_page": 2.5}}}))
    with pytest.raises(SessionFileError) as caught:
        store.load(recording)
    assert caught.value.path == store.path_for(recording)
    assert "rows_per_page" in caught.value.problem


def test_a_failed_write_leaves_the_previous_session_whole(tmp_path, monkeypatch):
    store = SessionStore(tmp_path)
    recording = tmp_path / "r.edf"
    store.save(recording, "0", ViewState(start_s=5.0))

    def failing_fsync(_fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        store.save(recording, "0", ViewState(start_s=99.0))
    assert store.load(recording).last_state().start_s == 5.0
    assert sorted(p.name for p in tmp_path.iterdir()) == [store.path_for(recording).name]


def test_a_montage_keeps_the_derivations_whose_channels_remain():
    montage = bipolar_longitudinal_1020(EEG_NAMES)
    kept, note = montage_that_applies(montage.to_dict(), [n for n in EEG_NAMES if n != "Fp1"])
    assert [d.label for d in kept.derivations] == [d.label for d in montage.derivations
                                                   if "Fp1" not in (d.positive, d.negative)]
    assert "dropped" in note
    assert montage_that_applies(montage.to_dict(), ["X", "Y"]) == (None, f"montage {montage.name} no longer applies")
    assert montage_that_applies({"nonsense": 1}, EEG_NAMES)[0] is None


def test_format_position():
    assert format_position(750.4) == "00:12:30"
    assert format_position(3 * 3600 + 61) == "03:01:01"


def test_a_session_that_cannot_be_written_is_told_in_the_status_bar(qtbot, new_window, recording):
    blocked = SessionStore().folder
    blocked.parent.mkdir(parents=True)
    blocked.write_bytes(b"")   # a file where the sessions folder should be
    window = new_window()
    open_and_wait(qtbot, window, recording)
    press(qtbot, window, Qt.Key.Key_PageDown)
    window.opener.close_recording()
    assert window.last_error_box is None
    assert window.status_label.text().startswith("Could not save the view of session.TRC")
