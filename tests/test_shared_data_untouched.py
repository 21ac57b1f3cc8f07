"""Nothing lost, nothing touched: the whole GUI workflow over every recording in
``../shared/data`` leaves each of them byte for byte as it was.

For each recording a main window, driven as a person would (File › Open with the file
dialog answered, keys on the viewer and the editor), opens it, zooms out to the whole
recording while its overview summary is being built, pages through it with PageDown,
steps the montage and switches the DC removal filter, builds a trace cache from its
events through the build-cache dialog (into a temporary folder), reviews three traces by
keyboard, exports the table as CSV, and closes. Before and after, every file under
``../shared/data`` is checked against ``SHA256SUMS``, its size and modification time are
compared, and the folder's listing must not have grown: the summary caches go to the
user's cache folder (a temporary one here), which is checked to have received them.

Parts of the workflow a recording cannot take (no events to build from, nothing
continuous to show) are skipped with the reason printed; the checks run regardless.
"""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import pytest
from conftest import SHARED_DATA, shared_params
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFileDialog, QMessageBox

from tracemark.app.main_window import MainWindow
from tracemark.io_backends.cache import CacheFile
from tracemark.storage.summaries import summary_cache_dir

RECORDINGS = (shared_params("trc", ".trc") + shared_params("edf", ".edf", ".bdf")
              + shared_params("nwb", ".nwb"))
WAIT_MS = 20000
PAGE_DOWNS = 3
#: Events the cache is built from at most: the event source with the fewest events is chosen.
REVIEWED = 3


# -- the files ----------------------------------------------------------------------------------
def _snapshot() -> dict[str, tuple[str, int, int]]:
    """Every file under ../shared/data: relative path -> (sha256, size, mtime in ns)."""
    found = {}
    for path in sorted(SHARED_DATA.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[path.relative_to(SHARED_DATA).as_posix()] = (digest, stat.st_size, stat.st_mtime_ns)
    return found


def _listed_sums() -> dict[str, str]:
    sums = SHARED_DATA / "SHA256SUMS"
    if not sums.is_file():
        return {}
    listed = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            listed[name.strip().lstrip("*")] = digest
    return listed


def _check_untouched(before: dict, recording: Path) -> None:
    after = _snapshot()
    assert sorted(after) == sorted(before), (
        f"files appeared in or vanished from ../shared/data: {sorted(set(after) ^ set(before))}")
    changed = [name for name in before if after[name] != before[name]]
    assert not changed, f"changed in ../shared/data (content, size or mtime): {changed}"
    for name, digest in _listed_sums().items():
        assert after[name][0] == digest, f"{name} no longer matches SHA256SUMS"
    relative = recording.relative_to(SHARED_DATA).as_posix()
    assert relative in _listed_sums() or not _listed_sums(), f"{relative} is not in SHA256SUMS"


# -- driving the window ----------------------------------------------------------------------------
def _window(qtbot) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1100, 700)
    window.show()
    qtbot.waitExposed(window)
    _activate(qtbot, window)
    return window


def _activate(qtbot, window) -> None:
    # The offscreen platform does not hand activation back after a dialog as a desktop does.
    if not window.isActiveWindow():
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)


def _boxes(window) -> list[QMessageBox]:
    return [b for b in window.findChildren(QMessageBox) if b.isVisible()]


def _wait_drawn(qtbot, viewer) -> None:
    def drawn() -> bool:
        latest = viewer.pager.latest_request if viewer.pager is not None else None
        return (not viewer._request_timer.isActive() and latest is not None
                and viewer.last_result is not None
                and viewer.last_result.request.request_id == latest.request_id)

    qtbot.waitUntil(drawn, timeout=WAIT_MS)


def _viewer_key(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    _activate(qtbot, window)
    window.viewer.plot.setFocus()
    qtbot.keyClick(window.viewer.plot, key, modifier)
    _wait_drawn(qtbot, window.viewer)


def _editor_key(qtbot, window, key) -> None:
    _activate(qtbot, window)
    window.editor.plot.plot_widget.setFocus()
    qtbot.keyClick(window.editor.plot.plot_widget, key)


def _events_only(window) -> bool:
    source = window.viewer.source
    return source is not None and not source.channel_names


def _view_events(qtbot, window) -> None:
    """A file of events only: its events are listed, drawn, and the keys walk through them."""
    viewer = window.viewer
    qtbot.waitUntil(viewer.page_is_current, timeout=WAIT_MS)
    assert viewer.events_panel.model.rowCount() == len(window.recording.events()) > 0
    assert viewer.plot.visible_markers()
    start = viewer.model.window.start_s
    _activate(qtbot, window)
    viewer.plot.setFocus()
    qtbot.keyClick(viewer.plot, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: viewer.model.window.start_s != start, timeout=WAIT_MS)


def _view(qtbot, window) -> None:
    """Whole recording while the summary builds, then pages, montage and filter by keyboard."""
    viewer = window.viewer
    model = viewer.model.window
    _viewer_key(qtbot, window, Qt.Key.Key_W)
    assert model.start_s == 0 and model.span_s == pytest.approx(model.duration_s)
    qtbot.waitUntil(lambda: viewer.overview.has_summary or viewer.overview.message.isVisible(),
                    timeout=WAIT_MS)
    assert viewer.overview.has_summary, viewer.overview.message.text()
    _wait_drawn(qtbot, viewer)
    request = viewer.last_result.request
    assert request.i_start == 0 and request.i_stop >= viewer.source.n_samples
    _viewer_key(qtbot, window, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    for _ in range(3):                      # back to a 10-second-or-so page
        _viewer_key(qtbot, window, Qt.Key.Key_BracketLeft)
    starts = [model.start_s]
    for _ in range(PAGE_DOWNS):
        _viewer_key(qtbot, window, Qt.Key.Key_PageDown)
        starts.append(model.start_s)
        assert viewer.last_result.request.i_start <= round(model.start_s * viewer.source.sampling_rate)
    assert starts == sorted(starts)
    if model.span_s < model.duration_s:
        assert starts[-1] > starts[0]
    montages = viewer.commands.montage_choices()
    _viewer_key(qtbot, window, Qt.Key.Key_M)
    if len(montages) > 1:
        assert viewer.model.display.montage is not None
        assert viewer.status.text("montage") == viewer.model.display.montage.name
        qtbot.waitUntil(lambda: viewer.overview.has_summary, timeout=WAIT_MS)   # its own summary
    assert viewer.model.display.display_filter.remove_dc      # on by default
    _viewer_key(qtbot, window, Qt.Key.Key_D)
    assert viewer.model.display.display_filter is not None
    assert not viewer.model.display.display_filter.remove_dc


def _build(qtbot, window, out: Path) -> int:
    """Build a cache through the dialog from the event source with the fewest events."""
    window.window_actions["build_cache"].trigger()
    dialog = window.last_dialog
    assert dialog.objectName() == "buildCacheDialog"
    counts = {dialog.source.itemData(i): int(dialog.source.itemText(i).rsplit("(", 1)[1].split()[0])
              for i in range(1, dialog.source.count())}
    fewest = min(counts, key=counts.get)
    dialog.source.setCurrentIndex(dialog.source.findData(fewest))
    dialog.pre.setValue(20.0)
    dialog.post.setValue(60.0)
    dialog.output.setText(str(out))
    assert dialog.build_button.isEnabled(), dialog.summary.text()
    qtbot.mouseClick(dialog.build_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (window.session is not None and window.session.path == out
                             and len(window.session.rows) == len(window.session))
                    or not dialog.progress.isVisible() and "color: #b00020" in dialog.message.styleSheet(),
                    timeout=WAIT_MS)
    assert window.session is not None and window.session.path == out, dialog.message.text()
    assert window.recording is not None and "differs" not in window.source_status.text()
    return len(window.session)


def _review_and_export(qtbot, window, monkeypatch, csv_path: Path) -> list[int]:
    reviewed = []
    for key in (Qt.Key.Key_A, Qt.Key.Key_R, Qt.Key.Key_A)[:min(REVIEWED, len(window.session))]:
        index = window.editor.current_index
        _editor_key(qtbot, window, key)
        assert window.session.attrs(index)["reviewed"] is True
        reviewed.append(index)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(csv_path), "")))
    window.window_actions["export_csv"].trigger()
    qtbot.waitUntil(lambda: "Exported" in window.status_label.text(), timeout=WAIT_MS)
    return reviewed


# -- the test -------------------------------------------------------------------------------------
@pytest.mark.parametrize("recording", RECORDINGS)
def test_full_workflow_leaves_the_recording_untouched(qtbot, monkeypatch, tmp_path, recording):
    before = _snapshot()
    for name, digest in _listed_sums().items():   # the data are as published before we start
        assert before[name][0] == digest, f"{name} differs from SHA256SUMS before the test"
    summaries_before = set(summary_cache_dir().glob("*.npz")) if summary_cache_dir().is_dir() else set()
    skipped = []
    window = _window(qtbot)
    try:
        monkeypatch.setattr(QFileDialog, "getOpenFileName",
                            staticmethod(lambda *args, **kwargs: (str(recording), "")))
        window.window_actions["open_recording"].trigger()
        qtbot.waitUntil(lambda: bool(_boxes(window)) or window.viewer.last_result is not None
                        or _events_only(window), timeout=WAIT_MS)
        if _boxes(window):
            box = _boxes(window)[0]
            assert box.windowTitle() == f"Nothing to show in {recording.name}", box.text()
            box.accept()
            skipped.append(f"viewing, building, reviewing: {box.text().splitlines()[-1]}")
        elif _events_only(window):
            _view_events(qtbot, window)
            skipped.append("paging signals, building, reviewing: the file holds events only")
        else:
            _view(qtbot, window)
            # Written just after the summary is shown.
            qtbot.waitUntil(lambda: bool(set(summary_cache_dir().glob("*.npz")) - summaries_before),
                            timeout=WAIT_MS)
            if not window.recording.events():
                skipped.append("building, reviewing, exporting: the recording has no events")
            else:
                out = tmp_path / "built" / f"{recording.stem}-traces.hdf5"
                out.parent.mkdir()
                n_traces = _build(qtbot, window, out)
                reviewed = _review_and_export(qtbot, window, monkeypatch, tmp_path / "table.csv")
                assert not _boxes(window), [b.text() for b in _boxes(window)]
        window.close()
        assert not window.isVisible()
        if not skipped:
            with CacheFile(out, mode="r") as cache:
                assert len(cache) == n_traces
                assert all(cache.get_trace_attrs(i)["reviewed"] is True for i in reviewed)
                assert cache.origin_attrs(cache.origins[0])["source_file"] == str(recording.absolute())
            with open(tmp_path / "table.csv", newline="") as handle:
                assert len(list(csv.DictReader(handle))) == n_traces
            assert sorted(p.name for p in out.parent.iterdir() if p.suffix == ".hdf5") == [out.name]
    finally:
        window.close()
        _check_untouched(before, recording)
    for reason in skipped:
        print(f"{recording.name}: skipped {reason}")
    assert os.access(recording, os.R_OK)
