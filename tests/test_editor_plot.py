"""The editor's trace plot driven with the mouse: dragging the onset marker emits one edit
on release with the shift where it was dropped, clicking the curve sets the peak nearest
the click, and what is drawn matches the trace (x in ms after the event)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from editor_support import PRE, RATE, make_app  # noqa: F401 (fixture)
from PyQt6.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import QApplication

from tracemark.analysis.peaks import estimate_peaks


def settle(qtbot, plot) -> None:
    """Paint the plot as the screen would before a person points at it: pyqtgraph moves its
    items to a new layout only when it paints."""
    plot.plot_widget.viewport().repaint()
    qtbot.wait(10)


def _to_widget(plot, x_ms: float, y: float) -> QPoint:
    """Where (x ms, y) is on the screen once the plot has been laid out and painted."""
    for _ in range(2):
        QApplication.processEvents()
        plot.plot_widget.viewport().repaint()
    scene = plot.plot_item.getViewBox().mapViewToScene(QPointF(x_ms, y))
    point = plot.plot_widget.mapFromScene(scene)
    return QPoint(point.x(), point.y())


def _send(viewport, kind, pos: QPoint, buttons, modifiers=Qt.KeyboardModifier.NoModifier):
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, QPointF(pos), QPointF(viewport.mapToGlobal(pos)), button, buttons,
                        modifiers)
    QApplication.sendEvent(viewport, event)


def drag(qtbot, plot, start: QPoint, stop: QPoint, steps: int = 8, moves: list | None = None) -> None:
    """Press at ``start``, move in ``steps`` to ``stop``, release: a person's drag (paced
    like a hand: pyqtgraph drops moves that come faster than its mouse rate limit)."""
    viewport = plot.plot_widget.viewport()
    left = Qt.MouseButton.LeftButton
    pause_ms = int(1000 / max(pg.getConfigOption("mouseRateLimit"), 1)) + 5
    settle(qtbot, plot)
    # The pointer first comes to rest on the line: pyqtgraph hands a drag to the item that
    # accepted the last hover.
    qtbot.wait(pause_ms)
    _send(viewport, QEvent.Type.MouseMove, start, Qt.MouseButton.NoButton)
    qtbot.wait(pause_ms)
    _send(viewport, QEvent.Type.MouseButtonPress, start, left)
    for k in range(1, steps + 1):
        qtbot.wait(pause_ms)
        pos = start + (stop - start) * (k / steps)
        _send(viewport, QEvent.Type.MouseMove, pos, left)
        if moves is not None:
            moves.append(plot.onset_line.value())
    _send(viewport, QEvent.Type.MouseButtonRelease, stop, Qt.MouseButton.NoButton)


def click(qtbot, plot, x_ms: float, y: float, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    settle(qtbot, plot)
    qtbot.mouseClick(plot.plot_widget.viewport(), Qt.MouseButton.LeftButton, modifier,
                     _to_widget(plot, x_ms, y))


def test_curve_is_the_trace_against_ms_after_the_event(qtbot, make_app):
    app = make_app()
    plot = app.editor.plot
    x, y = plot.curve.getData()
    np.testing.assert_allclose(x, (np.arange(len(app.data[0])) - PRE) * 1000.0 / RATE)
    np.testing.assert_array_equal(y, app.data[0][:, 0])
    assert plot.onset_line.value() == 0.0
    # The other channel is drawn behind it.
    _, others = plot.others_curve.getData()
    np.testing.assert_array_equal(others[np.isfinite(others)], app.data[0][:, 1])


def test_dragging_the_onset_emits_one_edit_on_release(qtbot, make_app):
    app = make_app()
    plot = app.editor.plot
    y_mid = float(np.mean(plot.plot_item.getViewBox().viewRange()[1]))
    start, stop = _to_widget(plot, 0.0, y_mid), _to_widget(plot, 5.0, y_mid)
    moves: list[float] = []
    with qtbot.waitSignal(app.editor.edit_requested) as signal:
        drag(qtbot, plot, start, stop, moves=moves)
    assert len(moves) == 8 and moves[-1] > 3.0          # the line followed the mouse
    assert len(app.edits) == 1                          # ... but only the release is an edit
    index, values = signal.args
    dropped_ms = plot.plot_item.getViewBox().mapSceneToView(
        plot.plot_widget.mapToScene(stop)).x()
    assert index == 0 and values == {"onset_shift": round(dropped_ms * RATE / 1000.0)}
    assert 9 <= values["onset_shift"] <= 11             # 5 ms at 2 kHz, within a pixel
    # Confirmed by the app: the marker and the form show the new shift.
    assert plot.onset_line.value() == pytest.approx(values["onset_shift"] * 1000.0 / RATE)
    assert app.editor.form.onset_spin.value() == values["onset_shift"]


def test_a_refused_drag_puts_the_marker_back(qtbot, make_app):
    app = make_app()
    app.refuse = True
    plot = app.editor.plot
    y_mid = float(np.mean(plot.plot_item.getViewBox().viewRange()[1]))
    drag(qtbot, plot, _to_widget(plot, 0.0, y_mid), _to_widget(plot, -8.0, y_mid))
    assert len(app.edits) == 1 and app.edits[0][1]["onset_shift"] < 0
    assert plot.onset_line.value() == 0.0
    assert app.editor.form.onset_spin.value() == 0


def test_dropping_where_it_started_is_no_edit(qtbot, make_app):
    app = make_app()
    plot = app.editor.plot
    y_mid = float(np.mean(plot.plot_item.getViewBox().viewRange()[1]))
    start = _to_widget(plot, 0.0, y_mid)
    drag(qtbot, plot, start, start + QPoint(30, 0), steps=4)
    app.edits.clear()
    shift = app.attrs[0]["onset_shift"]
    here = _to_widget(plot, shift * 1000.0 / RATE, y_mid)
    drag(qtbot, plot, here, here + QPoint(0, 40), steps=4)     # vertical only: same shift
    assert app.edits == []


def test_clicking_a_trough_and_a_crest_sets_the_negative_and_positive_peak(qtbot, make_app):
    app = make_app()
    plot = app.editor.plot
    y = app.data[0][:, 0]
    trough_row = PRE + 35 + int(np.argmin(y[PRE + 35:PRE + 52]))
    crest_row = PRE + 50 + int(np.argmax(y[PRE + 50:PRE + 64]))
    # Click slightly off the extreme (half a ms later, a few uV inside): it snaps.
    with qtbot.waitSignal(app.editor.edit_requested) as signal:
        click(qtbot, plot, (trough_row - PRE) * 0.5 + 0.5, float(y[trough_row]) + 5)
    assert signal.args[1] == {"neg_peak_magnitude_uv": pytest.approx(float(y[trough_row])),
                              "neg_peak_latency_ms": pytest.approx((trough_row - PRE) * 0.5),
                              "channel_of_interest": "EMG"}
    with qtbot.waitSignal(app.editor.edit_requested) as signal:
        click(qtbot, plot, (crest_row - PRE) * 0.5 - 0.5, float(y[crest_row]) - 5)
    assert signal.args[1] == {"pos_peak_magnitude_uv": pytest.approx(float(y[crest_row])),
                              "pos_peak_latency_ms": pytest.approx((crest_row - PRE) * 0.5)}
    # Both confirmed: filled markers at the peaks, no hollow estimate any more.
    spots = plot.stored_markers.data
    assert sorted(zip(spots["x"], spots["y"])) == sorted(
        [((trough_row - PRE) * 0.5, pytest.approx(float(y[trough_row]))),
         ((crest_row - PRE) * 0.5, pytest.approx(float(y[crest_row])))])
    assert len(plot.estimate_markers.data) == 0


def test_shift_forces_the_negative_peak(qtbot, make_app):
    app = make_app()
    plot = app.editor.plot
    y = app.data[0][:, 0]
    crest_row = PRE + 50 + int(np.argmax(y[PRE + 50:PRE + 64]))
    with qtbot.waitSignal(app.editor.edit_requested) as signal:
        click(qtbot, plot, (crest_row - PRE) * 0.5, float(y[crest_row]), Qt.KeyboardModifier.ShiftModifier)
    assert set(signal.args[1]) >= {"neg_peak_magnitude_uv", "neg_peak_latency_ms"}


def test_clicks_off_the_curve_or_before_the_onset_set_nothing(qtbot, make_app):
    app = make_app()
    plot = app.editor.plot
    low, high = plot.plot_item.getViewBox().viewRange()[1]
    click(qtbot, plot, 80.0, high - (high - low) * 0.05)   # empty area high above the curve
    assert app.edits == [] and "on the curve" in plot.hint.text()
    y = app.data[0][:, 0]
    click(qtbot, plot, -20.0, float(y[PRE - 40]))           # on the curve, in the baseline
    assert app.edits == [] and "after the onset" in plot.hint.text()


def test_hollow_markers_preview_the_estimate_in_the_window(qtbot, make_app):
    app = make_app()
    editor, plot = app.editor, app.editor.plot
    editor.set_peak_window_ms(15.0, 40.0)
    expected = estimate_peaks(app.data[0][:, 0], RATE, PRE, 0, (15.0, 40.0))
    assert editor.current_estimate == expected
    spots = plot.estimate_markers.data
    assert sorted(spots["y"]) == pytest.approx(sorted([expected.neg_magnitude_uv, expected.pos_magnitude_uv]))
    left, right = plot.window_region.getRegion()
    assert (left, right) == pytest.approx((15.0, 40.0))


def test_channel_chooser_changes_the_measured_channel(qtbot, make_app):
    app = make_app()
    plot = app.editor.plot
    assert plot.channel_combo.isVisible()
    assert plot.channel_combo.itemText(0) == "Channel of interest (EMG)"
    plot.channel_combo.setCurrentIndex(2)
    plot.channel_combo.activated.emit(2)                     # as a person choosing "EMG2"
    _, y = plot.curve.getData()
    np.testing.assert_array_equal(y, app.data[0][:, 1])
    app.editor.estimate_peaks()
    values = app.edits[-1][1]
    expected = estimate_peaks(app.data[0][:, 1], RATE, PRE, 0, app.editor.peak_window_ms)
    assert values == {**expected.as_attrs(), "channel_of_interest": "EMG2"}
    # The choice sticks when the next trace is shown.
    app.show(1)
    np.testing.assert_array_equal(plot.curve.getData()[1], app.data[1][:, 1])


def test_one_channel_hides_the_chooser(qtbot, make_app):
    app = make_app(channels=1)
    assert not app.editor.plot.channel_combo.isVisible()
    assert app.editor.plot.others_curve.getData()[0] is None or len(app.editor.plot.others_curve.getData()[0]) == 0


def test_onset_shading_follows_the_confirmed_shift(qtbot, make_app):
    app = make_app()
    app.editor.shift_onset(20)                               # 10 ms later
    plot = app.editor.plot
    assert plot.onset_line.value() == pytest.approx(10.0)
    assert plot.baseline_region.getRegion()[1] == pytest.approx(10.0)
    assert plot.window_region.getRegion() == pytest.approx((25.0, 60.0))
    assert "+20 samples" in plot.onset_label.textItem.toPlainText()
