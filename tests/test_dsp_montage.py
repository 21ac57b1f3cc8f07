"""Montages: label matching, built-in 10-20 and SEEG montages, weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import shared_params

from tracemark.dsp.montage import (
    AVERAGE,
    Derivation,
    Montage,
    MontageError,
    average_reference,
    bipolar_longitudinal_1020,
    bipolar_transverse_1020,
    builtin_montages,
    channel_key,
    display_name,
    is_non_eeg,
    referential,
    seeg_neighbours,
)

# The 19-channel 10-20 set as a Micromed system labels it (old temporal names).
TEN_TWENTY_OLD = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz", "C4", "T4",
                  "T5", "P3", "Pz", "P4", "T6", "O1", "O2"]
DOUBLE_BANANA_OLD = [
    "Fp1-F7", "F7-T3", "T3-T5", "T5-O1", "Fp2-F8", "F8-T4", "T4-T6", "T6-O2",
    "Fp1-F3", "F3-C3", "C3-P3", "P3-O1", "Fp2-F4", "F4-C4", "C4-P4", "P4-O2",
    "Fz-Cz", "Cz-Pz"]
# A 64-channel 10-10 cap as the PhysioNet EDF files label it (dots pad to 4 characters).
TEN_TEN_64 = [
    "Fc5.", "Fc3.", "Fc1.", "Fcz.", "Fc2.", "Fc4.", "Fc6.", "C5..", "C3..", "C1..", "Cz..",
    "C2..", "C4..", "C6..", "Cp5.", "Cp3.", "Cp1.", "Cpz.", "Cp2.", "Cp4.", "Cp6.", "Fp1.",
    "Fpz.", "Fp2.", "Af7.", "Af3.", "Afz.", "Af4.", "Af8.", "F7..", "F5..", "F3..", "F1..",
    "Fz..", "F2..", "F4..", "F6..", "F8..", "Ft7.", "Ft8.", "T7..", "T8..", "T9..", "T10.",
    "Tp7.", "Tp8.", "P7..", "P5..", "P3..", "P1..", "Pz..", "P2..", "P4..", "P6..", "P8..",
    "Po7.", "Po3.", "Poz.", "Po4.", "Po8.", "O1..", "Oz..", "O2..", "Iz.."]


@pytest.mark.parametrize(("raw", "display", "key"), [
    ("EEG Fp1-REF", "Fp1", "fp1"), ("Fp1-A1", "Fp1", "fp1"), ("FP1", "FP1", "fp1"),
    ("T3", "T3", "t7"), ("EEG T5-Ref", "T5", "p7"), ("Fc5.", "Fc5", "fc5"),
    ("POL B'3", "B'3", "b'3"), ("TB\u20191", "TB'1", "tb'1"), ("EEG A1-REF", "A1", "a1"),
    ("SEEG OF12", "OF12", "of12"), ("C3-M2", "C3", "c3"), ("ECG", "ECG", "ecg"),
])
def test_label_normalisation(raw, display, key):
    assert display_name(raw) == display
    assert channel_key(raw) == key


@pytest.mark.parametrize(("name", "non_eeg"), [
    ("ECG", True), ("EKG1", True), ("EOGL", True), ("EMG chin", True), ("EEG ECG-REF", True),
    ("Trigger", True), ("DC03", True), ("STIM 1", True), ("Fp1", False), ("HR1", False),
    ("STN1", False), ("A1", False), ("Cz", False), ("Resp", True),
])
def test_non_eeg_detection(name, non_eeg):
    assert is_non_eeg(name) is non_eeg


def test_double_banana_on_old_names_keeps_the_recordings_spelling():
    montage = bipolar_longitudinal_1020(TEN_TWENTY_OLD)
    assert montage is not None and len(montage) == 18
    assert list(montage.labels) == DOUBLE_BANANA_OLD
    assert montage.derivations[1] == Derivation("F7-T3", "F7", "T3")


def test_double_banana_on_prefixed_new_names():
    names = [f"EEG {n}-REF" for n in ["Fp1", "F7", "T7", "P7", "O1", "Fp2", "F8", "T8",
                                      "P8", "O2", "Fz", "Cz", "Pz", "ECG"]]
    montage = bipolar_longitudinal_1020(names)
    assert montage.labels == ("Fp1-F7", "F7-T7", "T7-P7", "P7-O1", "Fp2-F8", "F8-T8",
                              "T8-P8", "P8-O2", "Fz-Cz", "Cz-Pz")
    assert montage.derivations[0].positive == "EEG Fp1-REF"
    assert montage.derivations[0].negative == "EEG F7-REF"


def test_transverse_chain_with_and_without_ears():
    montage = bipolar_transverse_1020(TEN_TWENTY_OLD)
    assert montage.labels == (
        "F7-Fp1", "Fp1-Fp2", "Fp2-F8", "F7-F3", "F3-Fz", "Fz-F4", "F4-F8",
        "T3-C3", "C3-Cz", "Cz-C4", "C4-T4", "T5-P3", "P3-Pz", "Pz-P4", "P4-T6",
        "T5-O1", "O1-O2", "O2-T6")
    with_ears = bipolar_transverse_1020(TEN_TWENTY_OLD + ["A1", "A2"])
    assert "A1-T3" in with_ears.labels and "T4-A2" in with_ears.labels
    assert len(with_ears) == 20


def test_ten_twenty_montages_need_two_pairs():
    assert bipolar_longitudinal_1020(["Fp1", "F7", "X1"]) is None
    assert bipolar_longitudinal_1020(["A1", "A2", "B1"]) is None
    assert bipolar_transverse_1020(["sine 8 Hz", "ramp"]) is None


def test_ten_ten_cap_gets_scalp_montages_but_no_seeg():
    assert seeg_neighbours(TEN_TEN_64) is None
    assert len(bipolar_longitudinal_1020(TEN_TEN_64)) == 18
    assert bipolar_longitudinal_1020(TEN_TEN_64).labels[1] == "F7-T7"


def test_ten_twenty_with_ear_references_is_not_seeg():
    assert seeg_neighbours(TEN_TWENTY_OLD + ["A1", "A2"]) is None
    names = [f"EEG {n}-REF" for n in TEN_TWENTY_OLD + ["A1", "A2"]]
    assert seeg_neighbours(names) is None


def seeg_labels():
    return ([f"EEG A{i}-REF" for i in range(1, 13)]
            + [f"B'{i}" for i in range(1, 9)]
            + ["TB'1", "TB'2", "TB'3", "TB'5"]
            + ["OF10", "OF11", "OF12", "OF13"]
            + ["TP1", "ECG", "Trigger"])


def test_seeg_neighbours_from_realistic_labels():
    montage = seeg_neighbours(seeg_labels())
    labels = montage.labels
    assert labels[:11] == tuple(f"A{i}-A{i + 1}" for i in range(1, 12))
    assert labels[11:18] == tuple(f"B'{i}-B'{i + 1}" for i in range(1, 8))
    assert labels[18:20] == ("TB'1-TB'2", "TB'2-TB'3")      # not bridged over TB'4
    assert labels[20:] == ("OF10-OF11", "OF11-OF12", "OF12-OF13")
    assert not any(lab.startswith("TP") for lab in labels)  # one contact is no electrode
    assert montage.derivations[0] == Derivation("A1-A2", "EEG A1-REF", "EEG A2-REF")


def test_seeg_with_scalp_channels_and_ears():
    names = TEN_TWENTY_OLD + ["A1", "A2"] + [f"HA{i}" for i in range(1, 9)] + [
        f"TP{i}" for i in range(1, 11)]
    montage = seeg_neighbours(names)
    labels = montage.labels
    assert labels[:7] == tuple(f"HA{i}-HA{i + 1}" for i in range(1, 8))
    # TP7-TP10 are also 10-10 scalp names, but TP1..TP10 has contacts that are not,
    # so it is an electrode; the scalp T3-T6 run and the ears A1/A2 are not.
    assert labels[7:] == tuple(f"TP{i}-TP{i + 1}" for i in range(1, 10))
    assert not any(lab.startswith(("A", "T3", "T4", "T5")) for lab in labels)


def test_pure_seeg_electrode_named_like_scalp_stem():
    names = [f"C{i}" for i in range(1, 7)] + [f"F{i}" for i in range(1, 9)]
    montage = seeg_neighbours(names)   # no scalp landmarks: these are depth electrodes
    assert montage is not None and len(montage) == 5 + 7


def test_grids_and_high_density_nets_are_not_depth_electrodes():
    egi = [f"E{i}" for i in range(1, 129)] + ["Cz"]
    assert seeg_neighbours(egi) is None
    grid_and_strip = [f"G{i}" for i in range(1, 65)] + [f"S{i}" for i in range(1, 7)]
    assert seeg_neighbours(grid_and_strip).labels == tuple(
        f"S{i}-S{i + 1}" for i in range(1, 6))


def test_referential_and_average_reference():
    names = ["Fp1", "Fp2", "Cz", "ECG"]
    ref = referential(names + ["Fp1"])
    assert ref.name == "As recorded" and ref.labels == tuple(names)
    avg = average_reference(names, exclude=["ECG"])
    assert avg.labels == ("Fp1-avg", "Fp2-avg", "Cz-avg")
    assert all(d.negative == AVERAGE for d in avg.derivations)
    kept = average_reference(names, exclude=["ECG"], keep_excluded=True)
    assert kept.derivations[-1] == Derivation("ECG", "ECG", None)
    with pytest.raises(MontageError, match="no channels"):
        average_reference(["ECG"], exclude=["ECG"])


def test_builtin_montages_for_scalp_and_seeg():
    scalp = [m.name for m in builtin_montages(TEN_TWENTY_OLD + ["A1", "A2", "ECG"])]
    assert scalp == ["As recorded", "Average reference",
                     "Longitudinal bipolar (double banana)", "Transverse bipolar"]
    seeg = [m.name for m in builtin_montages(seeg_labels())]
    assert seeg == ["As recorded", "Average reference", "SEEG bipolar (neighbouring contacts)"]
    average = builtin_montages(TEN_TWENTY_OLD + ["ECG"])[1]
    assert "ECG-avg" not in average.labels and average.labels[-1] == "ECG"


def test_matrix_and_apply_match_hand_computed_differences():
    names = ["Fp1", "F7", "T3", "Cz", "ECG"]
    rng = np.random.default_rng(0)
    data = rng.standard_normal((200, 5)).astype(np.float32)
    montage = Montage("mixed", (
        Derivation("Fp1-F7", "Fp1", "F7"),
        Derivation("T7-Cz", "T7", "Cz"),          # matched tolerantly to T3
        Derivation("ECG", "ECG", None),
        Derivation("Fp1-avg", "Fp1", AVERAGE),
        Derivation("Cz-avg", "Cz", AVERAGE),
        Derivation("F7-avg", "F7", AVERAGE),
    ))
    avg = (data[:, 0] + data[:, 3] + data[:, 1]) / 3
    expected = np.column_stack([
        data[:, 0] - data[:, 1], data[:, 2] - data[:, 3], data[:, 4],
        data[:, 0] - avg, data[:, 3] - avg, data[:, 1] - avg])
    matrix = montage.matrix(names)
    assert matrix.dtype == np.float32 and matrix.shape == (6, 5)
    np.testing.assert_allclose(matrix[0], [1, -1, 0, 0, 0])
    np.testing.assert_allclose(matrix[3], [2 / 3, -1 / 3, 0, -1 / 3, 0], rtol=1e-6)
    out = montage.apply(data, names)
    assert out.dtype == np.float32 and out.shape == (200, 6)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    np.testing.assert_allclose(data @ matrix.T, expected, atol=1e-5)
    np.testing.assert_array_equal(montage.input_channels(names), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(
        Montage("x", (Derivation("a", "Cz", "F7"),)).input_channels(names), [1, 3])


def test_apply_on_only_the_input_channels_and_nan_stays_local():
    names = ["Fp1", "F7", "T3", "T5", "O1", "ECG"]
    montage = bipolar_longitudinal_1020(names)
    used = montage.input_channels(names)
    assert list(used) == [0, 1, 2, 3, 4]
    data = np.arange(60, dtype=np.float32).reshape(10, 6) ** 2
    data[3, 4] = np.nan
    subset = montage.apply(data[:, used], [names[i] for i in used])
    np.testing.assert_allclose(subset[:, 0], data[:, 0] - data[:, 1])
    assert np.isnan(subset[3, 3]) and np.isfinite(subset[3, :3]).all()


def test_duplicate_names_use_the_first_channel():
    names = ["Cz", "Fz", "Cz"]
    matrix = Montage("d", (Derivation("Fz-Cz", "Fz", "Cz"),)).matrix(names)
    np.testing.assert_array_equal(matrix, [[-1, 1, 0]])


def test_missing_channels_are_named():
    montage = bipolar_longitudinal_1020(TEN_TWENTY_OLD)
    with pytest.raises(MontageError, match=r"double banana.*T6, O2"):
        montage.matrix([n for n in TEN_TWENTY_OLD if n not in ("T6", "O2")])
    with pytest.raises(ValueError):  # MontageError is a ValueError
        montage.apply(np.zeros((4, 2)), ["Fp1", "F7"])
    with pytest.raises(MontageError, match="does not match"):
        montage.apply(np.zeros((4, 3)), TEN_TWENTY_OLD)


def test_dict_round_trip_and_bad_dicts():
    montage = seeg_neighbours(seeg_labels())
    assert Montage.from_dict(json.loads(json.dumps(montage.to_dict()))) == montage
    for bad in ({}, {"name": "x"}, {"name": "x", "derivations": [{"label": "a"}]},
                {"name": "", "derivations": []}, {"name": "x", "derivations": [1]},
                {"name": "x", "derivations": [], "version": 99}):
        with pytest.raises(MontageError):
            Montage.from_dict(bad)


@pytest.mark.shared_data
@pytest.mark.parametrize("path", shared_params("trc", ".TRC"))
def test_builtin_montages_on_shared_trc_labels(path):
    from tracemark.io_backends import open_recording  # tests may wire layers together

    with open_recording(path) as recording:
        names = list(recording.header.streams[0].channel_names)
    montages = {m.name: m for m in builtin_montages(names)}
    if "Cz" in names:
        assert len(montages["Longitudinal bipolar (double banana)"]) == 18
        assert "SEEG bipolar (neighbouring contacts)" not in montages
    for montage in montages.values():
        data = np.ones((5, len(names)), np.float32)
        assert montage.apply(data, names).shape == (5, len(montage))


def test_bipolar_and_average_montages_keep_the_channels_they_do_not_re_reference():
    """A TMS session: EEG plus two EMG channels. Under a bipolar EEG montage the EMG (where
    the motor-evoked potentials are) stays visible, as recorded; the average leaves it out."""
    names = list(TEN_TWENTY_OLD) + ["EMG", "EMG2", "ECG"]
    types = ["eeg"] * len(TEN_TWENTY_OLD) + ["emg", "emg", "ecg"]
    montages = {m.name: m for m in builtin_montages(names, types)}
    banana = montages["Longitudinal bipolar (double banana)"]
    assert banana.labels[-3:] == ("EMG", "EMG2", "ECG")
    assert len(banana) == 18 + 3
    weights = banana.matrix(names)
    emg = names.index("EMG")
    assert weights[18, emg] == 1.0 and np.count_nonzero(weights[18]) == 1
    average = montages["Average reference"]
    average_weights = average.matrix(names)
    assert np.all(average_weights[:len(TEN_TWENTY_OLD), emg] == 0)   # not in the average
    assert average.labels[-3:] == ("EMG", "EMG2", "ECG")


def test_channel_types_decide_what_is_re_referenced():
    """A channel labelled like an electrode but typed EMG by its file is kept as recorded."""
    names = list(TEN_TWENTY_OLD)
    types = ["eeg"] * len(names)
    types[names.index("O2")] = "emg"
    banana = {m.name: m for m in builtin_montages(names, types)}["Longitudinal bipolar (double banana)"]
    assert "O2" in banana.labels and not any("O2" in label and "-" in label for label in banana.labels)
