"""What each viewer action does: navigation, amplitude, channels, montage, filters,
measurement, help.

Handlers change the view-model (or open a dialog whose answer changes it); they never
draw. The actions themselves are declared in :mod:`.actions`.
"""

from __future__ import annotations

import bisect

import numpy as np
from PyQt6.QtCore import QObject
from PyQt6.QtWidgets import QDialog, QInputDialog

from tracemark.paging.source import channel_types_of
from tracemark.widgets.actions import ActionSet, ShortcutsDialog

from .actions import VIEWER_ACTIONS
from .cursors import CURSOR_A, CURSOR_B
from .dialogs import ChannelDialog, FilterDialog, GoToTimeDialog
from .scales import group_title, group_unit, step_at_or_above
from .view_model import SPAN_STEPS, TIME_CLOCK, TIME_SECONDS, next_step

ROWS_PER_PAGE_STEPS = (1, 2, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 96, 128, 192, 256)
#: Fraction of a row that a page's typical (robust) peak-to-peak range fills after auto-scale.
AUTOSCALE_FILL = 0.8


class ViewerCommands(QObject):
    def __init__(self, viewer):
        super().__init__(viewer)
        self.viewer = viewer
        self.model = viewer.model
        # The marking commands' handlers live with the marking (see marking.py).
        handlers = {spec.name: getattr(self, spec.name, None) or viewer.marking.handler(spec.name)
                    for spec in VIEWER_ACTIONS}
        self.action_set = ActionSet(viewer, VIEWER_ACTIONS, handlers)
        self.actions = self.action_set.actions
        self.model.window.time_mode_changed.connect(
            lambda mode: self._set_checked("toggle_time_mode", mode == TIME_CLOCK))
        self.last_dialog: QDialog | None = None
        self._set_checked("toggle_filters", True)
        self.model.display.display_filter_changed.connect(self._sync_dc_action)
        self._sync_dc_action(self.model.display.display_filter)
        self._set_checked("toggle_clipping", viewer.plot.clip_rows is not None)
        viewer.measure.use_actions(self.actions)
        viewer.marking.use_actions(self.actions)

    def _sync_dc_action(self, display_filter) -> None:
        self._set_checked("toggle_dc", bool(getattr(display_filter, "remove_dc", False)))

    def _set_checked(self, name: str, checked: bool) -> None:
        action = self.actions[name]
        action.blockSignals(True)
        action.setChecked(checked)
        action.blockSignals(False)

    def source_changed(self) -> None:
        source = self.viewer.source
        self.actions["toggle_time_mode"].setEnabled(source is not None and source.start_datetime is not None)
        self._set_checked("toggle_time_mode", self.model.window.time_mode == TIME_CLOCK)

    # -- time navigation -------------------------------------------------------------------
    def page_forward(self):
        self.model.window.step(1.0)

    def page_back(self):
        self.model.window.step(-1.0)

    def step_forward(self):
        self.model.window.step(0.25)

    def step_back(self):
        self.model.window.step(-0.25)

    def go_start(self):
        self.model.window.set_start(0.0)

    def go_end(self):
        self.model.window.set_start(self.model.window.duration_s)

    def span_shorter(self):
        window = self.model.window
        window.set_span(next_step(SPAN_STEPS, window.span_s, -1), keep_centre=True)

    def span_longer(self):
        window = self.model.window
        window.set_span(next_step(SPAN_STEPS, window.span_s, 1), keep_centre=True)

    def span_whole(self):
        window = self.model.window
        window.show_range(0.0, window.duration_s)

    def go_to_time(self):
        if self.viewer.source is None:
            return
        window = self.model.window
        dialog = GoToTimeDialog(window.duration_s, self.viewer.source.start_datetime, window.start_s,
                                self.viewer)
        self.last_dialog = dialog
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.seconds is not None:
            window.set_start(dialog.seconds)

    def _event_times(self) -> list[float]:
        return sorted(self.viewer.events_panel.visible_times())

    def next_event(self):
        times = self._event_times()
        window = self.model.window
        centre = window.start_s + window.span_s / 2
        index = bisect.bisect_right(times, centre + 1e-6)
        if index < len(times):
            self._jump_to_event(times[index])

    def previous_event(self):
        times = self._event_times()
        window = self.model.window
        centre = window.start_s + window.span_s / 2
        index = bisect.bisect_left(times, centre - 1e-6) - 1
        if index >= 0:
            self._jump_to_event(times[index])

    def _jump_to_event(self, time_s: float) -> None:
        self.model.window.centre_on(time_s)
        self.viewer.events_panel.select_time(time_s)

    # -- channels ----------------------------------------------------------------------------
    def channels_down(self):
        self.model.channels.page(1)

    def channels_up(self):
        self.model.channels.page(-1)

    def select_next_channel(self):
        self.model.channels.select_neighbour(1)

    def select_previous_channel(self):
        self.model.channels.select_neighbour(-1)

    def more_channels(self):
        channels = self.model.channels
        channels.set_per_page(min(int(next_step(ROWS_PER_PAGE_STEPS, channels.per_page, 1)),
                                  max(len(channels.order), 1)))

    def fewer_channels(self):
        channels = self.model.channels
        channels.set_per_page(int(next_step(ROWS_PER_PAGE_STEPS, channels.per_page, -1)))

    def choose_channels(self):
        if self.viewer.source is None:
            return
        channels = self.model.channels
        dialog = ChannelDialog(channels.labels, channels.order, self.viewer)
        self.last_dialog = dialog
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.order():
            channels.set_order(dialog.order())

    # -- amplitude -------------------------------------------------------------------------
    def amplitude_up(self):
        self.model.channels.step_sensitivity(1)

    def amplitude_down(self):
        self.model.channels.step_sensitivity(-1)

    def channel_amplitude_up(self):
        channels = self.model.channels
        if channels.selected >= 0:
            channels.scale_row(channels.selected, 1.5)

    def channel_amplitude_down(self):
        channels = self.model.channels
        if channels.selected >= 0:
            channels.scale_row(channels.selected, 1 / 1.5)

    def reset_scale(self):
        """Back to the scales measured on opening (per-channel gains undone)."""
        self.viewer.reset_scales()

    def sensitivity(self):
        channels = self.model.channels
        group = channels.current_group
        unit = group_unit(group) or "units"
        value, ok = QInputDialog.getDouble(self.viewer, "Sensitivity",
                                           f"{group_title(group)}: {unit} per mm:",
                                           channels.sensitivity(group), 1e-12, 1e12, 3)
        if ok and value > 0:
            channels.set_sensitivity(value, group)

    def _row_spreads(self) -> dict[int, float]:
        """Robust peak-to-peak (2nd to 98th percentile) of each drawn row, in its group's unit."""
        result = self.viewer.last_result
        if result is None or not len(result.bin_starts):
            return {}
        spreads = {}
        for k, row in enumerate(result.request.rows):
            mins, maxs = result.mins[:, k], result.maxs[:, k]
            if not (np.isfinite(mins).any() and np.isfinite(maxs).any()):
                continue
            with np.errstate(all="ignore"):
                spread = (np.nanpercentile(maxs, 98) - np.nanpercentile(mins, 2))
            spread *= self.model.channels.row(row).scale.to_group_unit
            if np.isfinite(spread) and spread > 0:
                spreads[row] = float(spread)
        return spreads

    def _sensitivity_for(self, spread: float) -> float:
        plot = self.viewer.plot
        return spread * plot.pixels_per_mm / (AUTOSCALE_FILL * plot.row_pixels())

    def autoscale(self):
        """Each scale group on the page fitted to its typical row; per-row gains undone."""
        spreads = self._row_spreads()
        if not spreads:
            return
        channels = self.model.channels
        by_group: dict[str, list[float]] = {}
        # Bad rows do not set their group's scale, unless the group has no other row.
        bad = self.viewer.bad_channels.bad_rows()
        good_groups = {channels.group(row) for row in spreads if row not in bad}
        for row, spread in spreads.items():
            group = channels.group(row)
            if row not in bad or group not in good_groups:
                by_group.setdefault(group, []).append(spread)
        channels.set_gains({})
        channels.set_sensitivities({group: step_at_or_above(self._sensitivity_for(float(np.median(values))))
                                    for group, values in by_group.items()})

    def autoscale_channels(self):
        spreads = self._row_spreads()
        if not spreads:
            return
        channels = self.model.channels
        gains = channels.gains
        for row, spread in spreads.items():
            gains[row] = channels.row_sensitivity(row) / self._sensitivity_for(spread)
        channels.set_gains(gains)

    def toggle_clipping(self, checked: bool):
        self.viewer.plot.set_clipping(1.0 if checked else None)

    # -- display ---------------------------------------------------------------------------
    def toggle_time_mode(self, checked: bool):
        self.model.window.set_time_mode(TIME_CLOCK if checked else TIME_SECONDS)

    def toggle_events_panel(self, checked: bool):
        self.viewer.events_panel.setVisible(checked)

    def choose_montage(self):
        if self.viewer.source is None:
            return
        from .montage_dialog import MontageDialog

        source = self.viewer.source
        dialog = MontageDialog(source.channel_names, self.model.display.montage,
                               self.viewer.montage_library, self.viewer, channel_types_of(source))
        self.last_dialog = dialog
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.model.display.set_montage(dialog.chosen)

    def montage_choices(self) -> list:
        """None (as recorded), the built-in montages that apply, then saved ones that fit."""
        source = self.viewer.source
        if source is None:
            return [None]
        from tracemark.dsp.montage import builtin_montages

        choices = [None] + [m for m in builtin_montages(source.channel_names, channel_types_of(source))
                            if m.name != "As recorded"]
        library = self.viewer.montage_library
        for name in (library.names() if library is not None else []):
            try:
                montage = library.load(name)
                montage.matrix(source.channel_names)
            except ValueError:  # MontageError: unreadable, or channels this file lacks
                continue
            choices.append(montage)
        return choices

    def next_montage(self):
        choices = self.montage_choices()
        current = self.model.display.montage
        names = [None if m is None else m.name for m in choices]
        position = names.index(current.name) if current is not None and current.name in names else 0
        self.model.display.set_montage(choices[(position + 1) % len(choices)])

    def toggle_bad_channel(self):
        self.viewer.bad_channels.toggle_selected()

    def choose_filters(self):
        if self.viewer.source is None:
            return
        dialog = FilterDialog(self.model.display.display_filter, self.viewer.source.sampling_rate, self.viewer)
        self.last_dialog = dialog
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.model.display.set_display_filter(dialog.result_filter)
            self._set_checked("toggle_filters", True)
            self.viewer.set_filters_enabled(True)

    def toggle_filters(self, checked: bool):
        self.viewer.set_filters_enabled(checked)

    def toggle_dc(self, checked: bool):
        from dataclasses import replace

        from tracemark.dsp.filters import DisplayFilter

        current = self.model.display.display_filter or DisplayFilter()
        if current.remove_dc != bool(checked):
            self.model.display.set_display_filter(replace(current, remove_dc=bool(checked)))

    # -- measurement -------------------------------------------------------------------------
    def toggle_crosshair(self, checked: bool):
        self.viewer.measure.set_crosshair(checked)

    def toggle_measurements(self, checked: bool):
        self.viewer.measure.set_panel_visible(checked)

    def place_cursor_a(self):
        self.viewer.measure.place_here(CURSOR_A)

    def place_cursor_b(self):
        self.viewer.measure.place_here(CURSOR_B)

    def switch_cursor(self):
        self.viewer.measure.switch_active()

    def cursor_left_pixel(self):
        self.viewer.measure.move_active(pixels=-1)

    def cursor_right_pixel(self):
        self.viewer.measure.move_active(pixels=1)

    def cursor_left_sample(self):
        self.viewer.measure.move_active(samples=-1)

    def cursor_right_sample(self):
        self.viewer.measure.move_active(samples=1)

    def copy_measurements(self):
        self.viewer.measure.copy_to_clipboard()

    def clear_cursors(self):
        if self.viewer.marking.cancel():   # Esc first drops a drag, an open span, a selection
            return
        self.viewer.cursors.clear()

    def show_shortcuts(self):
        specs = list(VIEWER_ACTIONS) + list(self.viewer.extra_action_specs)
        dialog = ShortcutsDialog(specs, self.viewer)
        self.last_dialog = dialog
        dialog.exec()
