"""EDF+/BDF+ annotations read exactly as mne's ``read_annotations`` reads them.

The fixtures are written byte by byte here (neither Tracemark's writer, pyEDFlib nor edfio
writes EDF+D or puts texts into time-keeping TALs): Nihon Kohden-like EDF+D exports
(several signals at two rates, 1-s or 0.1-s records, gaps between records, annotations
inside the time-keeping TALs, in TALs of their own and in a second annotation signal, a
UTF-8 label), and sleep hypnograms that hold annotations only (record duration 0 with one
record, or 30-s records). Every one is compared with ``mne.read_annotations``, and its
samples with the record layout written. The files in ``../shared/data/edf`` are compared
too when present.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_params

from tracemark.app.cli import main
from tracemark.io_backends import CorruptRecordingError, open_recording

mne = pytest.importorskip("mne", reason="mne is the reference for EDF+ annotations")


# -- a byte-level EDF+/BDF+ writer ----------------------------------------------------------------
@dataclass(frozen=True)
class Sig:
    label: str
    samples_per_record: int
    unit: str = "uV"

    @property
    def is_annotation(self) -> bool:
        return self.label in ("EDF Annotations", "BDF Annotations")


def _field(value, width: int) -> bytes:
    text = str(value).encode("latin-1")
    assert len(text) <= width, (value, width)
    return text.ljust(width)


def write_plus(path: Path, signals: list[Sig], records: list[list], *, record_duration="1",
               variant="EDF+D", bdf=False, n_records_field=None) -> Path:
    """Write an EDF+/BDF+ file: ``records[r][s]`` is signal ``s``'s content in record ``r``
    (integers for a data signal, the TAL bytes for an annotation signal, NUL-padded here)."""
    bps = 3 if bdf else 2
    n = len(signals)
    main_header = (
        (b"\xffBIOSEMI" if bdf else _field("0", 8)) + _field("X X X X", 80)
        + _field("Startdate 04-MAR-2021 X NK-EEG-1200 X", 80) + _field("04.03.21", 8)
        + _field("09.15.30", 8) + _field(256 * (n + 1), 8) + _field(variant, 44)
        + _field(len(records) if n_records_field is None else n_records_field, 8)
        + _field(record_duration, 8) + _field(n, 4))
    limits = (-8388608, 8388607) if bdf else (-32768, 32767)
    columns = [
        ([s.label for s in signals], 16),
        (["" if s.is_annotation else "AgAgCl electrode" for s in signals], 80),
        (["" if s.is_annotation else s.unit for s in signals], 8),
        (["-1" if s.is_annotation else "-3200" for s in signals], 8),
        (["1" if s.is_annotation else "3200" for s in signals], 8),
        ([limits[0]] * n, 8), ([limits[1]] * n, 8),
        (["" if s.is_annotation else "HP:0.5Hz LP:70Hz" for s in signals], 80),
        ([s.samples_per_record for s in signals], 8), ([""] * n, 32)]
    signal_header = b"".join(_field(v, width) for values, width in columns for v in values)
    body = bytearray()
    for record in records:
        for signal, content in zip(signals, record, strict=True):
            width = signal.samples_per_record * bps
            if signal.is_annotation:
                assert len(content) <= width, (content, width)
                body += content.ljust(width, b"\x00")
            else:
                values = np.asarray(content, dtype="<i4")
                assert values.shape == (signal.samples_per_record,)
                body += values.view(np.uint8).reshape(-1, 4)[:, :bps].tobytes()
    path.write_bytes(main_header + signal_header + bytes(body))
    return path


def tal(onset: str, *texts: str, duration: str | None = None, timekeeping: bool = False) -> bytes:
    """One TAL; ``timekeeping`` puts the empty first annotation of a record's first TAL."""
    head = f"+{onset}" if not onset.startswith(("+", "-")) else onset
    if duration is not None:
        head += "\x15" + duration
    parts = ([""] if timekeeping else []) + list(texts)
    return head.encode() + b"\x14" + b"".join(t.encode("utf-8") + b"\x14" for t in parts) + b"\x00"


def _samples(rng, spr: int) -> np.ndarray:
    # Small values: no byte pattern in the samples can look like a TAL to mne's regex,
    # which scans the whole file, signal bytes included.
    return rng.integers(-500, 500, spr)


def mne_annotations(path: Path) -> list[tuple[float, float, str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = mne.read_annotations(path)
    return sorted((float(o), float(d), str(t))
                  for o, d, t in zip(found.onset, found.duration, found.description))


def tracemark_annotations(recording) -> list[tuple[float, float, str]]:
    return sorted((e.time_s, e.duration_s, e.label) for e in recording.events()
                  if e.source == "annotation")


def assert_same_annotations(ours, theirs):
    assert [(d, t) for _, d, t in ours] == [(d, t) for _, d, t in theirs]
    np.testing.assert_allclose([o for o, _, _ in ours], [o for o, _, _ in theirs], rtol=0, atol=1e-9)


# -- Nihon Kohden-like EDF+D ----------------------------------------------------------------------
@dataclass
class Written:
    path: Path
    signals: list[Sig]
    records: list[list]
    onsets: list[float]
    record_s: float
    annotations: list[tuple[float, float, str]]  # what was written, times from the first record


def nihon_kohden_like(folder: Path, record_s: float, bdf: bool, adjacent: bool) -> Written:
    """Two rates, gaps, annotations in time-keeping TALs, own TALs and a 2nd annotation signal."""
    per_s = round(1 / record_s)
    eeg = [Sig(f"EEG {name}-Ref", 200 // per_s) for name in ("Fp1", "Fp2", "C3")]
    ecg = Sig("ECG", 100 // per_s, "mV")
    kind = "BDF Annotations" if bdf else "EDF Annotations"
    annot1, annot2 = Sig(kind, 40 if bdf else 60), Sig(kind, 20 if bdf else 30)
    signals = eeg + [ecg, annot1, annot2] if adjacent else eeg[:2] + [annot1, eeg[2], ecg, annot2]
    # Three runs of records with gaps between them (EDF+D), the first starting at +0.
    steps = [0, 1, 2, 3, 10, 11, 12, 30, 31] if record_s == 1 else \
        [0, 1, 2, 3, 4, 20, 21, 22, 73, 74]
    onsets = [round(k * record_s, 6) for k in steps]
    text = [f"{o:.10g}" for o in onsets]

    def t(k: int) -> str:  # the exact onset text of record k
        return text[k]

    # (record, which annotation signal, TALs after the time-keeping one)
    first_tals = {k: tal(t(k), timekeeping=True) for k in range(len(onsets))}
    first_tals[1] = tal(t(1), "Eyes closed", timekeeping=True)  # Nihon Kohden's place
    first_tals[5] = tal(t(5), "Photic 10 Hz", "Hyperventilation", timekeeping=True)
    more_first = {0: tal(f"{onsets[0] + record_s / 4:.10g}", "Start of test"),
                  2: tal(f"{onsets[2] + record_s / 2:.10g}", "Sleep", duration="30"),
                  3: tal(f"{onsets[3] + 3 * record_s:.10g}", "In the gap"),
                  6: tal(f"{onsets[6]:.10g}", "Augen geöffnet 開眼 ✓")
                  + tal(f"{onsets[6]:.10g}", "Augen geöffnet 開眼 ✓"),
                  8: tal(f"{onsets[8] + record_s / 2:.10g}", "Movement", duration="0.5")}
    second = {2: tal(f"{onsets[2] + record_s * 0.75:.10g}", "Artifact", duration="1.5"),
              7: tal(f"{onsets[7]:.10g}", "Electrode pop")}
    rng = np.random.default_rng(int(record_s * 10) + 2 * bdf + adjacent)
    records = []
    for k in range(len(onsets)):
        record = []
        for s in signals:
            if s is annot1:
                record.append(first_tals[k] + more_first.get(k, b""))
            elif s is annot2:
                record.append(second.get(k, b""))
            else:
                record.append(_samples(rng, s.samples_per_record))
        records.append(record)
    annotations = [(onsets[1], 0.0, "Eyes closed"), (onsets[5], 0.0, "Photic 10 Hz"),
                   (onsets[5], 0.0, "Hyperventilation"), (onsets[0] + record_s / 4, 0.0, "Start of test"),
                   (onsets[2] + record_s / 2, 30.0, "Sleep"), (onsets[3] + 3 * record_s, 0.0, "In the gap"),
                   (onsets[6], 0.0, "Augen geöffnet 開眼 ✓"), (onsets[6], 0.0, "Augen geöffnet 開眼 ✓"),
                   (onsets[8] + record_s / 2, 0.5, "Movement"),
                   (onsets[2] + record_s * 0.75, 1.5, "Artifact"), (onsets[7], 0.0, "Electrode pop")]
    suffix = "bdf" if bdf else "edf"
    path = write_plus(folder / f"nk_{record_s:g}s_{'adjacent' if adjacent else 'apart'}.{suffix}",
                      signals, records, record_duration=f"{record_s:g}",
                      variant="BDF+D" if bdf else "EDF+D", bdf=bdf)
    return Written(path, signals, records, onsets, record_s, sorted(annotations))


NK_CASES = [(1.0, False, True), (0.1, False, False), (1.0, True, False), (0.1, True, True)]


@pytest.fixture(params=NK_CASES, ids=[f"{r:g}s-{'bdf' if b else 'edf'}-{'adjacent' if a else 'apart'}"
                                      for r, b, a in NK_CASES])
def nk(request, tmp_path) -> Written:
    return nihon_kohden_like(tmp_path, *request.param)


def test_nihon_kohden_like_annotations_equal_mne(nk):
    theirs = mne_annotations(nk.path)
    with open_recording(nk.path) as rec:
        assert rec.header.format_name in ("EDF+D", "BDF+D")
        ours = tracemark_annotations(rec)
        assert rec.annotation_problems.count == 0
    assert len(ours) == len(nk.annotations) == 11
    assert_same_annotations(ours, theirs)
    assert_same_annotations(ours, nk.annotations)
    labels = [label for _, _, label in ours]
    assert "Eyes closed" in labels and "Hyperventilation" in labels  # in time-keeping TALs
    assert "Augen geöffnet 開眼 ✓" in labels and "Electrode pop" in labels


def test_nihon_kohden_like_samples_follow_the_records_written(nk):
    data_signals = [s for s in nk.signals if not s.is_annotation]
    with open_recording(nk.path) as rec:
        seen = 0
        for index, stream in enumerate(rec.header.streams):
            assert not stream.regular  # real gaps between the records
            spr = next(s.samples_per_record for s in data_signals if s.label == stream.channel_names[0])
            assert stream.n_samples == spr * len(nk.records)
            for channel, name in enumerate(stream.channel_names):
                position = next(i for i, s in enumerate(nk.signals) if s.label == name)
                expected = np.concatenate([record[position] for record in nk.records])
                np.testing.assert_array_equal(rec.read_raw(0, stream.n_samples, [channel], index)[:, 0],
                                              expected)
                seen += 1
            # Each record's first sample sits at that record's onset; the rest at the nominal rate.
            times = rec.sample_times(0, stream.n_samples, index)
            np.testing.assert_allclose(times[::spr], nk.onsets, atol=1e-9)
            np.testing.assert_allclose(times[1:spr], np.arange(1, spr) * nk.record_s / spr, atol=1e-9)
            # A window by time after the last gap gives the samples of the last record.
            last = nk.onsets[-1]
            window = rec.read_raw(*rec.sample_range(last, last + nk.record_s, index), stream=index)
            np.testing.assert_array_equal(window[:, 0], nk.records[-1][
                next(i for i, s in enumerate(nk.signals) if s.label == stream.channel_names[0])])
        assert seen == len(data_signals)


def test_annotation_parsing_reads_only_annotation_bytes(tmp_path, monkeypatch):
    """Wide records (past RecordFile.WHOLE_RECORD_BYTES): events() costs the annotation bytes."""
    from tracemark.io_backends import rawfile

    signals = [Sig(f"EEG {i}", 1024) for i in range(10)] + [Sig("EDF Annotations", 30),
                                                          Sig("EDF Annotations", 20)]
    rng = np.random.default_rng(0)
    records = [[_samples(rng, 1024) for _ in range(10)]
               + [tal(str(r), *(["Eyes closed"] if r == 3 else []), timekeeping=True),
                  tal(f"{r}.5", "late") if r % 2 else b""] for r in range(20)]
    path = write_plus(tmp_path / "wide.edf", signals, records, variant="EDF+C")
    read = []
    original = rawfile.PositionalFile.read_array

    def counting(self, offset, dtype, shape):
        array = original(self, offset, dtype, shape)
        read.append(array.nbytes)
        return array

    with open_recording(path) as rec:
        monkeypatch.setattr(rawfile.PositionalFile, "read_array", counting)
        events = rec.events()
    assert sum(read) == 20 * (30 + 20) * 2
    assert [e.label for e in events].count("late") == 10 and "Eyes closed" in [e.label for e in events]
    assert tracemark_annotations_of(path) == mne_annotations(path)


def tracemark_annotations_of(path: Path):
    with open_recording(path) as rec:
        return tracemark_annotations(rec)


@pytest.mark.parametrize("seed", range(24))
def test_random_well_formed_files_equal_mne(tmp_path, seed):
    """Texts drawn from a few words, so that duplicates within and across TALs abound."""
    rng = np.random.default_rng(seed)
    words = ["A", "B", "Eyes closed", "Spike", "Ä ✓"]
    bdf = bool(seed % 2)
    kind = "BDF Annotations" if bdf else "EDF Annotations"
    signals = [Sig("EEG Cz", 8), Sig(kind, 150), Sig("EMG", 4), Sig(kind, 60)]

    def some_tal(onset: float, timekeeping: bool = False) -> bytes:
        at = f"{onset:g}" if timekeeping else f"{onset + float(rng.integers(0, 20)) * 0.05:.10g}"
        duration = None if timekeeping else rng.choice([None, "0", "0.5", "30"])
        texts = list(rng.choice(words, int(rng.integers(0 if timekeeping else 1, 4))))
        return tal(at, *texts, duration=duration, timekeeping=timekeeping)

    # The first record starts at +0: where it does not, mne places the texts of its
    # time-keeping TAL elsewhere (see the test below).
    onset, records = 0.0, []
    for _ in range(int(rng.integers(3, 12))):
        first = some_tal(onset, timekeeping=True) + b"".join(
            some_tal(onset) for _ in range(int(rng.integers(0, 3))))
        second = b"".join(some_tal(onset) for _ in range(int(rng.integers(0, 2))))
        records.append([_samples(rng, 8), first, _samples(rng, 4), second])
        onset += float(rng.choice([1.0, 1.0, 2.5, 7.0]))  # gaps now and then (EDF+D)
    path = write_plus(tmp_path / ("r.bdf" if bdf else "r.edf"), signals, records,
                      variant="BDF+D" if bdf else "EDF+D", bdf=bdf)
    with open_recording(path) as rec:
        ours = tracemark_annotations(rec)
        assert rec.annotation_problems.count == 0
    assert ours == mne_annotations(path)
    assert len(ours) > 0


# -- mne's duplicates, the one place where mne is knowingly not followed, damage ----------------------
def test_duplicates_are_dropped_exactly_as_mne_drops_them(tmp_path):
    signals = [Sig("EEG Cz", 10), Sig("EDF Annotations", 80)]
    rng = np.random.default_rng(1)
    records = [[_samples(rng, 10), tal("0", timekeeping=True) + tal("1", "A", "A", "A")
                + tal("1", "A") + tal("1.0", "A", duration="0") + tal("2", "B")],
               [_samples(rng, 10), tal("1", "B", timekeeping=True) + tal("2", "B", "B") + tal("1", "B")]]
    path = write_plus(tmp_path / "dup.edf", signals, records, variant="EDF+C")
    ours = tracemark_annotations_of(path)
    assert ours == mne_annotations(path)
    # "1 A A A": two kept (plain key, then the TAL's key, overwritten by the third); "1 A"
    # in a later TAL: kept; an explicit duration 0 is another key; "2 B B" in a later TAL
    # than "2 B": one kept; "1 B" in the time-keeping TAL of record 1 (at 1 s) then again.
    labels = [label for _, _, label in ours]
    assert labels.count("A") == 4 and labels.count("B") == 4


def test_first_time_keeping_tal_annotation_sits_at_zero_where_mne_adds_the_subsecond_start(tmp_path):
    signals = [Sig("EEG Cz", 4), Sig("EDF Annotations", 40)]
    rng = np.random.default_rng(2)
    records = [[_samples(rng, 4), tal("0.25", "Recording start", timekeeping=True) + tal("0.75", "Later")],
               [_samples(rng, 4), tal("1.25", "Second record", timekeeping=True)]]
    path = write_plus(tmp_path / "sub.edf", signals, records, variant="EDF+C")
    ours = tracemark_annotations_of(path)
    assert ours == [(0.0, 0.0, "Recording start"), (0.5, 0.0, "Later"), (1.0, 0.0, "Second record")]
    theirs = mne_annotations(path)
    assert theirs[1:] == ours[1:]
    # mne 1.13 sets its offset only after reading the first TAL: update the docstring of
    # tracemark.io_backends.edf_annotations if this ever changes.
    assert theirs[0] == (0.25, 0.0, "Recording start")


def test_malformed_tals_are_counted_and_the_rest_is_read(tmp_path):
    signals = [Sig("EEG Cz", 8), Sig("EDF Annotations", 20)]
    rng = np.random.default_rng(3)
    width = 40
    records = [[_samples(rng, 8), tal("0", "Good", timekeeping=True)],
               [_samples(rng, 8), tal("1", timekeeping=True) + b"?1.5\x14bad onset\x14\x00"],
               # a TAL that runs past the record's end (no NUL): counted, not glued to the next
               [_samples(rng, 8), (tal("2", timekeeping=True) + b"+2.5\x14runs on" + b"x" * width)[:width]],
               [_samples(rng, 8), tal("3", "Also good", timekeeping=True)]]
    path = write_plus(tmp_path / "bad.edf", signals, records, variant="EDF+C")
    with open_recording(path) as rec:
        assert [e.label for e in rec.events()] == ["Good", "Also good"]
        assert rec.annotation_problems.count == 2
        assert "record 1" in rec.annotation_problems.first


# -- files of annotations only (sleep hypnograms) ---------------------------------------------------
STAGES = [("0", "30630", "Sleep stage W"), ("30630", "120", "Sleep stage 1"),
          ("30750", "390", "Sleep stage 2"), ("31140", "30", "Sleep stage 3"),
          ("31170", "60", "Sleep stage 4"), ("31230", "30", "Sleep stage R"),
          ("31260", "30", "Movement time"), ("31290", "30", "Sleep stage ?"),
          ("31320", "60", "Sleep stage 2")]


def _hypnogram_stages(record_s: float):
    """Stages, cut into epochs of ``record_s`` when the file has one record per epoch."""
    if not record_s:
        return [(float(o), float(d), t) for o, d, t in STAGES]
    epochs = []
    for onset, duration, text in STAGES:
        for k in range(int(float(duration) // record_s)):
            epochs.append((float(onset) + k * record_s, record_s, text))
    return epochs


def hypnogram(folder: Path, record_s: float, *, bdf=False, variant=None, gap_after=None) -> Path:
    """Sleep-EDF ``*-Hypnogram.edf`` style: one annotation signal, nothing else."""
    kind = "BDF Annotations" if bdf else "EDF Annotations"
    if not record_s:  # duration 0: one record holding every TAL
        body = tal("0", timekeeping=True) + b"".join(tal(o, t, duration=d) for o, d, t in STAGES)
        records = [[body]]
        spr = -(-len(body) // (3 if bdf else 2))
    else:  # one record per epoch, its stage in a TAL after the time-keeping one
        records, shift = [], 0.0
        for k, (onset, duration, text) in enumerate(_hypnogram_stages(record_s)):
            if gap_after is not None and k == gap_after:
                shift = 600.0  # the recorder paused: EDF+D
            records.append([tal(f"{onset + shift:g}", timekeeping=True)
                            + tal(f"{onset + shift:g}", text, duration=f"{duration:g}")])
        spr = max(len(r[0]) for r in records) // (3 if bdf else 2) + 4
    variant = variant or ("BDF+C" if bdf else "EDF+C")
    name = f"SC4001EC-Hypnogram_{record_s:g}s_{variant}{'_gap' if gap_after else ''}"
    return write_plus(folder / (name + (".bdf" if bdf else ".edf")), [Sig(kind, spr)], records,
                      record_duration=f"{record_s:g}", variant=variant, bdf=bdf)


HYPNOGRAMS = [{"record_s": 0}, {"record_s": 0, "bdf": True}, {"record_s": 30},
              {"record_s": 30, "variant": "EDF+D", "gap_after": 100}]


@pytest.fixture(params=HYPNOGRAMS, ids=["duration0", "duration0-bdf", "30s-records", "30s-EDF+D-gap"])
def hypno(request, tmp_path):
    return request.param, hypnogram(tmp_path, **request.param)


def test_a_file_of_annotations_only_opens_as_events_only(hypno):
    options, path = hypno
    theirs = mne_annotations(path)
    with open_recording(path) as rec:
        assert rec.header.streams == ()
        assert rec.header.duration_s == 0.0
        assert "annotations only" in dict(rec.header.details)["Signals"]
        ours = tracemark_annotations(rec)
        assert rec.annotation_problems.count == 0
        with pytest.raises(KeyError, match="events only"):
            rec.read(0, 30)
    expected = _hypnogram_stages(options["record_s"])
    if options.get("gap_after"):
        expected = [(o + (600.0 if k >= options["gap_after"] else 0.0), d, t)
                    for k, (o, d, t) in enumerate(expected)]
    assert len(ours) == len(expected) == len(theirs)
    assert_same_annotations(ours, sorted(expected))
    assert_same_annotations(ours, theirs)


def test_a_hypnogram_with_no_records_opens_with_no_events(tmp_path):
    path = write_plus(tmp_path / "empty-Hypnogram.edf", [Sig("EDF Annotations", 30)], [],
                      record_duration="0", variant="EDF+C")
    with open_recording(path) as rec:
        assert rec.header.streams == () and rec.events() == ()
    assert main(["info", str(path)]) == 0


def test_a_file_with_no_signal_at_all_is_still_refused(tmp_path):
    path = write_plus(tmp_path / "nothing.edf", [], [], variant="EDF+C")
    with pytest.raises(CorruptRecordingError, match="at least one") as raised:
        open_recording(path)
    assert "nothing.edf" in str(raised.value)


def test_info_lists_a_hypnogram_like_an_events_only_nwb(tmp_path, capsys):
    path = hypnogram(tmp_path, 30)
    n_epochs = len(_hypnogram_stages(30))
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Streams   0" in text and "no signal stream, events only" in text
    assert f"Events    {n_epochs}" in text and f"annotation: {n_epochs}" in text
    assert "'Sleep stage W' x1021" in text
    assert f"span: 0.000 s to {31380:.3f} s" in text
    assert main(["info", "--json", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["streams"] == [] and summary["duration_s"] == 0.0
    assert summary["events"]["count"] == n_epochs
    assert summary["events"]["by_label"]["Sleep stage 2"] == (390 + 60) // 30
    assert summary["events"]["span_s"] == [0.0, 31380.0]


# -- the shared recordings ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", shared_params("edf", ".edf", ".bdf"))
def test_shared_files_have_mne_s_annotations(path):
    with open_recording(path) as rec:
        plus = "+" in rec.header.format_name
        ours = tracemark_annotations(rec)
        assert rec.annotation_problems.count == 0
    if not plus:
        assert ours == []  # plain EDF/BDF has no annotation signal
        return
    assert_same_annotations(ours, mne_annotations(path))
