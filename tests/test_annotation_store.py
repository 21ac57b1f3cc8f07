"""The annotation file: durable commits, undo/redo and history from the journal, one
writer and followers, the recording's key, and damage that gives a typed error or a
read-only file, never a hang or a silently dropped mark."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from testkit.cache import PowerCut, PowerLoss, after_power_loss
from testkit.damage import damaged_blocks
from tracemark.demo.trc_writer import write_trc_array
from tracemark.domain import annotations as A
from tracemark.domain.annotations import AnnotationError, AnnotationState, FieldChange
from tracemark.io_backends.annotation_store import (
    AnnotationFileError,
    AnnotationLockedError,
    AnnotationReadOnlyError,
    default_annotation_path,
    open_annotations,
    recording_key,
)
from tracemark.io_backends.cache import fsops
from tracemark.io_backends.cache.journal import Change, JournalReader, JournalWriter, Record
from tracemark.io_backends.errors import RecordingError

REPO = Path(__file__).resolve().parents[1]


def make_recording(path: Path, seconds: float = 10.0, level: float = 0.0) -> Path:
    rate = 256
    data = np.full((int(seconds * rate), 3), level, dtype=np.float32)
    return write_trc_array(path, data, channel_names=["Fp1", "Fp2", "Cz"], sampling_rate=rate)


@pytest.fixture
def recording(tmp_path) -> Path:
    return make_recording(tmp_path / "rec.trc")


@pytest.fixture
def annot(tmp_path) -> Path:
    return tmp_path / "marks.tmannot"


def add(store, onset, duration=0.0, label="Event", channels=()):
    annotation, changes = A.add(store.state, onset, duration, label, channels)
    store.commit(changes)
    return annotation


def comparable(state: AnnotationState):
    return (dict(state.annotations), dict(state.labels), dict(state.bad_channels))


# -- commits, undo, redo, history ---------------------------------------------------------------
def test_commit_undo_redo_and_history_round_trip(recording, annot):
    with open_annotations(recording, annot) as store:
        assert store.read_only_reason == ""
        assert list(store.state.labels) == [label.name for label in A.DEFAULT_LABELS]
        event = add(store, 1.0)
        span = add(store, 2.0, 1.5, "Spike", ["Cz"])
        store.commit(A.set_channel_bad(store.state, "Fp1", True, "flat"), note="looks flat")
        assert store.state.bad_channels == {"Fp1": "flat"}
        assert store.can_undo and not store.can_redo
        assert store.undo().bad_channels == {}
        assert store.undo().annotations.keys() == {event.id}
        assert store.can_redo
        assert set(store.redo().annotations) == {event.id, span.id}
        moved, changes = A.modify(store.state, event.id, onset_s=1.25)
        store.commit(changes)
        assert not store.can_redo  # a new edit clears the redo stack
        history = store.history()
        final = comparable(store.state)
    assert [h.kind for h in history] == ["edit", "edit", "edit", "undo", "undo", "redo", "edit"]
    assert history[2].note == "looks flat"
    assert history[3].target == history[2].tx and history[5].target == history[1].tx
    assert history[4].changes == (FieldChange(A.ANNOTATION, span.id, span.to_json(), None),)
    assert history[6].changes[0].old == event.to_json()
    assert history[6].changes[0].new == moved.to_json()
    assert all(h.user and h.host and h.pid == os.getpid() and "T" in h.time for h in history)
    with open_annotations(recording, annot) as reopened:
        assert comparable(reopened.state) == final
        assert [h.tx for h in reopened.history()] == [h.tx for h in history]
        # undo works across a restart: it undoes the last edit made before it
        assert reopened.undo().annotations[event.id].onset_s == 1.0


def test_a_stale_change_is_refused_and_nothing_is_written(recording, annot):
    with open_annotations(recording, annot) as store:
        event = add(store, 1.0)
        stale = A.remove(store.state, event.id)
        _, moved = A.modify(store.state, event.id, onset_s=3.0)
        store.commit(moved)
        size = annot.stat().st_size
        with pytest.raises(AnnotationError, match="changed since"):
            store.commit(stale)
        assert annot.stat().st_size == size
        assert store.state.annotations[event.id].onset_s == 3.0
        assert store.commit([]) is store.state  # nothing to do: nothing written
        assert annot.stat().st_size == size


def test_undo_and_redo_with_empty_stacks_do_nothing(recording, annot):
    with open_annotations(recording, annot) as store:
        assert store.undo() is None and store.redo() is None
        assert not store.can_undo and not store.can_redo
    assert len(JournalReader(annot).read_all()) == 0


# -- one writer, followers ----------------------------------------------------------------------
def test_second_opener_is_read_only_names_the_holder_and_follows_the_writer(recording, annot):
    with open_annotations(recording, annot) as writer:
        first = add(writer, 1.0)
        with open_annotations(recording, annot) as follower:
            reason = follower.read_only_reason
            assert f"pid {os.getpid()}" in reason and "open for writing by" in reason
            assert set(follower.state.annotations) == {first.id}
            with pytest.raises(AnnotationReadOnlyError, match="read-only"):
                follower.commit(A.add(follower.state, 2.0, 0.0, "Event")[1])
            assert follower.undo() is None and not follower.can_undo
            assert follower.refresh() is False
            second = add(writer, 2.0)
            writer.commit(A.set_channel_bad(writer.state, "Cz", True))
            assert follower.refresh() is True
            assert set(follower.state.annotations) == {first.id, second.id}
            writer.undo()
            writer.undo()
            assert follower.refresh() is True
            assert comparable(follower.state) == comparable(writer.state)
            assert [h.kind for h in follower.history()] == ["edit", "edit", "edit", "undo", "undo"]
        with pytest.raises(AnnotationLockedError, match=f"pid {os.getpid()}") as refused:
            open_annotations(recording, annot, mode="r+")
        assert refused.value.path == annot


def test_a_follower_takes_the_file_over_once_the_holder_lets_go(recording, annot):
    writer = open_annotations(recording, annot)
    follower = open_annotations(recording, annot)
    reader = open_annotations(recording, annot, mode="r")
    first = add(writer, 1.0)
    writer.close()
    assert follower.refresh() is True
    assert follower.read_only_reason == "" and set(follower.state.annotations) == {first.id}
    second = add(follower, 2.0)
    assert follower.undo() is not None and follower.redo() is not None
    assert reader.refresh() is True  # mode "r" follows, and never takes over
    assert reader.read_only_reason == "opened read-only"
    assert set(reader.state.annotations) == {first.id, second.id}
    with open_annotations(recording, annot) as third:
        assert f"pid {os.getpid()}" in third.read_only_reason
        assert third.refresh() is False  # the follower now holds it
    follower.close()
    reader.close()
    with open_annotations(recording, annot, mode="r") as after:
        assert [h.kind for h in after.history()] == ["edit", "edit", "undo", "redo"]


def test_read_only_mode_of_a_missing_file_reads_default_labels_and_creates_nothing(recording, annot):
    with open_annotations(recording, annot, mode="r") as reader:
        assert reader.read_only_reason
        assert comparable(reader.state) == comparable(AnnotationState.with_default_labels())
        assert not annot.exists() and not Path(f"{annot}.lock").exists()
        with open_annotations(recording, annot, mode="r+") as writer:
            event = add(writer, 4.0)
        assert reader.refresh() is True
        assert set(reader.state.annotations) == {event.id}


def test_the_lock_is_free_again_after_close(recording, annot):
    open_annotations(recording, annot).close()
    with open_annotations(recording, annot, mode="r+") as store:
        assert store.read_only_reason == ""


# -- the recording's key and the default place ---------------------------------------------------
def test_key_follows_content_not_name(tmp_path):
    one = make_recording(tmp_path / "one.trc")
    key = recording_key(one)
    moved = tmp_path / "elsewhere" / "renamed.trc"
    moved.parent.mkdir()
    one.rename(moved)
    assert recording_key(moved) == key
    other = make_recording(tmp_path / "one.trc", level=5.0)
    assert recording_key(other) != key
    assert recording_key("https://example.org/a.edf") == recording_key("https://example.org/a.edf")
    assert recording_key("https://example.org/a.edf") != recording_key("https://example.org/b.edf")
    with pytest.raises(RecordingError, match="no such file"):
        recording_key(tmp_path / "missing.trc")


def test_key_of_a_large_file_covers_its_size_and_both_ends(tmp_path):
    big = tmp_path / "big.bin"
    data = bytearray(os.urandom(3 << 20))
    big.write_bytes(data)
    key = recording_key(big)
    data[-1] ^= 1
    big.write_bytes(data)
    assert recording_key(big) != key
    big.write_bytes(data + b"\0")
    assert recording_key(big) != key


def test_default_place_is_in_the_user_data_folder_and_a_moved_recording_keeps_its_marks(tmp_path):
    recording = make_recording(tmp_path / "a.trc")
    path = default_annotation_path(recording)
    assert path.parent == Path(os.environ["XDG_DATA_HOME"]) / "tracemark" / "annotations"
    assert path.name == f"{recording_key(recording)}.tmannot"
    with open_annotations(recording) as store:
        assert store.path == path
        event = add(store, 3.0)
    moved = recording.rename(tmp_path / "b.trc")
    with open_annotations(moved, mode="r") as store:
        assert set(store.state.annotations) == {event.id}


# -- crashes -----------------------------------------------------------------------------------------
WRITER = textwrap.dedent("""
    import sys
    from tracemark.domain import annotations as A
    from tracemark.io_backends.annotation_store import open_annotations
    recording, path = sys.argv[1], sys.argv[2]
    store = open_annotations(recording, path, mode="r+", lock_timeout=30)
    k = 0
    while True:
        annotation, changes = A.add(store.state, (k % 900) / 100, 0.0, "Event")
        store.commit(changes)
        print(annotation.id, flush=True)
        k += 1
""")


@pytest.mark.timeout(240)
def test_every_acknowledged_mark_survives_sigkill(recording, annot):
    rng = np.random.default_rng(13)
    acknowledged: list[str] = []
    for _ in range(5):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(recording), str(annot)],
                                 stdout=subprocess.PIPE, cwd=str(REPO))
        assert child.stdout is not None
        wanted = int(rng.integers(1, 60))
        for _ in range(wanted):
            line = child.stdout.readline()
            assert line, f"the writer ended early (exit {child.poll()})"
            acknowledged.append(line.decode().strip())
        child.send_signal(signal.SIGKILL)  # while it commits the next marks
        child.wait(timeout=60)
        child.stdout.close()
        with open_annotations(recording, annot, mode="r") as after:
            missing = set(acknowledged) - set(after.state.annotations)
            assert not missing, f"acknowledged marks lost after SIGKILL: {sorted(missing)}"
    with open_annotations(recording, annot, mode="r+") as store:
        assert set(acknowledged) <= set(store.state.annotations)
        add(store, 9.5)  # a writer after the crashes cuts any torn tail and goes on


def test_power_loss_during_a_commit_keeps_every_acknowledged_mark(recording, annot, tmp_path):
    for seed in range(8):
        annot.unlink(missing_ok=True)
        with open_annotations(recording, annot) as store:
            acknowledged = [add(store, 0.5).id]
        cut = PowerCut(annot, target=int(seed % 4))
        store = open_annotations(recording, annot)
        fsops.set_fault_hook(cut)
        in_flight: str | None = None
        try:
            for k in range(6):
                annotation, changes = A.add(store.state, k, 0.0, "Event")
                in_flight = annotation.id
                store.commit(changes)
                acknowledged.append(annotation.id)
        except PowerLoss:
            pass
        finally:
            fsops.set_fault_hook(None)
            store.close()
        assert cut.before is not None and cut.after is not None
        annot.write_bytes(after_power_loss(cut.before, cut.after, np.random.default_rng(seed)))
        with open_annotations(recording, annot, mode="r+") as reopened:
            ids = set(reopened.state.annotations)
            assert set(acknowledged) <= ids
            assert ids - set(acknowledged) <= {in_flight}


def test_an_io_error_on_commit_is_not_acknowledged_and_the_next_commit_works(recording, annot):
    # The failed fsync comes after the bytes were written: the record may count or not, but
    # the store and the file must agree once the next commit has rebuilt the state.
    def failing(point, detail):
        if point == "fsync":
            raise OSError(5, "Input/output error", detail)

    with open_annotations(recording, annot) as store:
        kept = add(store, 1.0)
        fsops.set_fault_hook(failing)
        try:
            with pytest.raises(AnnotationFileError, match="not saved"):
                add(store, 2.0)
        finally:
            fsops.set_fault_hook(None)
        assert set(store.state.annotations) == {kept.id}
        later = add(store, 3.0)
        expected = comparable(store.state)
    with open_annotations(recording, annot, mode="r") as reopened:
        assert comparable(reopened.state) == expected
        assert {kept.id, later.id} <= set(reopened.state.annotations)


# -- damage ------------------------------------------------------------------------------------------
def written_file(recording: Path, annot: Path, n: int = 4) -> list[str]:
    with open_annotations(recording, annot) as store:
        return [add(store, float(k)).id for k in range(n)]


def test_torn_tail_is_cut_by_the_next_writer(recording, annot):
    ids = written_file(recording, annot)
    intact = annot.read_bytes()
    with open(annot, "ab") as handle:
        handle.write(b'1a2b3c4d 300 {"seq":5,"tx":"x","kind":"ed')  # a torn append
    with open_annotations(recording, annot, mode="r") as reader:
        assert set(reader.state.annotations) == set(ids)
    with open_annotations(recording, annot) as store:
        assert store.read_only_reason == "" and set(store.state.annotations) == set(ids)
        assert annot.read_bytes() == intact
        add(store, 9.0)


def test_garbled_record_in_the_middle_opens_read_only_or_refuses(recording, annot):
    ids = written_file(recording, annot)
    records = JournalReader(annot).read_all()
    data = bytearray(annot.read_bytes())
    data[records[1].offset + 30] ^= 0x20  # inside the second record's payload
    annot.write_bytes(bytes(data))
    with open_annotations(recording, annot) as store:
        assert "damaged" in store.read_only_reason and "2 later records" in store.read_only_reason
        assert set(store.state.annotations) == {ids[0]}
        with pytest.raises(AnnotationReadOnlyError):
            add(store, 5.0)
    with pytest.raises(AnnotationFileError, match="damaged"):
        open_annotations(recording, annot, mode="r+")
    assert annot.read_bytes() == bytes(data)  # nothing cut, nothing lost


def test_garbled_last_record_is_kept_aside_and_cut(recording, annot):
    ids = written_file(recording, annot)
    records = JournalReader(annot).read_all()
    data = bytearray(annot.read_bytes())
    data[records[-1].offset + 30] ^= 0x20
    annot.write_bytes(bytes(data))
    with open_annotations(recording, annot) as store:
        assert store.read_only_reason == ""
        assert set(store.state.annotations) == set(ids[:-1])
    kept = list(annot.parent.glob(f"{annot.name}.damaged-*"))
    assert len(kept) == 1 and kept[0].stat().st_size > 0


def forge(annot: Path, key: str, changes: list[Change]) -> None:
    """Append a record with a valid checksum that the store did not write."""
    reader = JournalReader(annot)
    last = reader.read_all()[-1].seq
    reader.close()
    writer = JournalWriter(annot, key)
    writer.append(Record(seq=last + 1, tx="forged", kind="edit", time="2026-01-01T00:00:00",
                         user="x", host="y", pid=1, changes=tuple(changes)))
    writer.close()


@pytest.mark.parametrize("change, problem", [
    (Change("annotation", "nope", "value", '{"onset_s":1}', None), "does not apply"),
    (Change("annotation", "bad1", "value", None, '{"onset_s":"soon","duration_s":0,'
            '"label":"E","channels":[]}'), "does not apply"),
    (Change("annotation", "bad2", "value", None, '{"onset_s":1,"duration_s":0,'
            '"label":"E","channels":5}'), "does not apply"),
    (Change("trace", "t1", "reject", None, "True"), "not an annotation change"),
])
def test_a_record_that_does_not_apply_means_damage_not_a_silent_skip(recording, annot, change,
                                                                       problem):
    ids = written_file(recording, annot, n=2)
    forge(annot, recording_key(recording), [change])
    with open_annotations(recording, annot) as store:
        assert problem in store.read_only_reason and "#3" in store.read_only_reason
        assert set(store.state.annotations) == set(ids)
    with pytest.raises(AnnotationFileError, match=problem):
        open_annotations(recording, annot, mode="r+")
    with open_annotations(recording, annot, mode="r") as reader:
        assert problem in reader.read_only_reason


def test_another_recordings_file_is_refused_in_every_mode(recording, annot, tmp_path):
    written_file(recording, annot, n=1)
    other = make_recording(tmp_path / "other.trc", level=3.0)
    before = annot.read_bytes()
    for mode in ("auto", "r", "r+"):
        with pytest.raises(AnnotationFileError, match="another recording"):
            open_annotations(other, annot, mode=mode)
    assert annot.read_bytes() == before


@pytest.mark.parametrize("content", [b"onset,duration,label\n1,0,Event\n", b"\x00" * 600,
                                     b"TRACEMARK-JOURNAL 9 file-abc\n"])
def test_a_file_that_is_not_an_annotation_journal_is_refused_and_left_alone(recording, annot,
                                                                            content):
    annot.write_bytes(content)
    for mode in ("auto", "r", "r+"):
        with pytest.raises(AnnotationFileError) as refused:
            open_annotations(recording, annot, mode=mode)
        assert str(annot) in str(refused.value)
    assert annot.read_bytes() == content


@pytest.mark.timeout(60)
def test_a_folder_or_pipe_in_the_files_place_is_refused_without_hanging(recording, tmp_path):
    folder = tmp_path / "folder.tmannot"
    folder.mkdir()
    pipe = tmp_path / "pipe.tmannot"
    os.mkfifo(pipe)
    for path in (folder, pipe):
        for mode in ("auto", "r"):
            with pytest.raises(AnnotationFileError, match="not a regular file"):
                open_annotations(recording, path, mode=mode)
    with pytest.raises(AnnotationFileError, match="does not exist"):
        open_annotations(recording, tmp_path / "no" / "such.tmannot")


def test_an_empty_file_is_a_new_annotation_file(recording, annot):
    annot.write_bytes(b"")
    with open_annotations(recording, annot) as store:
        event = add(store, 1.0)
    with open_annotations(recording, annot, mode="r") as reader:
        assert set(reader.state.annotations) == {event.id}


@pytest.mark.timeout(120)
def test_lost_and_garbled_blocks_give_a_typed_error_or_a_state_without_invented_marks(
        recording, annot, tmp_path):
    ids = written_file(recording, annot, n=12)
    ends = [(r.offset, r.changes[0].trace) for r in JournalReader(annot).read_all()]
    data = annot.read_bytes()
    rng = np.random.default_rng(5)
    for offset in range(0, len(data), 512):
        for _kind, what, damaged in damaged_blocks(data, offset, rng):
            annot.write_bytes(damaged)
            for leftover in tmp_path.glob("*.damaged-*"):
                leftover.unlink()
            try:
                store = open_annotations(recording, annot)
            except AnnotationFileError as error:
                assert str(annot) in str(error), what
                continue
            with store:
                found = set(store.state.annotations)
                assert found <= set(ids), what
                before_damage = {ident for start, ident in ends if start + 512 <= offset}
                assert before_damage <= found, f"{what}: marks before the damage lost"
