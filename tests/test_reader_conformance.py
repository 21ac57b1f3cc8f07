"""One conformance suite for the reader protocol, run over every backend.

Each backend gets the same small recording, written by Tracemark's own writers (or, for
the neo backend, read through python-neo from a TRC file), and must honour every clause
of the contract in ``tracemark/io_backends/protocol.py``.
"""

from __future__ import annotations

import dataclasses
import gc
import threading
from pathlib import Path

import numpy as np
import psutil
import pytest

from tracemark.domain.channel_types import CHANNEL_TYPES
from tracemark.io_backends import RecordingClosedError, open_recording

NAMES = ("Fp1", "Cz", "O2", "EMG", "ECG")  # TRC labels hold at most 6 bytes
TYPES = ("eeg", "eeg", "eeg", "emg", "ecg")
RATE = 512.0
N_SAMPLES = 512 * 20 + 37  # not a whole number of seconds or records
UNITS = "uV"
RANGE = (-3276.8, 3276.7)


def _signal(n_samples: int = N_SAMPLES, n_channels: int = len(NAMES), seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.normal(0, 200, (n_samples, n_channels)).cumsum(axis=0) * 0.05
    data += rng.normal(0, 40, data.shape)
    data[n_samples // 3, 1] = 3000.0  # a spike
    return np.clip(data, *RANGE)


def _write_trc(path: Path, chunks, n_samples: int, rate: float = RATE, names=NAMES) -> Path:
    from tracemark.demo.trc_writer import write_trc

    write_trc(path, chunks, channel_names=names, sampling_rate=rate, n_samples=n_samples,
              units=UNITS, bytes_per_sample=2, physical_range=RANGE, triggers=[(100, 1), (4000, 2)])
    return path


def _write_nwb(path: Path, chunks, n_samples: int, rate: float = RATE, names=NAMES) -> Path:
    from tracemark.demo.nwb_writer import write_nwb

    write_nwb(path, chunks, channel_names=names, sampling_rate=rate, n_samples=n_samples,
              units=UNITS, events=[(100 / rate, 0.0, "TMS"), (4000 / rate, 0.0, "TMS")])
    return path


def _write_edf(path: Path, chunks, n_samples: int, rate: float = RATE, names=NAMES) -> Path:
    from tracemark.io_backends.edf_writer import write_edf

    write_edf(path, chunks, channel_names=names, sampling_rates=[rate] * len(names),
              n_samples=n_samples, units=[UNITS] * len(names),
              physical_ranges=[RANGE] * len(names), annotations=[(100 / rate, 0.0, "TMS")])
    return path


#: backend -> (writer, suffix, options for open_recording)
BACKENDS = {
    "trc": (_write_trc, ".TRC", {}),
    "nwb": (_write_nwb, ".nwb", {}),
    "edf": (_write_edf, ".edf", {}),
    "neo": (_write_trc, ".TRC", {"format": "neo"}),
}


@pytest.fixture(params=sorted(BACKENDS), scope="module")
def written(request, tmp_path_factory):
    """(backend name, path, open options, the physical data written)."""
    writer, suffix, options = BACKENDS[request.param]
    data = _signal()
    path = writer(tmp_path_factory.mktemp(request.param) / f"conformance{suffix}", [data], len(data))
    return request.param, path, options, data


@pytest.fixture
def recording(written):
    _, path, options, _ = written
    with open_recording(path, **options) as rec:
        yield rec


def _main_stream(rec):
    """Index of the stream holding the written channels (EDF+ keeps annotations apart)."""
    for index, stream in enumerate(rec.header.streams):
        if stream.n_channels == len(NAMES):
            return index
    raise AssertionError(f"no stream with {len(NAMES)} channels in {rec.header.streams}")


def test_header_describes_what_was_written(recording):
    stream = recording.header.streams[_main_stream(recording)]
    assert stream.channel_names == NAMES
    assert stream.sampling_rate == pytest.approx(RATE)
    assert stream.sampling_rates == (pytest.approx(RATE),) * len(NAMES)
    assert stream.n_samples in (N_SAMPLES, N_SAMPLES - N_SAMPLES % int(RATE) + int(RATE))  # EDF pads the last record
    assert stream.duration_s == pytest.approx(stream.n_samples / RATE)
    assert all(u.lower() in ("uv", "µv", "μv") for u in stream.units)
    assert np.all(np.isfinite(stream.gains)) and np.all(stream.gains != 0)
    assert recording.header.duration_s >= stream.duration_s


def test_every_channel_has_one_valid_type(recording):
    for stream in recording.header.streams:
        assert isinstance(stream.channel_types, tuple)
        assert len(stream.channel_types) == stream.n_channels
        assert set(stream.channel_types) <= set(CHANNEL_TYPES), stream.channel_types
        assert isinstance(stream.kind, str)
        assert stream.describe().startswith(stream.name)
    assert recording.header.streams[_main_stream(recording)].channel_types == TYPES
    assert recording.header.main_stream_index() == _main_stream(recording)


def test_header_is_immutable(recording):
    stream = recording.header.streams[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        stream.n_samples = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        recording.header.streams = ()
    with pytest.raises(ValueError):
        stream.gains[0] = 2.0


def test_physical_values_match_what_was_written(recording, written):
    data = written[3]
    s = _main_stream(recording)
    stream = recording.header.streams[s]
    got = recording.read_samples(0, N_SAMPLES, stream=s)
    assert got.dtype == np.float32 and got.shape == (N_SAMPLES, len(NAMES))
    step = np.abs(stream.gains)
    assert np.all(np.abs(got - data) <= step * 0.5 + 1e-3 * np.abs(data) + 1e-3)


def test_scaling_is_raw_times_gain_plus_offset(recording):
    s = _main_stream(recording)
    stream = recording.header.streams[s]
    raw = recording.read_raw(1000, 3000, stream=s)
    assert raw.dtype == stream.raw_dtype
    scaled = raw.astype(np.float64) * stream.gains
    expected = scaled + stream.offsets
    # float32 results: allow a few ulps of the largest term (raw*gain and offset may cancel).
    atol = 4 * np.finfo(np.float32).eps * (np.abs(scaled).max() + np.abs(stream.offsets).max())
    np.testing.assert_allclose(recording.read_samples(1000, 3000, stream=s), expected, rtol=1e-6, atol=atol)


def test_a_slice_equals_the_same_part_of_a_full_read(recording):
    s = _main_stream(recording)
    full = recording.read_samples(0, N_SAMPLES, stream=s)
    for start, stop in [(0, 1), (1, 2), (511, 1537), (N_SAMPLES - 700, N_SAMPLES - 3), (4097, 4097 + 3 * 512)]:
        np.testing.assert_array_equal(recording.read_samples(start, stop, stream=s), full[start:stop])
    i0, i1 = recording.sample_range(2.5, 7.25, stream=s)
    assert (i0, i1) == (int(2.5 * RATE), int(7.25 * RATE))
    np.testing.assert_array_equal(recording.read(2.5, 7.25, stream=s), full[i0:i1])


def test_reads_are_clipped_at_both_ends(recording):
    s = _main_stream(recording)
    n = recording.header.streams[s].n_samples
    full = recording.read_samples(0, n, stream=s)
    np.testing.assert_array_equal(recording.read_samples(-50, 10, stream=s), full[:10])
    np.testing.assert_array_equal(recording.read_samples(n - 10, n + 500, stream=s), full[n - 10:])
    assert recording.read_samples(n + 10, n + 20, stream=s).shape == (0, len(NAMES))
    assert recording.read_samples(30, 10, stream=s).shape == (0, len(NAMES))
    assert recording.read(-5.0, 0.5, stream=s).shape == (int(0.5 * RATE), len(NAMES))
    assert recording.read_raw(-5, 0, stream=s).shape == (0, len(NAMES))


def test_channel_subsets_in_any_order(recording):
    s = _main_stream(recording)
    full = recording.read_samples(2000, 2600, stream=s)
    for channels in ([3], [4, 0, 2], [1, 1, 0], [0, 1, 2, 3, 4][::-1], np.array([2, 3])):
        got = recording.read_samples(2000, 2600, channels, stream=s)
        np.testing.assert_array_equal(got, full[:, list(channels)])
        raw = recording.read_raw(2000, 2600, channels, stream=s)
        assert raw.shape == (600, len(channels))
    assert recording.read_samples(2000, 2600, [], stream=s).shape == (600, 0)
    with pytest.raises(IndexError):
        recording.read_samples(0, 10, [len(NAMES)], stream=s)
    with pytest.raises(IndexError):
        recording.read_samples(0, 10, [-1], stream=s)


def test_parallel_reads_from_threads_agree(recording):
    s = _main_stream(recording)
    full = recording.read_samples(0, N_SAMPLES, stream=s)
    failures: list[str] = []
    rng = np.random.default_rng(0)
    jobs = [(int(a), int(a) + int(length), rng.permutation(len(NAMES))[: int(k)])
            for a, length, k in zip(rng.integers(0, N_SAMPLES - 1100, 200),
                                    rng.integers(1, 1000, 200), rng.integers(1, len(NAMES) + 1, 200))]

    def worker(part):
        for start, stop, chans in part:
            got = recording.read_samples(start, stop, chans, stream=s)
            if not np.array_equal(got, full[start:stop][:, chans]):
                failures.append(f"{start}:{stop} {chans}")

    threads = [threading.Thread(target=worker, args=(jobs[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_events_are_sorted_and_typed(recording):
    events = recording.events()
    assert isinstance(events, tuple)
    assert [e.time_s for e in events] == sorted(e.time_s for e in events)
    assert any(abs(e.time_s - 100 / RATE) < 1.5 / RATE for e in events), events
    for e in events:
        assert isinstance(e.label, str) and isinstance(e.source, str) and e.duration_s >= 0


def _open_paths(process: psutil.Process) -> list[str]:
    return sorted(f.path for f in process.open_files())


def test_close_releases_every_handle(written):
    _, path, options, _ = written
    process = psutil.Process()
    gc.collect()
    before = _open_paths(process)
    maps_before = sum(1 for m in process.memory_maps(grouped=False) if m.path == str(path))
    for _ in range(3):
        rec = open_recording(path, **options)
        rec.read_samples(0, 1000, stream=_main_stream(rec))
        rec.close()
        rec.close()  # idempotent
        with pytest.raises(RecordingClosedError):
            rec.read_samples(0, 10)
    del rec
    gc.collect()
    assert _open_paths(process) == before
    assert sum(1 for m in process.memory_maps(grouped=False) if m.path == str(path)) == maps_before


def test_recordings_are_opened_read_only(written, tmp_path):
    _, path, options, _ = written
    before = path.read_bytes()
    mode = path.stat().st_mode
    path.chmod(0o444)  # a read-only file must open: nothing asks for write access
    try:
        with open_recording(path, **options) as rec:
            rec.read_samples(0, 100, stream=_main_stream(rec))
    finally:
        path.chmod(mode)
    assert path.read_bytes() == before
