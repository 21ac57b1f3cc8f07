"""Bad channels: marked from the viewer through the annotation sink, drawn greyed, left out
of average references and of the measured scales; read-only files refuse; undo restores."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QColor, QMouseEvent
from PyQt6.QtWidgets import QApplication
from viewer_support import EEG_NAMES, make_source, open_viewer, press, wait_drawn

from tracemark.domain.annotations import AnnotationState, InMemoryAnnotations
from tracemark.dsp.montage import (
    AVERAGE,
    Derivation,
    Montage,
    average_reference,
    bipolar_longitudinal_1020,
)
from tracemark.paging.source import ArraySource
from tracemark.widgets.viewer.axes import BAD_LABEL_SUFFIX
from tracemark.widgets.viewer.page_export import page_content_from_viewer
from tracemark.widgets.viewer.rows import rows_using
from tracemark.widgets.viewer.scales import AutomaticScales, row_scale
from tracemark.widgets.viewer.signal_plot import BAD_TRACE_COLOR, TRACE_COLOR


# -- the numbers (dsp) ------------------------------------------------------------------------
def test_the_average_reference_leaves_the_excluded_channels_out_of_the_mean():
    rng = np.random.default_rng(3)
    names = ["Fp1", "Fp2", "Cz", "O1", "O2"]
    data = rng.normal(0, 10, (200, 5)).astype(np.float32)
    data[:, 2] += 5000.0   # a channel off its electrode: it must not move the other rows
    montage = average_reference(names)
    derived = montage.apply(data, names, exclude=["Cz"])
    good = [0, 1, 3, 4]
    oracle = data - data[:, good].mean(axis=1, keepdims=True)
    np.testing.assert_allclose(derived, oracle, rtol=0, atol=1e-3)
    # The matrix the pager uses gives the same values, and without exclusion they differ.
    np.testing.assert_allclose(data @ montage.matrix(names, exclude=["Cz"]).T, oracle, atol=1e-2)
    assert np.abs(montage.apply(data, names) - oracle).max() > 500
    # Tolerant names: the person's "CZ" is the recording's "Cz".
    np.testing.assert_allclose(montage.apply(data, names, exclude=["CZ"]), oracle, atol=1e-3)


def test_excluding_every_averaged_channel_keeps_the_average_of_all():
    names = ["A", "B"]
    montage = Montage("avg", (Derivation("A-avg", "A", AVERAGE), Derivation("B-avg", "B", AVERAGE)))
    np.testing.assert_array_equal(montage.matrix(names, exclude=names), montage.matrix(names))


def test_rows_using_a_bad_channel_are_those_that_name_it():
    names = list(EEG_NAMES)
    banana = bipolar_longitudinal_1020(names)
    used = [banana.derivations[r].label for r in np.flatnonzero(banana.rows_using(names, ["T3"]))]
    assert used == ["F7-T3", "T3-T5"]
    # Under the average reference only the channel's own row: the others no longer use it.
    average = average_reference(names)
    assert [average.labels[r] for r in np.flatnonzero(average.rows_using(names, ["T3"]))] == ["T3-avg"]


def test_the_measured_scale_of_a_type_leaves_bad_channels_out():
    scales = [row_scale("eeg", "uV")] * 4
    spreads = [20.0, 22.0, 24.0, 5000.0]
    automatic = AutomaticScales(spreads, scales)
    with_bad = automatic.typical("eeg")
    automatic.set_excluded([3])
    assert automatic.typical("eeg") == pytest.approx(22.0)
    assert with_bad > automatic.typical("eeg")
    automatic.set_excluded([0, 1, 2, 3])   # all bad: measured on them all rather than on none
    assert automatic.typical("eeg") == pytest.approx(with_bad)


# -- the viewer ---------------------------------------------------------------------------------
@pytest.fixture
def sink():
    return InMemoryAnnotations()


def viewer_with_sink(qtbot, sink, source=None, **kwargs):
    viewer = open_viewer(qtbot, source or make_source(duration_s=30.0), **kwargs)
    attach(viewer, sink)
    wait_drawn(qtbot, viewer)
    return viewer


def attach(viewer, sink):
    if hasattr(viewer, "set_annotation_sink"):
        viewer.set_annotation_sink(sink)
    else:
        viewer.bad_channels.set_sink(sink)


def position_of(viewer, label: str) -> int:
    return [viewer.row_labels()[r] for r in viewer.drawn_rows()].index(label)


def select(qtbot, viewer, label: str) -> None:
    target = viewer.row_labels().index(label)
    while viewer.model.channels.selected != target:
        press(qtbot, viewer, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)


def test_key_b_marks_the_selected_channel_bad_and_good_again_through_the_sink(qtbot, sink):
    viewer = viewer_with_sink(qtbot, sink)
    select(qtbot, viewer, "F7")
    press(qtbot, viewer, Qt.Key.Key_B)
    assert sink.state.bad_channels == {"F7": ""}
    assert viewer.model.display.bad_channels == {"F7": ""}
    k = position_of(viewer, "F7")
    assert viewer.plot.trace_color(k) == QColor(BAD_TRACE_COLOR)
    assert viewer.plot.trace_color(k + 1) == QColor(TRACE_COLOR)
    assert viewer.plot.shown_row_labels()[k] == "F7" + BAD_LABEL_SUFFIX
    assert viewer.plot.row_labels()[k] == "F7"   # the row is still the channel F7
    assert viewer.plot.label_color(k) != viewer.plot.label_color(k + 1)
    # The bad trace is drawn, in the grey curve: the row still shows.
    assert viewer.plot._bad_trace.getData()[1].size > 0
    press(qtbot, viewer, Qt.Key.Key_B)
    assert sink.state.bad_channels == {}
    assert viewer.plot.trace_color(k) != QColor(BAD_TRACE_COLOR)
    assert viewer.plot.shown_row_labels()[k] == "F7"


def right_click(widget, pos: QPoint) -> None:
    right = Qt.MouseButton.RightButton
    for kind, buttons in ((QMouseEvent.Type.MouseButtonPress, right),
                          (QMouseEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)):
        QApplication.sendEvent(widget, QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), right,
                                                   buttons, Qt.KeyboardModifier.NoModifier))


def label_point(viewer, position: int) -> QPoint:
    """The widget pixel of the name of the row at ``position`` on the channel axis."""
    axis = viewer.plot.plotItem.getAxis("left")
    y = viewer.plot.getViewBox().mapViewToScene(QPointF(0.0, -position)).y()
    x = axis.sceneBoundingRect().center().x()
    return viewer.plot.mapFromScene(QPointF(x, y))


def menu_action(menu, text: str):
    return next(a for a in menu.actions() if a.text() == text)


def test_a_right_click_on_a_row_name_offers_bad_with_a_reason_and_good(qtbot, sink, monkeypatch):
    viewer = viewer_with_sink(qtbot, sink)
    k = position_of(viewer, "Cz")
    right_click(viewer.plot.viewport(), label_point(viewer, k))
    menu = viewer.bad_channels.last_menu
    assert menu is not None
    assert [a.text() for a in menu.actions()] == ["Mark Cz bad", "Mark Cz bad, with a reason…"]
    menu.close()
    monkeypatch.setattr(viewer.bad_channels, "ask_reason", lambda name: ("electrode off", True))
    menu_action(menu, "Mark Cz bad, with a reason…").trigger()
    assert sink.state.bad_channels == {"Cz": "electrode off"}
    assert k in viewer.plot.bad_positions
    menu = viewer.bad_channels.menu_for(k)
    menu_action(menu, "Mark Cz good (bad: electrode off)").trigger()
    assert sink.state.bad_channels == {}
    assert viewer.plot.bad_positions == frozenset()


def test_the_average_reference_on_screen_is_the_mean_of_the_good_channels(qtbot, sink):
    source = make_source(duration_s=30.0)
    viewer = viewer_with_sink(qtbot, sink, source)
    viewer.model.display.set_display_filter(None)   # the values themselves, not DC-removed
    viewer.model.window.set_span(1.0)
    viewer.model.display.set_montage(average_reference(source.channel_names))
    wait_drawn(qtbot, viewer)
    select(qtbot, viewer, "Cz-avg")
    press(qtbot, viewer, Qt.Key.Key_B)
    assert sink.state.bad_channels == {"Cz": ""}
    wait_drawn(qtbot, viewer)
    result = viewer.last_result
    assert result.request.factor == 1 and not result.filtered
    request = result.request
    data = source.read_block(request.i_start, request.i_stop, range(len(source.channel_names)))
    good = [i for i, n in enumerate(source.channel_names) if n != "Cz"]
    oracle = data - data[:, good].mean(axis=1, keepdims=True)
    shown = np.asarray(request.rows)
    np.testing.assert_allclose(result.maxs, oracle[:, shown], atol=1e-3)
    # Cz's own row still shows (minus the good average), greyed; the others are not grey.
    assert viewer.plot.bad_positions == {position_of(viewer, "Cz-avg")}
    # The exported page carries the values on screen.
    page = page_content_from_viewer(viewer)
    fz = page.rows[position_of(viewer, "Fz-avg")]
    first = int(round(fz.x[0] * source.sampling_rate))
    everything = source.read_block(first, first + fz.y.size, range(len(source.channel_names)))
    expected = everything[:, source.channel_names.index("Fz")] - everything[:, good].mean(axis=1)
    np.testing.assert_allclose(fz.y, expected, atol=1e-3)
    # Undo (through the sink, as the window's Undo does) brings Cz back into the average.
    if hasattr(viewer, "undo_annotation"):
        viewer.undo_annotation()
    else:
        sink.undo()
        viewer.bad_channels.refresh()
    assert sink.state.bad_channels == {}
    wait_drawn(qtbot, viewer)
    request = viewer.last_result.request
    data = source.read_block(request.i_start, request.i_stop, range(len(source.channel_names)))
    everyone = data - data.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(viewer.last_result.maxs, everyone[:, np.asarray(request.rows)], atol=1e-3)
    assert viewer.plot.bad_positions == frozenset()


def test_a_derivation_that_uses_a_bad_channel_is_greyed(qtbot, sink):
    source = make_source(duration_s=30.0)
    viewer = viewer_with_sink(qtbot, sink, source)
    viewer.model.display.set_montage(bipolar_longitudinal_1020(source.channel_names))
    wait_drawn(qtbot, viewer)
    k = position_of(viewer, "F7-T3")
    viewer.bad_channels.menu_for(k)
    menu = viewer.bad_channels.last_menu
    assert [a.text() for a in menu.actions()] == [
        "Mark F7 bad", "Mark F7 bad, with a reason…", "Mark T3 bad", "Mark T3 bad, with a reason…"]
    menu_action(menu, "Mark T3 bad").trigger()
    assert sink.state.bad_channels == {"T3": ""}
    greyed = {viewer.row_labels()[viewer.drawn_rows()[p]] for p in viewer.plot.bad_positions}
    assert greyed == {"F7-T3", "T3-T5"}
    assert [viewer.plot.shown_row_labels()[p] for p in sorted(viewer.plot.bad_positions)] == [
        "F7-T3" + BAD_LABEL_SUFFIX, "T3-T5" + BAD_LABEL_SUFFIX]
    # B on a greyed row marks what greys it good again, not the row's other channel bad.
    select(qtbot, viewer, "T3-T5")
    press(qtbot, viewer, Qt.Key.Key_B)
    assert sink.state.bad_channels == {}


def test_a_read_only_sink_refuses_with_its_reason(qtbot):
    held = InMemoryAnnotations(AnnotationState.with_default_labels(),
                               read_only_reason="open for writing by ana@ward-3 pid 812")
    viewer = viewer_with_sink(qtbot, held)
    refusals = []
    viewer.bad_channels.refused.connect(refusals.append)
    select(qtbot, viewer, "O1")
    press(qtbot, viewer, Qt.Key.Key_B)
    assert held.state.bad_channels == {}
    assert viewer.plot.bad_positions == frozenset()
    assert len(refusals) == 1 and "ana@ward-3 pid 812" in refusals[0]
    menu = viewer.bad_channels.menu_for(position_of(viewer, "O1"))
    texts = {a.text(): a.isEnabled() for a in menu.actions()}
    assert texts == {"Marks are read-only: open for writing by ana@ward-3 pid 812": False,
                     "Mark O1 bad": False, "Mark O1 bad, with a reason…": False}


def test_bad_channels_from_the_file_are_shown_and_without_a_sink_the_host_is_asked(qtbot):
    state = AnnotationState.with_default_labels()
    state = AnnotationState(state.annotations, state.labels, {"Fp2": "flat"})
    viewer = viewer_with_sink(qtbot, InMemoryAnnotations(state))
    assert viewer.plot.bad_positions == {position_of(viewer, "Fp2")}
    attach(viewer, None)
    assert viewer.plot.bad_positions == frozenset()
    asked = []
    viewer.channel_status_requested.connect(lambda name, bad: asked.append((name, bad)))
    select(qtbot, viewer, "Fz")
    press(qtbot, viewer, Qt.Key.Key_B)
    assert asked == [("Fz", True)]


def test_a_bad_channel_does_not_set_the_scale_of_its_type(qtbot, sink):
    rate = 256.0
    rng = np.random.default_rng(5)
    data = rng.normal(0, 10, (int(20 * rate), 2)).astype(np.float32)
    data[:, 1] *= 300   # Cz off its electrode: 300 times the spread of Fz
    source = ArraySource(data, rate, ("Fz", "Cz"))
    viewer = viewer_with_sink(qtbot, sink, source)
    channels = viewer.model.channels
    measured_with_cz = channels.sensitivity("eeg")
    viewer.bad_channels.mark(["Cz"], True)
    wait_drawn(qtbot, viewer)
    # The measured first scale follows: fitted to Fz alone, many times finer.
    assert channels.sensitivity("eeg") < measured_with_cz / 20
    # So does "fit amplitudes" (S), which fits the page on screen.
    press(qtbot, viewer, Qt.Key.Key_S)
    fitted_without_cz = channels.sensitivity("eeg")
    viewer.bad_channels.mark(["Cz"], False)
    wait_drawn(qtbot, viewer)
    press(qtbot, viewer, Qt.Key.Key_S)
    assert channels.sensitivity("eeg") > 20 * fitted_without_cz
    assert rows_using(source, None, {"Cz"}) == (1,)


def test_a_segment_exported_as_displayed_leaves_the_bad_channels_out_of_the_average(tmp_path):
    from tracemark.app.export_segment import build_segment

    source = make_source(duration_s=10.0)
    names = source.channel_names
    montage = average_reference(names)
    segment = build_segment(source, 1.0, 3.0, [names.index("O1")], output=tmp_path / "s.csv",
                            montage=montage, bad_channels=("T4", "Pz"))
    values = segment.read(segment.i_start, segment.i_stop)[:, 0]
    data = source.read_block(segment.i_start, segment.i_stop, range(len(names)))
    good = [i for i, n in enumerate(names) if n not in ("T4", "Pz")]
    np.testing.assert_allclose(values, data[:, names.index("O1")] - data[:, good].mean(axis=1), atol=1e-3)
