"""The journal file: framing, torn and damaged tails, ownership, and skipping its folded part."""

from __future__ import annotations

import os

import pytest

from testkit.cache import abandon, make_cache
from tracemark.io_backends.cache import CacheFile, CacheReadOnlyError, JournalError
from tracemark.io_backends.cache.journal import Change, JournalReader, JournalWriter, Record, frame, journal_path


def record(seq: int, value: str = "v") -> Record:
    return Record(seq=seq, tx=f"tx{seq}", kind="edit", time="2024-01-01T00:00:00+00:00",
                  user="u", host="h", pid=1, changes=(Change("o", "0", "comment", None, value),))


def test_records_round_trip_and_a_torn_tail_is_ignored_then_cut(tmp_path):
    path = tmp_path / "j.journal"
    writer = JournalWriter(path, "abc")
    for seq in (1, 2, 3):
        writer.append(record(seq, "naïve, \"quoted\"\nnewline"))
    writer.close()
    whole = path.stat().st_size
    with open(path, "ab") as handle:  # a crash in the middle of record 4
        handle.write(frame(record(4).to_payload())[:30])
    reader = JournalReader(path)
    records = reader.poll(after_seq=0)
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].changes[0].new == "naïve, \"quoted\"\nnewline"
    assert reader.poll(after_seq=3) == []  # the torn record is not committed
    writer = JournalWriter(path, "abc")
    assert path.stat().st_size == whole and writer.last_seq == 3
    writer.append(record(4))
    assert [r.seq for r in reader.poll(after_seq=3)] == [4]
    assert not list(tmp_path.glob("*.damaged-*"))
    writer.close()
    reader.close()


def test_damage_followed_by_records_is_never_cut_and_a_damaged_tail_is_saved(tmp_path):
    path = tmp_path / "j.journal"
    writer = JournalWriter(path, "abc")
    writer.append(record(1))
    writer.close()
    good = path.stat().st_size
    with open(path, "ab") as handle:
        bad = bytearray(frame(record(2).to_payload()))
        bad[12] ^= 0xFF  # a flipped byte: the CRC no longer matches
        handle.write(bytes(bad) + frame(record(3).to_payload()))
    whole = path.read_bytes()
    with pytest.raises(JournalError, match=r"1 later record \(#3\) follows it"):
        JournalWriter(path, "abc")  # cutting would throw away the acknowledged record 3
    assert path.read_bytes() == whole
    with open(path, "r+b") as handle:  # now the damage is the tail: saved, then cut
        handle.truncate(good + len(bad))
    writer = JournalWriter(path, "abc")
    assert writer.last_seq == 1 and path.stat().st_size == good
    saved = list(tmp_path.glob("j.journal.damaged-*"))
    assert len(saved) == 1 and saved[0].read_bytes() == bytes(bad)
    writer.close()


def test_a_journal_of_another_cache_is_not_followed_and_writing_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = make_cache(tmp_path / "a" / "c.hdf5")
    b = make_cache(tmp_path / "b" / "c.hdf5")
    with CacheFile(a) as cache:
        cache.update(0, comment="a")
    os.replace(journal_path(a), journal_path(b))
    with CacheFile(b, mode="r") as cache:  # the HDF5 file alone is shown, and the reason
        assert cache.get_trace_attrs(0)["comment"] == ""
        assert any("c.hdf5.journal: belongs to another cache" in p for p in cache.problems)
    with pytest.raises(CacheReadOnlyError, match="belongs to another cache"):
        CacheFile(b, mode="w")


def test_reopening_skips_the_part_of_the_journal_already_in_the_file(tmp_path):
    path = make_cache(tmp_path / "c.hdf5", n_traces=10)
    with CacheFile(path) as cache:
        for i in range(5):
            cache.update(i, comment=f"folded {i}")
    cache = CacheFile(path, mode="w")
    cache.update(7, comment="pending")
    abandon(cache)
    data = bytearray(journal_path(path).read_bytes())
    first_record = data.index(b"\n") + 1
    data[first_record + 20] ^= 0xFF  # damage a record that is already in the HDF5 file
    journal_path(path).write_bytes(bytes(data))
    with CacheFile(path, mode="r") as cache:  # starts reading at the file's journal offset
        assert cache.get_trace_attrs(7)["comment"] == "pending"
        assert cache.get_trace_attrs(0)["comment"] == "folded 0"


def test_undo_and_redo_targets_found_backwards_match_forward_stacks():
    from random import Random

    from tracemark.io_backends.cache.history import next_redo, next_undo

    rng = Random(7)
    for _ in range(200):
        records, undo_stack, redo_stack = [], [], []
        for seq in range(1, rng.randint(1, 40)):
            choice = rng.choice(("edit", "undo", "undo", "redo"))
            if choice == "undo" and undo_stack:
                target = undo_stack.pop()
                redo_stack.append(target)
            elif choice == "redo" and redo_stack:
                target = redo_stack.pop()
                undo_stack.append(target)
            else:
                choice, target = "edit", None
                undo_stack.append(f"tx{seq}")
                redo_stack.clear()
            records.append(Record(seq=seq, tx=f"tx{seq}", kind=choice, time="", user="",
                                  host="", pid=0, changes=(), target=target))
        found_undo = next_undo(reversed(records))
        found_redo = next_redo(reversed(records))
        assert (found_undo.tx if found_undo else None) == (undo_stack[-1] if undo_stack else None)
        assert (found_redo.tx if found_redo else None) == (redo_stack[-1] if redo_stack else None)


def test_reading_backwards_yields_every_record_newest_first(tmp_path):
    path = tmp_path / "j.journal"
    writer = JournalWriter(path, "abc")
    for seq in range(1, 400):
        writer.append(record(seq, "x" * (seq % 50)))
    writer.close()
    with open(path, "ab") as handle:
        handle.write(b"0badc0de 99 {torn")
    reader = JournalReader(path)
    assert [r.seq for r in reader.backwards(chunk=333)] == list(range(399, 0, -1))
    reader.close()
