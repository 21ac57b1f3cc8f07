"""Marks exported and imported through every interchange format, and read back by the
reference tools: ``mne.read_annotations`` (MNE text, EDF+), ``edfio.read_edf`` (EDF+),
``mne_bids.read_raw_bids`` (BIDS events.tsv and channels.tsv beside an EDF recording) and
pynwb (NWB). Onsets, durations and labels must agree to the sample, ``round(t * rate)``,
at awkward rates and onsets; files those tools write import as they wrote them; damaged
files give an AnnotationFormatError naming the file and the line.

Everything is generated here; nothing needs ../shared/data.
"""

from __future__ import annotations

import json
import math
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from tracemark.domain.annotations import AnnotationState, InMemoryAnnotations, add, apply, set_channel_bad
from tracemark.io_backends import open_recording
from tracemark.io_backends.annotation_formats import (
    FORMATS,
    AnnotationFormatError,
    ImportedMarks,
    RecordingInfo,
    export_annotations,
    guess_format,
    import_annotations,
    import_changes,
)
from tracemark.io_backends.edf_writer import write_edf

mne = pytest.importorskip("mne", reason="mne is the reference reader of MNE text and EDF+")
edfio = pytest.importorskip("edfio", reason="edfio is the reference reader of EDF+")

RATES = (2048.0, 256.0, 1000.0)
CHANNELS = ("Fp1", "F,3", "Cz", "ECG")
TYPES = ("eeg", "eeg", "eeg", "ecg")
UNITS = ("uV", "uV", "uV", "mV")
START = datetime(2023, 11, 5, 22, 47, 13, 375000)
FILE_NAMES = {"bids": "sub-01_task-rest_events.tsv", "edf": "marks.edf", "csv": "marks.csv",
              "mne": "marks.txt", "nwb": "marks.nwb"}
#: Labels a spreadsheet and a TSV must keep; MNE's text format cannot hold the first two.
AWKWARD_LABELS = ('artifact, muscle', 'say "hi"', "Schläfe ünïcødé — 睡眠", "BAD_artifact")
#: ``(onset_s, duration_s, label, channels)``, as ImportedMarks holds them.
Marks = list[tuple[float, float, str, tuple[str, ...]]]


def awkward_marks(rate: float, labels: tuple[str, ...] = AWKWARD_LABELS) -> Marks:
    """Onsets on odd samples far into the recording, off-sample onsets, one at 0, point
    events and spans, bound and unbound."""
    on_sample = [k / rate for k in (0, 1, 7919, 104729, 3 * 1299709)]
    off_sample = [0.1 + 0.2, 1234.5678901234567, math.pi * 100, 2.0 / 3.0]
    marks = []
    for i, onset in enumerate(on_sample + off_sample):
        duration = 0.0 if i % 3 == 0 else (i * 977 + 1) / rate + (1e-7 if i % 2 else 0.0)
        channels = ((), ("Cz",), ("F,3", "Fp1"))[i % 3]
        marks.append((onset, duration, labels[i % len(labels)], channels))
    return marks


def state_of(marks: Marks, bad: dict[str, str] | None = None) -> AnnotationState:
    state = AnnotationState.with_default_labels()
    for onset, duration, label, channels in marks:
        state = apply(state, add(state, onset, duration, label, channels)[1])
    for channel, reason in (bad or {}).items():
        state = apply(state, set_channel_bad(state, channel, True, reason))
    return state


def info_at(rate: float, start: datetime | None = START) -> RecordingInfo:
    return RecordingInfo(CHANNELS, TYPES, UNITS, rate, start, 3600.0)


def on_samples(marks: Marks, rate: float, keep_channels: bool = True) -> list[tuple[int, int, str, tuple[str, ...]]]:
    """Marks as whole samples, channels as a set: what "the same mark" means."""
    return sorted((round(onset * rate), round(duration * rate), label,
                   tuple(sorted(channels)) if keep_channels else ())
                  for onset, duration, label, channels in marks)


def ascii_marks(rate: float) -> Marks:
    """The awkward marks with labels and channels MNE's text format can hold."""
    labels = ("Spike", "BAD_artifact", "Seizure onset", "Missed pulse")
    return [(o, d, label, tuple(c for c in ch if "," not in c))
            for o, d, label, ch in awkward_marks(rate, labels)]


# -- round trips through Tracemark's own reader ---------------------------------------------------
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_round_trips_to_the_sample(tmp_path: Path, fmt: str, rate: float) -> None:
    marks = ascii_marks(rate) if fmt == "mne" else awkward_marks(rate)
    state = state_of(marks, {"Cz": "flat line, 50 Hz"})
    path = tmp_path / FILE_NAMES[fmt]
    written = export_annotations(state, path, fmt, info_at(rate))
    assert path in written and all(p.is_file() for p in written)
    imported = import_annotations(path, None, info_at(rate))
    assert imported.time_shift_s == 0.0
    assert on_samples(imported.marks, rate) == on_samples(marks, rate)
    # text tables keep every number exactly; NWB keeps onsets exactly (it stores stop times)
    if fmt in ("csv", "bids", "mne"):
        assert sorted(m[:3] for m in imported.marks) == sorted(m[:3] for m in marks)
    if fmt == "nwb":
        assert sorted(m[0] for m in imported.marks) == sorted(m[0] for m in marks)
    assert set(imported.labels) == {label for _, _, label, _ in marks}
    assert imported.bad_channels == ({"Cz": "flat line, 50 Hz"} if fmt == "bids" else {})


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_marks_or_no_bound_marks_round_trip(tmp_path: Path, fmt: str) -> None:
    for marks in ([], [(4.0, 0.0, "Spike", ()), (5.0, 2.0, "Sleep", ())]):
        path = tmp_path / FILE_NAMES[fmt]
        export_annotations(state_of(marks), path, fmt, info_at(1000.0))
        assert import_annotations(path, fmt, info_at(1000.0)).marks == marks


@pytest.mark.parametrize("fmt", ["edf", "mne", "nwb"])
def test_a_zoned_start_time_round_trips_without_a_shift(tmp_path: Path, fmt: str) -> None:
    zoned = START.replace(tzinfo=timezone(timedelta(hours=-5)))
    path = tmp_path / FILE_NAMES[fmt]
    export_annotations(state_of(ascii_marks(256.0)), path, fmt, info_at(256.0, zoned))
    imported = import_annotations(path, fmt, info_at(256.0, zoned))
    assert imported.time_shift_s == 0.0
    assert on_samples(imported.marks, 256.0) == on_samples(ascii_marks(256.0), 256.0)


# -- what the reference tools read ------------------------------------------------------------------
@pytest.mark.parametrize("rate", RATES)
def test_mne_reads_the_mne_text_tracemark_writes(tmp_path: Path, rate: float) -> None:
    marks = ascii_marks(rate)
    path = tmp_path / "marks.txt"
    export_annotations(state_of(marks), path, "mne", info_at(rate))
    read = mne.read_annotations(path)
    assert read.orig_time == START.replace(tzinfo=timezone.utc)
    got = [(o, d, str(text), tuple(ch)) for o, d, text, ch in
           zip(read.onset, read.duration, read.description, read.ch_names)]
    assert on_samples(got, rate) == on_samples(marks, rate)


def test_mne_text_refuses_what_mne_cannot_read_and_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "marks.txt"
    path.write_text("previous export\n")
    for label in ("artifact, muscle", "Schläfe"):
        with pytest.raises(AnnotationFormatError) as caught:
            export_annotations(state_of([(1.0, 0.0, label, ())]), path, "mne", info_at(1000.0))
        assert caught.value.path == path and label in str(caught.value)
    assert path.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["marks.txt"]  # no temporary left behind


@pytest.mark.parametrize("rate", RATES)
def test_edfio_and_mne_read_the_edf_tracemark_writes(tmp_path: Path, rate: float) -> None:
    marks = awkward_marks(rate)
    path = tmp_path / "marks.edf"
    export_annotations(state_of(marks), path, "edf", info_at(rate))

    edf = edfio.read_edf(path)
    assert edf.num_signals == 0 and edf.startdatetime == START
    assert edf.reserved.startswith("EDF+")
    by_edfio = [(a.onset, a.duration or 0.0, a.text) for a in edf.annotations]
    by_mne_raw = mne.read_annotations(path)  # (mne gives an EDF's annotations no orig_time)
    by_mne = list(zip(by_mne_raw.onset, by_mne_raw.duration, by_mne_raw.description))
    # one EDF+ annotation per bound channel, "label@@channel", as MNE's own EDF export writes
    expected = sorted((round(o * rate), round(d * rate), f"{label}@@{c}" if c else label)
                      for o, d, label, chans in marks for c in (chans or ("",)))
    for found in (by_edfio, by_mne):
        assert sorted((round(o * rate), round(d * rate), str(t)) for o, d, t in found) == expected


@pytest.mark.parametrize("start", [None, datetime(1970, 1, 1)])
def test_an_edf_start_outside_edf_years_is_written_anonymous(tmp_path: Path, start: datetime | None) -> None:
    path = tmp_path / "marks.edf"
    export_annotations(state_of([(2.5, 1.0, "Spike", ())]), path, "edf", info_at(256.0, start))
    assert b"Startdate X" in path.read_bytes()[88:168]
    imported = import_annotations(path, "edf", info_at(256.0, start))
    assert imported.time_shift_s == 0.0 and imported.marks == [(2.5, 1.0, "Spike", ())]


def test_mne_bids_reads_events_and_bad_channels_beside_an_edf_recording(tmp_path: Path) -> None:
    mne_bids = pytest.importorskip("mne_bids", reason="mne-bids is the reference reader of BIDS")
    rate = 256.0
    folder = tmp_path / "bids" / "sub-01" / "eeg"
    folder.mkdir(parents=True)
    (tmp_path / "bids" / "dataset_description.json").write_text(
        json.dumps({"Name": "marks", "BIDSVersion": "1.9.0"}))
    recording = folder / "sub-01_task-rest_eeg.edf"
    n = int(60 * rate)
    data = np.random.default_rng(7).normal(0, 20, (n, len(CHANNELS)))
    write_edf(recording, [data], channel_names=CHANNELS, sampling_rates=rate,
              physical_ranges=(-500.0, 500.0), units="uV", start_datetime=START)
    (folder / "sub-01_task-rest_eeg.json").write_text(json.dumps(
        {"TaskName": "rest", "SamplingFrequency": rate, "PowerLineFrequency": 50,
         "EEGReference": "n/a", "SoftwareFilters": "n/a"}))
    marks = [m for m in awkward_marks(rate) if m[0] + m[1] < 60.0]
    marks += [(59.99609375, 0.0, "last sample", ()), (12.3456789, 4.25, "Schlaf, tief", ("Fp1",))]
    state = state_of(marks, {"Cz": "flat line", "ECG": ""})
    with open_recording(recording) as opened:
        info = RecordingInfo.from_header(opened.header)
    assert info.channel_types == TYPES and info.start_time == START and info.sampling_rate == rate
    written = export_annotations(state, folder / "sub-01_task-rest_events.tsv", "bids", info)
    assert sorted(p.name for p in written) == ["sub-01_task-rest_channels.tsv",
                                               "sub-01_task-rest_events.json",
                                               "sub-01_task-rest_events.tsv"]

    path = mne_bids.BIDSPath(subject="01", task="rest", datatype="eeg", suffix="eeg",
                             extension=".edf", root=tmp_path / "bids")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mne's and mne-bids' notes on a minimal dataset
        raw = mne_bids.read_raw_bids(path, verbose="error")
    assert sorted(raw.info["bads"]) == ["Cz", "ECG"]
    got = [(o, d, str(t), ()) for o, d, t in
           zip(raw.annotations.onset, raw.annotations.duration, raw.annotations.description)]
    assert on_samples(got, rate) == on_samples(marks, rate, keep_channels=False)
    # the `sample` column is the onset in samples of the recording mne reads
    events = (folder / "sub-01_task-rest_events.tsv").read_text(encoding="utf-8").splitlines()
    header = events[0].split("\t")
    assert header[:4] == ["onset", "duration", "trial_type", "sample"] and header[-1] == "channel"
    for row in events[1:]:
        cells = dict(zip(header, row.split("\t")))
        assert int(cells["sample"]) == round(float(cells["onset"]) * raw.info["sfreq"])
    sidecar = json.loads((folder / "sub-01_task-rest_events.json").read_text())
    assert sidecar["channel"]["Delimiter"] == "|"


def test_bids_export_into_a_dataset_keeps_its_channels_table_and_sidecar(tmp_path: Path) -> None:
    (tmp_path / "sub-01_task-rest_channels.tsv").write_text(
        "name\ttype\tunits\tlow_cutoff\tstatus\nCz\tEEG\tµV\t0.1\tbad\nPz\tEEG\tµV\t0.1\tgood\n",
        encoding="utf-8")
    (tmp_path / "sub-01_task-rest_events.json").write_text(json.dumps({"value": {"Description": "codes"}}))
    export_annotations(state_of([(1.0, 0.0, "Spike", ())], {"Pz": "drift"}),
                       tmp_path / "sub-01_task-rest_events.tsv", "bids", info_at(256.0))
    assert (tmp_path / "sub-01_task-rest_channels.tsv").read_text(encoding="utf-8").splitlines() == [
        "name\ttype\tunits\tlow_cutoff\tstatus\tstatus_description",
        "Cz\tEEG\tµV\t0.1\tgood\tn/a", "Pz\tEEG\tµV\t0.1\tbad\tdrift"]
    sidecar = json.loads((tmp_path / "sub-01_task-rest_events.json").read_text())
    assert sidecar["value"] == {"Description": "codes"} and "trial_type" in sidecar
    with pytest.raises(AnnotationFormatError, match="'Fp1' is not listed"):
        export_annotations(state_of([], {"Fp1": ""}), tmp_path / "sub-01_task-rest_events.tsv", "bids",
                           info_at(256.0))


def test_pynwb_reads_the_time_intervals_in_a_new_file(tmp_path: Path) -> None:
    from pynwb import NWBHDF5IO

    rate = 2048.0
    marks = awkward_marks(rate)
    path = tmp_path / "marks.nwb"
    export_annotations(state_of(marks), path, "nwb", info_at(rate, START.replace(tzinfo=timezone.utc)))
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        assert nwb.session_start_time == START.replace(tzinfo=timezone.utc)
        frame = nwb.intervals["tracemark_annotations"].to_dataframe()
        got = [(row.start_time, row.stop_time - row.start_time, row.label, tuple(row.channels))
               for row in frame.itertuples()]
    assert on_samples(got, rate) == on_samples(marks, rate)


def test_imports_epochs_and_trials_another_nwb_writer_made(tmp_path: Path) -> None:
    from pynwb import NWBHDF5IO, NWBFile

    file_start = START.replace(tzinfo=timezone.utc) - timedelta(seconds=1.5)
    nwb = NWBFile(session_description="other lab", identifier="x", session_start_time=file_start)
    nwb.add_epoch(start_time=2.0, stop_time=4.5, tags=["sleep", "N2"])
    nwb.add_trial(start_time=10.25, stop_time=10.25)
    path = tmp_path / "other.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    imported = import_annotations(path, None, info_at(1000.0, START.replace(tzinfo=timezone.utc)))
    assert imported.time_shift_s == pytest.approx(-1.5)
    assert on_samples(imported.marks, 1000.0) == on_samples(
        [(0.5, 2.5, "sleep, N2", ()), (8.75, 0.0, "trials", ())], 1000.0)


def test_no_export_replaces_the_recording(tmp_path: Path) -> None:
    recording = tmp_path / "night.edf"
    recording.write_bytes(b"the recording")
    info = RecordingInfo(CHANNELS, TYPES, UNITS, 256.0, START, 10.0, source_path=recording)
    for fmt in ("edf", "nwb"):
        with pytest.raises(AnnotationFormatError, match="recording itself"):
            export_annotations(state_of([(1.0, 0.0, "x", ())]), recording, fmt, info)
    assert recording.read_bytes() == b"the recording"


# -- importing what the reference tools write -------------------------------------------------------
def test_imports_what_mne_saves_aligned_by_orig_time(tmp_path: Path) -> None:
    rate = 1000.0
    path = tmp_path / "from_mne.txt"
    orig = datetime(2023, 11, 5, 22, 47, 15, 375000, tzinfo=timezone.utc)  # 2 s after the recording
    saved = mne.Annotations([0.5, 17.123], [0.0, 2.5], ["Spike", "BAD_move"], orig_time=orig,
                            ch_names=[(), ("Fp1", "Cz")])
    saved.save(path, overwrite=True, verbose="error")
    imported = import_annotations(path, "mne", info_at(rate))
    assert imported.time_shift_s == pytest.approx(2.0)
    assert on_samples(imported.marks, rate) == on_samples(
        [(2.5, 0.0, "Spike", ()), (19.123, 2.5, "BAD_move", ("Fp1", "Cz"))], rate)
    # mne leaves out the microseconds of a whole-second orig_time; still read as a time
    saved = mne.Annotations([1.0], [0.0], ["x"], orig_time=START.replace(microsecond=0, tzinfo=timezone.utc))
    saved.save(path, overwrite=True, verbose="error")
    assert import_annotations(path, "mne", info_at(rate)).time_shift_s == pytest.approx(-0.375)


def test_imports_an_annotation_only_edf_that_edfio_writes(tmp_path: Path) -> None:
    rate = 2048.0
    path = tmp_path / "edfbrowser_like.edf"
    file_start = START + timedelta(seconds=10)
    edf = edfio.Edf([], recording=edfio.Recording(startdate=file_start.date()),
                    starttime=file_start.time(),
                    annotations=[edfio.EdfAnnotation(3.0, None, "Arousal"),
                                 edfio.EdfAnnotation(7.25, 30.0, "Sleep stage N2"),
                                 edfio.EdfAnnotation(9.5, 1.0, "BAD_move@@Cz"),
                                 edfio.EdfAnnotation(9.5, 1.0, "BAD_move@@Fp1"),
                                 edfio.EdfAnnotation(11.0, None, "note@@nowhere")])
    edf.write(path)
    imported = import_annotations(path, None, info_at(rate))
    assert imported.time_shift_s == pytest.approx(10.0)
    assert on_samples(imported.marks, rate) == on_samples(
        [(13.0, 0.0, "Arousal", ()), (17.25, 30.0, "Sleep stage N2", ()),
         (19.5, 1.0, "BAD_move", ("Cz", "Fp1")), (21.0, 0.0, "note@@nowhere", ())], rate)
    # without the recording's start nothing is shifted
    assert import_annotations(path).time_shift_s == 0.0


def _annotation_only_edf(path: Path, records: list[bytes], start: datetime) -> None:
    """An annotation-only EDF+ file with several data records of duration 0, one TAL list
    each: the layout of annotation files exported by EDF viewers, byte by byte."""
    def field(value: str, width: int) -> bytes:
        return value.encode("ascii").ljust(width, b" ")

    width = max(len(record) for record in records) // 2 + 1
    header = b"".join((
        field("0", 8), field("X X X X", 80),
        field(f"Startdate {start.day:02d}-{start.strftime('%b').upper()}-{start.year} X X X", 80),
        field(start.strftime("%d.%m.%y"), 8), field(start.strftime("%H.%M.%S"), 8), field("512", 8),
        field("EDF+C", 44), field(str(len(records)), 8), field("0", 8), field("1", 4),
        field("EDF Annotations", 16), field("", 80), field("", 8), field("-32768", 8), field("32767", 8),
        field("-32768", 8), field("32767", 8), field("", 80), field(str(width), 8), field("", 32)))
    path.write_bytes(header + b"".join(record.ljust(2 * width, b"\x00") for record in records))


def test_imports_a_multi_record_annotation_file_as_edf_viewers_export_it(tmp_path: Path) -> None:
    path = tmp_path / "viewer_export.edf"
    _annotation_only_edf(path, [b"+0\x14\x14\x00+1.5\x14Arousal\x14\x00",
                                b"+0\x14\x14\x00+20.125\x1530\x14N2\x14\x00",
                                "+0\x14\x14\x00+61\x14Schläfe\x14\x00".encode()],
                         START.replace(microsecond=0))
    imported = import_annotations(path, None, info_at(256.0))
    assert imported.time_shift_s == pytest.approx(-0.375)  # the file starts on the whole second
    assert [(o + 0.375, d, label) for o, d, label, _ in imported.marks] == [
        (1.5, 0.0, "Arousal"), (20.125, 30.0, "N2"), (61.0, 0.0, "Schläfe")]
    # the same file read by mne, for the record
    assert list(mne.read_annotations(path).description) == ["Arousal", "N2", "Schläfe"]


def test_labels_with_commas_quotes_and_unicode_survive_all_but_mne_text(tmp_path: Path) -> None:
    marks = [(1.5, 0.0, label, ("F,3",)) for label in AWKWARD_LABELS]
    for fmt in ("csv", "bids", "edf", "nwb"):
        path = tmp_path / FILE_NAMES[fmt]
        export_annotations(state_of(marks), path, fmt, info_at(256.0))
        got = import_annotations(path, fmt, info_at(256.0)).marks
        assert sorted(label for _, _, label, _ in got) == sorted(AWKWARD_LABELS), fmt
        assert all(channels == ("F,3",) for _, _, _, channels in got), fmt
    text = (tmp_path / "marks.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbfonset_s,duration_s,label,channels\r\n")
    assert b'"artifact, muscle"' in text and b'"say ""hi"""' in text


def test_a_spreadsheet_csv_with_semicolons_and_decimal_commas_imports(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("Onset;Duration;Description;Channel\r\n1,25;0,5;Blink;Fp1|Cz\r\n\r\n3;;Spike;\r\n"
                     .encode("cp1252"))
    imported = import_annotations(path)
    assert imported.marks == [(1.25, 0.5, "Blink", ("Fp1", "Cz")), (3.0, 0.0, "Spike", ())]


# -- damaged files -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "content", "line", "words"), [
    ("bad.csv", "onset_s,duration_s,label,channels\n1.0,0,ok,\n2.0,abc,broken,\n", 3, "duration"),
    ("bad.csv", "onset_s,duration_s,label\n1.0,0,a,b,c\n", 2, "fields"),
    ("bad.csv", "when,what\n1,x\n", 1, "onset"),
    ("bad.csv", "onset_s,duration_s,label\n1.0,-2,neg\n", 2, "negative"),
    ("bad.csv", 'onset_s,duration_s,label\n1.0,0,"two\nlines"\n2.0,0,"open"quote\n', 4, "CSV"),
    ("bad.csv", 'onset_s,duration_s,label\n1.0,0,"two\nlines"\nlate,0,x\n', 2, "control character"),
    ("bad_events.tsv", "onset\tduration\ttrial_type\n1.0\t0\tok\nsoon\t0\tx\n", 3, "onset"),
    ("bad_events.tsv", "onset\tduration\ttrial_type\n1.0\t0\n", 2, "fields"),
    ("bad.txt", "# MNE-Annotations\n# onset, duration, description\n1.0,0.0,a\n2.0,x,b\n", 4, "duration"),
    ("bad.txt", "# MNE-Annotations\n# onset, duration, description\n1.0,0.0,a,b\n", 3, "fields"),
    ("bad.txt", "# MNE-Annotations\n# orig_time : yesterday\n# onset, duration, description\n", 2, "orig_time"),
    ("bad_channels.tsv", "name\ttype\tunits\tstatus\nCz\tEEG\tuV\tbroken\n", 2, "status"),
])
def test_malformed_files_name_the_file_and_line(tmp_path: Path, name: str, content: str, line: int,
                                               words: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AnnotationFormatError) as caught:
        import_annotations(path)
    assert caught.value.path == path and caught.value.line == line
    assert str(path) in str(caught.value) and f"line {line}" in str(caught.value)
    assert words in str(caught.value)


@pytest.mark.parametrize("name", ["garbage.edf", "garbage.nwb"])
def test_damaged_binary_files_name_the_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"0       " + bytes(range(256)) * 3)
    with pytest.raises(AnnotationFormatError) as caught:
        import_annotations(path)
    assert caught.value.path == path and str(path) in str(caught.value)


def test_a_plain_edf_recording_is_not_an_annotation_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.edf"
    edfio.Edf([edfio.EdfSignal(np.zeros(100), sampling_frequency=100, label="Cz")]).write(path)
    with pytest.raises(AnnotationFormatError, match="EDF"):
        import_annotations(path)


def test_formats_are_told_by_suffix_or_refused(tmp_path: Path) -> None:
    assert [guess_format(f"x{s}") for s in (".tsv", ".EDF", ".bdf", ".csv", ".txt", ".nwb")] == [
        "bids", "edf", "edf", "csv", "mne", "nwb"]
    with pytest.raises(AnnotationFormatError, match="suffix"):
        guess_format("marks.xlsx")
    with pytest.raises(AnnotationFormatError, match="unknown annotation format"):
        export_annotations(AnnotationState(), tmp_path / "x.csv", "json", info_at(256.0))
    with pytest.raises(AnnotationFormatError, match="no such file"):
        import_annotations(tmp_path / "missing.csv")


# -- from a file into the sink ----------------------------------------------------------------------
def test_import_changes_add_labels_marks_and_bad_channels_once() -> None:
    sink = InMemoryAnnotations()
    imported = ImportedMarks(fmt="csv")
    imported.add(1.0, 0.0, "Spike")
    imported.add(2.0, 1.5, "K-complex", ("Cz",))
    imported.bad_channels["Fp1"] = "loose"
    sink.commit(import_changes(sink.state, imported))
    state = sink.state
    assert sorted((a.onset_s, a.label, a.channels) for a in state.annotations.values()) == [
        (1.0, "Spike", ()), (2.0, "K-complex", ("Cz",))]
    assert state.labels["K-complex"].key == "" and state.bad_channels == {"Fp1": "loose"}
    assert import_changes(state, imported) == []  # importing the same file again adds nothing
