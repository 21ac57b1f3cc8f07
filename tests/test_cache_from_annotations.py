"""Traces from marks: a person's own annotations of a label are events a cache build cuts
around, beside the recording's own (library, ``tracemark cache build --from-annotations``
and the build dialog), each at its exact sample, and the cache says which traces they made."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from testkit.cache import synthetic_recording
from tracemark.app.cli import main
from tracemark.domain import annotations as marks
from tracemark.domain.annotations import AnnotationState
from tracemark.domain.trace_attributes import USER_ANNOTATION_TRACES
from tracemark.io_backends.cache import (
    USER_ANNOTATIONS,
    BuildSpec,
    CacheFile,
    CacheValueError,
    build_cache,
    events_from_annotations,
)
from tracemark.io_backends.protocol import BaseRecording, Event, RecordingHeader, StreamHeader

RATE = 1024


def marked(*annotations: tuple[float, float, str]) -> AnnotationState:
    """A label set and the given (onset_s, duration_s, label) marks, made as the viewer makes
    them: through the domain's edit functions."""
    state = AnnotationState.with_default_labels()
    for onset, duration, label in annotations:
        _, changes = marks.add(state, onset, duration, label)
        state = marks.apply(state, changes)
    return state


def traces(path: Path) -> tuple[list[dict], dict]:
    with CacheFile(path, mode="r") as cache:
        return ([cache.get_trace_attrs(i) for i in range(len(cache))],
                cache.origin_attrs(cache.origins[0]))


# -- library ------------------------------------------------------------------------------------
def test_marks_become_traces_at_their_sample_among_the_file_events(tmp_path):
    recording = synthetic_recording(4, rate=1000.0)        # TMS at 0.1, 0.3, 0.5, 0.7 s
    state = marked((0.4004, 0.0, "Missed pulse"), (0.6, 0.05, "Missed pulse"),  # a span
                   (0.2, 0.0, "Spike"))                    # another label: not asked for
    user = events_from_annotations(state, ["Missed pulse"])
    assert [(e.time_s, e.source) for e in user] == [(0.4004, USER_ANNOTATIONS), (0.6, USER_ANNOTATIONS)]
    out = build_cache(recording, tmp_path / "b.hdf5", BuildSpec("TMS", 0.01, 0.02), user_events=user)
    rows, origin = traces(out)
    assert [(r["event_name"], r["event_sample"]) for r in rows] == [
        ("TMS", 100), ("TMS", 300), ("Missed pulse", 400), ("TMS", 500), ("Missed pulse", 600),
        ("TMS", 700)]
    assert origin[USER_ANNOTATION_TRACES] == ["2", "4"]
    assert rows[2]["event_time"] == 0.4004 and rows[2]["time_since_last_pulse_in_s"] == pytest.approx(0.1004)
    with CacheFile(out, mode="r") as cache:
        # The synthetic signal is its own sample number: row `pre` of each trace is the event.
        assert [cache.get_trace_data(i)[10, 0] for i in range(6)] == [100, 300, 400, 500, 600, 700]


def test_marks_alone_and_a_stream_that_starts_late(tmp_path):
    """With no file event asked for, only marks are cut. Onsets count from the first sample
    of the stream cut (the viewer's axis), so a mark lands on the sample it was made on even
    when the stream starts after the recording does."""
    n = 2000
    data = np.arange(n, dtype=np.float32)[:, None]
    stream = StreamHeader("0", "late", 1000.0, n, ("EMG",), ("uV",), np.ones(1), np.zeros(1),
                          start_offset_s=0.5)

    class LateStream(BaseRecording):
        def __init__(self) -> None:
            super().__init__(RecordingHeader(Path("late.trc"), "memory", None, (stream,)),
                             [Event(0.9, 0.0, "TMS", "trigger")])

        def _read_raw_block(self, stream_index, i_start, i_stop, channels):
            return data[i_start:i_stop][:, channels]

    user = events_from_annotations(marked((0.25, 0.0, "Event")), ["Event"])
    out = build_cache(LateStream(), tmp_path / "late.hdf5", BuildSpec((), 0.01, 0.01), user_events=user)
    rows, origin = traces(out)
    assert [(r["event_name"], r["event_sample"], r["event_time"]) for r in rows] == [("Event", 250, 0.75)]
    assert origin[USER_ANNOTATION_TRACES] == ["0"]
    with CacheFile(out, mode="r") as cache:
        assert cache.get_trace_data(0)[10, 0] == 250


def test_a_cache_without_marks_has_no_user_annotation_attribute(tmp_path):
    out = build_cache(synthetic_recording(2), tmp_path / "plain.hdf5", BuildSpec("TMS", 0.01, 0.01))
    assert USER_ANNOTATION_TRACES not in traces(out)[1]


def test_labels_select_marks_exactly_or_by_pattern_and_unknown_labels_are_refused(tmp_path):
    state = marked((1.0, 0.0, "Missed pulse"), (2.0, 0.0, "Missed pulse 2"), (0.5, 0.0, "Spike"))
    assert [e.time_s for e in events_from_annotations(state, ["Missed pulse"])] == [1.0]
    assert [e.time_s for e in events_from_annotations(state, ["Missed*", "Spike"])] == [0.5, 1.0, 2.0]
    where = tmp_path / "marks.tmannot"
    with pytest.raises(CacheValueError, match=r"marks.tmannot: no annotation is labelled 'Seizure'; "
                                              r"the labels in use are: Missed pulse \(1\), "
                                              r"Missed pulse 2 \(1\), Spike \(1\)"):
        events_from_annotations(state, ["Spike", "Seizure"], where)
    # A label of the label set that no mark carries yields no trace: refused as well.
    with pytest.raises(CacheValueError, match="'Sleep'"):
        events_from_annotations(state, ["Sleep"])
    with pytest.raises(CacheValueError, match="no annotation label given"):
        events_from_annotations(state, [" "])


def test_marks_must_be_given_per_recording(tmp_path):
    recordings = [synthetic_recording(2, name="a.trc"), synthetic_recording(2, name="b.trc")]
    one = [Event(0.15, 0.0, "Event", USER_ANNOTATIONS)]
    with pytest.raises(CacheValueError, match="for 2 recordings"):
        build_cache(recordings, tmp_path / "x.hdf5", BuildSpec("TMS", 0.01, 0.01), user_events=one)
    out = build_cache(recordings, tmp_path / "x.hdf5", BuildSpec("TMS", 0.01, 0.01),
                      user_events=[[], one])
    with CacheFile(out, mode="r") as cache:
        assert len(cache) == 5
        assert USER_ANNOTATION_TRACES not in cache.origin_attrs("a.trc")
        assert cache.origin_attrs("b.trc")[USER_ANNOTATION_TRACES] == ["1"]
    with pytest.raises(CacheValueError, match="nothing to cut around"):
        build_cache(recordings[0], tmp_path / "y.hdf5", BuildSpec((), 0.01, 0.01))
    assert not (tmp_path / "y.hdf5").exists()


# -- command line ---------------------------------------------------------------------------------
@pytest.fixture
def trc_recording(tmp_path) -> tuple[Path, str]:
    """A small TRC recording with triggers at 1 s and 2 s, and the label of those triggers."""
    trc_writer = pytest.importorskip("tracemark.demo.trc_writer")
    data = np.random.default_rng(3).normal(0, 20, (RATE * 4, 2))
    source = trc_writer.write_trc_array(tmp_path / "rec.trc", data, channel_names=["EMG", "EEG"],
                                        sampling_rate=RATE, triggers=[(RATE, 1), (2 * RATE, 1)])
    from tracemark.io_backends import open_recording

    with open_recording(source) as recording:
        return source, recording.events()[0].label


def write_marks(recording: Path, path: Path | None, *annotations: tuple[float, float, str]) -> None:
    """Marks written to an annotation file through the store, as the viewer writes them."""
    from tracemark.io_backends.annotation_store import open_annotations

    with open_annotations(recording, path, mode="r+") as store:
        for onset, duration, label in annotations:
            _, changes = marks.add(store.state, onset, duration, label)
            store.commit(changes)


def test_cache_build_from_annotations_on_the_command_line(tmp_path, capsys, trc_recording):
    source, label = trc_recording
    annotation_file = tmp_path / "rec.tmannot"
    # 1.5004 s is where a pixel of the viewer falls, not on a sample: it is cut at the
    # nearest one, 1536.41 -> 1536.
    write_marks(source, annotation_file, (1.5004, 0.0, "Missed pulse"), (3.0, 0.4, "Missed pulse"),
                (0.5, 0.0, "Spike"))
    out = tmp_path / "out.hdf5"
    assert main(["cache", "build", str(source), "--events", label, "--from-annotations",
                 "Missed pulse", "--annotations", str(annotation_file), "--pre", "10ms",
                 "--post", "20ms", "-o", str(out), "--no-progress"]) == 0
    assert "4 traces from 1 recordings" in capsys.readouterr().out
    rows, origin = traces(out)
    assert [(r["event_name"], r["event_sample"]) for r in rows] == [
        (label, RATE), ("Missed pulse", 1536), (label, 2 * RATE), ("Missed pulse", 3 * RATE)]
    assert origin[USER_ANNOTATION_TRACES] == ["1", "3"]
    from tracemark.io_backends import open_recording

    with CacheFile(out, mode="r") as cache, open_recording(source) as recording:
        pre = cache.origin_attrs(cache.origins[0])["samples_pre_event"]
        rows_of_trace = cache.get_trace_data(1).shape[0]
        expected = recording.read_samples(1536 - pre, 1536 - pre + rows_of_trace, [0, 1])
        assert np.array_equal(cache.get_trace_data(1), expected)


def test_cache_build_reads_the_recordings_own_annotation_file_by_default(tmp_path, capsys,
                                                                          trc_recording):
    source, _ = trc_recording
    write_marks(source, None, (0.25, 0.0, "Event"), (0.75, 0.0, "Event"))
    out = tmp_path / "marks.hdf5"
    assert main(["cache", "build", str(source), "--from-annotations", "Event", "--pre", "0.01",
                 "--post", "0.01", "-o", str(out), "--no-progress"]) == 0
    rows, _ = traces(out)       # no --events: the marks alone
    assert [r["event_sample"] for r in rows] == [256, 768]


@pytest.mark.parametrize("extra, message", [
    (["--from-annotations", "Missed pule"], "no annotation is labelled 'Missed pule'; the labels "
                                            "in use are: Missed pulse (1)"),
    ([], "say what to cut around"),
    (["--events", "X", "--annotations", "{file}"], "give their labels with --from-annotations"),
])
def test_cache_build_refuses_unknown_labels_and_missing_choices_in_one_line(tmp_path, capsys, trc_recording,
                                                                            extra, message):
    source, _ = trc_recording
    annotation_file = tmp_path / "rec.tmannot"
    write_marks(source, annotation_file, (1.5, 0.0, "Missed pulse"))
    out = tmp_path / "out.hdf5"
    argv = ["cache", "build", str(source), "--annotations", str(annotation_file), "--pre", "10ms",
            "--post", "10ms", "-o", str(out), "--no-progress"]
    argv += [arg.format(file=annotation_file) for arg in extra]
    assert main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_cache_build_refuses_a_missing_annotation_file(tmp_path, capsys, trc_recording):
    source, label = trc_recording
    missing = tmp_path / "nowhere.tmannot"
    assert main(["cache", "build", str(source), "--events", label, "--from-annotations", "Event",
                 "--annotations", str(missing), "--pre", "10ms", "--post", "10ms",
                 "-o", str(tmp_path / "o.hdf5"), "--no-progress"]) != 0
    assert f"{missing}: does not exist" in capsys.readouterr().err
    assert not missing.exists()        # read, never created


# -- the build dialog -------------------------------------------------------------------------------
def test_the_build_dialog_lists_the_marks_labels_and_cuts_around_them(qtbot, tmp_path, trc_recording):
    from tracemark.app.build_cache_dialog import NONE, BuildCacheDialog
    from tracemark.io_backends import open_recording

    source, label = trc_recording
    state = marked((1.5004, 0.0, "Missed pulse"), (3.0, 0.4, "Missed pulse"), (0.5, 0.0, "Spike"))
    recording = open_recording(source)
    dialog = BuildCacheDialog(recording, annotations=state)
    qtbot.addWidget(dialog)
    rows = [dialog.marks.item(i).text() for i in range(dialog.marks.count())]
    assert rows == ["Spike (1 mark)", "Missed pulse (2 marks)"]   # in the label set's order
    assert dialog.summary.text() == "2 events selected"             # the file's triggers
    dialog.marks.item(1).setCheckState(Qt.CheckState.Checked)
    assert dialog.marked_labels() == ["Missed pulse"]
    assert dialog.summary.text() == "4 events selected (2 from the file, 2 of your marks)"
    dialog.label.setCurrentText(NONE)
    assert dialog.summary.text() == "2 events selected (0 from the file, 2 of your marks)"
    out = tmp_path / "dialog.hdf5"
    dialog.output.setText(str(out))
    with qtbot.waitSignal(dialog.built, timeout=20000):
        qtbot.mouseClick(dialog.build_button, Qt.MouseButton.LeftButton)
    built, origin = traces(out)
    assert [(r["event_name"], r["event_sample"]) for r in built] == [
        ("Missed pulse", 1536), ("Missed pulse", 3 * RATE)]
    assert origin[USER_ANNOTATION_TRACES] == ["0", "1"]
    recording.close()


def test_the_build_dialog_without_marks_says_so(qtbot, trc_recording):
    from tracemark.app.build_cache_dialog import BuildCacheDialog
    from tracemark.io_backends import open_recording

    source, _ = trc_recording
    with open_recording(source) as recording:
        dialog = BuildCacheDialog(recording)
        qtbot.addWidget(dialog)
        assert not dialog.marks.isEnabled() and dialog.marked_labels() == []
        assert dialog.marks.item(0).text() == "No marks on this recording"
        assert dialog.build_button.isEnabled()
