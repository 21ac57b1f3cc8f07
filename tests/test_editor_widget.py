"""The trace editor as a whole, reviewed from the keyboard: one key per decision, onset
shifts by sample and by millisecond, navigation in the table's order, peaks estimated,
the comment reached and left by keys, progress counted, and looking writes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from editor_support import PRE, RATE, make_app, press  # noqa: F401 (make_app is a fixture)
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import QWidget

from tracemark.analysis.peaks import estimate_peaks
from tracemark.widgets.editor import EDITOR_ACTIONS, REJECTED, TraceView


def test_looking_at_every_trace_writes_nothing(qtbot, make_app):
    app = make_app(n=10)
    for _ in range(12):
        press(qtbot, app, Qt.Key.Key_N)
    press(qtbot, app, Qt.Key.Key_Home)
    press(qtbot, app, Qt.Key.Key_End)
    app.editor.plot.channel_combo.activated.emit(2)
    assert app.edits == []
    assert app.shown[:11] == list(range(10)) + [0] and app.shown[-1] == 9


def test_reviewing_twenty_traces_by_keyboard(qtbot, make_app):
    app = make_app(n=20)
    editor = app.editor
    keys = 0
    decisions = {3: "R", 7: "R", 12: "R"}
    shifts = {5: [Qt.Key.Key_Right, Qt.Key.Key_Right], 9: [Qt.Key.Key_Left]}
    while editor.current_index is not None and app.attrs[editor.current_index].get("reviewed") is None:
        index = editor.current_index
        for key in shifts.get(index, []):
            press(qtbot, app, key)
        decision = decisions.get(index, "A")
        press(qtbot, app, Qt.Key.Key_R if decision == "R" else Qt.Key.Key_A)
        keys += 1
    assert keys == 20                                                 # one key per decision
    for i, attrs in enumerate(app.attrs):
        assert attrs["reviewed"] is True
        assert attrs["reject"] is (i in decisions)
    assert app.attrs[5]["onset_shift"] == 2 and app.attrs[9]["onset_shift"] == -1
    assert editor.counts() == {"accepted": 17, "rejected": 3, "unreviewed": 0}
    assert "17 accepted" in editor.progress.counts_label.text()
    assert "3 rejected" in editor.progress.counts_label.text()
    assert editor.progress.bar.value() == 20 == editor.progress.bar.maximum()


def test_decision_moves_on_to_the_next_unreviewed(qtbot, make_app):
    app = make_app(n=6)
    app.attrs[1].update(reviewed=True)
    app.attrs[2].update(reviewed=True, reject=True)
    app.editor.set_traces([app.row(i) for i in range(6)])
    press(qtbot, app, Qt.Key.Key_A)
    assert app.editor.current_index == 3
    assert "Trace 4 of 6" in app.editor.progress.position_label.text()


def test_onset_keys_by_sample_and_millisecond(qtbot, make_app):
    app = make_app()
    press(qtbot, app, Qt.Key.Key_Right)
    press(qtbot, app, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    press(qtbot, app, Qt.Key.Key_Left)
    press(qtbot, app, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    one_ms = round(RATE / 1000.0)
    assert [v["onset_shift"] for _i, v in app.edits] == [1, 1 + one_ms, one_ms, 0]


def test_onset_stays_inside_the_trace(qtbot, make_app):
    app = make_app()
    editor = app.editor
    editor.shift_onset(-10_000)
    assert app.edits[-1][1] == {"onset_shift": -PRE}
    app.edits.clear()
    editor.shift_onset(-1)                                            # already at the start
    assert app.edits == []
    editor.shift_onset_ms(0.1)                                        # < 1 sample: still one
    assert app.edits == [(0, {"onset_shift": -PRE + 1})]


def test_navigation_follows_the_filtered_table(qtbot, make_app):
    app = make_app(n=10)
    for i in (2, 5, 8):
        app.attrs[i].update(reviewed=True, reject=True)
    app.editor.set_traces([app.row(i) for i in range(10)])
    app.editor.table.set_state_filter(REJECTED)
    press(qtbot, app, Qt.Key.Key_N)                 # from 0 (hidden by the filter) to 2
    assert app.editor.current_index == 2
    press(qtbot, app, Qt.Key.Key_N)
    press(qtbot, app, Qt.Key.Key_N)
    assert app.editor.current_index == 8
    press(qtbot, app, Qt.Key.Key_N)                 # nothing after the last
    assert app.editor.current_index == 8
    press(qtbot, app, Qt.Key.Key_P)
    assert app.editor.current_index == 5
    press(qtbot, app, Qt.Key.Key_U)                 # next unreviewed ignores the filter
    assert app.editor.current_index == 6
    with pytest.raises(ValueError, match="unknown navigation"):
        app.editor.resolve_navigation("sideways")


def test_estimate_key_stores_the_window_extremes(qtbot, make_app):
    app = make_app()
    app.editor.set_peak_window_ms(15.0, 35.0)
    press(qtbot, app, Qt.Key.Key_E)
    expected = estimate_peaks(app.data[0][:, 0], RATE, PRE, 0, (15.0, 35.0))
    assert app.edits == [(0, {**expected.as_attrs(), "channel_of_interest": "EMG"})]
    # Independent check: the extremes of the samples 15..35 ms after the onset.
    window = app.data[0][PRE + 30:PRE + 71, 0]
    assert expected.neg_magnitude_uv == pytest.approx(float(window.min()))
    assert expected.pos_latency_ms == pytest.approx(15.0 + int(np.argmax(window)) * 1000.0 / RATE)
    # Once stored, a second estimate with the same channel does not repeat it.
    press(qtbot, app, Qt.Key.Key_E)
    assert app.edits[-1][1] == expected.as_attrs()
    press(qtbot, app, Qt.Key.Key_E, Qt.KeyboardModifier.ShiftModifier)   # clear
    assert app.edits[-1][1]["neg_peak_magnitude_uv"] is None


def test_comment_by_keyboard_then_back_to_deciding(qtbot, make_app):
    app = make_app()
    editor = app.editor
    press(qtbot, app, Qt.Key.Key_C)
    qtbot.waitUntil(editor.form.comment_edit.hasFocus)
    qtbot.keyClicks(editor.form.comment_edit, "a rare one")             # 'a' and 'r' type text
    assert app.edits == []
    qtbot.keyClick(editor.form.comment_edit, Qt.Key.Key_Return)
    assert app.edits == [(0, {"comment": "a rare one"})]
    qtbot.waitUntil(editor.plot.plot_widget.hasFocus)
    qtbot.keyClick(editor.plot.plot_widget, Qt.Key.Key_A)               # the key decides again
    assert app.edits[-1] == (0, {"reviewed": True, "reject": False})


def test_search_key_focuses_the_table_search(qtbot, make_app):
    app = make_app()
    press(qtbot, app, Qt.Key.Key_Slash)
    qtbot.waitUntil(app.editor.table.search_edit.hasFocus)


def test_every_action_has_a_handler_and_documented_keys(qtbot, make_app):
    app = make_app()
    actions = app.editor.install_actions()
    assert set(actions.actions) == {spec.name for spec in EDITOR_ACTIONS}
    for spec in EDITOR_ACTIONS:
        action = actions[spec.name]
        assert [s.toString() for s in action.shortcuts()] == [QKeySequence(k).toString() for k in spec.shortcuts]
        assert action.shortcutContext() == Qt.ShortcutContext.WidgetWithChildrenShortcut
    keys = [k for spec in EDITOR_ACTIONS for k in spec.shortcuts]
    assert len(keys) == len(set(keys))


def test_progress_and_title_show_where_we_are(qtbot, make_app):
    app = make_app(n=7)
    app.show(4)
    editor = app.editor
    assert editor.progress.position_label.text() == "<b>Trace 5 of 7</b>"
    assert "Trace 5" in editor.plot.title.text() and "session.TRC" in editor.plot.title.text()


def test_views_with_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="channel labels"):
        TraceView(0, np.zeros((10, 2)), ("EMG",), 1000.0, 2)
    with pytest.raises(ValueError, match="samples_pre"):
        TraceView(0, np.zeros((10, 1)), ("EMG",), 1000.0, 20)
    with pytest.raises(ValueError, match="not positive"):
        TraceView(0, np.zeros((10, 1)), ("EMG",), 0.0, 2)


def test_next_trace_reuses_every_widget_and_plot_item(qtbot, make_app):
    """Showing a trace creates nothing: the cost of "next" stays flat (see bench_editor.py)."""
    app = make_app(n=6)
    editor = app.editor
    widgets_before = {id(w) for w in editor.findChildren(QWidget)}
    items_before = {id(i) for i in editor.plot.plot_item.items}
    for i in (1, 2, 3, 4, 5, 0):
        app.show(i)
        app.editor.shift_onset(1)
    assert {id(w) for w in editor.findChildren(QWidget)} == widgets_before
    assert {id(i) for i in editor.plot.plot_item.items} == items_before


def test_a_trace_of_nan_shows_and_estimates_nothing(qtbot, make_app):
    app = make_app(n=3)
    app.data[1][:] = np.nan
    app.data[2][PRE + 20:, :] = np.nan                  # the window ran past the recording
    app.show(1)
    assert not app.editor.current_estimate.found
    press(qtbot, app, Qt.Key.Key_E)
    assert app.edits == [] and "nothing to estimate" in app.editor.plot.hint.text()
    app.show(2)
    low, high = app.editor.plot.plot_item.getViewBox().viewRange()[1]
    finite = app.data[2][:, 0][np.isfinite(app.data[2][:, 0])]
    assert low <= finite[:PRE].min() and high >= finite[:PRE].max()
