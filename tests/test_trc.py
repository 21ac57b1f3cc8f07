"""The Micromed TRC reader against neo's MicromedRawIO, and on damaged files.

neo is the oracle for samples, scaling, names and events. Where this reader
deliberately differs from neo, the test says so and checks against what was
written instead: events at sample 0 (neo drops them; we keep them), unit code 2
(neo reports the number 1; we report "V") and years from 2028 (neo reads the year
byte signed).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_params

from tracemark.demo.trc_writer import TrcChannel, write_trc_array, write_trc_frames
from tracemark.io_backends import open_recording
from tracemark.io_backends.errors import (
    CorruptRecordingError,
    RecordingClosedError,
    TruncatedRecordingError,
    UnsupportedFormatError,
    UnsupportedVariantError,
)
from tracemark.io_backends.trc import TrcRecording, open_trc

neo_rawio = pytest.importorskip("neo.rawio", reason="neo is the oracle for these tests")

NEO_EVENT_SOURCES = ("trigger", "note", "event_a", "event_b")
#: neo's spelling of units where it differs from ours (code 2 -> the number 1).
NEO_UNITS = {"1": "V", "percent": "%"}
MAKE_TRC = Path(__file__).resolve().parents[2] / "shared" / "tools" / "make_trc.py"


# -- fixtures ----------------------------------------------------------------------------

def _signals(n_samples: int, n_channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples)[:, None]
    return 40 * np.sin(2 * np.pi * t * (1 + np.arange(n_channels)) / 97) + rng.normal(
        0, 5, (n_samples, n_channels))


VARIANTS = {
    "b1-full": dict(bytes_per_sample=1),
    "b2-shuffled": dict(bytes_per_sample=2, order=[4, 2, 0, 5, 1, 3]),
    "b4-compact": dict(bytes_per_sample=4, compact=True),
    "b2-units-compact-shuffled": dict(
        bytes_per_sample=2, compact=True, order=[5, 4, 3, 2, 1, 0],
        units=["uV", "mV", "V", "nV", "%", "dimensionless"],
        physical_range=[(-400, 400), (-2, 2), (-1, 1), (-800_000, 800_000), (0, 100),
                        (-10, 10)]),
}
EVENTS = dict(triggers=[(0, 9), (100, 1), (1499, 65534)], notes=[(0, "start"), (250, "Eyes closed")],
              event_a=[(0, 20), (300, 400)], event_b=[(700, 1500)])


@pytest.fixture(params=sorted(VARIANTS))
def generated(request, tmp_path) -> Path:
    path = tmp_path / f"{request.param}.TRC"
    write_trc_array(path, _signals(1500, 6), sampling_rate=500, channel_names=[
        "Fp1", "Fp2", "C3", "C4", "O1", "EKG"], start_datetime=datetime(2023, 7, 8, 9, 10, 11),
        **EVENTS, **VARIANTS[request.param])
    return path


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.TRC"
    write_trc_array(path, _signals(1000, 4), sampling_rate=250, channel_names=[
        "A1", "A2", "A3", "A4"], triggers=[(10, 1)], start_datetime=datetime(2022, 1, 2, 3, 4, 5))
    return path


# -- neo as the oracle -------------------------------------------------------------------

def _neo(path: Path):
    reader = neo_rawio.MicromedRawIO(filename=str(path))
    reader.parse_header()
    return reader


def _assert_matches_neo(path: Path) -> None:
    reader = _neo(path)
    with open_trc(path) as rec:
        stream = rec.header.streams[0]
        raw = reader.get_analogsignal_chunk(0, 0, None, None, stream_index=0)
        assert stream.n_samples == raw.shape[0]
        ours_raw = rec.read_raw(0, stream.n_samples)
        assert ours_raw.dtype == raw.dtype
        np.testing.assert_array_equal(ours_raw, raw)

        neo_phys = reader.rescale_signal_raw_to_float(raw, dtype="float64", stream_index=0)
        ours = rec.read_samples(0, stream.n_samples)
        assert ours.dtype == np.float32
        # Ours is float64 arithmetic rounded once to float32; compare at float32 precision.
        scale = np.abs(neo_phys).max(axis=0) + np.abs(stream.gains)
        error = np.abs(ours - neo_phys)
        assert np.all(error <= 2 ** -23 * scale), f"worst physical mismatch {error.max()}"

        channels = reader.header["signal_channels"]
        assert stream.channel_names == tuple(channels["name"])
        assert stream.units == tuple(NEO_UNITS.get(u, u) for u in channels["units"])
        assert stream.sampling_rate == channels["sampling_rate"][0]
        np.testing.assert_allclose(stream.gains, channels["gain"], rtol=1e-12)
        np.testing.assert_allclose(stream.offsets, channels["offset"], rtol=1e-12)
        neo_start = reader.raw_annotations["blocks"][0]["rec_datetime"]
        assert rec.header.start_datetime == neo_start
        _assert_events_match_neo(reader, rec)


def _assert_events_match_neo(reader, rec: TrcRecording) -> None:
    rate = rec.header.streams[0].sampling_rate
    for channel, source in enumerate(NEO_EVENT_SOURCES):
        stamps, durations, labels = reader.get_event_timestamps(0, 0, channel)
        # neo drops everything at sample 0; we keep it (see the module docstring).
        ours = [e for e in rec.events() if e.source == source and e.time_s > 0]
        assert [round(e.time_s * rate) for e in ours] == sorted(stamps.tolist())
        order = np.argsort(stamps, kind="stable")
        assert [e.label for e in ours] == labels[order].tolist()
        if durations is not None:
            assert [round(e.duration_s * rate) for e in ours] == durations[order].tolist()


@pytest.mark.parametrize("path", shared_params("trc", ".trc"))
def test_shared_files_match_neo(path):
    _assert_matches_neo(path)


def test_generated_files_match_neo(generated):
    _assert_matches_neo(generated)


def test_make_trc_tool_files_match_neo(tmp_path):
    if not MAKE_TRC.is_file():
        pytest.skip(f"{MAKE_TRC} is not present on this machine")
    path = tmp_path / "tool.TRC"
    subprocess.run([sys.executable, str(MAKE_TRC), str(path), "--channels", "5", "--sfreq",
                    "256", "--duration", "3", "--bytes", "4", "--shuffle-order", "--compact",
                    "--trigger", "1.0:3", "--note", "2:hello", "--event-a", "0.5:1.5:2"],
                   check=True, capture_output=True)
    _assert_matches_neo(path)


def test_events_at_sample_zero_are_kept(generated):
    with open_trc(generated) as rec:
        at_zero = sorted((e.source, e.label) for e in rec.events() if e.time_s == 0)
        assert at_zero == [("event_a", "1"), ("note", "start"), ("trigger", "9")]
        durations = {e.source: e.duration_s for e in rec.events() if e.time_s == 0}
        assert durations["event_a"] == pytest.approx(20 / 500)


# -- header, reads, streams --------------------------------------------------------------

def test_header_fields(generated):
    with open_trc(generated) as rec:
        header = rec.header
        assert header.format_name == "Micromed TRC"
        assert header.start_datetime == datetime(2023, 7, 8, 9, 10, 11)
        (stream,) = header.streams
        assert stream.channel_names == ("Fp1", "Fp2", "C3", "C4", "O1", "EKG")
        assert stream.sampling_rate == 500.0 and stream.n_samples == 1500
        assert dict(header.details)["references"] == "G2"
        assert header.duration_s == pytest.approx(3.0)


def test_units_beyond_neo_and_late_years(tmp_path):
    path = tmp_path / "units.TRC"
    write_trc_array(path, np.zeros((10, 2)), sampling_rate=100, units=["V", "bpm"],
                    physical_range=(-300, 300), start_datetime=datetime(2031, 12, 31, 23, 59, 58))
    with open_trc(path) as rec:
        assert rec.header.streams[0].units == ("V", "bpm")
        assert rec.header.start_datetime == datetime(2031, 12, 31, 23, 59, 58)


def test_reads_slices_channels_and_clipping(generated):
    with open_trc(generated) as rec:
        full = rec.read_raw(0, 1500)
        np.testing.assert_array_equal(rec.read_raw(100, 130, [5, 0, 0, 3]), full[100:130][:, [5, 0, 0, 3]])
        np.testing.assert_array_equal(rec.read_raw(1490, 5000, [1, 2]), full[1490:, 1:3])
        assert rec.read_raw(-20, 5).shape == (5, 6)
        assert rec.read_samples(2000, 3000).shape == (0, 6)
        window = rec.read(1.0, 1.1, [2])
        np.testing.assert_array_equal(window, rec.read_samples(500, 550, [2]))
        with pytest.raises(IndexError):
            rec.read_raw(0, 10, [6])


def test_physical_is_the_correctly_rounded_formula(generated):
    with open_trc(generated) as rec:
        stream = rec.header.streams[0]
        raw = rec.read_raw(0, stream.n_samples).astype(np.float64)
        grounds = -stream.offsets / stream.gains
        np.testing.assert_array_equal(grounds, np.round(grounds))
        expected = ((raw - grounds) * stream.gains).astype(np.float32)
        np.testing.assert_array_equal(rec.read_samples(0, stream.n_samples), expected)
        # The header's gains and offsets describe the same values (in float64).
        np.testing.assert_allclose(raw * stream.gains + stream.offsets, expected,
                                   rtol=2 ** -23, atol=1e-9 * np.abs(stream.offsets).max())
        np.testing.assert_array_equal(rec.read_samples(7, 300, [3, 1]), expected[7:300][:, [3, 1]])


def test_channels_with_different_rates_become_streams(tmp_path):
    path = tmp_path / "multirate.TRC"
    channels = [TrcChannel("A"), TrcChannel("B", rate_coefficient=4), TrcChannel("C"),
                TrcChannel("D", rate_coefficient=2)]
    frames = (np.arange(50 * 8).reshape(50, 8) * 7) % 65536
    write_trc_frames(path, channels, 256, [frames[:20], frames[20:]], n_frames=50,
                     triggers=[(25, 4)])
    with open_trc(path) as rec:
        streams = rec.header.streams
        assert [(s.sampling_rate, s.n_samples, s.channel_names) for s in streams] == [
            (256.0, 50, ("A", "C")), (1024.0, 200, ("B",)), (512.0, 100, ("D",))]
        np.testing.assert_array_equal(rec.read_raw(0, 50, stream=0), frames[:, [0, 5]])
        np.testing.assert_array_equal(rec.read_raw(0, 200, stream=1).ravel(), frames[:, 1:5].ravel())
        np.testing.assert_array_equal(rec.read_raw(3, 9, stream=2).ravel(), frames[:, 6:8].ravel()[3:9])
        np.testing.assert_array_equal(rec.read_raw(5, 11, stream="1").ravel(), frames[:, 1:5].ravel()[5:11])
        assert [e.time_s for e in rec.events()] == [25 / 256]


def test_registry_dispatches_to_trc(small):
    with open_recording(small) as rec:
        assert isinstance(rec, TrcRecording)


def test_reads_return_fresh_arrays(small):
    with open_trc(small) as rec:
        first = rec.read_raw(0, 100, [0, 1])
        first[:] = 0  # writable and owned: changing it changes nothing in the reader
        assert type(first) is np.ndarray and first.flags.writeable and first.flags.c_contiguous
        assert np.any(rec.read_raw(0, 100, [0, 1]) != 0)


def _rss_file_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    raise AssertionError("no RssFile line")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc/self/status")
def test_paging_through_a_long_file_does_not_grow_resident_memory(tmp_path):
    path = tmp_path / "long.TRC"
    write_trc_array(path, np.zeros((10, 64)), sampling_rate=2048, compact=False)
    with open(path, "r+b") as handle:  # a sparse 200 MB data zone costs no disk
        handle.truncate(os.path.getsize(path) + 2 * 64 * 2048 * 800)
    with open_trc(path) as rec:
        before = _rss_file_kb()
        n = rec.header.streams[0].n_samples
        for start in range(0, n, 2048 * 10):
            rec.read_raw(start, start + 2048 * 10)
        grown_mb = (_rss_file_kb() - before) / 1024
    # A memory map would keep every page it touched resident: about 200 MB here.
    assert grown_mb < 20, f"resident file pages grew by {grown_mb:.0f} MB"


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io")
def test_open_reads_the_header_only(tmp_path):
    path = tmp_path / "long.TRC"
    write_trc_array(path, np.zeros((10, 64)), sampling_rate=2048, compact=False)
    with open(path, "r+b") as handle:  # a sparse 2-GB data zone costs no disk
        handle.truncate(os.path.getsize(path) + 2 * 64 * 2048 * 3600 * 4)

    def bytes_read() -> int:
        text = Path("/proc/self/io").read_text()
        return int(text.split("rchar:")[1].split()[0])

    before = bytes_read()
    rec = open_trc(path)
    spent = bytes_read() - before
    try:
        assert rec.header.streams[0].n_samples == 10 + 2048 * 3600 * 4
        assert spent < 2_000_000, f"open read {spent} bytes"
    finally:
        rec.close()


def test_parallel_reads_agree(generated):
    with open_trc(generated) as rec:
        reference = rec.read_raw(0, 1500)
        failures = []

        def worker(seed):
            rng = np.random.default_rng(seed)
            for _ in range(200):
                start = int(rng.integers(0, 1500))
                stop = start + int(rng.integers(0, 300))
                chans = rng.permutation(6)[: int(rng.integers(1, 7))]
                if not np.array_equal(rec.read_raw(start, stop, chans), reference[start:stop][:, chans]):
                    failures.append((start, stop, chans))

        threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []


def _descriptors_on(path: Path) -> int:
    psutil = pytest.importorskip("psutil")
    target = os.path.realpath(path)
    by_psutil = sum(1 for f in psutil.Process().open_files() if os.path.realpath(f.path) == target)
    by_proc = 0
    if Path("/proc/self/fd").is_dir():
        for fd in os.listdir("/proc/self/fd"):
            try:
                by_proc += os.readlink(f"/proc/self/fd/{fd}") == target
            except OSError:
                pass
    return max(by_psutil, by_proc)


def test_close_releases_the_file(small):
    assert _descriptors_on(small) == 0
    rec = open_trc(small)
    rec.read_raw(0, 10)
    assert _descriptors_on(small) >= 1  # the map holds its own descriptor while open
    rec.close()
    rec.close()
    assert _descriptors_on(small) == 0
    with pytest.raises(RecordingClosedError, match="small.TRC"):
        rec.read_raw(0, 10)


def test_unknown_option_is_refused(small):
    with pytest.raises(TypeError, match="preload"):
        open_trc(small, preload=True)


# -- damaged files -----------------------------------------------------------------------

def _patched(src: Path, dst: Path, offset: int, fmt: str, *values) -> Path:
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as handle:
        handle.seek(offset)
        handle.write(struct.pack("<" + fmt, *values))
    return dst


def _truncated(src: Path, dst: Path, size: int) -> Path:
    dst.write_bytes(src.read_bytes()[:size])
    return dst


def _data_start(path: Path) -> int:
    return struct.unpack_from("<I", path.read_bytes(), 138)[0]


@pytest.mark.parametrize("size", [0, 20, 100, 639, 640, 700, 90_000, 400_000])
def test_truncated_headers(small, tmp_path, size):
    path = _truncated(small, tmp_path / f"cut{size}.TRC", size)
    expected = UnsupportedFormatError if size == 0 else TruncatedRecordingError
    with pytest.raises(expected, match=f"cut{size}.TRC"):
        open_trc(path)


def test_truncated_at_data_start_is_refused(small, tmp_path):
    start = _data_start(small)
    for size in (start, start + 3):  # 4 channels x 2 bytes: 3 bytes is not a frame
        path = _truncated(small, tmp_path / f"cut{size}.TRC", size)
        with pytest.raises(TruncatedRecordingError, match="no complete sample frame"):
            open_trc(path)


@pytest.mark.parametrize("extra", [4, 5])
def test_partial_last_frame_opens_with_complete_frames(small, tmp_path, extra):
    start = _data_start(small)
    path = _truncated(small, tmp_path / "partial.TRC", start + 8 * 600 + extra)
    with open_trc(path) as rec, open_trc(small) as whole:
        assert rec.header.streams[0].n_samples == 600
        np.testing.assert_array_equal(rec.read_raw(0, 600), whole.read_raw(0, 600))
        assert f"{extra} bytes" in dict(rec.header.details)["trailing bytes"]
    if extra % 2 == 0:  # neo floors whole samples too, but refuses a split sample
        assert _neo(path).get_signal_size(0, 0, 0) == 600


def test_events_past_the_end_are_counted_not_shown(small, tmp_path):
    start = _data_start(small)
    path = _truncated(small, tmp_path / "short.TRC", start + 8 * 5)  # trigger was at 10
    with open_trc(path) as rec:
        assert rec.events() == ()
        assert dict(rec.header.details)["ignored trigger events"] == "1 lie past the end of the data"


def test_data_start_beyond_the_end(small, tmp_path):
    path = _patched(small, tmp_path / "far.TRC", 138, "I", 10**9)
    with pytest.raises(TruncatedRecordingError, match="far.TRC.*data zone starts at byte"):
        open_trc(path)


@pytest.mark.parametrize("header_type", [0, 1, 2, 3, 5])
def test_other_header_types_are_refused(small, tmp_path, header_type):
    path = _patched(small, tmp_path / "type.TRC", 175, "b", header_type)
    with pytest.raises(UnsupportedVariantError, match=f"type.TRC.*header type {header_type}"):
        open_trc(path)


def test_wrong_title(small, tmp_path):
    path = _patched(small, tmp_path / "title.TRC", 0, "32s", b"* SOMETHING ELSE *")
    with pytest.raises(UnsupportedFormatError, match="title.TRC.*not a Micromed TRC"):
        open_trc(path)


@pytest.mark.parametrize("offset, fmt, value, error, words", [
    (142, "H", 0, CorruptRecordingError, "0 channels"),
    (146, "H", 0, CorruptRecordingError, "0 Hz"),
    (148, "H", 3, UnsupportedVariantError, "3 bytes per sample"),
    (150, "H", 1, UnsupportedVariantError, "compressed"),
    (176 + 16, "8s", b"LABXXX  ", CorruptRecordingError, "expected 'LABCOD'"),
    (138, "I", 100, CorruptRecordingError, "inside the header"),
])
def test_nonsense_header_fields(small, tmp_path, offset, fmt, value, error, words):
    path = _patched(small, tmp_path / "odd.TRC", offset, fmt, value)
    with pytest.raises(error, match=f"odd.TRC.*{words}"):
        open_trc(path)


def _zone(path: Path, name: str) -> tuple[int, int]:
    data = path.read_bytes()
    for i in range(15):
        zname, offset, length = struct.unpack_from("<8sII", data, 176 + 16 * i)
        if zname.strip() == name.encode():
            return offset, length
    raise AssertionError(name)


def test_bad_electrode_records(small, tmp_path):
    order_at, _ = _zone(small, "ORDER")
    labcod_at, labcod_len = _zone(small, "LABCOD")
    path = _patched(small, tmp_path / "order.TRC", order_at, "H", labcod_len // 128)
    with pytest.raises(CorruptRecordingError, match="order.TRC.*ORDER zone points at"):
        open_trc(path)
    path = _patched(small, tmp_path / "coef.TRC", labcod_at + 44, "H", 0)
    with pytest.raises(CorruptRecordingError, match="coef.TRC.*A1.*coefficient of 0"):
        open_trc(path)
    path = _patched(small, tmp_path / "logic.TRC", labcod_at + 18, "i", -5)
    with pytest.raises(CorruptRecordingError, match="logic.TRC.*logic maximum -5"):
        open_trc(path)


def test_segmented_recordings_are_refused(small, tmp_path):
    tronca_at, _ = _zone(small, "TRONCA")
    # The writer's full-size TRONCA zone has room for several records.
    path = _patched(small, tmp_path / "segments.TRC", tronca_at, "IIII", 100, 0, 500, 400)
    with pytest.raises(UnsupportedVariantError, match="segments.TRC.*segments"):
        open_trc(path)


def test_one_late_segment_shifts_like_neo(small, tmp_path):
    tronca_at, _ = _zone(small, "TRONCA")
    path = _patched(small, tmp_path / "late.TRC", tronca_at, "II", 125, 0)
    reader = _neo(path)
    with open_trc(path) as rec:
        assert rec.header.streams[0].start_offset_s == reader.get_signal_t_start(0, 0, 0) == 0.5
        neo_times = reader.rescale_event_timestamp(reader.get_event_timestamps(0, 0, 0)[0],
                                                   "float64", 0)
        assert [e.time_s for e in rec.events()] == neo_times.tolist() == [(10 + 125) / 250]
        np.testing.assert_array_equal(rec.read(0.5, 0.6), rec.read_samples(0, 25))


def test_multirate_frame_size_must_be_confirmed(tmp_path):
    path = tmp_path / "mux.TRC"
    write_trc_frames(path, [TrcChannel("A"), TrcChannel("B", rate_coefficient=2)], 100,
                     [np.zeros((10, 3), dtype=np.uint16)], n_frames=10)
    path = _patched(path, tmp_path / "badmux.TRC", 144, "H", 4)
    with pytest.raises(UnsupportedVariantError, match="badmux.TRC.*interleaved"):
        open_trc(path)


def test_missing_file_is_a_recording_error(tmp_path):
    from tracemark.io_backends.errors import RecordingError

    with pytest.raises(RecordingError, match="absent.TRC.*cannot be read"):
        open_trc(tmp_path / "absent.TRC")
