"""The attribute form driven from the keyboard and the mouse: one edit per decision, the
comment saved on Enter or focus-out but never per keystroke, numbers validated, and a
read-only cache leaving no control that could request an edit."""

from __future__ import annotations

from editor_support import PRE, RATE, make_app, press  # noqa: F401 (make_app is a fixture)
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLineEdit, QWidget


def _edits(app):
    return [values for _i, values in app.edits]


def test_typing_a_comment_commits_once_on_enter(qtbot, make_app):
    app = make_app()
    comment = app.editor.form.comment_edit
    comment.setFocus()
    qtbot.waitUntil(comment.hasFocus)
    qtbot.keyClicks(comment, "late response")
    assert app.edits == []                                   # nothing per keystroke
    with qtbot.waitSignal(app.editor.edit_requested) as signal:
        qtbot.keyClick(comment, Qt.Key.Key_Return)
    assert signal.args == [0, {"comment": "late response"}]
    assert comment.text() == "late response" and app.attrs[0]["comment"] == "late response"
    # Enter hands the keys back to the editor; leaving the field does not save it again.
    qtbot.waitUntil(lambda: not comment.hasFocus())
    assert len(app.edits) == 1


def test_comment_commits_on_focus_out_only_when_changed(qtbot, make_app):
    app = make_app()
    form = app.editor.form
    form.comment_edit.setFocus()
    qtbot.waitUntil(form.comment_edit.hasFocus)
    form.examiner_edit.setFocus()                           # leave without changing: no edit
    qtbot.waitUntil(form.examiner_edit.hasFocus)
    assert app.edits == []
    form.comment_edit.setFocus()
    qtbot.waitUntil(form.comment_edit.hasFocus)
    qtbot.keyClicks(form.comment_edit, "noisy")
    form.examiner_edit.setFocus()
    qtbot.waitUntil(form.examiner_edit.hasFocus)
    assert _edits(app) == [{"comment": "noisy"}]


def test_escape_restores_the_saved_comment(qtbot, make_app):
    app = make_app()
    app.attrs[0]["comment"] = "kept"
    app.show(0)
    comment = app.editor.form.comment_edit
    comment.setFocus()
    qtbot.waitUntil(comment.hasFocus)
    qtbot.keyClicks(comment, " and more")
    qtbot.keyClick(comment, Qt.Key.Key_Escape)
    assert comment.text() == "kept"
    app.editor.form.examiner_edit.setFocus()
    qtbot.waitUntil(lambda: not comment.hasFocus())
    assert app.edits == []


def test_a_refused_comment_is_not_shown_as_saved(qtbot, make_app):
    app = make_app()
    app.refuse = True
    comment = app.editor.form.comment_edit
    comment.setFocus()
    qtbot.waitUntil(comment.hasFocus)
    qtbot.keyClicks(comment, "x")
    qtbot.keyClick(comment, Qt.Key.Key_Return)
    assert _edits(app) == [{"comment": "x"}]
    assert comment.text() == ""                              # what the app confirmed


def test_examiner_commits_like_the_comment(qtbot, make_app):
    app = make_app()
    examiner = app.editor.form.examiner_edit
    examiner.setFocus()
    qtbot.waitUntil(examiner.hasFocus)
    qtbot.keyClicks(examiner, "ab")
    qtbot.keyClick(examiner, Qt.Key.Key_Enter)
    assert _edits(app) == [{"examiner": "ab"}]


def test_accept_button_and_reject_toggle(qtbot, make_app):
    app = make_app(n=4)
    form = app.editor.form
    assert form.state_label.text() == "Unreviewed" and not form.reject_toggle.isChecked()
    qtbot.mouseClick(form.reject_toggle, Qt.MouseButton.LeftButton)
    assert app.edits[0] == (0, {"reviewed": True, "reject": True})
    assert app.editor.current_index == 1                     # the app moved on
    app.show(0)
    assert form.state_label.text() == "Rejected" and form.reject_toggle.isChecked()
    qtbot.mouseClick(form.reject_toggle, Qt.MouseButton.LeftButton)   # take it back
    assert app.edits[1] == (0, {"reviewed": True, "reject": False})
    app.show(2)
    qtbot.mouseClick(form.accept_button, Qt.MouseButton.LeftButton)
    assert app.edits[2] == (2, {"reviewed": True, "reject": False})


def test_a_refused_rejection_leaves_the_toggle_up(qtbot, make_app):
    app = make_app()
    app.refuse = True
    form = app.editor.form
    qtbot.mouseClick(form.reject_toggle, Qt.MouseButton.LeftButton)
    assert len(app.edits) == 1
    assert not form.reject_toggle.isChecked() and form.state_label.text() == "Unreviewed"


def test_onset_spin_box_steps_and_typed_values(qtbot, make_app):
    app = make_app()
    spin = app.editor.form.onset_spin
    assert (spin.minimum(), spin.maximum()) == (-PRE, 300 - PRE - 1)
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    qtbot.keyClick(spin, Qt.Key.Key_Up)
    qtbot.keyClick(spin, Qt.Key.Key_Up)
    assert _edits(app) == [{"onset_shift": 1}, {"onset_shift": 2}]
    assert app.editor.form.onset_ms_label.text().startswith(f"= +{2 * 1000 / RATE:.2f} ms")
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "-12")
    assert len(app.edits) == 2                               # typing is not an edit yet
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert _edits(app)[-1] == {"onset_shift": -12} and spin.value() == -12


def test_peak_fields_commit_numbers_and_empty_means_unknown(qtbot, make_app):
    app = make_app()
    form = app.editor.form
    magnitude = form.peak_edits["neg_peak_magnitude_uv"]
    magnitude.setFocus()
    qtbot.waitUntil(magnitude.hasFocus)
    qtbot.keyClicks(magnitude, "-123.5")
    qtbot.keyClick(magnitude, Qt.Key.Key_Return)
    assert _edits(app) == [{"neg_peak_magnitude_uv": -123.5}]
    assert magnitude.text() == "-123.50"
    magnitude.setFocus()
    magnitude.selectAll()
    qtbot.keyClicks(magnitude, "abc")
    qtbot.keyClick(magnitude, Qt.Key.Key_Return)
    assert len(app.edits) == 1 and magnitude.text() == "-123.50"
    assert "not a number" in magnitude.toolTip()
    magnitude.setFocus()
    magnitude.selectAll()
    qtbot.keyClick(magnitude, Qt.Key.Key_Delete)
    qtbot.keyClick(magnitude, Qt.Key.Key_Return)
    assert _edits(app)[-1] == {"neg_peak_magnitude_uv": None} and magnitude.text() == ""


def test_peak_to_peak_shows_the_stored_peaks(qtbot, make_app):
    app = make_app()
    app.attrs[0].update(neg_peak_magnitude_uv=-100.0, pos_peak_magnitude_uv=150.5,
                        neg_peak_latency_ms=21.0, pos_peak_latency_ms=27.0)
    app.show(0)
    form = app.editor.form
    assert "250.5" in form.ptp_label.text()
    assert form.peak_edits["pos_peak_latency_ms"].text() == "27.00"


def test_estimate_and_clear_buttons(qtbot, make_app):
    app = make_app()
    form = app.editor.form
    qtbot.mouseClick(form.estimate_button, Qt.MouseButton.LeftButton)
    estimate = app.editor.current_estimate
    assert _edits(app) == [{**estimate.as_attrs(), "channel_of_interest": "EMG"}]
    qtbot.mouseClick(form.clear_peaks_button, Qt.MouseButton.LeftButton)
    assert _edits(app)[-1] == {"neg_peak_magnitude_uv": None, "neg_peak_latency_ms": None,
                               "pos_peak_magnitude_uv": None, "pos_peak_latency_ms": None}


def test_peak_window_spin_boxes_set_the_window(qtbot, make_app):
    app = make_app()
    form = app.editor.form
    with qtbot.waitSignal(app.editor.peak_window_changed) as signal:
        form.window_stop.setValue(40.0)
    assert signal.args == [15.0, 40.0] and app.editor.peak_window_ms == (15.0, 40.0)
    assert app.edits == []                                   # a preference, not an edit


def test_details_list_read_only_trace_and_recording_attributes(qtbot, make_app):
    app = make_app()
    form = app.editor.form
    trace_rows = {form.trace_item.child(i).text(0): form.trace_item.child(i).text(1)
                  for i in range(form.trace_item.childCount())}
    assert trace_rows["stimulation_intensity_mso"] == "40"
    assert trace_rows["xyz_coords"] == "-40, -20, 60"
    assert "comment" not in trace_rows and "reject" not in trace_rows
    origin_rows = {form.origin_item.child(i).text(0): form.origin_item.child(i).text(1)
                   for i in range(form.origin_item.childCount())}
    assert origin_rows == {"samplingrate": "2000", "subject": "S01"}


def test_read_only_disables_every_editing_control(qtbot, make_app):
    app = make_app()
    editor = app.editor
    editor.set_read_only("held by alice@lab pid 123 since 10:02; opened read-only")
    assert editor.banner.isVisible() and "alice@lab" in editor.banner.label.text()
    for widget in editor.form.editing_widgets:
        assert not widget.isEnabled(), widget.objectName()
    assert not editor.plot.onset_line.movable
    # Every path to an edit is closed: slots, keys, clicks.
    editor.accept_current()
    editor.reject_current()
    editor.shift_onset(3)
    editor.shift_onset_ms(-1.0)
    editor.estimate_peaks()
    editor.clear_peaks()
    editor.plot.pick_at(22.0, 0.0)
    for key in (Qt.Key.Key_A, Qt.Key.Key_R, Qt.Key.Key_Right, Qt.Key.Key_E):
        press(qtbot, app, key)
    assert app.edits == []
    # Navigation still works (so the keys do reach the editor); the banner goes when the
    # cache becomes writable, and the same key then edits.
    press(qtbot, app, Qt.Key.Key_N)
    assert editor.current_index == 1
    editor.set_read_only(None)
    assert not editor.banner.isVisible()
    assert all(w.isEnabled() for w in editor.form.editing_widgets)
    press(qtbot, app, Qt.Key.Key_Right)
    assert app.edits == [(1, {"onset_shift": 1})]


def test_every_interactive_widget_has_a_stable_name(qtbot, make_app):
    app = make_app()
    editor = app.editor
    for widget in (*editor.form.editing_widgets, editor.form.window_start, editor.form.window_stop,
                   editor.plot.plot_widget, editor.plot.channel_combo, editor.plot.others_check,
                   editor.plot.fit_combo, editor.table.view, editor.table.filter_combo,
                   editor.table.search_edit, editor.progress):
        assert widget.objectName().startswith("traceEditor."), widget
        assert widget.accessibleName(), widget.objectName()
    names = [w.objectName() for w in editor.findChildren(QWidget)
             if w.objectName().startswith("traceEditor")]
    assert len(names) == len(set(names)) and len(names) > 25
    assert editor.findChild(QLineEdit, "traceEditor.comment") is editor.form.comment_edit
