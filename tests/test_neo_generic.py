"""The generic python-neo backend, checked against neo's own high-level readers.

BrainVision and raw binary files are written here in tmp_path; the synthetic TRC files in
../shared/data are read through the neo path (format="neo") when present.
"""

from __future__ import annotations

import threading
import warnings
from datetime import datetime

import numpy as np
import pytest

from tests.conftest import shared_params
from tracemark.io_backends import (
    RecordingClosedError,
    RecordingError,
    UnsupportedFormatError,
    open_recording,
    sniff_format,
)
from tracemark.io_backends.neo_generic import NeoRecording, open_with_neo

neo = pytest.importorskip("neo", reason="the backend under test wraps python-neo")

RATE = 500.0
LABELS = ["Fp1", "Fp2", "EMG"]
RESOLUTIONS = [0.1, 0.5, 1.0]
UNITS = ["\u00b5V", "\u00b5V", "mV"]
MARKERS = [("Stimulus", "S  1", 250), ("Comment", "hello", 600), ("Stimulus", "S  2", 1200)]


def _write_brainvision(folder, n_samples=2000, seed=0):
    """A BrainVision set (.vhdr/.vmrk/.eeg), INT_16 multiplexed, as a recorder would write."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(-3000, 3000, size=(n_samples, len(LABELS)), dtype=np.int16)
    (folder / "rec.eeg").write_bytes(raw.astype("<i2").tobytes())
    channels = "\n".join(f"Ch{i + 1}={name},,{res},{unit}"
                         for i, (name, res, unit) in enumerate(zip(LABELS, RESOLUTIONS, UNITS)))
    (folder / "rec.vhdr").write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n\n[Common Infos]\nCodepage=UTF-8\n"
        "DataFile=rec.eeg\nMarkerFile=rec.vmrk\nDataFormat=BINARY\n"
        "DataOrientation=MULTIPLEXED\n"
        f"NumberOfChannels={len(LABELS)}\nSamplingInterval={1e6 / RATE:g}\n\n"
        f"[Binary Infos]\nBinaryFormat=INT_16\n\n[Channel Infos]\n{channels}\n", encoding="utf-8")
    markers = "\n".join(f"Mk{i + 1}={kind},{text},{pos},1,0"
                        for i, (kind, text, pos) in enumerate(MARKERS))
    (folder / "rec.vmrk").write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n\n[Common Infos]\nCodepage=UTF-8\n"
        f"DataFile=rec.eeg\n\n[Marker Infos]\n{markers}\n", encoding="utf-8")
    return folder / "rec.vhdr", raw


@pytest.fixture
def brainvision(tmp_path):
    return _write_brainvision(tmp_path)


def _neo_block(io):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return io.read_block(lazy=False)


def test_brainvision_matches_neo_high_level_reader(brainvision):
    path, raw = brainvision
    assert sniff_format(path) == "neo"
    block = _neo_block(neo.io.BrainVisionIO(str(path)))
    # neo's high-level reader splits a stream by unit; index its columns by channel name.
    columns = {name: (signal, k) for signal in block.segments[0].analogsignals
               for k, name in enumerate(signal.array_annotations["channel_names"])}
    with open_recording(path) as rec:
        assert isinstance(rec, NeoRecording)
        stream = rec.header.streams[0]
        assert stream.channel_names == tuple(LABELS)
        assert stream.sampling_rate == RATE
        assert stream.n_samples == len(raw)
        assert stream.units == ("uV", "uV", "mV")
        np.testing.assert_array_equal(stream.gains, RESOLUTIONS)
        np.testing.assert_array_equal(rec.read_raw(0, len(raw)), raw)
        ours = rec.read_samples(0, len(raw))
        for column, (name, unit) in enumerate(zip(stream.channel_names, stream.units)):
            signal, k = columns[name]
            expected = signal[:, k].rescale(unit).magnitude[:, 0]
            np.testing.assert_allclose(ours[:, column], expected, rtol=1e-6)
        theirs = sorted((float(t), str(label), ev.name.lower())
                        for ev in block.segments[0].events
                        for t, label in zip(ev.times.rescale("s").magnitude, ev.labels))
        assert sorted((e.time_s, e.label, e.source) for e in rec.events()) == theirs
        assert [e.time_s for e in rec.events()] == [p / RATE for _, _, p in MARKERS]
        assert {e.source for e in rec.events()} == {"stimulus", "comment"}


def test_windowed_reads_with_reordered_and_repeated_channels(brainvision):
    path, raw = brainvision
    with open_with_neo(path) as rec:
        np.testing.assert_array_equal(rec.read_raw(100, 150, [2, 0, 2]), raw[100:150][:, [2, 0, 2]])
        np.testing.assert_array_equal(rec.read_raw(1990, 2100, [1]), raw[1990:, [1]])
        assert rec.read(1.0, 1.5).shape == (250, 3)
        assert rec.read_raw(5000, 6000).shape == (0, 3)
        with pytest.raises(IndexError):
            rec.read_raw(0, 10, [3])


def test_concurrent_reads_are_serialised_and_correct(brainvision):
    path, raw = brainvision
    errors, results = [], {}
    with open_with_neo(path) as rec:
        def worker(offset):
            try:
                for start in range(offset, 1900, 40):
                    results[start] = rec.read_raw(start, start + 100, [2, 1])
            except Exception as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(k * 10,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    for start, got in results.items():
        np.testing.assert_array_equal(got, raw[start:start + 100][:, [2, 1]])


def test_raw_binary_through_forced_rawio_and_options(tmp_path):
    path = tmp_path / "signals.raw"
    data = np.arange(4 * 1000, dtype=np.int16).reshape(1000, 4) - 2000
    path.write_bytes(data.tobytes())
    options = dict(dtype="int16", sampling_rate=1000.0, nb_channel=4, signal_gain=0.5,
                   signal_offset=1.0)
    with open_recording(path, format="neo", rawio="RawBinarySignalRawIO",
                        rawio_options=options) as rec:
        block = _neo_block(neo.io.RawBinarySignalIO(str(path), **options))
        expected = block.segments[0].analogsignals[0].magnitude
        np.testing.assert_allclose(rec.read_samples(0, 1000), expected, rtol=1e-6)
        assert rec.header.format_name == "neo:RawBinarySignalRawIO"
        assert rec.header.streams[0].duration_s == 1.0


@pytest.mark.shared_data
@pytest.mark.parametrize("path", shared_params("trc", ".trc"))
def test_trc_through_the_neo_path_matches_neo_micromed_io(path):
    block = _neo_block(neo.io.MicromedIO(str(path)))
    segment = block.segments[0]
    signal = segment.analogsignals[0]
    with open_recording(path, format="neo") as rec:
        stream = rec.header.streams[0]
        assert stream.n_samples == signal.shape[0]
        assert stream.channel_names == tuple(signal.array_annotations["channel_names"])
        assert isinstance(rec.header.start_datetime, datetime)
        assert rec.header.start_datetime == block.rec_datetime
        ours = rec.read_samples(0, stream.n_samples)
        np.testing.assert_allclose(ours, signal.rescale(stream.units[0]).magnitude, rtol=1e-5,
                                   atol=1e-4)
        theirs = [(round(float(t), 9), 0.0, str(label), ev.name.lower()) for ev in segment.events
                  for t, label in zip(ev.times.rescale("s").magnitude, ev.labels)]
        theirs += [(round(float(t), 9), round(float(d), 9), str(label), ep.name.lower())
                   for ep in segment.epochs
                   for t, d, label in zip(ep.times.rescale("s").magnitude,
                                          ep.durations.rescale("s").magnitude, ep.labels)]
        mine = [(round(e.time_s, 9), round(e.duration_s, 9), e.label, e.source)
                for e in rec.events()]
        assert sorted(mine) == sorted(theirs)
        assert {"trigger", "note"} <= {e.source for e in rec.events()}


def test_segment_choice_is_validated_and_listed(brainvision):
    path, _ = brainvision
    with open_with_neo(path) as rec:
        details = dict(rec.header.details)
        assert details["Reader"] == "neo.rawio.BrainVisionRawIO"
        assert details["Block 0 segments"] == "0: 0-4 s"
    with pytest.raises(RecordingError, match="segment 3 does not exist"):
        open_with_neo(path, segment_index=3)


def test_unknown_and_broken_files_raise_typed_errors(tmp_path):
    unknown = tmp_path / "notes.xyz"
    unknown.write_bytes(b"nothing to see")
    with pytest.raises(UnsupportedFormatError, match="notes.xyz"):
        open_recording(unknown)
    broken = tmp_path / "broken.vhdr"
    broken.write_text("this is not a BrainVision header\n")
    with pytest.raises(RecordingError, match="python-neo could not read it") as info:
        open_recording(broken)
    assert str(broken) in str(info.value)
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(UnsupportedFormatError):
        open_recording(empty_dir)
    with pytest.raises(UnsupportedFormatError, match="NoSuchRawIO"):
        open_with_neo(broken, rawio="NoSuchRawIO")


def test_close_releases_and_refuses_further_reads(brainvision):
    path, _ = brainvision
    rec = open_with_neo(path)
    rec.close()
    rec.close()
    with pytest.raises(RecordingClosedError):
        rec.read_raw(0, 10)
    with pytest.raises(RecordingClosedError):
        rec.events()
