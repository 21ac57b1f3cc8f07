"""The trace table: one row per trace, sortable by any column, filtered by review state and
by a search, kept in step with the trace on screen.

``TraceTableModel`` holds the rows. Sorting reorders the model's own rows with one Python
``sort`` (10,000 rows: a few ms) instead of letting ``QSortFilterProxyModel`` call back
into Python for each of the ~130,000 comparisons a sort needs. ``TraceFilterProxy`` only
filters. An edit changes one row: ``update_row`` emits ``dataChanged`` for that row alone,
never a reset; the table does not re-sort after an edit (the row you just decided on stays
where it is until you sort again), but the filter applies at once (accepting a trace under
"Unreviewed" removes its row).

Search syntax (``parse_query``): words separated by spaces, all must match. A bare word
matches any column's text (case-insensitive); ``field:text`` matches one column;
``field>number``, ``field<number``, ``field>=``, ``field<=``, ``field=``, ``field!=`` compare
numbers. Fields: ``trace`` (also ``#``: the trace number shown, from 1), ``origin``,
``time``, ``state``, ``shift``, ``p2p``, ``examiner``, ``comment``. Example:
``state:rej p2p>50 comment:noisy``.

Traces are numbered from 1 here as everywhere in the window
(:mod:`tracemark.domain.trace_numbers`); the rows' ``UserRole`` data, the signals and the
methods speak the cache's 0-based indexes. The filter box says how many traces each review
state holds, counted by :mod:`tracemark.domain.review`'s rule.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from PyQt6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    pyqtSignal,
)
from PyQt6.QtGui import QBrush, QColor, QFont
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from tracemark.domain import trace_attributes as keys
from tracemark.domain.review import (
    ACCEPTED,
    REJECTED,
    REVIEW_STATES,
    UNREVIEWED,
    ReviewCounts,
)
from tracemark.domain.trace_numbers import trace_number

from .model import TraceRow


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    numeric: bool = False


COLUMNS = (Column("trace", "Trace", True), Column("origin", "Recording"),
           Column("time", "Event (s)", True), Column("state", "State"),
           Column("shift", "Shift", True), Column("p2p", "P2P", True),
           Column("examiner", "Examiner"), Column("comment", "Comment"))
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
_ALIASES = {"#": "trace", "number": "trace", "n": "trace", "index": "trace", "i": "trace",
            "event": "time", keys.EVENT_TIME: "time",
            "onset": "shift", keys.ONSET_SHIFT: "shift", "ptp": "p2p", "peak_to_peak": "p2p",
            "recording": "origin", "review": "state"}
STATE_COLOURS = {ACCEPTED: QColor(23, 120, 50), REJECTED: QColor(175, 35, 25),
                 UNREVIEWED: QColor(90, 90, 90)}
REJECTED_TEXT = QColor(140, 140, 140)
SEARCH_DELAY_MS = 150
#: Characters of a value a table cell (and its tooltip) shows.
CELL_CHARS = 1000

FILTERS = (("all", "All traces"), (UNREVIEWED, "Unreviewed only"), (ACCEPTED, "Accepted only"),
           (REJECTED, "Rejected only"))
FILTER_TEXTS = dict(FILTERS)


def column_value(row: TraceRow, key: str):
    """The typed value of ``row`` in column ``key`` (None = unknown)."""
    return {"trace": trace_number(row.index), "origin": row.origin, "time": row.event_time_s,
            "state": row.state, "shift": row.onset_shift, "p2p": row.peak_to_peak,
            "examiner": row.examiner, "comment": row.comment}[key]


def column_text(row: TraceRow, key: str) -> str:
    value = column_value(row, key)
    if value is None:
        return "—"
    if key == "time":
        return f"{value:.3f}"
    if key == "p2p":
        return f"{value:.1f}"
    if key == "shift":
        return f"{value:+d}" if value else "0"
    return str(value)


_COMPARE = re.compile(r"^([#\w]+)(>=|<=|!=|>|<|=)(.+)$")
_OPERATORS = {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le,
              "=": operator.eq, "!=": operator.ne}


def parse_query(text: str) -> Callable[[TraceRow], bool]:
    """A row predicate for the search text (see the module docstring)."""
    tests = [_term(term) for term in text.split()]
    return lambda row: all(test(row) for test in tests)


def _field(name: str) -> str | None:
    name = _ALIASES.get(name.lower(), name.lower())
    return name if name in COLUMN_KEYS else None


def _term(term: str) -> Callable[[TraceRow], bool]:
    match = _COMPARE.match(term)
    if match and _field(match.group(1)):
        key, op, wanted = _field(match.group(1)), _OPERATORS[match.group(2)], match.group(3)
        try:
            number = float(wanted)
        except ValueError:
            return lambda row: op(column_text(row, key).lower(), wanted.lower())
        return lambda row: (column_value(row, key) is not None
                            and op(float(column_value(row, key)), number))
    field, sep, wanted = term.partition(":")
    if sep and _field(field):
        key, wanted = _field(field), wanted.lower()
        return lambda row: wanted in column_text(row, key).lower()
    needle = term.lower()
    return lambda row: any(needle in column_text(row, k).lower() for k in COLUMN_KEYS)


def sorted_rows(rows: Sequence[TraceRow], key: str, descending: bool = False) -> list[TraceRow]:
    """Rows ordered by column ``key``; unknown values after known ones whichever the order
    (as spreadsheets do), ties in trace order."""
    def value(row: TraceRow):
        v = column_value(row, key)
        return v.lower() if isinstance(v, str) else v
    known = sorted((r for r in rows if value(r) is not None), key=lambda r: r.index)
    known.sort(key=value, reverse=descending)  # stable: ties keep trace order
    unknown = sorted((r for r in rows if value(r) is None), key=lambda r: r.index)
    return known + unknown


class TraceTableModel(QAbstractTableModel):
    """Rows in display order; ``position(trace_index)`` finds a trace's row in O(1)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[TraceRow] = []
        self._position: dict[int, int] = {}
        self.counts: Counter[str] = Counter()
        self._bold = QFont()
        self._bold.setBold(True)

    # -- Qt model interface -------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], COLUMNS[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and column.key == "state" and row.problems:
            # The state of a trace holding an unreadable value says how it was read.
            return "\n".join((column_text(row, column.key), *row.problems))
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = column_text(row, column.key)
            # Qt lays out a cell's whole text to elide it: a 10 MB comment froze the window
            # for 3 s. A cell shows one line; the form shows the value itself.
            return text if len(text) <= CELL_CHARS else text[:CELL_CHARS] + "…"
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column.key == "state":
                return QBrush(STATE_COLOURS[row.state])
            if row.state == REJECTED:
                return QBrush(REJECTED_TEXT)
        if role == Qt.ItemDataRole.FontRole and column.key == "state" and row.state != UNREVIEWED:
            return self._bold
        if role == Qt.ItemDataRole.UserRole:
            return row.index
        return None

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS) or not self._rows:
            return
        self.layoutAboutToBeChanged.emit([], QAbstractTableModel.LayoutChangeHint.VerticalSortHint)
        persistent = self.persistentIndexList()
        held = [(self._rows[p.row()].index, p.column()) for p in persistent]
        self._rows = sorted_rows(self._rows, COLUMNS[column].key,
                                 descending=order == Qt.SortOrder.DescendingOrder)
        self._position = {row.index: i for i, row in enumerate(self._rows)}
        self.changePersistentIndexList(persistent, [self.index(self._position[i], c) for i, c in held])
        self.layoutChanged.emit([], QAbstractTableModel.LayoutChangeHint.VerticalSortHint)

    # -- rows ---------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[TraceRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._position = {row.index: i for i, row in enumerate(self._rows)}
        if len(self._position) != len(self._rows):
            raise ValueError("the trace table holds the same trace index twice")
        self.counts = Counter(row.state for row in self._rows)
        self.endResetModel()

    def update_row(self, row: TraceRow) -> None:
        position = self._position.get(row.index)
        if position is None:
            raise KeyError(f"trace {row.index} is not in the table ({len(self._rows)} traces)")
        old = self._rows[position]
        self._rows[position] = row
        self.counts[old.state] -= 1
        self.counts[row.state] += 1
        self.dataChanged.emit(self.index(position, 0), self.index(position, len(COLUMNS) - 1))

    def position(self, trace_index: int) -> int | None:
        return self._position.get(trace_index)

    def review_counts(self) -> ReviewCounts:
        """Rows per review state."""
        return ReviewCounts.of_mapping(self.counts)

    def row_at(self, position: int) -> TraceRow:
        return self._rows[position]

    def row_of(self, trace_index: int) -> TraceRow | None:
        position = self._position.get(trace_index)
        return None if position is None else self._rows[position]

    def rows(self) -> list[TraceRow]:
        """The rows in display (sorted) order."""
        return list(self._rows)


class TraceFilterProxy(QSortFilterProxyModel):
    """Filters the model's rows by review state and search text; sorting is the model's."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._state: str | None = None
        self._query_text = ""
        self._query: Callable[[TraceRow], bool] | None = None
        self.setDynamicSortFilter(True)

    def set_state_filter(self, state: str | None) -> None:
        if state is not None and state not in REVIEW_STATES:
            raise ValueError(f"unknown review state {state!r}; use one of {REVIEW_STATES}")
        self._state = state
        self.invalidateRowsFilter()

    def set_query(self, text: str) -> None:
        self._query_text = text.strip()
        self._query = parse_query(self._query_text) if self._query_text else None
        self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        row = self.sourceModel().row_at(source_row)
        if self._state is not None and row.state != self._state:
            return False
        return self._query is None or self._query(row)

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)


class TraceTable(QWidget):
    """Filter row + table view; emits ``trace_requested`` when the person picks a row."""

    trace_requested = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._current: int | None = None
        self._syncing = False
        self.model = TraceTableModel(self)
        self.proxy = TraceFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self._build()
        self.proxy.rowsInserted.connect(self._count_changed)
        self.proxy.rowsRemoved.connect(self._count_changed)
        self.proxy.modelReset.connect(self._count_changed)
        self.proxy.layoutChanged.connect(self._count_changed)

    def _build(self) -> None:
        self.filter_combo = QComboBox()
        self.filter_combo.setObjectName("traceEditor.filter")
        self.filter_combo.setAccessibleName("Show traces")
        for key, text in FILTERS:
            self.filter_combo.addItem(text, key)
        self.filter_combo.currentIndexChanged.connect(self._filter_chosen)
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("traceEditor.search")
        self.search_edit.setAccessibleName("Search traces")
        self.search_edit.setPlaceholderText("Search: text, or e.g. comment:noisy  p2p>50  shift!=0")
        self.search_edit.setToolTip(__doc__.split("Search syntax (``parse_query``): ")[1].replace("``", ""))
        self.search_edit.setClearButtonEnabled(True)
        # Filtering 10,000 rows takes tens of ms: apply the search once typing pauses.
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_search)
        self.search_edit.textChanged.connect(lambda _text: self._search_timer.start())
        self.search_edit.returnPressed.connect(self.apply_search)
        self.count_label = QLabel("")
        self.count_label.setObjectName("traceEditor.tableCount")
        self.count_label.setAccessibleName("Traces shown")
        self.view = QTableView()
        self.view.setObjectName("traceEditor.table")
        self.view.setAccessibleName("Trace table")
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.view.setWordWrap(False)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in zip(range(len(COLUMNS)), (60, 150, 80, 90, 60, 70, 90)):
            self.view.setColumnWidth(column, width)
        self.view.setSortingEnabled(True)
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.view.selectionModel().currentRowChanged.connect(self._row_changed)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.filter_combo)
        bar.addWidget(self.search_edit, 1)
        bar.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

    # -- public API ---------------------------------------------------------------------
    def set_rows(self, rows: Sequence[TraceRow]) -> None:
        with self._quiet():
            self.model.set_rows(rows)
        self._show_filter_counts()
        self._select_current()

    def update_row(self, row: TraceRow) -> None:
        with self._quiet():
            self.model.update_row(row)
        self._show_filter_counts()
        self._select_current()

    def set_current(self, trace_index: int | None) -> None:
        self._current = trace_index
        self._select_current()

    def set_state_filter(self, state: str | None) -> None:
        """Show only traces in ``state`` (None = all), as the filter box does."""
        position = self.filter_combo.findData(state or "all")
        self.filter_combo.setCurrentIndex(position)

    def visible_indexes(self) -> list[int]:
        """Trace indexes in the table's current (filtered, sorted) order."""
        return [self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(self.proxy.rowCount())]

    def neighbour(self, trace_index: int, step: int) -> int | None:
        """The trace ``step`` rows away in the table's order (filter and sort applied);
        from a trace the filter hides, the nearest visible one in that direction."""
        position = self.model.position(trace_index)
        if position is None:
            return None
        proxy_row = self.proxy.mapFromSource(self.model.index(position, 0)).row()
        if proxy_row < 0:
            return self._visible_from(position, 1 if step > 0 else -1)
        target = proxy_row + step
        if not 0 <= target < self.proxy.rowCount():
            return None
        return self.proxy.index(target, 0).data(Qt.ItemDataRole.UserRole)

    def edge(self, last: bool) -> int | None:
        count = self.proxy.rowCount()
        if count == 0:
            return None
        return self.proxy.index(count - 1 if last else 0, 0).data(Qt.ItemDataRole.UserRole)

    def next_with_state(self, trace_index: int | None, state: str) -> int | None:
        """The next trace in ``state`` after ``trace_index`` in the table's sort order,
        ignoring the filter and wrapping around; None when there is none."""
        rows = self.model.rows()
        start = self.model.position(trace_index) if trace_index is not None else -1
        start = -1 if start is None else start
        for offset in range(1, len(rows) + 1):
            row = rows[(start + offset) % len(rows)]
            if row.state == state and row.index != trace_index:
                return row.index
        return None

    # -- internals ----------------------------------------------------------------------
    def _visible_from(self, position: int, direction: int) -> int | None:
        position += direction
        while 0 <= position < self.model.rowCount():
            if self.proxy.mapFromSource(self.model.index(position, 0)).isValid():
                return self.model.row_at(position).index
            position += direction
        return None

    @contextmanager
    def _quiet(self):
        """Selection changes made here are the table following the app, not the person
        asking for a trace."""
        was, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = was

    def _select_current(self) -> None:
        with self._quiet():
            selection = self.view.selectionModel()
            position = self.model.position(self._current) if self._current is not None else None
            proxy_index = (self.proxy.mapFromSource(self.model.index(position, 0))
                           if position is not None else QModelIndex())
            if not proxy_index.isValid():
                selection.clearSelection()
                selection.setCurrentIndex(QModelIndex(), QItemSelectionModel.SelectionFlag.NoUpdate)
                return
            if selection.currentIndex().row() != proxy_index.row() or not selection.hasSelection():
                selection.setCurrentIndex(proxy_index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                          | QItemSelectionModel.SelectionFlag.Rows)
            self.view.scrollTo(proxy_index, QAbstractItemView.ScrollHint.EnsureVisible)

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing or not current.isValid():
            return
        trace_index = current.data(Qt.ItemDataRole.UserRole)
        if trace_index is not None and trace_index != self._current:
            self.trace_requested.emit(int(trace_index))
            # The app shows the trace (and calls set_current); if it did not, the table
            # goes back to the trace actually on screen.
            self._select_current()

    def _show_filter_counts(self) -> None:
        """"Accepted only (12)": the same counts as the editor's header."""
        counts = self.model.review_counts()
        for position in range(self.filter_combo.count()):
            key = self.filter_combo.itemData(position)
            count = counts.total if key == "all" else counts[key]
            self.filter_combo.setItemText(position, f"{FILTER_TEXTS[key]} ({count})")

    def _filter_chosen(self, _position: int) -> None:
        key = self.filter_combo.currentData()
        with self._quiet():
            self.proxy.set_state_filter(None if key == "all" else key)
        self._select_current()

    def apply_search(self) -> None:
        """Filter by the search text now (it also applies itself when typing pauses)."""
        self._search_timer.stop()
        with self._quiet():
            self.proxy.set_query(self.search_edit.text())
        self._select_current()

    def _count_changed(self, *_args) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} of {total}" if shown != total else f"{total} traces")
