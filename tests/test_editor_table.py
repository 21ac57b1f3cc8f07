"""The trace table: filters and sorting checked against the rows filtered and sorted here,
the search syntax, one-row updates (never a reset), and the table and the trace on screen
following each other both ways."""

from __future__ import annotations

import numpy as np
import pytest
from editor_support import make_app, press  # noqa: F401 (make_app is a fixture)
from PyQt6.QtCore import QItemSelectionModel, Qt

from tracemark.widgets.editor import ACCEPTED, REJECTED, UNREVIEWED, TraceRow
from tracemark.widgets.editor.trace_table import TraceTable, parse_query


def _rows(n: int = 40, seed: int = 5) -> list[TraceRow]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        state = rng.integers(3)
        rows.append(TraceRow(index=i, origin=f"rec{i % 3}.TRC", event_time_s=2.0 * i + 0.5,
                             reviewed=bool(state), reject=state == 2,
                             onset_shift=int(rng.integers(-3, 4)),
                             comment=["", "noisy baseline", "late", "Noisy again"][i % 4],
                             peak_to_peak=None if i % 5 == 0 else float(rng.uniform(10, 900)),
                             examiner=["", "ab", "cd"][i % 3]))
    return rows


@pytest.fixture
def table(qtbot):
    widget = TraceTable()
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    qtbot.waitExposed(widget)
    rows = _rows()
    widget.set_rows(rows)
    return widget, rows


def _search(qtbot, widget, text):
    widget.search_edit.setText(text)
    qtbot.waitUntil(lambda: widget.proxy._query_text == text.strip())


@pytest.mark.parametrize("state", [UNREVIEWED, ACCEPTED, REJECTED])
def test_state_filters_show_exactly_those_traces(table, state):
    widget, rows = table
    widget.filter_combo.setCurrentIndex(widget.filter_combo.findData(state))
    assert widget.visible_indexes() == [r.index for r in rows if r.state == state]
    assert widget.count_label.text() == f"{sum(r.state == state for r in rows)} of {len(rows)}"
    widget.filter_combo.setCurrentIndex(widget.filter_combo.findData("all"))
    assert widget.visible_indexes() == [r.index for r in rows]


def test_offspect_rejections_without_reviewed_count_as_rejected():
    # Rows are built from decoded attributes (the cache's schema turns "True", "true", "1"
    # into True); tests/test_review_counts.py pushes stored spellings through the cache.
    row = TraceRow.from_attrs(3, {"reject": True, "onset_shift": "2", "event_time": 1.5}, "a.cnt")
    assert row.state == REJECTED and row.onset_shift == 2 and row.event_time_s == 1.5
    assert TraceRow.from_attrs(4, {"reject": False}).state == UNREVIEWED
    assert TraceRow.from_attrs(5, {"reviewed": True, "reject": False}).state == ACCEPTED
    # Text the schema could not decode is left raw; it never marks a trace decided.
    assert TraceRow.from_attrs(7, {"reviewed": "maybe", "reject": "perhaps"}).state == UNREVIEWED
    both = TraceRow.from_attrs(6, {"neg_peak_magnitude_uv": -20.0, "pos_peak_magnitude_uv": 30.5})
    assert both.peak_to_peak == 50.5


@pytest.mark.parametrize("query, expected", [
    ("comment:noisy", lambda r: "noisy" in r.comment.lower()),
    ("noisy", lambda r: "noisy" in r.comment.lower()),
    ("p2p>500", lambda r: r.peak_to_peak is not None and r.peak_to_peak > 500),
    ("shift!=0", lambda r: r.onset_shift != 0),
    ("shift<=-2 examiner:ab", lambda r: r.onset_shift <= -2 and "ab" in r.examiner),
    ("state:rej", lambda r: r.state == REJECTED),
    ("origin:rec1", lambda r: r.origin == "rec1.TRC"),
    ("#=7", lambda r: r.index == 6),           # the column shows trace numbers, from 1
    ("trace<3", lambda r: r.index < 2),
    ("time>=40", lambda r: r.event_time_s >= 40),
])
def test_search_by_attribute(qtbot, table, query, expected):
    widget, rows = table
    _search(qtbot, widget, query)
    want = [r.index for r in rows if expected(r)]
    assert want, "the fixture must hold matching rows for this query to mean anything"
    assert widget.visible_indexes() == want
    assert [r.index for r in rows if parse_query(query)(r)] == want


def test_search_waits_for_typing_to_pause(qtbot, table):
    widget, rows = table
    qtbot.keyClicks(widget.search_edit, "late")
    assert widget.proxy.rowCount() == len(rows)                 # not per keystroke
    qtbot.waitUntil(lambda: widget.proxy.rowCount() == sum("late" in r.comment for r in rows))


@pytest.mark.parametrize("column, key, reverse", [
    (5, lambda r: r.peak_to_peak, True), (5, lambda r: r.peak_to_peak, False),
    (7, lambda r: r.comment.lower(), False), (4, lambda r: r.onset_shift, True),
])
def test_header_click_sorts_with_unknowns_last(qtbot, table, column, key, reverse):
    widget, rows = table
    order = Qt.SortOrder.DescendingOrder if reverse else Qt.SortOrder.AscendingOrder
    widget.view.sortByColumn(column, order)
    known = [r for r in rows if key(r) is not None]           # rows are in index order
    expected = [r.index for r in sorted(known, key=key, reverse=reverse)]  # stable: ties by index
    expected += [r.index for r in rows if key(r) is None]
    assert widget.visible_indexes() == expected


def test_sort_and_filter_together_and_clicking_a_header(qtbot, table):
    widget, rows = table
    widget.set_state_filter(ACCEPTED)
    header = widget.view.horizontalHeader()
    x = header.sectionViewportPosition(2) + header.sectionSize(2) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=header.rect().center().__class__(x, 5))
    shown = widget.visible_indexes()
    accepted = [r for r in rows if r.state == ACCEPTED]
    times = [r.event_time_s for r in sorted(accepted, key=lambda r: r.index)]
    assert sorted(shown) == [r.index for r in accepted]
    shown_times = [rows[i].event_time_s for i in shown]
    assert shown_times in (sorted(times), sorted(times, reverse=True))


def test_update_row_changes_one_row_without_a_reset(qtbot, table):
    widget, rows = table
    widget.view.sortByColumn(5, Qt.SortOrder.DescendingOrder)
    changed, resets = [], []
    widget.model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row(), b.column())))
    widget.model.modelReset.connect(lambda: resets.append(1))
    target = rows[11]
    new = TraceRow(**{**target.__dict__, "reviewed": True, "reject": True, "comment": "bad"})
    before = dict(widget.model.counts)
    widget.update_row(new)
    position = widget.model.position(11)
    assert changed == [(position, position, 7)] and resets == []
    assert widget.model.index(position, 7).data() == "bad"
    assert widget.model.index(position, 3).data() == REJECTED
    after = widget.model.counts
    assert after[REJECTED] == before[REJECTED] + (target.state != REJECTED)
    assert sum(after.values()) == len(rows)
    with pytest.raises(KeyError, match="not in the table"):
        widget.update_row(TraceRow(999, "x", None, False, False, 0))


def test_ten_thousand_rows_sort_filter_and_update(qtbot):
    widget = TraceTable()
    qtbot.addWidget(widget)
    rows = _rows(10_000, seed=9)
    widget.set_rows(rows)
    widget.view.sortByColumn(5, Qt.SortOrder.AscendingOrder)
    shown = widget.visible_indexes()
    ptp = [rows[i].peak_to_peak for i in shown]
    known = [v for v in ptp if v is not None]
    assert known == sorted(known) and all(v is None for v in ptp[len(known):])
    widget.set_state_filter(UNREVIEWED)
    assert widget.proxy.rowCount() == sum(r.state == UNREVIEWED for r in rows)
    first = widget.visible_indexes()[0]
    widget.update_row(TraceRow(**{**rows[first].__dict__, "reviewed": True, "reject": False}))
    assert first not in widget.visible_indexes()


def test_table_and_editor_follow_each_other(qtbot, make_app):
    app = make_app(n=10)
    editor, table = app.editor, app.editor.table
    view = table.view
    # A click on a row asks for that trace; the app shows it; the row stays selected.
    rect = view.visualRect(table.proxy.index(4, 1))
    with qtbot.waitSignal(editor.trace_requested) as signal:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == [4] and editor.current_index == 4
    assert view.selectionModel().currentIndex().row() == 4
    # Keyboard in the table: Down asks for the next row.
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert app.shown[-1] == 5 and editor.current_index == 5
    # The app showing another trace moves the table's selection (without a request).
    requests = []
    editor.trace_requested.connect(requests.append)
    app.show(8)
    assert view.selectionModel().currentIndex().data(Qt.ItemDataRole.UserRole) == 8
    assert requests == []


def test_accepting_under_unreviewed_filter_removes_the_row_quietly(qtbot, make_app):
    app = make_app(n=8)
    editor = app.editor
    editor.table.set_state_filter(UNREVIEWED)
    requests = []
    editor.trace_requested.connect(requests.append)
    press(qtbot, app, Qt.Key.Key_A)
    assert app.edits == [(0, {"reviewed": True, "reject": False})]
    assert 0 not in editor.table.visible_indexes()
    assert editor.current_index == 1 and requests == []
    assert editor.table.view.selectionModel().currentIndex().data(Qt.ItemDataRole.UserRole) == 1


def test_a_refused_row_change_goes_back_to_the_trace_on_screen(qtbot, make_app):
    app = make_app(n=6)
    editor = app.editor
    editor.trace_requested.disconnect()                     # an app that shows nothing
    selection = editor.table.view.selectionModel()
    selection.setCurrentIndex(editor.table.proxy.index(3, 0),
                              QItemSelectionModel.SelectionFlag.ClearAndSelect
                              | QItemSelectionModel.SelectionFlag.Rows)
    assert selection.currentIndex().data(Qt.ItemDataRole.UserRole) == 0
