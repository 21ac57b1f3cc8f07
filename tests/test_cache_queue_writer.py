"""The queue writer: producer processes send edits to the one writer, each acknowledged only
once durable; refused edits and broken producers never stop the writer; shutdown is clean."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
import time
from multiprocessing.connection import Client
from pathlib import Path

import h5py
import pytest

from testkit.cache import make_cache
from tracemark.io_backends.cache import (
    CacheClosedError,
    CacheFile,
    CacheIndexError,
    CacheLockedError,
    CacheReadOnlyError,
    CacheValueError,
    CacheWriteError,
    QueueWriterHandle,
)

N_PRODUCERS = 4
EDITS_PER_PRODUCER = 8
N_TRACES = 40


@pytest.fixture
def cache_path(tmp_path) -> Path:
    return make_cache(tmp_path / "c.hdf5", n_traces=N_TRACES)


def produce(handle: QueueWriterHandle, producer: int, start, acks) -> None:
    """Runs in a spawned process: once all producers are ready, send single-trace edits and
    one two-trace transaction, reporting each acknowledged edit as (seq, {trace: comment})."""
    start.wait(60)
    traces = range(producer * 10, producer * 10 + EDITS_PER_PRODUCER)
    for n, trace in enumerate(traces):
        value = f"p{producer} n{n}"
        record = handle.update(trace, comment=value, examiner=f"p{producer}")
        acks.put((record.seq, record.tx, {trace: value}))
    pair = {traces[0]: f"p{producer} pair", traces[1]: f"p{producer} pair"}
    record = handle.apply_edits([(t, {"comment": c}) for t, c in pair.items()], note="pair")
    acks.put((record.seq, record.tx, pair))
    handle.close()


@pytest.mark.timeout(240)
def test_edits_from_several_producer_processes_are_acknowledged_once_durable(cache_path):
    context = multiprocessing.get_context("spawn")
    start, acks = context.Barrier(N_PRODUCERS), context.Queue()
    with CacheFile(cache_path, mode="w") as cache, cache.queue_writer() as service:
        producers = [context.Process(target=produce, args=(service.handle, p, start, acks))
                     for p in range(N_PRODUCERS)]
        for process in producers:
            process.start()
        expected_acks = N_PRODUCERS * (EDITS_PER_PRODUCER + 1)
        acknowledged = [acks.get(timeout=180) for _ in range(expected_acks)]
        for process in producers:
            process.join(60)
        assert [p.exitcode for p in producers] == [0] * N_PRODUCERS

    # Acknowledged means journaled: the history holds every one, in sequence order.
    seqs = sorted(seq for seq, _, _ in acknowledged)
    assert seqs == list(range(seqs[0], seqs[0] + expected_acks))
    expected: dict[int, str] = {}
    for _, _, values in sorted(acknowledged, key=lambda ack: ack[0]):
        expected.update(values)
    with CacheFile(cache_path, mode="r") as cache:
        history = {record.tx: record for record in cache.history()}
        for _, tx, values in acknowledged:
            assert {int(c.trace): c.new for c in history[tx].changes if c.key == "comment"} \
                == values
        assert {t: cache.get_trace_attrs(t)["comment"] for t in expected} == expected
    with h5py.File(cache_path, "r") as f:  # and the writer's close checkpointed them
        assert {t: f[f"rec0.trc/traces/{t}"].attrs["comment"] for t in expected} == expected


def test_a_refused_edit_raises_in_its_producer_and_the_writer_goes_on(cache_path):
    with CacheFile(cache_path, mode="w") as cache, cache.queue_writer() as service:
        handle = service.handle
        with pytest.raises(CacheValueError, match=r"c\.hdf5: trace 3: .*onset_shift"):
            handle.update(3, onset_shift="early")
        with pytest.raises(CacheIndexError, match=r"c\.hdf5: .*nothing was written"):
            handle.update(N_TRACES, reject=True)
        with pytest.raises(CacheIndexError, match=r"c\.hdf5: trace index 'x' is not an integer"):
            handle.update("x", reject=True)
        with pytest.raises(CacheValueError, match=r"c\.hdf5: a value cannot be sent"):
            handle.update(3, comment=threading.Lock())
        assert cache.history() == []
        record = handle.update(3, comment="fine", reject=True)
        assert record is not None and cache.get_trace_attrs(3)["comment"] == "fine"
        assert handle.update(3, comment="fine") is None  # nothing changed, as CacheFile.update


def test_a_request_that_is_not_edits_is_refused_and_garbage_drops_only_its_sender(cache_path):
    with CacheFile(cache_path, mode="w") as cache, cache.queue_writer() as service:
        handle = service.handle
        with Client(handle.address, authkey=handle._authkey) as odd:
            odd.send_bytes(pickle.dumps(("delete everything", None, "")))
            status, (error_type, _, problem, _) = pickle.loads(odd.recv_bytes())
            assert status == "refused" and error_type is CacheValueError and "not a list of edits" in problem
        with Client(handle.address, authkey=handle._authkey) as garbage:
            garbage.send_bytes(b"\x00 not a pickle")
            with pytest.raises(EOFError):  # the writer hung up on this sender only
                garbage.recv_bytes()
        assert handle.update(5, comment="still served") is not None
        assert cache.get_trace_attrs(5)["comment"] == "still served"


def send_and_die(handle: QueueWriterHandle) -> None:
    """Runs in a spawned process: send one edit and end before reading the acknowledgement."""
    connection = handle._connection()
    connection.send_bytes(pickle.dumps(("edits", [(7, {"comment": "from the dead"})], "")))
    os._exit(0)


@pytest.mark.timeout(120)  # the hang guard, should the dead producer's edit never come
def test_a_producer_that_dies_mid_request_does_not_stop_the_writer(cache_path):
    context = multiprocessing.get_context("spawn")
    with CacheFile(cache_path, mode="w") as cache, cache.queue_writer() as service:
        dying = context.Process(target=send_and_die, args=(service.handle,))
        dying.start()
        dying.join(60)
        assert dying.exitcode == 0
        while cache.get_trace_attrs(7)["comment"] != "from the dead":
            time.sleep(0.05)
        assert service.handle.update(8, comment="after it") is not None
    with CacheFile(cache_path, mode="r") as cache:
        assert cache.get_trace_attrs(8)["comment"] == "after it"


def test_close_refuses_later_edits_with_typed_errors(cache_path):
    with CacheFile(cache_path, mode="w") as cache:
        service = cache.queue_writer()
        handle = service.handle
        handle.update(1, comment="before close")
        service.close()
        assert service.closed
        with pytest.raises(CacheWriteError, match=r"c\.hdf5: the queue writer stopped before "
                                                  r"acknowledging the edit"):
            handle.update(1, comment="after close")  # on the connection the writer closed
        fresh = pickle.loads(pickle.dumps(handle))  # as a newly started producer holds it
        with pytest.raises(CacheClosedError, match=r"c\.hdf5: its queue writer is not running"):
            fresh.update(1, comment="after close")
        assert cache.get_trace_attrs(1)["comment"] == "before close"
        cache.update(2, comment="the cache itself stays open")


@pytest.mark.timeout(60)  # the hang guard, should no idle checkpoint come
def test_the_writer_checkpoints_when_no_edit_comes(cache_path):
    with CacheFile(cache_path, mode="w", idle_checkpoint_s=0.05) as cache, \
            cache.queue_writer() as service:
        service.handle.update(4, comment="folded while idle")
        while cache.pending_edits:
            time.sleep(0.05)
        with h5py.File(cache_path, "r") as f:
            assert f["rec0.trc/traces/4"].attrs["comment"] == "folded while idle"


def test_a_queue_writer_needs_the_writer_lock(cache_path):
    with CacheFile(cache_path, mode="r") as reader, \
            pytest.raises(CacheReadOnlyError, match=r"c\.hdf5: opened read-only"):
        reader.queue_writer()
    with CacheFile(cache_path, mode="w"), CacheFile(cache_path, lock_timeout=0.1) as second, \
            pytest.raises(CacheLockedError, match=rf"pid {os.getpid()}"):
        second.queue_writer()
