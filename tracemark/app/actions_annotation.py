"""The main window's own commands, declared once, and how every command (the window's, the
trace editor's and the signal viewer's) is laid out in the menus and listed in the help.

The trace editor declares its keys in :data:`tracemark.widgets.editor.EDITOR_ACTIONS` (active
while the focus is in the editor); the viewer in ``VIEWER_ACTIONS`` (active while the focus
is in the viewer). Here: file, edit (undo/redo), view and help commands, active anywhere in
the window. Menus and the shortcut help are generated from these specs, never typed twice.
"""

from __future__ import annotations

from dataclasses import replace

from tracemark.widgets.actions import ActionSpec
from tracemark.widgets.editor import EDITOR_ACTIONS
from tracemark.widgets.viewer import VIEWER_ACTIONS

from .rater_mode import RATER_ACTIONS
from .sessions import SESSION_ACTIONS
from .spectrum_dock import SPECTRUM_ACTIONS

#: Top-level menus, left to right.
MENU_ORDER = ("File", "Edit", "View", "Go", "Annotate", "Trace", "Signals", "Measure", "Help")

WINDOW_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open_recording", "File", "Open recording…", ("Ctrl+O",), "Open a recording to view"),
    ActionSpec("open_folder", "File", "Open recording folder…", (),
               "Open a recording stored as a folder: an NWB-Zarr store (x.nwb.zarr), or a "
               "folder format such as Open Ephys"),
    ActionSpec("open_url", "File", "Open URL…", ("Ctrl+U",),
               "Open a recording on a server (https, s3 or DANDI), streamed as it is read"),
    ActionSpec("open_cache", "File", "Open trace cache…", ("Ctrl+Shift+O",),
               "Open a cache of traces to review (and its source recording when found)"),
    ActionSpec("open_demo", "File", "Open demo", (), "The demo recording and its traces"),
    ActionSpec("build_cache", "File", "Build trace cache from recording…", ("Ctrl+B",),
               "Cut traces around events of the open recording into a new cache",
               separator_before=True),
    ActionSpec("export_csv", "File", "Export table as CSV…", ("Ctrl+Shift+E",),
               "One row per trace with every attribute"),
    ActionSpec("export_page", "File", "Export page…", (),
               "The page of traces on screen as a PDF, PNG or SVG, ready to print",
               separator_before=True),
    ActionSpec("export_segment", "File", "Export segment…", (),
               "The span between the cursors (or the page) as EDF+ or CSV, with its events"),
    ActionSpec("print_page", "File", "Print…", ("Ctrl+P",), "Print the page of traces on screen"),
    ActionSpec("close_all", "File", "Close", ("Ctrl+W",), "Close the recording and the cache",
               separator_before=True),
    ActionSpec("quit", "File", "Quit", ("Ctrl+Q",), separator_before=True),
    ActionSpec("undo", "Edit", "Undo", ("Ctrl+Z",), "Undo the last edit (saved at once)"),
    ActionSpec("redo", "Edit", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo the last undone edit"),
    ActionSpec("preferences", "Edit", "Preferences…", ("Ctrl+,",),
               "Examiner name and peak latency window", separator_before=True),
    ActionSpec("focus_editor", "View", "Focus trace editor", ("F6",),
               "Trace keys (A, R, N, ...) act on the trace editor", separator_before=True),
    ActionSpec("focus_viewer", "View", "Focus signal viewer", ("Shift+F6",),
               "Viewer keys (PgDown, +, -, ...) act on the recording"),
    ActionSpec("import_marks", "Annotate", "Import annotations…", (),
               "Add events, spans and bad channels from a BIDS, EDF+, CSV or MNE file",
               separator_before=True),
    ActionSpec("export_marks", "Annotate", "Export annotations…", (),
               "Your marks as BIDS events and channels, EDF+, CSV, MNE text or NWB intervals"),
    ActionSpec("choose_marks_file", "Annotate", "Annotation file…", (),
               "Keep this recording's marks in a file you choose (by default: your data folder)"),
    ActionSpec("show_hint", "Help", "Getting started", (), "The main keys, in a short note"),
    ActionSpec("about", "Help", "About Tracemark", ()),
)

#: Editor commands that move between traces go in the Go menu; the rest in Trace.
GO_ACTIONS = frozenset({"next_trace", "previous_trace", "next_unreviewed", "first_trace",
                        "last_trace", "focus_search"})

#: Help in the editor's context (the viewer's F1 acts only while the viewer has the focus).
EDITOR_HELP = (ActionSpec("editor_help", "Help", "All keyboard shortcuts", ("F1",),
                          "Every command of the window; F1 in the trace editor"),)


def menu_of(spec: ActionSpec) -> str:
    """The menu an action appears in."""
    if spec.name in GO_ACTIONS:
        return "Go"
    if spec.menu == "Navigate":
        return "Go"
    return spec.menu


def help_specs() -> list[ActionSpec]:
    """Every command of the window for the shortcut help, labelled with the menu it is in
    (and, for keys that depend on the focus, where they act)."""
    specs = [replace(s, menu=menu_of(s))
             for s in (*WINDOW_ACTIONS, *SESSION_ACTIONS, *SPECTRUM_ACTIONS, *RATER_ACTIONS)]
    specs += [replace(s, menu=f"{menu_of(s)} (trace editor)") for s in EDITOR_ACTIONS]
    specs += [replace(s, menu=f"{menu_of(s)} (signal viewer)") for s in VIEWER_ACTIONS]
    return specs


def populate(action_set, menus: dict, menu_for=menu_of) -> None:
    """Add ``action_set``'s actions to ``menus`` (name -> QMenu) by ``menu_for(spec)``."""
    for spec in action_set.specs:
        menu = menus[menu_for(spec)]
        if spec.separator_before and not menu.isEmpty():
            menu.addSeparator()
        menu.addAction(action_set[spec.name])
