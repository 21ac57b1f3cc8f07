"""Actions declared once: menus and the help dialog come from the same specs; dialogs work."""

from __future__ import annotations

from collections import Counter

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import QDialog, QMenu
from viewer_support import answer_modal, make_source, open_viewer, press, wait_drawn

from tracemark.app.main_window import WINDOW_ACTIONS, MainWindow
from tracemark.app.spectrum_dock import SPECTRUM_ACTIONS
from tracemark.dsp.filters import DisplayFilter
from tracemark.storage.montages import MontageLibrary
from tracemark.widgets.actions import ShortcutsDialog, shortcut_rows
from tracemark.widgets.viewer import VIEWER_ACTIONS
from tracemark.widgets.viewer.dialogs import clock_to_elapsed, parse_time_text

ALL_SPECS = VIEWER_ACTIONS + WINDOW_ACTIONS + SPECTRUM_ACTIONS



def test_no_two_commands_share_a_shortcut():
    keys = [QKeySequence(s).toString() for spec in ALL_SPECS for s in spec.shortcuts]
    assert [k for k, n in Counter(keys).items() if n > 1] == []
    assert all(spec.shortcuts for spec in VIEWER_ACTIONS)


def test_menus_hold_every_action(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    in_menus = {action.objectName() for menu in window.menuBar().findChildren(QMenu)
                for action in menu.actions() if action.objectName()}
    assert {spec.name for spec in ALL_SPECS} <= in_menus
    page_down = window.viewer.actions["page_forward"]
    assert page_down.shortcut().toString() == QKeySequence("PgDown").toString()


def test_help_dialog_lists_every_shortcut(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.viewer.set_source(make_source(duration_s=30.0))
    window.viewer.plot.setFocus()
    wait_drawn(qtbot, window.viewer)
    listed = {}

    def read_and_close(dialog):
        assert isinstance(dialog, ShortcutsDialog)
        table = dialog.table
        for r in range(table.rowCount()):
            listed[table.item(r, 1).text()] = table.item(r, 2).text()
        dialog.reject()

    answer_modal(qtbot, read_and_close)
    qtbot.keyClick(window.viewer.plot, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: bool(listed), timeout=3000)
    assert len(listed) == len(ALL_SPECS)
    for _menu, command, keys in shortcut_rows(ALL_SPECS):
        assert listed[command] == keys
    assert "PgDown" in listed["Next page"] or "Page Down" in listed["Next page"]


def test_go_to_time_dialog(qtbot):
    viewer = open_viewer(qtbot, make_source(duration_s=120.0))

    def fill(dialog):
        dialog.edit.setText("1:05")
        dialog._accept()

    answer_modal(qtbot, fill)
    press(qtbot, viewer, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert viewer.model.window.start_s == 65.0


def test_time_parsing_accepts_clinical_forms():
    assert parse_time_text("90.5") == 90.5
    assert parse_time_text("1:30") == 90.0
    assert parse_time_text("1:02:03.5") == 3723.5
    with pytest.raises(ValueError, match="not a time"):
        parse_time_text("soon")
    from datetime import datetime

    start = datetime(2024, 1, 1, 23, 50, 0)
    assert clock_to_elapsed("23:55", start) == 300.0
    assert clock_to_elapsed("00:10:00", start) == 1200.0  # past midnight


def test_channel_dialog_selects_and_orders(qtbot):
    viewer = open_viewer(qtbot, make_source(duration_s=30.0))

    def choose(dialog):
        dialog._check_all(False)
        for row in (4, 2, 9):
            dialog.set_checked(row, True)
        dialog.list.setCurrentRow(4)  # "Fz" sits at position 4 of the list
        dialog._move(-1)
        dialog._move(-1)  # now above F7 (row 2)
        dialog.accept()

    answer_modal(qtbot, choose)
    press(qtbot, viewer, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert viewer.model.channels.order == (4, 2, 9)
    wait_drawn(qtbot, viewer)
    labels = list(viewer.plot.row_labels())
    assert labels == [viewer.row_labels()[r] for r in viewer.model.channels.order]
    assert viewer.last_result.request.rows == viewer.model.channels.order


def test_filter_dialog_and_toggles(qtbot):
    viewer = open_viewer(qtbot, make_source(duration_s=60.0))

    def choose(dialog):
        dialog.highpass_on.setChecked(True)
        dialog.highpass.setValue(1.0)
        dialog.notch_on.setChecked(True)
        dialog._accept()

    answer_modal(qtbot, choose)
    press(qtbot, viewer, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    # DC removal, on by default, stays on with the filters chosen.
    assert viewer.model.display.display_filter == DisplayFilter(highpass_hz=1.0, notch_hz=50.0,
                                                                remove_dc=True)
    assert viewer.last_result.filtered
    assert viewer.status.text("filter") == "HP 1 Hz, notch 50 Hz, DC removed"
    press(qtbot, viewer, Qt.Key.Key_F)
    assert not viewer.last_result.filtered and viewer.status.text("filter") == "Filters off"
    press(qtbot, viewer, Qt.Key.Key_D)
    assert not viewer.model.display.display_filter.remove_dc
    assert not viewer.commands.actions["toggle_dc"].isChecked()
    press(qtbot, viewer, Qt.Key.Key_D)
    assert viewer.model.display.display_filter.remove_dc
    assert viewer.commands.actions["toggle_dc"].isChecked()
    import numpy as np

    press(qtbot, viewer, Qt.Key.Key_F)
    press(qtbot, viewer, Qt.Key.Key_F)  # filters back on (after a round trip)
    assert abs(np.nanmean((viewer.last_result.mins + viewer.last_result.maxs) / 2)) < 5


def test_montages_cycle_save_and_load(qtbot, tmp_path):
    library = MontageLibrary(tmp_path / "montages")
    viewer = open_viewer(qtbot, make_source(duration_s=30.0), montage_library=library)
    press(qtbot, viewer, Qt.Key.Key_M)
    assert viewer.model.display.montage.name == "Average reference"
    press(qtbot, viewer, Qt.Key.Key_M)
    montage = viewer.model.display.montage
    assert "bipolar" in montage.name.lower()
    assert viewer.row_labels()[0] == "Fp1-F7"
    assert viewer.status.text("montage") == montage.name
    qtbot.waitUntil(lambda: viewer.pipeline.pyramid(viewer.last_result.request.montage_key) is not None,
                    timeout=5000)

    def save_custom(dialog):
        dialog.select("Transverse bipolar")
        dialog.remove_row() if dialog.table.currentRow() >= 0 else None
        dialog.table.setCurrentCell(0, 0)
        dialog.remove_row()
        assert dialog.save_as("My transverse") is not None
        dialog._accept()

    answer_modal(qtbot, save_custom)
    press(qtbot, viewer, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert library.names() == ["My transverse"]
    assert viewer.model.display.montage.name == "My transverse"
    assert len(viewer.row_labels()) == len(library.load("My transverse").derivations)
    # The saved montage is offered again by the "next montage" cycle.
    assert "My transverse" in [m.name for m in viewer.commands.montage_choices() if m is not None]


def test_dialog_cancel_changes_nothing(qtbot):
    viewer = open_viewer(qtbot, make_source(duration_s=30.0))
    before = viewer.model.channels.order
    answer_modal(qtbot, lambda dialog: dialog.reject())
    press(qtbot, viewer, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert viewer.model.channels.order == before
    assert isinstance(viewer.commands.last_dialog, QDialog)


def test_a_bipolar_montage_keeps_the_emg_of_a_tms_session_on_screen(qtbot):
    from viewer_support import EEG_NAMES

    viewer = open_viewer(qtbot, make_source(duration_s=30.0, names=EEG_NAMES + ("EMG", "EMG2")))
    while viewer.model.display.montage is None or "bipolar" not in viewer.model.display.montage.name:
        press(qtbot, viewer, Qt.Key.Key_M)
    labels = [viewer.row_labels()[r] for r in viewer.model.channels.visible_rows]
    assert labels[-2:] == ["EMG", "EMG2"] and "Fp1-F7" in labels
    assert viewer.model.channels.row(viewer.row_labels().index("EMG")).channel_type == "emg"
    emg = viewer.last_result.request.rows.index(viewer.row_labels().index("EMG"))
    assert viewer.plot.drawn_values(emg)[1].size > 0


def test_viewer_keys_never_mean_something_else_in_the_trace_editor():
    """A key pressed in the wrong part of the window must not do an unrelated thing there
    (A accepted a trace in the editor but auto-scaled the viewer)."""
    from tracemark.widgets.editor import EDITOR_ACTIONS

    def keys(specs):
        return {QKeySequence(s).toString(): spec.name for spec in specs for s in spec.shortcuts}

    shared = set(keys(VIEWER_ACTIONS)) & set(keys(EDITOR_ACTIONS))
    assert not shared, {k: (keys(VIEWER_ACTIONS)[k], keys(EDITOR_ACTIONS)[k]) for k in shared}
