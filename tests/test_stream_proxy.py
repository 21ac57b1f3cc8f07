"""The array proxy (``recording.stream(key)``) and the memory policy (``lazy=False``,
``in_memory``, ``load_into_memory()``, ``uncache()``), checked over every backend.

Uses the conformance suite's recordings (``tests/test_reader_conformance.py``). What a
slice costs is proven by counting the bytes the process reads from files
(``/proc/self/io``), not by timing.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from test_reader_conformance import BACKENDS, NAMES, _main_stream, _signal, written  # noqa: F401

from tracemark.io_backends import RecordingClosedError, StreamProxy, open_recording


@pytest.fixture
def recording(written):  # noqa: F811 (the imported fixture)
    _, path, options, _ = written
    with open_recording(path, **options) as rec:
        yield rec


@pytest.fixture
def eager(written):  # noqa: F811
    _, path, options, _ = written
    with open_recording(path, lazy=False, **options) as rec:
        yield rec


def _keys(n_samples: int, n_channels: int) -> list:
    """Indexes a proxy must answer exactly as numpy answers them on the whole array."""
    mask = np.arange(n_channels) % 2 == 0
    return [
        np.s_[:], np.s_[...], np.s_[100:612], np.s_[100:612, :], np.s_[100:612, 2],
        np.s_[100:612, -1], np.s_[100:612, 1:4], np.s_[100:612, ::-2], np.s_[100:612, [4, 0, 0, 2]],
        np.s_[100:612, np.array([-1, 1])], np.s_[100:612, mask], np.s_[100:612, []],
        np.s_[7], np.s_[-1], np.s_[-n_samples], np.s_[7, 3], np.s_[-2, -5], np.s_[np.int64(9), np.int32(1)],
        np.s_[..., 3], np.s_[..., [3, 1]], np.s_[20:30, ...], np.s_[5, ...], np.s_[..., 1:2],
        np.s_[0:5000:7], np.s_[0:5000:7, [1, 3]], np.s_[::-1], np.s_[5000:100:-13, 2], np.s_[::997],
        np.s_[n_samples - 10:n_samples + 500], np.s_[-300:], np.s_[-10**9:20], np.s_[600:500],
        np.s_[n_samples + 5:n_samples + 10], np.s_[3:3, 0],
    ]


def test_proxy_describes_its_stream(recording):
    s = _main_stream(recording)
    header = recording.header.streams[s]
    proxy = recording.stream(s)
    assert isinstance(proxy, StreamProxy) and proxy.is_proxy
    assert proxy.shape == (header.n_samples, header.n_channels) == (header.n_samples, len(NAMES))
    assert proxy.ndim == 2 and len(proxy) == header.n_samples and proxy.size == header.n_samples * len(NAMES)
    assert proxy.dtype == np.float32
    assert proxy.raw.dtype == header.raw_dtype and proxy.raw.shape == proxy.shape
    np.testing.assert_array_equal(proxy.gains, header.gains)
    np.testing.assert_array_equal(proxy.offsets, header.offsets)
    assert proxy.header is header
    for key in (header.stream_id, header.name):
        assert recording.stream(key).header is header
    with pytest.raises(KeyError):
        recording.stream("no such stream")
    assert header.name in repr(proxy) and recording.path.name in repr(proxy)


def test_proxy_slices_equal_numpy_on_a_full_read(recording):
    s = _main_stream(recording)
    proxy = recording.stream(s)
    full = recording.read_samples(0, proxy.shape[0], stream=s)
    for key in _keys(*proxy.shape):
        got, expected = proxy[key], full[key]
        assert isinstance(got, (np.ndarray, np.float32)), key
        assert np.shape(got) == np.shape(expected), key
        assert got.dtype == np.float32, key
        np.testing.assert_array_equal(got, expected, err_msg=str(key))


def test_a_proxy_slice_is_the_same_read(recording):
    s = _main_stream(recording)
    proxy = recording.stream(s)
    for i0, i1, channels in [(0, 1, [0]), (511, 1537, [4, 0, 2]), (4097, 4097 + 3 * 512, [1, 1])]:
        np.testing.assert_array_equal(proxy[i0:i1, channels],
                                      recording.read_samples(i0, i1, channels, stream=s))
        raw = proxy.raw[i0:i1, channels]
        np.testing.assert_array_equal(raw, recording.read_raw(i0, i1, channels, stream=s))
        assert raw.dtype == recording.header.streams[s].raw_dtype


def test_asarray_reads_the_whole_stream_every_time(recording):
    s = _main_stream(recording)
    proxy = recording.stream(s)
    first, second = np.asarray(proxy), np.array(proxy)
    np.testing.assert_array_equal(first, recording.read_samples(0, proxy.shape[0], stream=s))
    assert first is not second and not np.shares_memory(first, second)
    assert np.asarray(proxy, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="without a copy"):
        np.asarray(proxy, copy=False)
    assert not recording.in_memory  # reading the whole stream is not loading it


@pytest.mark.parametrize("key, message", [
    (np.s_[10**9], "out of range"), (np.s_[0, len(NAMES)], "out of range"),
    (np.s_[0, -len(NAMES) - 1], "out of range"), (np.s_[:, [0, 99]], "out of range"),
    (np.s_[0, 0, 0], "too many"), (np.s_[None, 0], "new axes"), (np.s_[..., 0, ...], "single ellipsis"),
    (np.s_[[1, 2], 0], "int or a slice"), (np.s_[:, [True, False]], "boolean channel mask"),
    (np.s_[:, [0.5]], "channels are indexed"), (np.s_[:, [[0, 1]]], "channels are indexed"),
    (np.s_[True], "int or a slice"),
])
def test_bad_indexes_raise_index_error_saying_what_is_allowed(recording, key, message):
    with pytest.raises(IndexError, match=message):
        recording.stream(_main_stream(recording))[key]


# -- the memory policy ----------------------------------------------------------------------

def _count_backend_reads(rec, monkeypatch) -> list:
    """Record every call that reaches the backend's own read (the file), not the memory copy."""
    calls = []
    backend_read = rec._read_raw_block

    def counted(*args):
        calls.append(args[1:3])
        return backend_read(*args)

    monkeypatch.setattr(rec, "_read_raw_block", counted)
    return calls


def test_lazy_is_the_default_and_loading_is_explicit(recording, monkeypatch):
    s = _main_stream(recording)
    assert recording.in_memory is False and recording.stream(s).in_memory is False
    calls = _count_backend_reads(recording, monkeypatch)
    recording.stream(s)[100:200]
    np.asarray(recording.stream(s))
    recording.read(1.0, 2.0, stream=s)
    assert calls and recording.in_memory is False  # reads went to the file and cached nothing
    recording.uncache()  # nothing held: no effect
    assert recording.in_memory is False
    recording.load_into_memory()
    assert recording.in_memory and recording.stream(s).in_memory
    calls.clear()
    recording.stream(s)[100:200]
    assert calls == []


def test_lazy_false_equals_lazy_true(recording, eager):
    s = _main_stream(recording)
    assert eager.in_memory and not recording.in_memory
    n = recording.header.streams[s].n_samples
    np.testing.assert_array_equal(eager.read_samples(0, n, stream=s), recording.read_samples(0, n, stream=s))
    np.testing.assert_array_equal(eager.read_raw(-5, n + 5, stream=s), recording.read_raw(-5, n + 5, stream=s))
    np.testing.assert_array_equal(eager.read(2.5, 7.25, [3, 0], stream=s),
                                  recording.read(2.5, 7.25, [3, 0], stream=s))
    for key in _keys(n, len(NAMES)):
        np.testing.assert_array_equal(eager.stream(s)[key], recording.stream(s)[key], err_msg=str(key))
    assert eager.events() == recording.events()


def test_in_memory_reads_skip_the_file_until_uncache(eager, monkeypatch):
    s = _main_stream(eager)
    calls = _count_backend_reads(eager, monkeypatch)
    expected = eager.read_samples(1000, 3000, [2, 0], stream=s)
    eager.read_raw(0, 10**9, stream=s)
    eager.stream(s)[::3, 1]
    assert calls == []
    eager.uncache()
    assert not eager.in_memory and not eager.stream(s).in_memory
    np.testing.assert_array_equal(eager.read_samples(1000, 3000, [2, 0], stream=s), expected)
    assert calls, "after uncache() the next read must go to the file"
    assert not eager.in_memory, "a read must not refill the memory copy"
    eager.uncache()  # idempotent
    eager.load_into_memory()
    assert eager.in_memory


def test_reads_are_fresh_arrays_the_caller_owns(recording, eager):
    s = _main_stream(eager)
    reads = (lambda rec: rec.read_samples(0, 100, stream=s), lambda rec: rec.read_raw(0, 100, stream=s),
             lambda rec: rec.read_raw(0, 100, [1, 2], stream=s), lambda rec: rec.stream(s)[:100])
    for rec in (recording, eager):
        for read in reads:
            first = read(rec)
            expected = first.copy()
            first[:] = 0  # the caller's to change: neither the file nor the memory copy moves
            np.testing.assert_array_equal(read(rec), expected)


def test_close_drops_the_memory_copy(eager):
    s = _main_stream(eager)
    proxy = eager.stream(s)
    eager.close()
    assert not eager.in_memory and not proxy.in_memory
    with pytest.raises(RecordingClosedError):
        proxy[0:10]
    with pytest.raises(RecordingClosedError):
        eager.read_raw(0, 10, stream=s)
    with pytest.raises(RecordingClosedError):
        eager.load_into_memory()


def test_reads_agree_while_another_thread_loads_and_uncaches(recording):
    s = _main_stream(recording)
    proxy = recording.stream(s)
    full = recording.read_samples(0, proxy.shape[0], stream=s)
    stop, failures = threading.Event(), []

    def toggle():
        while not stop.is_set():
            recording.load_into_memory()
            recording.uncache()

    def reader(seed: int):
        rng = np.random.default_rng(seed)
        for _ in range(150):
            i0 = int(rng.integers(0, proxy.shape[0] - 600))
            channels = rng.permutation(len(NAMES))[: int(rng.integers(1, len(NAMES) + 1))]
            if not np.array_equal(proxy[i0:i0 + 600, channels], full[i0:i0 + 600][:, channels]):
                failures.append((i0, channels))

    toggler = threading.Thread(target=toggle)
    readers = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
    toggler.start()
    for t in readers:
        t.start()
    for t in readers:
        t.join(timeout=120)
    stop.set()
    toggler.join(timeout=120)
    assert not failures


def test_open_recording_lazy_false_closes_the_file_when_loading_fails(written, monkeypatch):  # noqa: F811
    _, path, options, _ = written
    from tracemark.io_backends.protocol import BaseRecording

    opened = []

    def failing_load(self):
        opened.append(self)
        raise MemoryError("no room")

    monkeypatch.setattr(BaseRecording, "load_into_memory", failing_load)
    with pytest.raises(MemoryError):
        open_recording(path, lazy=False, **options)
    assert len(opened) == 1 and opened[0].closed


def test_in_memory_nwb_answers_time_lookups_of_irregular_streams(tmp_path):
    from tracemark.demo.nwb_writer import ExtraSeries, write_nwb

    rng = np.random.default_rng(5)
    times = np.sort(rng.uniform(0, 10, 400))
    path = write_nwb(tmp_path / "irregular.nwb", [_signal(2000, 2)], channel_names=["A", "B"],
                     sampling_rate=200.0, n_samples=2000,
                     extra_series=[ExtraSeries("pressure", rng.normal(size=400), "pascals", timestamps=times)])
    with open_recording(path) as lazy, open_recording(path, lazy=False) as eager:
        index = next(i for i, st in enumerate(lazy.header.streams) if not st.regular)
        for start, stop in [(0.0, 10.0), (2.5, 2.6), (-1.0, 3.3), (9.99, 20.0)]:
            assert eager.sample_range(start, stop, index) == lazy.sample_range(start, stop, index)
            np.testing.assert_array_equal(eager.read(start, stop, stream=index), lazy.read(start, stop, stream=index))
        np.testing.assert_array_equal(eager.sample_times(10, 300, index), lazy.sample_times(10, 300, index))
        eager._file.close()  # only memory is left to answer from
        assert eager.sample_range(2.5, 2.6, index) == lazy.sample_range(2.5, 2.6, index)
        np.testing.assert_array_equal(eager.stream(index)[:], lazy.stream(index)[:])


# -- what a slice costs, in bytes read from the file ---------------------------------------

PROC_IO = Path("/proc/self/io")
#: Backends whose reads are system calls, which /proc/self/io counts. The neo backend
#: reads TRC through a memory map, whose page faults no counter of read bytes sees.
BYTE_COUNTED = ("edf", "nwb", "trc")
BIG_RATE, BIG_SECONDS, BIG_CHANNELS = 2048.0, 240, 32


def _bytes_read() -> int:
    """Bytes this process has read through system calls (page cache hits included)."""
    for line in PROC_IO.read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("/proc/self/io has no rchar line")


def _bytes_read_by(action) -> int:
    idle = _bytes_read()
    idle = _bytes_read() - idle  # what reading the counter itself costs
    before = _bytes_read()
    action()
    return _bytes_read() - before - idle


@pytest.fixture(params=BYTE_COUNTED, scope="module")
def big_file(request, tmp_path_factory):
    """A 4-minute, 32-channel, 2048 Hz int16 recording (32 MB of samples) and its backend."""
    if not PROC_IO.exists():
        pytest.skip("counting bytes read needs Linux's /proc/self/io")
    writer, suffix, options = BACKENDS[request.param]
    names = tuple(f"C{k}" for k in range(BIG_CHANNELS))
    chunk = _signal(n_samples=int(BIG_RATE) * 10, n_channels=BIG_CHANNELS)
    path = tmp_path_factory.mktemp(f"big-{request.param}") / f"big{suffix}"
    writer(path, (chunk for _ in range(BIG_SECONDS // 10)), len(chunk) * (BIG_SECONDS // 10),
           rate=BIG_RATE, names=names)
    yield path, options
    path.unlink()


def test_slicing_one_second_reads_about_one_second(big_file):
    path, options = big_file
    with open_recording(path, **options) as rec:
        proxy = rec.stream(0)
        second = int(BIG_RATE)
        one_second_bytes = second * BIG_CHANNELS * 2
        proxy[10 * second:11 * second]  # first read: imports, HDF5 metadata, chunk index
        read = _bytes_read_by(lambda: proxy[120 * second + 77:121 * second + 77])
        # Whole EDF records and NWB chunks around the second are read, nothing more.
        assert one_second_bytes <= read <= 4 * one_second_bytes + (256 << 10), read
        one_channel = _bytes_read_by(lambda: proxy[200 * second:201 * second, 5])
        assert one_channel <= 4 * one_second_bytes + (256 << 10), one_channel
        # A large step reads the samples it keeps, not the minutes in between.
        sparse = _bytes_read_by(lambda: proxy[::20 * second])
        assert sparse <= (BIG_SECONDS // 20) * (4 * one_second_bytes + (64 << 10)), sparse
        # The counter does see big reads. Half is enough to tell (the whole is 240 seconds'
        # worth), and HDF5 serves some chunks it has read before from its own caches.
        whole = _bytes_read_by(lambda: np.asarray(proxy))
        assert whole >= 0.5 * BIG_SECONDS * one_second_bytes, whole


def test_an_in_memory_recording_reads_nothing_more_until_uncache(big_file):
    path, options = big_file
    second = int(BIG_RATE)
    one_second_bytes = second * BIG_CHANNELS * 2
    loaded = []
    load_bytes = _bytes_read_by(lambda: loaded.append(open_recording(path, lazy=False, **options)))
    with loaded[0] as rec:
        assert load_bytes >= BIG_SECONDS * one_second_bytes, load_bytes  # every sample, once
        proxy = rec.stream(0)
        assert _bytes_read_by(lambda: proxy[120 * second:121 * second]) < 4096
        assert _bytes_read_by(lambda: rec.read(30.0, 40.0, [3, 1])) < 4096
        rec.uncache()
        assert _bytes_read_by(lambda: proxy[120 * second:121 * second]) >= one_second_bytes
