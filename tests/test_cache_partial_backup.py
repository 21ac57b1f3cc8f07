"""Partial, columnar loading (``CacheFile.load_only``) and its attribute table, and
consistent backups (``CacheFile.backup``) taken while the cache is open and edited."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pytest

from testkit.cache import abandon, make_cache
from tracemark.io_backends.cache import CacheError, CacheFile, CacheIndexError, columns
from tracemark.io_backends.cache.journal import journal_path

KEYS = ["reject", "comment", "onset_shift", "time_since_last_pulse_in_s", "my_note", "id"]


@pytest.fixture
def cache_path(tmp_path) -> Path:
    return make_cache(tmp_path / "c.hdf5", n_traces=40, n_origins=2)


def per_trace(cache: CacheFile, keys, indexes=None) -> dict[str, list]:
    indexes = range(len(cache)) if indexes is None else indexes
    rows = [cache.get_trace_attrs(i) for i in indexes]
    return {key: [row.get(key) for row in rows] for key in keys}


def edit_a_little(cache: CacheFile) -> None:
    """Edits of every kind: values, a new key, a key removed again (by undo), across both
    origins; some checkpointed, some still only in the journal."""
    cache.update(3, reject=True, comment="noisy", my_note="first")
    cache.update(25, onset_shift=-4)
    cache.checkpoint()
    cache.update(30, my_note="second")
    cache.update(3, comment="late")
    cache.update(7, my_note="undone")
    cache.undo()  # my_note of trace 7: absent again, decided by the journal


def table_as_stored(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """Every origin's attribute table, read back as {(origin, trace): {key: stored}}."""
    out = {}
    with h5py.File(path, "r") as f:
        size = Path(path).stat().st_size
        for origin in f:
            names = sorted(f[origin]["traces"], key=int)
            table = columns.TableReader.open(f[origin], size, names)
            assert table is not None, f"the table of {origin} is not fresh"
            for key in table.keys:
                for name, value in zip(names, table.column(key)):
                    if value is not None:
                        out.setdefault((origin, name), {})[key] = value
    return out


def attrs_as_stored(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with h5py.File(path, "r") as f:
        return {(origin, name): dict(f[origin]["traces"][name].attrs)
                for origin in f for name in f[origin]["traces"]}


# -- load_only --------------------------------------------------------------------------------
def test_load_only_equals_per_trace_reads_with_pending_edits(cache_path):
    with CacheFile(cache_path) as cache:
        edit_a_little(cache)
        assert cache.pending_edits > 0
        assert cache.load_only(KEYS) == per_trace(cache, KEYS)
        chosen = [30, 3, 7, 3, 0, 39]  # any order, repeats allowed
        assert cache.load_only(KEYS, chosen) == per_trace(cache, KEYS, chosen)
        assert cache.load_only("comment", [3]) == {"comment": ["late"]}
        cache.checkpoint()
        assert cache.pending_edits == 0
        assert cache.load_only(KEYS) == per_trace(cache, KEYS)


def test_checkpoints_keep_the_attribute_table_equal_to_the_trace_attributes(cache_path):
    assert table_as_stored(cache_path) == attrs_as_stored(cache_path)  # as built
    with CacheFile(cache_path) as cache:
        edit_a_little(cache)
    assert table_as_stored(cache_path) == attrs_as_stored(cache_path)
    assert attrs_as_stored(cache_path)[("rec1.trc", "10")]["my_note"] == "second"


def test_a_reader_sees_the_writers_journaled_edits_in_load_only(cache_path):
    with CacheFile(cache_path, mode="w") as writer, CacheFile(cache_path, mode="r") as reader:
        writer.update(12, reject=True, comment="from the writer")
        assert reader.load_only(["reject", "comment"], [12]) == {
            "reject": [True], "comment": ["from the writer"]}
        writer.checkpoint()  # the reader must follow the replaced file and its new table
        writer.update(13, reject=True)
        assert reader.load_only(KEYS) == per_trace(writer, KEYS)


def test_an_in_place_edit_by_another_tool_makes_the_table_stale_not_wrong(cache_path):
    with h5py.File(cache_path, "r+") as f:  # as offspect edits: in place, table untouched
        f["rec0.trc/traces/5"].attrs["reject"] = "True"
        f["rec1.trc/traces/2"].attrs["comment"] = "by offspect"
    with CacheFile(cache_path) as cache:
        assert cache.load_only(["reject"], [5]) == {"reject": [True]}
        assert cache.load_only(KEYS) == per_trace(cache, KEYS)
        cache.update(6, comment="after")
        cache.checkpoint()  # a stale table is dropped, never stamped fresh again
        assert cache.load_only(KEYS) == per_trace(cache, KEYS)
    with h5py.File(cache_path, "r") as f:
        assert all(columns.TABLE not in f[origin] for origin in f)


def test_load_only_raw_strings_and_missing_marker(cache_path):
    with CacheFile(cache_path) as cache:
        cache.update(1, my_note="x", onset_shift=2)
        absent = object()
        loaded = cache.load_only(["onset_shift", "my_note"], [0, 1], raw=True, missing=absent)
        assert loaded == {"onset_shift": ["0", "2"], "my_note": [absent, "x"]}
        assert [cache.get_trace_attrs_raw(i).get("my_note", absent) for i in (0, 1)] == \
            loaded["my_note"]


def test_load_only_refuses_bad_indexes_with_typed_errors(cache_path):
    with CacheFile(cache_path, mode="r") as cache:
        for bad in ([40], [-1], 3, [1.5], [[1, 2]]):
            with pytest.raises(CacheIndexError):
                cache.load_only(["reject"], bad)
        assert cache.load_only(["reject"], []) == {"reject": []}
        assert cache.load_only([], [1]) == {}


def test_load_only_of_a_cache_without_tables_reads_trace_by_trace(cache_path):
    with h5py.File(cache_path, "r+") as f:  # as offspect-made caches are
        for origin in f:
            del f[origin][columns.TABLE]
    with CacheFile(cache_path) as cache:
        cache.update(2, reject=True)
        assert cache.load_only(KEYS) == per_trace(cache, KEYS)


# -- backup -----------------------------------------------------------------------------------
def same_cache(a: CacheFile, b: CacheFile) -> None:
    assert len(a) == len(b) and a.origins == b.origins
    assert [a.get_trace_attrs_raw(i) for i in range(len(a))] == \
        [b.get_trace_attrs_raw(i) for i in range(len(b))]
    assert [(r.tx, r.kind, r.changes, r.note) for r in a.history()] == \
        [(r.tx, r.kind, r.changes, r.note) for r in b.history()]
    for i in (0, len(a) - 1):
        np.testing.assert_array_equal(a.get_trace_data(i), b.get_trace_data(i))


def test_backup_while_this_process_writes_keeps_values_history_and_undo(cache_path, tmp_path):
    with CacheFile(cache_path) as cache:
        edit_a_little(cache)
        assert cache.writable and cache.pending_edits > 0
        copy = cache.backup(tmp_path / "copy.hdf5")
        with CacheFile(copy) as backup:
            assert backup.problems == []
            assert backup.pending_edits > 0  # the journal came along, not just the file
            same_cache(cache, backup)
            cache.update(4, comment="after the backup")
            assert backup.get_trace_attrs(4)["comment"] == ""
            cache.undo()  # the edit made after the backup, which the copy does not hold
            assert backup.undo().target == cache.undo().target  # the same history to undo
            assert backup.get_trace_attrs(3)["comment"] == "noisy"
            assert backup.load_only(KEYS) == cache.load_only(KEYS)


def test_backup_by_a_reader_while_another_cache_object_holds_the_lock(cache_path, tmp_path):
    with CacheFile(cache_path, mode="w") as writer, CacheFile(cache_path, mode="r") as reader:
        writer.update(5, reject=True)
        writer.checkpoint()
        writer.update(6, comment="journal only")
        copy = reader.backup(tmp_path / "copy.hdf5")
        with CacheFile(copy, mode="r") as backup:
            same_cache(writer, backup)


def test_backups_taken_during_edits_and_checkpoints_are_never_torn(cache_path, tmp_path):
    stop = threading.Event()

    def keep_editing(cache: CacheFile) -> int:
        n = 0
        while not stop.is_set():
            n += 1
            cache.update(n % len(cache), comment=f"edit {n}", onset_shift=n % 5)
            if n % 3 == 0:
                cache.checkpoint_if_idle(0)
        return n

    with CacheFile(cache_path) as cache, ThreadPoolExecutor(1) as pool:
        cache.update(0, comment="start")
        editor = pool.submit(keep_editing, cache)
        try:
            copies = [cache.backup(tmp_path / f"copy{k}.hdf5") for k in range(6)]
        finally:
            stop.set()
        assert editor.result(timeout=60) > 0  # re-raises what went wrong in the editor
        source_history = [r.tx for r in cache.history()]
    for copy in copies:
        with CacheFile(copy, mode="r") as backup:
            history = backup.history()
            assert backup.problems == []
            assert [r.tx for r in history] == source_history[:len(history)]
            expected = replay(cache_path, history)
            for (index, key), value in expected.items():
                assert backup.get_trace_attrs_raw(index)[key] == value


def replay(cache_path: Path, history) -> dict[tuple[int, str], str]:
    """The watched values after the records of ``history``, applied to the built cache."""
    with CacheFile(cache_path, mode="r") as cache:
        position = {cache.trace_origin(i): i for i in range(len(cache))}
    values = {(i, key): ("" if key == "comment" else "0")
              for i in position.values() for key in ("comment", "onset_shift")}
    for record in history:
        for change in record.changes:
            values[(position[(change.origin, change.trace)], change.key)] = change.new
    return values


def test_backup_refuses_to_overwrite_and_replaces_a_stale_journal(cache_path, tmp_path):
    target = tmp_path / "copy.hdf5"
    with CacheFile(cache_path) as cache:
        cache.update(1, reject=True)
        cache.backup(target)
        with pytest.raises(CacheError, match="already exists"):
            cache.backup(target)
        with pytest.raises(CacheError, match="being backed up"):
            cache.backup(cache_path)
    fresh = make_cache(tmp_path / "fresh.hdf5", n_traces=4)
    assert not journal_path(fresh).exists()
    with CacheFile(fresh, mode="r") as cache:
        cache.backup(target, overwrite=True)
    assert not journal_path(target).exists()  # the old copy's journal does not apply
    with CacheFile(target, mode="r") as copy:
        assert len(copy) == 4 and copy.problems == [] and copy.history() == []


def test_backup_of_an_abandoned_writer_keeps_its_unfolded_edits(cache_path, tmp_path):
    cache = CacheFile(cache_path)
    cache.update(8, comment="never checkpointed")
    abandon(cache)  # as a crash before the checkpoint would
    with CacheFile(cache_path, mode="r") as reader:
        copy = reader.backup(tmp_path / "copy.hdf5")
    with CacheFile(copy, mode="r") as backup:
        assert backup.get_trace_attrs(8)["comment"] == "never checkpointed"


def test_an_offspect_style_reader_still_reads_every_trace_and_edit(cache_path):
    """offspect walks the origins and reads ``<origin>/traces`` only: the tables beside
    ``traces`` must not show up as traces, and edits reach the per-trace attributes."""
    with CacheFile(cache_path) as cache:
        edit_a_little(cache)
        expected = [cache.get_trace_attrs_raw(i) for i in range(len(cache))]
    rows = []
    with h5py.File(cache_path, "r", libver="latest", swmr=True) as f:
        for origin in f:
            traces = f[origin]["traces"]
            rows += [dict(traces[name].attrs) for name in sorted(traces, key=int)]
    assert rows == expected
