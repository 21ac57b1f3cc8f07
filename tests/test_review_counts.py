"""One vocabulary and one numbering everywhere a person reads them.

* Review counts: accepted = reviewed and not rejected, rejected, unreviewed. The same stored
  attribute values, odd spellings included, give the same counts in the editor's header,
  the table, the status line, the Average dock, the plot data and ``tracemark cache peek``
  and ``tracemark plot average`` (``tracemark.domain.review``).
* Trace numbers: the window numbers traces from 1 (header, plot title, table, plot tool
  tips and legends, status messages) while the API and the CLI keep 0-based indexes
  (``tracemark.domain.trace_numbers``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import h5py
import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QTextDocument

from testkit.cache import make_cache
from tracemark.app.cli import main
from tracemark.app.plot_data import load_trace_set
from tracemark.domain import review
from tracemark.domain.review import (
    ACCEPTED,
    ACCEPTED_ONLY,
    NOT_REJECTED,
    REJECTED,
    UNREVIEWED,
    ReviewCounts,
    describe_average,
    review_state,
)
from tracemark.domain.trace_numbers import describe_traces, trace_index, trace_label, trace_number
from tracemark.io_backends.cache import CacheFile

DOMAIN = Path(review.__file__).parent

#: Stored strings, as offspect and other tools write them, and the state each must give.
#: ``None`` = the attribute is absent (offspect files have no ``reviewed`` key).
STORED = [
    ("True", "False", ACCEPTED),
    ("true", "false", ACCEPTED),
    ("1", "0", ACCEPTED),
    ("yes", "no", ACCEPTED),
    ("True", "true", REJECTED),
    (None, "True", REJECTED),        # rejected by offspect, never reviewed
    ("False", "1", REJECTED),
    ("False", "False", UNREVIEWED),
    (None, "False", UNREVIEWED),     # never reviewed
    ("FALSE", "0", UNREVIEWED),
]
EXPECTED = ReviewCounts(accepted=4, rejected=3, unreviewed=3)


# -- the domain rules, Qt-free ------------------------------------------------------------------
def test_review_module_is_plain_python():
    for module in ("review.py", "trace_numbers.py", "trace_attributes.py"):
        tree = ast.parse((DOMAIN / module).read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        # Domain modules may build on each other, and on nothing else of Tracemark.
        imported = {m for m in imported if m and not m.startswith("tracemark.domain")}
        assert not {m for m in imported if m.split(".")[0] in ("tracemark", "PyQt6", "h5py",
                                                               "pyqtgraph", "numpy")}, module


def test_the_rule_on_decoded_values():
    assert review_state({"reviewed": True, "reject": False}) == ACCEPTED == "accepted"
    assert review_state({"reviewed": True, "reject": True}) == REJECTED
    assert review_state({"reject": True}) == REJECTED                      # offspect
    assert review_state({}) == UNREVIEWED
    assert review_state({"reviewed": np.True_, "reject": np.False_}) == ACCEPTED
    # Text is the cache schema's to decode; what it leaves raw never marks a decision.
    assert review_state({"reviewed": "maybe", "reject": "perhaps"}) == UNREVIEWED


def test_counts_are_told_one_way():
    counts = ReviewCounts.of_states([ACCEPTED, UNREVIEWED] + [UNREVIEWED] * 33)
    assert counts == ReviewCounts(1, 0, 34) and counts.total == 35 and counts.not_rejected == 35
    assert counts.describe() == "1 accepted · 0 rejected · 34 unreviewed"
    assert describe_average(counts) == "Average of 35 traces not rejected (1 accepted, 34 unreviewed)"
    assert describe_average(counts, ACCEPTED_ONLY) == \
        "Average of 1 accepted trace (34 unreviewed and 0 rejected left out)"
    assert ReviewCounts.of_mapping({"accepted": 2, "rejected": 1}).describe() == \
        "2 accepted · 1 rejected · 0 unreviewed"
    with pytest.raises(ValueError, match="not_rejected or accepted_only"):
        describe_average(counts, "everything")


def test_trace_numbers_start_at_one():
    assert trace_number(0) == 1 and trace_index(1) == 0 and trace_label(7) == "Trace 8"
    assert list(trace_number(np.arange(3))) == [1, 2, 3]
    assert describe_traces([2]) == "trace 3"
    assert describe_traces(range(10), limit=3) == "traces 1, 2, 3 and 7 more"
    with pytest.raises(ValueError, match="start at 1"):
        trace_index(0)


# -- the same stored values through every consumer ---------------------------------------------
@pytest.fixture
def odd_cache(tmp_path) -> Path:
    """Ten traces whose ``reviewed`` / ``reject`` are stored in the spellings of STORED."""
    path = make_cache(tmp_path / "odd.hdf5", n_traces=len(STORED))
    with h5py.File(path, "r+") as f:
        traces = f["rec0.trc"]["traces"]
        for index, (reviewed, reject, _state) in enumerate(STORED):
            attrs = traces[str(index)].attrs
            if reviewed is None:
                del attrs["reviewed"]
            else:
                attrs["reviewed"] = reviewed
            attrs["reject"] = reject
    return path


def _plain(rich_text: str) -> str:
    document = QTextDocument()
    document.setHtml(rich_text)
    return document.toPlainText()


def test_same_stored_values_same_counts_everywhere(tracemark_window, odd_cache, capsys):
    text = EXPECTED.describe()
    assert text == "4 accepted · 3 rejected · 3 unreviewed"
    with CacheFile(odd_cache, mode="r") as cache:                        # the Python API
        assert [review_state(cache.get_trace_attrs(i)) for i in range(len(cache))] == \
            [state for _, _, state in STORED]

    # The window: status line, editor header, table filter and rows.
    driver = tracemark_window(odd_cache)
    window, editor = driver.window, driver.editor
    driver.qtbot.waitUntil(lambda: window.status_label.text() == f"10 traces: {text}", timeout=5000)
    assert editor.review_counts() == EXPECTED
    assert _plain(editor.progress.counts_label.text()) == text
    assert editor.progress.bar.value() == 7 and editor.progress.bar.maximum() == 10
    table = editor.table
    combo = table.filter_combo
    combo.setFocus()
    shown = {}
    for _ in range(3):                           # All -> Unreviewed -> Accepted -> Rejected
        driver.qtbot.keyClick(combo, Qt.Key.Key_Down)
        shown[combo.currentData()] = (combo.currentText(), table.proxy.rowCount())
    assert shown == {UNREVIEWED: ("Unreviewed only (3)", 3), ACCEPTED: ("Accepted only (4)", 4),
                     REJECTED: ("Rejected only (3)", 3)}
    assert table.count_label.text() == "3 of 10"

    # The Average dock, shown from the View menu.
    window.plots.docks["average"].toggleViewAction().trigger()
    average = window.plots.views["average"]
    driver.qtbot.waitUntil(lambda: average.traces is not None, timeout=10000)
    assert average.status.text() == describe_average(EXPECTED) == \
        "Average of 7 traces not rejected (4 accepted, 3 unreviewed)"
    assert average.result().n_traces == EXPECTED.not_rejected
    average.over.setFocus()
    driver.qtbot.keyClick(average.over, Qt.Key.Key_Down)                 # accepted traces only
    assert average.status.text() == "Average of 4 accepted traces (3 unreviewed and 3 rejected left out)"
    assert average.result().n_traces == EXPECTED.accepted

    # The plot data, read from the file by itself, and ``tracemark cache peek``.
    assert load_trace_set(odd_cache).review_counts() == EXPECTED
    capsys.readouterr()
    assert main(["cache", "peek", str(odd_cache)]) == 0
    assert f"review: {text}" in capsys.readouterr().out
    assert main(["cache", "peek", "--raw", str(odd_cache), "0-9"]) == 0
    listed = [line.rsplit(": ", 1)[1] for line in capsys.readouterr().out.splitlines()
              if line.startswith("index ")]
    assert listed == [state for _, _, state in STORED]

    # A decision changes every count the same way (keys first: the figures drawn below
    # take the activation away from the window).
    combo.setFocus()
    for _ in range(3):
        driver.qtbot.keyClick(combo, Qt.Key.Key_Up)                     # back to all traces
    assert combo.currentText() == "All traces (10)"
    driver.key(Qt.Key.Key_Home)
    driver.qtbot.waitUntil(lambda: editor.current_index == 0)
    driver.key(Qt.Key.Key_R)                                             # trace 1: accepted -> rejected
    after = ReviewCounts(3, 4, 3)
    assert editor.review_counts() == after
    assert _plain(editor.progress.counts_label.text()) == after.describe()
    driver.qtbot.waitUntil(lambda: average.status.text() == describe_average(after, ACCEPTED_ONLY),
                           timeout=5000)

    # ``tracemark plot average`` reads the cache with that decision (from its journal).
    figure = odd_cache.with_name("average.png")
    capsys.readouterr()
    assert main(["plot", "average", str(odd_cache), "-o", str(figure)]) == 0
    assert describe_average(after, NOT_REJECTED) in capsys.readouterr().out
    assert main(["plot", "average", str(odd_cache), "-o", str(figure), "--accepted-only"]) == 0
    assert describe_average(after, ACCEPTED_ONLY) in capsys.readouterr().out


# -- one numbering -------------------------------------------------------------------------------
def _hover(qtbot, view, plot, x: float, y: float) -> str:
    """Rest the mouse on a point of ``plot`` and read the tool tip it shows (again until
    the dock just raised has laid its plots out)."""
    def rest() -> bool:
        scene = plot.getViewBox().mapViewToScene(QPointF(x, y))
        pos = view.graphics.mapFromScene(scene)
        qtbot.mouseMove(view.graphics.viewport(), QPoint(pos.x(), pos.y()))
        return plot.getViewBox().toolTip() != ""

    qtbot.waitUntil(rest, timeout=5000)
    return plot.getViewBox().toolTip()


def test_the_eighth_trace_is_trace_8_everywhere(tracemark_window, demo_cache):
    driver = tracemark_window(demo_cache)
    window, editor = driver.window, driver.editor
    for name in ("average", "measures"):
        window.plots.docks[name].toggleViewAction().trigger()
    for _ in range(7):
        driver.key(Qt.Key.Key_N)
    assert editor.current_index == 7                     # the API: 0-based
    assert editor.progress.position_label.text() == "<b>Trace 8 of 36</b>"
    assert "Trace 8" in editor.plot.title.text()
    selected = editor.table.view.currentIndex()
    assert selected.siblingAtColumn(0).data() == "8"
    assert editor.table.model.headerData(0, Qt.Orientation.Horizontal) == "Trace"

    measures, average = window.plots.views["measures"], window.plots.views["average"]
    window.plots.docks["measures"].raise_()
    ring = measures.scatters[str(id(measures.amplitude_plot))][3]       # the trace on screen
    driver.qtbot.waitUntil(lambda: list(ring.getData()[0]) == [8.0], timeout=10000)
    tip = _hover(driver.qtbot, measures, measures.amplitude_plot, 8.0,
                 float(measures.measures.amplitude[7]))
    assert tip.startswith("Trace 8\n"), tip
    window.plots.docks["average"].raise_()

    def legend() -> list[str]:
        return [label.text for _sample, label in average.butterfly.legend.items]

    driver.qtbot.waitUntil(lambda: "open: Trace 8" in legend(), timeout=10000)

    driver.key(Qt.Key.Key_R)
    assert window.session.attrs(7)["reject"] is True
    assert window.status_label.text() == "Saved trace 8: rejected"
    # Searching the table by the number shown finds the same trace.
    editor.table.search_edit.setFocus()
    driver.qtbot.keyClicks(editor.table.search_edit, "#=8")
    driver.qtbot.keyClick(editor.table.search_edit, Qt.Key.Key_Return)
    assert editor.table.visible_indexes() == [7]
