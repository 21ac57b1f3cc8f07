"""Display scales per channel type: steps, groups, units, and the first scale from the data."""

from __future__ import annotations

import numpy as np
import pytest

from tracemark.widgets.viewer.scales import (
    AutomaticScales,
    describe_sensitivities,
    format_quantity,
    format_sensitivity,
    group_title,
    row_scale,
    scale_group,
    step_at_or_above,
    step_sensitivity,
)


def test_steps_are_the_clinical_ones_at_every_scale():
    assert [step_sensitivity(7.0, 1), step_sensitivity(7.0, -1)] == [5.0, 10.0]
    assert step_sensitivity(100.0, -1) == 150.0 and step_sensitivity(1.0, 1) == 0.7
    assert step_sensitivity(2e-12, -1) == pytest.approx(3e-12)   # a current in amperes
    assert step_at_or_above(6.2) == 7.0 and step_at_or_above(7.0) == 7.0
    assert step_at_or_above(1234.0) == 1500.0


def test_groups_share_a_sensitivity_by_type_and_by_unit_when_not_a_voltage():
    assert scale_group("eeg", "uV") == scale_group("eeg", "mV") == "eeg"
    assert scale_group("misc", "%") == "misc:%" != scale_group("misc", "rad")
    assert row_scale("eeg", "mV").to_group_unit == 1000.0
    assert row_scale("misc", "%").to_group_unit == 1.0
    assert group_title("misc:%") == "Misc (%)" and group_title("emg") == "EMG"


def test_sensitivities_are_written_in_each_unit():
    assert format_sensitivity(7.0, "eeg") == "7 µV/mm"
    assert format_sensitivity(2000.0, "emg") == "2 mV/mm"
    assert format_sensitivity(0.5, "misc:%") == "0.5 %/mm"
    assert format_quantity(3e-11, "A") == "30 pA"
    text = describe_sensitivities({"eeg": 7.0, "emg": 200.0}, ["eeg", "eeg", "emg"])
    assert text == "EEG 7 µV/mm · EMG 200 µV/mm"
    assert describe_sensitivities({"eeg": 7.0}, ["eeg"]) == "7 µV/mm"


def test_the_first_sensitivity_fits_each_type_and_honours_the_users_choice():
    scales = [row_scale("eeg", "uV")] * 3 + [row_scale("emg", "uV"), row_scale("misc", "%"),
                                             row_scale("misc", "%")]
    spreads = np.array([40.0, 50.0, 60.0, 10.0, 2.0, 20.0])
    bursts = np.array([80.0, 90.0, 100.0, 2000.0, 3.0, 30.0])
    automatic = AutomaticScales(spreads, scales, bursts)
    assert automatic.typical("eeg") == 50.0           # the median channel of the type
    assert automatic.typical("emg") == 2000.0          # EMG is read for its bursts
    values = automatic.sensitivities(row_px=40.0, pixels_per_mm=4.0)
    # 50 µV filling 70 % of 40 px at 4 px/mm: 50 * 4 / 28 = 7.1 -> the next step, 10 µV/mm.
    assert values["eeg"] == 10.0
    assert values["emg"] == step_at_or_above(2000.0 * 4 / 28)
    assert automatic.sensitivities(40.0, 4.0, {"eeg": 3.0})["eeg"] == 3.0
    gains = automatic.misc_gains()                      # misc channels: each fills its row
    assert set(gains) == {4, 5} and gains[4] * 3.0 == pytest.approx(gains[5] * 30.0)


def test_a_survey_that_failed_leaves_the_default():
    automatic = AutomaticScales([], [row_scale("eeg", "uV")])
    assert automatic.sensitivities(40.0, 4.0) == {"eeg": 7.0}
