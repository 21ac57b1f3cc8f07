"""Several raters on one cache: one journal per rater, folded on read (docs/cache-format.md,
"Raters").

The proof that no rater is blocked and nothing is lost: two raters rate the same cache
from two processes at once, each printing an acknowledgement once a rating returned
(durable), and both are SIGKILLed at random moments over several rounds; afterwards
every acknowledged rating of both is present. Then what a person relies on: a second
session of a rater is read-only and names the holder, each rater's own undo and redo,
blind review, the values of a cache from before raters, adjudication read back by a plain
HDF5 reader, publishing a single rater, the CSV columns and the command line.
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from testkit.cache import make_cache
from tracemark.app.cli import main
from tracemark.io_backends.cache import (
    RATER_KEYS,
    CacheFile,
    CacheIndexError,
    CacheLockedError,
    CacheReadOnlyError,
    CacheValueError,
    JournalError,
    RaterSession,
    adjudicate,
    export_table,
    publish_single_rater,
    read_ratings,
)
from tracemark.io_backends.cache.rater_files import rater_journal_path, raters_folder

N_TRACES = 12


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return make_cache(tmp_path / "c.hdf5", n_traces=N_TRACES)


# -- two raters, two processes, killed ---------------------------------------------------------
#: Rating number n of a rater: absolute values, so the state after any prefix is known.
OPERATION = '''
def operation(rater, n, n_traces):
    index = (n * 5 + (0 if rater == "alice" else 3)) % n_traces
    return index, {"comment": f"{rater} {n}", "reject": n % 3 == 0, "reviewed": True,
                   "onset_shift": n % 11 - 5}
'''
_namespace: dict = {}
exec(OPERATION, _namespace)
operation = _namespace["operation"]

RATER_PROCESS = OPERATION + textwrap.dedent('''
    import sys
    from tracemark.io_backends.cache import RaterSession

    path, rater, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
    session = RaterSession(path, rater, mode="w", lock_timeout=30)
    print("ready", flush=True)
    n = first
    while True:
        index, values = operation(rater, n, int(sys.argv[4]))
        session.commit(index, values)
        print(n, flush=True)  # commit returned: the rating is durable
        n += 1
''')


class RaterProcess:
    """A rater rating in a child process; ``acks`` collects the ratings it acknowledged."""

    def __init__(self, path: Path, rater: str, first: int):
        self.rater, self.first = rater, first
        self.process = subprocess.Popen(
            [sys.executable, "-c", RATER_PROCESS, str(path), rater, str(first), str(N_TRACES)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    @property
    def ready(self) -> bool:
        return "ready" in self.lines

    def is_open_or_ended(self) -> bool:
        return self.ready or self.ended

    @property
    def ended(self) -> bool:
        return self.process.poll() is not None

    def wait_for_acks(self, count: int) -> None:
        wait_for(lambda: len(self.acks) >= count or self.ended,
                 f"{self.rater} acknowledged nothing")

    @property
    def acks(self) -> list[int]:
        return [int(line) for line in list(self.lines) if line != "ready"]

    def kill(self) -> list[int]:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        assert self.process.stderr is not None
        errors = self.process.stderr.read()
        assert "Traceback" not in errors, errors
        acks = self.acks
        assert acks == list(range(self.first, self.first + len(acks))), acks
        return acks


def wait_for(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.002)


def expected_values(rater: str, last: int) -> dict[int, dict]:
    """A rater's values after their ratings 0..last (none when last < 0)."""
    state: dict[int, dict] = {}
    for n in range(last + 1):
        index, values = operation(rater, n, N_TRACES)
        state[index] = dict(values)
    return state


def test_two_rater_processes_killed_at_random_lose_no_acknowledged_rating(cache_path):
    rng = random.Random(17)
    next_op = {"alice": 0, "bob": 0}
    for round_number in range(4):
        processes = {name: RaterProcess(cache_path, name, next_op[name]) for name in next_op}
        for process in processes.values():
            wait_for(process.is_open_or_ended, "the rater did not open the cache")
        assert all(p.ready for p in processes.values()), [p.process.stderr.read()
                                                           for p in processes.values()]
        if round_number == 0:
            # A second session of a rater while the first rates: read-only, naming the holder.
            with RaterSession(cache_path, "alice") as second:
                assert not second.writable
                assert f"pid {processes['alice'].process.pid}" in second.read_only_reason
                with pytest.raises(CacheReadOnlyError):
                    second.commit(0, {"reject": True})
            with pytest.raises(CacheLockedError, match=f"pid {processes['bob'].process.pid}"):
                RaterSession(cache_path, "bob", mode="w")
        order = list(processes.values())
        rng.shuffle(order)
        for process in order:  # each killed at its own random moment, the other still rating
            process.wait_for_acks(rng.randint(1, 12))
            time.sleep(rng.uniform(0, 0.02))
            acks = process.kill()
            assert acks, f"{process.rater} acknowledged nothing in round {round_number}"
            next_op[process.rater] = acks[-1] + 1

    ratings = read_ratings(cache_path)
    assert ratings.problems == []
    assert ratings.raters == ["alice", "bob"]
    for rater, following in next_op.items():
        acknowledged = expected_values(rater, following - 1)
        with_in_flight = expected_values(rater, following)  # may have landed unacknowledged
        assert ratings.values(rater) in (acknowledged, with_in_flight), rater
    # Both journals open for writing again (a torn tail is cut) and take new ratings.
    for rater in next_op:
        with RaterSession(cache_path, rater, mode="w") as session:
            session.commit(0, {"comment": "after the kills"})
        assert read_ratings(cache_path).value(rater, 0, "comment") == "after the kills"
    with CacheFile(cache_path, mode="r") as cache:  # the cache itself was never touched
        assert cache.history() == [] and not cache.problems


# -- a rater's session ------------------------------------------------------------------------
def test_values_are_checked_by_the_cache_schema_and_nothing_invalid_is_written(cache_path):
    with RaterSession(cache_path, "alice") as session:
        session.commit(1, {"reject": "true", "onset_shift": "4"})
        journal = rater_journal_path(cache_path, "alice")
        size = journal.stat().st_size
        for values, problem in [({"reject": "maybe"}, "reject must be true or false"),
                                ({"onset_shift": 10_000}, "past the trace end"),
                                ({"neg_peak_latency_ms": -1}, "must be >= 0"),
                                ({"examiner": "ab"}, "not a rater's attribute"),
                                ({"reject": True, "event_name": "x"}, "not a rater's attribute")]:
            with pytest.raises(CacheValueError, match=problem) as raised:
                session.commit(2, values)
            assert str(cache_path) in str(raised.value)
        with pytest.raises(CacheIndexError):
            session.commit(N_TRACES, {"reject": True})
        assert journal.stat().st_size == size
        assert session.values(1) == {"reject": True, "onset_shift": 4}
        assert session.values(2) == {}
    assert set(RATER_KEYS) >= {"reject", "reviewed", "onset_shift", "comment", "zcr_latency_ms"}


def test_each_rater_undoes_and_redoes_only_their_own_ratings(cache_path):
    with RaterSession(cache_path, "alice") as alice, RaterSession(cache_path, "bob") as bob:
        alice.commit(1, {"reject": True})
        alice.commit(2, {"reviewed": True})
        bob.commit(2, {"reviewed": False, "comment": "late"})
        assert alice.undo() == [2]
        assert alice.values(2) == {} and alice.values(1) == {"reject": True}
        assert bob.values(2) == {"reviewed": False, "comment": "late"} and bob.can_undo
        assert alice.can_redo and alice.redo() == [2] and alice.values(2) == {"reviewed": True}
        alice.finish()  # not a rating: undo passes over it
        assert alice.undo() == [2] and alice.finished
        alice.commit(3, {"comment": "x"})
        assert not alice.can_redo  # a new rating clears the redo stack
    with RaterSession(cache_path, "alice") as alice:  # the history outlives the session
        assert alice.undo() == [3] and alice.undo() == [1] and alice.undo() == []
        assert alice.values(1) == {}
    ratings = read_ratings(cache_path)
    assert ratings.values("alice") == {}
    assert ratings.values("bob") == {2: {"reviewed": False, "comment": "late"}}


def test_reading_again_continues_and_matches_a_fresh_read(cache_path):
    from tracemark.io_backends.cache import ratings as ratings_module

    with RaterSession(cache_path, "alice") as alice:
        for n in range(30):
            alice.commit(n % N_TRACES, {"onset_shift": n % 7, "reviewed": n % 2 == 0})
            if n % 4 == 3:
                alice.undo()
            if n % 9 == 8:
                alice.redo()
            earlier = read_ratings(cache_path)  # continued from the previous read
            kept = earlier.values("alice")
            ratings_module._FOLLOWED.clear()
            assert read_ratings(cache_path).values("alice") == kept, n
        alice.finish()
        assert read_ratings(cache_path).finished("alice")
    assert earlier.values("alice") == kept  # values handed out never change afterwards
    # A journal copied over in place (same inode, other records) is read anew: here from
    # a copy of the cache (same id) where alice rated otherwise, with more records.
    twin = cache_path.with_name("twin.hdf5")
    twin.write_bytes(cache_path.read_bytes())
    with RaterSession(twin, "alice") as alice:
        for n in range(40):
            alice.commit(n % N_TRACES, {"comment": f"twin {n}"})
    read_ratings(cache_path)
    journal = rater_journal_path(cache_path, "alice")
    inode = journal.stat().st_ino
    with open(journal, "r+b") as handle:
        handle.write(rater_journal_path(twin, "alice").read_bytes())
    assert journal.stat().st_ino == inode
    assert read_ratings(cache_path).values("alice") == read_ratings(twin).values("alice")


def test_blind_review_hides_the_others_until_this_rater_finished(cache_path):
    with RaterSession(cache_path, "bob") as bob:
        bob.commit(4, {"reject": True, "reviewed": True})
    with RaterSession(cache_path, "alice") as alice:
        assert alice.visible_others() == {}
        assert alice.visible_others(reveal=True) == {"bob": {4: {"reject": True, "reviewed": True}}}
        # read_ratings hides nothing: blindness is the rater's view only.
        assert read_ratings(cache_path).values("bob") == {4: {"reject": True, "reviewed": True}}
        alice.commit(4, {"reject": False, "reviewed": True})
        assert alice.visible_others() == {}
        alice.finish()
        assert alice.visible_others() == {"bob": {4: {"reject": True, "reviewed": True}}}
    ratings = read_ratings(cache_path)
    assert ratings.finished("alice") and not ratings.finished("bob")
    assert ratings.reviewed_count("alice") == ratings.reviewed_count("bob") == 1


def test_refresh_follows_other_raters(cache_path):
    with RaterSession(cache_path, "alice") as alice:
        alice.finish()
        assert alice.refresh() is False
        with RaterSession(cache_path, "bob") as bob:
            bob.commit(0, {"comment": "seen"})
        assert alice.refresh() is True
        assert alice.visible_others()["bob"] == {0: {"comment": "seen"}}


def test_exact_rater_names_round_trip_in_distinct_files(cache_path):
    names = ["Ann Müller/π", "ann müller/π", "a b", "a_b"]
    for number, name in enumerate(names):
        with RaterSession(cache_path, name) as session:
            session.commit(number, {"comment": name})
    ratings = read_ratings(cache_path)
    assert sorted(ratings.raters) == sorted(names)
    assert {name: ratings.value(name, n, "comment") for n, name in enumerate(names)} == {
        name: name for name in names}
    assert len(list(raters_folder(cache_path).glob("*.journal"))) == 4
    for bad in ["", " alice", "a\nb"]:
        with pytest.raises(CacheValueError):
            RaterSession(cache_path, bad)


def test_a_journal_of_another_cache_is_not_read_and_not_written(cache_path, tmp_path):
    other = make_cache(tmp_path / "other.hdf5", n_traces=N_TRACES)
    with RaterSession(other, "alice") as alice:
        alice.commit(0, {"reject": True})
    with RaterSession(cache_path, "bob") as bob:  # creates this cache's raters folder
        bob.commit(0, {"reject": False})
    foreign = rater_journal_path(other, "alice")
    copied = rater_journal_path(cache_path, "alice")
    copied.write_bytes(foreign.read_bytes())
    ratings = read_ratings(cache_path)
    assert ratings.raters == ["bob"]
    assert any("belongs to another cache" in problem for problem in ratings.problems)
    with RaterSession(cache_path, "alice") as alice:
        assert not alice.writable and "another cache" in alice.read_only_reason
    with pytest.raises(JournalError, match="another cache"):
        RaterSession(cache_path, "alice", mode="w")
    assert copied.read_bytes() == foreign.read_bytes()


def test_raters_of_a_cache_without_an_id_keep_rating_once_it_has_one(cache_path):
    with h5py.File(cache_path, "r+") as f:  # as offspect writes it: no Tracemark attributes
        for key in list(f.attrs):
            del f.attrs[key]
    with RaterSession(cache_path, "alice") as alice, RaterSession(cache_path, "bob") as bob:
        alice.commit(np.int64(1), {"reject": True})  # a numpy index, as views hand them out
        bob.commit(1, {"reject": False})
        with pytest.raises(CacheValueError, match="not a trace index"):
            alice.commit(True, {"reject": True})
    adjudicate(cache_path, 1, {"reject": True}, "carol", ["alice", "bob"])  # mints an id
    with h5py.File(cache_path, "r") as f:
        assert "tracemark_cache_id" in f.attrs
    with RaterSession(cache_path, "alice", mode="w") as alice:
        alice.commit(2, {"reject": True})
    ratings = read_ratings(cache_path)
    assert ratings.problems == [] and ratings.values("alice") == {1: {"reject": True},
                                                                  2: {"reject": True}}


# -- caches from before raters -------------------------------------------------------------------
def test_a_cache_from_before_raters_is_attributed_to_its_one_user(cache_path):
    with CacheFile(cache_path, mode="w") as cache:
        cache.update(2, reject=True, reviewed=True)
        cache.update(5, onset_shift=3)
    before = cache_path.read_bytes()
    ratings = read_ratings(cache_path)
    user = getpass.getuser()
    assert ratings.raters == [user] and ratings.legacy_rater == user
    assert ratings.values(user) == {
        2: {"reject": True, "reviewed": True, "onset_shift": 0, "comment": ""},
        5: {"reject": False, "reviewed": False, "onset_shift": 3, "comment": ""}}
    assert ratings.finished(user) and ratings.journal_raters == []
    assert cache_path.read_bytes() == before and not raters_folder(cache_path).exists()

    # A second rater starts: the values from before stay theirs, through an adjudication.
    with RaterSession(cache_path, "bob") as bob:
        bob.commit(2, {"reject": False, "reviewed": True})
    adjudicate(cache_path, 2, {"reject": False}, "carol", [user, "bob"])
    ratings = read_ratings(cache_path)
    assert ratings.raters == sorted([user, "bob"]) and ratings.legacy_rater == user
    assert ratings.value(user, 2, "reject") is True
    assert ratings.consensus(2)["reject"] is False
    # The legacy rater rates on from their values; their undo goes back to them.
    with RaterSession(cache_path, user) as legacy:
        assert legacy.values(5)["onset_shift"] == 3
        legacy.commit(5, {"onset_shift": 4})
        assert read_ratings(cache_path).value(user, 5, "onset_shift") == 4
        legacy.undo()
    assert read_ratings(cache_path).value(user, 5, "onset_shift") == 3
    assert not rater_journal_path(cache_path, "rater 1").exists()


def test_values_without_a_history_are_attributed_to_rater_1(cache_path):
    with h5py.File(cache_path, "r+") as f:  # as an offspect-style tool writes
        f["rec0.trc/traces/7"].attrs["reject"] = "True"
    ratings = read_ratings(cache_path)
    assert ratings.raters == ["rater 1"] and ratings.values("rater 1")[7]["reject"] is True
    fresh = make_cache(cache_path.with_name("fresh.hdf5"), n_traces=4)
    assert read_ratings(fresh).raters == []  # a freshly built cache holds no decision


# -- what everyone else reads ------------------------------------------------------------------
def plain_attrs(path: Path, trace: int) -> dict[str, str]:
    """A trace's attributes read as offspect-style tools read them: plain h5py."""
    with h5py.File(path, "r") as f:
        attrs = f[f"rec0.trc/traces/{trace}"].attrs
        return {key: (value.decode() if isinstance(value, bytes) else str(value))
                for key, value in attrs.items()}


def test_adjudication_writes_plain_values_that_a_plain_reader_sees(cache_path):
    with RaterSession(cache_path, "alice") as alice, RaterSession(cache_path, "bob") as bob:
        alice.commit(3, {"reject": True, "reviewed": True, "onset_shift": 2})
        bob.commit(3, {"reject": False, "reviewed": True, "onset_shift": 6})
    adjudicate(cache_path, 3, {"reject": True, "onset_shift": 4}, "carol", ["alice", "bob"])
    attrs = plain_attrs(cache_path, 3)
    assert (attrs["reject"], attrs["onset_shift"], attrs["reviewed"]) == ("True", "4", "True")
    assert attrs["consensus_by"] == "carol"
    assert json.loads(attrs["consensus_raters"]) == ["alice", "bob"]
    consensus = read_ratings(cache_path).consensus(3)
    assert consensus["consensus_raters"] == ["alice", "bob"] and consensus["onset_shift"] == 4
    assert read_ratings(cache_path).consensus(2) is None
    before = cache_path.read_bytes()
    for values, raters, problem in [({"examiner": "x"}, ["alice"], "not a rater's attribute"),
                                    ({"reject": "maybe"}, ["alice"], "true or false"),
                                    ({"reject": True}, ["zed"], "has not rated"),
                                    ({"reject": True}, [], "at least one rater")]:
        with pytest.raises(CacheValueError, match=problem):
            adjudicate(cache_path, 3, values, "carol", raters)
    assert cache_path.read_bytes() == before
    with CacheFile(cache_path, mode="w") as window:  # a window holding the writer lock
        with pytest.raises(CacheLockedError):
            adjudicate(cache_path, 3, {"reject": False}, "carol", ["alice"], lock_timeout=0.05)
        adjudicate(cache_path, 3, {"reject": False}, "dave", ["alice"], cache=window)
        assert window.get_trace_attrs(3)["consensus_by"] == "dave"
    assert plain_attrs(cache_path, 3)["reject"] == "False"


def test_a_single_rater_is_published_into_the_plain_values(cache_path):
    with RaterSession(cache_path, "alice") as alice:
        alice.commit(6, {"reject": True, "reviewed": True})
        with CacheFile(cache_path, mode="w"):  # the cache's writer is busy: not now
            assert publish_single_rater(cache_path) is False
    # Closing the session published: the lock was free then.
    assert plain_attrs(cache_path, 6)["reject"] == "True"
    with RaterSession(cache_path, "alice") as alice:
        alice.commit(7, {"onset_shift": 2})
        with CacheFile(cache_path, mode="w") as window:  # through a window's open cache
            assert publish_single_rater(cache_path, cache=window) is True
            assert window.get_trace_attrs(7)["onset_shift"] == 2
    with RaterSession(cache_path, "bob") as bob:
        bob.commit(6, {"reject": False})
    assert publish_single_rater(cache_path) is False  # two raters need a consensus
    with CacheFile(cache_path, mode="w") as window:
        assert publish_single_rater(cache_path, cache=window) is False
    assert plain_attrs(cache_path, 6)["reject"] == "True"
    assert publish_single_rater(make_cache(cache_path.with_name("none.hdf5"), 3)) is False


# -- the table and the command line ----------------------------------------------------------------
def exported(path: Path) -> list[dict[str, str]]:
    out = io.StringIO()
    with CacheFile(path, mode="r") as cache:
        export_table(cache, out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_csv_has_a_column_per_rater_beside_the_consensus(cache_path):
    plain_header = list(exported(cache_path)[0])
    assert not any("[" in column for column in plain_header)
    with RaterSession(cache_path, "alice") as alice, RaterSession(cache_path, "bob") as bob:
        alice.commit(1, {"reject": True, "comment": "a"})
        bob.commit(1, {"reject": False})
    adjudicate(cache_path, 1, {"reject": True}, "carol", ["alice", "bob"])
    rows = exported(cache_path)
    header = list(rows[0])
    at = header.index("reject")
    assert header[at:at + 3] == ["reject", "reject[alice]", "reject[bob]"]
    assert (rows[1]["reject"], rows[1]["reject[alice]"], rows[1]["reject[bob]"]) == (
        "True", "True", "False")
    assert (rows[1]["comment[alice]"], rows[1]["comment[bob]"]) == ("a", "")
    assert rows[0]["reject[alice]"] == "" and rows[1]["consensus_by"] == "carol"
    assert [c for c in header if "[" not in c and not c.startswith("consensus")] == plain_header


def test_command_line_rates_finishes_lists_and_adjudicates(cache_path, capsys):
    path = str(cache_path)
    assert main(["cache", "rate", path, "--rater", "alice", "2", "reject=true",
                 "reviewed=true"]) == 0
    assert "index 2 reject[alice]: (none) -> 'True'" in capsys.readouterr().out
    assert main(["cache", "rate", path, "--rater", "bob", "2", "reject=false"]) == 0
    assert main(["cache", "finish", path, "--rater", "bob"]) == 0
    capsys.readouterr()
    assert main(["cache", "raters", path, "--json"]) == 0
    listed = {row["rater"]: row for row in json.loads(capsys.readouterr().out)["raters"]}
    assert listed["alice"]["reviewed"] == 1 and listed["alice"]["finished"] is False
    assert listed["bob"]["finished"] is True
    assert main(["cache", "adjudicate", path, "2", "reject=true", "--adjudicator",
                 "carol"]) == 0
    assert plain_attrs(cache_path, 2)["consensus_by"] == "carol"
    assert read_ratings(cache_path).consensus(2)["consensus_raters"] == ["alice", "bob"]


@pytest.mark.parametrize("argv, message", [
    (["rate", "{path}", "--rater", "alice", "2", "reject=maybe"], "reject must be true or false"),
    (["rate", "{path}", "--rater", "alice", "2", "examiner=x"], "not a rater's attribute"),
    (["rate", "{path}", "--rater", "alice", "99", "reject=true"], "out of range"),
    (["rate", "{path}", "--rater", "alice", "2", "reject"], "is not key=value"),
    (["adjudicate", "{path}", "2", "reject=true", "--adjudicator", "carol", "--raters", "zed"],
     "has not rated"),
    (["raters", "{missing}"], "missing.hdf5"),
])
def test_bad_input_exits_1_with_one_line(cache_path, argv, message):
    argv = [a.format(path=cache_path, missing=cache_path.with_name("missing.hdf5")) for a in argv]
    result = subprocess.run([sys.executable, "-m", "tracemark", "cache", *argv],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_second_rate_of_the_same_rater_is_refused_naming_the_holder(cache_path):
    with RaterSession(cache_path, "alice"):
        result = subprocess.run([sys.executable, "-m", "tracemark", "cache", "rate",
                                 str(cache_path), "--rater", "alice", "1", "reject=true"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 1
        assert f"pid {os.getpid()}" in result.stderr
        # Another rater is not blocked.
        assert subprocess.run([sys.executable, "-m", "tracemark", "cache", "rate",
                               str(cache_path), "--rater", "bob", "1", "reject=true"],
                              capture_output=True, timeout=120).returncode == 0
