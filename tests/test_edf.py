"""The EDF/BDF backend and the EDF writer, checked against pyEDFlib, edfio and mne.

Every shared EDF/BDF file and every file the writer makes here is read by Tracemark and
by independent readers; header fields, per-channel rates, digital and physical samples,
annotations and the sub-second start must agree. Damaged files must raise typed errors.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import warnings
from datetime import datetime

import numpy as np
import pytest

from tests.conftest import shared_params
from tracemark.io_backends import (
    CorruptRecordingError,
    RecordingClosedError,
    TruncatedRecordingError,
    UnsupportedFormatError,
    UnsupportedVariantError,
    open_recording,
    sniff_format,
)
from tracemark.io_backends.edf import EdfRecording, open_edf
from tracemark.io_backends.edf_header import read_edf_header
from tracemark.io_backends.edf_writer import EdfWriter, write_edf

pyedflib = pytest.importorskip("pyedflib", reason="pyEDFlib is the reference reader")
edfio = pytest.importorskip("edfio", reason="edfio is the reference for annotations")

SHARED = shared_params("edf", ".edf", ".bdf")


# -- fixtures made by the writer -----------------------------------------------------------------
RATES = [256, 128, 100, 256]
NAMES = ["Fp1", "EMG", "Resp", "Fp1"]  # a duplicate label on purpose
START = datetime(2021, 3, 4, 9, 15, 30, 250000)
ANNOTATIONS = [(0.5, 0.0, "start"), (1.25, 2.0, "stim \u00fc"), (3.0, 0.0, "a"), (3.0, 0.5, "b"),
               (6.999, 0.0, "near end")]


def _signals(seconds: float, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 40, int(r * seconds)).cumsum() % 400 - 200 for r in RATES]


def _uneven_chunks(data: list[np.ndarray], pieces: int = 7):
    """Chunks whose boundaries never line up with records, to exercise the buffering."""
    for k in range(pieces):
        yield [d[int(k * len(d) / pieces):int((k + 1) * len(d) / pieces)] for d in data]


def _write(path, *, bdf=False, seconds=7.0, record_duration_s=1.0, annotations=ANNOTATIONS,
           start=START):
    data = _signals(seconds)
    write_edf(path, _uneven_chunks(data), channel_names=NAMES, sampling_rates=RATES,
              physical_ranges=[(-250, 250), (-300.5, 300.5), (-250, 250), (250, -250)],
              units=["uV", "\u00b5V", "mV", "uV"], bdf=bdf, start_datetime=start,
              annotations=annotations, record_duration_s=record_duration_s,
              prefilters="HP:0.1Hz", transducers="AgCl")
    return data


@pytest.fixture(params=[False, True], ids=["edf", "bdf"])
def written(request, tmp_path):
    path = tmp_path / ("w.bdf" if request.param else "w.edf")
    return path, _write(path, bdf=request.param)


def _edfio_read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return edfio.read_bdf(path) if _is_bdf(path) else edfio.read_edf(path)


def _is_bdf(path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(1) == b"\xff"


# -- agreement with the reference readers -----------------------------------------------------------
def _assert_matches_pyedflib(path):
    with open_edf(path) as rec, pyedflib.EdfReader(str(path)) as ref:
        data_signals = rec.edf_header.data_signals
        assert len(data_signals) == ref.signals_in_file
        assert sum(s.n_channels for s in rec.header.streams) == ref.signals_in_file
        rates = ref.getSampleFrequencies()
        for j, signal in enumerate(data_signals):
            stream, channel = rec.locate(signal.index)
            header = rec.header.streams[stream]
            assert header.channel_names[channel] == ref.getLabel(j)
            assert header.units[channel] == ref.getPhysicalDimension(j)
            assert header.sampling_rate == pytest.approx(rates[j], rel=1e-12)
            assert header.n_samples == ref.getNSamples()[j]
            digital = ref.readSignal(j, digital=True)
            physical = ref.readSignal(j)
            ours_raw = rec.read_raw(0, header.n_samples + 10, [channel], stream)[:, 0]
            ours = rec.read_samples(0, header.n_samples, [channel], stream)[:, 0]
            np.testing.assert_array_equal(ours_raw, digital)
            scale = max(abs(signal.physical_min), abs(signal.physical_max))
            np.testing.assert_allclose(ours, physical, rtol=0, atol=scale * 2e-7)
        assert rec.header.start_datetime.replace(microsecond=0) == ref.getStartdatetime().replace(
            microsecond=0)


def _assert_matches_edfio(path):
    ref = _edfio_read(path)
    with open_edf(path) as rec:
        start = datetime.combine(ref.startdate, ref.starttime)
        assert rec.header.start_datetime == start
        ours = sorted((round(e.time_s, 6), round(e.duration_s, 6), e.label)
                      for e in rec.events() if e.source == "annotation")
        theirs = sorted((round(a.onset, 6), round(a.duration or 0.0, 6), a.text)
                        for a in ref.annotations)
        assert ours == theirs
        data_signals = rec.edf_header.data_signals
        assert len(data_signals) == len(ref.signals)
        for signal, their in zip(data_signals, ref.signals):
            stream, channel = rec.locate(signal.index)
            n = rec.header.streams[stream].n_samples
            raw = rec.read_raw(0, n, [channel], stream)[:, 0]
            np.testing.assert_array_equal(raw, their.digital)


@pytest.mark.shared_data
@pytest.mark.parametrize("path", SHARED)
def test_shared_file_matches_pyedflib(path):
    _assert_matches_pyedflib(path)


@pytest.mark.shared_data
@pytest.mark.parametrize("path", SHARED)
def test_shared_file_matches_edfio(path):
    _assert_matches_edfio(path)


@pytest.mark.shared_data
@pytest.mark.parametrize("path", SHARED)
def test_shared_file_is_not_modified_and_sniffs_as_edf(path):
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sniff_format(path) == "edf"
    with open_recording(path) as rec:
        assert isinstance(rec, EdfRecording)
        rec.read(0, 2)
        rec.events()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@pytest.mark.shared_data
@pytest.mark.parametrize("path", shared_params("edf", ".edf"))
def test_subsecond_start_and_uneven_rates_of_shared_files(path):
    with open_edf(path) as rec:
        if "subsecond" in path.name:
            assert rec.header.start_datetime == datetime(2020, 1, 24, 4, 5, 56, 394531)
            # The annotation sits at +2.3457031 s from the header's whole second.
            assert [round(e.time_s, 7) for e in rec.events()][0] == 1.9511719
        if "uneven_samp" in path.name:
            assert [s.sampling_rate for s in rec.header.streams] == [100.0, 12.8]
            assert rec.header.streams[1].units == ("uV",)
        if "duplicate" in path.name:
            stream = rec.header.streams[0]
            assert stream.channel_names.count("EEG F1-Ref") == 2
            assert stream.channel_index("EEG F1-Ref") == 0


@pytest.mark.shared_data
@pytest.mark.parametrize("path", shared_params("edf", ".bdf"))
def test_bdf_status_triggers_match_mne(path):
    mne = pytest.importorskip("mne", reason="mne is the reference for BDF triggers")
    with open_edf(path) as rec:
        names = [n for s in rec.header.streams for n in s.channel_names]
        if "Status" not in names:
            pytest.skip(f"{path.name} has no Status channel")
        raw = mne.io.read_raw_bdf(path, verbose="error")
        expected = mne.find_events(raw, stim_channel="Status", consecutive=True,
                                   shortest_event=1, verbose="error")
        status = [e for e in rec.events() if e.source == "status"]
        rate = rec.header.streams[0].sampling_rate
        assert [(round(e.time_s * rate), int(e.label)) for e in status] == \
            [(int(s), int(c)) for s, _, c in expected]
    with open_edf(path, status_events=False) as rec:
        assert not [e for e in rec.events() if e.source == "status"]


# -- the writer, read back by everyone ---------------------------------------------------------------
def test_written_file_reads_back_identically_everywhere(written):
    path, data = written
    _assert_matches_pyedflib(path)
    _assert_matches_edfio(path)
    with open_edf(path) as rec:
        assert rec.header.format_name == ("BDF+C" if path.suffix == ".bdf" else "EDF+C")
        assert rec.header.start_datetime == START
        assert [s.sampling_rate for s in rec.header.streams] == [256.0, 128.0, 100.0]
        assert rec.header.streams[0].channel_names == ("Fp1", "Fp1")
        assert rec.header.streams[1].units == ("uV",)  # the writer spells micro as u
        assert ("Prefiltering", "HP:0.1Hz") in rec.header.details
        # Physical values survive quantisation to within half a digital step.
        for index, values in enumerate(data):
            stream, channel = rec.locate(index)
            header = rec.header.streams[stream]
            got = rec.read_samples(0, len(values), [channel], stream)[:, 0]
            step = abs(header.gains[channel])
            np.testing.assert_allclose(got, values, atol=step * 0.5 + 1e-3)
        labels = [(round(e.time_s, 6), e.duration_s, e.label) for e in rec.events()]
        assert labels == [(round(o, 6), d, t) for o, d, t in ANNOTATIONS]


def test_written_annotations_equal_mne_s(written):
    """The writer's annotations share record 0 with its time-keeping TAL (sub-second start)."""
    mne = pytest.importorskip("mne", reason="mne is the reference for EDF+ annotations")
    path, _ = written
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = mne.read_annotations(path)
    with open_edf(path) as rec:
        ours = sorted((e.time_s, e.duration_s, e.label) for e in rec.events())
    assert ours == sorted((float(o), float(d), str(t)) for o, d, t in
                          zip(theirs.onset, theirs.duration, theirs.description))


def test_writer_pads_last_partial_record_and_takes_2d_chunks(tmp_path):
    path = tmp_path / "padded.edf"
    block = np.arange(2 * 250, dtype=np.float64).reshape(250, 2) + 100
    write_edf(path, [block[:120], block[120:]], channel_names=["a", "b"], sampling_rates=100,
              physical_ranges=(-1000, 1000), units="uV", n_samples=250)
    with open_edf(path) as rec:
        assert rec.header.streams[0].n_samples == 300  # 2.5 s of data in 3 one-second records
        got = rec.read_samples(0, 300)
        np.testing.assert_allclose(got[:250], block, atol=0.02)
        np.testing.assert_allclose(got[250:], 0, atol=0.02)
        assert rec.header.start_datetime is None  # written as EDF+ "Startdate X"


def test_writer_digital_input_is_stored_exactly(tmp_path):
    path = tmp_path / "digital.bdf"
    rng = np.random.default_rng(3)
    digital = rng.integers(-8388608, 8388608, size=(1000, 3))
    write_edf(path, [digital], channel_names=["x", "y", "z"], sampling_rates=500,
              physical_ranges=(-1, 1), bdf=True, digital=True)
    with open_edf(path) as rec:
        np.testing.assert_array_equal(rec.read_raw(0, 1000), digital)
        assert rec.header.streams[0].raw_dtype == np.int32


def test_writer_refuses_bad_input_and_leaves_no_file(tmp_path):
    path = tmp_path / "bad.edf"
    with pytest.raises(ValueError, match="whole number of samples"):
        write_edf(path, [], channel_names=["a"], sampling_rates=100.5, physical_ranges=(-1, 1))
    with pytest.raises(ValueError, match="n_samples says 12"):
        write_edf(path, [np.zeros((10, 1))], channel_names=["a"], sampling_rates=10,
                  physical_ranges=(-1, 1), n_samples=12)
    with pytest.raises(ValueError, match="columns"):
        write_edf(path, [np.zeros((10, 3))], channel_names=["a", "b"], sampling_rates=10,
                  physical_ranges=(-1, 1))
    late = [(50.0 + k, 0, f"late {k}") for k in range(4)]
    with pytest.raises(ValueError, match="after the data end"):
        write_edf(path, [np.zeros((10, 1))], channel_names=["a"], sampling_rates=10,
                  physical_ranges=(-1, 1), annotations=late)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary left behind


def test_annotation_past_the_data_end_goes_into_the_last_record(tmp_path):
    # EDF+ allows it (pyEDFlib's own files end with a "Recording ends" marker at the end).
    path = tmp_path / "late.edf"
    write_edf(path, [np.zeros((20, 1))], channel_names=["a"], sampling_rates=10,
              physical_ranges=(-1, 1), annotations=[(50.0, 0, "late")])
    with open_edf(path) as rec:
        assert [(e.time_s, e.label) for e in rec.events()] == [(50.0, "late")]


def test_writer_streams_through_the_writer_object(tmp_path):
    path = tmp_path / "streamed.edf"
    with EdfWriter(path, channel_names=["a"], sampling_rates=[10], physical_ranges=(-10, 10),
                   record_duration_s=0.5) as writer:
        for k in range(9):
            writer.write([np.full(3, float(k))])
    with open_edf(path) as rec:
        assert rec.edf_header.record_duration_s == 0.5
        np.testing.assert_allclose(rec.read_samples(0, 27)[:, 0], np.repeat(np.arange(9.0), 3),
                                   atol=1e-3)


# -- reading contract ------------------------------------------------------------------------------
def test_windows_equal_slices_of_a_full_read(written):
    path, _ = written
    rng = np.random.default_rng(1)
    with open_edf(path) as rec:
        for stream_index, stream in enumerate(rec.header.streams):
            full = rec.read_raw(0, stream.n_samples, stream=stream_index)
            for _ in range(25):
                a, b = sorted(rng.integers(-5, stream.n_samples + 5, size=2))
                chans = rng.integers(0, stream.n_channels, size=rng.integers(1, 4))
                lo, hi = max(a, 0), min(b, stream.n_samples)
                np.testing.assert_array_equal(rec.read_raw(a, b, chans, stream_index),
                                              full[lo:hi][:, chans])
        t = rec.sample_times(0, 3)
        assert t[1] - t[0] == pytest.approx(1 / 256)
        assert rec.read(1.0, 2.0).shape == (256, 2)


def test_reads_from_many_threads_agree(written):
    path, _ = written
    with open_edf(path) as rec:
        stream = rec.header.streams[0]
        starts = np.arange(0, stream.n_samples - 300, 37)
        expected = {s: rec.read_samples(s, s + 300) for s in starts}
        results, errors = {}, []

        def worker(chunk):
            try:
                for s in chunk:
                    results[s] = rec.read_samples(s, s + 300)
            except Exception as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(starts[i::4],)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        for s in starts:
            np.testing.assert_array_equal(results[s], expected[s])


def test_closed_recording_refuses_reads(written):
    path, _ = written
    rec = open_edf(path)
    rec.close()
    rec.close()
    with pytest.raises(RecordingClosedError):
        rec.read(0, 1)


def test_rec_suffix_and_wrong_suffix_are_sniffed_by_content(tmp_path, written):
    path, _ = written
    for name in ("x.rec", "x.dat"):
        copy = tmp_path / name
        shutil.copy(path, copy)
        assert sniff_format(copy) == "edf"
        with open_recording(copy) as rec:
            assert isinstance(rec, EdfRecording)


# -- EDF+D ---------------------------------------------------------------------------------------------
def _make_discontinuous(path, shifts: dict[int, float]):
    """Rewrite ``path`` as EDF+D, moving record ``r``'s onset by ``shifts[r]`` (and all after)."""
    header = read_edf_header(path)
    annotation = header.annotation_signals[0]
    width = annotation.samples_per_record * header.bytes_per_sample
    data = bytearray(path.read_bytes())
    data[192:197] = b"BDF+D" if header.is_bdf else b"EDF+D"
    shift = 0.0
    for record in range(header.n_records):
        shift += shifts.get(record, 0.0)
        at = header.header_bytes + record * header.record_bytes + annotation.record_offset
        old = bytes(data[at:at + width])
        onset_text, rest = old.split(b"\x14", 1)
        new = f"+{float(onset_text) + shift:g}".encode() + b"\x14" + rest
        data[at:at + width] = new[:width]
    path.write_bytes(bytes(data))


def test_discontinuous_file_maps_records_to_their_onsets(tmp_path):
    path = tmp_path / "d.edf"
    _write(path, annotations=[(4.5, 0, "after gap")], start=datetime(2020, 1, 1))
    with pyedflib.EdfReader(str(path)) as ref:  # pyEDFlib refuses EDF+D: read before patching
        expected = ref.readSignal(0, digital=True)
    _make_discontinuous(path, {3: 10.0})
    with open_edf(path) as rec:
        assert rec.header.format_name == "EDF+D"
        stream = rec.header.streams[0]
        assert not stream.regular
        times = rec.sample_times(0, stream.n_samples)
        assert times[3 * 256 - 1] == pytest.approx(3 - 1 / 256)
        assert times[3 * 256] == pytest.approx(13.0)
        # Time 5 s lies in the gap: reading [2.5, 13.5) gives the samples around it.
        i0, i1 = rec.sample_range(2.5, 13.5)
        assert (i0, i1) == (640, 3 * 256 + 128)
        np.testing.assert_array_equal(rec.read_raw(0, stream.n_samples, [0])[:, 0], expected)
        assert any("Gaps" == key for key, _ in rec.header.details)
        # The annotation was written in record 4, which now starts 10 s later; its own
        # onset is absolute and was not moved.
        assert [e.time_s for e in rec.events()] == [pytest.approx(4.5)]


def test_contiguous_edf_plus_d_is_regular(tmp_path):
    path = tmp_path / "c.edf"
    _write(path)
    _make_discontinuous(path, {})
    with open_edf(path) as rec:
        assert rec.header.format_name == "EDF+D"
        assert all(s.regular for s in rec.header.streams)


def test_overlapping_edf_plus_d_records_are_refused(tmp_path):
    path = tmp_path / "o.edf"
    _write(path)
    _make_discontinuous(path, {2: -0.5})
    with pytest.raises(UnsupportedVariantError, match="overlap"):
        open_edf(path)


# -- damaged files --------------------------------------------------------------------------------------
def _patch(path, offset: int, text: bytes):
    data = bytearray(path.read_bytes())
    data[offset:offset + len(text)] = text
    path.write_bytes(bytes(data))


def test_truncated_file_raises_or_reads_what_is_there(tmp_path, written):
    path, _ = written
    header = read_edf_header(path)
    cut = tmp_path / ("cut" + path.suffix)
    cut.write_bytes(path.read_bytes()[:header.header_bytes + int(2.5 * header.record_bytes)])
    with pytest.raises(TruncatedRecordingError, match="only 2 complete") as info:
        open_recording(cut)
    assert str(cut) in str(info.value)
    with open_edf(cut, truncated="read") as rec:
        assert rec.header.streams[0].n_samples == 2 * 256
        assert any("truncated" in value for _, value in rec.header.details)


def test_unknown_record_count_is_derived_from_the_size(tmp_path, written):
    path, _ = written
    _patch(path, 236, b"-1      ")
    with open_edf(path) as rec:
        assert rec.edf_header.n_records == 7
        assert rec.edf_header.n_records_declared == -1


@pytest.mark.parametrize("offset_in_signals, width, field", [
    (16 + 80 + 8 + 8 + 8, 8, "digital minimum"),
    (16 + 80 + 8, 8, "physical minimum"),
    (16 + 80 + 8 + 8 + 8 + 8 + 8 + 80, 8, "samples per record"),
])
def test_bad_numbers_in_signal_fields_name_the_field(tmp_path, offset_in_signals, width, field):
    path = tmp_path / "bad.edf"
    _write(path)
    n_signals = len(NAMES) + 1
    _patch(path, 256 + offset_in_signals * n_signals + width, b"abc".ljust(width))
    with pytest.raises(CorruptRecordingError, match=field) as info:
        open_edf(path)
    assert "signal 2 ('EMG')" in str(info.value)


@pytest.mark.parametrize("offset, text, message", [
    (252, b"0   ", "at least one"),
    (244, b"x1      ", "duration of a data record"),
    (236, b"1e2z    ", "number of data records"),
    (184, b"1024    ", "header bytes"),
])
def test_bad_main_header_fields_raise_corrupt(tmp_path, offset, text, message):
    path = tmp_path / "bad.edf"
    _write(path)
    _patch(path, offset, text)
    with pytest.raises(CorruptRecordingError, match=message):
        open_edf(path)


def test_equal_digital_limits_and_non_edf_content(tmp_path):
    path = tmp_path / "bad.edf"
    _write(path)
    n_signals = len(NAMES) + 1
    dmax = 256 + (16 + 80 + 8 + 8 + 8 + 8) * n_signals
    _patch(path, dmax, b"-32768  ")
    with pytest.raises(CorruptRecordingError, match="digital maximum"):
        open_edf(path)
    junk = tmp_path / "junk.edf"
    junk.write_bytes(b"not an edf file at all" * 20)
    with pytest.raises(UnsupportedFormatError):
        open_edf(junk)
    short = tmp_path / "short.edf"
    short.write_bytes(b"0       " + b" " * 100)
    with pytest.raises(TruncatedRecordingError):
        open_edf(short)


def test_malformed_date_keeps_the_data_readable(tmp_path):
    path = tmp_path / "date.edf"
    _write(path)
    _patch(path, 168, b"32.13.21")
    _patch(path, 88, b"X".ljust(80))  # no EDF+ start date to fall back on
    with open_edf(path) as rec:
        assert rec.header.start_datetime is None
        assert any("unreadable" in value for _, value in rec.header.details)
        assert rec.read(0, 1).shape[0] == 256


def test_a_malformed_annotation_is_counted_not_fatal(tmp_path):
    path = tmp_path / "tal.edf"
    _write(path)
    header = read_edf_header(path)
    annotation = header.annotation_signals[0]
    at = header.header_bytes + 1 * header.record_bytes + annotation.record_offset
    data = bytearray(path.read_bytes())
    tals = bytes(data[at:at + 200]).split(b"\x00")
    assert tals[1].startswith(b"+1.5")  # the annotation at 1.25 s (+0.25 s sub-second start)
    bad = at + len(tals[0]) + 1
    data[bad:bad + 4] = b"?1.5"
    path.write_bytes(bytes(data))
    with open_edf(path) as rec:
        labels = [e.label for e in rec.events()]
        assert "stim \u00fc" not in labels and "start" in labels and "near end" in labels
        assert rec.annotation_problems.count == 1
        assert "record 1" in rec.annotation_problems.first


def test_status_triggers_do_not_depend_on_block_boundaries():
    from tracemark.io_backends.edf_annotations import status_events

    rng = np.random.default_rng(5)
    codes = np.repeat(rng.integers(0, 3, size=400), rng.integers(1, 6, size=400))
    codes = codes | (0xAB << 16)  # device-state bits above the trigger code are ignored
    whole = status_events([codes], 100.0)
    for size in (1, 7, 64):
        chunks = [codes[i:i + size] for i in range(0, codes.size, size)]
        assert status_events(chunks, 100.0) == whole
    changes = np.flatnonzero(np.diff(codes & 0xFFFF)) + 1
    assert [round(e.time_s * 100) for e in whole] == [int(i) for i in changes if codes[i] & 0xFFFF]


def test_an_edf_trigger_channel_becomes_events_and_an_analog_one_does_not(tmp_path):
    """The viewer hides trigger channels from its rows, so their codes must be events."""
    from tracemark.io_backends import open_recording
    from tracemark.io_backends.edf_writer import write_edf

    rate, n = 200.0, 2000
    eeg = np.sin(np.arange(n) / 7.0).astype(np.float32) * 50
    trigger = np.zeros(n, dtype=np.float32)
    trigger[400:420] = 3
    trigger[1200:1210] = 7
    noisy = np.random.default_rng(0).normal(0, 100, n).astype(np.float32)   # mislabelled analog
    path = tmp_path / "triggers.edf"
    write_edf(path, [[eeg, trigger, noisy]], channel_names=["C3", "Trigger", "STI 014"],
              sampling_rates=rate, physical_ranges=[(-500.0, 500.0), (-32768.0, 32767.0), (-500.0, 500.0)],
              digital_ranges=[(-32768, 32767)] * 3)
    with open_recording(path) as recording:
        assert recording.header.streams[0].channel_types == ("eeg", "stim", "stim")
        events = [e for e in recording.events() if e.source == "trigger"]
    assert [(e.time_s, e.label) for e in events] == [(2.0, "3"), (6.0, "7")]
    assert events[0].duration_s == pytest.approx(0.1)
