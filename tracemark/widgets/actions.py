"""Commands declared once, as data: :class:`ActionSpec`, and the QActions made from them.

Every part of the window (the signal viewer, the trace editor, the spectrum docks, the
main window) declares its commands as a tuple of :class:`ActionSpec`. :class:`ActionSet`
turns specs into QActions bound to handlers by name; menus and the shortcut help dialog
(:class:`ShortcutsDialog`) are generated from the same specs, so a shortcut cannot be
documented in one place and different in another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PyQt6.QtCore import QObject, Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMenu,
    QMenuBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True)
class ActionSpec:
    """One command: its name (the handler key), menu, text, shortcuts and help."""

    name: str
    menu: str
    text: str
    shortcuts: tuple[str, ...] = ()
    tip: str = ""
    checkable: bool = False
    separator_before: bool = False


class ActionSet(QObject):
    """QActions for ``specs``, attached to ``widget`` and triggering ``handlers[name]``."""

    def __init__(self, widget: QWidget, specs: Iterable[ActionSpec], handlers: dict[str, Callable],
                 *, context: Qt.ShortcutContext = Qt.ShortcutContext.WidgetWithChildrenShortcut):
        super().__init__(widget)
        self.specs: tuple[ActionSpec, ...] = tuple(specs)
        self.actions: dict[str, QAction] = {}
        for spec in self.specs:
            action = QAction(spec.text, widget)
            action.setObjectName(spec.name)
            action.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
            action.setShortcutContext(context)
            action.setStatusTip(spec.tip or spec.text)
            action.setToolTip(_tooltip(spec))
            action.setCheckable(spec.checkable)
            handler = handlers.get(spec.name)
            if handler is None:
                raise KeyError(f"no handler for action {spec.name!r}")
            if spec.checkable:
                action.toggled.connect(handler)
            else:
                action.triggered.connect(lambda _checked=False, h=handler: h())
            widget.addAction(action)
            self.actions[spec.name] = action

    def __getitem__(self, name: str) -> QAction:
        return self.actions[name]

    def populate(self, menu_bar: QMenuBar, menus: dict[str, QMenu] | None = None) -> dict[str, QMenu]:
        """Add each action to the menu named in its spec, creating menus in first-seen order."""
        menus = {} if menus is None else menus
        for spec in self.specs:
            menu = menus.get(spec.menu)
            if menu is None:
                menu = menus[spec.menu] = menu_bar.addMenu(f"&{spec.menu}")
            if spec.separator_before and not menu.isEmpty():
                menu.addSeparator()
            menu.addAction(self.actions[spec.name])
        return menus


def _tooltip(spec: ActionSpec) -> str:
    keys = ", ".join(QKeySequence(s).toString(QKeySequence.SequenceFormat.NativeText) for s in spec.shortcuts)
    return f"{spec.text} ({keys})" if keys else spec.text


def shortcut_rows(specs: Iterable[ActionSpec]) -> list[tuple[str, str, str]]:
    """``(menu, command, shortcuts)`` rows for the help dialog, from the specs themselves."""
    rows = []
    for spec in specs:
        keys = ", ".join(QKeySequence(s).toString(QKeySequence.SequenceFormat.NativeText)
                         for s in spec.shortcuts)
        rows.append((spec.menu, spec.text.rstrip("…"), keys))
    return rows


class ShortcutsDialog(QDialog):
    """A table of every command and its shortcuts, generated from the action specs."""

    def __init__(self, specs: Iterable[ActionSpec], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(specs)
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Menu", "Command", "Shortcut"])
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.resizeColumnsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(560, 620)
