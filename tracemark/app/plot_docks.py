"""The four plot views (average, measures, recruitment, map) as dock widgets of the main
window, kept live: each confirmed edit reaches them through ``update_trace``, the trace on
screen through ``set_current``, and a click on a point or trace asks the editor to open it.

The docks start hidden (the window's first job is review); the View menu shows them and
QSettings remembers where the person put them.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QObject, Qt, pyqtSignal
from PyQt6.QtWidgets import QDockWidget, QMainWindow

from tracemark.widgets.plots import VIEWS

TITLES = {"average": "Average", "measures": "Measures", "recruitment": "Recruitment",
          "map": "Coil map"}


class PlotDocks(QObject):
    trace_selected = pyqtSignal(int)

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self.views: dict[str, Any] = {}
        self.docks: dict[str, QDockWidget] = {}
        for name, view_class in VIEWS.items():
            view = view_class()
            view.trace_selected.connect(self.trace_selected)
            dock = QDockWidget(TITLES[name], window)
            dock.setObjectName(f"dock.{name}")
            dock.setAccessibleName(f"{TITLES[name]} plot")
            dock.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
            dock.setWidget(view)
            window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            dock.hide()
            self.views[name] = view
            self.docks[name] = dock
        docks = list(self.docks.values())
        for other in docks[1:]:
            window.tabifyDockWidget(docks[0], other)
        self.has_data = False

    def toggle_actions(self) -> list:
        """One checkable action per dock, for the View menu."""
        return [dock.toggleViewAction() for dock in self.docks.values()]

    def set_data(self, trace_set, problem: str = "") -> None:
        self.has_data = trace_set is not None
        for name, view in self.views.items():
            if trace_set is not None:
                view.set_data(trace_set)
            self.docks[name].setWindowTitle(TITLES[name] if trace_set is not None
                                            else f"{TITLES[name]} (unavailable: {problem})")

    def update_trace(self, index: int, attrs: dict) -> None:
        if self.has_data:
            for view in self.views.values():
                view.update_trace(index, attrs)

    def set_current(self, index: int | None) -> None:
        if self.has_data:
            for view in self.views.values():
                view.set_current(index)

    def clear(self) -> None:
        self.has_data = False
