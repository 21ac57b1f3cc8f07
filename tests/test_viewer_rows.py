"""The viewer's rows live in its channels model: what a row is, and who reads it there."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt
from viewer_support import make_source, open_viewer, press, wait_drawn

from tracemark.domain.channel_types import EEG, EMG, STIM
from tracemark.dsp.montage import Derivation, Montage
from tracemark.paging.source import ArraySource
from tracemark.widgets.viewer.rows import display_rows, row_units
from tracemark.widgets.viewer.view_model import ChannelView


def mixed_source() -> ArraySource:
    data = np.zeros((512, 4), np.float32)
    return ArraySource(data, 256.0, ("Fz", "Cz", "EMG", "Status"), ("mV", "uV", "uV", "V"),
                       channel_types=(EEG, EEG, EMG, STIM))


def test_rows_as_recorded_carry_each_channel_s_label_type_unit_and_scale():
    rows = display_rows(mixed_source())
    assert [(r.label, r.channel_type, r.unit) for r in rows] == [
        ("Fz", EEG, "mV"), ("Cz", EEG, "uV"), ("EMG", EMG, "uV"), ("Status", STIM, "V")]
    assert rows[0].scale.group == rows[1].scale.group == EEG
    assert rows[0].scale.to_group_unit == 1000.0 and rows[1].scale.to_group_unit == 1.0


def test_a_derivation_is_shown_in_the_unit_and_type_of_its_positive_input():
    montage = Montage("Mixed", (Derivation("Cz-Fz", "Cz", "Fz"), Derivation("Fz-Cz", "Fz", "Cz"),
                                Derivation("EMG", "EMG")))
    rows = display_rows(mixed_source(), montage)
    assert [(r.label, r.channel_type, r.unit) for r in rows] == [
        ("Cz-Fz", EEG, "uV"), ("Fz-Cz", EEG, "mV"), ("EMG", EMG, "uV")]
    assert row_units(mixed_source(), montage) == ["uV", "mV", "uV"]


def test_the_channels_model_announces_new_rows_once(qtbot):
    channels = ChannelView()
    rows = display_rows(mixed_source())
    with qtbot.waitSignal(channels.rows_changed) as announced:
        channels.set_rows(rows)
    assert announced.args == [rows]
    assert channels.labels == ("Fz", "Cz", "EMG", "Status") and channels.row(2).channel_type == EMG
    assert channels.groups == tuple(r.scale.group for r in rows) and channels.group(2) == "emg"
    with qtbot.assertNotEmitted(channels.rows_changed):
        channels.set_rows(list(rows))   # the same rows: nothing to redraw


def test_the_viewer_shows_the_rows_of_its_model_and_follows_a_montage(qtbot):
    viewer = open_viewer(qtbot, make_source(duration_s=30.0))
    channels = viewer.model.channels
    assert viewer.row_labels() == channels.labels == viewer.source.channel_names
    with qtbot.waitSignal(channels.rows_changed):
        press(qtbot, viewer, Qt.Key.Key_M)   # the next montage: average reference
        press(qtbot, viewer, Qt.Key.Key_M)   # a bipolar one
    wait_drawn(qtbot, viewer)
    montage = viewer.model.display.montage
    assert channels.labels == tuple(d.label for d in montage.derivations)
    shown = [channels.labels[r] for r in viewer.drawn_rows()]
    assert list(viewer.plot.row_labels()) == shown
    # The measurements panel names its rows from the same model.
    assert [reading.label for reading in viewer.measure.readout().rows] == \
        [channels.labels[r] for r in channels.visible_rows]
