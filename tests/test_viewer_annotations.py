"""Marking the recording in the viewer, driven by keys and the mouse as a person would.

Each test checks the sink's state (what would be written) and what the plot draws. A
counting sink proves every finished gesture is ONE commit, however many mouse moves it had.
"""

from __future__ import annotations

import pytest
from PyQt6.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt6.QtGui import QMouseEvent
from PyQt6.QtWidgets import QApplication
from viewer_support import EEG_NAMES, answer_modal, click, drag, hover, make_source, open_viewer, plot_point, press

from tracemark.domain.annotations import (
    AnnotationState,
    InMemoryAnnotations,
    add,
    apply,
)
from tracemark.widgets.viewer.actions import ANNOTATE_ACTIONS
from tracemark.widgets.viewer.marking import MARKING_ACTIONS

RATE = 256.0
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


class CountingSink(InMemoryAnnotations):
    """An in-memory sink that counts its commits."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.commits = 0

    def commit(self, changes, note=""):
        self.commits += 1
        return super().commit(changes, note)


def state_with(*marks) -> AnnotationState:
    """The default label set and ``(onset, duration, label[, channels])`` marks, ids m0, m1, ..."""
    state = AnnotationState.with_default_labels()
    for i, mark in enumerate(marks):
        onset, duration, label, *channels = mark
        _made, changes = add(state, onset, duration, label, channels[0] if channels else (), ident=f"m{i}")
        state = apply(state, changes)
    return state


@pytest.fixture
def viewer(qtbot):
    return open_viewer(qtbot, make_source(duration_s=120.0, events=[]))


def marking(viewer):
    return viewer.marking



def double_click(widget, pos: QPoint) -> None:
    left = Qt.MouseButton.LeftButton
    click(widget, pos)
    for kind, buttons in ((QMouseEvent.Type.MouseButtonDblClick, left),
                          (QMouseEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)):
        QApplication.sendEvent(widget, QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), left,
                                                   buttons, Qt.KeyboardModifier.NoModifier))



def pixel_s(viewer) -> float:
    return viewer.model.window.span_s / viewer.plot.getViewBox().width()


def only(state):
    assert len(state.annotations) == 1, state.annotations
    return next(iter(state.annotations.values()))


def on_sample(time_s: float) -> bool:
    return time_s * RATE == pytest.approx(round(time_s * RATE), abs=1e-6)


# -- keys ------------------------------------------------------------------------------------------
def test_number_keys_mark_at_the_pointer_and_relabel_the_selected_mark(qtbot, viewer):
    sink = CountingSink()
    viewer.set_annotation_sink(sink)
    hover(viewer, 3.0)
    press(qtbot, viewer, Qt.Key.Key_1)
    mark = only(sink.state)
    assert (mark.label, mark.duration_s) == ("Event", 0.0)
    assert abs(mark.onset_s - 3.0) <= pixel_s(viewer) + 1 / RATE and on_sample(mark.onset_s)
    assert mark.id in marking(viewer).layer.drawn_points
    # A click on it selects it; a key then relabels it instead of marking again.
    click(viewer.plot.viewport(), plot_point(viewer, mark.onset_s, 4))
    assert marking(viewer).selected == mark.id
    press(qtbot, viewer, Qt.Key.Key_4)
    assert only(sink.state).label == "Spike" and sink.commits == 2
    # Away from the traces the mark goes mid-page; nothing selected: a new mark.
    press(qtbot, viewer, Qt.Key.Key_Escape)
    assert marking(viewer).selected is None
    QApplication.sendEvent(viewer.plot.viewport(), QEvent(QEvent.Type.Leave))
    press(qtbot, viewer, Qt.Key.Key_3)
    window = viewer.model.window
    onsets = sorted((a.onset_s, a.label) for a in sink.state.annotations.values())
    assert (window.start_s + window.span_s / 2, "Seizure onset") in onsets


def test_a_key_without_a_label_is_told_and_changes_nothing(qtbot, viewer):
    sink = CountingSink()
    viewer.set_annotation_sink(sink)
    with qtbot.waitSignal(viewer.annotation_error) as told:
        press(qtbot, viewer, Qt.Key.Key_9)
    assert "9" in told.args[0]
    assert sink.commits == 0 and not sink.state.annotations


def test_a_span_opened_with_i_is_ended_by_a_label_key_after_paging(qtbot, viewer):
    sink = CountingSink()
    viewer.set_annotation_sink(sink)
    press(qtbot, viewer, Qt.Key.Key_I)                 # pointer elsewhere: mid-page, 5 s
    assert marking(viewer).open_start == 5.0
    press(qtbot, viewer, Qt.Key.Key_PageDown)
    press(qtbot, viewer, Qt.Key.Key_2)                 # ends at mid-page of the next page
    mark = only(sink.state)
    assert (mark.onset_s, mark.end_s, mark.label) == (5.0, 15.0, "BAD_artifact")
    assert sink.commits == 1 and marking(viewer).open_start is None
    assert marking(viewer).layer.span_rects(mark.id)
    # Esc drops an open span: the key then marks a point event.
    press(qtbot, viewer, Qt.Key.Key_I)
    press(qtbot, viewer, Qt.Key.Key_Escape)
    press(qtbot, viewer, Qt.Key.Key_1)
    assert sorted(a.duration_s for a in sink.state.annotations.values()) == [0.0, 10.0]


def test_keys_move_resize_and_delete_the_selected_mark(qtbot, viewer):
    sink = CountingSink(state_with((2.0, 2.0, "Sleep")))
    viewer.set_annotation_sink(sink)
    click(viewer.plot.viewport(), plot_point(viewer, 3.0, 3))      # the span's body
    assert marking(viewer).selected == "m0"
    step = max(pixel_s(viewer), 1 / RATE)
    press(qtbot, viewer, Qt.Key.Key_Period)
    moved = sink.state.annotations["m0"]
    assert abs(moved.onset_s - (2.0 + step)) <= 1 / RATE and moved.duration_s == pytest.approx(2.0)
    press(qtbot, viewer, Qt.Key.Key_Comma)
    press(qtbot, viewer, Qt.Key.Key_Comma)
    assert sink.state.annotations["m0"].onset_s < 2.0
    onset = sink.state.annotations["m0"].onset_s
    press(qtbot, viewer, Qt.Key.Key_Greater)
    press(qtbot, viewer, Qt.Key.Key_Greater)
    press(qtbot, viewer, Qt.Key.Key_Less)
    resized = sink.state.annotations["m0"]
    assert resized.onset_s == onset and resized.duration_s > 2.0
    assert abs(resized.duration_s - (2.0 + step)) <= 2 / RATE
    assert on_sample(resized.onset_s) and on_sample(resized.end_s)
    assert sink.commits == 6
    press(qtbot, viewer, Qt.Key.Key_Delete)
    assert not sink.state.annotations and marking(viewer).selected is None
    assert marking(viewer).layer.drawn_spans == []
    sink.commit(add(sink.state, 5.0, 0.0, "Event", ident="again")[1])
    viewer.refresh_annotations()
    click(viewer.plot.viewport(), plot_point(viewer, 5.0, 1))
    press(qtbot, viewer, Qt.Key.Key_Backspace)
    assert not sink.state.annotations


def test_l_jumps_between_marks_of_the_selected_label(qtbot, viewer):
    sink = CountingSink(state_with((30.0, 0.0, "Spike"), (50.0, 0.0, "Event"), (80.0, 1.0, "Spike")))
    viewer.set_annotation_sink(sink)
    press(qtbot, viewer, Qt.Key.Key_L)                      # none selected: the next of any label
    assert marking(viewer).selected == "m0"
    window = viewer.model.window
    assert window.start_s + window.span_s / 2 == pytest.approx(30.0)
    press(qtbot, viewer, Qt.Key.Key_L)                      # the next Spike, past the Event
    assert marking(viewer).selected == "m2"
    assert window.start_s + window.span_s / 2 == pytest.approx(80.0)
    press(qtbot, viewer, Qt.Key.Key_L, Qt.KeyboardModifier.ShiftModifier)
    assert marking(viewer).selected == "m0"
    assert sink.commits == 0


# -- mouse -----------------------------------------------------------------------------------------
def test_a_drag_in_annotate_mode_draws_one_span_with_the_current_label(qtbot, viewer):
    sink = CountingSink()
    viewer.set_annotation_sink(sink)
    legend = marking(viewer).legend
    legend.buttons["Sleep"].click()
    assert marking(viewer).current_label == "Sleep"
    start_s = viewer.model.window.start_s
    press(qtbot, viewer, Qt.Key.Key_A, CTRL_SHIFT)
    assert viewer.actions["toggle_annotate"].isChecked()
    drag(viewer.plot.viewport(), plot_point(viewer, 2.0, 1), plot_point(viewer, 4.5, 3), steps=12)
    mark = only(sink.state)
    assert sink.commits == 1                                # one gesture, one commit
    assert mark.label == "Sleep" and mark.channels == ()
    tolerance = pixel_s(viewer) + 1 / RATE
    assert abs(mark.onset_s - 2.0) <= tolerance and abs(mark.end_s - 4.5) <= tolerance
    assert viewer.model.window.start_s == start_s         # the drag drew; it did not pan
    assert marking(viewer).selected == mark.id
    # Out of annotate mode a drag on no mark pans again.
    press(qtbot, viewer, Qt.Key.Key_A, CTRL_SHIFT)
    drag(viewer.plot.viewport(), plot_point(viewer, 8.0, 1), plot_point(viewer, 6.0, 1))
    assert viewer.model.window.start_s > start_s and sink.commits == 1


def alt_drag(widget, start: QPoint, end: QPoint, steps: int = 8) -> None:
    alt, left = Qt.KeyboardModifier.AltModifier, Qt.MouseButton.LeftButton

    def send(kind, pos, button, buttons):
        QApplication.sendEvent(widget, QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button,
                                                   buttons, alt))

    send(QMouseEvent.Type.MouseButtonPress, start, left, left)
    for i in range(1, steps + 1):
        send(QMouseEvent.Type.MouseMove, start + (end - start) * (i / steps), Qt.MouseButton.NoButton, left)
    send(QMouseEvent.Type.MouseButtonRelease, end, left, Qt.MouseButton.NoButton)


def test_an_alt_drag_in_annotate_mode_binds_the_span_to_the_rows_it_covers(qtbot, viewer):
    sink = CountingSink()
    viewer.set_annotation_sink(sink)
    viewer.actions["toggle_annotate"].setChecked(True)
    alt_drag(viewer.plot.viewport(), plot_point(viewer, 1.0, 2), plot_point(viewer, 3.0, 4))
    mark = only(sink.state)
    assert mark.channels == EEG_NAMES[2:5] and sink.commits == 1
    rects = marking(viewer).layer.span_rects(mark.id)
    assert [(low, high) for _x0, _x1, low, high in rects] == [(-4.5, -1.5)]


def test_a_cursor_line_over_a_span_is_dragged_as_a_cursor(qtbot, viewer):
    from tracemark.widgets.viewer.cursors import CURSOR_A

    sink = CountingSink(state_with((2.0, 4.0, "Sleep")))
    viewer.set_annotation_sink(sink)
    viewer.measure.place_at(CURSOR_A, 3.0)
    a = viewer.cursors.positions()[CURSOR_A]
    drag(viewer.plot.viewport(), plot_point(viewer, a, 2), plot_point(viewer, a + 1.0, 2))
    assert abs(viewer.cursors.positions()[CURSOR_A] - (a + 1.0)) <= 2 * pixel_s(viewer) + 1 / RATE
    assert sink.commits == 0 and sink.state.annotations["m0"].onset_s == 2.0


def test_dragging_a_span_body_moves_it_and_an_edge_resizes_it(qtbot, viewer):
    sink = CountingSink(state_with((2.0, 2.0, "Sleep")))
    viewer.set_annotation_sink(sink)
    start_s = viewer.model.window.start_s
    drag(viewer.plot.viewport(), plot_point(viewer, 3.0, 2), plot_point(viewer, 5.0, 2), steps=10)
    tolerance = 2 * pixel_s(viewer) + 1 / RATE
    moved = sink.state.annotations["m0"]
    assert abs(moved.onset_s - 4.0) <= tolerance and moved.duration_s == pytest.approx(2.0, abs=1 / RATE)
    assert sink.commits == 1 and viewer.model.window.start_s == start_s
    drag(viewer.plot.viewport(), plot_point(viewer, moved.end_s, 2), plot_point(viewer, 7.0, 2), steps=10)
    resized = sink.state.annotations["m0"]
    assert resized.onset_s == moved.onset_s and abs(resized.end_s - 7.0) <= tolerance
    assert sink.commits == 2
    assert marking(viewer).layer.preview is None
    (x0, x1, _low, _high), = marking(viewer).layer.span_rects("m0")
    assert (x0, x1) == (resized.onset_s, resized.end_s)


def test_a_double_click_opens_the_mark_dialog_and_commits_its_answer(qtbot, viewer):
    sink = CountingSink(state_with((3.0, 0.0, "Event")))
    viewer.set_annotation_sink(sink)

    def answer(dialog):
        dialog.label.setCurrentText("Missed pulse")
        dialog.onset.setValue(2.5)
        dialog.duration.setValue(1.25)
        dialog.set_channels(["Cz", "C3"])
        dialog.accept()

    answer_modal(qtbot, answer)
    double_click(viewer.plot.viewport(), plot_point(viewer, 3.0, 2))
    qtbot.waitUntil(lambda: sink.commits == 1, timeout=3000)
    mark = sink.state.annotations["m0"]
    assert (mark.label, mark.onset_s, mark.duration_s) == ("Missed pulse", 2.5, 1.25)
    assert set(mark.channels) == {"Cz", "C3"}


def test_a_span_bound_to_channels_is_drawn_and_taken_on_their_rows_only(qtbot, viewer):
    sink = CountingSink(state_with((2.0, 3.0, "BAD_artifact", ("Fp2", "F3")), (6.0, 1.0, "Sleep")))
    viewer.set_annotation_sink(sink)
    layer = marking(viewer).layer
    fp2, f3 = EEG_NAMES.index("Fp2"), EEG_NAMES.index("F3")      # rows 1 and 3, not neighbours
    assert layer.span_rects("m0") == ((2.0, 5.0, -fp2 - 0.5, -fp2 + 0.5), (2.0, 5.0, -f3 - 0.5, -f3 + 0.5))
    painted = layer.fill_rects(sink.state.labels["BAD_artifact"].color)  # the graphics item itself
    assert sorted(painted) == sorted(layer.span_rects("m0"))
    (_x0, _x1, low, high), = layer.span_rects("m1")            # unbound: every row
    rows = len(viewer.plot.row_labels())
    assert high > 0 and low < -(rows - 1)
    click(viewer.plot.viewport(), plot_point(viewer, 3.5, 5))   # row 5: not one of its rows
    assert marking(viewer).selected is None
    click(viewer.plot.viewport(), plot_point(viewer, 3.5, f3))
    assert marking(viewer).selected == "m0"
    assert len(layer.selected_rects()) == 2


# -- the sink --------------------------------------------------------------------------------------
def test_a_read_only_sink_shows_the_marks_and_refuses_every_edit(qtbot, viewer):
    state = state_with((3.0, 0.0, "Event"), (5.0, 2.0, "Sleep"))
    sink = InMemoryAnnotations(state, read_only_reason="held by alice on ward-3 (pid 4242)")
    viewer.set_annotation_sink(sink)
    layer = marking(viewer).layer
    assert layer.drawn_points == ["m0"] and [s.ident for s in layer.drawn_spans] == ["m1"]
    assert "alice" in marking(viewer).legend._tail.text()
    told = []
    viewer.annotation_error.connect(told.append)
    press(qtbot, viewer, Qt.Key.Key_1)
    click(viewer.plot.viewport(), plot_point(viewer, 6.0, 2))
    press(qtbot, viewer, Qt.Key.Key_Delete)
    drag(viewer.plot.viewport(), plot_point(viewer, 6.0, 2), plot_point(viewer, 8.0, 2))
    assert not viewer.undo_annotation()
    assert len(told) == 4 and all("alice" in text for text in told)
    assert sink.state is state
    assert layer.span_rects("m1")[0][:2] == (5.0, 7.0)        # drawn where it is, not dragged


def test_without_a_sink_marking_is_off(qtbot, viewer):
    assert all(not viewer.actions[name].isEnabled() for name in MARKING_ACTIONS)
    assert not marking(viewer).legend.isVisible()
    viewer.set_annotation_sink(InMemoryAnnotations())
    assert all(viewer.actions[name].isEnabled() for name in MARKING_ACTIONS)
    assert marking(viewer).legend.isVisible()
    viewer.set_annotation_sink(None)
    assert all(not viewer.actions[name].isEnabled() for name in MARKING_ACTIONS)
    assert {spec.name for spec in ANNOTATE_ACTIONS} == set(MARKING_ACTIONS)


def test_undo_and_redo_go_through_the_sink_and_redraw(qtbot, viewer):
    sink = CountingSink()
    viewer.set_annotation_sink(sink)
    seen = []
    viewer.annotations_changed.connect(seen.append)
    press(qtbot, viewer, Qt.Key.Key_1)
    ident = only(sink.state).id
    assert marking(viewer).layer.drawn_points == [ident]
    assert viewer.undo_annotation()
    assert not sink.state.annotations and marking(viewer).layer.drawn_points == []
    assert viewer.redo_annotation()
    assert only(sink.state).id == ident and marking(viewer).layer.drawn_points == [ident]
    assert not viewer.redo_annotation()
    assert [len(s.annotations) for s in seen] == [1, 0, 1]


# -- labels and the list ---------------------------------------------------------------------------
def test_the_label_set_dialog_adds_rekeys_renames_and_removes(qtbot, viewer):
    sink = CountingSink(state_with((3.0, 0.0, "Event")))
    viewer.set_annotation_sink(sink)

    def edit(dialog):
        assert dialog.add_label("K-complex", "#123456", "7")
        assert not dialog.add_label("K-complex")            # exists: told, nothing committed
        assert dialog.rename_label("Event", "Stimulus")
        assert dialog.rekey_label("Spike", "1")              # takes 1 from Stimulus
        assert dialog.recolor_label("Sleep", "#00ff00")
        assert dialog.remove_label("Missed pulse")
        assert dialog.table.rowCount() == len(sink.state.labels)
        dialog.reject()

    answer_modal(qtbot, edit)
    press(qtbot, viewer, Qt.Key.Key_L, CTRL_SHIFT)
    labels = sink.state.labels
    assert labels["K-complex"].key == "7" and labels["K-complex"].color == "#123456"
    assert "Event" not in labels and labels["Stimulus"].key == "" and labels["Spike"].key == "1"
    assert labels["Sleep"].color == "#00ff00" and "Missed pulse" not in labels
    assert only(sink.state).label == "Stimulus"            # its mark renamed with it
    assert sink.commits == 5
    assert "K-complex" in marking(viewer).legend.buttons
    press(qtbot, viewer, Qt.Key.Key_Escape)
    press(qtbot, viewer, Qt.Key.Key_7)
    assert sorted(a.label for a in sink.state.annotations.values()) == ["K-complex", "Stimulus"]


def test_the_events_list_shows_the_marks_beside_the_files_events(qtbot):
    from tracemark.paging.source import SourceEvent

    viewer = open_viewer(qtbot, make_source(duration_s=120.0, events=[SourceEvent(20.0, 0.0, "stim", "trigger")]))
    viewer.set_annotation_sink(InMemoryAnnotations(state_with((60.0, 2.0, "Sleep"))))
    panel = viewer.events_panel
    rows = [[panel.proxy.index(r, c).data() for c in range(4)][1:] for r in range(panel.proxy.rowCount())]
    assert rows == [["stim", "trigger", "file"], ["Sleep", "span", "user"]]
    panel.show()
    index = panel.proxy.index(1, 0)
    panel.table.doubleClicked.emit(index)
    window = viewer.model.window
    assert window.start_s + window.span_s / 2 == pytest.approx(60.0)
    assert marking(viewer).selected == "m0"


# -- many marks ------------------------------------------------------------------------------------
def test_ten_thousand_marks_draw_only_those_on_the_page(qtbot):
    names = ("Fz", "Cz", "Pz", "Oz")
    viewer = open_viewer(qtbot, make_source(duration_s=1000.0, names=names, events=[]))
    marks = [(i * 0.1, 0.05 if i % 2 else 0.0, ("Event", "Spike", "Sleep")[i % 3]) for i in range(10_000)]
    viewer.set_annotation_sink(InMemoryAnnotations(state_with(*marks)))
    layer = marking(viewer).layer
    window = viewer.model.window

    def on_page():
        return {f"m{i}" for i, (onset, duration, _label) in enumerate(marks)
                if onset <= window.stop_s and onset + duration >= window.start_s}

    def drawn():
        return set(layer.drawn_points) | {span.ident for span in layer.drawn_spans}

    assert drawn() == on_page() and 0 < len(drawn()) < 200
    assert layer.drawn_rect_count() == len(layer.drawn_spans)
    items = len(layer.graphics_items())
    assert items <= 60
    first_page = drawn()
    press(qtbot, viewer, Qt.Key.Key_PageDown)
    assert drawn() == on_page() and not drawn() & first_page - on_page()
    assert len(layer.graphics_items()) == items              # paging made no new items


def test_the_menu_names_the_label_each_key_marks_with(qtbot, viewer):
    sink = InMemoryAnnotations()
    viewer.set_annotation_sink(sink)
    actions = viewer.commands.action_set
    assert actions["mark_label_1"].text() == "Mark “Event”"
    assert "none has this key" in actions["mark_label_9"].text()
    from tracemark.domain.annotations import Label, put_label
    sink.commit(put_label(sink.state, Label("Arousal", "#123456", "9")))
    viewer.refresh_annotations()
    assert actions["mark_label_9"].text() == "Mark “Arousal”"
