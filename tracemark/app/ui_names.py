"""Stable names for automated UI tests: the objectName and accessible name of every
interactive part of the main window, including parts of the viewer and the plot views that
those widgets leave unnamed (named here, where they are composed).

``interactive_widgets(window)`` is the walk the test suite runs and ``docs/ui-automation.md``
lists: every button, field, list, table and plot a person can act on, leaving out the
pieces Qt builds inside composite widgets (a spin box's line edit, a combo box's popup, a
line edit's clear button, table headers).
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QGraphicsView,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QSlider,
    QTabBar,
    QTextEdit,
    QWidget,
)

INTERACTIVE = (QAbstractButton, QLineEdit, QAbstractSpinBox, QComboBox, QAbstractItemView,
               QGraphicsView, QSlider, QTextEdit, QPlainTextEdit, QTabBar)
_COMPOSITE = (QComboBox, QAbstractSpinBox, QHeaderView, QTabBar, QLineEdit)

PLOT_FIGURES = {"average": "Average figure", "measures": "Measures figure",
                "recruitment": "Recruitment figure", "map": "Coil map figure"}


def name(widget: QWidget, object_name: str, accessible: str) -> None:
    if not widget.objectName():
        widget.setObjectName(object_name)
    if not widget.accessibleName():
        widget.setAccessibleName(accessible)


def name_window_parts(window) -> None:
    """Name what the viewer and the plot views leave unnamed (idempotent)."""
    viewer = window.viewer
    name(viewer, "SignalViewer", "Signal viewer")
    name(viewer.plot, "viewer.plot", "Signal traces")
    name(viewer.overview.plot, "viewer.overview", "Recording overview")
    name(viewer.overview.stop_button, "viewer.overview.stop", "Stop building the overview")
    name(viewer.events_panel.filter_edit, "viewer.events.filter", "Filter events")
    name(viewer.events_panel.table, "viewer.events.table", "Events")
    for key, view in window.plots.views.items():
        name(view.graphics, f"{key}View.figure", PLOT_FIGURES[key])
    # The tabs of docked plot views are the window's own children: no walk of every widget
    # in the window (this runs as each recording opens).
    for bar in window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
        name(bar, "plotDockTabs", "Plot views")


def accessible_name(widget: QWidget) -> str:
    """The name assistive technology reads: set explicitly, or a button's own text."""
    text = widget.accessibleName()
    if not text and isinstance(widget, QAbstractButton):
        text = widget.text().replace("&", "").strip()
    return text


def _is_internal(widget: QWidget) -> bool:
    if isinstance(widget, QHeaderView) or widget.objectName().startswith("qt_"):
        return True
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, _COMPOSITE):
            return True
        parent = parent.parentWidget()
    return False


def interactive_widgets(root: QWidget) -> list[QWidget]:
    return [w for w in root.findChildren(QWidget) if isinstance(w, INTERACTIVE) and not _is_internal(w)]


def container_of(widget: QWidget, root: QWidget) -> str:
    """The nearest named ancestor that says which part of the window a widget is in."""
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        if parent.objectName() in CONTAINERS:
            return CONTAINERS[parent.objectName()]
        parent = parent.parentWidget()
    return CONTAINERS.get(root.objectName(), "main window")


CONTAINERS = {"SignalViewer": "signal viewer", "traceEditor": "trace editor",
              "dock.average": "Average dock", "dock.measures": "Measures dock",
              "dock.recruitment": "Recruitment dock", "dock.map": "Coil map dock",
              "firstRunHint": "first-run hint", "buildCacheDialog": "Build trace cache dialog",
              "preferencesDialog": "Preferences dialog", "aboutDialog": "About dialog"}


def inventory(root: QWidget) -> list[tuple[str, str, str, str]]:
    """(container, objectName, accessible name, widget class) of every interactive widget."""
    rows = {(container_of(w, root), w.objectName(), accessible_name(w), type(w).__name__)
            for w in interactive_widgets(root)}
    return sorted(rows)
