"""Attribute schema: both string encodings decode, values validate, unknown keys stay raw,
and offspect-made caches open, read, edit and stay readable by an offspect-style reader."""

from __future__ import annotations

import ast
import math

import h5py
import numpy as np
import pytest
import yaml

from tracemark.io_backends.cache import CacheFile, schema


@pytest.mark.parametrize("key, text, expected", [
    ("reject", "False", False), ("reject", "false", False), ("reject", "True", True),
    ("reject", "true", True), ("onset_shift", "5", 5), ("onset_shift", "-3", -3),
    ("onset_shift", "4.0", 4), ("time_since_last_pulse_in_s", "inf", math.inf),
    ("time_since_last_pulse_in_s", ".inf", math.inf), ("time_since_last_pulse_in_s", "None", None),
    ("time_since_last_pulse_in_s", "null", None), ("time_since_last_pulse_in_s", "~", None),
    ("time_since_last_pulse_in_s", "", None), ("xyz_coords", "[1, 2, 3.5]", [1.0, 2.0, 3.5]),
    ("xyz_coords", "[nan, nan, nan]", None), ("xyz_coords", "[.nan, .nan, .nan]", None),
    ("channel_labels", "['EDC_L', 'APB']", ["EDC_L", "APB"]),
    ("channel_labels", "[EDC_L, APB]", ["EDC_L", "APB"]), ("comment", "None", "None"),
    ("channel_of_interest", "None", None), ("samplingrate", "1000", 1000.0),
    ("event_time", "1.5e-3", 0.0015),
])
def test_both_encodings_decode(key, text, expected):
    value = schema.decode(key, text)
    if expected is None and key == "xyz_coords":
        assert len(value) == 3 and all(math.isnan(v) for v in value)
    else:
        assert value == expected and type(value) is type(expected)


def test_unknown_keys_and_undecodable_values_stay_raw_strings():
    assert schema.decode("neg_peaks_magnitude_uv", "-21.1") == "-21.1"
    assert schema.decode("reject", "perhaps") == "perhaps"
    assert schema.decode("onset_shift", b"7") == 7
    assert schema.decode("onset_shift", np.int64(7)) == 7
    assert schema.decode("some_number", np.float64(2.5)) == "2.5"


@pytest.mark.parametrize("value, text", [
    (False, "False"), (None, "None"), ([1, 2], "[1, 2]"), (math.inf, "inf"),
    (0.2, "0.2"), (["a", "b"], "['a', 'b']"), ("text", "text"), (-4, "-4"),
])
def test_encoding_is_python_str_style(value, text):
    assert schema.encode(value) == text


def test_encoded_values_read_back_through_yaml_and_literal_eval():
    # the two parsers offspect-style readers use
    for value in (True, False, 3, -2.5, [1.0, 2.0, 3.0], ["EMG", "EEG"]):
        text = schema.encode(value)
        assert ast.literal_eval(text) == value
        assert yaml.safe_load(text) == value


def test_validate_rejects_and_types():
    assert schema.validate("reject", "yes") is True
    assert schema.validate("my_key", "anything") == "anything"
    with pytest.raises(ValueError, match="NaN"):
        schema.validate("neg_peak_magnitude_uv", float("nan"))
    with pytest.raises(ValueError, match="finite"):
        schema.validate("zcr_latency_ms", math.inf)
    # 1 and 0 are flags, as their stored texts "1" and "0" are (domain.trace_attributes).
    assert schema.validate("reject", 1) is True
    with pytest.raises(ValueError, match="true or false"):
        schema.validate("reject", 2)
    assert schema.validate("time_since_last_pulse_in_s", "inf") == math.inf


# -- offspect-made files ----------------------------------------------------------------------
ORIGIN = {"filedate": "1970-01-01T00:01:01", "subject": "VnNn", "samplingrate": 1000,
          "samples_pre_event": 100, "samples_post_event": 100, "channel_labels": ["EDC_L"],
          "readout": "contralateral_mep", "version": "0.1.0"}


def _trace(i):
    return {"id": i, "event_name": "[S  1]", "event_sample": 1000 + 500 * i,
            "event_time": 1.0 + 0.5 * i, "xyz_coords": [37.0, 54.2, 22.8],
            "time_since_last_pulse_in_s": None if i == 0 else 0.5, "onset_shift": 0,
            "stimulation_intensity_mso": 54, "neg_peaks_magnitude_uv": -21.1, "reject": False,
            "comment": "", "examiner": ""}


@pytest.fixture
def offspect_file(tmp_path):
    """Written as offspect did: libver latest, every value a string, origin attributes copied
    into each trace; one origin in str() style, one in YAML style (true, null, .inf, flow
    lists); 11 traces so that "10"
    sorts after "9" only numerically."""
    path = tmp_path / "offspect.hdf5"
    encoders = {"b_str.xdf": str,
                "a_yaml.xdf": lambda v: v if isinstance(v, str) else
                yaml.safe_dump(v, default_flow_style=True).splitlines()[0]}
    with h5py.File(path, "w", libver="latest") as f:
        for origin, encode in encoders.items():
            group = f.create_group(origin)
            for key, value in ORIGIN.items():
                group.attrs.modify(key, encode(value))
            traces = group.create_group("traces")
            for i in range(11):
                dataset = traces.create_dataset(str(i), data=np.full((200, 1), float(i)))
                for key, value in {**_trace(i), **ORIGIN}.items():
                    dataset.attrs.modify(key, encode(value))
    return path


def test_offspect_made_files_open_and_decode(offspect_file):
    with CacheFile(offspect_file, mode="r") as cache:
        assert len(cache) == 22 and cache.origins == ["a_yaml.xdf", "b_str.xdf"]
        assert cache.get_trace_data(10)[0, 0] == 10.0  # trace "10" after "9"
        for index in (1, 12):  # one trace from each encoding
            attrs = cache.get_trace_attrs(index)
            assert attrs["reject"] is False and attrs["onset_shift"] == 0
            assert attrs["time_since_last_pulse_in_s"] == 0.5
            assert attrs["xyz_coords"] == [37.0, 54.2, 22.8]
            assert attrs["stimulation_intensity_mso"] == 54.0
            assert attrs["neg_peaks_magnitude_uv"] == "-21.1"  # unknown key: raw string
        assert cache.get_trace_attrs(0)["time_since_last_pulse_in_s"] is None
        assert cache.get_trace_attrs(11)["time_since_last_pulse_in_s"] is None
        assert cache.origin_attrs("a_yaml.xdf")["channel_labels"] == ["EDC_L"]
        with h5py.File(offspect_file, "r") as f:  # the fixture really holds both encodings
            assert f["a_yaml.xdf/traces/0"].attrs["time_since_last_pulse_in_s"] == "null"
            assert f["b_str.xdf/traces/0"].attrs["time_since_last_pulse_in_s"] == "None"
            assert f["a_yaml.xdf/traces/0"].attrs["reject"] == "false"


def _offspect_style_read(path):
    """Read a cache the way offspect's CacheFile does: open r/latest/swmr, walk origins in
    key order and traces in numeric order, take every attribute as a string."""
    rows = []
    with h5py.File(path, "r", libver="latest", swmr=True) as f:
        for origin in f.keys():
            group = f[origin]["traces"]
            for key in sorted(group.keys(), key=int):
                attrs = {k: v for k, v in group[key].attrs.items()}
                assert all(isinstance(v, str) for v in attrs.values())
                rows.append((origin, key, attrs, np.asarray(group[key], dtype=float)))
    return rows


def test_edits_to_an_offspect_file_reach_it_and_an_offspect_reader_reads_them(offspect_file):
    with CacheFile(offspect_file) as cache:
        attrs = cache.get_trace_attrs(12)
        attrs["reject"] = True
        attrs["onset_shift"] = 3
        cache.set_trace_attrs(12, attrs)
        cache.update(3, xyz_coords=[1, 2, 3])
    rows = _offspect_style_read(offspect_file)
    assert len(rows) == 22
    origin, key, attrs, data = rows[12]
    assert (origin, key) == ("b_str.xdf", "1")
    assert attrs["reject"] == "True" and attrs["onset_shift"] == "3"
    assert ast.literal_eval(rows[3][2]["xyz_coords"]) == [1.0, 2.0, 3.0]
    assert rows[12][2]["readout"] == "contralateral_mep"  # untouched keys kept
    assert data.shape == (200, 1)


def test_an_offspect_style_reader_reads_tracemark_caches(tmp_path):
    from testkit.cache import make_cache

    path = make_cache(tmp_path / "t.hdf5", n_traces=24, n_origins=2)
    with CacheFile(path) as cache:
        cache.update(13, reject=True)
    rows = _offspect_style_read(path)
    assert [(o, k) for o, k, _, _ in rows[10:14]] == [("rec0.trc", "10"), ("rec0.trc", "11"),
                                                      ("rec1.trc", "0"), ("rec1.trc", "1")]
    assert yaml.safe_load(rows[13][2]["reject"]) is True
    assert ast.literal_eval(rows[0][2]["onset_shift"]) == 0


def test_attributes_other_tools_store_as_numbers_or_fixed_strings_are_read(offspect_file):
    with h5py.File(offspect_file, "r+") as f:
        attrs = f["b_str.xdf/traces/2"].attrs
        attrs["onset_shift"] = np.int64(4)          # a number, not a string
        attrs["legacy_fixed"] = np.bytes_(b"abc")   # a fixed-length byte string
        attrs["legacy_array"] = np.array([1.5, 2.5])
    with CacheFile(offspect_file, mode="r") as cache:
        attrs = cache.get_trace_attrs(13)
        assert attrs["onset_shift"] == 4 and attrs["reject"] is False
        assert attrs["legacy_fixed"] == "abc" and attrs["legacy_array"] == "[1.5, 2.5]"
