"""Measuring on the traces: the crosshair readout and cursors A and B, wired to the viewer.

The controller joins three pieces that know nothing of each other: the shared model
(:class:`~.cursors.MeasurementCursors`, which the spectrum and export read too), the
layer that draws on the plot (:mod:`.cursor_layer`) and the Measurements panel
(:mod:`.measurements_panel`). It turns the viewer's state (rows, montage, display filter,
time format) into numbers with :mod:`.readout`, and holds the handlers of the viewer's
measurement commands (keys and menus are declared in :mod:`.actions`).

Cursors sit on samples: a click, a drag or a key puts a cursor on the nearest sample, so
Δt is always a whole number of sample periods and each value is a real sample.
"""

from __future__ import annotations

import math

import numpy as np
from PyQt6.QtCore import QObject, QTimer
from PyQt6.QtWidgets import QApplication

from .cursor_layer import CursorLayer
from .cursors import CURSOR_A, CURSOR_B
from .measurements_panel import MeasurementsPanel
from .readout import (
    CursorReadout,
    RowChunkCache,
    RowReading,
    display_unit,
    format_value,
    measurement_filter,
    sample_index,
    values_at,
)
from .viewer import filter_key

READOUT_TASK = "cursor readout"
#: Cursor readouts kept (a cursor moved back and forth, or rows paged back, reads nothing).
VALUES_KEPT = 16
#: Width the panel opens at, in pixels (its table shows four numbers and a unit).
PANEL_WIDTH = 270


class MeasurementController(QObject):
    """The viewer's crosshair, cursors and Measurements panel (see the module docstring)."""

    def __init__(self, viewer):
        super().__init__(viewer)
        self.viewer = viewer
        self.cursors = viewer.cursors
        self.layer = CursorLayer(viewer.plot)
        self.panel = MeasurementsPanel(viewer)
        self.panel.setMinimumWidth(220)
        self.panel.hide()
        self._pointer: tuple[float, float] | None = None
        self._row_values = RowChunkCache()
        self._readout_identity: tuple | None = None
        self._values: dict[tuple, np.ndarray] = {}
        self._reading: list[tuple] | None = None     # keys read on the task worker now
        self._panel_refused = False      # the person closed the panel: placing keeps it shut
        self._readout_timer = QTimer(self, singleShot=True, interval=0)
        self._readout_timer.timeout.connect(self.refresh_readout)
        self._crosshair_timer = QTimer(self, singleShot=True, interval=0)
        self._crosshair_timer.timeout.connect(self._update_crosshair)
        self._connect()

    def _connect(self) -> None:
        viewer, model = self.viewer, self.viewer.model
        self.cursors.changed.connect(self._on_cursors_changed)
        self.layer.pointer_moved.connect(self._on_pointer_moved)
        self.layer.pointer_left.connect(self._on_pointer_left)
        self.layer.place_requested.connect(self.place_at)
        self.layer.cursor_dragged.connect(self.place_at)
        viewer.source_changed.connect(self._on_source_changed)
        viewer.page_drawn.connect(self._on_page_drawn)
        for signal in (model.channels.rows_changed, model.channels.order_changed, model.channels.first_changed,
                       model.channels.per_page_changed, model.display.montage_changed,
                       model.display.display_filter_changed, model.display.bad_channels_changed):
            signal.connect(self._schedule_readout)
        model.window.time_mode_changed.connect(lambda _mode: self._force_readout())
        model.channels.selected_changed.connect(lambda _row: self._mark_selected_row())

    def _on_page_drawn(self, _result) -> None:
        self.layer.repeat_pointer()
        self._schedule_readout()

    # -- placing ---------------------------------------------------------------------------
    def snapped(self, time_s: float) -> float:
        """``time_s`` moved to the nearest sample of the recording."""
        source = self.viewer.source
        if source is None:
            return time_s
        return sample_index(time_s, source.sampling_rate, source.n_samples) / source.sampling_rate

    def place_at(self, which: int, time_s: float) -> None:
        if self.viewer.source is not None and self.viewer.source.n_samples:
            self.cursors.place(which, self.snapped(time_s))

    def place_here(self, which: int) -> None:
        """Cursor ``which`` at the pointer when it is over the traces, else mid-page."""
        window = self.viewer.model.window
        if self._pointer is not None and window.start_s <= self._pointer[0] <= window.stop_s:
            self.place_at(which, self._pointer[0])
        else:
            self.place_at(which, window.start_s + window.span_s / 2)

    def move_active(self, samples: int = 0, pixels: int = 0) -> None:
        """Move the active cursor by whole samples or by screen pixels, keeping it on screen."""
        source = self.viewer.source
        which = self.cursors.active
        if source is None or self.cursors.positions()[which] is None:
            return
        window = self.viewer.model.window
        seconds_per_pixel = window.span_s / max(self.viewer.plot.getViewBox().width(), 1.0)
        step = samples / source.sampling_rate + pixels * seconds_per_pixel
        if pixels:   # a pixel is at least one sample, or a zoomed-in cursor would not move
            step = math.copysign(max(abs(step), 1.0 / source.sampling_rate), step)
        self.place_at(which, self.cursors.positions()[which] + step)
        time_s = self.cursors.positions()[which]
        if not window.start_s <= time_s <= window.stop_s:
            window.centre_on(time_s)

    def switch_active(self) -> None:
        self.cursors.set_active(CURSOR_B if self.cursors.active == CURSOR_A else CURSOR_A)

    def _on_cursors_changed(self) -> None:
        positions = self.cursors.positions()
        self.layer.set_cursors(positions, self.cursors.active)
        if any(p is not None for p in positions) and self.panel.isHidden() and not self._panel_refused:
            self.set_panel_visible(True)
        self._force_readout()

    def _on_source_changed(self, _source) -> None:
        self._row_values.clear()
        self._values.clear()
        self._reading = None
        if self.viewer.pager is not None:
            self.viewer.pager.task_done.connect(self._on_task_done)
        self._pointer = None
        self.layer.hide_crosshair()
        self.layer.set_cursors(self.cursors.positions(), self.cursors.active)
        self._force_readout()

    # -- the panel -------------------------------------------------------------------------
    def set_panel_visible(self, visible: bool) -> None:
        commands = getattr(self.viewer, "commands", None)
        action = commands.actions.get("toggle_measurements") if commands is not None else None
        if action is not None and action.isChecked() != visible:
            action.setChecked(visible)   # its handler comes back here
            return
        self._panel_refused = not visible and any(p is not None for p in self.cursors.positions())
        was_hidden = self.panel.isHidden()
        self.panel.setVisible(visible)
        if visible and was_hidden:
            self._give_panel_room()
            self._force_readout()

    def _give_panel_room(self) -> None:
        splitter = self.viewer.splitter
        index = splitter.indexOf(self.panel)
        sizes = splitter.sizes()
        if index < 0 or sizes[index] >= self.panel.minimumWidth():
            return
        width = min(PANEL_WIDTH, max(sum(sizes) // 3, self.panel.minimumWidth()))
        sizes[0] = max(sizes[0] - width, 1)
        sizes[index] = width
        splitter.setSizes(sizes)

    def use_actions(self, actions) -> None:
        """Offer the viewer's Copy and Clear commands on the panel too."""
        self.panel.add_action_button(actions["copy_measurements"], "Copy", "viewer.measurements.copy")
        self.panel.add_action_button(actions["clear_cursors"], "Clear", "viewer.measurements.clear")

    def _schedule_readout(self, *_args) -> None:
        if not self._readout_timer.isActive():
            self._readout_timer.start()

    def _force_readout(self) -> None:
        self._readout_identity = None
        self._schedule_readout()

    def _display_identity(self) -> tuple:
        viewer = self.viewer
        return (viewer.current_montage_key(), filter_key(viewer.active_filter()))

    def refresh_readout(self) -> None:
        """Show the values at the cursors for the rows on screen, unless nothing changed.

        Values are read here when that is one sample per row (no frequency filter on);
        through a filter each read takes seconds of padding per row (125 ms for 32 rows
        at 2048 Hz, measured), so it runs on the viewer's task worker and the panel shows
        the times at once and the values when they come."""
        viewer = self.viewer
        if viewer.source is None or viewer.pipeline is None:
            self._readout_identity = None
            self.panel.show_readout(CursorReadout(None, None), viewer.format_time)
            return
        keys = self._value_keys()
        missing = [key for key in keys if key is not None and key not in self._values]
        if missing and measurement_filter(viewer.active_filter()) is None:
            self._read_values(missing)
        elif missing:
            self._read_values_in_background(missing)
        identity = (self.cursors.positions(), tuple(keys), tuple(k in self._values for k in keys))
        if identity == self._readout_identity:
            return
        self._readout_identity = identity
        self.panel.show_readout(self.readout(), viewer.format_time)
        self._mark_selected_row()

    def _mark_selected_row(self) -> None:
        selected = self.viewer.model.channels.selected
        labels = self.viewer.model.channels.labels
        self.panel.mark_row(labels[selected] if 0 <= selected < len(labels) else None)

    def readout_pending(self) -> bool:
        """True while the panel may still change without anything new happening."""
        return self._readout_timer.isActive() or self._reading is not None

    def _value_keys(self) -> list[tuple | None]:
        """What identifies the values at A and at B (None for a cursor not placed)."""
        source = self.viewer.source
        rows = tuple(self.viewer.model.channels.visible_rows)
        display = (source.identity,) + self._display_identity()
        return [None if time_s is None or not source.n_samples else
                (sample_index(time_s, source.sampling_rate, source.n_samples), rows, display)
                for time_s in self.cursors.positions()]

    def _read_values(self, keys) -> None:
        viewer = self.viewer
        matrix = viewer.pipeline.montage_matrix(self._display_identity()[0])
        for key in keys:
            self._remember(key, values_at(viewer.source, key[0], key[1], matrix, viewer.active_filter()))

    def _read_values_in_background(self, keys) -> None:
        if self._reading is not None:
            return   # asked again when the read under way is done
        viewer = self.viewer
        source, display_filter = viewer.source, viewer.active_filter()
        matrix = viewer.pipeline.montage_matrix(self._display_identity()[0])
        self._reading = list(keys)
        viewer.pager.run_task(READOUT_TASK, lambda: [values_at(source, key[0], key[1], matrix, display_filter)
                                                     for key in keys])

    def _on_task_done(self, name: str, values, error) -> None:
        if name != READOUT_TASK or self._reading is None:
            return
        keys, self._reading = self._reading, None
        for k, key in enumerate(keys):
            # A failed read shows as unknown ("–") rather than being tried on every change.
            self._remember(key, values[k] if error is None else np.full(len(key[1]), np.nan))
        self._schedule_readout()

    def _remember(self, key: tuple, values: np.ndarray) -> None:
        """Keep ``values``, forgetting the oldest others (never those of the cursors now)."""
        self._values[key] = values
        current = set(self._value_keys())
        for old in [k for k in self._values if k not in current][:max(len(self._values) - VALUES_KEPT, 0)]:
            del self._values[old]

    def readout(self) -> CursorReadout:
        """The times of A and B and every visible row's values there (NaN: not read yet)."""
        viewer = self.viewer
        rows = tuple(viewer.model.channels.visible_rows)
        shown = viewer.model.channels.rows
        at_a, at_b = (self._values.get(key) if key is not None else None for key in self._value_keys())
        nothing = np.full(len(rows), np.nan)
        at_a = nothing if at_a is None else at_a
        at_b = nothing if at_b is None else at_b
        readings = tuple(RowReading(shown[r].label, display_unit(shown[r].unit), float(at_a[k]), float(at_b[k]))
                         for k, r in enumerate(rows))
        return CursorReadout(*self.cursors.positions(), readings)

    def copy_to_clipboard(self) -> str:
        """The readout as tab-separated text on the clipboard (returned as well); values
        still being read are read now, since the person asked for them."""
        if self.viewer.source is None or self.viewer.pipeline is None:
            return ""
        missing = [key for key in self._value_keys() if key is not None and key not in self._values]
        self._read_values(missing)
        text = self.readout().tab_separated(self.viewer.format_time)
        QApplication.clipboard().setText(text)
        return text

    # -- crosshair -------------------------------------------------------------------------
    def set_crosshair(self, enabled: bool) -> None:
        self.layer.set_crosshair_enabled(enabled)
        if enabled and self._pointer is not None:
            self._update_crosshair()

    def _on_pointer_moved(self, time_s: float, y: float) -> None:
        self._pointer = (time_s, y)
        if self.layer.crosshair_enabled and not self._crosshair_timer.isActive():
            self._crosshair_timer.start()

    def _on_pointer_left(self) -> None:
        self._pointer = None
        self.layer.hide_crosshair()

    def _update_crosshair(self) -> None:
        if self._pointer is None or self.viewer.source is None:
            self.layer.hide_crosshair()
            return
        time_s, y = self._pointer
        self.layer.show_crosshair(time_s, y, self.crosshair_text(time_s, y))

    def crosshair_text(self, time_s: float, y: float) -> str:
        """The time under the pointer and the value of the row under it, in its unit."""
        viewer = self.viewer
        source = viewer.source
        time_text = viewer.format_time(self.snapped(time_s))
        position = round(-y)
        rows = viewer.drawn_rows()
        if not 0 <= position < len(rows) or not source.n_samples or not 0 <= time_s <= viewer.model.window.duration_s:
            return time_text
        row = rows[position]
        index = sample_index(time_s, source.sampling_rate, source.n_samples)
        montage, filter_id = self._display_identity()
        value = self._row_values.value(source, index, row, viewer.pipeline.montage_matrix(montage),
                                       viewer.active_filter(), (source.identity, montage, filter_id))
        shown = viewer.model.channels.row(row)
        return f"{shown.label}  {format_value(value)} {display_unit(shown.unit)}\n{time_text}"
