"""Every reader types its channels from what the file says, and names the stream to open first.

Real files from ../shared/data (skipped when absent, opened read-only), the demo
recording, and small files written here for what no shared file holds: a multi-rate EDF
whose 1 Hz signal comes first, EDF transducer fields, and NWB ElectricalSeries of ECoG
grids and depth electrodes.
"""

from __future__ import annotations

import shutil
import warnings
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import shared_files, shared_params

from tracemark.domain.channel_types import CHANNEL_TYPES
from tracemark.io_backends import open_recording

#: file -> (main stream index, its describe()), for the shared recordings.
SHARED_MAIN_STREAMS = {
    "mne-python_duplicate_channel_labels.edf": (0, "250 Hz — 3 channels (EEG 3)"),
    "mne-python_test_bdf_stim_channel.bdf": (0, "500 Hz — 4 channels (EEG 3, Stim 1)"),
    "mne-python_test_uneven_samp.edf": (0, "100 Hz — 1 channel (EEG)"),
    "mne-testing-data_subsecond_starttime.edf": (0, "512 Hz — 3 channels (EEG 3)"),
    "mne-testing-data_test_edf_overlapping_annotations.edf": (0, "128 Hz — 64 channels (EEG 64)"),
    "pyedflib_test_generator.bdf": (0, "1000 Hz — 1 channel (EEG)"),
    "pyedflib_test_generator.edf": (0, "200 Hz — 11 channels (EEG 10, Misc 1)"),
    "DERIVED_eeg64ch_128Hz_from_mne-testing-data_edf.nwb":
        (0, "ElectricalSeries — 64 channels at 128 Hz (EEG 64)"),
    "NWBShowcase_FergusonEtAl2015_PYR5_rebound.nwb":
        (0, "CurrentClampSeries_01 — 1 channel at 10 kHz (Misc)"),
    "dandi-cli_sub-anm369963_ses-20170228.nwb": (None, None),  # events only
    "pynapple_neurosuite_A2929-200711.nwb": (0, "CompassDirection/rx — 1 channel at ~120 Hz (Misc)"),
    "pynwb_back_compat_3.0.0_electrodes_dynamic_table.nwb":
        (0, "ElectricalSeries — 2 channels at ~10 Hz (EEG 2)"),
    "synthetic_8ch_512Hz_b1_10s_compact.TRC": (0, "signals — 8 channels at 512 Hz (EEG 8)"),
    "synthetic_eeg19_256Hz_b2_60s.TRC": (0, "signals — 19 channels at 256 Hz (EEG 19)"),
}
SHARED = (shared_params("edf", ".edf", ".bdf") + shared_params("nwb", ".nwb")
          + shared_params("trc", ".trc"))


def _shared(subdir: str, name: str) -> Path:
    for path in shared_files(subdir):
        if path.name == name:
            return path
    pytest.skip(f"../shared/data/{subdir}/{name} is not present on this machine")


# -- the shared recordings -----------------------------------------------------------------
@pytest.mark.parametrize("path", SHARED)
def test_shared_file_types_every_channel_and_names_its_main_stream(path):
    with open_recording(path) as rec:
        header = rec.header
        for stream in header.streams:
            assert len(stream.channel_types) == stream.n_channels
            assert set(stream.channel_types) <= set(CHANNEL_TYPES)
        if path.name not in SHARED_MAIN_STREAMS:
            return
        index, description = SHARED_MAIN_STREAMS[path.name]
        if index is None:
            with pytest.raises(KeyError):
                header.main_stream_index()
            return
        assert header.main_stream_index() == index
        assert header.streams[index].describe() == description


def test_bdf_status_channel_is_stim():
    path = _shared("edf", "mne-python_test_bdf_stim_channel.bdf")
    with open_recording(path) as rec:
        stream = rec.header.streams[0]
        assert dict(zip(stream.channel_names, stream.channel_types)) == {
            "C3": "eeg", "C4": "eeg", "Cz": "eeg", "Status": "stim"}


def test_bdf_of_single_channel_streams_opens_on_the_fastest():
    path = _shared("edf", "pyedflib_test_generator.bdf")
    with open_recording(path) as rec:
        rates = [s.sampling_rate for s in rec.header.streams]
        assert rates == [1000.0, 800.0, 500.0, 975.0, 999.0]
        assert rec.header.main_stream_index() == 0


def test_nwb_scalp_eeg_is_eeg():
    path = _shared("nwb", "DERIVED_eeg64ch_128Hz_from_mne-testing-data_edf.nwb")
    with open_recording(path) as rec:
        stream = rec.header.streams[rec.header.main_stream_index()]
        assert stream.kind == "ElectricalSeries"
        assert stream.channel_types == ("eeg",) * 64


def test_nwb_patch_clamp_is_misc_and_opens_on_the_first_response():
    path = _shared("nwb", "NWBShowcase_FergusonEtAl2015_PYR5_rebound.nwb")
    with open_recording(path) as rec:
        streams = rec.header.streams
        assert len(streams) == 20
        assert all(s.channel_types == ("misc",) for s in streams)
        kinds = [s.kind for s in streams]
        assert kinds.count("CurrentClampSeries") == 10
        assert kinds.count("CurrentClampStimulusSeries") == 10
        main = streams[rec.header.main_stream_index()]
        assert main.kind == "CurrentClampSeries" and main.name == "CurrentClampSeries_01"


def test_nwb_position_series_are_misc():
    path = _shared("nwb", "pynapple_neurosuite_A2929-200711.nwb")
    with open_recording(path) as rec:
        assert {s.kind for s in rec.header.streams} == {"SpatialSeries"}
        assert all(set(s.channel_types) == {"misc"} for s in rec.header.streams)


# -- the demo recording --------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from tracemark.demo import ensure_demo_files

    return ensure_demo_files(tmp_path_factory.mktemp("demo"))


@pytest.mark.parametrize("which, options", [("trc", {}), ("nwb", {}), ("trc", {"format": "neo"})],
                         ids=["trc", "nwb", "neo"])
def test_demo_emg_is_emg_and_its_eeg_is_eeg(demo, which, options):
    with open_recording(getattr(demo, which), **options) as rec:
        stream = rec.header.streams[rec.header.main_stream_index()]
        types = dict(zip(stream.channel_names, stream.channel_types))
        assert types.pop("EMG") == "emg" and types.pop("EMG2") == "emg"
        assert set(types.values()) == {"eeg"} and len(types) == 19
        assert stream.describe().endswith("21 channels at 2.048 kHz (EEG 19, EMG 2)")


# -- EDF written here ----------------------------------------------------------------------
def test_multi_rate_edf_opens_on_its_eeg_even_when_a_1_hz_signal_comes_first(tmp_path):
    from tracemark.io_backends.edf_writer import write_edf

    seconds, rate = 4, 512
    names = (["SpO2"] + [f"EEG {i:03d}" for i in range(120)]
             + ["EMG APB L", "EMG APB R", "EMG FDI L", "EMG FDI R", "ECG", "Trigger"])
    rates = [1] + [rate] * 126
    rng = np.random.default_rng(0)
    chunks = [[rng.normal(0, 10, r * seconds) for r in rates]]
    path = tmp_path / "multirate.edf"
    write_edf(path, chunks, channel_names=names, sampling_rates=rates,
              units=["%"] + ["uV"] * 126, physical_ranges=[(0, 100)] + [(-500, 500)] * 126,
              transducers=["Pulse oximeter"] + ["AgAgCl electrode"] * 126)
    with open_recording(path) as rec:
        streams = rec.header.streams
        assert [s.n_channels for s in streams] == [1, 126]
        assert streams[0].describe() == "1 Hz — 1 channel (Misc)"
        assert rec.header.main_stream_index() == 1
        assert streams[1].describe() == "512 Hz — 126 channels (EEG 120, EMG 4, ECG 1, Stim 1)"


def test_edf_transducer_types_a_signal_whose_label_says_nothing(tmp_path):
    from tracemark.io_backends.edf_writer import write_edf

    signals = [  # label, unit, transducer, expected type
        ("C3", "uV", "AgAgCl electrode", "eeg"),
        ("X1", "uV", "AgAgCl electrode", "eeg"),
        ("ECG II", "uV", "AgAgCl electrode", "ecg"),  # the label wins
        ("Airflow", "uV", "Thermistor", "resp"),  # the label wins
        ("Sensor", "uV", "Thermistor", "misc"),
        ("Sat", "%", "Pulse oximeter", "misc"),
        ("Belt", "", "Piezo belt", "resp"),
        ("X2", "uV", "Ag/AgCl cup", "eeg"),
        ("X3", "uV", "BCI2000", "eeg"),  # software names say nothing: a voltage is EEG
        ("X4", "mV", "EMG needle electrode", "emg"),
    ]
    path = tmp_path / "transducers.edf"
    write_edf(path, [np.zeros((256, len(signals)))], channel_names=[s[0] for s in signals],
              sampling_rates=256, units=[s[1] for s in signals], physical_ranges=(-100, 100),
              transducers=[s[2] for s in signals])
    with open_recording(path) as rec:
        assert rec.header.streams[0].channel_types == tuple(s[3] for s in signals)


# -- NWB written here ----------------------------------------------------------------------
#: label, electrode group, electrode location, expected type
IEEG_ELECTRODES = [
    ("G1", "grid", "left temporal", "ecog"),
    ("G2", "grid", "left temporal", "ecog"),
    ("LA1", "depth", "left amygdala", "seeg"),
    ("LA2", "depth", "left amygdala", "seeg"),
    ("ECG", "grid", "chest", "ecg"),  # a label naming another type keeps it
    ("X1", "other", "subdural strip, right frontal", "ecog"),  # the electrode's own location
    ("X2", "other", "stereo-EEG right hippocampus", "seeg"),
    ("Cz", "other", "scalp", "eeg"),
    ("SEEG B1", "other", "unknown", "seeg"),  # a label naming SEEG, electrodes silent
    ("T1", "tetrodes", "CA1 stereotrode", "eeg"),  # a stereotrode is no depth electrode
]


def _write_intracranial_nwb(path: Path) -> Path:
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.behavior import SpatialSeries
    from pynwb.ecephys import ElectricalSeries

    nwb = NWBFile(session_description="iEEG", identifier="ieeg-1",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    device = nwb.create_device(name="amplifier")
    groups = {
        "grid": nwb.create_electrode_group(name="G", description="8x8 subdural grid",
                                           location="left temporal", device=device),
        "depth": nwb.create_electrode_group(name="LA", description="depth electrode",
                                            location="left amygdala", device=device),
        "other": nwb.create_electrode_group(name="misc_leads", description="leads",
                                            location="various", device=device),
        "tetrodes": nwb.create_electrode_group(name="tt1", description="tetrode wires",
                                               location="CA1", device=device),
    }
    nwb.add_electrode_column(name="label", description="channel name")
    for label, group, location, _ in IEEG_ELECTRODES:
        nwb.add_electrode(group=groups[group], location=location, label=label)
    n = len(IEEG_ELECTRODES)
    region = nwb.create_electrode_table_region(list(range(n)), "all")
    # A 1-channel position series at 120 Hz, stored before "ieeg" (HDF5 lists names in
    # order); the NWB reader also lists ElectricalSeries first, the choice must not need it.
    nwb.add_acquisition(SpatialSeries(name="a_position", data=np.zeros(240), rate=120.0,
                                      reference_frame="room", unit="meters"))
    nwb.add_acquisition(ElectricalSeries(name="ieeg", data=np.zeros((1024, n), np.int16),
                                         electrodes=region, rate=512.0, conversion=1e-7))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
    return path


@pytest.fixture(scope="module")
def intracranial_nwb(tmp_path_factory) -> Path:
    pytest.importorskip("pynwb", reason="pynwb writes the NWB fixtures")
    return _write_intracranial_nwb(tmp_path_factory.mktemp("nwb") / "ieeg.nwb")


def _types_of(path: Path, stream: str = "ieeg") -> dict[str, str]:
    with open_recording(path) as rec:
        header = rec.header.stream(stream)
        return dict(zip(header.channel_names, header.channel_types))


def test_nwb_ecog_and_seeg_come_from_electrode_groups_and_locations(intracranial_nwb):
    assert _types_of(intracranial_nwb) == {label: kind for label, _, _, kind in IEEG_ELECTRODES}


def test_nwb_electrical_series_is_the_main_stream_over_a_position_series(intracranial_nwb):
    with open_recording(intracranial_nwb) as rec:
        streams = rec.header.streams
        position = rec.header.stream("a_position")
        assert position.kind == "SpatialSeries" and position.channel_types == ("misc",)
        main = streams[rec.header.main_stream_index()]
        assert main.name == "ieeg" and main.kind == "ElectricalSeries"
        assert main.describe() == "ieeg — 10 channels at 512 Hz (EEG 2, SEEG 4, ECoG 3, ECG 1)"


def test_nwb_groups_are_followed_by_reference_without_a_group_name_column(intracranial_nwb, tmp_path):
    copy = tmp_path / "no_group_name.nwb"
    shutil.copyfile(intracranial_nwb, copy)
    with h5py.File(copy, "r+") as h5file:
        del h5file["general/extracellular_ephys/electrodes/group_name"]
    assert _types_of(copy) == {label: kind for label, _, _, kind in IEEG_ELECTRODES}


def test_nwb_without_placement_columns_electrodes_are_eeg_unless_labelled(intracranial_nwb,
                                                                            tmp_path):
    copy = tmp_path / "broken_groups.nwb"
    shutil.copyfile(intracranial_nwb, copy)
    with h5py.File(copy, "r+") as h5file:
        table = h5file["general/extracellular_ephys/electrodes"]
        del table["group_name"], table["group"], table["location"]
    types = _types_of(copy)
    assert types["G1"] == types["LA1"] == "eeg"
    assert types["ECG"] == "ecg" and types["SEEG B1"] == "seeg"
