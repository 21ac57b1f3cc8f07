"""Rating a cache as one of several raters in the app: rater mode writes only the rater's
journal, two raters rate side by side, blind review hides the others until finished or
revealed, and the adjudication view lists only the disagreements and records a consensus.
Caches are built here (testkit), never taken from ../shared."""

from __future__ import annotations

import argparse

import h5py
import pytest
from PyQt6.QtCore import Qt

from testkit.cache import make_cache
from tracemark.app.annotation_session import AnnotationSession
from tracemark.app.main_window import MainWindow
from tracemark.app.rater_session import RaterMode, has_raters, open_for_review
from tracemark.domain import trace_attributes as keys
from tracemark.io_backends.cache import CacheFile, CacheValueError
from tracemark.io_backends.cache.raters import read_ratings
from tracemark.testing.driver import TracemarkDriver

ACCEPT = {keys.REVIEWED: True, keys.REJECT: False}
REJECT = {keys.REVIEWED: True, keys.REJECT: True}


def plain(path, index: int) -> dict[str, str]:
    """The plain attributes of trace ``index`` as stored in the HDF5 file (no journal)."""
    with h5py.File(path, "r") as f:
        origin = next(iter(f))
        return {k: str(v) for k, v in f[origin]["traces"][str(index)].attrs.items()}


def rated_session(path, rater: str) -> AnnotationSession:
    cache, mode = open_for_review(path, rater)
    return AnnotationSession(cache, rater=mode)


@pytest.fixture
def cache_path(tmp_path):
    return make_cache(tmp_path / "c.hdf5", n_traces=8)


def open_as(qtbot, path, rater: str | None):
    """A main window rating ``path`` as ``rater`` (None: as the cache says)."""
    window = MainWindow()
    qtbot.addWidget(window)
    window.opener.rater = rater
    window.show()
    driver = TracemarkDriver(window, qtbot)
    window.opener.open_paths([path])
    driver.wait_ready()
    return driver


# -- rater mode ---------------------------------------------------------------------------------
def test_rater_mode_writes_only_the_raters_journal(qtbot, cache_path):
    before = [plain(cache_path, i) for i in range(3)]
    driver = open_as(qtbot, cache_path, "alice")
    window, session = driver.window, driver.session
    assert session.rater is not None and session.rater.name == "alice"
    assert not session.cache.writable, "rating never takes the cache's writer lock"
    assert "rating as alice" in window.windowTitle()
    assert driver.editor.current_index == 0
    driver.key(Qt.Key.Key_R)                           # reject trace 1, move on
    assert driver.editor.current_index == 1
    driver.key(Qt.Key.Key_Right)                       # onset one sample later on trace 2
    assert session.attrs(0)[keys.REJECT] is True
    assert session.attrs(1)[keys.ONSET_SHIFT] == 1
    assert session.row(0).examiner == "alice"
    ratings = read_ratings(cache_path)
    assert ratings.value("alice", 0, keys.REJECT) is True
    assert ratings.value("alice", 1, keys.ONSET_SHIFT) == 1
    assert has_raters(cache_path)
    # The HDF5 file's plain values, and the cache's own journal, are untouched.
    assert [plain(cache_path, i) for i in range(3)] == before
    with CacheFile(cache_path, mode="r") as cache:
        assert cache.history() == []
        assert cache.get_trace_attrs(0)[keys.REVIEWED] is False
    # Undo is the rater's own.
    assert session.can_undo()
    window.undo()
    assert session.attrs(1).get(keys.ONSET_SHIFT, 0) == 0
    assert read_ratings(cache_path).value("alice", 1, keys.ONSET_SHIFT) in (None, 0)
    window.redo()
    assert read_ratings(cache_path).value("alice", 1, keys.ONSET_SHIFT) == 1


def test_a_key_that_is_not_a_raters_is_refused_and_nothing_is_written(cache_path):
    session = rated_session(cache_path, "alice")
    try:
        with pytest.raises(CacheValueError, match="examiner"):
            session.apply_edit(0, {keys.EXAMINER: "zz"})
        # Riding along with a decision, the examiner is left out (the rater is named).
        attrs = session.apply_edit(0, {**ACCEPT, keys.EXAMINER: "zz"})
        assert attrs[keys.EXAMINER] == "alice"
        assert read_ratings(cache_path).values("alice") == {0: {**ACCEPT}}
    finally:
        session.close()


def test_two_raters_in_one_process_both_write(cache_path):
    alice, bob = rated_session(cache_path, "alice"), rated_session(cache_path, "bob")
    try:
        assert alice.writable and bob.writable
        alice.apply_edit(2, REJECT)
        bob.apply_edit(2, ACCEPT)
        bob.apply_edit(3, {keys.ONSET_SHIFT: -2})
        assert alice.attrs(2)[keys.REJECT] is True and bob.attrs(2)[keys.REJECT] is False
        assert alice.attrs(3).get(keys.REVIEWED) is None, "bob's decision is not alice's"
        ratings = read_ratings(cache_path)
        assert ratings.value("alice", 2, keys.REJECT) is True
        assert ratings.value("bob", 2, keys.REJECT) is False
        assert ratings.value("bob", 3, keys.ONSET_SHIFT) == -2
        assert alice.undo() == [2] and bob.attrs(2)[keys.REJECT] is False
    finally:
        alice.close()
        bob.close()
    assert plain(cache_path, 2)["reject"] == "False", "two raters and no consensus: nothing published"


def test_a_second_instance_of_the_same_rater_is_read_only_and_follows(cache_path):
    first, second = rated_session(cache_path, "alice"), rated_session(cache_path, "alice")
    try:
        assert first.writable and not second.writable
        assert "alice" in second.read_only_reason
        assert not second.can_undo()
        second.rater.poll()                      # the first look, taken as the starting point
        first.apply_edit(4, REJECT)
        assert second.rater.poll() == [4]
        assert second.attrs(4)[keys.REJECT] is True
    finally:
        first.close()
        second.close()


def test_plain_caches_open_as_ever(qtbot, cache_path):
    driver = open_as(qtbot, cache_path, None)
    assert driver.session.rater is None and driver.session.cache.writable
    assert not driver.window.raters.actions["rate_as"].isChecked()
    assert not driver.window.raters.actions["reveal_raters"].isEnabled()
    driver.key(Qt.Key.Key_A)
    assert not has_raters(cache_path)
    assert driver.session.cache.get_trace_attrs(0)[keys.REVIEWED] is True


def test_a_rated_cache_opens_in_rater_mode_as_the_remembered_rater(qtbot, cache_path):
    bob = RaterMode(cache_path, "bob")
    bob.commit(0, ACCEPT)
    bob.close()
    driver = open_as(qtbot, cache_path, None)
    window = driver.window
    assert driver.session.rater is not None
    assert driver.session.rater.name == window.settings.rater()
    assert window.raters.actions["rate_as"].isChecked()


def test_rate_as_from_the_menu_reopens_the_cache_as_that_rater(qtbot, cache_path):
    driver = open_as(qtbot, cache_path, None)
    window = driver.window
    window.raters.actions["rate_as"].trigger()
    dialog = window.raters.last_dialog
    assert dialog is not None and dialog.textValue() == window.settings.rater()
    dialog.setTextValue("carol")
    dialog.accept()
    driver.wait_ready()
    qtbot.waitUntil(lambda: window.session is not None and window.session.rater is not None)
    driver.wait_ready()
    assert window.session.rater.name == "carol"
    assert window.settings.rater() == "carol"
    assert window.raters.actions["rate_as"].text() == "Rate as carol…"
    assert "[rating as carol]" in window.windowTitle()
    window.raters.actions["rate_as"].trigger()         # a rated cache stays in rater mode
    assert window.raters.actions["rate_as"].isChecked()
    assert window.session.rater.name == "carol"
    assert "rated by raters" in window.status_label.text()


def test_rater_option_and_preference(qtbot, cache_path):
    from tracemark.app.cli import gui_parser
    from tracemark.app.launch import open_windows
    from tracemark.app.preferences import PreferencesDialog
    from tracemark.app.settings import Settings, default_rater

    assert Settings().rater() == default_rater()
    args = gui_parser().parse_args([str(cache_path), "--rater", "dora"])
    assert args.rater == "dora"
    windows = open_windows(argparse.Namespace(files=args.files, demo=False, rater=args.rater))
    try:
        for window in windows:
            qtbot.addWidget(window)
        window = windows[0]
        qtbot.waitUntil(lambda: window.session is not None and len(window.session.rows) == len(window.session),
                        timeout=20000)
        assert window.session.rater.name == "dora"
        assert Settings().rater() == "dora"
        dialog = PreferencesDialog(window.settings, window)
        assert dialog.rater.text() == "dora"
        dialog.rater.setText("eve")
        dialog._accept()
        assert Settings().rater() == "eve"
    finally:
        for window in windows:
            window.close()


# -- blind review ------------------------------------------------------------------------------
def test_blind_until_revealed_or_finished(qtbot, cache_path):
    bob = RaterMode(cache_path, "bob")
    bob.commit(0, REJECT)
    bob.close()
    driver = open_as(qtbot, cache_path, "alice")
    window, session = driver.window, driver.session
    box = window.editor.form.other_raters
    assert session.trace_view(0).other_raters == {}
    window.controller.show(0)
    assert box.isHidden()
    window.raters.actions["reveal_raters"].trigger()          # checks it
    assert session.rater.revealed
    assert session.trace_view(0).other_raters == {"bob": {**REJECT}}
    assert not box.isHidden() and box.rows()["bob"][0] == "rejected"
    window.raters.actions["reveal_raters"].trigger()          # unchecks it
    assert session.trace_view(0).other_raters == {} and box.isHidden()
    window.raters.actions["finish_rating"].trigger()
    assert session.rater.finished and read_ratings(cache_path).finished("alice")
    assert not box.isHidden() and "bob" in box.rows()
    assert not window.raters.actions["finish_rating"].isEnabled()


def test_shown_raters_are_followed_as_they_rate(cache_path):
    alice, bob = rated_session(cache_path, "alice"), RaterMode(cache_path, "bob")
    try:
        alice.rater.poll()                          # blind: nothing of bob's is followed
        bob.commit(6, REJECT)
        assert alice.rater.poll() == []
        alice.rater.set_revealed(True)
        alice.rater.poll()                          # the starting point once shown
        changed = []
        alice.trace_changed.connect(lambda index, _attrs: changed.append(index))
        bob.commit(7, ACCEPT)
        alice._follow_writer()                      # what its two-second timer calls
        assert changed == [7]
        assert alice.trace_view(7).other_raters["bob"] == ACCEPT
    finally:
        alice.close()
        bob.close()


# -- adjudication -------------------------------------------------------------------------------
PEAKS_A = {keys.NEG_PEAK_MAGNITUDE: -40.0, keys.NEG_PEAK_LATENCY: 20.0,
           keys.POS_PEAK_MAGNITUDE: 55.0, keys.POS_PEAK_LATENCY: 30.0}
PEAKS_B = {**PEAKS_A, keys.POS_PEAK_MAGNITUDE: 60.0}


def rate_two(cache_path) -> None:
    """alice and bob agree on 0, differ on reject (1), onset (2) and peaks (3); only alice
    reviewed 4."""
    a, b = RaterMode(cache_path, "alice"), RaterMode(cache_path, "bob")
    for index, alice, bob in ((0, ACCEPT, ACCEPT), (1, ACCEPT, REJECT),
                              (2, {**ACCEPT, keys.ONSET_SHIFT: 2}, {**ACCEPT, keys.ONSET_SHIFT: 5}),
                              (3, {**ACCEPT, **PEAKS_A}, {**ACCEPT, **PEAKS_B})):
        a.commit(index, alice)
        b.commit(index, bob)
    a.commit(4, REJECT)
    a.close()
    b.close()


def test_adjudication_lists_disagreements_shows_markers_and_records_a_consensus(qtbot, cache_path):
    rate_two(cache_path)
    driver = open_as(qtbot, cache_path, "alice")
    window = driver.window
    adjudication = window.raters.adjudicate()
    view = adjudication.view
    assert view.listed == [1, 2, 3]
    assert view.current_index == 1
    assert view.table.rowCount() == 2
    assert [view.table.item(r, 0).text() for r in range(2)] == ["accepted", "rejected"]
    view.step(1)
    assert view.current_index == 2
    rate = window.session.origin_of(2).sampling_rate
    markers = view.markers()
    assert markers["alice"]["onset_ms"] == pytest.approx(2 * 1000.0 / rate)
    assert markers["bob"]["onset_ms"] == pytest.approx(5 * 1000.0 / rate)
    qtbot.keyClick(view.list, Qt.Key.Key_PageDown)            # the next disagreement, by key
    assert view.current_index == 3
    markers = view.markers()
    assert markers["alice"]["pos"] == pytest.approx((30.0, 55.0))
    assert markers["bob"]["pos"] == pytest.approx((30.0, 60.0))
    assert "pos_peak_magnitude_uv" in view.title.text()
    view.take("bob")
    assert view.peak_edits[keys.POS_PEAK_MAGNITUDE].text() == "60"
    task = adjudication.record(3, view.form_values())
    assert task is not None and task.wait(20)
    qtbot.waitUntil(lambda: read_ratings(cache_path).consensus(3) is not None, timeout=10000)
    stored = plain(cache_path, 3)
    assert stored[keys.CONSENSUS_BY] == "alice"
    assert "alice" in stored[keys.CONSENSUS_RATERS] and "bob" in stored[keys.CONSENSUS_RATERS]
    assert float(stored[keys.POS_PEAK_MAGNITUDE]) == 60.0
    qtbot.waitUntil(lambda: "settled by alice" in view.list.item(2).text(), timeout=10000)
    assert "consensus" in view.markers()
    # The rater's own view still shows their own value, not the consensus.
    assert window.session.attrs(3)[keys.POS_PEAK_MAGNITUDE] == 55.0


def test_a_refused_consensus_writes_nothing_and_is_told(qtbot, cache_path):
    rate_two(cache_path)
    driver = open_as(qtbot, cache_path, "alice")
    adjudication = driver.window.raters.adjudicate()
    view = adjudication.view
    view.peak_edits[keys.NEG_PEAK_MAGNITUDE].setText("lots")
    view.record()
    assert "not a number" in view.problem.text()
    assert read_ratings(cache_path).consensus(1) is None



def test_the_only_rater_is_published_when_the_window_closes(qtbot, cache_path):
    driver = open_as(qtbot, cache_path, "alice")
    driver.key(Qt.Key.Key_R)
    assert driver.session.needs_final_checkpoint
    assert plain(cache_path, 0)[keys.REJECT] == "False"
    driver.window.opener.close_cache()                    # on a worker, as a checkpoint is
    assert plain(cache_path, 0)[keys.REJECT] == "True", "offspect-style readers see the one rater"


def test_values_from_before_raters_are_the_legacy_raters(cache_path):
    with CacheFile(cache_path) as cache:
        cache.update(5, {**REJECT, keys.ONSET_SHIFT: 3})
        legacy = cache.history()[-1].user
    old, new = rated_session(cache_path, legacy), rated_session(cache_path, "zed")
    try:
        assert old.attrs(5)[keys.REJECT] is True and old.attrs(5)[keys.ONSET_SHIFT] == 3
        assert new.attrs(5).get(keys.REJECT) is None, "a new rater starts blind, unrated"
        assert new.row(5).state == "unreviewed"
        assert new.trace_view(5).other_raters == {}
        new.rater.set_revealed(True)
        assert new.trace_view(5).other_raters[legacy][keys.REJECT] is True
    finally:
        old.close()
        new.close()
    assert plain(cache_path, 5)[keys.REJECT] == "True"


def test_adjudication_keys_take_a_raters_values(qtbot, cache_path):
    from tracemark.widgets.editor.adjudication_view import AdjudicationCase, AdjudicationView, Disagreement

    rate_two(cache_path)
    session = rated_session(cache_path, "alice")
    try:
        view = AdjudicationView()
        qtbot.addWidget(view)
        view.show()
        view.set_disagreements([Disagreement(2, (keys.ONSET_SHIFT,))])
        choices = {"alice": {**ACCEPT, keys.ONSET_SHIFT: 2}, "bob": {**REJECT, keys.ONSET_SHIFT: 5}}
        view.show_case(AdjudicationCase(session.trace_view(2), choices, None, (keys.ONSET_SHIFT,)))
        assert view.onset.value() == 2 and view.decision.currentData() is False
        view.activateWindow()
        qtbot.waitUntil(view.isActiveWindow)    # shortcuts act in the active window only
        view.list.setFocus()
        qtbot.keyClick(view.list, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
        assert view.onset.value() == 5 and view.decision.currentData() is True
        with qtbot.waitSignal(view.consensus_recorded) as recorded:
            qtbot.keyClick(view.list, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert recorded.args[0] == 2
        assert recorded.args[1][keys.ONSET_SHIFT] == 5 and recorded.args[1][keys.REJECT] is True
        assert recorded.args[1][keys.POS_PEAK_MAGNITUDE] is None
        assert view.markers()["bob"]["decision"] == "rejected"
        # Page Down / Page Up step one disagreement, however long the list.
        view.set_disagreements([Disagreement(i, (keys.REJECT,)) for i in range(2, 8)])
        asked = []
        view.case_requested.connect(asked.append)
        qtbot.keyClick(view.list, Qt.Key.Key_PageDown)
        qtbot.keyClick(view.list, Qt.Key.Key_PageDown)
        qtbot.keyClick(view.list, Qt.Key.Key_PageUp)
        assert asked == [3, 4, 3]
    finally:
        session.close()


# -- the Agreement dock -------------------------------------------------------------------------
def _rate(path, rater: str, decisions: dict[int, dict]) -> None:
    from tracemark.io_backends.cache import RaterSession

    with RaterSession(path, rater) as session:
        for index, values in decisions.items():
            session.commit(index, values)
        session.finish()


def _agreement_shown(window):
    view = window.plots.agreement_view_built
    return view is not None and window.plots._agreement[0] is not None


def test_agreement_dock_reports_the_raters_kappa_once_this_rater_may_see_it(qtbot, cache_path):
    from tracemark.analysis.agreement import agreement_report

    _rate(cache_path, "bob", {0: REJECT, 1: ACCEPT, 2: REJECT, 3: ACCEPT})
    driver = open_as(qtbot, cache_path, "alice")
    window = driver.window
    for index, values in {0: REJECT, 1: ACCEPT, 2: ACCEPT, 3: ACCEPT}.items():
        window.session.rater.commit(index, values)
    window.plots.agreement_dock.show()
    # Blind: alice has not finished and has not revealed the others.
    qtbot.waitUntil(lambda: window.plots.agreement_view_built is not None, timeout=5000)
    report, problem = window.plots._agreement
    assert report is None and "blind" in problem
    window.raters.actions["finish_rating"].trigger()
    qtbot.waitUntil(lambda: _agreement_shown(window), timeout=10000)
    report = window.plots._agreement[0]
    expected = agreement_report(read_ratings(cache_path))
    assert report.to_dict() == expected.to_dict()
    pair = report.to_dict()
    assert "alice" in str(pair) and "bob" in str(pair)
