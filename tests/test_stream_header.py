"""What a stream header says about its channels: types, a one-line description, the main stream.

Headers are built by hand here, so each rule of ``protocol.py`` is checked on its own;
``tests/test_reader_channel_types.py`` checks the same on files every reader opens.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tracemark.io_backends.protocol import RecordingHeader, StreamHeader, format_rate


def stream(names, rate=512.0, units="uV", types=(), kind="", name=None, regular=True) -> StreamHeader:
    names = tuple(names)
    n = len(names)
    return StreamHeader(f"{rate:g}Hz", name if name is not None else f"{rate:g} Hz", rate, 1000,
                        names, (units,) * n, np.ones(n), np.zeros(n), np.int16, 0.0, regular,
                        tuple(types), kind)


def recording(*streams: StreamHeader) -> RecordingHeader:
    return RecordingHeader(Path("test.edf"), "EDF", None, tuple(streams))


# -- channel types -----------------------------------------------------------------------
def test_types_are_inferred_from_labels_and_units_when_not_given():
    header = StreamHeader("0", "signals", 256.0, 10, ("Fp1", "EMG chin", "ECG", "Status", "SpO2"),
                          ("uV", "uV", "mV", "", "%"), np.ones(5), np.zeros(5))
    assert header.channel_types == ("eeg", "emg", "ecg", "stim", "misc")
    assert header.kind == ""


def test_given_types_are_kept_and_checked():
    assert stream(["A1", "A2"], types=["seeg", "seeg"]).channel_types == ("seeg", "seeg")
    with pytest.raises(ValueError, match="1 channel types for 2 channels"):
        stream(["A1", "A2"], types=["seeg"])
    with pytest.raises(ValueError, match="unknown channel type 'depth'"):
        stream(["A1", "A2"], types=["seeg", "depth"])


def test_positional_construction_without_the_new_fields_still_works():
    header = StreamHeader("0", "signals", 100.0, 5, ("Cz",), ("uV",), [1.0], [0.0], np.int16, 1.5, False)
    assert (header.start_offset_s, header.regular, header.channel_types) == (1.5, False, ("eeg",))


# -- describe ------------------------------------------------------------------------------
def test_describe_counts_types_and_leaves_out_a_rate_the_name_states():
    names = [f"EEG {i:03d}" for i in range(120)] + ["EMG APB", "EMG FDI", "EMG ADM", "EMG2", "ECG",
                                                     "Status"]
    assert stream(names).describe() == "512 Hz — 126 channels (EEG 120, EMG 4, ECG 1, Stim 1)"
    assert stream(["Status", "Cz"]).describe() == "512 Hz — 2 channels (EEG 1, Stim 1)"


def test_describe_names_the_rate_of_named_streams():
    eeg = stream([f"E{i}" for i in range(64)], rate=128.0, kind="ElectricalSeries",
                 name="ElectricalSeries")
    assert eeg.describe() == "ElectricalSeries — 64 channels at 128 Hz (EEG 64)"
    patch = stream(["CurrentClampSeries_01"], rate=10_000.0, units="A", kind="CurrentClampSeries",
                   name="CurrentClampSeries_01")
    assert patch.describe() == "CurrentClampSeries_01 — 1 channel at 10 kHz (Misc)"
    slow = stream(["x"], rate=0.5, units="m", name="Position/x", regular=False)
    assert slow.describe() == "Position/x — 1 channel at ~0.5 Hz (Misc)"
    mean_rate = stream(["rx"], rate=120.00719, units="rad", name="CompassDirection/rx", regular=False)
    assert mean_rate.describe() == "CompassDirection/rx — 1 channel at ~120 Hz (Misc)"


@pytest.mark.parametrize("rate, text", [(0.5, "0.5 Hz"), (1.0, "1 Hz"), (12.8, "12.8 Hz"),
                                        (128.0, "128 Hz"), (999.0, "999 Hz"), (1000.0, "1 kHz"),
                                        (2048.0, "2.048 kHz"), (10_000.0, "10 kHz"),
                                        (30_000.0, "30 kHz")])
def test_rates_read_like_a_person_writes_them(rate, text):
    assert format_rate(rate) == text


# -- the main stream -----------------------------------------------------------------------
def test_no_stream_raises_key_error_like_stream():
    header = recording()
    with pytest.raises(KeyError, match="no signal stream"):
        header.main_stream_index()


def test_a_slow_stream_first_in_the_file_is_not_the_main_one():
    spo2 = stream(["SpO2"], rate=1.0, units="%")
    pulse_in_uv = stream(["Pulse rate"], rate=1.0)  # typed misc by its label
    eeg = stream([f"EEG {i}" for i in range(126)])
    assert recording(spo2, eeg).main_stream_index() == 1
    assert recording(pulse_in_uv, eeg).main_stream_index() == 1


def test_below_10_hz_a_stream_never_beats_a_faster_one_with_as_many_channels():
    slow_eeg = stream(["Cz", "Pz"], rate=2.0)  # physiological by its types...
    fast_misc = stream(["acc x", "acc y"], rate=50.0, units="g")  # ...but slower than this
    assert recording(slow_eeg, fast_misc).main_stream_index() == 1
    # With more channels than any faster stream, a slow stream can still be the main one.
    wide_slow = stream([f"EEG {i}" for i in range(8)], rate=5.0)
    assert recording(fast_misc, wide_slow).main_stream_index() == 1


def test_physiological_streams_beat_misc_and_stim_only_streams():
    misc = stream([f"temp {i}" for i in range(32)], rate=2000.0, units="degC")
    stim = stream(["Status"], rate=4000.0)
    emg = stream(["EMG APB"], rate=1000.0)
    assert recording(misc, stim, emg).main_stream_index() == 2


def test_then_electrical_series_then_channels_then_rate_then_file_order():
    position = stream(["x"], rate=120.0, units="m", kind="SpatialSeries", name="Position/x")
    emg_series = stream(["EMG"], rate=2000.0, kind="TimeSeries", name="emg")
    eeg_series = stream([f"E{i}" for i in range(64)], rate=128.0, kind="ElectricalSeries",
                        name="ElectricalSeries")
    assert recording(position, emg_series, eeg_series).main_stream_index() == 2
    rates = [stream(["sine"], rate=r) for r in (1000.0, 800.0, 500.0, 975.0, 999.0)]
    assert recording(*rates).main_stream_index() == 0
    assert recording(*rates[1:]).main_stream_index() == 3
    assert recording(stream(["Cz", "Pz"], rate=256.0), stream(["C3", "C4", "Cz"], rate=128.0),
                     ).main_stream_index() == 1
    twins = [stream(["Cz"], rate=256.0, name=f"segment {k}") for k in range(3)]
    assert recording(*twins).main_stream_index() == 0


def test_responses_beat_stimuli():
    stimuli = [stream([f"CurrentClampStimulusSeries_0{k}"], rate=10_000.0, units="A",
                      kind="CurrentClampStimulusSeries", name=f"stimulus/CurrentClampStimulusSeries_0{k}")
               for k in (1, 2)]
    responses = [stream([f"CurrentClampSeries_0{k}"], rate=10_000.0, kind="CurrentClampSeries",
                        types=["misc"], name=f"CurrentClampSeries_0{k}") for k in (1, 2)]
    assert recording(*stimuli, *responses).main_stream_index() == 2
