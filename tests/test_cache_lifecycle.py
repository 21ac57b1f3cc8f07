"""The cache's one state (``CacheFile.state``) and the moves between states: which mode
opens in which state, which operation moves it where, that an operation in the wrong state
gets the typed error it always got, that a move the table forbids is refused, and that the
one fold routine behaves alike for ``checkpoint`` and ``checkpoint_if_idle``.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
from pathlib import Path

import h5py
import pytest

from testkit.cache import make_cache
from tracemark.io_backends.cache import (
    CacheClosedError,
    CacheFile,
    CacheLockedError,
    CacheReadOnlyError,
    CacheWriteError,
    checkpointer,
    fsops,
    lifecycle,
)
from tracemark.io_backends.cache.journal import JournalReader, journal_path
from tracemark.io_backends.cache.layout import ATTR_CACHE_ID, root_state
from tracemark.io_backends.cache.lifecycle import CacheState, IllegalTransition, Lifecycle


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return make_cache(tmp_path_factory.mktemp("template") / "c.hdf5", n_traces=6)


@pytest.fixture
def cache_path(template, tmp_path) -> Path:
    path = tmp_path / "c.hdf5"
    shutil.copyfile(template, path)
    return path


# -- the table ------------------------------------------------------------------------------
def test_every_move_the_table_allows_is_taken_and_every_other_is_refused(tmp_path):
    for start in CacheState:
        for wanted in CacheState:
            machine = Lifecycle(tmp_path / "c.hdf5")
            machine._state = start  # put it there directly, to test each edge alone
            if wanted in lifecycle.ALLOWED_MOVES[start]:
                machine.move_to(wanted)
                assert machine.state is wanted
            else:
                with pytest.raises(IllegalTransition, match=f"{start.value!r} cannot move"):
                    machine.move_to(wanted)
                assert machine.state is start


def test_the_table_is_the_documented_machine():
    s = CacheState
    assert {(a, b) for a, moves in lifecycle.ALLOWED_MOVES.items() for b in moves} == {
        (s.OPENING, s.READ_ONLY), (s.OPENING, s.LOCK_ON_EDIT), (s.OPENING, s.WRITING),
        (s.LOCK_ON_EDIT, s.WRITING), (s.WRITING, s.NEEDS_RECOVERY),
        (s.NEEDS_RECOVERY, s.WRITING),
        *((a, s.CLOSED) for a in CacheState if a is not s.CLOSED),
    }


def test_closed_is_final_and_refuses_with_the_typed_error(tmp_path):
    machine = Lifecycle(tmp_path / "c.hdf5")
    machine.require_open()  # opening is open
    machine.move_to(CacheState.CLOSED)
    assert not lifecycle.ALLOWED_MOVES[CacheState.CLOSED]
    with pytest.raises(CacheClosedError, match="c.hdf5.*closed"):
        machine.require_open()


def test_only_the_writing_states_hold_the_lock():
    assert {s for s in CacheState if s.holds_lock} == {CacheState.WRITING,
                                                       CacheState.NEEDS_RECOVERY}


# -- modes and moves of a real cache -------------------------------------------------------
@pytest.mark.parametrize("mode, state", [("r", CacheState.READ_ONLY),
                                         ("r+", CacheState.LOCK_ON_EDIT),
                                         ("w", CacheState.WRITING),
                                         ("auto", CacheState.WRITING)])
def test_each_mode_opens_in_its_state_and_close_ends_in_closed(cache_path, mode, state):
    cache = CacheFile(cache_path, mode=mode)
    assert cache.state is state
    assert cache.writable == state.holds_lock
    cache.close()
    assert cache.state is CacheState.CLOSED and cache.closed
    cache.close()  # closing twice is allowed and changes nothing
    assert cache.state is CacheState.CLOSED


def test_the_first_edit_takes_the_lock(cache_path):
    with CacheFile(cache_path) as cache:
        cache.get_trace_attrs(0)
        assert cache.state is CacheState.LOCK_ON_EDIT
        cache.update(0, comment="first")
        assert cache.state is CacheState.WRITING
        assert "<CacheFile 'c.hdf5' 6 traces (writer)>" == repr(cache)


def test_auto_without_the_lock_is_read_only_and_refuses_edits_typed(cache_path):
    with CacheFile(cache_path, mode="w"), CacheFile(cache_path, mode="auto") as second:
        assert second.state is CacheState.READ_ONLY
        with pytest.raises(CacheReadOnlyError, match="opened read-only; the edit was not"):
            second.update(0, comment="refused")
        with pytest.raises(CacheReadOnlyError):
            second.undo()
        assert second.state is CacheState.READ_ONLY
        assert second.checkpoint_if_idle(0) is False


def test_a_refused_lock_at_the_first_edit_leaves_the_edit_to_be_tried_again(cache_path):
    with CacheFile(cache_path) as cache:
        with CacheFile(cache_path, mode="w"):
            with pytest.raises(CacheLockedError):
                cache.update(0, comment="refused")
            assert cache.state is CacheState.LOCK_ON_EDIT
        cache.update(0, comment="taken")
        assert cache.state is CacheState.WRITING
        assert cache.get_trace_attrs(0)["comment"] == "taken"


@pytest.mark.parametrize("operation", [
    lambda c: c.get_trace_attrs(0), lambda c: c.get_trace_data(0), lambda c: c.history(),
    lambda c: c.update(0, comment="x"), lambda c: c.undo(), lambda c: c.checkpoint(),
    lambda c: c.load_only("comment"), lambda c: c.edited_traces(), lambda c: c.refresh(),
    lambda c: c.queue_writer(), lambda c: c.can_undo,
])
def test_every_operation_on_a_closed_cache_raises_closed(cache_path, operation):
    cache = CacheFile(cache_path, mode="w")
    cache.close()
    with pytest.raises(CacheClosedError):
        operation(cache)
    assert cache.checkpoint_if_idle(0) is False


def test_a_failed_append_needs_recovery_and_the_next_edit_recovers(cache_path):
    armed = {"append": True}

    def fail_one_append(point: str, detail: str) -> None:
        if point == "append" and armed.pop("append", False):
            raise OSError(errno.EIO, os.strerror(errno.EIO), detail)

    with CacheFile(cache_path, mode="w") as cache:
        cache.update(0, comment="before")
        unchanged = cache.get_trace_attrs(1)["comment"]
        fsops.set_fault_hook(fail_one_append)
        try:
            with pytest.raises(CacheWriteError, match="the edit was not saved"):
                cache.update(1, comment="lost")
            assert cache.state is CacheState.NEEDS_RECOVERY and cache.writable
            cache.update(2, comment="after")
        finally:
            fsops.set_fault_hook(None)
        assert cache.state is CacheState.WRITING
        assert [cache.get_trace_attrs(i).get("comment") for i in range(3)] == [
            "before", unchanged, "after"]
    with CacheFile(cache_path, mode="r") as reader:
        assert reader.get_trace_attrs(2)["comment"] == "after"


def test_a_failed_open_leaves_the_lock_free(cache_path, monkeypatch):
    def refuse(self) -> None:
        raise CacheWriteError(cache_path, "its journal cannot be opened for writing (test)")

    monkeypatch.setattr("tracemark.io_backends.cache.session.WriterSession.open_journal_now",
                        refuse)
    with pytest.raises(CacheWriteError, match="cannot be opened for writing"):
        CacheFile(cache_path, mode="w")
    monkeypatch.undo()
    with CacheFile(cache_path, mode="w") as cache:  # the failed open released the lock
        assert cache.state is CacheState.WRITING


# -- the one fold -----------------------------------------------------------------------------
@pytest.mark.parametrize("fold", ["checkpoint", "checkpoint_if_idle"])
def test_both_entry_points_fold_without_holding_the_mutex(cache_path, monkeypatch, fold):
    """An edit made on another thread during the file copy goes through (the cache's
    mutex is free) and stays pending, since it is newer than what the fold took."""
    real_write = checkpointer.write_checkpoint
    during: list[BaseException | None] = []

    with CacheFile(cache_path, mode="w") as cache:
        def write_while_editing(*args, **kwargs) -> None:
            def edit() -> None:
                try:
                    cache.update(1, comment="during the fold")
                    during.append(None)
                except Exception as error:  # reported by the assert below
                    during.append(error)
            editor = threading.Thread(target=edit)
            editor.start()
            editor.join(timeout=60)  # a hang guard: a held mutex would block the edit
            real_write(*args, **kwargs)

        where = [cache.trace_origin(i) for i in (0, 1)]
        unchanged = stored_comments(cache_path, where)[1]
        cache.update(0, comment="folded")
        monkeypatch.setattr(checkpointer, "write_checkpoint", write_while_editing)
        folded = cache.checkpoint() if fold == "checkpoint" else cache.checkpoint_if_idle(0)
        monkeypatch.undo()
        assert folded is True and during == [None]
        assert cache.edited_traces() == [1]
        assert cache.pending_edits == 1
        assert stored_comments(cache_path, where) == ["folded", unchanged]
    assert stored_comments(cache_path, where) == ["folded", "during the fold"]  # at close


def stored_comments(path: Path, where: list[tuple[str, str]]) -> list[str | None]:
    """The comments the HDF5 file itself holds (journal records not merged)."""
    with h5py.File(path, "r") as f:
        return [f[origin]["traces"][name].attrs.get("comment") for origin, name in where]


def test_idle_fold_waits_for_the_idle_time_and_reports_nothing_to_do(cache_path):
    with CacheFile(cache_path, mode="w") as cache:
        assert cache.checkpoint_if_idle(0) is False  # nothing pending
        cache.update(0, comment="x")
        assert cache.checkpoint_if_idle(3600) is False  # not idle for an hour
        assert cache.pending_edits == 1
        assert cache.checkpoint_if_idle(0) is True
        assert cache.pending_edits == 0
        assert cache.checkpoint() is False


def test_a_cache_without_an_id_gets_one_id_for_its_journal_and_its_file(cache_path):
    with h5py.File(cache_path, "r+") as f:
        del f.attrs[ATTR_CACHE_ID]
    with CacheFile(cache_path, mode="w") as cache:
        cache.update(0, comment="x")
        cache.checkpoint()
        cache.update(1, comment="y")
    reader = JournalReader(journal_path(cache_path))
    assert reader.open_if_present()
    journal_id = reader.cache_id
    reader.close()
    with h5py.File(cache_path, "r") as f:
        file_id = root_state(f)[0]
    assert journal_id and file_id == journal_id
    with CacheFile(cache_path, mode="r") as cache:
        assert not cache.problems
        assert cache.get_trace_attrs(1)["comment"] == "y"
