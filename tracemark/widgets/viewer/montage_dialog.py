"""Choose a montage, build one from channel pairs, and save or load it by name.

The list holds "As recorded", the built-in montages that fit the recording's labels
(longitudinal and transverse bipolar 10-20, average reference, neighbouring SEEG
contacts) and the user's saved montages. Picking one shows its derivations in an
editable table: each row is a label, a positive channel and a negative channel, a
reference to the average, or nothing (referential).
"""

from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tracemark.dsp.montage import AVERAGE, Derivation, Montage, MontageError, builtin_montages

NO_NEGATIVE = "—"
AVERAGE_TEXT = "average"
AS_RECORDED = "As recorded"


class MontageDialog(QDialog):
    def __init__(self, channel_names: Sequence[str], current, library=None, parent: QWidget | None = None,
                 channel_types: Sequence[str] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Montage")
        self._names = tuple(channel_names)
        self._types = tuple(channel_types) if channel_types is not None else None
        self._library = library
        self._montages: dict[str, Montage | None] = {}
        self.chosen = current
        self.list = QListWidget(self)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Label", "Positive", "Negative"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #b00020;")
        self._fill_list()
        self.list.currentTextChanged.connect(self._show)
        side = QVBoxLayout()
        side.addWidget(self.list, 1)
        for text, slot in (("Save as…", self.save_as), ("Delete saved", self.delete_saved)):
            button = QPushButton(text, self)
            button.clicked.connect(slot)
            button.setEnabled(library is not None)
            side.addWidget(button)
        edit_buttons = QHBoxLayout()
        for text, slot in (("Add derivation", self.add_row), ("Remove", self.remove_row)):
            button = QPushButton(text, self)
            button.clicked.connect(slot)
            edit_buttons.addWidget(button)
        edit_buttons.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.table, 1)
        right.addLayout(edit_buttons)
        body = QHBoxLayout()
        body.addLayout(side, 1)
        body.addLayout(right, 2)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                               parent=self)
        box.accepted.connect(self._accept)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.error)
        layout.addWidget(box)
        self.resize(760, 560)
        name = current.name if current is not None else AS_RECORDED
        matches = self.list.findItems(name, Qt.MatchFlag.MatchExactly)
        self.list.setCurrentItem(matches[0] if matches else self.list.item(0))

    def _fill_list(self) -> None:
        self.list.clear()
        self._montages = {AS_RECORDED: None}
        for montage in builtin_montages(self._names, self._types):
            self._montages.setdefault(montage.name, montage)
        if self._library is not None:
            for name in self._library.names():
                try:
                    montage = self._library.load(name)
                    montage.matrix(self._names)
                except MontageError:
                    continue  # unreadable, or needs channels this recording lacks
                self._montages[montage.name] = montage
        self.list.addItems(list(self._montages))

    def select(self, name: str) -> None:
        self.list.setCurrentItem(self.list.findItems(name, Qt.MatchFlag.MatchExactly)[0])

    def _show(self, name: str) -> None:
        montage = self._montages.get(name)
        derivations = montage.derivations if montage is not None else [
            Derivation(n, n, None) for n in self._names]
        self.table.setRowCount(0)
        for derivation in derivations:
            self._append(derivation)

    def _append(self, derivation: Derivation) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(derivation.label))
        positive = QComboBox(self.table)
        positive.addItems(self._names)
        positive.setCurrentText(derivation.positive)
        negative = QComboBox(self.table)
        negative.addItems([NO_NEGATIVE, AVERAGE_TEXT, *self._names])
        negative.setCurrentText({None: NO_NEGATIVE, AVERAGE: AVERAGE_TEXT}.get(derivation.negative,
                                                                                  derivation.negative))
        self.table.setCellWidget(row, 1, positive)
        self.table.setCellWidget(row, 2, negative)

    def add_row(self) -> None:
        first = self._names[0] if self._names else ""
        second = self._names[1] if len(self._names) > 1 else None
        self._append(Derivation(f"{first}-{second}" if second else first, first, second))

    def remove_row(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)

    def edited_montage(self, name: str) -> Montage:
        """The table as a montage called ``name``; MontageError when it is empty."""
        derivations = []
        for row in range(self.table.rowCount()):
            positive = self.table.cellWidget(row, 1).currentText()
            negative_text = self.table.cellWidget(row, 2).currentText()
            negative = {NO_NEGATIVE: None, AVERAGE_TEXT: AVERAGE}.get(negative_text, negative_text)
            item = self.table.item(row, 0)
            label = item.text().strip() if item is not None and item.text().strip() else (
                positive if negative is None else f"{positive}-{negative_text}")
            derivations.append(Derivation(label, positive, negative))
        if not derivations:
            raise MontageError("a montage needs at least one derivation")
        montage = Montage(name, tuple(derivations))
        montage.matrix(self._names)
        return montage

    def _current_name(self) -> str:
        item = self.list.currentItem()
        return item.text() if item is not None else AS_RECORDED

    def _table_matches(self, montage) -> bool:
        try:
            return self.edited_montage(self._current_name()) == montage
        except ValueError:
            return False

    def save_as(self, name: str | None = None) -> Montage | None:
        if self._library is None:
            return None
        if not name:
            name, ok = QInputDialog.getText(self, "Save montage", "Name:", text=self._current_name())
            if not ok or not name.strip():
                return None
        try:
            montage = self.edited_montage(name.strip())
            self._library.save(montage)
        except (ValueError, OSError) as error:
            self.error.setText(f"Cannot save: {error}")
            return None
        self._fill_list()
        self.select(montage.name)
        return montage

    def delete_saved(self) -> None:
        name = self._current_name()
        if self._library is None or name not in self._library.names():
            self.error.setText(f"{name!r} is not a saved montage")
            return
        if QMessageBox.question(self, "Delete montage", f"Delete the saved montage {name!r}?") \
                == QMessageBox.StandardButton.Yes:
            self._library.delete(name)
            self._fill_list()
            self.list.setCurrentRow(0)

    def _accept(self) -> None:
        name = self._current_name()
        original = self._montages.get(name)
        if name == AS_RECORDED and self._table_matches(Montage(name, tuple(
                Derivation(n, n, None) for n in self._names))):
            self.chosen = None
        elif original is not None and self._table_matches(original):
            self.chosen = original
        else:
            try:
                self.chosen = self.edited_montage(f"{name} (edited)" if name != AS_RECORDED else "Custom")
            except ValueError as error:
                self.error.setText(str(error))
                return
        self.accept()
