"""Power loss: no acknowledged edit is lost and the cache stays writable.

The crash model is SQLite's test6: the writes not yet synced when the power goes are
lost, and every 512-byte sector they touched may hold its old bytes, its new bytes or
garbage. The workload of the crash tests runs in this process; a fault hook records the
journal around one random append and stops the writer before that append's sync returns
(so it is never acknowledged); the journal is then replaced by what the disk may hold,
and the cache must open for writing with every acknowledged operation and the one in
flight whole or not at all (``testkit.cache.power_loss_run``).

A second test shows that the model bites: the same garbling, applied to records framed
as version 1 journals framed them (one after another, sharing sectors), destroys
acknowledged records and headers, and never does so to version 2's sector-aligned ones.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from testkit.cache import after_power_loss, make_cache, power_loss_run
from tracemark.io_backends.cache import CacheFile
from tracemark.io_backends.cache.journal import (
    SECTOR,
    Change,
    JournalReader,
    JournalWriter,
    Record,
    frame,
    header_bytes,
    journal_path,
    padded,
)

RUNS = 100


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_cache(tmp_path_factory.mktemp("power") / "cache.hdf5", n_traces=12)


def test_no_acknowledged_edit_is_lost_and_the_cache_stays_writable(template, tmp_path,
                                                                     monkeypatch):
    # The simulation decides what the disk holds, so real syncs would only cost time.
    monkeypatch.setattr(os, "fdatasync", lambda fd: None, raising=False)
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    outcomes = [power_loss_run(template, tmp_path / f"run{seed}", seed, n_ops=30)
                for seed in range(RUNS)]
    hit = [o for o in outcomes if o.hit_append is not None]
    assert len(hit) >= RUNS * 0.8, "most runs must lose the power during an append"
    # Both fates of the unacknowledged append occur, so the model was really exercised.
    assert any(o.in_flight_applied for o in hit) and not all(o.in_flight_applied for o in hit)


def _record(seq: int) -> Record:
    return Record(seq=seq, tx=f"tx{seq:04d}", kind="edit", time="2026-01-01T00:00:00+00:00",
                  user="ann", host="lab", pid=7, note="",
                  changes=(Change("rec.trc", str(seq), "comment", None, "x" * (seq * 37 % 300)),))


def _journal_bytes(n_records: int, aligned: bool) -> tuple[bytes, list[bytes]]:
    """A journal's header and ``n_records`` records, framed as version 2 writes them
    (aligned) or as version 1 did."""
    header = header_bytes("c0ffee") if aligned else b"TRACEMARK-JOURNAL 1 c0ffee\n"
    records, at = [], len(header)
    for seq in range(1, n_records + 1):
        line = frame(_record(seq).to_payload())
        records.append(padded(line, at) if aligned else line)
        at += len(records[-1])
    return header, records


def _lost_acknowledged(image: bytes, acknowledged: int, tmp_path) -> bool:
    path = tmp_path / "j.journal"
    path.write_bytes(image)
    reader = JournalReader(path)
    try:
        seqs = [r.seq for r in reader.poll(after_seq=0)]
    except Exception:  # noqa: BLE001 -- an unreadable header loses every record
        return True
    finally:
        reader.close()
    return seqs[:acknowledged] != list(range(1, acknowledged + 1))


@pytest.mark.parametrize("aligned", [False, True], ids=["version1", "version2"])
def test_garbled_sectors_destroy_only_unaligned_acknowledged_records(aligned, tmp_path):
    losses = 0
    for seed in range(RUNS):
        rng = np.random.default_rng(seed)
        acknowledged = int(rng.integers(0, 6))
        header, records = _journal_bytes(acknowledged + 1, aligned)
        before = header + b"".join(records[:acknowledged])
        image = after_power_loss(before, before + records[acknowledged], rng)
        losses += _lost_acknowledged(image, acknowledged, tmp_path)
    if aligned:
        assert losses == 0
    else:
        assert losses > 0, "the crash model must be able to hurt shared sectors"


def test_every_record_starts_a_sector_of_its_own(tmp_path):
    path = make_cache(tmp_path / "c.hdf5", n_traces=6)
    with CacheFile(path, mode="w") as cache:
        for n in range(5):
            cache.update(n, comment="y" * (n * 150))
        offsets = [r.offset for r in cache.history()]
    data = journal_path(path).read_bytes()
    assert data.startswith(b"TRACEMARK-JOURNAL 2 ") and len(data) % SECTOR == 0
    assert offsets[0] == SECTOR and all(o % SECTOR == 0 for o in offsets), offsets


def _as_version1(path) -> bytes:
    """Rewrite a journal as a version 1 writer would have written the same records."""
    lines = [line for line in path.read_bytes().splitlines(keepends=True) if line.strip(b" \n")]
    old = lines[0].replace(b"JOURNAL 2 ", b"JOURNAL 1 ") + b"".join(lines[1:])
    path.write_bytes(old)
    return old


def test_a_version1_journal_is_read_then_upgraded_by_the_first_writer(tmp_path):
    path = make_cache(tmp_path / "c.hdf5", n_traces=6)
    with CacheFile(path, mode="w") as cache:
        for n in range(4):
            cache.update(n, comment=f"v1-{n}")
    with CacheFile(path, mode="w") as cache:  # leave edits pending in the journal
        cache.update(4, comment="pending")
        history = [(r.seq, r.tx) for r in cache.history()]
        cache._release_handles()  # as a crash would: no checkpoint
    old = _as_version1(journal_path(path))

    reader = CacheFile(path, mode="r")  # follows the version 1 journal as it is
    assert reader.get_trace_attrs(4)["comment"] == "pending"
    assert journal_path(path).read_bytes() == old
    with CacheFile(path, mode="w") as writer:  # upgrades, keeping every record
        assert [(r.seq, r.tx) for r in writer.history()] == history
        writer.update(5, comment="after upgrade")
        data = journal_path(path).read_bytes()
        assert data.startswith(b"TRACEMARK-JOURNAL 2 ")
        assert all(r.offset % SECTOR == 0 for r in writer.history())
        assert reader.get_trace_attrs(5)["comment"] == "after upgrade"  # followed the new file
    reader.close()
    with CacheFile(path, mode="r") as again:
        assert [again.get_trace_attrs(n)["comment"] for n in range(6)] == [
            "v1-0", "v1-1", "v1-2", "v1-3", "pending", "after upgrade"]


def test_a_record_whose_padding_was_cut_is_padded_before_the_next_one(tmp_path):
    path = tmp_path / "j.journal"
    writer = JournalWriter(path, "abc")
    writer.append(_record(1))
    writer.close()
    line_end = SECTOR + len(frame(_record(1).to_payload()))
    with open(path, "r+b") as handle:  # the crash cut the padding, not the record line
        handle.truncate(line_end + 10)
    writer = JournalWriter(path, "abc")
    assert writer.end % SECTOR == 0 and writer.last_seq == 1
    assert writer.append(_record(2)) % SECTOR == 0
    writer.close()
    reader = JournalReader(path)
    assert [r.seq for r in reader.poll(after_seq=0)] == [1, 2]
    assert reader.record_ending_at(path.stat().st_size) == 2  # found across the padding
    reader.close()
