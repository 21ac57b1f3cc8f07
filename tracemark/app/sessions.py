"""Reading sessions: a recording reopens where the person left it.

Between the viewer's models and :mod:`.session_store`: :func:`capture` reads what the
person set up (page, span, time axis, montage, channels and their order, rows per page,
display filters, clipping, the sensitivities they chose, panels and docks) into a
:class:`~.session_store.ViewState`; :func:`apply_state` puts one back on a freshly opened
source, as far as it still applies (channels that are gone are dropped, the page is
clamped to the recording, a montage keeps the derivations whose channels remain).

:class:`ViewSessions`, one per main window, decides when: a session is restored when a
recording's stream is shown, saved a moment after each change (so a crash loses at most
:data:`SAVE_AFTER_MS`), and when the recording is closed, another is opened or the window
closes. A session file that cannot be read is ignored with a note in the status bar and
the log; a view is never worth an error dialog.

Sensitivities measured from the data are measured again on each opening; only those the
person chose are kept. They are put back once the measured ones are in place (the first
page drawn), since the measurement would otherwise overwrite them.
"""

from __future__ import annotations

import logging
import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

from PyQt6.QtCore import QObject, QTimer
from PyQt6.QtWidgets import QDockWidget

from tracemark.dsp.filters import DisplayFilter
from tracemark.dsp.montage import Montage, MontageError
from tracemark.widgets.actions import ActionSpec
from tracemark.widgets.viewer.view_model import TIME_CLOCK, TIME_SECONDS
from tracemark.widgets.viewer.viewer import DEFAULT_DISPLAY_FILTER

from .session_store import SessionFileError, SessionStore, ViewState
from .viewer_source import RecordingSource

log = logging.getLogger(__name__)

#: The longest a change waits before it is saved (changes in between are saved together).
SAVE_AFTER_MS = 2000
#: The viewer's panels kept with a session, by the name of the action that shows them.
PANEL_ACTIONS = ("toggle_events_panel", "toggle_measurements")

SESSION_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("reset_view", "File", "Reset view (forget this recording's session)", (),
               "Back to the default page, montage, filters, channels and scales; the view "
               "saved for this recording is deleted"),
)


# -- capture -------------------------------------------------------------------------------
def capture(viewer, docks: dict[str, QDockWidget], bad_channels: tuple[str, ...] = ()) -> ViewState:
    """What the person has set up in ``viewer`` (showing a source) and which ``docks`` are open."""
    model, source = viewer.model, viewer.source
    window, channels, display = model.window, model.channels, model.display
    labels = viewer.row_labels()
    order = channels.order
    shown = set(order)
    display_filter = display.display_filter
    return ViewState(
        start_s=window.start_s, span_s=window.span_s, time_mode=window.time_mode,
        montage=None if display.montage is None else display.montage.to_dict(),
        shown_channels=tuple(labels[r] for r in order),
        hidden_channels=tuple(label for r, label in enumerate(labels) if r not in shown),
        rows_per_page=channels.per_page,
        first_row=labels[order[channels.first]] if channels.first < len(order) else "",
        selected_channel=labels[channels.selected] if 0 <= channels.selected < len(labels) else "",
        display_filter=None if display_filter is None else asdict(display_filter),
        filters_enabled=viewer.filters_enabled,
        clipping=viewer.plot.clip_rows is not None,
        sensitivities=chosen_sensitivities(viewer),
        panels={name: viewer.actions[name].isChecked() for name in PANEL_ACTIONS if name in viewer.actions},
        docks={name: dock.toggleViewAction().isChecked() for name, dock in docks.items()},
        bad_channels=bad_channels,
        channel_names=tuple(source.channel_names),
        duration_s=window.duration_s)


def chosen_sensitivities(viewer) -> dict[str, float]:
    """The sensitivities the person chose: those that differ from what the viewer measures
    for the group at this row height and from the preferences' first sensitivity. Before
    the measurement has answered nothing on screen was chosen on this recording."""
    channels = viewer.model.channels
    chosen = {}
    for group, value in channels.sensitivities.items():
        if group not in channels.groups:
            continue   # a group of a recording shown earlier
        measured = viewer.automatic_sensitivity(group)
        if measured is None:
            return {}
        preferred = viewer.preferred_sensitivities.get(group)
        if not math.isclose(value, measured) and not (preferred and math.isclose(value, preferred)):
            chosen[group] = value
    return chosen


# -- restore -------------------------------------------------------------------------------
def apply_state(viewer, state: ViewState, docks: dict[str, QDockWidget]) -> list[str]:
    """Put ``state`` back on ``viewer`` (just given its source), as far as it applies; the
    notes say what did not. Sensitivities are left to the caller (see the module docstring)."""
    notes: list[str] = []
    model, source = viewer.model, viewer.source
    if state.time_mode == TIME_SECONDS or (state.time_mode == TIME_CLOCK and source.start_datetime is not None):
        model.window.set_time_mode(state.time_mode)
    if state.montage is not None:
        montage, note = montage_that_applies(state.montage, source.channel_names)
        model.display.set_montage(montage)
        notes += [note] if note else []
    _apply_channels(viewer, state)
    notes += _apply_filter(viewer, state)
    viewer.actions["toggle_clipping"].setChecked(state.clipping)
    model.window.set_span(state.span_s)
    model.window.set_start(state.start_s)   # clamped to the recording as it is now
    for name, shown in state.panels.items():
        if name in PANEL_ACTIONS and name in viewer.actions:
            viewer.actions[name].setChecked(shown)
    for name, shown in state.docks.items():
        if name in docks:
            docks[name].setVisible(shown)
    return notes


def montage_that_applies(data: dict, channel_names) -> tuple[Montage | None, str]:
    """The saved montage, keeping the derivations whose channels the recording still has;
    with a note when some (or all) were dropped."""
    try:
        montage = Montage.from_dict(data)
    except MontageError as error:
        return None, f"its montage could not be read ({error})"
    try:
        montage.matrix(channel_names)
        return montage, ""
    except MontageError:
        pass
    kept = []
    for derivation in montage.derivations:
        try:
            Montage(montage.name, (derivation,)).matrix(channel_names)
        except MontageError:
            continue
        kept.append(derivation)
    if not kept:
        return None, f"montage {montage.name} no longer applies"
    dropped = len(montage.derivations) - len(kept)
    return Montage(montage.name, tuple(kept)), f"montage {montage.name}: {dropped} derivation(s) dropped"


def _apply_channels(viewer, state: ViewState) -> None:
    """Order, hidden rows, rows per page, selection and first row, by label. A row the
    session does not know (a channel new to the recording) keeps its default place."""
    channels = viewer.model.channels
    labels = viewer.row_labels()
    row_of: dict[str, int] = {}
    for row, label in enumerate(labels):
        row_of.setdefault(label, row)
    if state.shown_channels:
        known = set(state.shown_channels) | set(state.hidden_channels)
        order = [row_of[label] for label in state.shown_channels if label in row_of]
        order += [row for row in channels.order if labels[row] not in known]
        order = list(dict.fromkeys(order))
        if order:
            channels.set_order(order)
    if state.rows_per_page > 0:
        channels.set_per_page(state.rows_per_page)
    if row_of.get(state.selected_channel, -1) in channels.order:
        channels.set_selected(row_of[state.selected_channel])
    if row_of.get(state.first_row, -1) in channels.order:
        channels.set_first(channels.order.index(row_of[state.first_row]))


def _apply_filter(viewer, state: ViewState) -> list[str]:
    display = viewer.model.display
    if state.display_filter is None:
        display.set_display_filter(None)
    else:
        try:
            display_filter = DisplayFilter(**state.display_filter)
            display_filter.validate(viewer.source.sampling_rate)
        except (TypeError, ValueError) as error:
            return [f"its display filter was not restored ({error})"]
        display.set_display_filter(display_filter)
    viewer.actions["toggle_filters"].setChecked(state.filters_enabled)
    return []


def apply_defaults(viewer) -> None:
    """The settings a recording opens with when it has no session (what ``set_source``
    leaves as they were for the recording shown before)."""
    viewer.model.display.set_display_filter(DEFAULT_DISPLAY_FILTER)
    viewer.actions["toggle_filters"].setChecked(True)
    viewer.actions["toggle_clipping"].setChecked(True)
    viewer.model.window.set_time_mode(TIME_SECONDS)


def format_position(seconds: float) -> str:
    """``"00:12:30"``: where a recording was left, from its start."""
    whole = max(int(seconds), 0)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def session_key(source) -> tuple[Path, str] | None:
    """The recording file and stream a source shows; None for what has no session (a
    recording of events only, a source that is not a file)."""
    if isinstance(source, RecordingSource):
        return Path(source.recording.path), source.header.stream_id
    return None


# -- when --------------------------------------------------------------------------------------
class ViewSessions(QObject):
    """Restores and saves the session of the recording shown in ``window``'s viewer."""

    def __init__(self, window, store: SessionStore | None = None):
        super().__init__(window)
        self.window = window
        self.viewer = window.viewer
        self.store = store or SessionStore()
        self._shown: tuple[Path, str] | None = None
        self._dirty = False
        self._restoring = False
        self._pending_sensitivities: dict[str, float] = {}
        self._saved_sensitivities: dict[str, float] = {}
        self._bad_channels: tuple[str, ...] = ()
        # One writer thread: writes land in the order they were asked for, and the fsync
        # (tens of milliseconds on a busy disk) never holds up the page while scrolling.
        self._writer: ThreadPoolExecutor | None = None   # started at the first write
        #: Paths whose write on the writer thread failed (a plain list: the writer thread
        #: must hold no reference to a Qt object, or it could be the one to delete it).
        self._failed_writes: list[Path] = []
        self._save_timer = QTimer(self, singleShot=True, interval=SAVE_AFTER_MS)
        self._save_timer.timeout.connect(self._save_in_background)   # a method: see gui_gc
        self.viewer.source_changed.connect(self._source_shown)
        self.viewer.page_drawn.connect(lambda _result: self._apply_pending_sensitivities())
        self._watch_changes()

    def docks(self) -> dict[str, QDockWidget]:
        return {dock.objectName(): dock for dock in self.window.findChildren(QDockWidget)
                if dock.objectName()}

    def _watch_changes(self) -> None:
        model = self.viewer.model
        signals = [model.window.start_changed, model.window.span_changed, model.window.time_mode_changed,
                   model.channels.order_changed, model.channels.first_changed,
                   model.channels.per_page_changed, model.channels.selected_changed,
                   model.display.montage_changed,
                   model.display.display_filter_changed]
        signals += [self.viewer.actions[name].toggled for name in ("toggle_filters", "toggle_clipping",
                                                                   *PANEL_ACTIONS)
                    if name in self.viewer.actions]
        signals += [dock.toggleViewAction().toggled for dock in self.docks().values()]
        for signal in signals:
            signal.connect(self._changed)
        model.channels.sensitivities_changed.connect(self._sensitivities_changed)

    def _sensitivities_changed(self, _values) -> None:
        # The viewer sets the measured ones itself (on opening, as rows change height):
        # only a change of what the person chose is worth saving.
        if chosen_sensitivities(self.viewer) != self._saved_sensitivities:
            self._changed()

    def _changed(self, *_args) -> None:
        if self._restoring or self._shown is None:
            return
        self._dirty = True
        if not self._save_timer.isActive():   # not restarted: steady scrolling still saves
            self._save_timer.start()

    # -- saving ------------------------------------------------------------------------------
    def save_now(self, wait: bool = True) -> None:
        """Write the session of the recording shown, when it changed since it was opened:
        before returning (``wait``: on closing, switching, quitting), or on the writer thread."""
        self._save_timer.stop()
        if self._failed_writes:   # tried again, and told this time if it fails again
            self._failed_writes.clear()
            self._dirty = True
        if self._shown is None or not self._dirty or self.viewer.source is None:
            return
        path, stream = self._shown
        state = capture(self.viewer, self.docks(), self._bad_channels)
        if self._pending_sensitivities:   # closed before they could be put back: keep them
            state = _with_sensitivities(state, self._pending_sensitivities)
        self._dirty = False
        self._saved_sensitivities = state.sensitivities
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="session-writer")
        written = self._writer.submit(self.store.save, path, stream, state)
        if not wait:
            written.add_done_callback(partial(_note_failure, path=path, failed=self._failed_writes))
            return
        try:
            written.result()
        except OSError as error:
            self._dirty = True
            log.warning("cannot save the view of %s: %s", path, error)
            self.window.set_status(f"Could not save the view of {path.name}: {error.strerror or error}")


    def _save_in_background(self) -> None:
        self.save_now(wait=False)

    def shutdown(self) -> None:
        """For the window's close, after the last save: writes asked for finish, then the
        writer thread ends."""
        self._save_timer.stop()
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    # -- restoring ---------------------------------------------------------------------------
    def _source_shown(self, source) -> None:
        self._save_timer.stop()
        self._dirty = False
        self._pending_sensitivities = {}
        self._saved_sensitivities = {}
        self._bad_channels = ()
        self._shown = session_key(source)
        if self._shown is None:
            return
        path, stream = self._shown
        try:
            session = self.store.load(path)
        except SessionFileError as error:
            log.warning("ignored the saved view of %s: %s", path, error)
            self.window.set_status(f"The saved view of {path.name} was ignored: it {error.problem}")
            return
        state = session.streams.get(stream) if session is not None else None
        if state is not None:
            self._restore(path, source, state)

    def _restore(self, path: Path, source, state: ViewState) -> None:
        self._restoring = True
        try:
            notes = apply_state(self.viewer, state, self.docks())
        except (ValueError, TypeError, KeyError, IndexError) as error:
            # Values no check foresaw: the part restored stays, the rest is the default.
            log.warning("the saved view of %s was restored in part: %s", path, error)
            notes = [f"part of it could not be restored ({error})"]
        finally:
            self._restoring = False
        self._bad_channels = state.bad_channels
        self._pending_sensitivities = dict(state.sensitivities)
        self._saved_sensitivities = dict(state.sensitivities)
        changed = (tuple(state.channel_names) != tuple(source.channel_names)
                   or not math.isclose(state.duration_s, self.viewer.model.window.duration_s, abs_tol=1e-6))
        text = f"Reopened {path.name} at {format_position(self.viewer.model.window.start_s)}, as you left it"
        if changed:
            text += "; the recording has changed since, so what no longer applies was left out"
            notes = notes + [f"it now has {len(source.channel_names)} channels"]
        if notes:
            text += " (" + "; ".join(notes) + ")"
        self.window.set_status(text)

    def _apply_pending_sensitivities(self) -> None:
        if not self._pending_sensitivities:   # (a page is drawn only once they are measured)
            return
        groups = set(self.viewer.model.channels.groups)
        chosen = {g: v for g, v in self._pending_sensitivities.items() if g in groups}
        self._pending_sensitivities = {}
        self._restoring = True
        try:
            self.viewer.model.channels.set_sensitivities(chosen)
        finally:
            self._restoring = False

    # -- commands ------------------------------------------------------------------------------
    def reset_view(self) -> None:
        """File › Reset view: forget the recording's session and show it as first opened."""
        if self._shown is None or not isinstance(self.viewer.source, RecordingSource):
            return
        path, _stream = self._shown
        self._save_timer.stop()
        try:
            self.store.forget(path)
        except OSError as error:
            self.window.set_status(f"Could not forget the view of {path.name}: {error.strerror or error}")
            return
        self._shown = None   # nothing to save on the way out
        self.window.opener.show_stream(self.viewer.source.stream_index)
        self._restoring = True
        try:
            apply_defaults(self.viewer)
        finally:
            self._restoring = False
        self.window.set_status(f"View of {path.name} reset; its saved session was deleted")

    def recent_position(self, recording: str | Path) -> str:
        """Where ``recording`` was left (``"00:12:30"``), or "" when nothing is known."""
        try:
            session = self.store.load(recording)
        except SessionFileError:
            return ""
        state = session.last_state() if session is not None else None
        return format_position(state.start_s) if state is not None else ""


def _note_failure(future: Future, *, path: Path, failed: list[Path]) -> None:
    """(On the writer thread.) A failed write is logged; the next save tries again and
    says so in the status bar if it fails again."""
    error = future.exception()
    if error is not None:
        log.warning("cannot save the view of %s: %s", path, error)
        failed.append(path)


def _with_sensitivities(state: ViewState, sensitivities: dict[str, float]) -> ViewState:
    return replace(state, sensitivities={**sensitivities, **state.sensitivities})
