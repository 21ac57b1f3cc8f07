"""The four plot views (average, measures, recruitment, map) as dock widgets of the main
window, kept live: each confirmed edit reaches them through ``update_trace``, the trace on
screen through ``set_current``, and a click on a point or trace asks the editor to open it.

The docks start hidden (the window's first job is review); the View menu shows them and
QSettings remembers where the person put them. A view is built when its dock is first
shown (``views[name]`` builds it on demand too): the four of them are eight pyqtgraph
plots, 0.19 s of the window's start-up that a person who only looks at a recording should
not wait for.

The Agreement dock (``agreement``) sits with them but shows the raters of the cache, not
its traces: it takes no trace set and no edits. When it is shown, or its Refresh button is
pressed, ``agreement_refresh_requested`` asks the window for a report, which it hands back
through ``set_agreement``; its view too is built when first shown.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import QDockWidget, QMainWindow

#: Pause in navigation (ms) after which visible plot views catch up.
COALESCE_MS = 120

#: The largest share of the window's width a dock takes when it is shown.
DOCK_SHARE = 0.3

TITLES = {"average": "Average", "measures": "Measures", "recruitment": "Recruitment",
          "map": "Coil map"}
#: The views, in dock order (their classes are imported when a view is first built).
VIEW_NAMES = tuple(TITLES)
AGREEMENT_TITLE = "Agreement"


class _Views(Mapping):
    """The views by name: looking one up builds it; iterating lists those already built."""

    def __init__(self, docks: PlotDocks):
        self._docks = docks
        self.built: dict[str, Any] = {}

    def __getitem__(self, name: str):
        return self._docks.view(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.built))

    def __len__(self) -> int:
        return len(self.built)


class PlotDocks(QObject):
    trace_selected = pyqtSignal(int)
    #: A view was built (its dock shown for the first time): name it, style it.
    view_built = pyqtSignal(str)
    #: The Agreement dock wants a fresh report (it was shown, or Refresh was pressed).
    agreement_refresh_requested = pyqtSignal()

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self.views = _Views(self)
        self.docks: dict[str, QDockWidget] = {}
        for name in VIEW_NAMES:
            dock = QDockWidget(TITLES[name], window)
            dock.setObjectName(f"dock.{name}")
            dock.setAccessibleName(f"{TITLES[name]} plot")
            dock.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
            window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            dock.hide()
            self.docks[name] = dock
        docks = list(self.docks.values())
        for other in docks[1:]:
            window.tabifyDockWidget(docks[0], other)
        self.agreement_dock = self._add_agreement_dock(docks[0])
        self.has_data = False
        self._trace_set = None
        self._pending: dict[str, dict[int, dict]] = {name: {} for name in VIEW_NAMES}
        self._stale: set[str] = set()
        self._current: int | None = None
        self._current_dirty: set[str] = set()
        self._timer = QTimer(self, singleShot=True, interval=COALESCE_MS)
        self._timer.timeout.connect(self.flush)
        for dock in self.docks.values():
            # A method, not a lambda: a dock also says it is hidden while its window is
            # deleted, when a lambda's captured names may already be cleared (widgets/gui_gc).
            dock.visibilityChanged.connect(self._dock_visibility)

    def _dock_visibility(self, visible: bool) -> None:
        """A plot dock was shown: build its view, keep it narrow and draw what is pending."""
        name = next((name for name, dock in self.docks.items() if dock is self.sender()), None)
        if not visible or name is None:
            return
        self.view(name)
        self._keep_narrow(self.docks[name])
        self._timer.start()

    def view(self, name: str):
        """The view of dock ``name``, built (and put in its dock) on first use."""
        view = self.views.built.get(name)
        if view is None:
            from tracemark.widgets.plots import VIEWS  # noqa: PLC0415 (see the module docstring)

            view = VIEWS[name]()
            view.trace_selected.connect(self.trace_selected)
            self.docks[name].setWidget(view)
            self.views.built[name] = view
            self.view_built.emit(name)
        return view

    def _add_agreement_dock(self, neighbour: QDockWidget) -> QDockWidget:
        dock = QDockWidget(AGREEMENT_TITLE, self.window)
        dock.setObjectName("dock.agreement")
        dock.setAccessibleName("Agreement between raters")
        dock.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.hide()
        self.window.tabifyDockWidget(neighbour, dock)
        self.agreement_view_built = None
        self._agreement: tuple[Any, str] = (None, "")
        dock.visibilityChanged.connect(self._agreement_visibility)
        return dock

    def _agreement_visibility(self, visible: bool) -> None:
        if visible:
            self.agreement_view()
            self._keep_narrow(self.agreement_dock)
            self.agreement_refresh_requested.emit()

    def agreement_view(self):
        """The Agreement dock's view, built (with the last report) on first use."""
        if self.agreement_view_built is None:
            from tracemark.widgets.plots.agreement_view import AgreementView  # noqa: PLC0415

            view = AgreementView()
            view.refresh_requested.connect(self.agreement_refresh_requested)
            view.trace_selected.connect(self.trace_selected)
            view.set_report(*self._agreement)
            self.agreement_dock.setWidget(view)
            self.agreement_view_built = view
        return self.agreement_view_built

    def set_agreement(self, report, problem: str = "") -> None:
        """Show ``report`` (an ``AgreementReport``; None with ``problem`` saying why there
        is none) in the Agreement dock, now if its view is built, else when it is."""
        self._agreement = (report, problem)
        if self.agreement_view_built is not None:
            self.agreement_view_built.set_report(report, problem)

    @property
    def agreement_wanted(self) -> bool:
        """Whether the Agreement dock is on screen, so that a new report is worth computing."""
        return self.agreement_dock.isVisible()

    def _keep_narrow(self, dock: QDockWidget) -> None:
        """A dock shown takes at most :data:`DOCK_SHARE` of the window: docked at its own
        size hint, the Average view took half a laptop screen from the recording."""
        width = self.window.width()
        if dock.isFloating() or dock.width() <= DOCK_SHARE * width * 1.15:
            return
        self.window.resizeDocks([dock], [int(DOCK_SHARE * width)], Qt.Orientation.Horizontal)

    def toggle_actions(self) -> list:
        """One checkable action per dock, for the View menu."""
        return [dock.toggleViewAction() for dock in [*self.docks.values(), self.agreement_dock]]

    # Views redraw much of their figure on each change (tens of ms for 10,000 traces), so
    # changes reach a view only while its dock is visible, coalesced over a short pause
    # in navigation; a hidden view catches up when shown. The trace on screen never waits.
    def set_data(self, trace_set, problem: str = "") -> None:
        self.has_data = trace_set is not None
        self._trace_set = trace_set
        self._pending = {name: {} for name in VIEW_NAMES}
        self._stale = set(VIEW_NAMES) if trace_set is not None else set()
        self._current = None
        for name in VIEW_NAMES:
            self.docks[name].setWindowTitle(TITLES[name] if trace_set is not None
                                            else f"{TITLES[name]} (unavailable: {problem})")
        self._schedule()

    def update_trace(self, index: int, attrs: dict) -> None:
        if self.has_data:
            for pending in self._pending.values():
                pending[index] = dict(attrs)
            self._schedule()

    def set_current(self, index: int | None) -> None:
        if self.has_data:
            self._current = index
            self._current_dirty = set(VIEW_NAMES)
            self._schedule()

    def clear(self) -> None:
        self.has_data = False
        self._trace_set = None

    def flush(self) -> None:
        """Bring every visible view up to date now."""
        self._timer.stop()
        if not self.has_data:
            return
        for name in VIEW_NAMES:
            if not self.docks[name].isVisible():
                continue
            view = self.view(name)
            if name in self._stale:
                view.set_data(self._trace_set)
                self._stale.discard(name)
            pending, self._pending[name] = self._pending[name], {}
            for index, attrs in pending.items():
                view.update_trace(index, attrs)
            if name in self._current_dirty:
                view.set_current(self._current)
                self._current_dirty.discard(name)

    def _schedule(self) -> None:
        if any(dock.isVisible() for dock in self.docks.values()):
            self._timer.start()
