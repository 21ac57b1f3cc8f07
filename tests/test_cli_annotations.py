"""``tracemark annotations list | add | remove | bad | export | import`` as a script uses it:
exit 0 once the change is in the annotation file, one line on stderr and exit 1 for bad
input, with the file left as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tracemark.app.cli import main
from tracemark.demo.trc_writer import write_trc_array
from tracemark.io_backends.annotation_store import default_annotation_path, open_annotations

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def recording(tmp_path) -> Path:
    data = np.zeros((256 * 10, 3), dtype=np.float32)  # 10 s
    return write_trc_array(tmp_path / "rec.trc", data, channel_names=["Fp1", "Fp2", "Cz"],
                           sampling_rate=256)


@pytest.fixture
def annot(tmp_path) -> Path:
    return tmp_path / "marks.tmannot"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["annotations", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*argv, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tracemark", "annotations", *map(str, argv)],
                          capture_output=True, text=True, timeout=120, cwd=str(REPO), env=env)


def test_add_list_remove_and_bad_channels(recording, annot, capsys):
    code, out, _ = run(capsys, "add", recording, "1.5", "Event", "--annotations", annot)
    assert code == 0
    point = out.strip()
    assert len(out.splitlines()) == 1 and point.isalnum()  # the id alone, for scripts
    code, out, _ = run(capsys, "add", recording, "2", "3.5", "Seizure onset", "--channels", "Cz",
                       "Fp1", "--note", "by hand", "--annotations", annot)
    assert code == 0
    span = out.strip()
    assert run(capsys, "bad", recording, "Fp2", "--reason", "flat", "--annotations", annot)[:2] == (
        0, "Fp2: bad (flat)\n")

    with open_annotations(recording, annot, mode="r") as store:  # durable once the command ends
        state = store.state
        assert state.annotations[point].onset_s == 1.5 and state.annotations[point].duration_s == 0
        assert (state.annotations[span].duration_s, state.annotations[span].channels) == (3.5, ("Cz", "Fp1"))
        assert state.bad_channels == {"Fp2": "flat"}
        assert store.history()[1].note == "by hand"

    code, out, _ = run(capsys, "list", recording, "--annotations", annot)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "ONSET_S", "DURATION_S", "LABEL", "CHANNELS"]
    assert lines[1].split() == [point, "1.5", "0", "Event", "all"]
    assert lines[2].split() == [span, "2", "3.5", "Seizure", "onset", "Cz,Fp1"]
    assert lines[3] == "bad channel Fp2: flat"

    code, out, _ = run(capsys, "list", recording, "--json", "--annotations", annot)
    listed = json.loads(out)
    assert [(a["id"], a["onset_s"], a["duration_s"], a["label"], a["channels"])
            for a in listed["annotations"]] == [(point, 1.5, 0.0, "Event", []),
                                                (span, 2.0, 3.5, "Seizure onset", ["Cz", "Fp1"])]
    assert listed["bad_channels"] == {"Fp2": "flat"} and listed["annotation_file"] == str(annot)

    assert run(capsys, "remove", recording, point, "--annotations", annot)[0] == 0
    assert run(capsys, "bad", recording, "Fp2", "--good", "--annotations", annot)[:2] == (0, "Fp2: good\n")
    with open_annotations(recording, annot, mode="r") as store:
        assert set(store.state.annotations) == {span} and store.state.bad_channels == {}


def test_default_annotation_file_is_the_recordings_own(recording, capsys):
    code, out, _ = run(capsys, "add", recording, "4", "Spike")
    assert code == 0
    assert default_annotation_path(recording).is_file()
    listed = json.loads(run(capsys, "list", recording, "--json")[1])
    assert [a["id"] for a in listed["annotations"]] == [out.strip()]
    assert listed["annotation_file"] == str(default_annotation_path(recording))


@pytest.mark.parametrize("argv, message", [
    (["add", "{rec}", "abc", "Event"], "{rec}: onset 'abc' is not a number of seconds"),
    (["add", "{rec}", "11", "Event"], "{rec}: onset 11 s is outside the recording (0-10 s)"),
    (["add", "{rec}", "-1", "Event"], "{rec}: onset -1 s is outside the recording"),
    (["add", "{rec}", "9", "2", "Event"], "{rec}: a span 9-11 s is outside the recording"),
    (["add", "{rec}", "1", "-2", "Event"], "{rec}: duration '-2' is negative"),
    (["add", "{rec}", "1", "2", "3", "Event"], "expected ONSET [DURATION] LABEL"),
    (["add", "{rec}", "1", "Event", "--channels", "Oz"], "{rec}: has no channel 'Oz'"),
    (["add", "{rec}", "1", "Ev\tent"], "control character"),
    (["add", "{dir}/missing.trc", "1", "Event"], "{dir}/missing.trc: no such file"),
    (["bad", "{rec}", "Oz"], "{rec}: has no channel 'Oz'"),
    (["remove", "{rec}", "nosuchid"], "{annot}: has no annotation with id 'nosuchid'"),
])
def test_bad_input_gets_one_line_and_exit_1_and_changes_nothing(recording, annot, capsys,
                                                                  argv, message):
    existing = main(["annotations", "add", str(recording), "5", "Event", "--annotations", str(annot)])
    assert existing == 0
    capsys.readouterr()
    before = annot.read_bytes()
    names = {"rec": recording, "dir": recording.parent, "annot": annot}
    code, out, err = run(capsys, *[a.format(**names) for a in argv], "--annotations", annot)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("tracemark: error: ")
    assert message.format(**names) in err
    assert annot.read_bytes() == before


def test_refused_input_creates_no_annotation_file(recording, annot, capsys):
    for argv in (["add", recording, "1", "Ev\nent"], ["add", recording, "99", "Event"],
                 ["bad", recording, "Oz"]):
        code, _, err = run(capsys, *argv, "--annotations", annot)
        assert code == 1 and len(err.strip().splitlines()) == 1
    assert not annot.exists()


def test_a_file_held_by_another_process_is_refused_naming_the_holder(recording, annot):
    with open_annotations(recording, annot) as holder:
        result = run_process("add", recording, "1", "Event", "--annotations", annot)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert f"{annot}: is open for writing by" in result.stderr
        assert f"pid {os.getpid()}" in result.stderr
        # reading works while the window holds the file
        listing = run_process("list", recording, "--json", "--annotations", annot)
        assert listing.returncode == 0 and json.loads(listing.stdout)["annotations"] == []
        assert holder.state.annotations == {}


@pytest.mark.parametrize("content", [b"not an annotation file\n", b"onset,label\n1,x\n"])
def test_a_file_that_is_not_an_annotation_file_is_refused(recording, annot, capsys, content):
    annot.write_bytes(content)
    for argv in (["list", recording], ["add", recording, "1", "Event"]):
        code, _, err = run(capsys, *argv, "--annotations", annot)
        assert code == 1 and len(err.strip().splitlines()) == 1
        assert f"{annot}: is not a Tracemark annotation file" in err
    assert annot.read_bytes() == content


@pytest.mark.parametrize("fmt, suffix", [("csv", ".csv"), ("mne", ".txt"), ("bids", "_events.tsv"),
                                         ("edf", ".edf")])
def test_export_then_import_into_a_new_file_gives_the_same_marks(recording, annot, tmp_path,
                                                                 capsys, fmt, suffix):
    for argv in (["1.25", "Event"], ["2", "0.5", "Spike", "--channels", "Cz"]):
        assert run(capsys, "add", recording, *argv, "--annotations", annot)[0] == 0
    exported = tmp_path / f"out{suffix}"
    code, out, _ = run(capsys, "export", recording, "-o", exported, "--annotations", annot)
    assert code == 0 and f"written {exported}" in out and exported.is_file()

    fresh = tmp_path / "fresh.tmannot"
    code, out, _ = run(capsys, "import", recording, exported, "--format", fmt, "--annotations", fresh)
    assert code == 0 and "imported 2 marks" in out
    code, out, _ = run(capsys, "import", recording, exported, "--annotations", fresh)
    assert code == 0 and "imported 0 marks" in out and "2 already present" in out

    def marks(path):
        with open_annotations(recording, path, mode="r") as store:
            return sorted((a.onset_s, a.duration_s, a.label) for a in store.state.annotations.values())
    assert marks(fresh) == marks(annot) == [(1.25, 0.0, "Event"), (2.0, 0.5, "Spike")]


def test_bids_carries_the_bad_channels(recording, annot, tmp_path, capsys):
    assert run(capsys, "bad", recording, "Cz", "--reason", "popping", "--annotations", annot)[0] == 0
    exported = tmp_path / "sub-01_events.tsv"
    assert run(capsys, "export", recording, "-o", exported, "--annotations", annot)[0] == 0
    fresh = tmp_path / "fresh.tmannot"
    code, out, _ = run(capsys, "import", recording, exported, "--annotations", fresh)
    assert code == 0 and "1 bad channel" in out
    with open_annotations(recording, fresh, mode="r") as store:
        assert store.state.bad_channels == {"Cz": "popping"}


def test_import_and_export_refuse_bad_files_with_one_line(recording, annot, tmp_path, capsys):
    outside = tmp_path / "late.csv"
    outside.write_text("onset_s,duration_s,label,channels\n42,0,Event,\n")
    cases = [
        (["import", recording, outside], f"{outside}: onset 42 s is outside the recording"),
        (["import", recording, tmp_path / "none.csv"], f"{tmp_path / 'none.csv'}: no such file"),
        (["export", recording, "-o", tmp_path / "no" / "x.csv"], "does not exist"),
        (["export", recording, "-o", tmp_path / "x.unknown"], "x.unknown"),
    ]
    for argv, message in cases:
        code, out, err = run(capsys, *argv, "--annotations", annot)
        assert code == 1, argv
        assert len(err.strip().splitlines()) == 1 and message in err, err
    with open_annotations(recording, annot, mode="r") as store:
        assert store.state.annotations == {}


def test_exit_codes_and_messages_in_a_real_process(recording, annot):
    added = run_process("add", recording, "3", "Event", "--annotations", annot)
    assert added.returncode == 0 and added.stderr == ""
    refused = run_process("add", recording, "30", "Event", "--annotations", annot)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == f"tracemark: error: {recording}: onset 30 s is outside the " \
                                     f"recording (0-10 s)"
    with open_annotations(recording, annot, mode="r") as store:
        assert [a.id for a in store.state.annotations.values()] == [added.stdout.strip()]


def test_history_lists_who_when_and_each_old_and_new_value(recording, annot, capsys):
    code, out, _ = run(capsys, "add", recording, "1.5", "Event", "--annotations", annot)
    point = out.strip()
    run(capsys, "remove", recording, point, "--annotations", annot)
    run(capsys, "bad", recording, "Cz", "--reason", "flat", "--annotations", annot)
    code, out, _ = run(capsys, "list", recording, "--history", "--annotations", annot)
    assert code == 0
    heads = [line for line in out.splitlines() if line.startswith("#")]
    assert [h.split()[0] for h in heads] == ["#1", "#2", "#3"]
    assert all("@" in h and " edit " in h for h in heads)
    changes = [line.strip() for line in out.splitlines() if line.startswith("    ")]
    assert changes[0].startswith(f"annotation {point}: None -> {{") and '"onset_s":1.5' in changes[0]
    assert changes[1].startswith(f"annotation {point}: {{") and changes[1].endswith("-> None")
    assert changes[2] == 'channel Cz: None -> {"reason":"flat"}'
