"""Every interactive widget of the live main window (viewer, trace editor, plot docks,
first-run hint, dialogs) and every command has a stable name, and docs/ui-automation.md
lists them all."""

from __future__ import annotations

import re
from pathlib import Path

from PyQt6.QtGui import QAction

from tracemark.app.about import AboutDialog
from tracemark.app.build_cache_dialog import BuildCacheDialog
from tracemark.app.preferences import PreferencesDialog
from tracemark.app.ui_names import accessible_name, interactive_widgets, name_window_parts

DOC = Path(__file__).resolve().parents[1] / "docs" / "ui-automation.md"


def documented_names() -> set[str]:
    return set(re.findall(r"`([^`\s]+)`", DOC.read_text(encoding="utf-8")))


def test_every_interactive_widget_is_named_and_documented(tracemark_window, demo_cache):
    driver = tracemark_window(demo_cache)
    window = driver.window
    assert window.recording is not None
    for dock in window.plots.docks.values():
        dock.show()
    window.viewer.events_panel.show()
    window.show_hint(force=True)
    name_window_parts(window)
    roots = [window, PreferencesDialog(window.settings, window), BuildCacheDialog(window.recording, window),
             AboutDialog(window)]
    documented = documented_names()
    seen = []
    for root in roots:
        for widget in interactive_widgets(root):
            seen.append(widget)
            where = f"{type(widget).__name__} in {type(widget.parentWidget()).__name__}"
            assert widget.objectName(), f"{where} has no objectName"
            assert accessible_name(widget), f"{widget.objectName()} ({where}) has no accessible name"
            assert widget.objectName() in documented, f"{widget.objectName()} missing from {DOC.name}"
    kinds = {type(w).__name__ for w in seen}
    assert len(seen) > 50 and {"QPushButton", "QComboBox", "QTableView", "SignalPlot"} <= kinds
    for action in window.findChildren(QAction):
        if action.objectName() and not action.objectName().startswith("qt_") and action.shortcuts():
            assert action.objectName() in documented, f"action {action.objectName()} undocumented"
