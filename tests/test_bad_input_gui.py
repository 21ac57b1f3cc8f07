"""Bad input in the window: a damaged file is refused with a dialog naming it, or opened
with what is wrong told, and the window goes on working.

``test_bad_input_readers.py`` and ``test_bad_input_cache.py`` run the whole damaged
corpus through the readers and the cache in worker processes. Here a sample of the same
corpus (:mod:`testkit.damage`, :mod:`testkit.damage_cache`), two cases of
every format and kind of damage plus the cases that once broke the window, is opened in
ONE main window in turn, through File › Open recording and File › Open trace cache as a
person would (the file dialog answered with the case). For each case:

* refused: a window-modal message box appears whose text names the file and says what is
  wrong, with no traceback; it is answered with OK, and what was open before stays open;
* opened: the recording is shown (or its status line says why a page cannot be read), the
  cache's traces are listed; a cache that opened despite damage (``CacheFile.problems``,
  a failed checkpoint, read-only because of damage) says so in a dialog naming it and, when
  read-only, in the editor's banner. Every dialog that appears names the file.

Between cases the window pages its recording by keyboard; at the end a valid recording
and a valid cache are opened, paged and annotated by keyboard. An exception escaping into
Qt fails the test (pytest-qt captures it), so "no crash" is checked throughout.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFileDialog, QMessageBox

from testkit.damage import damaged_variants, foreign_variants, write_sources
from testkit.damage_cache import cache_variants, write_cache_source
from tracemark.app.main_window import MainWindow

#: Cases per (format, kind of damage) taken from the corpus, spread over its order.
PER_KIND = 2
#: Case names (substrings) that once crashed, hung or misled the window: always included.
REGRESSIONS = {
    "recording": ("~fifo", "~folder.edf", "~rate=1e308", "~record_duration=1e-30"),
    "cache": ("~labels=one", "~trace.onset_shift=text-big-int",
              "~origin.samples_pre_event=text-big-int", "~pre=past-rows", "~flip0.6"),
}
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
WAIT_MS = 15000


def _spread(items: list, k: int) -> list:
    return [items[i * len(items) // k] for i in range(min(k, len(items)))]


def _sample(cases, group_of, regressions) -> list:
    groups: dict[str, list] = {}
    for case in sorted(cases, key=lambda c: c.path.name):
        groups.setdefault(group_of(case), []).append(case)
    chosen = [c for members in groups.values() for c in _spread(members, PER_KIND)]
    for mark in regressions:
        found = [c for c in cases if mark in c.path.name]
        assert found, f"the corpus no longer makes the case {mark!r}; update REGRESSIONS"
        chosen += [c for c in found[:1] if c not in chosen]
    return chosen


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(recording cases, cache cases, a valid recording, a valid cache) in a temporary folder."""
    root = tmp_path_factory.mktemp("bad-gui")
    sources = write_sources(root / "sources")
    recordings = []
    for source in sources:
        recordings += damaged_variants(source, root / "recordings", extent="light")
    recordings += foreign_variants(sources, root / "foreign")
    cache_source = write_cache_source(root / "cache-source")
    caches = cache_variants(cache_source, root / "caches")
    valid_cache = root / "valid" / "valid.hdf5"
    valid_cache.parent.mkdir()
    for item in cache_source.parent.iterdir():
        if item.name.startswith("source.hdf5") and not item.name.endswith(".lock"):
            shutil.copy2(item, valid_cache.with_name(item.name.replace("source", "valid")))
    return (_sample(recordings, lambda c: f"{c.fmt}/{c.kind}", REGRESSIONS["recording"]),
            _sample(caches, lambda c: c.kind, REGRESSIONS["cache"]),
            next(p for p in sources if p.name == "small_4ch_256Hz.TRC"), valid_cache)


# -- helpers ------------------------------------------------------------------------------------
def _window(qtbot) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def _visible_boxes(window) -> list[QMessageBox]:
    return [b for b in window.findChildren(QMessageBox) if b.isVisible()]


def _answer(qtbot, window, path: Path) -> list[tuple[str, str]]:
    """Check and answer every message box open over the window; their titles and texts."""
    seen = []
    for box in _visible_boxes(window):
        title, text = box.windowTitle(), box.text()
        where = f"{path.name}: dialog {title!r}: {text[:300]!r}"
        assert box.windowModality() == Qt.WindowModality.WindowModal, where
        assert path.name in text, f"the dialog does not name the file. {where}"
        problem = text.replace(str(path), "").replace(path.name, "").strip()
        assert len(problem) >= 10, f"the dialog does not say what is wrong. {where}"
        assert not TRACEBACK.search(text + box.detailedText()), f"a traceback is shown. {where}"
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
        assert not box.isVisible()
        seen.append((title, text))
    if seen:   # the offscreen platform does not hand activation back as a window manager would
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
    return seen


def _open_through_menu(window, monkeypatch, path: Path, action: str) -> None:
    """File › Open … with the file dialog answered by ``path``."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: (str(path), "")))
    window.window_actions[action].trigger()


def _page(qtbot, window) -> None:
    """PageDown in the viewer; the window answers (a page, or a read failure it states)."""
    viewer = window.viewer
    if viewer.source is None or viewer.pager is None:
        return
    window_model = viewer.model.window
    start = window_model.start_s
    viewer.plot.setFocus()
    qtbot.keyClick(viewer.plot, Qt.Key.Key_PageDown)
    if window_model.stop_s < window_model.duration_s - 1e-6 or window_model.start_s != start:
        assert window_model.start_s > start, f"PageDown did not move {viewer.source.name}"


def _wait_recording_shown(qtbot, window) -> str:
    """Until the first page is drawn or its read failed; the viewer's status text."""
    viewer = window.viewer
    status = viewer.status

    def settled() -> bool:
        return viewer.last_result is not None or status.text("decimation").startswith("Read failed")

    qtbot.waitUntil(settled, timeout=WAIT_MS)
    text = status.text("decimation")
    assert not TRACEBACK.search(text), text
    return text


# -- the corpus sample, one window ------------------------------------------------------------------
def test_damaged_recordings_in_one_window(qtbot, monkeypatch, corpus):
    cases, _, valid_recording, _ = corpus
    window = _window(qtbot)
    assert window.open_path(valid_recording)
    _wait_recording_shown(qtbot, window)
    outcomes = Counter()
    for case in cases:
        path = case.path
        before = window.recording
        _open_through_menu(window, monkeypatch, path, "open_recording")
        qtbot.waitUntil(lambda before=before: bool(_visible_boxes(window)) or window.recording is not before,
                        timeout=WAIT_MS)
        if _visible_boxes(window):
            dialogs = _answer(qtbot, window, path)
            assert any(t.startswith(("Cannot open", "Nothing to show")) for t, _ in dialogs), dialogs
            assert window.recording is before, f"{path.name}: refusing it closed what was open"
            outcomes[f"{case.fmt}/{case.kind}: refused"] += 1
        else:
            assert Path(window.recording.path) == path
            assert path.name in window.windowTitle()
            failed = _wait_recording_shown(qtbot, window).startswith("Read failed")
            outcomes[f"{case.fmt}/{case.kind}: opened" + (", read failure shown" if failed else "")] += 1
        _page(qtbot, window)
        assert not _visible_boxes(window)
    print("\n".join(f"{n:3d}  {what}" for what, n in sorted(outcomes.items())))
    assert sum(outcomes.values()) == len(cases) >= 30
    assert any("refused" in k for k in outcomes) and any("opened" in k for k in outcomes)
    # Still usable: a valid recording opens and pages by keyboard.
    _open_through_menu(window, monkeypatch, valid_recording, "open_recording")
    _wait_recording_shown(qtbot, window)
    viewer = window.viewer
    qtbot.keyClick(viewer.plot, Qt.Key.Key_BracketLeft)    # a shorter span: room to page
    assert viewer.model.window.span_s < viewer.model.window.duration_s
    _page(qtbot, window)
    assert viewer.model.window.start_s > 0
    qtbot.waitUntil(lambda: viewer.last_result is not None
                    and viewer.last_result.request.i_start > 0, timeout=WAIT_MS)
    window.close()


def _wait_cache_settled(qtbot, window, before) -> None:
    def settled() -> bool:
        boxes = _visible_boxes(window)
        if any(b.windowTitle().startswith(("Cannot open", "Cannot read")) for b in boxes):
            return True
        session = window.session
        return session is not None and session is not before and len(session.rows) == len(session)

    qtbot.waitUntil(settled, timeout=WAIT_MS)
    qtbot.wait(20)   # dialogs raised after the table arrives (unreadable traces)


def test_damaged_caches_in_one_window(qtbot, monkeypatch, corpus):
    _, cases, valid_recording, valid_cache = corpus
    window = _window(qtbot)
    outcomes = Counter()
    for case in cases:
        path = case.path
        assert window.open_path(valid_recording)
        before_recording, before = window.recording, window.session
        _open_through_menu(window, monkeypatch, path, "open_cache")
        _wait_cache_settled(qtbot, window, before)
        session = window.session
        opened = session is not None and session.path == path
        problems = list(session.cache.problems) if opened else []
        checkpoint = session.cache.last_checkpoint_error if opened else None
        read_only = opened and not session.writable
        banner = window.editor.banner
        banner_text = banner.label.text() if opened and banner.isVisible() else ""
        dialogs = _answer(qtbot, window, path)
        if not opened:
            assert any(t.startswith("Cannot open") for t, _ in dialogs), f"{path.name}: {dialogs}"
            assert window.recording is before_recording
            outcomes[f"{case.kind}: refused"] += 1
            continue
        assert window.editor.isVisible() and window.editor.current_index is not None
        if problems or checkpoint is not None:
            told = [text for title, text in dialogs if title == f"{path.name} opened with problems"]
            assert told, f"{path.name}: problems not told: {problems}"
            assert (problems or [checkpoint.problem])[0][:60] in told[0]
        if read_only:
            assert "Read-only" in banner_text, f"{path.name}: read-only not shown: {banner_text!r}"
        outcomes[f"{case.kind}: opened" + (" with problems told" if problems else "")
                 + (", read-only" if read_only else "")] += 1
        # Review goes on: the next trace shows (or is told unreadable) without a crash.
        window.editor.plot.plot_widget.setFocus()
        qtbot.keyClick(window.editor.plot.plot_widget, Qt.Key.Key_Right)
        _answer(qtbot, window, path)
        window.window_actions["close_all"].trigger()
        _answer(qtbot, window, path)   # e.g. "Edits kept in the journal", naming the file
        assert window.session is None
    print("\n".join(f"{n:3d}  {what}" for what, n in sorted(outcomes.items())))
    assert sum(outcomes.values()) == len(cases) >= 24
    assert any("problems told" in k for k in outcomes) and any("refused" in k for k in outcomes)
    # Still usable: a valid cache opens and a decision is saved by keyboard.
    _open_through_menu(window, monkeypatch, valid_cache, "open_cache")
    _wait_cache_settled(qtbot, window, None)
    assert not _visible_boxes(window) and window.session.writable
    index = window.editor.current_index
    window.editor.plot.plot_widget.setFocus()
    qtbot.keyClick(window.editor.plot.plot_widget, Qt.Key.Key_R)
    attrs = window.session.attrs(index)
    assert attrs["reject"] is True and attrs["reviewed"] is True
    window.close()


def test_a_trace_whose_attributes_cannot_be_read_is_listed_and_told(qtbot, monkeypatch, corpus):
    """One damaged trace's attributes neither hide the table nor crash the review."""
    from tracemark.io_backends.cache import CacheFile, CacheFormatError

    _, _, _, valid_cache = corpus
    real = CacheFile.get_trace_attrs

    def damaged(self, index):
        if index == 2:
            raise CacheFormatError(self.path, "the attributes of trace 2: the HDF5 file is "
                                              "damaged here")
        return real(self, index)

    monkeypatch.setattr(CacheFile, "get_trace_attrs", damaged)
    window = _window(qtbot)
    window.open_path(valid_cache)
    qtbot.waitUntil(lambda: any(b.windowTitle().startswith("Cannot read every trace")
                                for b in _visible_boxes(window)), timeout=WAIT_MS)
    assert len(window.session.rows) == len(window.session) == 16
    told = dict(_answer(qtbot, window, valid_cache))
    text = told[f"Cannot read every trace of {valid_cache.name}"]
    assert "1 of 16 traces" in text and "(trace 3)" in text      # index 2, numbered from 1
    assert window.plots is not None
    # Going to the damaged trace shows it blank and says why, once; the rest reviews.
    window.show_trace(2)
    told = dict(_answer(qtbot, window, valid_cache))
    assert "Cannot show trace 3" in told
    assert window.editor.current_index == 2
    assert "cannot be shown" in window.status_label.text()
    window.show_trace(3)
    window.editor.plot.plot_widget.setFocus()
    qtbot.keyClick(window.editor.plot.plot_widget, Qt.Key.Key_A)
    assert window.session.attrs(3)["reviewed"] is True
    window.show_trace(2)
    assert not _visible_boxes(window)      # told once per cache, then in the status line
    window.close()
