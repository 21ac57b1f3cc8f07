"""Recordings streamed over HTTP from a local server: parity with local reads, faults, caching.

The server (``tests/remote_server.py``) runs on 127.0.0.1 in a thread; nothing here needs the
internet. Every remote read is compared with the local read of the same file, sample for
sample; faults (404, timeouts, servers ignoring Range, cut bodies, changed ETags) must give
typed errors naming the URL, within the timeouts.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_params
from remote_server import RangeServer

from tracemark.io_backends import open_recording
from tracemark.io_backends.remote.errors import (
    RangeNotSupportedError,
    RemoteChangedError,
    RemoteNotFoundError,
    RemoteTimeoutError,
    RemoteTruncatedError,
    RemoteUnreachableError,
)
from tracemark.io_backends.remote.locations import RemotePath

RATE = 512.0
N_SAMPLES = 512 * 20
NAMES = [f"C{i}" for i in range(8)]


def _signal(n_channels: int = 8) -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.normal(0, 40, (N_SAMPLES, n_channels)).astype(np.float32)


def write_recordings(folder: Path) -> dict[str, Path]:
    """One TRC, EDF, BDF and NWB file of the same 20-s, 8-channel signal."""
    from tracemark.demo.nwb_writer import write_nwb
    from tracemark.demo.trc_writer import write_trc_array
    from tracemark.io_backends.edf_writer import write_edf

    data = _signal()
    files = {"x.TRC": write_trc_array(folder / "x.TRC", data, channel_names=NAMES, sampling_rate=RATE,
                                      triggers=[(100, 1), (4000, 2)])}
    for name, bdf in (("x.edf", False), ("x.bdf", True)):
        write_edf(folder / name, [data], channel_names=NAMES, sampling_rates=[RATE] * 8,
                  physical_ranges=[(-500, 500)] * 8, bdf=bdf,
                  annotations=[(1.0, 0.0, "TMS"), (5.0, 0.0, "TMS")])
        files[name] = folder / name
    files["x.nwb"] = write_nwb(folder / "x.nwb", [data], channel_names=NAMES, sampling_rate=RATE,
                               n_samples=N_SAMPLES, events=[(1.0, 0.0, "TMS")], chunk_samples=1024)
    return files


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    return write_recordings(tmp_path_factory.mktemp("served"))


@pytest.fixture
def server(recordings):
    with RangeServer(recordings) as running:
        yield running


def assert_same_recording(remote, local) -> None:
    assert remote.header.format_name == local.header.format_name
    assert len(remote.header.streams) == len(local.header.streams)
    for index, (r, loc) in enumerate(zip(remote.header.streams, local.header.streams)):
        assert (r.channel_names, r.units, r.n_samples, r.sampling_rate) == \
               (loc.channel_names, loc.units, loc.n_samples, loc.sampling_rate)
        np.testing.assert_array_equal(remote.read_samples(0, r.n_samples, None, index),
                                      local.read_samples(0, loc.n_samples, None, index))
        middle = r.n_samples // 2
        picked = [r.n_channels - 1, 0, r.n_channels - 1]   # any order, repeats allowed
        np.testing.assert_array_equal(remote.read_raw(middle, middle + 300, picked, index),
                                      local.read_raw(middle, middle + 300, picked, index))
    assert remote.events() == local.events()


@pytest.mark.parametrize("name", ["x.TRC", "x.edf", "x.bdf", "x.nwb"])
def test_remote_reads_equal_local_reads_sample_for_sample(server, recordings, name, tmp_path):
    url = server.url(name)
    with open_recording(url, cache_dir=tmp_path) as remote, open_recording(recordings[name]) as local:
        assert str(remote.path) == url and remote.path.name == name
        assert_same_recording(remote, local)


@pytest.mark.parametrize("path", shared_params("trc") + shared_params("edf") + shared_params("nwb"))
def test_shared_recordings_read_remotely_equal_local(path, tmp_path):
    with (RangeServer({path.name: path}) as running,
          open_recording(running.url(path.name), cache_dir=tmp_path) as remote,
          open_recording(path) as local):
        assert_same_recording(remote, local)


def test_a_page_costs_what_it_shows_not_the_file(tmp_path):
    from tracemark.demo.trc_writer import write_trc_array

    data = np.zeros((512 * 600, 8), dtype=np.float32)   # 10 minutes, 4.9 MB
    path = write_trc_array(tmp_path / "long.TRC", data, sampling_rate=RATE)
    with (RangeServer({"long.TRC": path}) as running,
          open_recording(running.url("long.TRC"), cache_dir=tmp_path / "c", read_ahead=False) as rec):
        opened = running.bytes_sent
        rec.read(300.0, 302.0)                         # 2 s x 8 ch x 2 bytes = 16 kB
        page = running.bytes_sent - opened
    assert opened < 600_000          # the probe and the header, not the file
    assert 0 < page <= 2 * 256 * 1024  # at most the two blocks around the page


def test_threads_read_concurrently_and_get_the_same_answers(server, recordings, tmp_path):
    with open_recording(server.url("x.TRC"), cache_dir=tmp_path) as remote, \
            open_recording(recordings["x.TRC"]) as local:
        expected = local.read_samples(0, N_SAMPLES)
        results, errors = [], []

        def read(k: int) -> None:
            try:
                i0 = (k * 997) % (N_SAMPLES - 2000)
                results.append((i0, remote.read_samples(i0, i0 + 2000)))
            except Exception as error:  # noqa: BLE001 (reported by the assertion below)
                errors.append(error)

        threads = [threading.Thread(target=read, args=(k,)) for k in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors
    assert len(results) == 16
    for i0, block in results:
        np.testing.assert_array_equal(block, expected[i0:i0 + 2000])


# -- the disk cache -------------------------------------------------------------------------
def test_a_second_open_is_served_from_the_disk_cache(tmp_path):
    from tracemark.demo.trc_writer import write_trc_array

    path = write_trc_array(tmp_path / "two.TRC", _signal()[:, :4].repeat(8, axis=0), sampling_rate=RATE)
    with RangeServer({"two.TRC": path}) as running:
        url = running.url("two.TRC")
        with open_recording(url, cache_dir=tmp_path / "c") as first:
            expected = first.read_samples(0, first.header.streams[0].n_samples)
        requests = running.requests
        with open_recording(url, cache_dir=tmp_path / "c") as second:
            np.testing.assert_array_equal(second.read_samples(0, len(expected)), expected)
            stats = second._file.stats
        assert running.requests == requests + 1   # the probe only: every other block came from disk
    assert stats.fetched_blocks == 0 and stats.disk_hits > 0


def test_the_default_disk_cache_is_in_the_users_cache_folder(server, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    with open_recording(server.url("x.TRC")) as remote:
        remote.read_samples(0, 1000)
    assert list((tmp_path / "xdg" / "tracemark" / "remote-blocks").iterdir())


def test_a_changed_etag_invalidates_the_disk_cache(recordings, tmp_path):
    files = dict(recordings)
    with RangeServer(files) as running:
        url = running.url("x.TRC")
        with open_recording(url, cache_dir=tmp_path) as first:
            first.read_samples(0, N_SAMPLES)
        running.files["x.TRC"] = recordings["x.edf"]       # another file, another ETag
        with open_recording(url, cache_dir=tmp_path) as second:
            assert second.header.format_name != "TRC"     # nothing was served from old blocks
            with open_recording(recordings["x.edf"]) as local:
                assert_same_recording(second, local)


def test_the_disk_cache_stays_under_its_limit(tmp_path):
    from tracemark.demo.trc_writer import write_trc_array

    path = write_trc_array(tmp_path / "big.TRC", np.zeros((512 * 300, 8), np.float32), sampling_rate=RATE)
    limit = 1 << 20
    with (RangeServer({"big.TRC": path}) as running,
          open_recording(running.url("big.TRC"), cache_dir=tmp_path / "c", cache_limit_bytes=limit) as rec):
        rec.read_samples(0, 512 * 300)
    used = sum(p.stat().st_size for p in (tmp_path / "c").rglob("*") if p.is_file())
    assert path.stat().st_size > 2 * limit
    assert used <= limit


def test_a_file_that_changes_while_open_raises_a_typed_error(server, tmp_path):
    url = server.url("x.TRC")
    with open_recording(url, cache_dir=tmp_path, read_ahead=False) as remote:
        server.faults.etags["x.TRC"] = '"a-new-version"'
        with pytest.raises(RemoteChangedError) as caught:
            remote.read_samples(N_SAMPLES - 2000, N_SAMPLES)
    assert url in str(caught.value)


# -- faults ---------------------------------------------------------------------------------
def test_a_missing_file_is_a_typed_error_naming_the_url(server, tmp_path):
    url = server.url("nothing-here.nwb")
    with pytest.raises(RemoteNotFoundError) as caught:
        open_recording(url, cache_dir=tmp_path)
    assert str(caught.value).startswith(url) and "404" in str(caught.value)


def test_a_server_that_does_not_answer_times_out(server, tmp_path):
    server.faults.stall = True
    with pytest.raises(RemoteTimeoutError) as caught:
        open_recording(server.url("x.TRC"), cache_dir=tmp_path, timeout=0.3)
    assert server.url("x.TRC") in str(caught.value)


def test_a_stalled_read_after_open_times_out(server, tmp_path):
    with open_recording(server.url("x.nwb"), cache_dir=tmp_path, timeout=0.3, read_ahead=False) as rec:
        server.faults.stall = True
        with pytest.raises(RemoteTimeoutError):
            rec.read_samples(N_SAMPLES - 1000, N_SAMPLES)


def test_nobody_listening_is_unreachable(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RemoteUnreachableError) as caught:
        open_recording(f"http://127.0.0.1:{port}/x.nwb", cache_dir=tmp_path, timeout=2)
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_a_server_ignoring_range_is_read_whole_when_small(server, recordings, tmp_path):
    server.faults.ignore_range = True
    with open_recording(server.url("x.edf"), cache_dir=tmp_path) as remote, \
            open_recording(recordings["x.edf"]) as local:
        requests = server.requests
        assert_same_recording(remote, local)
    assert server.requests == requests   # the one whole download served everything


def test_a_server_ignoring_range_is_refused_when_the_file_is_large(server, recordings, tmp_path):
    server.faults.ignore_range = True
    with pytest.raises(RangeNotSupportedError) as caught:
        open_recording(server.url("x.TRC"), cache_dir=tmp_path, full_download_limit=10_000)
    assert "range" in str(caught.value).lower()


def test_a_cut_body_is_retried_then_reported(server, tmp_path):
    with open_recording(server.url("x.TRC"), cache_dir=tmp_path, read_ahead=False) as rec:
        server.faults.truncate_to = 100
        with pytest.raises(RemoteTruncatedError) as caught:
            rec.read_samples(N_SAMPLES - 3000, N_SAMPLES)
        assert server.url("x.TRC") in str(caught.value)
        server.faults.truncate_to = None
        assert rec.read_samples(N_SAMPLES - 3000, N_SAMPLES).shape == (3000, 8)  # recovers


def test_server_errors_are_retried(server, recordings, tmp_path):
    with open_recording(server.url("x.TRC"), cache_dir=tmp_path, read_ahead=False) as rec:
        failures = iter([503])
        original = server.faults.status_for

        class FailOnce(dict):
            def __contains__(self, name):
                code = next(failures, None)
                if code is not None:
                    self[name] = code
                    return True
                self.pop(name, None)
                return False

        server.faults.status_for = FailOnce()
        block = rec.read_samples(N_SAMPLES - 3000, N_SAMPLES)
        server.faults.status_for = original
    with open_recording(recordings["x.TRC"]) as local:
        np.testing.assert_array_equal(block, local.read_samples(N_SAMPLES - 3000, N_SAMPLES))


def test_remote_path_prints_as_its_url():
    path = RemotePath("https://example.org/data/sub-01%20a.nwb")
    assert str(path) == "https://example.org/data/sub-01%20a.nwb"
    assert path.name == "sub-01 a.nwb" and path.suffix == ".nwb"
    assert not path.exists()


def test_opening_a_local_file_loads_no_network_code(recordings):
    script = ("import sys; from tracemark.io_backends import open_recording; "
              f"open_recording({str(recordings['x.TRC'])!r}).close(); "
              "print(sorted(m for m in sys.modules if m.startswith(('http.client', 'ssl', 'fsspec', "
              "'aiohttp', 'zarr', 'tracemark.io_backends.remote.'))))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_closing_while_another_thread_waits_for_blocks_fails_that_read(server, tmp_path):
    from tracemark.io_backends.errors import RecordingClosedError

    rec = open_recording(server.url("x.TRC"), cache_dir=tmp_path, timeout=5, read_ahead=False)
    server.faults.stall = True
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_try(rec.read_samples, N_SAMPLES - 4000, N_SAMPLES)))
    reader.start()
    rec.close()
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert outcome and isinstance(outcome[0], (RecordingClosedError, RemoteTimeoutError))


def _try(function, *args):
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 (the test inspects it)
        return error


def test_a_large_read_is_fetched_over_several_connections_at_once(tmp_path):
    from tracemark.demo.trc_writer import write_trc_array

    data = np.random.default_rng(1).normal(0, 40, (512 * 1200, 16)).astype(np.float32)  # 39 MB
    path = write_trc_array(tmp_path / "wide.TRC", data, sampling_rate=RATE)
    with (RangeServer({"wide.TRC": path}) as running,
          open_recording(running.url("wide.TRC"), cache_dir=tmp_path / "c", read_ahead=False) as rec,
          open_recording(path) as local):
        running.faults.latency_s = 0.05   # so that requests overlap on any machine
        block = rec.read_samples(0, 512 * 1200)
        assert running.max_active >= 2
        np.testing.assert_array_equal(block, local.read_samples(0, 512 * 1200))


def test_memory_held_stays_within_its_limit_while_paging(tmp_path):
    from tracemark.demo.trc_writer import write_trc_array

    path = write_trc_array(tmp_path / "long.TRC", np.zeros((512 * 900, 8), np.float32), sampling_rate=RATE)
    limit = 1 << 20
    with (RangeServer({"long.TRC": path}) as running,
          open_recording(running.url("long.TRC"), cache_dir=tmp_path / "c", memory_bytes=limit) as rec):
        source = rec._file
        for start in range(0, 900, 10):
            rec.read(start, start + 10)
            assert source._held_bytes <= limit
        assert source.stats.fetched_bytes >= path.stat().st_size // 2   # it did page through


def test_an_empty_block_file_reads_as_a_miss(tmp_path):
    from tracemark.io_backends.remote.block_cache import BlockCache

    blocks = BlockCache(tmp_path).for_file("http://example.org/x.TRC", '"v1"', 1024)
    blocks.put(0, b"a" * 1024)
    assert blocks.get(0) == b"a" * 1024
    (stored,) = [p for p in blocks.folder.iterdir() if p.name != "validator"]
    stored.write_bytes(b"")  # what a power loss may leave of a block that was never synced
    assert blocks.get(0) is None


def test_a_long_request_hands_over_its_blocks_in_order_as_they_arrive(server, recordings):
    """A reader waiting for the front of a long request is served piece by piece, each byte once."""
    from tracemark.io_backends.remote.http_range import HttpRangeClient

    url = server.url("x.TRC")
    client = HttpRangeClient(url, RemotePath(url))
    try:
        client.probe(1024)
        pieces: list[bytes] = []
        client.stream(1000, 1000 + 70_000, pieces.append, piece=16_384)
    finally:
        client.close()
    assert [len(p) for p in pieces] == [16_384] * 4 + [70_000 - 4 * 16_384]
    assert b"".join(pieces) == recordings["x.TRC"].read_bytes()[1000:71_000]


def test_a_cut_body_is_resumed_from_the_first_piece_not_received(server, recordings):
    """The retry of a body cut after two whole pieces asks only for the rest."""
    from tracemark.io_backends.remote.http_range import HttpRangeClient

    url = server.url("x.TRC")
    client = HttpRangeClient(url, RemotePath(url))
    try:
        client.probe(1024)
        server.ranges.clear()
        server.faults.truncate_to = 2 * 16_384 + 100
        pieces: list[bytes] = []
        client.stream(0, 40_000, pieces.append, piece=16_384)
    finally:
        client.close()
    assert server.ranges == ["bytes=0-39999", "bytes=32768-39999"]
    assert b"".join(pieces) == recordings["x.TRC"].read_bytes()[:40_000]
