"""The cache's Python API: building, reading, editing, transactions, undo, checkpoints,
locking, merging, exporting, and compatibility with offspect-made files."""

from __future__ import annotations

import math
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from testkit.cache import abandon, make_cache, synthetic_recording
from tracemark.io_backends.cache import (
    BuildSpec,
    CacheError,
    CacheFile,
    CacheIndexError,
    CacheLockedError,
    CacheReadOnlyError,
    CacheValueError,
    MergeError,
    build_cache,
    export_table,
    merge_caches,
)


@pytest.fixture
def cache_path(tmp_path) -> Path:
    return make_cache(tmp_path / "c.hdf5", n_traces=40, n_origins=2)


def sidecars(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir() if p.name != path.name}


# -- building ---------------------------------------------------------------------------------
def test_build_cuts_one_trace_per_event_with_generic_attributes(tmp_path):
    recording = synthetic_recording(12, rate=1000.0, n_channels=3)
    out = build_cache(recording, tmp_path / "b.hdf5",
                      BuildSpec("TMS", 0.05, 0.1, channels=["EMG2", "EMG0"], examiner="ab"))
    with CacheFile(out, mode="r") as cache:
        assert len(cache) == 12
        data = cache.get_trace_data(4)
        assert data.shape == (150, 2)
        attrs = cache.get_trace_attrs(4)
        event_sample = attrs["event_sample"]
        assert event_sample == round(recording.events()[4].time_s * 1000)
        # column 0 is EMG2 (value = row + 2000), row 50 is the event sample
        assert data[50, 0] == event_sample + 2000 and data[50, 1] == event_sample
        assert attrs["onset_shift"] == 0 and attrs["reject"] is False
        assert attrs["examiner"] == "ab" and attrs["id"] == 4
        assert attrs["time_since_last_pulse_in_s"] == pytest.approx(0.2)
        assert cache.get_trace_attrs(0)["time_since_last_pulse_in_s"] == math.inf
        origin = cache.origin_attrs(cache.origins[0])
        assert origin["channel_labels"] == ["EMG2", "EMG0"]
        assert (origin["samples_pre_event"], origin["samples_post_event"]) == (50, 100)
        assert origin["samplingrate"] == 1000.0 and origin["readout"] == "generic"


def test_build_pads_windows_past_the_recording_with_nan(tmp_path):
    recording = synthetic_recording(3, rate=1000.0, spacing_s=0.2)  # first event at 0.1 s
    out = build_cache(recording, tmp_path / "b.hdf5", BuildSpec("TMS", 0.15, 0.1))
    with CacheFile(out, mode="r") as cache:
        data = cache.get_trace_data(0)
        assert np.isnan(data[:50]).all() and not np.isnan(data[50:]).any()


def test_build_refuses_unknown_events_channels_and_existing_output(tmp_path):
    recording = synthetic_recording(3)
    with pytest.raises(CacheValueError, match="no event matches 'XX'.*TMS"):
        build_cache(recording, tmp_path / "a.hdf5", BuildSpec("XX", 0.01, 0.01))
    with pytest.raises(CacheValueError, match="no channel 'EMG9'"):
        build_cache(recording, tmp_path / "a.hdf5", BuildSpec("TMS", 0.01, 0.01, channels=["EMG9"]))
    out = build_cache(recording, tmp_path / "a.hdf5", BuildSpec("TMS", 0.01, 0.01))
    with pytest.raises(CacheError, match="already exists"):
        build_cache(recording, out, BuildSpec("TMS", 0.01, 0.01))
    assert sidecars(out) == {"a.hdf5.lock"}


def test_build_from_a_real_trc_file(tmp_path):
    trc_writer = pytest.importorskip("tracemark.demo.trc_writer")
    rate = 2048
    data = np.random.default_rng(0).normal(0, 50, (rate * 4, 2))
    source = trc_writer.write_trc_array(tmp_path / "rec.trc", data, channel_names=["EMG", "EEG"],
                                        sampling_rate=rate, triggers=[(rate, 1), (2 * rate, 1)])
    before = source.read_bytes()
    try:
        from tracemark.io_backends import open_recording
        with open_recording(source) as recording:
            labels = sorted({e.label for e in recording.events()})
    except CacheError:
        raise
    except Exception as error:  # the TRC reader is another issue's work
        pytest.skip(f"TRC reader not available yet: {error}")
    out = build_cache([source], tmp_path / "t.hdf5",
                      BuildSpec(labels[0], 0.1, 0.4, channels=["EMG"]))
    with CacheFile(out, mode="r") as cache:
        assert len(cache) == 2
        assert cache.get_trace_data(0).shape == (round(0.1 * rate) + round(0.4 * rate), 1)
        origin = cache.origin_attrs("rec.trc")
        assert len(origin["source_sha256"]) == 64
    assert source.read_bytes() == before


# -- reading ----------------------------------------------------------------------------------
def test_global_index_runs_over_sorted_origins_then_numeric_trace_names(cache_path):
    with CacheFile(cache_path, mode="r") as cache:
        assert len(cache) == 40 and cache.origins == ["rec0.trc", "rec1.trc"]
        assert cache.trace_origin(0) == ("rec0.trc", "0")
        assert cache.trace_origin(10) == ("rec0.trc", "10")  # numeric, not "10" < "2"
        assert cache.trace_origin(20) == ("rec1.trc", "0")
        assert cache.trace_origin(39) == ("rec1.trc", "19")
        assert cache.index_of("rec1.trc", "5") == 25
        for bad in (40, -1, 2.0, "3"):
            with pytest.raises(CacheIndexError):
                cache.get_trace_attrs(bad)


def test_iteration_yields_data_and_attrs_and_summary_counts(cache_path):
    with CacheFile(cache_path, mode="r") as cache:
        items = list(cache)
        assert len(items) == 40
        assert all(d.shape == (150, 2) for d, _ in items)
        assert [a["cache_file_index"] for _, a in items] == list(range(40))
        text = str(cache)
        assert text.count("traces_count             : 20") == 2
        assert "40 traces from 2 origins" in text


def test_reading_never_writes(cache_path):
    before = (cache_path.stat().st_mtime_ns, cache_path.read_bytes(), sidecars(cache_path))
    for mode in ("r", "r+"):
        with CacheFile(cache_path, mode=mode) as cache:
            for index in range(len(cache)):
                cache.get_trace_attrs(index)
                cache.get_trace_data(index)
            str(cache)
            export_table(cache, cache_path.parent / "out.csv")
        (cache_path.parent / "out.csv").unlink()
    assert (cache_path.stat().st_mtime_ns, cache_path.read_bytes(), sidecars(cache_path)) == before


# -- editing ----------------------------------------------------------------------------------
def test_update_is_typed_validated_and_checkpointed_into_the_hdf5_file(cache_path):
    with CacheFile(cache_path) as cache:
        record = cache.update(25, reject="true", onset_shift=-7, comment="late onset",
                              stimulation_intensity_mso=55)
        assert {c.key for c in record.changes} == {"reject", "onset_shift", "comment",
                                                   "stimulation_intensity_mso"}
        attrs = cache.get_trace_attrs(25)
        assert attrs["reject"] is True and attrs["onset_shift"] == -7
        assert attrs["stimulation_intensity_mso"] == 55.0
        assert cache.pending_edits == 4
    with h5py.File(cache_path, "r") as f:
        stored = f["rec1.trc/traces/5"].attrs
        assert stored["reject"] == "True" and stored["onset_shift"] == "-7"
        assert stored["comment"] == "late onset"


@pytest.mark.parametrize("values, message", [
    ({"reject": "maybe"}, "reject must be true or false"),
    ({"onset_shift": 1.5}, "whole number"),
    ({"onset_shift": -51}, "before the trace starts"),
    ({"onset_shift": 100}, "past the trace end"),
    ({"stimulation_intensity_mso": 120}, "<= 100"),
    ({"neg_peak_latency_ms": -1}, ">= 0"),
    ({"xyz_coords": [1, 2]}, "3 values"),
    ({"channel_of_interest": "EEG"}, "not one of EMG0, EMG1"),
    ({"event_sample": 3}, "fixed when the cache is built"),
    ({"samplingrate": 3}, "belongs to the origin"),
    ({"my_flag": 3}, "must be text"),
    ({"cache_file_index": "1"}, "not a usable attribute name"),
])
def test_bad_values_are_refused_and_nothing_is_written(cache_path, values, message):
    with CacheFile(cache_path) as cache:
        with pytest.raises(CacheValueError, match=message):
            cache.update(3, values)
        assert cache.pending_edits == 0
    assert sidecars(cache_path) == {"c.hdf5.lock"}  # no journal: not one byte of cache state


def test_batch_is_one_transaction_all_or_nothing(cache_path):
    with CacheFile(cache_path) as cache:
        with pytest.raises(CacheValueError):
            with cache.batch() as batch:
                batch.update(1, reject=True)
                batch.update(2, reject="not-a-bool")
        with pytest.raises(RuntimeError):
            with cache.batch() as batch:
                batch.update(1, reject=True)
                raise RuntimeError("the caller gave up")
        assert cache.get_trace_attrs(1)["reject"] is False
        with cache.batch(note="review") as batch:
            for index in range(0, 40, 4):
                batch.update(index, examiner="ab")
            batch.set(0, "comment", "first")
        assert len(batch.record.changes) == 11 and batch.record.note == "review"
        assert len(cache.history()) == 1
        assert all(cache.get_trace_attrs(i)["examiner"] == "ab" for i in range(0, 40, 4))


def test_set_trace_attrs_checks_file_and_index(cache_path, tmp_path):
    other = make_cache(tmp_path / "other.hdf5", n_traces=4)
    with CacheFile(cache_path) as cache, CacheFile(other, mode="r") as foreign:
        attrs = cache.get_trace_attrs(3)
        with pytest.raises(CacheValueError, match="came from trace 3, not trace 4"):
            cache.set_trace_attrs(4, attrs)
        with pytest.raises(CacheValueError, match="not from this cache"):
            cache.set_trace_attrs(3, foreign.get_trace_attrs(3))
        with pytest.raises(CacheValueError, match="do not come from a cache file"):
            cache.set_trace_attrs(3, {"reject": True})
        assert cache.set_trace_attrs(3, attrs) is None  # unchanged: nothing written
        attrs["onset_shift"] = "5"  # offspect users pass encoded strings
        attrs["comment"] = "ok"
        record = cache.set_trace_attrs(3, attrs)
        assert {(c.key, c.old, c.new) for c in record.changes} == {
            ("onset_shift", "0", "5"), ("comment", "", "ok")}


def test_undo_redo_follow_the_change_log_across_reopen(cache_path):
    with CacheFile(cache_path) as cache:
        cache.update(1, comment="a")
        cache.update(1, comment="b", reject=True)
        assert cache.undo().kind == "undo"
        assert cache.get_trace_attrs(1)["comment"] == "a" and cache.can_redo
    with CacheFile(cache_path) as cache:  # the stacks come from the durable journal
        assert cache.get_trace_attrs(1)["reject"] is False
        cache.redo()
        assert cache.get_trace_attrs(1)["comment"] == "b"
        cache.undo()
        cache.undo()
        assert cache.get_trace_attrs(1)["comment"] == "" and not cache.can_undo
        assert cache.undo() is None
        cache.update(2, comment="new")
        assert not cache.can_redo
        history = cache.history()
        assert [r.kind for r in history] == ["edit", "edit", "undo", "redo", "undo", "undo",
                                             "edit"]
        first = history[0].changes[0]
        assert (first.key, first.old, first.new) == ("comment", "", "a")
        assert history[0].user and history[0].pid == os.getpid() and history[0].time


def test_a_reader_sees_committed_edits_at_once_and_across_checkpoints(cache_path):
    writer = CacheFile(cache_path, mode="w")
    reader = CacheFile(cache_path, mode="r")
    try:
        writer.update(7, comment="one")
        assert reader.get_trace_attrs(7)["comment"] == "one"
        writer.checkpoint()
        writer.update(7, comment="two")
        assert reader.get_trace_attrs(7)["comment"] == "two"
        writer.checkpoint()
        assert reader.get_trace_attrs(7)["comment"] == "two"
        assert [r.seq for r in reader.refresh()] == []
        with pytest.raises(CacheReadOnlyError, match="read-only"):
            reader.update(7, comment="no")
    finally:
        writer.close()
        reader.close()


def test_checkpoint_if_idle_waits_for_quiet(cache_path):
    with CacheFile(cache_path, mode="w", idle_checkpoint_s=60) as cache:
        cache.update(0, comment="x")
        assert cache.checkpoint_if_idle() is False and cache.pending_edits == 1
        assert cache.checkpoint_if_idle(idle_s=0) is True and cache.pending_edits == 0
        assert cache.checkpoint() is False
        with h5py.File(cache_path, "r") as f:
            assert f["rec0.trc/traces/0"].attrs["comment"] == "x"


def test_trace_data_are_unchanged_by_edits_and_checkpoints(cache_path):
    with CacheFile(cache_path, mode="r") as cache:
        before = [cache.get_trace_data(i).copy() for i in range(len(cache))]
    with CacheFile(cache_path) as cache:
        for i in range(len(cache)):
            cache.update(i, comment=f"t{i}")
    with CacheFile(cache_path, mode="r") as cache:
        assert all(np.array_equal(b, cache.get_trace_data(i)) for i, b in enumerate(before))


# -- locking ----------------------------------------------------------------------------------
def test_second_writer_is_refused_with_the_holder_named(cache_path):
    with CacheFile(cache_path, mode="w") as first:
        first.update(5, comment="by the first")
        with pytest.raises(CacheLockedError, match=r"open for writing by \S+@\S+ pid "
                                                   rf"{os.getpid()} since "):
            CacheFile(cache_path, mode="w")
        with CacheFile(cache_path, mode="auto") as second:
            assert not second.writable
            assert "opened read-only" in second.read_only_reason
            assert second.get_trace_attrs(5)["comment"] == "by the first"
            first.update(5, comment="again")
            assert second.get_trace_attrs(5)["comment"] == "again"
            with pytest.raises(CacheReadOnlyError, match="pid"):
                second.update(0, comment="x")
            with pytest.raises(CacheLockedError):
                CacheFile(cache_path).update(0, comment="x")
    with CacheFile(cache_path, mode="auto") as third:
        assert third.writable


# -- merge and export -------------------------------------------------------------------------
def test_merge_keeps_committed_edits_and_checks_consistency(tmp_path):
    a = build_cache(synthetic_recording(5, name="a.trc"), tmp_path / "a.hdf5",
                    BuildSpec("TMS", 0.05, 0.1))
    b = build_cache(synthetic_recording(3, name="b.trc"), tmp_path / "b.hdf5",
                    BuildSpec("TMS", 0.05, 0.1))
    cache = CacheFile(b)
    cache.update(1, comment="from b")
    abandon(cache)  # as a crash before the checkpoint would
    out = merge_caches([b, a], tmp_path / "m.hdf5")
    with CacheFile(out, mode="r") as merged:
        assert len(merged) == 8 and merged.origins == ["a.trc", "b.trc"]
        assert merged.get_trace_attrs(6)["comment"] == "from b"
        assert merged.pending_edits == 0
    other_rate = build_cache(synthetic_recording(3, rate=500.0, name="c.trc"),
                             tmp_path / "c.hdf5", BuildSpec("TMS", 0.05, 0.1))
    with pytest.raises(MergeError, match="samplingrate"):
        merge_caches([a, other_rate], tmp_path / "m2.hdf5")
    with pytest.raises(MergeError, match="origin 'a.trc' is also in"):
        merge_caches([a, a], tmp_path / "m3.hdf5")
    assert not (tmp_path / "m2.hdf5").exists() and not (tmp_path / "m3.hdf5").exists()


def test_export_writes_one_typed_row_per_trace(cache_path, tmp_path):
    with CacheFile(cache_path) as cache:
        cache.update(2, reject=True, comment='say "hi", twice', my_note="x")
        rows = export_table(cache, tmp_path / "out.tsv", delimiter="\t")
    lines = (tmp_path / "out.tsv").read_text().splitlines()
    assert rows == 40 and len(lines) == 41
    header = lines[0].split("\t")
    assert header[:4] == ["index", "origin", "trace", "id"] and header[-1] == "my_note"
    row = dict(zip(header, lines[3].split("\t")))
    assert row["reject"] == "True" and row["onset_shift"] == "0" and row["my_note"] == "x"
    assert row["time_since_last_pulse_in_s"] == "0.2"
