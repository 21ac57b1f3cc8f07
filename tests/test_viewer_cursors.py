"""Measuring on the traces: crosshair, cursors A and B, the Measurements panel, copying.

The recording holds signals whose every sample is known (a ramp, a sine, a second ramp in
millivolts), so each number the panel shows is checked against arithmetic, not against
the code under test. Everything is driven by keys and mouse clicks, as a person would.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import QApplication
from viewer_support import drag, make_source, open_viewer, plot_point, press, wait_drawn

from tracemark.dsp.montage import Derivation, Montage
from tracemark.paging.source import ArraySource
from tracemark.widgets.viewer.cursors import CURSOR_A, CURSOR_B
from tracemark.widgets.viewer.readout import (
    CursorReadout,
    RowReading,
    decimals_for,
    display_unit,
    format_delta_time,
    format_value,
    measurement_filter,
)

RATE = 256.0
DURATION_S = 40.0
RAMP_UV_PER_S = 10.0          # channel "Fz": 10 µV per second
SINE_UV, SINE_HZ = 40.0, 2.0  # channel "Cz": 40 µV at 2 Hz
EMG_MV_PER_S = 0.5            # channel "EMG", recorded in mV
NAMES = ("Fz", "Cz", "EMG")
ALT_SHIFT = Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier
#: The cursors are placed with Ctrl+1 and Ctrl+2 (the digits mark with labels).
CTRL = Qt.KeyboardModifier.ControlModifier


def fz(t):
    return RAMP_UV_PER_S * np.asarray(t)


def cz(t):
    return SINE_UV * np.sin(2 * np.pi * SINE_HZ * np.asarray(t))


def emg(t):
    return EMG_MV_PER_S * np.asarray(t)


def known_source() -> ArraySource:
    t = np.arange(int(DURATION_S * RATE)) / RATE
    data = np.column_stack([fz(t), cz(t), emg(t)]).astype(np.float32)
    return ArraySource(data, RATE, NAMES, ("uV", "uV", "mV"), name="known",
                       channel_types=("eeg", "eeg", "emg"))


@pytest.fixture
def viewer(qtbot):
    return open_viewer(qtbot, known_source())


def number(text: str) -> float:
    """The first number in a widget's text ("62.50 ms" -> 62.5)."""
    match = re.search(r"[-+]?\d+(?:\.\d+)?", text)
    assert match, f"no number in {text!r}"
    return float(match.group())


def shown_precision(text: str) -> float:
    """Half a unit of the last digit shown: how far a rounded number may be from the truth."""
    match = re.search(r"\.(\d+)", text)
    return 0.5 * 10 ** -(len(match.group(1)) if match else 0) + 1e-9


def assert_shows(text: str, expected: float) -> None:
    assert abs(number(text) - expected) <= shown_precision(text), (text, expected)


def panel(viewer):
    return viewer.measure.panel


def modified_click(widget, pos: QPoint, modifiers) -> None:
    left = Qt.MouseButton.LeftButton
    for kind, buttons in ((QMouseEvent.Type.MouseButtonPress, left),
                          (QMouseEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)):
        QApplication.sendEvent(widget, QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), left,
                                                   buttons, modifiers))


def hover(widget, pos: QPoint) -> None:
    QApplication.sendEvent(widget, QMouseEvent(QMouseEvent.Type.MouseMove, QPointF(pos),
                                               QPointF(widget.mapToGlobal(pos)), Qt.MouseButton.NoButton,
                                               Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))


def key(qtbot, viewer, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    press(qtbot, viewer, k, modifier)
    qtbot.waitUntil(lambda: not viewer.measure.readout_pending(), timeout=5000)


def seconds_per_pixel(viewer) -> float:
    window = viewer.model.window
    return window.span_s / viewer.plot.getViewBox().width()


# -- cursors by key ------------------------------------------------------------------------
def test_cursors_placed_and_moved_by_keys_give_delta_t_and_values(qtbot, viewer):
    assert not panel(viewer).isVisible()
    key(qtbot, viewer, Qt.Key.Key_1, CTRL)            # the pointer is elsewhere: A at mid-page
    time_a = viewer.model.window.start_s + viewer.model.window.span_s / 2
    assert viewer.cursors.positions() == (time_a, None)
    assert panel(viewer).isVisible()            # placing a cursor opens the panel
    key(qtbot, viewer, Qt.Key.Key_2, CTRL)            # B there too, then 16 samples later
    for _ in range(16):
        key(qtbot, viewer, Qt.Key.Key_Right, ALT_SHIFT)
    delta = 16 / RATE
    assert viewer.cursors.positions() == (time_a, time_a + delta)
    shown = panel(viewer)
    assert shown.delta_time.text() == "62.50 ms"
    assert_shows(shown.delta_time.text(), delta * 1e3)
    assert_shows(shown.frequency.text(), 1 / delta)
    assert shown.frequency.text().endswith("Hz")
    assert shown.time_a.text() == viewer.format_time(time_a)
    assert_shows(shown.cell_text("Fz", "A"), float(fz(time_a)))
    assert_shows(shown.cell_text("Fz", "B"), float(fz(time_a + delta)))
    assert_shows(shown.cell_text("Fz", "B − A"), RAMP_UV_PER_S * delta)
    assert_shows(shown.cell_text("Cz", "B − A"), float(cz(time_a + delta) - cz(time_a)))
    assert shown.cell_text("Fz", "Unit") == "µV"
    assert shown.cell_text("EMG", "Unit") == "mV"
    assert_shows(shown.cell_text("EMG", "B − A"), EMG_MV_PER_S * delta)


def test_active_cursor_switches_and_moves_by_pixels_and_stays_on_screen(qtbot, viewer):
    key(qtbot, viewer, Qt.Key.Key_1, CTRL)
    key(qtbot, viewer, Qt.Key.Key_2, CTRL)
    a, b = viewer.cursors.positions()
    assert viewer.cursors.active == CURSOR_B
    key(qtbot, viewer, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert viewer.cursors.active == CURSOR_A
    for _ in range(10):
        key(qtbot, viewer, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    moved = viewer.cursors.positions()[CURSOR_A]
    assert viewer.cursors.positions()[CURSOR_B] == b
    assert moved < a
    assert abs((a - moved) - 10 * seconds_per_pixel(viewer)) <= 10 / RATE   # each step on a sample
    assert round(moved * RATE) == pytest.approx(moved * RATE, abs=1e-6)
    # Walking a cursor off the page brings the page along.
    window = viewer.model.window
    modified_click(viewer.plot.viewport(), plot_point(viewer, window.stop_s - 0.05, 0),
                   Qt.KeyboardModifier.ControlModifier)
    for _ in range(15):
        key(qtbot, viewer, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert window.start_s > 0
    assert window.start_s <= viewer.cursors.positions()[CURSOR_A] <= window.stop_s


# -- cursors by mouse ----------------------------------------------------------------------
def test_ctrl_and_shift_click_place_a_and_b_without_selecting_a_row(qtbot, viewer):
    selected = viewer.model.channels.selected
    viewport = viewer.plot.viewport()
    modified_click(viewport, plot_point(viewer, 2.0, 0), Qt.KeyboardModifier.ControlModifier)
    modified_click(viewport, plot_point(viewer, 6.0, 1), Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: None not in viewer.cursors.positions(), timeout=3000)
    qtbot.waitUntil(lambda: not viewer.measure.readout_pending(), timeout=5000)
    a, b = viewer.cursors.positions()
    pixel = seconds_per_pixel(viewer)
    assert abs(a - 2.0) <= pixel + 1 / RATE and abs(b - 6.0) <= pixel + 1 / RATE
    assert a * RATE == pytest.approx(round(a * RATE)) and b * RATE == pytest.approx(round(b * RATE))
    assert viewer.model.channels.selected == selected
    shown = panel(viewer)
    assert_shows(shown.delta_time.text(), b - a)                      # in s from a second up
    assert shown.delta_time.text().endswith(" s")
    assert_shows(shown.frequency.text(), 1 / (b - a))
    assert_shows(shown.cell_text("Fz", "B − A"), RAMP_UV_PER_S * (b - a))


def test_the_channel_selected_in_the_traces_is_selected_in_the_panel(qtbot, viewer):
    from viewer_support import click

    key(qtbot, viewer, Qt.Key.Key_1, CTRL)
    click(viewer.plot.viewport(), plot_point(viewer, 3.0, 1))
    table = panel(viewer).table
    assert [table.item(index.row(), 0).text() for index in table.selectionModel().selectedRows()] == ["Cz"]


def test_dragging_a_cursor_moves_it_and_not_the_page(qtbot, viewer):
    key(qtbot, viewer, Qt.Key.Key_1, CTRL)
    a = viewer.cursors.positions()[CURSOR_A]
    start_s = viewer.model.window.start_s
    viewport = viewer.plot.viewport()
    drag(viewport, plot_point(viewer, a, 1), plot_point(viewer, a + 2.0, 1))
    moved = viewer.cursors.positions()[CURSOR_A]
    assert abs(moved - (a + 2.0)) <= 2 * seconds_per_pixel(viewer) + 1 / RATE
    assert viewer.model.window.start_s == start_s


# -- the crosshair -------------------------------------------------------------------------
def test_crosshair_shows_time_and_the_sample_under_the_pointer(qtbot, viewer):
    layer = viewer.measure.layer
    viewport = viewer.plot.viewport()
    hover(viewport, plot_point(viewer, 3.3, 1))
    assert layer.crosshair_text() == ""                 # off until asked for, as in EDFbrowser
    key(qtbot, viewer, Qt.Key.Key_X)
    assert viewer.actions["toggle_crosshair"].isChecked()
    for time_s, position, name, signal, unit in ((3.3, 1, "Cz", cz, "µV"), (7.1, 0, "Fz", fz, "µV"),
                                                 (5.55, 2, "EMG", emg, "mV")):
        hover(viewport, plot_point(viewer, time_s, position))
        qtbot.waitUntil(lambda name=name: name in layer.crosshair_text(), timeout=3000)
        row_line, time_line = layer.crosshair_text().split("\n")
        # The pointer lands on a pixel; its value is that of the sample nearest the pixel's time.
        pointer_s = viewer.measure._pointer[0]
        sample_s = round(pointer_s * RATE) / RATE
        assert abs(pointer_s - time_s) <= seconds_per_pixel(viewer)
        assert row_line.startswith(name) and row_line.endswith(unit)
        assert_shows(row_line.split()[1], float(signal(sample_s)))
        assert time_line == viewer.format_time(sample_s)
    # The pointer rests while the next page comes under it: the readout follows the page.
    hover(viewport, plot_point(viewer, 3.0, 0))
    qtbot.waitUntil(lambda: layer.crosshair_text().startswith("Fz"), timeout=3000)
    key(qtbot, viewer, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: viewer.measure._pointer[0] > viewer.model.window.start_s, timeout=3000)
    pointer_s = viewer.measure._pointer[0]
    assert abs(pointer_s - (viewer.model.window.start_s + 3.0)) <= seconds_per_pixel(viewer)
    qtbot.waitUntil(lambda: layer.crosshair_text().endswith(viewer.format_time(round(pointer_s * RATE) / RATE)),
                    timeout=3000)
    assert_shows(layer.crosshair_text().split()[1], float(fz(round(pointer_s * RATE) / RATE)))
    key(qtbot, viewer, Qt.Key.Key_X)
    assert layer.crosshair_text() == ""


# -- copying, montage, clearing ------------------------------------------------------------
def test_copy_puts_tab_separated_measurements_on_the_clipboard(qtbot, viewer):
    key(qtbot, viewer, Qt.Key.Key_1, CTRL)
    key(qtbot, viewer, Qt.Key.Key_2, CTRL)
    for _ in range(32):
        key(qtbot, viewer, Qt.Key.Key_Right, ALT_SHIFT)
    a, b = viewer.cursors.positions()
    QApplication.clipboard().clear()
    key(qtbot, viewer, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    lines = [line.split("\t") for line in QApplication.clipboard().text().splitlines()]
    head = {cells[0]: cells[1] for cells in lines[:4]}
    assert head["Cursor A"] == viewer.format_time(a) and head["Cursor B"] == viewer.format_time(b)
    assert float(head["Δt (s)"]) == pytest.approx(32 / RATE, abs=1e-6)
    assert float(head["1/Δt (Hz)"]) == pytest.approx(RATE / 32, rel=1e-5)
    assert lines[4] == ["Channel", "Unit", "A", "B", "B − A"]
    table = {cells[0]: cells[1:] for cells in lines[5:]}
    assert set(table) == set(NAMES)
    unit, at_a, at_b, delta = table["Cz"]
    assert unit == "µV"
    assert float(at_a) == pytest.approx(float(cz(a)), abs=1e-3)
    assert float(at_b) == pytest.approx(float(cz(b)), abs=1e-3)
    assert float(delta) == pytest.approx(float(cz(b) - cz(a)), abs=1e-3)
    assert table["EMG"][0] == "mV"


def test_montage_rows_read_their_derivation_in_their_inputs_unit(qtbot, viewer):
    montage = Montage("Bipolar test", (Derivation("Fz-Cz", "Fz", "Cz"), Derivation("Cz", "Cz"),
                                       Derivation("EMG", "EMG")))
    viewer.model.display.set_montage(montage)
    wait_drawn(qtbot, viewer)
    key(qtbot, viewer, Qt.Key.Key_1, CTRL)
    key(qtbot, viewer, Qt.Key.Key_2, CTRL)
    for _ in range(20):
        key(qtbot, viewer, Qt.Key.Key_Right, ALT_SHIFT)
    a, b = viewer.cursors.positions()
    shown = panel(viewer)
    assert [shown.table.item(r, 0).text() for r in range(shown.table.rowCount())] == ["Fz-Cz", "Cz", "EMG"]
    assert shown.cell_text("Fz-Cz", "Unit") == "µV"
    assert_shows(shown.cell_text("Fz-Cz", "A"), float(fz(a) - cz(a)))
    assert_shows(shown.cell_text("Fz-Cz", "B − A"), float((fz(b) - cz(b)) - (fz(a) - cz(a))))
    key(qtbot, viewer, Qt.Key.Key_X)
    hover(viewer.plot.viewport(), plot_point(viewer, 4.0, 0))
    qtbot.waitUntil(lambda: "Fz-Cz" in viewer.measure.layer.crosshair_text(), timeout=3000)
    sample_s = round(viewer.measure._pointer[0] * RATE) / RATE
    assert_shows(viewer.measure.layer.crosshair_text().split()[1], float(fz(sample_s) - cz(sample_s)))


def test_values_through_a_display_filter_are_read_on_the_worker(qtbot, viewer):
    from tracemark.dsp.filters import DisplayFilter

    # A zero-phase 70 Hz low-pass leaves a 10 µV/s ramp and a 2 Hz sine as they are.
    viewer.model.display.set_display_filter(DisplayFilter(lowpass_hz=70.0, remove_dc=True))
    wait_drawn(qtbot, viewer, timeout=30000)   # the first filtered page imports scipy.signal
    tasks = []
    viewer.pager.task_done.connect(lambda name, _value, _error: tasks.append(name))
    key(qtbot, viewer, Qt.Key.Key_1, CTRL)
    key(qtbot, viewer, Qt.Key.Key_2, CTRL)
    for _ in range(16):
        key(qtbot, viewer, Qt.Key.Key_Right, ALT_SHIFT)
    a, b = viewer.cursors.positions()
    assert "cursor readout" in tasks
    shown = panel(viewer)
    assert abs(number(shown.cell_text("Fz", "B − A")) - RAMP_UV_PER_S * (b - a)) < 0.01
    assert abs(number(shown.cell_text("Cz", "A")) - float(cz(a))) < 0.05
    assert abs(number(shown.cell_text("Cz", "B")) - float(cz(b))) < 0.05


def test_escape_clears_and_a_new_recording_starts_without_cursors(qtbot, viewer):
    key(qtbot, viewer, Qt.Key.Key_1, CTRL)
    key(qtbot, viewer, Qt.Key.Key_2, CTRL)
    key(qtbot, viewer, Qt.Key.Key_Escape)
    assert viewer.cursors.positions() == (None, None)
    assert panel(viewer).hint.isVisibleTo(panel(viewer))
    assert panel(viewer).delta_time.text() == "–"
    assert not any(line.isVisible() for line in viewer.measure.layer.lines.values())
    key(qtbot, viewer, Qt.Key.Key_1, CTRL)
    viewer.set_source(make_source(duration_s=20.0))
    wait_drawn(qtbot, viewer)
    qtbot.waitUntil(lambda: not viewer.measure.readout_pending(), timeout=5000)
    assert viewer.cursors.positions() == (None, None)
    assert viewer.cursors.span() is None
    assert panel(viewer).time_a.text() == "–"
    assert not any(line.isVisible() for line in viewer.measure.layer.lines.values())


def test_panel_toggles_by_key_and_stays_shut_when_closed(qtbot, viewer):
    key(qtbot, viewer, Qt.Key.Key_1, CTRL)
    assert panel(viewer).isVisible()
    chord = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    key(qtbot, viewer, Qt.Key.Key_M, chord)
    assert not panel(viewer).isVisible()
    key(qtbot, viewer, Qt.Key.Key_2, CTRL)                 # closed on purpose: placing keeps it closed
    assert not panel(viewer).isVisible()
    key(qtbot, viewer, Qt.Key.Key_M, chord)
    assert panel(viewer).isVisible() and viewer.actions["toggle_measurements"].isChecked()


def test_panel_fits_beside_the_traces_on_a_small_screen(qtbot):
    viewer = open_viewer(qtbot, known_source(), width=1366 // 2 + 140, height=600)
    key(qtbot, viewer, Qt.Key.Key_1, CTRL)
    key(qtbot, viewer, Qt.Key.Key_2, CTRL)
    table = panel(viewer).table
    assert table.horizontalScrollBar().maximum() == 0           # every column readable
    assert viewer.plot.width() >= 2 * panel(viewer).width()     # the traces keep most of the room


# -- the pieces ----------------------------------------------------------------------------
def test_readout_formatting_and_measurement_filter():
    from tracemark.dsp.filters import DisplayFilter

    assert measurement_filter(None) is None
    assert measurement_filter(DisplayFilter(remove_dc=True)) is None
    assert measurement_filter(DisplayFilter(highpass_hz=1.0, remove_dc=True)) == DisplayFilter(highpass_hz=1.0)
    assert display_unit("uV") == "µV" and display_unit("mV") == "mV" and display_unit("%") == "%"
    assert format_value(1234.56) == "1235" and format_value(-0.012345) == "-0.01235"
    assert format_value(math.nan) == "–" and format_value(2.5, 2) == "2.50"
    assert decimals_for([3.0, -57.3, math.nan]) == 2
    assert format_delta_time(0.0625) == "62.50 ms" and format_delta_time(-2.5) == "-2.5000 s"
    readout = CursorReadout(1.0, 1.5, (RowReading("Fz", "µV", 10.0, 15.0),))
    assert readout.delta_s == 0.5 and readout.frequency_hz == 2.0
    assert readout.tab_separated(str).splitlines()[-1] == "Fz\tµV\t10\t15\t5"
    assert CursorReadout(2.0, None).frequency_hz is None


def test_cursor_model_clamps_activates_and_moves():
    from tracemark.widgets.viewer.cursors import MeasurementCursors

    cursors = MeasurementCursors()
    cursors.set_duration(10.0)
    seen = []
    cursors.changed.connect(lambda: seen.append(cursors.positions()))
    cursors.place(CURSOR_B, 12.0)
    assert cursors.positions() == (None, 10.0) and cursors.active == CURSOR_B
    cursors.place(CURSOR_A, -1.0)
    assert cursors.positions() == (0.0, 10.0) and cursors.active == CURSOR_A
    cursors.move(CURSOR_A, 2.5)
    assert cursors.span() == (2.5, 10.0)
    cursors.clear()
    cursors.move(CURSOR_A, 1.0)                      # an unplaced cursor stays unplaced
    assert cursors.positions() == (None, None) and len(seen) == 4
