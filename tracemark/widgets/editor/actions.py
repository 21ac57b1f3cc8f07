"""Every trace-editor command, declared once with its proposed shortcuts.

:data:`EDITOR_ACTIONS` is a tuple of the shared :class:`~tracemark.widgets.actions.ActionSpec`,
so the main window puts them in its menus and its shortcut help as it does every other part's.
``TraceEditorWidget.install_actions()`` binds them to the editor with the
``WidgetWithChildrenShortcut`` context: they fire while the focus is anywhere in the editor,
and the signal viewer's keys are all different from these (checked by a test), so a key
means one thing wherever the focus is. Text
fields keep their own keys (typing "a" in the comment types an "a"); Enter or Escape in a
field hands the keys back to the editor.
"""

from __future__ import annotations

from tracemark.widgets.actions import ActionSpec

MENU = "Trace"

EDITOR_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("accept_trace", MENU, "Accept and go on", ("A",),
               "Mark the trace reviewed and accepted, then show the next unreviewed one"),
    ActionSpec("reject_trace", MENU, "Reject and go on", ("R",),
               "Mark the trace reviewed and rejected, then show the next unreviewed one"),
    ActionSpec("next_trace", MENU, "Next trace", ("N",), "Next row of the trace table",
               separator_before=True),
    ActionSpec("previous_trace", MENU, "Previous trace", ("P",), "Previous row of the trace table"),
    ActionSpec("next_unreviewed", MENU, "Next unreviewed trace", ("U",)),
    ActionSpec("first_trace", MENU, "First trace", ("Home",)),
    ActionSpec("last_trace", MENU, "Last trace", ("End",)),
    ActionSpec("onset_later", MENU, "Onset one sample later", ("Right",), separator_before=True),
    ActionSpec("onset_earlier", MENU, "Onset one sample earlier", ("Left",)),
    ActionSpec("onset_later_ms", MENU, "Onset 1 ms later", ("Shift+Right",)),
    ActionSpec("onset_earlier_ms", MENU, "Onset 1 ms earlier", ("Shift+Left",)),
    ActionSpec("estimate_peaks", MENU, "Estimate peaks", ("E",),
               "Store the extremes in the peak latency window", separator_before=True),
    ActionSpec("clear_peaks", MENU, "Clear peaks", ("Shift+E",), "Set both peaks to unknown"),
    ActionSpec("focus_comment", MENU, "Edit comment", ("C",), "Enter saves, Escape cancels",
               separator_before=True),
    ActionSpec("focus_search", MENU, "Search traces", ("/",), "Filter the trace table"),
)
