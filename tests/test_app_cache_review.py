"""The cache side of reviewing: the ``reviewed`` key, and idle checkpoints that run on a
worker thread without holding up edits made meanwhile on the GUI thread."""

from __future__ import annotations

import threading

import h5py
import pytest

from testkit.cache import make_cache
from tracemark.io_backends.cache import CacheFile, CacheValueError, checkpointer, schema
from tracemark.widgets.editor import ACCEPTED, REJECTED, UNREVIEWED, TraceRow


def test_built_traces_start_unreviewed(tmp_path):
    path = make_cache(tmp_path / "c.hdf5", n_traces=4)
    with CacheFile(path, mode="r") as cache:
        attrs = cache.get_trace_attrs(2)
        assert attrs["reviewed"] is False
        assert cache.get_trace_attrs_raw(2)["reviewed"] == "False"
        assert TraceRow.from_attrs(2, attrs).state == UNREVIEWED


def test_reviewed_is_a_typed_editable_bool(tmp_path):
    path = make_cache(tmp_path / "c.hdf5", n_traces=4)
    with CacheFile(path) as cache:
        cache.update(0, reviewed=True, reject=False)
        cache.update(1, reviewed="true", reject="yes")
        with pytest.raises(CacheValueError, match="reviewed must be true or false"):
            cache.update(2, reviewed="maybe")
        assert cache.get_trace_attrs(0)["reviewed"] is True
        assert cache.get_trace_attrs_raw(1)["reviewed"] == "True"
        assert TraceRow.from_attrs(0, cache.get_trace_attrs(0)).state == ACCEPTED
        assert TraceRow.from_attrs(1, cache.get_trace_attrs(1)).state == REJECTED
    assert schema.TRACE_KEYS["reviewed"].kind == schema.BOOL


def test_offspect_files_without_reviewed(tmp_path):
    """A rejected trace counts as rejected, the others as unreviewed; the first decision
    adds the key."""
    path = make_cache(tmp_path / "c.hdf5", n_traces=3)
    with h5py.File(path, "r+") as f:
        traces = f["rec0.trc"]["traces"]
        for name in traces:
            del traces[name].attrs["reviewed"]
        traces["1"].attrs["reject"] = "True"
    with CacheFile(path) as cache:
        states = [TraceRow.from_attrs(i, cache.get_trace_attrs(i)).state for i in range(3)]
        assert states == [UNREVIEWED, REJECTED, UNREVIEWED]
        assert "reviewed" not in cache.get_trace_attrs(0)
        cache.update(0, reviewed=True, reject=False)
    with CacheFile(path, mode="r") as cache:
        assert cache.get_trace_attrs(0)["reviewed"] is True


def test_edits_go_on_during_an_idle_checkpoint(tmp_path, monkeypatch):
    """The worker's checkpoint is held inside its file copy; an edit on the main thread
    still returns (durable), and after the copy lands the edit is neither lost nor folded."""
    path = make_cache(tmp_path / "c.hdf5", n_traces=5)
    copying, release = threading.Event(), threading.Event()
    real = checkpointer.write_checkpoint

    def slow_checkpoint(*args, **kwargs):
        copying.set()
        assert release.wait(10)
        real(*args, **kwargs)

    monkeypatch.setattr(checkpointer, "write_checkpoint", slow_checkpoint)
    cache = CacheFile(path, mode="auto")
    cache.update(0, reviewed=True, comment="first")
    worker = threading.Thread(target=cache.checkpoint_if_idle, args=(0.0,))
    worker.start()
    assert copying.wait(10)
    cache.update(1, reviewed=True, reject=True)          # would deadlock if the mutex were held
    assert cache.get_trace_attrs(1)["reject"] is True
    release.set()
    worker.join(10)
    assert not worker.is_alive()
    with h5py.File(path, "r") as f:                        # the copy holds the first edit only
        traces = f["rec0.trc"]["traces"]
        assert traces["0"].attrs["comment"] == "first"
        assert traces["1"].attrs["reject"] == "False"
    assert cache.get_trace_attrs(1)["reject"] is True and cache.pending_edits == 2
    monkeypatch.setattr(checkpointer, "write_checkpoint", real)
    cache.close()
    with CacheFile(path, mode="r") as reopened:
        assert reopened.get_trace_attrs(0)["comment"] == "first"
        assert reopened.get_trace_attrs(1)["reject"] is True
        assert reopened.pending_edits == 0
