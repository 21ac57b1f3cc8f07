"""Stored values read back as the type they were written as; other tools' spellings are
normalised once, when a cache is imported by merging; merges keep every source's history
and say which source each record came from."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest

from testkit.cache import synthetic_recording
from tracemark.io_backends.cache import (
    BuildSpec,
    CacheFile,
    build_cache,
    canonical,
    decode,
    encode,
    merge_caches,
)

#: (key, value): ints, floats, bools, text and None, on keys of every kind that holds them.
ROUND_TRIPS = [
    ("stimulation_intensity_mso", 79), ("stimulation_intensity_mso", 79.0),
    ("stimulation_intensity_mso", 54.5), ("stimulation_intensity_mso", None),
    ("neg_peak_magnitude_uv", -21), ("neg_peak_magnitude_uv", -21.25),
    ("time_since_last_pulse_in_s", math.inf), ("time_since_last_pulse_in_s", 2),
    ("onset_shift", -3), ("reject", True), ("reject", False), ("reviewed", True),
    ("comment", "None"), ("comment", ""), ("comment", "79"), ("channel_of_interest", None),
    ("channel_of_interest", "EMG0"), ("xyz_coords", [1, 2.5, -3]), ("my_key", "True"),
]


def same_typed(a, b) -> bool:
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same_typed, a, b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("key, value", ROUND_TRIPS)
def test_encode_then_decode_gives_back_the_value_and_its_type(key, value):
    text = encode(value)
    assert same_typed(decode(key, text), value)
    assert encode(decode(key, text)) == text  # Tracemark's spelling decodes to itself
    assert canonical(key, text) == text


def test_values_keep_their_type_through_a_cache(tmp_path):
    path = build_cache(synthetic_recording(len(ROUND_TRIPS), n_channels=1), tmp_path / "c.hdf5",
                       BuildSpec("TMS", 0.01, 0.02, readout="mep"))
    with CacheFile(path) as cache:
        for index, (key, value) in enumerate(ROUND_TRIPS):
            cache.update(index, {key: value})

        def check(cache: CacheFile) -> None:
            for index, (key, value) in enumerate(ROUND_TRIPS):
                assert same_typed(cache.get_trace_attrs(index)[key], value), (key, value)
                assert same_typed(cache.load_only([key], [index])[key][0], value), (key, value)

        check(cache)  # from the journal
        cache.checkpoint()
        check(cache)  # from the HDF5 file and its attribute table
    with CacheFile(path, mode="r") as reopened:
        check(reopened)


def write_offspect_style(path, spell) -> None:
    """A one-origin cache as offspect wrote it: every value a string, spelt by ``spell``."""
    origin = {"samplingrate": 1000, "samples_pre_event": 10, "samples_post_event": 20,
              "channel_labels": ["EMG0"], "readout": "contralateral_mep"}
    with h5py.File(path, "w", libver="latest") as f:
        group = f.create_group("offspect.xdf")
        for key, value in origin.items():
            group.attrs[key] = spell(value)
        traces = group.create_group("traces")
        for i in range(3):
            dataset = traces.create_dataset(str(i), data=np.zeros((30, 1)))
            for key, value in {"id": i, "reject": i == 1, "onset_shift": 0,
                               "stimulation_intensity_mso": 79, "neg_peak_magnitude_uv": -21.5,
                               "time_since_last_pulse_in_s": None if i == 0 else math.inf,
                               "comment": "", "unknown_key": "kept as is"}.items():
                dataset.attrs[key] = spell(value)


def yaml_spelling(value) -> str:
    return {True: "true", False: "false", None: "null", math.inf: ".inf"}.get(value, str(value)) \
        if not isinstance(value, (list, str)) else str(value)


def test_an_offspect_int_reads_back_as_an_int_and_import_normalises_spellings(tmp_path):
    source = tmp_path / "offspect.hdf5"
    write_offspect_style(source, yaml_spelling)
    with CacheFile(source, mode="r") as cache:
        attrs = cache.get_trace_attrs(1)
        assert same_typed(attrs["stimulation_intensity_mso"], 79)
        assert attrs["reject"] is True and attrs["time_since_last_pulse_in_s"] == math.inf
        assert same_typed(cache.origin_attrs("offspect.xdf")["samplingrate"], 1000.0)
        before = [cache.get_trace_attrs(i) for i in range(len(cache))]
    imported = merge_caches([source], tmp_path / "imported.hdf5")
    with h5py.File(imported, "r") as f:
        stored = [dict(f["offspect.xdf/traces"][str(i)].attrs) for i in range(3)]
    assert [row["reject"] for row in stored] == ["False", "True", "False"]
    assert [row["time_since_last_pulse_in_s"] for row in stored] == ["None", "inf", "inf"]
    assert stored[0]["stimulation_intensity_mso"] == "79" and stored[0]["unknown_key"] == "kept as is"
    with CacheFile(imported, mode="r") as cache:
        after = [cache.get_trace_attrs(i) for i in range(len(cache))]
        assert cache.load_only(["stimulation_intensity_mso"]) == {
            "stimulation_intensity_mso": [79, 79, 79]}
    for old, new in zip(before, after):
        assert all(same_typed(new[key], old[key]) for key in old if key != "cache_file")


def test_canonical_spells_other_tools_values_once_as_tracemark_does():
    assert canonical("reject", "true") == "True" and canonical("reviewed", "no") == "False"
    assert canonical("time_since_last_pulse_in_s", ".inf") == "inf"
    assert canonical("channel_of_interest", "null") == "None"
    assert canonical("onset_shift", "4.0") == "4"
    assert canonical("reject", "perhaps") == "perhaps"  # does not decode: kept
    assert canonical("unknown_key", "true") == "true"  # unknown: kept


# -- merge history ------------------------------------------------------------------------------
def built(tmp_path, name: str, n: int):
    return build_cache(synthetic_recording(n, name=f"{name}.trc"), tmp_path / f"{name}.hdf5",
                       BuildSpec("TMS", 0.05, 0.1))


def edit(path, index: int, note: str, **values) -> None:
    with CacheFile(path) as cache:
        cache.update(index, note=note, **values)


def test_a_one_source_merge_keeps_the_history_and_its_undo(tmp_path):
    source = built(tmp_path, "a", 5)
    with CacheFile(source) as cache:
        cache.update(1, reject=True, note="first")
        cache.checkpoint()
        cache.update(2, comment="second")
        cache.update(3, comment="undone")
        cache.undo()
        source_history = cache.history()
    merged = merge_caches([source], tmp_path / "m.hdf5")
    with CacheFile(merged) as cache:
        history = cache.history()
        assert [(r.tx, r.kind, r.target, r.changes, r.note, r.time, r.user) for r in history] == \
            [(r.tx, r.kind, r.target, r.changes, r.note, r.time, r.user) for r in source_history]
        assert [r.seq for r in history] == [1, 2, 3, 4]
        assert {r.source for r in history} == {"a.hdf5"}
        assert cache.pending_edits == 0 and cache.problems == []
        assert cache.get_trace_attrs(2)["comment"] == "second"
        cache.undo()  # the merged cache undoes the source's latest edit
        assert cache.get_trace_attrs(2)["comment"] == ""
        cache.redo()
        assert cache.get_trace_attrs(2)["comment"] == "second"


def test_a_multi_source_merge_says_where_each_record_came_from(tmp_path):
    a, b = built(tmp_path, "a", 4), built(tmp_path, "b", 3)
    edit(a, 0, "a1", reject=True)
    edit(b, 1, "b1", comment="from b")
    edit(a, 2, "a2", comment="from a")
    merged = merge_caches([b, a], tmp_path / "ab.hdf5")
    with CacheFile(merged, mode="r") as cache:
        assert [(r.note, r.source, r.changes[0].origin) for r in cache.history()] == [
            ("b1", "b.hdf5", "b.trc"), ("a1", "a.hdf5", "a.trc"), ("a2", "a.hdf5", "a.trc")]
    c = built(tmp_path, "c", 2)
    edit(c, 1, "c1", reject=True)
    again = merge_caches([merged, c], tmp_path / "abc.hdf5")
    with CacheFile(again, mode="r") as cache:  # a record keeps its first source
        assert [(r.note, r.source) for r in cache.history()] == [
            ("b1", "b.hdf5"), ("a1", "a.hdf5"), ("a2", "a.hdf5"), ("c1", "c.hdf5")]
        assert cache.load_only(["reject", "comment"]) == {
            "reject": [True, False, False, False, False, False, False, False, True],
            "comment": ["", "", "from a", "", "", "from b", "", "", ""]}
