"""A damaged NWB on a server never hangs: its HDF5 metadata is first read by a child process.

``tracemark.io_backends.remote.h5_walk`` walks a remote HDF5 file's metadata in a child
that opens its own connection, and kills it when its progress stops; ``nwb`` runs it before
``h5py.File(view)``. Files are served by the local Range server (``tests/remote_server.py``);
walks are counted through the module's child-walk function, never by timing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from remote_server import RangeServer

from tracemark.io_backends import h5_preflight, h5_verdict_store, open_recording
from tracemark.io_backends.errors import CorruptRecordingError
from tracemark.io_backends.remote import h5_walk
from tracemark.io_backends.remote.errors import RemoteTimeoutError

#: 4 KiB of zeros here land in the global heap of the NWB below, and reading a root
#: attribute then loops inside the HDF5 library (the case ``test_cache_never_hangs`` uses).
DAMAGE_AT = 4830


def _write_nwb(path: Path) -> Path:
    from tracemark.demo.nwb_writer import write_nwb

    return write_nwb(path, [np.zeros((2048, 2), np.float32)], channel_names=["a", "b"],
                     sampling_rate=512.0, n_samples=2048, events=[(1.0, 0.0, "TMS")],
                     chunk_samples=1024)


@pytest.fixture(scope="module")
def sound(tmp_path_factory) -> Path:
    return _write_nwb(tmp_path_factory.mktemp("served") / "x.nwb")


@pytest.fixture(scope="module")
def damaged(sound) -> Path:
    data = bytearray(sound.read_bytes())
    data[DAMAGE_AT:DAMAGE_AT + 4096] = bytes(4096)
    path = sound.with_name("damaged.nwb")
    path.write_bytes(data)
    return path


@pytest.fixture
def server(sound, damaged):
    with RangeServer({"x.nwb": sound, "damaged.nwb": damaged}) as running:
        yield running


@pytest.fixture
def walks(monkeypatch) -> list[str]:
    """The URLs walked in child processes during the test; verdicts start forgotten."""
    h5_walk.forget_all()
    monkeypatch.setattr(h5_preflight, "STALL_S", 0.5)
    seen: list[str] = []
    real = h5_walk._walk_in_child

    def counted(target: h5_walk.RemoteTarget) -> str | None:
        seen.append(target.url)
        return real(target)

    monkeypatch.setattr(h5_walk, "_walk_in_child", counted)
    return seen


def test_a_sound_nwb_is_walked_once_per_version(server, walks, tmp_path):
    url = server.url("x.nwb")
    for _ in range(2):
        with open_recording(url, cache_dir=tmp_path) as remote:
            assert remote.header.streams[0].channel_names == ("a", "b")
    assert walks == [url]
    h5_walk.forget_all()  # as a new process: the on-disk verdict store still knows it
    with open_recording(url, cache_dir=tmp_path):
        pass
    assert walks == [url]


def test_the_damaged_nwb_really_makes_hdf5_loop(damaged, monkeypatch):
    monkeypatch.setattr(h5_preflight, "STALL_S", 0.5)
    assert "made no progress" in (h5_preflight.metadata_problem(damaged) or "")


@pytest.mark.timeout(60)  # the hang guard
def test_a_damaged_nwb_is_a_typed_error_naming_the_url(server, walks, tmp_path):
    url = server.url("damaged.nwb")
    with pytest.raises(CorruptRecordingError) as caught:
        open_recording(url, cache_dir=tmp_path, timeout=1.0)
    assert str(caught.value).startswith(url)
    assert "made no progress" in str(caught.value)
    with pytest.raises(CorruptRecordingError):  # remembered: no second wait
        open_recording(url, cache_dir=tmp_path, timeout=1.0)
    assert walks == [url]


def test_a_changed_etag_walks_again(server, walks, tmp_path):
    url = server.url("x.nwb")
    with open_recording(url, cache_dir=tmp_path):
        pass
    server.faults.etags["x.nwb"] = '"a-new-version"'
    with open_recording(url, cache_dir=tmp_path):
        pass
    assert walks == [url, url]


@pytest.mark.timeout(60)
def test_a_server_going_silent_during_the_walk_is_a_timeout_not_damage(server, walks, monkeypatch, tmp_path):
    url = server.url("x.nwb")
    counted = h5_walk._walk_in_child

    def silence_then_walk(target: h5_walk.RemoteTarget) -> str | None:
        server.faults.stall = True  # the parent has probed; the child's requests go unanswered
        return counted(target)

    monkeypatch.setattr(h5_walk, "_walk_in_child", silence_then_walk)
    with pytest.raises(RemoteTimeoutError) as caught:
        open_recording(url, cache_dir=tmp_path, timeout=0.3)
    assert str(caught.value).startswith(url)
    server.faults.stall = False
    monkeypatch.setattr(h5_walk, "_walk_in_child", counted)
    with open_recording(url, cache_dir=tmp_path, timeout=2.0):  # a timeout is not a verdict
        pass
    assert walks == [url, url]


def test_a_walk_leaves_the_metadata_in_the_disk_cache_for_the_parent(server, walks, monkeypatch, tmp_path):
    url = server.url("x.nwb")
    options = {"block_size": 16 << 10, "read_ahead": False}
    with open_recording(url, cache_dir=tmp_path / "walked", **options) as remote:
        walked = remote._byte_source.stats
    monkeypatch.setattr(h5_walk, "metadata_problem", lambda source: None)
    with open_recording(url, cache_dir=tmp_path / "unwalked", **options) as remote:
        unwalked = remote._byte_source.stats
    assert walks == [url]
    assert walked.disk_hits > 0 and unwalked.disk_hits == 0
    assert walked.fetched_bytes < unwalked.fetched_bytes


def test_remote_identities_differ_by_url_and_etag_and_never_look_local():
    one = h5_verdict_store.remote_identity("https://a/x.nwb", '"1"', 10)
    assert one == h5_verdict_store.remote_identity("https://a/x.nwb", '"1"', 10)
    assert one != h5_verdict_store.remote_identity("https://a/x.nwb", '"2"', 10)
    assert one != h5_verdict_store.remote_identity("https://b/x.nwb", '"1"', 10)
    assert one[0] == (1 << 64) - 1 and one[2] == 10


@pytest.mark.timeout(60)
def test_a_walk_killed_while_waiting_on_the_network_is_a_timeout_not_damage(server, walks, monkeypatch,
                                                                             tmp_path):
    url = server.url("x.nwb")
    monkeypatch.setattr(h5_walk, "stall_limit", lambda timeout: 0.5)  # shorter than the timeout
    counted = h5_walk._walk_in_child

    def silence_then_walk(target: h5_walk.RemoteTarget) -> str | None:
        server.faults.stall = True
        return counted(target)

    monkeypatch.setattr(h5_walk, "_walk_in_child", silence_then_walk)
    with pytest.raises(RemoteTimeoutError, match="while checking the file's HDF5 metadata") as caught:
        open_recording(url, cache_dir=tmp_path, timeout=30.0)
    assert str(caught.value).startswith(url)
