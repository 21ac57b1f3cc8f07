"""File › Open URL in the window: it streams from a local server, never freezes, and tells failures.

The server runs on 127.0.0.1 in this process (``tests/remote_server.py``).
"""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QPushButton
from remote_server import RangeServer
from test_remote_http import write_recordings

from tracemark.app.main_window import MainWindow


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    return write_recordings(tmp_path_factory.mktemp("served"))


@pytest.fixture
def window(qtbot):
    shown = MainWindow()
    qtbot.addWidget(shown)
    shown.show()
    yield shown
    shown.opener.close_all()


def test_open_url_streams_the_recording_into_the_viewer(window, recordings, qtbot):
    with RangeServer(recordings) as server:
        url = server.url("x.nwb")
        assert window.open_path(url)
        qtbot.waitUntil(lambda: window.recording is not None, timeout=30_000)
        assert str(window.recording.path) == url
        qtbot.waitUntil(lambda: window.viewer.last_result is not None
                        and window.viewer.last_result.origin != "pending", timeout=30_000)
        assert window.viewer.source is not None


def test_a_failing_url_gives_a_dialog_naming_it(window, recordings, qtbot):
    with RangeServer(recordings) as server:
        url = server.url("missing.edf")
        window.opener.open_url(url)
        qtbot.waitUntil(lambda: getattr(window, "last_error_box", None) is not None, timeout=30_000)
        box = window.last_error_box
        assert url in box.text() and "404" in box.text()
        assert window.recording is None
        box.accept()


def test_cancel_while_the_server_is_silent_keeps_the_window_free(window, recordings, qtbot):
    with RangeServer(recordings) as server:
        server.faults.stall = True
        window.opener.open_url(server.url("x.TRC"))
        opening = window.opener.url_opening
        qtbot.waitUntil(opening.dialog.isVisible, timeout=5_000)
        assert "Connecting to" in opening.dialog.labelText()
        cancel = opening.dialog.findChild(QPushButton)
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)   # the person presses Cancel
        assert not opening.dialog.isVisible() and opening.cancelled
        assert window.recording is None
        server.faults.stall = False
        assert opening.task.wait(30)           # the worker ends within the reader's timeouts
        qtbot.wait(50)
        assert window.recording is None        # what arrives after Cancel is never shown


def test_a_cache_built_from_a_url_streams_its_recording_when_opened(window, recordings, qtbot, tmp_path):
    from tracemark.io_backends.cache.build import BuildSpec, build_cache

    with RangeServer(recordings) as server:
        url = server.url("x.TRC")
        cache = build_cache([url], tmp_path / "traces.h5", BuildSpec(events=None, pre_s=0.1, post_s=0.2))
        assert window.open_path(cache)
        qtbot.waitUntil(lambda: window.session is not None and window.recording is not None,
                        timeout=30_000)
        assert str(window.recording.path) == url
        assert any(window.link.links(origin) for origin in window.session.origins.values())
