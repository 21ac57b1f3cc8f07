"""The workspace model: one change signal per field, emitted once per real change, and the
link between the traces and the recording told as the status bar shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracemark.app.workspace import SourceLink, SourceState, Workspace


class FakeSession:
    """As much of an annotation session as the workspace asks: its traces' origins."""

    def __init__(self, sources: list[str], n_traces: int = 3):
        self.origins = {f"origin{i}": source for i, source in enumerate(sources)}
        self.n_traces = n_traces

    def __len__(self) -> int:
        return self.n_traces

    def cut_from(self, recording: Path) -> bool:
        return any(Path(source).name == Path(recording).name for source in self.origins.values())


@pytest.fixture
def workspace(qtbot):
    return Workspace()


def test_a_recording_opened_and_closed_is_told_with_its_stream(qtbot, workspace):
    recording = object()
    with qtbot.waitSignal(workspace.recording_changed) as opened:
        workspace.set_recording(recording, 2)
    assert opened.args == [recording]
    assert workspace.recording is recording and workspace.stream == 2
    with qtbot.waitSignal(workspace.recording_changed) as closed:
        workspace.set_recording(None)
    assert closed.args == [None]
    assert workspace.recording is None and workspace.stream is None


def test_setting_the_same_recording_again_says_nothing(qtbot, workspace):
    recording = object()
    workspace.set_recording(recording, 0)
    with qtbot.assertNotEmitted(workspace.recording_changed):
        workspace.set_recording(recording, 0)


def test_showing_a_stream_again_is_told_each_time(qtbot, workspace):
    """Reset view shows the same stream afresh: the signal must come even without change."""
    workspace.set_recording(object(), 1)
    for _ in range(2):
        with qtbot.waitSignal(workspace.stream_changed) as shown:
            workspace.set_stream(1)
        assert shown.args == [1]
    with qtbot.assertNotEmitted(workspace.recording_changed):
        workspace.set_stream(0)
    assert workspace.stream == 0


def test_no_stream_is_shown_without_a_recording(qtbot, workspace):
    with qtbot.assertNotEmitted(workspace.stream_changed):
        workspace.set_stream(0)
    assert workspace.stream is None


def test_a_new_session_forgets_what_was_known_of_the_old_source(qtbot, workspace, tmp_path):
    workspace.set_session(FakeSession(["a.trc"]))
    checked = SourceLink(SourceState.MATCHES, tmp_path / "a.trc")
    with qtbot.waitSignal(workspace.source_link_changed) as told:
        workspace.set_source_link(checked)
    assert told.args == [checked]
    with qtbot.waitSignals([workspace.session_changed, workspace.source_link_changed],
                           order="strict") as changed:
        workspace.set_session(None)
    assert list(changed.all_signals_and_args[0].args) == [None]
    assert workspace.session is None
    assert workspace.source_link == SourceLink()


def test_an_unchanged_source_link_says_nothing(qtbot, workspace, tmp_path):
    link = SourceLink(SourceState.CHECKING, tmp_path / "a.trc")
    workspace.set_source_link(link)
    with qtbot.assertNotEmitted(workspace.source_link_changed):
        workspace.set_source_link(SourceLink(SourceState.CHECKING, tmp_path / "a.trc"))


def test_traces_not_from_a_recording_follow_the_sessions_rule(workspace, tmp_path):
    ours, other = tmp_path / "a.trc", tmp_path / "b.trc"
    ours.write_bytes(b"x")
    other.write_bytes(b"x")
    assert not workspace.traces_not_from(other)         # no traces open: nothing to protect
    workspace.set_session(FakeSession([str(ours)]))
    assert not workspace.traces_not_from(ours)
    assert workspace.traces_not_from(other)
    assert not workspace.traces_not_from(tmp_path / "missing.trc")   # the reader says why
    workspace.set_session(FakeSession([str(ours)], n_traces=0))
    assert not workspace.traces_not_from(other)         # an empty cache holds no traces


@pytest.mark.parametrize(("link", "text", "warning"), [
    (SourceLink(), "", False),
    (SourceLink(SourceState.CHECKING, Path("/d/a.trc")), "Source: a.trc (checking…)", False),
    (SourceLink(SourceState.MATCHES, Path("/d/a.trc")), "Source: a.trc (checksum matches)", False),
    (SourceLink(SourceState.DIFFERS, Path("/d/a.trc")), "Source: a.trc differs from the cache's", True),
    (SourceLink(SourceState.NOT_SOURCE, Path("/d/a.trc")), "a.trc is not the traces' source", True),
    (SourceLink(SourceState.NOT_FOUND, None, "/gone/a.trc"), "Source recording not found: /gone/a.trc",
     True),
    (SourceLink(SourceState.NOT_FOUND, Path("/d/b.trc"), "/gone/a.trc"),
     "Source recording not found: /gone/a.trc; b.trc is not their source", True),
    (SourceLink(SourceState.NOT_FOUND), "Source recording not found: no source recording named", True),
])
def test_the_source_link_is_told_as_the_status_bar_shows_it(link, text, warning):
    assert link.describe() == text
    assert link.warning is warning
