"""Every viewer command, declared once with its shortcuts.

:data:`VIEWER_ACTIONS` is the single list. :class:`ActionSet` turns specs into
QActions bound to handlers by name; menus and the shortcut help dialog are generated
from the same specs, so a shortcut cannot be documented in one place and different in
another. The main window adds its own specs (open, quit, ...) through the same class.
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


#: The viewer's keys. None of them is a key of the trace editor (A, R, N, P, U, E, C,
#: Home, End, arrows, PgUp/PgDown there), so a key never means one thing in one part
#: of the window and another thing in the other.
VIEWER_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("page_forward", "Navigate", "Next page", ("PgDown",), "Move forward by one page"),
    ActionSpec("page_back", "Navigate", "Previous page", ("PgUp",), "Move back by one page"),
    ActionSpec("step_forward", "Navigate", "Forward a quarter page", ("Ctrl+Right",)),
    ActionSpec("step_back", "Navigate", "Back a quarter page", ("Ctrl+Left",)),
    ActionSpec("go_start", "Navigate", "Go to start", ("Ctrl+Home",)),
    ActionSpec("go_end", "Navigate", "Go to end", ("Ctrl+End",)),
    ActionSpec("go_to_time", "Navigate", "Go to time…", ("Ctrl+G",), "Jump to a time (h:mm:ss or clock time)",
               separator_before=True),
    ActionSpec("next_event", "Navigate", "Next event", ("J",), "Centre the next event", separator_before=True),
    ActionSpec("previous_event", "Navigate", "Previous event", ("Shift+J",), "Centre the previous event"),
    ActionSpec("channels_down", "Navigate", "Next channel page", ("Down",), separator_before=True),
    ActionSpec("channels_up", "Navigate", "Previous channel page", ("Up",)),
    ActionSpec("select_next_channel", "Navigate", "Select next channel", ("Alt+Down",)),
    ActionSpec("select_previous_channel", "Navigate", "Select previous channel", ("Alt+Up",)),
    ActionSpec("span_shorter", "View", "Shorter time span", ("[",), "Zoom in on time"),
    ActionSpec("span_longer", "View", "Longer time span", ("]",), "Zoom out in time"),
    ActionSpec("span_whole", "View", "Whole recording", ("W",), "Show the entire recording"),
    ActionSpec("more_channels", "View", "More channels per page", ("Ctrl+Down",), separator_before=True),
    ActionSpec("fewer_channels", "View", "Fewer channels per page", ("Ctrl+Up",)),
    ActionSpec("amplitude_up", "View", "Increase amplitude", ("+", "="),
               "Larger traces: fewer units per mm, every channel type", separator_before=True),
    ActionSpec("amplitude_down", "View", "Decrease amplitude", ("-",),
               "Smaller traces: more units per mm, every channel type"),
    ActionSpec("channel_amplitude_up", "View", "Increase selected channel amplitude", ("Ctrl+=", "Ctrl++")),
    ActionSpec("channel_amplitude_down", "View", "Decrease selected channel amplitude", ("Ctrl+-",)),
    ActionSpec("autoscale", "View", "Fit amplitudes to the page", ("S",),
               "One sensitivity per channel type, fitted to this page"),
    ActionSpec("autoscale_channels", "View", "Fit each channel to the page", ("Shift+S",),
               "A gain per channel fitted to this page"),
    ActionSpec("reset_scale", "View", "Reset amplitudes", ("0",),
               "The scales measured on opening, without per-channel gains"),
    ActionSpec("sensitivity", "View", "Sensitivity…", ("Ctrl+K",),
               "Units per mm for the selected channel's type"),
    ActionSpec("toggle_clipping", "View", "Clip traces to their rows", ("K",),
               "Cut each trace at the edges of its own row", checkable=True),
    ActionSpec("toggle_time_mode", "View", "Clock time axis", ("T",), "Seconds or time of day",
               checkable=True, separator_before=True),
    ActionSpec("toggle_events_panel", "View", "Events list", ("Ctrl+E",), checkable=True),
    ActionSpec("toggle_crosshair", "View", "Crosshair", ("X",),
               "Show the time and the value under the pointer", checkable=True),
    ActionSpec("toggle_measurements", "View", "Measurements panel", ("Ctrl+Shift+M",),
               "Cursor times, Δt, 1/Δt and each channel's values at the cursors", checkable=True),
    ActionSpec("choose_channels", "Signals", "Channels…", ("Ctrl+L",), "Select and order channels"),
    ActionSpec("choose_montage", "Signals", "Montage…", ("Ctrl+M",), "Choose, edit, save and load montages"),
    ActionSpec("next_montage", "Signals", "Next montage", ("M",)),
    ActionSpec("choose_filters", "Signals", "Display filters…", ("Ctrl+F",), "High-pass, low-pass, notch",
               separator_before=True),
    ActionSpec("toggle_filters", "Signals", "Filters on", ("F",), "Switch the display filters on or off",
               checkable=True),
    ActionSpec("toggle_dc", "Signals", "Remove DC", ("D",),
               "Subtract each channel's mean in the window (on by default)", checkable=True),
    ActionSpec("place_cursor_a", "Measure", "Cursor A here", ("1",),
               "Cursor A at the pointer (mid-page when the pointer is elsewhere); also Ctrl+click"),
    ActionSpec("place_cursor_b", "Measure", "Cursor B here", ("2",),
               "Cursor B at the pointer (mid-page when the pointer is elsewhere); also Shift+click"),
    ActionSpec("switch_cursor", "Measure", "Switch active cursor", ("Ctrl+Tab",),
               "Choose which cursor the keys move"),
    ActionSpec("cursor_left_pixel", "Measure", "Active cursor left", ("Alt+Left",),
               "One pixel earlier", separator_before=True),
    ActionSpec("cursor_right_pixel", "Measure", "Active cursor right", ("Alt+Right",), "One pixel later"),
    ActionSpec("cursor_left_sample", "Measure", "Active cursor one sample left", ("Alt+Shift+Left",)),
    ActionSpec("cursor_right_sample", "Measure", "Active cursor one sample right", ("Alt+Shift+Right",)),
    ActionSpec("copy_measurements", "Measure", "Copy measurements", ("Ctrl+Shift+C",),
               "The measurements as tab-separated text, for a spreadsheet or a report",
               separator_before=True),
    ActionSpec("clear_cursors", "Measure", "Clear cursors", ("Esc",)),
    ActionSpec("show_shortcuts", "Help", "Keyboard shortcuts", ("F1", "?"), "List every shortcut"),
)


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
