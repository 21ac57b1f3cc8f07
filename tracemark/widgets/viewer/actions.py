"""Every viewer command, declared once with its shortcuts.

:data:`VIEWER_ACTIONS` is the single list; :class:`~tracemark.widgets.actions.ActionSet`
binds it to the handlers of :class:`~.commands.ViewerCommands` and makes the menus and
the shortcut help from it.
"""

from __future__ import annotations

from tracemark.domain.annotations import LABEL_KEYS
from tracemark.widgets.actions import ActionSpec

#: The menu of the marking commands (their handlers are in :mod:`.marking`).
ANNOTATE_MENU = "Annotate"
#: Marking with a label: one action per key, named after it.
MARK_ACTIONS: tuple[ActionSpec, ...] = tuple(
    ActionSpec(f"mark_label_{key}", ANNOTATE_MENU, f"Mark with label {key}", (key,),
               f"A point event here with the label of key {key}; ends an open span; relabels the selected mark",
               separator_before=key == LABEL_KEYS[0])
    for key in LABEL_KEYS)
ANNOTATE_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("toggle_annotate", ANNOTATE_MENU, "Annotate mode", ("Ctrl+Shift+A",),
               "A left-drag on the traces draws a span with the current label", checkable=True),
    *MARK_ACTIONS,
    ActionSpec("start_span", ANNOTATE_MENU, "Start a span here", ("I",),
               "Open a span at the pointer; page on, then a label key ends it (Esc cancels)"),
    ActionSpec("delete_annotation", ANNOTATE_MENU, "Delete mark", ("Delete", "Backspace"),
               "Delete the selected mark", separator_before=True),
    ActionSpec("edit_annotation", ANNOTATE_MENU, "Edit mark…", ("F2",),
               "Label, onset, duration and channels of the selected mark (also a double-click)"),
    ActionSpec("next_annotation", ANNOTATE_MENU, "Next mark of the label", ("L",),
               "The next mark with the selected mark's label (any label when none is selected)"),
    ActionSpec("previous_annotation", ANNOTATE_MENU, "Previous mark of the label", ("Shift+L",)),
    ActionSpec("move_earlier", ANNOTATE_MENU, "Move mark earlier", (",",), "One pixel earlier",
               separator_before=True),
    ActionSpec("move_later", ANNOTATE_MENU, "Move mark later", (".",), "One pixel later"),
    ActionSpec("end_earlier", ANNOTATE_MENU, "Move mark's end earlier", ("<",), "Shorten by one pixel"),
    ActionSpec("end_later", ANNOTATE_MENU, "Move mark's end later", (">",), "Lengthen by one pixel"),
    ActionSpec("edit_labels", ANNOTATE_MENU, "Labels…", ("Ctrl+Shift+L",),
               "Add, rename, recolour, re-key or remove labels", separator_before=True),
)

#: The viewer's keys. None of them is a key of the trace editor (A, R, N, P, U, E, C,
#: Home, End, arrows, PgUp/PgDown there), so a key never means one thing in one part
#: of the window and another thing in the other. Digits mark with labels; the cursors
#: are Ctrl+1 and Ctrl+2.
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
    ActionSpec("toggle_bad_channel", "Signals", "Mark channel bad/good", ("B",),
               "Mark the selected channel bad (greyed, left out of averages) or good again; "
               "also from a right click on its name"),
    ActionSpec("choose_filters", "Signals", "Display filters…", ("Ctrl+F",), "High-pass, low-pass, notch",
               separator_before=True),
    ActionSpec("toggle_filters", "Signals", "Filters on", ("F",), "Switch the display filters on or off",
               checkable=True),
    ActionSpec("toggle_dc", "Signals", "Remove DC", ("D",),
               "Subtract each channel's mean in the window (on by default)", checkable=True),
    ActionSpec("place_cursor_a", "Measure", "Cursor A here", ("Ctrl+1",),
               "Cursor A at the pointer (mid-page when the pointer is elsewhere); also Ctrl+click"),
    ActionSpec("place_cursor_b", "Measure", "Cursor B here", ("Ctrl+2",),
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
    ActionSpec("clear_cursors", "Measure", "Clear cursors", ("Esc",),
               "Cancels a drag or an open span, or unselects the mark, first"),
    *ANNOTATE_ACTIONS,
    ActionSpec("show_shortcuts", "Help", "Keyboard shortcuts", ("F1", "?"), "List every shortcut"),
)
