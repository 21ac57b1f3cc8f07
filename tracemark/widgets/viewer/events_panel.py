"""A list of the recording's events and the person's own marks, to jump between them.

Backed by a table model over one sorted tuple of rows (no item per row is built, so a
recording with tens of thousands of triggers lists at once), with a text filter. The
file's events and annotations (source "file") and the marks the person made (source
"user", from the annotation file) are listed together by time. Activating a row
(double-click or Enter) emits ``jump_requested(time_s)``, and for a mark also
``annotation_activated(id)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PyQt6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QObject, QSortFilterProxyModel, Qt, pyqtSignal
from PyQt6.QtWidgets import QHeaderView, QLabel, QLineEdit, QTableView, QVBoxLayout, QWidget

from tracemark.domain.annotations import Annotation
from tracemark.paging.source import SourceEvent

_COLUMNS = ("Time", "Event", "Kind", "Source")
FROM_FILE, FROM_USER = "file", "user"


@dataclass(frozen=True)
class ListedEvent:
    """One row of the list: a file's event or a person's mark (``ident`` its id)."""

    time_s: float
    duration_s: float
    label: str
    kind: str
    origin: str
    ident: str = ""


def listed_file_event(event: SourceEvent) -> ListedEvent:
    return ListedEvent(event.time_s, event.duration_s, event.label, event.source, FROM_FILE)


def listed_mark(mark: Annotation) -> ListedEvent:
    return ListedEvent(mark.onset_s, mark.duration_s, mark.label, "span" if mark.is_span else "event",
                       FROM_USER, mark.id)
#: Keys the list uses itself while it has focus, rather than the viewer's shortcuts.
#: The role that holds a person's mark's id ("" for the file's events).
IDENT_ROLE = Qt.ItemDataRole.UserRole + 1
_LIST_KEYS = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown,
              Qt.Key.Key_Home, Qt.Key.Key_End}


class _ClaimListKeys(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in _LIST_KEYS \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            event.accept()
            return True
        return False


class EventTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._events: tuple[ListedEvent, ...] = ()
        self._from_file: tuple[ListedEvent, ...] = ()
        self._from_user: tuple[ListedEvent, ...] = ()
        self.format_time: Callable[[float], str] = lambda t: f"{t:.3f}"

    def set_events(self, events: Sequence[SourceEvent]) -> None:
        """The file's events (the person's marks stay listed)."""
        self._from_file = tuple(listed_file_event(e) for e in events)
        self._merge()

    def set_user_annotations(self, marks: Sequence[Annotation]) -> None:
        """The person's marks (the file's events stay listed)."""
        self._from_user = tuple(listed_mark(m) for m in marks)
        self._merge()

    def _merge(self) -> None:
        self.beginResetModel()
        self._events = tuple(sorted(self._from_file + self._from_user, key=lambda e: e.time_s))
        self.endResetModel()

    @property
    def file_event_count(self) -> int:
        return len(self._from_file)

    def event_at(self, row: int) -> ListedEvent:
        return self._events[row]

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self._events)

    def columnCount(self, parent=QModelIndex()):
        return len(_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        event = self._events[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (self.format_time(event.time_s), event.label, event.kind, event.origin)[index.column()]
        if role == Qt.ItemDataRole.UserRole:
            return event.time_s
        if role == IDENT_ROLE:
            return event.ident
        if role == Qt.ItemDataRole.ToolTipRole:
            lasting = f", lasting {event.duration_s:g} s" if event.duration_s > 0 else ""
            return f"{event.label} at {self.format_time(event.time_s)}{lasting} ({event.kind}, {event.origin})"
        return None

    def refresh_times(self) -> None:
        if self._events:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._events) - 1, 0))


class EventsPanel(QWidget):
    jump_requested = pyqtSignal(float)
    annotation_activated = pyqtSignal(str)    # id of the person's mark on the row

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = EventTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter events…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._on_filter)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        # Widths from the font, not "resize to contents": that measures every row on every
        # change, 11,000 calls to data() for 700 events when a recording opened.
        metrics = self.table.fontMetrics()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, metrics.horizontalAdvance("00:00:00.000") + 16)
        header.resizeSection(2, metrics.horizontalAdvance("annotation") + 16)
        header.resizeSection(3, metrics.horizontalAdvance("Source") + 16)
        self.table.setAlternatingRowColors(True)
        self._claim_keys = _ClaimListKeys(self)
        self.table.installEventFilter(self._claim_keys)
        self.table.activated.connect(self._on_activated)
        self.table.doubleClicked.connect(self._on_activated)
        self.count_label = QLabel(self)
        self.count_label.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)
        self.setMinimumWidth(300)

    def set_events(self, events: Sequence[SourceEvent]) -> None:
        self.model.set_events(events)
        self._update_count()

    def set_user_annotations(self, marks: Sequence[Annotation]) -> None:
        """List the person's marks beside the file's events."""
        self.model.set_user_annotations(marks)
        self._update_count()

    def file_event_count(self) -> int:
        return self.model.file_event_count

    def set_time_format(self, format_time: Callable[[float], str]) -> None:
        self.model.format_time = format_time
        self.model.refresh_times()

    def visible_times(self) -> list[float]:
        """Times of the rows the filter lets through, in order."""
        return [self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(self.proxy.rowCount())]

    def select_time(self, time_s: float) -> None:
        """Select the row of the event at ``time_s`` (used when jumping by keyboard)."""
        for r in range(self.proxy.rowCount()):
            index = self.proxy.index(r, 0)
            if abs(index.data(Qt.ItemDataRole.UserRole) - time_s) < 1e-9:
                self.table.selectRow(r)
                self.table.scrollTo(index)
                return

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        self._update_count()

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{total} events" if shown == total else f"{shown} of {total} events")

    def _on_activated(self, index) -> None:
        if index.isValid():
            first = self.proxy.index(index.row(), 0)
            self.jump_requested.emit(float(first.data(Qt.ItemDataRole.UserRole)))
            ident = first.data(IDENT_ROLE)
            if ident:
                self.annotation_activated.emit(ident)
