"""Keyboard and mouse navigation of the viewer, checked on the model and on what is drawn."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from viewer_support import drag, make_source, open_viewer, plot_point, press, wait_drawn, wheel

K = Qt.Key


@pytest.fixture
def viewer(qtbot):
    return open_viewer(qtbot, make_source(duration_s=120.0, rate=256.0))


def drawn_time_range(viewer):
    x, _ = viewer.plot.drawn_values(0)
    return float(x[0]), float(x[-1])


def test_opens_at_the_start_with_a_ten_second_page(viewer):
    window = viewer.model.window
    assert (window.start_s, window.span_s) == (0.0, 10.0)
    first, last = drawn_time_range(viewer)
    assert first <= 0.01 and 9.9 <= last <= 10.1
    assert viewer.plot.x_range() == (0.0, 10.0)


CTRL = Qt.KeyboardModifier.ControlModifier


def test_page_keys_move_by_a_page_and_ctrl_arrows_by_a_quarter(qtbot, viewer):
    window = viewer.model.window
    press(qtbot, viewer, K.Key_PageDown)
    assert window.start_s == pytest.approx(10.0)
    first, last = drawn_time_range(viewer)
    assert first == pytest.approx(10.0, abs=0.1) and last == pytest.approx(20.0, abs=0.1)
    press(qtbot, viewer, K.Key_Right, CTRL)
    assert window.start_s == pytest.approx(12.5)
    press(qtbot, viewer, K.Key_Left, CTRL)
    press(qtbot, viewer, K.Key_PageUp)
    assert window.start_s == pytest.approx(0.0)
    press(qtbot, viewer, K.Key_End, CTRL)
    assert window.stop_s == pytest.approx(120.0)
    assert drawn_time_range(viewer)[1] == pytest.approx(120.0, abs=0.1)
    press(qtbot, viewer, K.Key_PageDown)  # already at the end: stays
    assert window.stop_s == pytest.approx(120.0)
    press(qtbot, viewer, K.Key_Home, CTRL)
    assert window.start_s == 0.0


def test_span_keys_zoom_about_the_centre_and_whole_recording(qtbot, viewer):
    window = viewer.model.window
    press(qtbot, viewer, K.Key_PageDown)
    centre = window.start_s + window.span_s / 2
    press(qtbot, viewer, K.Key_BracketRight)
    assert window.span_s == 15.0
    assert window.start_s + window.span_s / 2 == pytest.approx(centre)
    press(qtbot, viewer, K.Key_BracketLeft)
    press(qtbot, viewer, K.Key_BracketLeft)
    assert window.span_s == 5.0
    press(qtbot, viewer, K.Key_W)
    assert (window.start_s, window.span_s) == (0.0, 120.0)
    assert viewer.last_result.request.factor > 1
    assert "Min/max" in viewer.status.text("decimation")


def test_up_down_page_through_channels(qtbot):
    viewer = open_viewer(qtbot, make_source(duration_s=30.0))
    channels = viewer.model.channels
    channels.set_per_page(8)
    wait_drawn(qtbot, viewer)
    assert viewer.plot.row_labels() == viewer.row_labels()[:8]
    press(qtbot, viewer, K.Key_Down)
    assert channels.first == 8
    assert viewer.last_result.request.rows == tuple(range(8, 16))
    press(qtbot, viewer, K.Key_Down)
    assert channels.first == 11  # the last page is full, not a single channel
    press(qtbot, viewer, K.Key_Up)
    assert channels.first == 3
    assert viewer.plot.row_labels() == viewer.row_labels()[3:11]


def test_amplitude_keys_step_through_clinical_sensitivities(qtbot, viewer):
    channels = viewer.model.channels
    viewer.plot.set_clipping(None)   # to compare whole trace heights
    channels.set_sensitivity(7.0, "eeg")
    wait_drawn(qtbot, viewer)
    y_before = np.ptp(viewer.plot.drawn_rows()[0][1])
    press(qtbot, viewer, K.Key_Plus)
    assert channels.sensitivity_uv_mm == 5.0
    y_after = np.ptp(viewer.plot.drawn_rows()[0][1])
    assert y_after == pytest.approx(y_before * 7 / 5, rel=1e-4)
    press(qtbot, viewer, K.Key_Minus)
    press(qtbot, viewer, K.Key_Minus)
    assert channels.sensitivity_uv_mm == 10.0
    assert viewer.status.text("sensitivity") == "10 µV/mm"


def test_per_channel_amplitude_and_autoscale(qtbot, viewer):
    channels = viewer.model.channels
    press(qtbot, viewer, K.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert channels.selected == 1
    press(qtbot, viewer, K.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert channels.gain(1) == pytest.approx(1.5) and channels.gain(0) == 1.0
    press(qtbot, viewer, K.Key_0)
    assert channels.gains == {}
    channels.set_sensitivity(1000.0)   # tiny traces, then fit them to the page
    press(qtbot, viewer, K.Key_S)
    # Auto-scale picks the clinical step that makes a typical channel fill about a row.
    row_px = viewer.plot.row_pixels()
    x, y = viewer.plot.drawn_values(0)
    spread_px = (np.percentile(y, 98) - np.percentile(y, 2)) / channels.sensitivity_uv_mm * viewer.plot.pixels_per_mm
    assert 0.3 * row_px < spread_px <= row_px
    press(qtbot, viewer, K.Key_S, Qt.KeyboardModifier.ShiftModifier)
    assert len(channels.gains) >= 1


def test_mouse_drag_pans_and_wheel_scrolls_and_zooms(qtbot, viewer):
    window = viewer.model.window
    press(qtbot, viewer, K.Key_PageDown)
    viewport = viewer.plot.viewport()
    start = plot_point(viewer, 16.0, 3)
    end = plot_point(viewer, 12.0, 3)
    drag(viewport, start, end)
    wait_drawn(qtbot, viewer)
    assert window.start_s == pytest.approx(14.0, abs=0.05)  # grabbed paper moves with the mouse
    assert drawn_time_range(viewer)[0] == pytest.approx(14.0, abs=0.1)
    before = window.start_s
    wheel(viewport, plot_point(viewer, 18.0, 3), -2)  # towards the user: later in time
    wait_drawn(qtbot, viewer)
    assert window.start_s == pytest.approx(before + 2.0)  # a tenth of a page per notch
    wheel(viewport, plot_point(viewer, 18.0, 3), 1, Qt.KeyboardModifier.ControlModifier)
    wait_drawn(qtbot, viewer)
    assert window.span_s == pytest.approx(8.0)
    before = viewer.model.channels.sensitivity_uv_mm
    wheel(viewport, plot_point(viewer, 18.0, 3), 1, Qt.KeyboardModifier.ShiftModifier)
    from tracemark.widgets.viewer.scales import step_sensitivity
    assert viewer.model.channels.sensitivity_uv_mm == step_sensitivity(before, 1)


def test_clicking_a_trace_selects_its_channel(qtbot, viewer):
    from viewer_support import click

    click(viewer.plot.viewport(), plot_point(viewer, 3.0, 4))
    assert viewer.model.channels.selected == 4
    assert viewer.plot.selected_position == 4


def test_overview_click_jumps_there(qtbot, viewer):
    qtbot.waitUntil(lambda: viewer.overview.has_summary, timeout=5000)
    box = viewer.overview._box
    from PyQt6.QtCore import QPointF
    from viewer_support import click

    point = viewer.overview.plot.mapFromScene(box.mapViewToScene(QPointF(90.0, 0.5)))
    click(viewer.overview.plot.viewport(), point)
    wait_drawn(qtbot, viewer)
    window = viewer.model.window
    assert window.start_s + window.span_s / 2 == pytest.approx(90.0, abs=0.5)
    assert viewer.overview.window_region()[0] == pytest.approx(window.start_s, abs=0.5)


def test_time_axis_switches_to_clock_time(qtbot, viewer):
    axis = viewer.plot.plotItem.getAxis("bottom")
    assert axis.tickStrings([65.0], 1, 5) == ["1:05"]
    press(qtbot, viewer, K.Key_T)
    assert viewer.model.window.time_mode == "clock"
    assert axis.tickStrings([65.0], 1, 5) == ["09:31:05"]
    assert viewer.status.text("position").startswith("09:30:00.000")
