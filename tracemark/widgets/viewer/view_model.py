"""What the viewer shows, as small QObjects with one signal per field.

Views bind to these signals and never to each other; actions and dialogs change the
model, and the model clamps what it is given (a window never runs past the end of the
recording, a sensitivity never reaches zero). Setting a field to its current value
emits nothing, which is what stops echo loops between a view and the model.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import QObject, pyqtSignal

from .rows import DisplayRow
from .scales import DEFAULT_SENSITIVITY, step_sensitivity

#: Time spans (seconds) the span +/- actions walk through.
SPAN_STEPS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
              1200.0, 1800.0, 3600.0, 7200.0, 4 * 3600.0, 8 * 3600.0, 12 * 3600.0, 24 * 3600.0)
TIME_SECONDS = "seconds"
TIME_CLOCK = "clock"
MIN_SPAN_S = 0.05


def next_step(steps: tuple[float, ...], value: float, direction: int) -> float:
    """The neighbouring step of ``value`` in ``steps`` (up when direction > 0)."""
    if direction > 0:
        return next((s for s in steps if s > value * 1.0001), steps[-1])
    return next((s for s in reversed(steps) if s < value * 0.9999), steps[0])


class TimeWindow(QObject):
    """The visible time range: start and span, in seconds on the recording's axis."""

    start_changed = pyqtSignal(float)
    span_changed = pyqtSignal(float)
    time_mode_changed = pyqtSignal(str)

    def __init__(self, duration_s: float = 0.0, span_s: float = 10.0, parent: QObject | None = None):
        super().__init__(parent)
        self._duration = max(float(duration_s), 0.0)
        self._span = span_s
        self._start = 0.0
        self._time_mode = TIME_SECONDS

    @property
    def duration_s(self) -> float:
        return self._duration

    def set_duration(self, duration_s: float) -> None:
        self._duration = max(float(duration_s), 0.0)
        self.set_span(self._span)
        self.set_start(self._start)

    @property
    def start_s(self) -> float:
        return self._start

    @property
    def stop_s(self) -> float:
        return self._start + self._span

    @property
    def span_s(self) -> float:
        return self._span

    @property
    def time_mode(self) -> str:
        return self._time_mode

    def clamp_start(self, start_s: float) -> float:
        latest = max(self._duration - self._span, 0.0)
        return min(max(float(start_s), 0.0), latest)

    def set_start(self, start_s: float) -> None:
        start = self.clamp_start(start_s)
        if not math.isclose(start, self._start, rel_tol=0.0, abs_tol=1e-9):
            self._start = start
            self.start_changed.emit(start)

    def set_span(self, span_s: float, *, keep_centre: bool = False) -> None:
        longest = self._duration if self._duration > 0 else float(span_s)
        span = min(max(float(span_s), MIN_SPAN_S), max(longest, MIN_SPAN_S))
        if math.isclose(span, self._span, rel_tol=1e-12):
            return
        centre = self._start + self._span / 2
        self._span = span
        self.span_changed.emit(span)
        self.set_start(centre - span / 2 if keep_centre else self._start)

    def show_range(self, start_s: float, stop_s: float) -> None:
        self.set_span(stop_s - start_s)
        self.set_start(start_s)

    def centre_on(self, time_s: float) -> None:
        self.set_start(time_s - self._span / 2)

    def step(self, pages: float) -> None:
        self.set_start(self._start + pages * self._span)

    def set_time_mode(self, mode: str) -> None:
        if mode not in (TIME_SECONDS, TIME_CLOCK):
            raise ValueError(f"time mode must be {TIME_SECONDS!r} or {TIME_CLOCK!r}, got {mode!r}")
        if mode != self._time_mode:
            self._time_mode = mode
            self.time_mode_changed.emit(mode)


class ChannelView(QObject):
    """The display rows, which of them are shown, in what order, and how tall their traces are.

    ``rows`` are the outputs of the current montage (:class:`~.rows.DisplayRow`: label,
    channel type, unit, scale); every other field indexes them. ``order`` is the user's
    selection and order of rows; ``first`` is the first row of the visible channel page.
    Each row belongs to a *scale group* (its channel type, and its unit when that is not
    a voltage; see :mod:`.scales`); a row's amplitude is its group's sensitivity (units
    per mm, as on paper EEG) times the row's own gain.
    """

    rows_changed = pyqtSignal(tuple)
    order_changed = pyqtSignal(tuple)
    first_changed = pyqtSignal(int)
    per_page_changed = pyqtSignal(int)
    sensitivities_changed = pyqtSignal(dict)
    gains_changed = pyqtSignal(dict)
    selected_changed = pyqtSignal(int)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._rows: tuple[DisplayRow, ...] = ()
        self._labels: tuple[str, ...] = ()
        self._groups: tuple[str, ...] = ()
        self._order: tuple[int, ...] = ()
        self._first = 0
        self._per_page = 20
        self._sensitivities: dict[str, float] = {}
        self._gains: dict[int, float] = {}
        self._selected = -1

    rows = property(lambda self: self._rows)
    labels = property(lambda self: self._labels)
    groups = property(lambda self: self._groups)   # the scale group of every row
    order = property(lambda self: self._order)
    first = property(lambda self: self._first)
    per_page = property(lambda self: self._per_page)
    selected = property(lambda self: self._selected)

    def row(self, row: int) -> DisplayRow:
        return self._rows[row]

    def set_rows(self, rows) -> None:
        """The rows of a new source or montage. The caller then sets the order, gains and
        page that fit them: the old ones index rows that may no longer exist."""
        rows = tuple(rows)
        if rows != self._rows:
            self._rows = rows
            self._labels = tuple(r.label for r in rows)
            self._groups = tuple(r.scale.group for r in rows)
            self.rows_changed.emit(rows)

    @property
    def gains(self) -> dict[int, float]:
        return dict(self._gains)

    def gain(self, row: int) -> float:
        return self._gains.get(row, 1.0)

    @property
    def visible_rows(self) -> tuple[int, ...]:
        return self._order[self._first:self._first + self._per_page]

    def set_order(self, order) -> None:
        order = tuple(int(r) for r in order)
        if order != self._order:
            self._order = order
            self.order_changed.emit(order)
            if self._selected not in order:
                self.set_selected(order[0] if order else -1)
        self.set_first(self._first)

    def set_first(self, first: int) -> None:
        latest = max(len(self._order) - self._per_page, 0)
        first = min(max(int(first), 0), latest)
        if first != self._first:
            self._first = first
            self.first_changed.emit(first)

    def page(self, direction: int) -> None:
        self.set_first(self._first + direction * self._per_page)

    def set_per_page(self, per_page: int) -> None:
        per_page = max(int(per_page), 1)
        if per_page != self._per_page:
            self._per_page = per_page
            self.per_page_changed.emit(per_page)
        self.set_first(self._first)

    # -- amplitude -------------------------------------------------------------------------
    def group(self, row: int) -> str:
        return self._groups[row] if 0 <= row < len(self._groups) else ""

    @property
    def current_group(self) -> str:
        """The group the single-value commands act on: the selected row's, else the first's."""
        row = self._selected if self._selected >= 0 else (self._order[0] if self._order else -1)
        return self.group(row) or (self._groups[0] if self._groups else "")

    @property
    def sensitivities(self) -> dict[str, float]:
        return dict(self._sensitivities)

    def sensitivity(self, group: str) -> float:
        return self._sensitivities.get(group, DEFAULT_SENSITIVITY)

    def row_sensitivity(self, row: int) -> float:
        return self.sensitivity(self.group(row))

    @property
    def sensitivity_uv_mm(self) -> float:
        """The current group's sensitivity (units per mm; µV/mm for voltages)."""
        return self.sensitivity(self.current_group)

    def set_sensitivities(self, sensitivities: dict[str, float]) -> None:
        """Replace the given groups' sensitivities (others keep theirs)."""
        merged = dict(self._sensitivities)
        for group, value in sensitivities.items():
            merged[str(group)] = _checked_sensitivity(value)
        if merged != self._sensitivities:
            self._sensitivities = merged
            self.sensitivities_changed.emit(dict(merged))

    def set_sensitivity(self, value: float, group: str | None = None) -> None:
        """One group's sensitivity (the current group's when ``group`` is None)."""
        self.set_sensitivities({self.current_group if group is None else group: value})

    def step_sensitivity(self, direction: int, group: str | None = None) -> None:
        """Larger traces when direction > 0 (fewer units per mm): every group, or one."""
        groups = [group] if group is not None else list(dict.fromkeys(self._groups)) or [self.current_group]
        self.set_sensitivities({g: step_sensitivity(self.sensitivity(g), direction) for g in groups})

    def set_gains(self, gains: dict[int, float]) -> None:
        cleaned = {int(r): float(g) for r, g in gains.items() if g > 0 and not math.isclose(g, 1.0)}
        if cleaned != self._gains:
            self._gains = cleaned
            self.gains_changed.emit(dict(cleaned))

    def scale_row(self, row: int, factor: float) -> None:
        gains = dict(self._gains)
        gains[row] = gains.get(row, 1.0) * factor
        self.set_gains(gains)

    def set_selected(self, row: int) -> None:
        if row != self._selected:
            self._selected = int(row)
            self.selected_changed.emit(self._selected)
            if row in self._order:
                position = self._order.index(row)
                if not self._first <= position < self._first + self._per_page:
                    self.set_first(position - self._per_page + 1 if position >= self._first else position)

    def select_neighbour(self, direction: int) -> None:
        if not self._order:
            return
        position = self._order.index(self._selected) if self._selected in self._order else 0
        self.set_selected(self._order[min(max(position + direction, 0), len(self._order) - 1)])


def _checked_sensitivity(value: float) -> float:
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"sensitivity must be a positive number of units per mm, got {value}")
    return value


class DisplaySettings(QObject):
    """Montage, display filter and bad channels.

    The montage and the filter are immutable values from ``tracemark.dsp``. The bad
    channels (channel name -> reason, from the person's annotation file) are drawn greyed
    and left out of the montage's average reference (``Montage.matrix(..., exclude=...)``).
    """

    montage_changed = pyqtSignal(object)
    display_filter_changed = pyqtSignal(object)
    bad_channels_changed = pyqtSignal(dict)

    def __init__(self, montage=None, display_filter=None, parent: QObject | None = None):
        super().__init__(parent)
        self._montage = montage
        self._filter = display_filter
        self._bad_channels: dict[str, str] = {}

    montage = property(lambda self: self._montage)
    display_filter = property(lambda self: self._filter)
    #: Channel name -> reason of every bad channel (a copy).
    bad_channels = property(lambda self: dict(self._bad_channels))

    def set_bad_channels(self, bad_channels) -> None:
        bad = {str(name): str(reason) for name, reason in dict(bad_channels).items()}
        if bad != self._bad_channels:
            self._bad_channels = bad
            self.bad_channels_changed.emit(dict(bad))

    def montage_matrix(self, channel_names):
        """The montage's weights with the bad channels out of its average (None: as recorded)."""
        if self._montage is None:
            return None
        return self._montage.matrix(channel_names, exclude=tuple(self._bad_channels))

    def set_montage(self, montage) -> None:
        if montage != self._montage:
            self._montage = montage
            self.montage_changed.emit(montage)

    def set_display_filter(self, display_filter) -> None:
        if display_filter != self._filter:
            self._filter = display_filter
            self.display_filter_changed.emit(display_filter)


class ViewModel(QObject):
    """The three parts together; a viewer owns one."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.window = TimeWindow(parent=self)
        self.channels = ChannelView(parent=self)
        self.display = DisplaySettings(parent=self)
