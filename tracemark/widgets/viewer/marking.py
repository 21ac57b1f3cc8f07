"""Marking the recording in the viewer: the keys, the mouse gestures and the label set,
joined to the :class:`~tracemark.domain.annotations.AnnotationSink` the host gives.

The controller holds what is being marked (the selected mark, the current label, a span
opened with ``I``, annotate mode and where the pointer is) and turns each finished
gesture or key into the changes :mod:`tracemark.domain.annotations` computes, committed
as ONE transaction through the sink. It never edits a state itself: what it draws is what
the sink answers. A read-only sink's marks are shown and every edit is refused with its
reason (``viewer.annotation_error``); with no sink the marking actions are disabled.

Drawing is :mod:`.annotation_layer`'s, the mouse :mod:`.mark_gestures`', the legend
:mod:`.label_legend`'s and the dialogs :mod:`.label_dialog`'s. Keys and menus are
declared in :mod:`.actions` (menu "Annotate"); :mod:`.commands` finds their handlers here
through :meth:`MarkingController.handler`.
"""

from __future__ import annotations

import bisect
from dataclasses import replace

from PyQt6.QtCore import QObject, QTimer
from PyQt6.QtWidgets import QDialog

from tracemark.domain.annotations import (
    DEFAULT_LABELS,
    LABEL_KEYS,
    Annotation,
    AnnotationError,
    AnnotationSink,
    AnnotationState,
    FieldChange,
    add,
    modify,
    remove,
)

from .actions import ANNOTATE_MENU, VIEWER_ACTIONS
from .annotation_layer import AnnotationLayer, rows_of
from .event_markers import MAX_LANES
from .label_dialog import AnnotationDialog, LabelSetDialog
from .label_legend import LabelLegend
from .mark_gestures import BODY, END, START, MarkGestures
from .signal_plot import LABEL_LANE_PX, ROW_MARGIN

#: Pixels from a mark within which a press takes it.
HIT_PX = 5.0
MARK_KEY_PREFIX = "mark_label_"
#: The id a span being drawn with the mouse has until it is committed.
DRAWING = "\x00drawing"
MARKING_ACTIONS = tuple(spec.name for spec in VIEWER_ACTIONS if spec.menu == ANNOTATE_MENU)


class MarkingController(QObject):
    """The viewer's marking (see the module docstring)."""

    def __init__(self, viewer):
        super().__init__(viewer)
        self.viewer = viewer
        self.plot = viewer.plot
        self.sink: AnnotationSink | None = None
        self.state = AnnotationState()
        self.selected: str | None = None
        self.current_label: str | None = None
        #: Where a span opened with ``I`` starts (None: no span is open).
        self.open_start: float | None = None
        self.pointer_s: float | None = None
        self.last_dialog: QDialog | None = None
        self._actions: dict = {}
        self._base_lanes = 0
        #: A sink is on its way (see :meth:`expect_sink`): its room is kept meanwhile.
        self._sink_expected = False
        self._pending_dialog: str | None = None
        self.layer = AnnotationLayer(self.plot.plotItem)
        self.gestures = MarkGestures(self.plot, self.hit_test)
        self.legend = LabelLegend(viewer)
        self.legend.hide()
        # Above the traces, in the column that holds the plot and the overview.
        self.plot.parentWidget().layout().insertWidget(0, self.legend)
        self._dialog_timer = QTimer(self)
        self._dialog_timer.setSingleShot(True)
        self._dialog_timer.setInterval(0)
        self._dialog_timer.timeout.connect(self._open_pending_dialog)
        self._connect()

    def _connect(self) -> None:
        gestures, view_box = self.gestures, self.plot.getViewBox()
        gestures.pointer_moved.connect(self._on_pointer)
        gestures.pointer_left.connect(self._on_pointer_left)
        gestures.mark_pressed.connect(self.select)
        gestures.empty_pressed.connect(self._on_empty_pressed)
        gestures.drag_moved.connect(self._on_drag_moved)
        gestures.drag_finished.connect(self._on_drag_finished)
        gestures.span_drawn.connect(self._on_span_drawn)
        gestures.mark_double_clicked.connect(self._on_double_clicked)
        view_box.sigRangeChanged.connect(self.redraw)
        view_box.sigResized.connect(self.redraw)
        self.viewer.page_drawn.connect(self.redraw)
        self.viewer.source_changed.connect(self._on_source_changed)
        self.viewer.events_panel.annotation_activated.connect(self.select)
        # A channel marked bad goes through the same sink: its state is the marks' too.
        self.viewer.bad_channels.committed.connect(self._show_state)
        self.legend.label_chosen.connect(self.set_current_label)
        self.legend.edit_requested.connect(self.edit_labels)

    def use_actions(self, actions: dict) -> None:
        self._actions = actions
        self._sync_actions()

    def handler(self, name: str):
        """The handler of action ``name``: one per label key, else the method of that name."""
        if name.startswith(MARK_KEY_PREFIX):
            key = name[len(MARK_KEY_PREFIX):]
            return lambda: self.mark_with_key(key)
        return getattr(self, name)

    # -- the sink ----------------------------------------------------------------------------------
    def set_sink(self, sink: AnnotationSink | None) -> None:
        """Mark through ``sink`` (None: no marking; the marks are no longer shown)."""
        self.sink = sink
        self._sink_expected = False
        self.selected = None
        self.open_start = None
        self.gestures.cancel()
        self.layer.preview = None
        state = sink.state if sink is not None else AnnotationState()
        if self.current_label not in state.labels:
            self.current_label = next(iter(state.labels), None)
        self.legend.setVisible(sink is not None)
        self.legend.set_note(f"Read-only: {sink.read_only_reason}" if sink is not None and sink.read_only_reason
                             else "")
        self._sync_actions()
        self._reserve_label_lane()
        self._show_state(state)

    def expect_sink(self) -> None:
        """A sink is on its way (its host opens the file meanwhile): the legend and the
        marks' label lane take their room now, so the rows do not move when it comes."""
        self._sink_expected = True
        # The labels most files have, so the legend does not change size when the sink comes.
        self.legend.set_labels(DEFAULT_LABELS, None)
        self.legend.set_note("")
        self.legend.show()
        self._reserve_label_lane()

    def refresh(self) -> None:
        """Show the sink's state again (it changed outside the viewer, e.g. a followed file)."""
        if self.sink is not None:
            reason = self.sink.read_only_reason
            self.legend.set_note(f"Read-only: {reason}" if reason else "")
            self._show_state(self.sink.state)

    def _sync_actions(self) -> None:
        enabled = self.sink is not None
        for name in MARKING_ACTIONS:
            action = self._actions.get(name)
            if action is not None:
                action.setEnabled(enabled)
        annotate = self._actions.get("toggle_annotate")
        if annotate is not None and not enabled and annotate.isChecked():
            annotate.setChecked(False)

    def _show_state(self, state: AnnotationState) -> None:
        self.state = state
        marks = state.sorted_annotations()
        self.layer.set_marks(marks, dict(state.labels))
        if self.selected not in state.annotations:
            self.selected = None
        if self.current_label not in state.labels:
            self.current_label = next(iter(state.labels), None)
        self.layer.selected = self.selected
        self.legend.set_labels(list(state.labels.values()), self.current_label)
        self._name_label_actions(state)
        self.viewer.events_panel.set_user_annotations(marks)
        self.redraw()
        self.viewer.annotations_changed.emit(state)

    def _name_label_actions(self, state: AnnotationState) -> None:
        """The menu says which label each number key marks with, as the label set is now."""
        for key in LABEL_KEYS:
            action = self._actions.get(f"mark_label_{key}")
            if action is not None:
                label = state.label_for_key(key)
                action.setText(f"Mark “{label.name}”" if label else f"Mark with label {key} (none has this key)")

    def tell(self, message: str) -> None:
        self.viewer.annotation_error.emit(message)

    def _refused(self) -> bool:
        """True (and the reason told) when no edit may be made."""
        if self.sink is None:
            return True
        if self.sink.read_only_reason:
            self.tell(f"The marks cannot be changed: {self.sink.read_only_reason}")
            return True
        return False

    def commit(self, changes: list[FieldChange], note: str = "") -> bool:
        """Commit ``changes`` as one transaction; False (and why told) when refused."""
        sink = self.sink
        if sink is None or self._refused():
            return False
        if not changes:
            return True
        try:
            state = sink.commit(changes, note)
        except Exception as exc:  # noqa: BLE001 (any sink's refusal is told, never lost)
            self.tell(str(exc))
            self._show_state(sink.state)
            return False
        self._show_state(state)
        return True

    def undo_annotation(self) -> bool:
        return self._undo_or_redo("undo")

    def redo_annotation(self) -> bool:
        return self._undo_or_redo("redo")

    def _undo_or_redo(self, which: str) -> bool:
        if self._refused():
            return False
        try:
            state = getattr(self.sink, which)()
        except Exception as exc:  # noqa: BLE001 (as in commit)
            self.tell(str(exc))
            return False
        if state is None:
            return False
        self._show_state(state)
        return True

    # -- drawing -------------------------------------------------------------------------------------
    def _on_source_changed(self, _source) -> None:
        self.open_start = None
        self._reserve_label_lane()
        self.redraw()

    def _reserve_label_lane(self) -> None:
        """One lane for the marks' labels below the file events' lanes (when marking)."""
        self._base_lanes = MAX_LANES if self.viewer.events_panel.file_event_count() else 0
        self.plot.set_label_lanes(self._base_lanes + (1 if self.sink is not None or self._sink_expected else 0))

    def redraw(self, *_args) -> None:
        plot = self.plot
        view_box = plot.getViewBox()
        (start, stop), (_bottom, top) = view_box.viewRange()
        labels = plot.row_labels()
        n = max(len(labels), 1)
        row_px = max(plot.row_pixels(), 1e-6)
        self.layer.open_onset = (None if self.open_start is None
                                 else (self.open_start, self.current_label or ""))
        self.layer.update(start, stop, ROW_MARGIN, -(n - 1) - ROW_MARGIN, labels, view_box.width() or 800.0,
                          row_px, top - self._base_lanes * LABEL_LANE_PX / row_px)

    # -- where -----------------------------------------------------------------------------------------
    def _on_pointer(self, time_s: float) -> None:
        self.pointer_s = time_s

    def _on_pointer_left(self) -> None:
        self.pointer_s = None

    def here(self) -> float:
        """The pointer's time when it is over the traces, else mid-page; on a sample."""
        window = self.viewer.model.window
        if self.pointer_s is not None and window.start_s <= self.pointer_s <= window.stop_s:
            return self.snapped(self.pointer_s)
        return self.snapped(window.start_s + window.span_s / 2)

    def snapped(self, time_s: float) -> float:
        """``time_s`` on the nearest sample, inside the recording."""
        source = self.viewer.source
        duration = self.viewer.model.window.duration_s
        time_s = min(max(time_s, 0.0), duration) if duration > 0 else max(time_s, 0.0)
        if source is None or source.sampling_rate <= 0:
            return time_s
        return round(time_s * source.sampling_rate) / source.sampling_rate

    def _step_s(self) -> float:
        """One pixel of the page in seconds, at least one sample."""
        window = self.viewer.model.window
        pixel = window.span_s / max(self.plot.getViewBox().width(), 1.0)
        source = self.viewer.source
        return max(pixel, 1.0 / source.sampling_rate) if source is not None else pixel

    # -- selection and labels ------------------------------------------------------------------------
    def select(self, ident: str | None) -> None:
        self.selected = ident if ident in self.state.annotations else None
        self.layer.selected = self.selected
        self.layer.redraw()

    def selected_mark(self) -> Annotation | None:
        return self.state.annotations.get(self.selected) if self.selected else None

    def set_current_label(self, name: str) -> None:
        if name in self.state.labels:
            self.current_label = name
            self.legend.set_current(name)
            self.layer.redraw()

    def _on_empty_pressed(self) -> None:
        if self.selected is not None:
            self.select(None)

    # -- keys -------------------------------------------------------------------------------------------
    def mark_with_key(self, key: str) -> None:
        """1..9: end an open span, else relabel the selected mark, else a point event here."""
        if self.sink is None:
            return
        label = self.state.label_for_key(key)
        if label is None:
            self.tell(f"No label has the key {key}: give one that key in Labels…")
            return
        self.set_current_label(label.name)
        if self._refused():
            return
        if self.open_start is not None:
            start, end = sorted((self.open_start, self.here()))
            self.open_start = None
            _mark, changes = add(self.state, start, end - start, label.name)
            self.commit(changes, f"mark {label.name}")
        elif self.selected is not None:
            _mark, changes = modify(self.state, self.selected, label=label.name)
            self.commit(changes, f"relabel as {label.name}")
        else:
            _mark, changes = add(self.state, self.here(), 0.0, label.name)
            self.commit(changes, f"mark {label.name}")

    def start_span(self) -> None:
        """I: open a span here; a label key ends it (after paging on, if need be)."""
        if self._refused():
            return
        self.open_start = self.here()
        self.redraw()

    def cancel(self) -> bool:
        """Esc: drop a drag, an open span or the selection, in that order; True when one was."""
        if self.gestures.busy:
            self.gestures.cancel()
            self.layer.preview = None
            self.redraw()
            return True
        if self.open_start is not None:
            self.open_start = None
            self.redraw()
            return True
        if self.selected is not None:
            self.select(None)
            return True
        return False

    def delete_annotation(self) -> None:
        if self.selected is None or self._refused():
            return
        if self.commit(remove(self.state, self.selected), "delete mark"):
            self.select(None)

    def next_annotation(self) -> None:
        self._jump(1)

    def previous_annotation(self) -> None:
        self._jump(-1)

    def _jump(self, direction: int) -> None:
        """The next (previous) mark of the selected one's label, any label when none is."""
        current = self.selected_mark()
        marks = [m for m in self.layer.marks() if current is None or m.label == current.label]
        keys = [(m.onset_s, m.end_s, m.id) for m in marks]
        if current is not None:
            here = (current.onset_s, current.end_s, current.id)
        else:
            window = self.viewer.model.window
            centre = window.start_s + window.span_s / 2 + direction * 1e-6
            here = (centre, centre, "")
        index = bisect.bisect_right(keys, here) if direction > 0 else bisect.bisect_left(keys, here) - 1
        if 0 <= index < len(marks):
            target = marks[index]
            self.select(target.id)
            self.viewer.model.window.centre_on(target.onset_s)

    def move_earlier(self) -> None:
        self._nudge(BODY, -1)

    def move_later(self) -> None:
        self._nudge(BODY, 1)

    def end_earlier(self) -> None:
        self._nudge(END, -1)

    def end_later(self) -> None:
        self._nudge(END, 1)

    def _nudge(self, part: str, direction: int) -> None:
        mark = self.selected_mark()
        if mark is None or self._refused():
            return
        moved = self.dragged(mark, part, direction * self._step_s())
        self._commit_moved(mark, moved)

    # -- the mouse ----------------------------------------------------------------------------------------
    def hit_test(self, time_s: float, y: float, seconds_per_pixel: float) -> tuple[str, str] | None:
        """The mark and part (body, start or end edge) under a point: point events first,
        then edges, then span bodies; the selected mark before others."""
        if self.sink is None:
            return None
        tolerance = HIT_PX * seconds_per_pixel
        position = int(round(-y))
        labels = self.plot.row_labels()
        best: tuple | None = None
        for mark in self.layer.visible(time_s - tolerance, time_s + tolerance):
            if mark.channels and position not in rows_of(mark.channels, labels):
                continue
            chosen = mark.id != self.selected
            if not mark.is_span:
                distance = abs(time_s - mark.onset_s)
                found = (0, chosen, distance, mark.id, BODY) if distance <= tolerance else None
            else:
                edge = min(tolerance, mark.duration_s / 4)
                to_start, to_end = abs(time_s - mark.onset_s), abs(time_s - mark.end_s)
                if min(to_start, to_end) <= edge:
                    found = (1, chosen, min(to_start, to_end), mark.id, START if to_start <= to_end else END)
                elif mark.onset_s <= time_s <= mark.end_s:
                    found = (2, chosen, mark.duration_s, mark.id, BODY)
                else:
                    found = None
            if found is not None and (best is None or found < best):
                best = found
        return None if best is None else (best[3], best[4])

    def dragged(self, mark: Annotation, part: str, delta_s: float) -> Annotation:
        """``mark`` with its body (``BODY``) or one edge moved by ``delta_s``, on samples."""
        if part == BODY:
            limit = self.viewer.model.window.duration_s - mark.duration_s
            onset = self.snapped(min(mark.onset_s + delta_s, limit) if limit > 0 else mark.onset_s + delta_s)
            return replace(mark, onset_s=onset)
        start, end = mark.onset_s, mark.end_s
        if part == START:
            start += delta_s
        else:
            end += delta_s
        start, end = sorted((self.snapped(start), self.snapped(end)))
        return replace(mark, onset_s=start, duration_s=end - start)

    def _on_drag_moved(self, ident: str, part: str, pressed_s: float, now_s: float) -> None:
        mark = self.state.annotations.get(ident)
        read_only = self.sink is not None and bool(self.sink.read_only_reason)
        if mark is not None and not read_only:   # a read-only mark does not follow the pointer
            self.layer.preview = self.dragged(mark, part, now_s - pressed_s)
            self.layer.redraw()

    def _on_drag_finished(self, ident: str, part: str, pressed_s: float, now_s: float) -> None:
        self.layer.preview = None
        mark = self.state.annotations.get(ident)
        if mark is None:
            self.layer.redraw()
            return
        self._commit_moved(mark, self.dragged(mark, part, now_s - pressed_s))
        self.layer.redraw()

    def _commit_moved(self, mark: Annotation, moved: Annotation) -> None:
        try:
            _updated, changes = modify(self.state, mark.id, onset_s=moved.onset_s, duration_s=moved.duration_s)
        except AnnotationError as exc:
            self.tell(str(exc))
            return
        self.commit(changes, "move mark")

    def _on_span_drawn(self, pressed_s: float, now_s: float, finished: bool, pressed_y: float, now_y: float,
                       bound: bool) -> None:
        start, end = sorted((self.snapped(pressed_s), self.snapped(now_s)))
        label = self.current_label
        if label is None:
            self.tell("No label to mark with: add one in Labels…")
            return
        channels = self.rows_between(pressed_y, now_y) if bound else ()
        if not finished:
            self.layer.preview = Annotation(DRAWING, start, end - start, label, channels)
            self.layer.redraw()
            return
        self.layer.preview = None
        if end <= start:
            self.layer.redraw()
            return
        if self._refused():
            self.layer.redraw()
            return
        mark, changes = add(self.state, start, end - start, label, channels)
        if self.commit(changes, f"mark {label}"):
            self.select(mark.id)

    def rows_between(self, y_a: float, y_b: float) -> tuple[str, ...]:
        """The names of the visible rows from row coordinate ``y_a`` to ``y_b``."""
        labels = self.plot.row_labels()
        first, last = sorted((int(round(-y_a)), int(round(-y_b))))
        return tuple(labels[max(first, 0):min(last, len(labels) - 1) + 1])

    def _on_double_clicked(self, ident: str) -> None:
        self.select(ident)
        self._pending_dialog = ident
        self._dialog_timer.start()   # not inside the mouse event that asked for it

    def _open_pending_dialog(self) -> None:
        ident, self._pending_dialog = self._pending_dialog, None
        if ident is not None:
            self.edit_mark(ident)

    # -- dialogs ---------------------------------------------------------------------------------------------
    def toggle_annotate(self, checked: bool) -> None:
        """Annotate mode: a left-drag on the traces draws a span with the current label."""
        self.gestures.annotate_mode = bool(checked) and self.sink is not None
        self.gestures.update_cursor()

    def edit_annotation(self) -> None:
        """F2: the selected mark's dialog."""
        if self.selected is None:
            self.tell("Select a mark first (click it, or L for the next one)")
            return
        self.edit_mark(self.selected)

    def edit_mark(self, ident: str) -> None:
        mark = self.state.annotations.get(ident)
        if mark is None:
            return
        source = self.viewer.source
        channels = source.channel_names if source is not None else self.plot.row_labels()
        dialog = AnnotationDialog(mark, list(self.state.labels), channels,
                                  self.viewer.model.window.duration_s, self.viewer)
        self.last_dialog = dialog
        sink = self.sink
        if dialog.exec() != QDialog.DialogCode.Accepted or sink is None or self._refused():
            return
        try:
            _updated, changes = modify(sink.state, ident, **dialog.fields())
        except AnnotationError as exc:
            self.tell(str(exc))
            return
        self.commit(changes, "edit mark")

    def edit_labels(self) -> None:
        if self.sink is None:
            return
        dialog = LabelSetDialog(lambda: self.state, self.commit, self.viewer, tell=self.tell)
        self.last_dialog = dialog
        dialog.exec()

