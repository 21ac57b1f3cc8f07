"""A recording opens readable, whatever its scaling: checked on what the plot draws."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, Qt
from viewer_support import EEG_NAMES, open_viewer, press, synthetic_data, wait_drawn

from tracemark.paging.source import ArraySource, SourceEvent
from tracemark.widgets.viewer import SignalViewer

RATE = 256.0


def biosemi_like(duration_s: float = 60.0) -> ArraySource:
    """EEG 40 mV away from zero with a slow drift, as BioSemi records it, plus Status."""
    n = int(duration_s * RATE)
    eeg = synthetic_data(n, 8, RATE)
    offsets = np.linspace(-45_000, 38_000, 8, dtype=np.float32)
    drift = np.linspace(0, 300, n, dtype=np.float32)[:, None]
    status = np.zeros((n, 1), dtype=np.float32)
    status[int(5 * RATE):int(6 * RATE)] = 255
    data = np.hstack([eeg + offsets + drift, status])
    names = ("A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "Status")
    return ArraySource(data, RATE, names, ("uV",) * 9, name="biosemi.bdf")


def rows_in_row_units(viewer):
    return [(k, y) for k, (x, y) in enumerate(viewer.plot.drawn_rows()) if y.size]


def test_offset_channels_are_drawn_inside_their_own_rows_and_not_flat(qtbot):
    viewer = open_viewer(qtbot, biosemi_like())
    assert "Status" not in [viewer.row_labels()[r] for r in viewer.model.channels.visible_rows]
    drawn = rows_in_row_units(viewer)
    assert len(drawn) == 8
    for k, y in drawn:
        finite = y[np.isfinite(y)]
        assert finite.min() >= -k - 0.5 - 1e-6 and finite.max() <= -k + 0.5 + 1e-6
        assert np.ptp(finite) > 0.3          # a readable trace, not a flat line
        assert np.mean(np.abs(finite + k) > 0.49) < 0.05   # hardly ever on the row's edge
    assert viewer.model.channels.sensitivity("eeg") != 7.0   # measured, not the default


def test_each_channel_type_gets_its_own_first_sensitivity(qtbot):
    n = int(30 * RATE)
    eeg = synthetic_data(n, 4, RATE)               # tens of µV
    emg = np.random.default_rng(3).normal(0, 400, (n, 1)).astype(np.float32)  # hundreds
    source = ArraySource(np.hstack([eeg, emg]), RATE, ("C3", "C4", "Cz", "Pz", "EMG"), name="tms")
    viewer = open_viewer(qtbot, source)
    channels = viewer.model.channels
    assert channels.sensitivity("emg") >= 10 * channels.sensitivity("eeg")
    assert viewer.status.text("sensitivity").startswith("EEG ")
    assert "EMG" in viewer.status.text("sensitivity")
    texts = viewer.plot.scale_margin.texts()
    assert any(t.startswith("EEG") for t in texts) and any(t.startswith("EMG") for t in texts)


def test_the_first_page_is_drawn_once_and_already_to_scale(qtbot):
    viewer = SignalViewer()
    qtbot.addWidget(viewer)
    viewer.resize(1200, 700)
    viewer.show()
    qtbot.waitExposed(viewer)
    seen = []
    viewer.page_drawn.connect(lambda _result: seen.append(viewer.model.channels.sensitivity("eeg")))
    viewer.set_source(biosemi_like())
    wait_drawn(qtbot, viewer)
    measured = viewer.automatic_sensitivity("eeg")
    assert seen and all(value == measured for value in seen)


def test_the_automatic_scale_follows_the_row_height_until_the_user_sets_one(qtbot):
    viewer = open_viewer(qtbot, biosemi_like())
    channels = viewer.model.channels
    before = channels.sensitivity("eeg")
    viewer.resize(1200, 300)                       # rows a third as tall
    qtbot.waitUntil(lambda: channels.sensitivity("eeg") > before)
    press(qtbot, viewer, Qt.Key.Key_Plus)          # the user chooses
    chosen = channels.sensitivity("eeg")
    viewer.resize(1200, 800)
    qtbot.wait(50)
    assert channels.sensitivity("eeg") == chosen
    press(qtbot, viewer, Qt.Key.Key_0)             # back to the measured scale
    assert channels.sensitivity("eeg") == viewer.automatic_sensitivity("eeg")


def test_a_sensitivity_the_user_prefers_wins_over_the_measured_one(qtbot):
    viewer = SignalViewer()
    viewer.preferred_sensitivities = {"eeg": 30.0}
    qtbot.addWidget(viewer)
    viewer.resize(1200, 700)
    viewer.show()
    viewer.set_source(biosemi_like())
    wait_drawn(qtbot, viewer)
    assert viewer.model.channels.sensitivity("eeg") == 30.0


def test_clipping_keeps_a_trace_in_its_row_and_can_be_switched_off(qtbot):
    source = ArraySource(synthetic_data(int(20 * RATE), 4, RATE) * np.array([1, 1, 40, 1], np.float32),
                         RATE, ("C3", "C4", "Cz", "Pz"), name="one loud channel")
    viewer = open_viewer(qtbot, source)
    k, y = rows_in_row_units(viewer)[2]
    assert y.max() <= -k + 0.5 + 1e-6 and y.min() >= -k - 0.5 - 1e-6
    press(qtbot, viewer, Qt.Key.Key_K)
    assert viewer.plot.clip_rows is None
    k, y = rows_in_row_units(viewer)[2]
    assert y.max() > -k + 1.0                      # now it runs into its neighbours' rows
    press(qtbot, viewer, Qt.Key.Key_K)
    assert viewer.plot.clip_rows == 1.0


def test_calibration_bars_name_each_unit_and_sit_beside_the_traces(qtbot):
    n = int(20 * RATE)
    data = np.hstack([synthetic_data(n, 2, RATE), 95 + np.random.default_rng(0).normal(0, 1, (n, 1))])
    source = ArraySource(data.astype(np.float32), RATE, ("C3", "C4", "SpO2"), ("uV", "uV", "%"))
    viewer = open_viewer(qtbot, source)
    texts = viewer.plot.scale_margin.texts()
    assert any("µV" in t for t in texts) and any("%" in t for t in texts)
    margin = viewer.plot.scale_margin.geometry()
    traces = viewer.plot.getViewBox().geometry()
    assert margin.left() >= traces.right() - 1     # never over the data


def test_event_labels_stack_and_elide_with_the_whole_text_in_a_tooltip(qtbot):
    long_label = "Hyperventilation start, patient asked to breathe deeply for three minutes"
    events = [SourceEvent(2.0, 0.0, "Eyes closed", "annotation"),
              SourceEvent(2.1, 0.0, "Eyes open", "annotation"),
              SourceEvent(2.2, 0.0, long_label, "note")]
    source = ArraySource(synthetic_data(int(30 * RATE), 4, RATE), RATE, EEG_NAMES[:4], events=events)
    viewer = open_viewer(qtbot, source)
    assert viewer.plot.event_label_lanes()[:2] == [0, 1]   # the second label goes under the first
    items = viewer.plot.event_label_items()
    texts = [item.text() for item in items]
    assert any(t.endswith("…") and len(t) <= 24 for t in texts)
    assert any(long_label in item.toolTip() for item in items)
    box = viewer.plot.getViewBox()
    to_screen = viewer.plot.viewportTransform()
    first_row_top = to_screen.map(box.mapViewToScene(QPointF(0.0, 0.5))).y()
    box_top = to_screen.mapRect(box.sceneBoundingRect()).top()
    for item in items:                             # in the strip above the first row, as drawn
        drawn = item.deviceTransform(to_screen).mapRect(item.boundingRect())
        assert box_top - 1 <= drawn.top()
        assert drawn.bottom() <= first_row_top + 1


def test_more_events_than_labels_are_labelled_across_the_whole_view(qtbot):
    events = [SourceEvent(0.5 + k * 0.5, 0.0, "Stim", "trigger") for k in range(600)]   # over 300 s
    source = ArraySource(synthetic_data(int(310 * RATE), 4, RATE), RATE, EEG_NAMES[:4], events=events)
    viewer = open_viewer(qtbot, source)
    viewer.model.window.show_range(0.0, 300.0)
    wait_drawn(qtbot, viewer)
    times = sorted(item.pos().x() for item in viewer.plot.event_label_items())
    assert len(times) >= 20
    assert times[0] < 30.0 and times[-1] > 270.0          # from one edge of the view to the other
    assert max(b - a for a, b in zip(times, times[1:])) < 30.0   # and no long stretch without one
