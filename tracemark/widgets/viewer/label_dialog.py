"""Dialogs of marking: one mark's fields, and the label set.

:class:`AnnotationDialog` edits one mark's label, onset, duration and channels and gives
the answer back (the caller turns it into one change). :class:`LabelSetDialog` lists the
label set; each of its edits (add, rename, recolour, re-key, remove) is handed to a
``commit`` callback at once, as the changes :mod:`tracemark.domain.annotations` computes,
so each is one durable transaction, undone like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tracemark.domain.annotations import (
    LABEL_KEYS,
    Annotation,
    AnnotationError,
    AnnotationState,
    FieldChange,
    Label,
    apply,
    modify,
    put_label,
    remove_label,
)

from .label_legend import swatch

NO_KEY = "—"
#: Colours offered to a new label, in turn.
NEW_LABEL_COLORS = ("#17becf", "#bcbd22", "#e377c2", "#7f7f7f", "#1f77b4", "#d62728")


class AnnotationDialog(QDialog):
    """One mark's label, onset, duration and channels."""

    def __init__(self, annotation: Annotation, labels: Sequence[str], channels: Sequence[str],
                 duration_s: float, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Edit mark")
        self.annotation = annotation
        self.label = QComboBox(self)
        self.label.setEditable(True)
        self.label.addItems(list(dict.fromkeys([*labels, annotation.label])))
        self.label.setCurrentText(annotation.label)
        top = max(duration_s, annotation.end_s, 1.0)
        self.onset = _seconds_box(self, top, annotation.onset_s)
        self.duration = _seconds_box(self, top, annotation.duration_s)
        self.channels = QListWidget(self)
        self.channels.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        for name in dict.fromkeys([*channels, *annotation.channels]):
            item = QListWidgetItem(name, self.channels)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in annotation.channels else Qt.CheckState.Unchecked)
        self.channels.setToolTip("None checked: the mark applies to every channel")
        form = QFormLayout()
        form.addRow("Label", self.label)
        form.addRow("Onset", self.onset)
        form.addRow("Duration", self.duration)
        form.addRow("Channels", self.channels)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                   parent=self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _channel_items(self) -> list[QListWidgetItem]:
        found = (self.channels.item(row) for row in range(self.channels.count()))
        return [item for item in found if item is not None]

    def set_channels(self, names: Sequence[str]) -> None:
        for item in self._channel_items():
            item.setCheckState(Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked)

    def fields(self) -> dict:
        """The answer, as :func:`~tracemark.domain.annotations.modify` takes it."""
        chosen = [item.text() for item in self._channel_items() if item.checkState() == Qt.CheckState.Checked]
        return {"label": self.label.currentText(), "onset_s": self.onset.value(),
                "duration_s": self.duration.value(), "channels": tuple(chosen)}


def _seconds_box(parent: QWidget, top: float, value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox(parent)
    box.setDecimals(4)
    box.setRange(0.0, top)
    box.setSuffix(" s")
    box.setValue(value)
    return box


def add_label_changes(state: AnnotationState, label: Label) -> list[FieldChange]:
    """Add ``label``, which must be new (an existing one is recoloured or re-keyed instead)."""
    if label.name.strip() in state.labels:
        raise AnnotationError(f"a label {label.name.strip()!r} exists already")
    return put_label(state, label)


def rename_changes(state: AnnotationState, old: str, new: str) -> list[FieldChange]:
    """Rename label ``old`` to ``new``, keeping its colour and key, and relabel its marks:
    the category is renamed, not only its entry in the set."""
    label = state.labels.get(old)
    if label is None:
        raise AnnotationError(f"no label {old!r} in the label set")
    if new in state.labels:
        raise AnnotationError(f"a label {new!r} exists already")
    changes = remove_label(state, old)
    state = apply(state, changes)
    step = put_label(state, replace(label, name=new))
    changes += step
    state = apply(state, step)
    for mark in [a for a in state.annotations.values() if a.label == old]:
        _updated, step = modify(state, mark.id, label=new)
        changes += step
        state = apply(state, step)
    return changes


class LabelSetDialog(QDialog):
    """The label set, each edit committed as it is made (see the module docstring)."""

    def __init__(self, state: Callable[[], AnnotationState],
                 commit: Callable[[list[FieldChange], str], bool], parent: QWidget | None = None,
                 tell: Callable[[str], None] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Labels")
        self._tell = tell
        self._state = state
        self._commit = commit
        #: Why the last edit could not be computed ("" when it could).
        self.last_error = ""
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Label", "Colour", "Key"])
        rows_header = self.table.verticalHeader()
        if rows_header is not None:
            rows_header.hide()
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setColumnWidth(0, 200)
        buttons = QHBoxLayout()
        for text, handler in (("Add…", self._ask_add), ("Rename…", self._ask_rename),
                              ("Colour…", self._ask_color), ("Remove", self._ask_remove)):
            button = QPushButton(text, self)
            button.clicked.connect(handler)
            buttons.addWidget(button)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(close)
        self.resize(420, 360)
        self.refresh()

    # -- the edits (the buttons ask, then call these) ----------------------------------------------
    def add_label(self, name: str, color: str | None = None, key: str = "") -> bool:
        state = self._state()
        color = color or NEW_LABEL_COLORS[len(state.labels) % len(NEW_LABEL_COLORS)]
        return self._commit_or_tell(lambda: add_label_changes(state, Label(name, color, key)),
                                    f"add label {name}")

    def rename_label(self, old: str, new: str) -> bool:
        state = self._state()
        return self._commit_or_tell(lambda: rename_changes(state, old, new.strip()), f"rename label {old}")

    def recolor_label(self, name: str, color: str) -> bool:
        state = self._state()
        return self._commit_or_tell(lambda: put_label(state, replace(state.labels[name], color=color)),
                                    f"recolour label {name}")

    def rekey_label(self, name: str, key: str) -> bool:
        state = self._state()
        return self._commit_or_tell(lambda: put_label(state, replace(state.labels[name], key=key)),
                                    f"key of label {name}")

    def remove_label(self, name: str) -> bool:
        state = self._state()
        return self._commit_or_tell(lambda: remove_label(state, name), f"remove label {name}")

    def _commit_or_tell(self, changes: Callable[[], list[FieldChange]], note: str) -> bool:
        try:
            computed = changes()
        except (AnnotationError, KeyError) as exc:
            self.last_error = str(exc)
            if self._tell is not None:
                self._tell(self.last_error)
            return False
        self.last_error = ""
        done = self._commit(computed, note)
        self.refresh()
        return done

    # -- the table ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        labels = list(self._state().labels.values())
        selected = self.selected_name()
        self.table.setRowCount(len(labels))
        for row, label in enumerate(labels):
            name = QTableWidgetItem(label.name)
            name.setIcon(swatch(label.color))
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, QTableWidgetItem(label.color))
            keys = QComboBox(self.table)
            keys.addItems([NO_KEY, *LABEL_KEYS])
            keys.setCurrentText(label.key or NO_KEY)
            keys.currentTextChanged.connect(
                lambda text, n=label.name: self.rekey_label(n, "" if text == NO_KEY else text))
            self.table.setCellWidget(row, 2, keys)
            if label.name == selected:
                self.table.selectRow(row)

    def selected_name(self) -> str | None:
        selection = self.table.selectionModel()
        rows = selection.selectedRows() if selection is not None else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item is not None else None

    def _ask_add(self) -> None:
        name, ok = QInputDialog.getText(self, "New label", "Name:")
        if ok and name.strip():
            self.add_label(name.strip())

    def _ask_rename(self) -> None:
        old = self.selected_name()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename label", f"New name for {old}:", text=old)
        if ok and new.strip() and new.strip() != old:
            self.rename_label(old, new)

    def _ask_color(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        color = QColorDialog.getColor(QColor(self._state().labels[name].color), self, f"Colour of {name}")
        if color.isValid():
            self.recolor_label(name, color.name())

    def _ask_remove(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.remove_label(name)
