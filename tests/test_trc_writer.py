"""The TRC writer: quantisation, streaming, events, validation, and neo reading it back."""

from __future__ import annotations

import tracemalloc
from datetime import datetime

import numpy as np
import pytest

from tracemark.demo.trc_writer import (
    TrcChannel,
    write_trc,
    write_trc_array,
    write_trc_frames,
)
from tracemark.io_backends.trc import open_trc

neo_rawio = pytest.importorskip("neo.rawio", reason="neo reads the files back as the oracle")

LOGIC = {1: (0, 255, 128), 2: (0, 65535, 32768), 4: (0, 2**31 - 1, 2**30)}


def _expected_codes(data, physical_range, bytes_per_sample):
    low, high, ground = LOGIC[bytes_per_sample]
    gain = (physical_range[1] - physical_range[0]) / (high - low + 1)
    return np.clip(np.rint(data / gain) + ground, low, high).astype(np.int64)


def _neo_read(path):
    reader = neo_rawio.MicromedRawIO(filename=str(path))
    reader.parse_header()
    return reader, reader.get_analogsignal_chunk(0, 0, None, None, stream_index=0)


@pytest.mark.parametrize("bytes_per_sample", [1, 2, 4])
@pytest.mark.parametrize("compact", [False, True])
def test_neo_reads_back_the_quantised_codes(tmp_path, bytes_per_sample, compact):
    rng = np.random.default_rng(bytes_per_sample)
    data = rng.normal(0, 120, (777, 3))
    data[5] = [5000, -5000, 0]  # beyond the range: clipped, not wrapped
    path = write_trc_array(tmp_path / "q.TRC", data, channel_names=["A", "B", "C"],
                           sampling_rate=1000, bytes_per_sample=bytes_per_sample,
                           physical_range=(-400, 400), order=[2, 0, 1], compact=compact)
    reader, raw = _neo_read(path)
    expected = _expected_codes(data, (-400, 400), bytes_per_sample)
    np.testing.assert_array_equal(raw.astype(np.int64), expected)
    low, high, _ = LOGIC[bytes_per_sample]
    assert raw[5, 0] == high and raw[5, 1] == low
    assert tuple(reader.header["signal_channels"]["name"]) == ("A", "B", "C")
    physical = reader.rescale_signal_raw_to_float(raw, dtype="float64", stream_index=0)
    gain = 800 / (high - low + 1)
    inside = np.abs(data) < 400 - gain
    assert np.all(np.abs(physical - data)[inside] <= gain / 2 + 1e-9)


def test_events_read_back_through_neo_and_tracemark(tmp_path):
    path = write_trc_array(
        tmp_path / "ev.TRC", np.zeros((2000, 2)), channel_names=["X", "Y"], sampling_rate=200,
        triggers=[(400, 3), (0, 4), (1999, 65534)], notes=[(600, "Eyes open"), (0, "begin")],
        event_a=[(100, 300)], event_b=[(0, 50), (900, 950)],
        start_datetime=datetime(2024, 2, 29, 23, 59, 1), patient_surname="Doe",
        patient_first_name="Jane")
    reader, _ = _neo_read(path)
    triggers = reader.get_event_timestamps(0, 0, 0)
    assert triggers[0].tolist() == [400, 1999] and triggers[2].tolist() == ["3", "65534"]
    notes = reader.get_event_timestamps(0, 0, 1)
    assert notes[0].tolist() == [600] and notes[2].tolist() == ["Eyes open"]
    event_a = reader.get_event_timestamps(0, 0, 2)
    assert event_a[0].tolist() == [100] and event_a[1].tolist() == [200]
    assert reader.get_event_timestamps(0, 0, 3)[0].tolist() == [900]  # neo drops the one at 0
    assert reader.raw_annotations["blocks"][0]["rec_datetime"] == datetime(2024, 2, 29, 23, 59, 1)
    assert reader.raw_annotations["blocks"][0]["surname"] == b"Doe"
    with open_trc(path) as rec:
        assert dict(rec.header.details)["patient"] == "Doe Jane"
        ours = {(round(e.time_s * 200), round(e.duration_s * 200), e.label, e.source)
                for e in rec.events()}
    assert ours == {(400, 0, "3", "trigger"), (0, 0, "4", "trigger"), (1999, 0, "65534", "trigger"),
                    (600, 0, "Eyes open", "note"), (0, 0, "begin", "note"),
                    (100, 200, "1", "event_a"), (0, 50, "1", "event_b"), (900, 50, "1", "event_b")}


def test_chunks_of_any_size_equal_one_array(tmp_path):
    data = np.random.default_rng(1).normal(0, 30, (1000, 4))
    whole = write_trc_array(tmp_path / "whole.TRC", data, sampling_rate=256)
    pieces = [data[:1], data[1:400], data[400:400], data[400:]]
    streamed = write_trc(tmp_path / "streamed.TRC", iter(pieces), n_samples=1000,
                         channel_names=["Ch1", "Ch2", "Ch3", "Ch4"], sampling_rate=256)
    assert whole.read_bytes() == streamed.read_bytes()


def test_streaming_holds_one_chunk_at_a_time(tmp_path):
    rows, n_chunks, n_channels = 2048, 60, 16  # 15.7 MB of float64 in all

    def chunks():
        rng = np.random.default_rng(0)
        for _ in range(n_chunks):
            yield rng.normal(0, 50, (rows, n_channels))

    tracemalloc.start()
    try:
        write_trc(tmp_path / "long.TRC", chunks(), n_samples=rows * n_chunks,
                  channel_names=[f"E{i}" for i in range(n_channels)], sampling_rate=2048)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one_chunk = rows * n_channels * 8
    assert peak < 6 * one_chunk, f"peak {peak} bytes for {one_chunk}-byte chunks"
    with open_trc(tmp_path / "long.TRC") as rec:
        assert rec.header.streams[0].n_samples == rows * n_chunks


def test_wrong_row_count_leaves_no_file(tmp_path):
    target = tmp_path / "short.TRC"
    with pytest.raises(ValueError, match="held 10 rows, expected n_samples=20"):
        write_trc(target, [np.zeros((10, 1))], n_samples=20, channel_names=["A"], sampling_rate=10)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_chunk_leaves_no_file(tmp_path):
    def chunks():
        yield np.zeros((5, 1))
        yield np.full((5, 1), np.nan)

    with pytest.raises(ValueError, match="NaN"):
        write_trc(tmp_path / "nan.TRC", chunks(), n_samples=10, channel_names=["A"],
                  sampling_rate=10)
    assert list(tmp_path.iterdir()) == []


def test_fractional_physical_range_is_widened(tmp_path):
    path = write_trc_array(tmp_path / "w.TRC", np.array([[3276.7], [-3276.8]]),
                           sampling_rate=100, physical_range=(-3276.8, 3276.7))
    with open_trc(path) as rec:
        stream = rec.header.streams[0]
        assert stream.gains[0] == 6554 / 65536
        np.testing.assert_allclose(rec.read_samples(0, 2)[:, 0], [3276.7, -3276.8],
                                   atol=stream.gains[0] / 2)


@pytest.mark.parametrize("kwargs, words", [
    (dict(channel_names=["TOOLONG"]), "longer than 6 bytes"),
    (dict(sampling_rate=250.5), "whole number of Hz"),
    (dict(sampling_rate=70000), "whole number of Hz"),
    (dict(bytes_per_sample=3), "1, 2 or 4"),
    (dict(order=[0, 0]), "permutation"),
    (dict(units="furlongs"), "no Micromed code"),
    (dict(physical_range=(5, 5)), "min < max"),
    (dict(triggers=[(10, 1)]), "outside 0..9"),
    (dict(triggers=[(1, 65535)]), "65535 marks unused"),
    (dict(notes=[(1, "x" * 41)]), "longer than 40 bytes"),
    (dict(event_a=[(5, 3)]), "stop 3 must lie in 5..10"),
    (dict(start_datetime=datetime(1899, 1, 1)), "1900..2155"),
])
def test_invalid_arguments_are_refused(tmp_path, kwargs, words):
    options = dict(channel_names=["A", "B"], sampling_rate=100)
    options.update(kwargs)
    n_channels = len(options["channel_names"])
    with pytest.raises(ValueError, match=words):
        write_trc_array(tmp_path / "bad.TRC", np.zeros((10, n_channels)), **options)
    assert not (tmp_path / "bad.TRC").exists()


def test_frames_writer_refuses_codes_out_of_range(tmp_path):
    with pytest.raises(ValueError, match="0..255"):
        write_trc_frames(tmp_path / "f.TRC", [TrcChannel("A", bytes_per_sample=1)], 100,
                         [np.array([[256]])], n_frames=1)
