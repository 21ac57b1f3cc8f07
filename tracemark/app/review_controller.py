"""The review loop: which trace is on screen, and what happens after each edit.

Connects an :class:`AnnotationSession` (the cache) to the trace editor, the viewer link and
the plot docks. The editor only asks (``trace_requested``, ``edit_requested``,
``navigation_requested``); this controller saves each edit as one transaction, then
confirms it to every view (table row, trace, plots). After an accept or reject it moves on
to the next unreviewed trace, so one key is one decision. A refused edit is shown as a
dialog naming the file and the problem, and the trace is redrawn as stored, so nothing
unsaved ever looks saved.

Messages name traces by their number from 1 (:mod:`tracemark.domain.trace_numbers`), as
the editor's header and table do, and tell counts as :mod:`tracemark.domain.review` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from tracemark.domain import trace_attributes as keys
from tracemark.domain.review import ACCEPTED, REJECTED
from tracemark.domain.trace_attributes import is_rejected
from tracemark.domain.trace_numbers import describe_traces, trace_label
from tracemark.io_backends.cache import CacheError
from tracemark.widgets.editor import TraceEditorWidget, TraceView

from .annotation_session import AnnotationSession, LoadedTable
from .viewer_link import ViewerLink

VIEWER_FOLLOW_MS = 16


class ReviewController(QObject):
    #: Index of the trace now on screen.
    current_changed = pyqtSignal(int)
    #: A short line for the status bar.
    status = pyqtSignal(str)

    def __init__(self, session: AnnotationSession, editor: TraceEditorWidget, link: ViewerLink,
                 show_error: Callable[[str, str], Any], parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.editor = editor
        self.link = link
        self.plots = None
        self.show_error = show_error
        self.current: int | None = None
        self._skip_redraw: int | None = None
        #: Returns the examiner name to record with each decision ("" = none).
        self.examiner: Callable[[], str] = lambda: ""
        # The continuous viewer follows the trace one frame (16 ms) after the editor has
        # painted it: the trace a person is deciding on appears first, and a burst of key
        # presses moves the viewer once, to where the burst ended.
        self._viewer_follow = QTimer(self)
        self._viewer_follow.setSingleShot(True)
        self._viewer_follow.setInterval(VIEWER_FOLLOW_MS)
        self._viewer_follow.timeout.connect(self._follow_in_viewer)
        self._viewer_pending: tuple[int, dict] | None = None
        self._told_unreadable = False
        editor.set_read_only(session.read_only_reason)
        link.set_editable(session.writable)
        editor.trace_requested.connect(self.show)
        editor.edit_requested.connect(self.edit)
        editor.navigation_requested.connect(self.navigate)
        link.onset_dragged.connect(lambda index, shift: self.edit(index, {keys.ONSET_SHIFT: shift}))
        session.trace_changed.connect(self._confirmed)
        session.table_loaded.connect(self._table_loaded)

    def disconnect_all(self) -> None:
        for signal, slot in ((self.editor.trace_requested, self.show),
                             (self.editor.edit_requested, self.edit),
                             (self.editor.navigation_requested, self.navigate)):
            try:
                signal.disconnect(slot)
            except TypeError:
                pass
        try:
            self.link.onset_dragged.disconnect()
        except TypeError:
            pass
        self.link.clear()

    def set_plots(self, plots) -> None:
        self.plots = plots
        plots.trace_selected.connect(self.show)

    # -- showing -----------------------------------------------------------------------------
    def show(self, index: int) -> None:
        """Put trace ``index`` on screen: editor, table row, viewer and plots."""
        if not 0 <= index < len(self.session):
            return
        self.current = index
        view, attrs = self._view(index)
        self.editor.set_trace(view)
        self._viewer_pending = (index, attrs)
        self._viewer_follow.start()
        if self.plots is not None:
            self.plots.set_current(index)
        self.current_changed.emit(index)

    def _view(self, index: int, attrs: dict | None = None) -> tuple[TraceView, dict]:
        """Trace ``index`` as the editor shows it; a damaged trace becomes a blank one
        carrying what could be read, and the person is told which and why."""
        try:
            attrs = self.session.attrs(index) if attrs is None else attrs
            return self.session.trace_view(index, attrs), attrs
        except (CacheError, ValueError) as error:
            attrs = attrs or {}
            problem = getattr(error, "problem", str(error))
            self.status.emit(f"{trace_label(index)} cannot be shown: {problem}")
            if not self._told_unreadable:   # once per cache: every trace may share the damage
                self._told_unreadable = True
                self.show_error(f"Cannot show {trace_label(index).lower()}",
                                f"{self.session.path}\n\n{problem}\n\nThe trace's attributes "
                                f"are shown; its samples are not.")
            return self.session.unreadable_view(index, attrs), attrs

    def _follow_in_viewer(self) -> None:
        if self._viewer_pending is None:
            return
        index, attrs = self._viewer_pending
        self._viewer_pending = None
        if index == self.current:
            self.link.show_trace(index, self.session.origin_of(index), attrs)

    def _table_loaded(self, table: LoadedTable) -> None:
        self.editor.set_traces(table.rows)
        if table.unreadable:
            n = len(table.unreadable)
            listed = describe_traces(table.unreadable)
            self.show_error(f"Cannot read every trace of {self.session.path.name}",
                            f"{self.session.path}\n\nThe attributes of {n} of {len(table.rows)} "
                            f"traces cannot be read ({listed}): {table.read_problem}\n\n"
                            f"{'It is' if n == 1 else 'They are'} listed as unreviewed.")
        if self.plots is not None:
            self.plots.set_data(table.trace_set, table.plot_problem)
        if self.current is None or self.current >= len(self.session):
            first = self.editor.resolve_navigation("next_unreviewed")
            self.show(first if first is not None else 0)
        else:
            self.editor.table.set_current(self.current)
        self.status.emit(f"{len(table.rows)} traces: {self.editor.review_counts().describe()}")

    def navigate(self, kind: str) -> None:
        target = self.editor.resolve_navigation(kind)
        if target is None:
            if kind == "next_unreviewed":
                self.status.emit("Every trace has been reviewed.")
            return
        self.show(target)

    # -- editing -----------------------------------------------------------------------------
    def edit(self, index: int, values: dict) -> None:
        """One edit = one durable transaction, then confirmation (or a dialog saying why not)."""
        if not self.session.writable:
            self.status.emit(f"Read-only: {self.session.read_only_reason}")
            return
        values = dict(values)
        if keys.REVIEWED in values:
            name = self.examiner()
            if name and self.session.row(index).examiner != name:
                values[keys.EXAMINER] = name   # who decided, in the same transaction
        moving_on = keys.REVIEWED in values and index == self.current
        # A decision moves on: the decided trace need not be redrawn before the next one.
        self._skip_redraw = index if moving_on else None
        try:
            self.session.apply_edit(index, values)
        except CacheError as error:
            self.show_error("Edit not saved", f"{error.path}\n\n{error.problem}")
            if index == self.current:
                self.show(index)   # back to what is stored
            return
        finally:
            self._skip_redraw = None
        self.status.emit(f"Saved {trace_label(index).lower()}: {_describe(values)}")
        if moving_on:
            target = self.editor.resolve_navigation("next_unreviewed")
            if target is None or target == index:
                self.show(index)
                self.status.emit("Every trace has been reviewed.")
            else:
                self.show(target)

    def _confirmed(self, index: int, attrs: dict) -> None:
        self.editor.update_row(self.session.row(index))
        if index == self.current and index != self._skip_redraw:
            self.editor.set_trace(self._view(index, attrs)[0])
            self._viewer_pending = None   # this newer state supersedes a pending follow
            self.link.show_trace(index, self.session.origin_of(index), attrs)
        if self.plots is not None:
            self.plots.update_trace(index, attrs)

    def undo(self) -> None:
        self._history(self.session.undo, "Nothing to undo.", "Undone")

    def redo(self) -> None:
        self._history(self.session.redo, "Nothing to redo.", "Redone")

    def _history(self, operation, nothing: str, done: str) -> None:
        if not self.session.writable:
            self.status.emit(f"Read-only: {self.session.read_only_reason}")
            return
        try:
            indexes = operation()
        except CacheError as error:
            self.show_error("Undo/redo failed", f"{error.path}\n\n{error.problem}")
            return
        if not indexes:
            self.status.emit(nothing)
            return
        if self.current not in indexes:
            self.show(indexes[0])
        self.status.emit(f"{done}: {describe_traces(indexes, limit=len(indexes))}")


def _describe(values: dict) -> str:
    """A short account of an edit for the status line."""
    if keys.REVIEWED in values:
        return str(REJECTED if is_rejected(values) else ACCEPTED)
    parts = []
    for key, value in values.items():
        if key == keys.ONSET_SHIFT:
            parts.append(f"onset shift {value:+d} samples")
        elif key in (keys.COMMENT, keys.EXAMINER):
            parts.append(f"{key} {value!r}")
        elif key in (keys.NEG_PEAK_MAGNITUDE, keys.POS_PEAK_MAGNITUDE):
            kind = key.split("_")[0]
            parts.append(f"{kind} peak cleared" if value is None else f"{kind} peak {value:.1f} µV")
    return ", ".join(parts) or ", ".join(sorted(values))
