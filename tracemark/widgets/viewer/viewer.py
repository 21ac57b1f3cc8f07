"""The signal viewer: a self-contained widget showing one :class:`SignalSource`.

It owns a view-model, a display pipeline with its caches, a pager (worker thread)
and a summary builder, and composes the trace plot, the overview strip, the events
list and a status line. Every change of the view-model becomes a page request; only
the latest result is drawn.

A new source opens readable, whatever its scaling: each channel's DC is removed per
page, traces are clipped to their rows, trigger and status channels are left out of
the rows (their events are marked instead), and before the first page is drawn the
worker measures the channels' robust spreads over the first minutes, from which each
scale group (EEG, EMG, misc in %, ...) gets its first sensitivity (:mod:`.scales`). That
automatic scale follows the row height (window size, rows per page) until the user
sets one. Commands (keys, menus) live in :mod:`.commands`; the
hosting window adds the viewer's actions to its menus with
:meth:`SignalViewer.populate_menus`.
"""

from __future__ import annotations

import hashlib
import math
from functools import partial

import numpy as np
from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from tracemark.domain.channel_types import STIM
from tracemark.dsp.decimate import choose_factor, envelope_xy
from tracemark.dsp.filters import DisplayFilter
from tracemark.paging.pipeline import DisplayPipeline, filter_applies
from tracemark.paging.request import (
    ORIGIN_PENDING,
    ORIGIN_SAMPLED,
    ORIGIN_SUMMARY,
    PageRequest,
    PageResult,
    aligned_range,
)
from tracemark.paging.source import SignalSource
from tracemark.paging.survey import survey_spreads
from tracemark.widgets.gui_gc import collect_in_gui_thread

from .axes import format_seconds
from .cursors import MeasurementCursors
from .events_panel import EventsPanel
from .marking import MarkingController
from .overview import OverviewStrip
from .pager import Pager, SummaryBuilder
from .rows import display_rows
from .scales import AutomaticScales, describe_sensitivities
from .signal_plot import SignalPlot
from .status_line import StatusLine
from .summary_task import load_or_build
from .view_model import TIME_CLOCK, ViewModel

DEFAULT_ROWS_PER_PAGE = 32
#: What the viewer shows before the user chooses: each channel's DC removed per page.
DEFAULT_DISPLAY_FILTER = DisplayFilter(remove_dc=True)
SURVEY_TASK = "amplitude survey"
#: Pages computed ahead in the direction of travel (a held key finds them ready).
PAGES_AHEAD = 3
#: Seconds the overview summary build waits after each move of the window.
SUMMARY_PAUSE_S = 0.4
#: Milliseconds after the first page is drawn before background work starts (its paint first).
FIRST_PAGE_SETTLE_MS = 30


def montage_key(montage, channel_names, exclude=()) -> str:
    """Cache key of a montage's weights with the ``exclude`` channels (the bad ones) out of
    its average (``""`` for the channels as recorded)."""
    if montage is None:
        return ""
    matrix = np.ascontiguousarray(montage.matrix(channel_names, exclude=tuple(exclude)), dtype=np.float32)
    return f"{montage.name}:{hashlib.sha1(matrix.tobytes()).hexdigest()[:12]}"


def filter_key(display_filter) -> str:
    return "" if display_filter is None or display_filter.is_identity else repr(display_filter)


class SignalViewer(QWidget):
    """Lazily paged, peak-preserving multichannel viewer."""

    page_drawn = pyqtSignal(object)       # the PageResult just drawn
    #: A source's first page is on screen and background work starts (once per source).
    first_page_settled = pyqtSignal()
    summary_ready = pyqtSignal(str)       # montage key whose pyramid is ready
    source_changed = pyqtSignal(object)
    #: A channel marked bad (True) or good by the person while no annotation sink is set.
    channel_status_requested = pyqtSignal(str, bool)
    #: The annotation state the viewer shows, after each commit, undo, redo or new sink.
    annotations_changed = pyqtSignal(object)
    #: Why a mark was not made or changed (a read-only file, a failed write, a bad value).
    annotation_error = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None, *, montage_library=None,
                 cache_bytes: int = 48 * 2**20, automatic_scale: bool = True):
        super().__init__(parent)
        collect_in_gui_thread()   # before any worker thread exists: see gui_gc
        self.setObjectName("SignalViewer")
        self.model = ViewModel(self)
        #: Cursor A and B; their span is what the spectrum reads and export writes.
        self.cursors = MeasurementCursors(self)
        self.montage_library = montage_library
        self._cache_bytes = cache_bytes
        self.source: SignalSource | None = None
        self.pipeline: DisplayPipeline | None = None
        self.pager: Pager | None = None
        self.summaries = SummaryBuilder(self)
        self.last_result: PageResult | None = None
        self.filters_enabled = True
        #: Compute the pages on either side after each page (off only to measure cold paging).
        self.prefetch_enabled = True
        self._window_dirty = False
        self._drawn_rows: tuple[int, ...] = ()
        self._request_windows: dict[int, tuple[float, float]] = {}
        self._summary_waits = False
        self._last_start_s = 0.0
        #: Measure each new source's amplitudes for its first scale (False: every group
        #: opens at the default sensitivity, for hosts that set scales themselves).
        self.automatic_scale = automatic_scale
        #: Sensitivity per channel type (µV/mm) the user prefers over the measured one.
        self.preferred_sensitivities: dict[str, float] = {}
        #: Commands of the host's that also act while the viewer has the focus, listed by F1.
        self.extra_action_specs: tuple = ()
        self._automatic: AutomaticScales | None = None
        self._auto_scale = True          # follow the row height until the user sets a scale
        self._setting_scales = False
        self._awaiting_survey = False
        self._held_result: PageResult | None = None
        self.model.display.set_display_filter(DEFAULT_DISPLAY_FILTER)
        self._build_widgets()
        self._connect_model()
        from .bad_channels import BadChannels  # noqa: PLC0415 (it imports this module)
        from .commands import ViewerCommands  # noqa: PLC0415 (commands import this module)
        from .measure import MeasurementController  # noqa: PLC0415 (it imports this module)

        #: Bad channels: greyed rows, B and the row-name menu, left out of averages.
        self.bad_channels = BadChannels(self)

        #: Crosshair, cursor lines and the Measurements panel.
        self.measure = MeasurementController(self)
        self.splitter.addWidget(self.measure.panel)
        #: Marks on the recording: drawing, keys, mouse, label legend (see marking).
        self.marking = MarkingController(self)
        self.commands = ViewerCommands(self)
        self.actions = self.commands.actions

    # -- construction ----------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.plot = SignalPlot(self)
        self.plot.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.overview = OverviewStrip(self)
        self.events_panel = EventsPanel(self)
        self.events_panel.hide()
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(2)
        left_layout.addWidget(self.plot, 1)
        left_layout.addWidget(self.overview)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.events_panel)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setCollapsible(0, False)
        self.status = StatusLine(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)
        # Once the first page is on screen: the overview summary starts, and event labels are
        # made a few per idle turn (see event_markers).
        self._after_first_page = QTimer(self, singleShot=True, interval=FIRST_PAGE_SETTLE_MS)
        self._after_first_page.timeout.connect(self._start_background_work)
        self._label_timer = QTimer(self, singleShot=True, interval=0)
        self._label_timer.timeout.connect(self._warm_up_event_labels)
        self._labels_pending = False   # label items still to make; they wait while the person pages
        self._request_timer = QTimer(self, singleShot=True, interval=0)
        self._request_timer.timeout.connect(self.request_page)
        self.plot.pan_requested.connect(lambda seconds: self.model.window.set_start(
            self.model.window.start_s + seconds))
        self.plot.wheel_requested.connect(self._on_wheel)
        self.plot.row_clicked.connect(self._on_row_clicked)
        self.plot.getViewBox().sigResized.connect(self._schedule_request)
        self.plot.getViewBox().sigResized.connect(self._follow_row_height)
        self.overview.jump_requested.connect(self.model.window.centre_on)
        self.events_panel.jump_requested.connect(self.model.window.centre_on)
        self.summaries.progress.connect(self._on_summary_progress)
        self.overview.stop_requested.connect(self.stop_summary)
        self.overview.build_requested.connect(self._rebuild_summary)
        self.summaries.finished.connect(self._on_summary)
        self.summaries.failed.connect(lambda _key, message: self.overview.set_message(
            f"Overview unavailable: {message}"))

    def _connect_model(self) -> None:
        window, channels, display = self.model.window, self.model.channels, self.model.display
        window.start_changed.connect(self._on_window_changed)
        window.span_changed.connect(self._on_window_changed)
        window.time_mode_changed.connect(self._on_time_mode)
        channels.order_changed.connect(self._schedule_request)
        channels.first_changed.connect(self._schedule_request)
        channels.per_page_changed.connect(self._schedule_request)
        channels.sensitivities_changed.connect(self._on_sensitivities)
        channels.gains_changed.connect(self._apply_amplitude)
        channels.per_page_changed.connect(self._follow_row_height)
        channels.selected_changed.connect(self._update_selection)
        display.montage_changed.connect(self._on_montage)
        display.display_filter_changed.connect(self._on_filter)

    # -- the source ------------------------------------------------------------------------
    def set_source(self, source: SignalSource, *, span_s: float = 10.0) -> None:
        """Show ``source`` (replacing any previous one) from its start."""
        self.close_source()
        self.source = source
        self.pipeline = DisplayPipeline(source, cache_bytes=self._cache_bytes)
        self.pager = Pager(self.pipeline, self)
        self.pager.page_ready.connect(self._draw_result)
        self.pager.page_failed.connect(self._on_page_failed)
        self.pager.busy_changed.connect(self.status.set_busy)
        self.pager.task_done.connect(self._on_task_done)
        duration = source.n_samples / source.sampling_rate
        span_s = min(span_s, duration) if duration > 0 else span_s
        self._start_survey(source, span_s)
        self.model.display.set_montage(None)
        self._keep_filter_if_valid(source.sampling_rate)
        window = self.model.window
        window.set_duration(duration)
        self.cursors.set_duration(duration)
        window.set_span(span_s)
        window.set_start(0.0)
        if source.start_datetime is None:
            window.set_time_mode("seconds")
        self._set_rows_for_montage(None)
        self.overview.set_duration(duration, source.start_datetime, window.time_mode)
        self.overview.set_activity(None)
        self.overview.set_message("")
        events = list(source.events())
        self.plot.set_events([(e.time_s, e.duration_s, e.label, e.source) for e in events])
        self.overview.set_events(e.time_s for e in events)
        self.events_panel.set_events(events)
        self.events_panel.set_time_format(self.format_time)
        self.plot.set_time_mode(window.time_mode, source.start_datetime)
        self.commands.source_changed()
        if source.channel_names:
            # Built once the first page is on screen: before that it would compete with
            # the page (and the amplitude survey) for both cores.
            self._summary_waits = True
        else:   # events only: nothing to summarise; the events list is what there is to see
            self.overview.set_message(f"No signals: {len(events)} events")
            self.events_panel.show()
        self._on_window_changed()
        self.source_changed.emit(source)

    def close_source(self) -> None:
        """Stop the workers and forget the source (the caller closes the reader)."""
        self._label_timer.stop()
        self._labels_pending = False
        self._after_first_page.stop()
        self.summaries.cancel()
        if self.pager is not None:
            self.pager.shutdown()
            self.pager.deleteLater()
        self.summaries.wait_idle(10000)
        self.pager = None
        self.pipeline = None
        self.source = None
        self.last_result = None
        self._summary_waits = False
        self._automatic = None
        self._awaiting_survey = False
        self._held_result = None
        self.plot.clear_data()

    def _start_background_work(self) -> None:
        if self.source is None:
            return
        shown = self.last_result
        if shown is not None and self.pager is not None and self._worth_reading_ahead(shown.request):
            self.pager.read_ahead(self._read_ahead(shown.request))
        self._start_summary()
        # Event labels: a few per turn from a pause on, one per page while the person pages
        # (a person may be paging already), so the first zoom out finds them made.
        self._labels_pending = True
        self._label_timer.start(round(SUMMARY_PAUSE_S * 1000))
        self.first_page_settled.emit()

    def _warm_up_event_labels(self, count: int = 8) -> None:
        self._labels_pending = self.source is not None and self.plot.warm_up_event_labels(count)
        if self._labels_pending and count > 1:
            self._label_timer.start(0)

    def shutdown(self) -> bool:
        """Stop every worker and wait for them; True when all stopped in time."""
        self._label_timer.stop()
        self._labels_pending = False
        self._after_first_page.stop()
        stopped = self.summaries.shutdown()
        if self.pager is not None:
            stopped = self.pager.shutdown() and stopped
        return stopped

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    # -- rows --------------------------------------------------------------------------------
    def row_labels(self) -> tuple[str, ...]:
        """The label of every row of the current montage (``model.channels.labels``)."""
        return self.model.channels.labels

    def set_bad_channels(self, bad_channels) -> None:
        """Show ``bad_channels`` (name -> reason) as bad: greyed, out of the averages."""
        self.model.display.set_bad_channels(bad_channels)

    def drawn_rows(self) -> tuple[int, ...]:
        """The rows the plot shows, top to bottom (they follow the channel page with the page)."""
        return self._drawn_rows

    def _set_rows_for_montage(self, montage) -> None:
        channels = self.model.channels
        channels.set_rows(display_rows(self.source, montage))
        channels.set_gains(self._misc_gains() if montage is None else {})
        # Trigger and status channels are marked as events, not drawn as a wall of steps;
        # the Channels dialog brings them back.
        rows = channels.rows
        shown = [r for r, row in enumerate(rows) if row.channel_type != STIM] or list(range(len(rows)))
        channels.set_per_page(min(len(shown), DEFAULT_ROWS_PER_PAGE) or 1)
        channels.set_order(shown)
        channels.set_first(0)
        self._drawn_rows = ()
        self.plot.clear_data()  # old rows' values must not show under the new labels
        self._sync_plot_rows(channels.visible_rows)

    def _sync_plot_rows(self, rows) -> None:
        rows = tuple(rows)
        self._drawn_rows = rows
        shown = [self.model.channels.row(r) for r in rows]
        self.plot.set_rows([row.label for row in shown], [row.scale.to_group_unit for row in shown],
                           [row.scale.group for row in shown])
        self.plot.set_bad_positions(self.bad_channels.positions_of(rows))
        self._apply_amplitude()
        self._update_selection()

    # -- first scale from the data -----------------------------------------------------------
    def _start_survey(self, source, span_s: float) -> None:
        """Measure the channels' spreads on the worker, ahead of the first page (of
        ``span_s`` seconds: each page's median is removed, as the pages remove their DC)."""
        self._automatic = None
        self._auto_scale = True
        self._held_result = None
        self._awaiting_survey = self.automatic_scale
        if not self.automatic_scale:
            return

        page_samples = int(span_s * source.sampling_rate)
        self.pager.run_task(SURVEY_TASK, partial(survey_spreads, source, page_samples))

    def _on_task_done(self, name: str, value, error) -> None:
        if name != SURVEY_TASK or self.source is None:
            return
        scales = [row.scale for row in display_rows(self.source)]   # of the channels as recorded
        steady, bursts = value if error is None else ([], [])
        self._automatic = AutomaticScales(steady, scales, bursts, self.bad_channels.channel_indexes())
        if self.model.display.montage is None:
            self.model.channels.set_gains(self._misc_gains())
        self._apply_automatic_scales(force=True)
        self._awaiting_survey = False
        held, self._held_result = self._held_result, None
        if held is not None:
            self._draw_result(held)

    def _misc_gains(self) -> dict[int, float]:
        return self._automatic.misc_gains() if self._automatic is not None else {}

    def _apply_automatic_scales(self, force: bool = False) -> None:
        if self._automatic is None or not (self._auto_scale or force):
            return
        values = self._automatic.sensitivities(self.plot.row_pixels(), self.plot.pixels_per_mm,
                                               self.preferred_sensitivities)
        self._setting_scales = True
        try:
            self.model.channels.set_sensitivities(values)
        finally:
            self._setting_scales = False

    def _follow_row_height(self, *_args) -> None:
        if self._auto_scale and self._automatic is not None:
            self._apply_automatic_scales()

    def _on_sensitivities(self, _values) -> None:
        if not self._setting_scales:
            self._auto_scale = False   # the user chose: keep it through resizes
        self._apply_amplitude()

    def reset_scales(self) -> None:
        """Back to the measured sensitivities and gains of first open."""
        self._auto_scale = True
        self.model.channels.set_gains(self._misc_gains() if self.model.display.montage is None else {})
        self._apply_automatic_scales(force=True)

    def automatic_sensitivity(self, group: str) -> float | None:
        """The measured first sensitivity of ``group`` at the current row height."""
        if self._automatic is None:
            return None
        return self._automatic.sensitivities(self.plot.row_pixels(), self.plot.pixels_per_mm).get(group)

    # -- requests --------------------------------------------------------------------------
    def _on_window_changed(self, *_args) -> None:
        self._window_dirty = True
        if self._window_awaits_summary():
            self.summaries.resume()   # what is on screen is drawn from samples until it is built
        else:   # the build gives the cores to the pages while the person moves
            self.summaries.pause_for(SUMMARY_PAUSE_S)
        if self._labels_pending:   # a few ms per turn, which belong to the pages meanwhile
            self._label_timer.start(round(SUMMARY_PAUSE_S * 1000))
        self._schedule_request()

    def _window_awaits_summary(self) -> bool:
        """True when the window is too long to read before the summary exists."""
        if self.source is None or self.pipeline is None:
            return False
        values = self.model.window.span_s * self.source.sampling_rate * len(self.model.channels.visible_rows)
        return values > self.pipeline.stream_budget_values

    def _schedule_request(self, *_args) -> None:
        # Changes made in one turn of the event loop (span then start, say) become one
        # request; the axes move in the same turn as a cached page is drawn, so each
        # step costs one paint.
        if not self._request_timer.isActive():
            self._request_timer.start()

    def _apply_window(self) -> None:
        """The overview and the status line follow the window at once; the plot's axis
        moves only with the page that fills it (:meth:`_draw_result`), so a page is one
        frame, never an axis over the previous page's traces or over nothing."""
        window = self.model.window
        self._window_dirty = False
        self.overview.set_window(window.start_s, window.stop_s)
        self.status.set_position(self._position_text())

    def page_request(self, start_s: float, request_id: int = -1) -> PageRequest:
        """The request that shows the current rows from ``start_s`` for the current span."""
        rate, window = self.source.sampling_rate, self.model.window
        n = self.source.n_samples
        # Clamped to the stream: a damaged header's absurd rate (1e308 Hz) makes the
        # shortest span more samples than an int64 holds; a sane one never reaches these.
        first = min(max(int(math.floor(start_s * rate + 1e-6)), 0), n)
        span = min(max(int(math.ceil(window.span_s * rate - 1e-6)), 1), n + 1)
        pixels = max(int(self.plot.getViewBox().width()), 200)
        factor = choose_factor(span, pixels)
        i_start, i_stop = aligned_range(first, first + span, factor)
        display = self.model.display
        return PageRequest(request_id, i_start, i_stop, self.model.channels.visible_rows, factor,
                           montage_key(display.montage, self.source.channel_names, display.bad_channels),
                           filter_key(self.active_filter()))

    def request_page(self) -> None:
        if self._window_dirty:
            self._apply_window()
        window = self.model.window
        if self.pager is None or not self.model.channels.visible_rows:
            self.plot.set_x_range(window.start_s, window.stop_s)   # no page to wait for
            return
        request = self.page_request(window.start_s, self.pager.next_id())
        self._request_windows[request.request_id] = (window.start_s, window.stop_s)
        for old in [k for k in self._request_windows if k < request.request_id - 64]:
            del self._request_windows[old]
        # The first page waits for the amplitude survey; reading ahead then would slow both.
        ahead = self._worth_reading_ahead(request) and not self._awaiting_survey
        self.pager.request(request, self._read_ahead(request) if ahead else ())

    def _worth_reading_ahead(self, request: PageRequest) -> bool:
        """Pages of a few million values are read ahead; longer windows are not: each costs
        tens of milliseconds on both cores, which the page on screen needs to be drawn."""
        if not self.prefetch_enabled or self.pipeline is None:
            return False
        return request.n_samples * len(request.rows) <= self.pipeline.raw_budget_values

    def _read_ahead(self, request: PageRequest) -> list[PageRequest]:
        """The pages worth computing next: :data:`PAGES_AHEAD` in the direction the person
        is moving, then one behind."""
        window = self.model.window
        direction = -1 if window.start_s < self._last_start_s - 1e-9 else 1
        self._last_start_s = window.start_s
        steps = [direction * k for k in range(1, PAGES_AHEAD + 1)] + [-direction]
        ahead, keys = [], {request.cache_key}
        for step in steps:
            page = self.page_request(window.clamp_start(window.start_s + step * window.span_s))
            if page.cache_key not in keys:
                keys.add(page.cache_key)
                ahead.append(page)
        return ahead

    def page_is_current(self) -> bool:
        """True when the page drawn answers the latest request: nothing is on its way (a
        source of events only has no page to draw)."""
        if self.source is not None and not self.source.channel_names:
            return not self._request_timer.isActive() and not self._awaiting_survey
        latest = self.pager.latest_request if self.pager is not None else None
        result = self.last_result
        return (not self._request_timer.isActive() and not self._awaiting_survey
                and latest is not None and result is not None
                and result.request.request_id == latest.request_id)

    def active_filter(self):
        display_filter = self.model.display.display_filter
        if display_filter is None or not self.filters_enabled:
            return None
        return display_filter

    # -- drawing ---------------------------------------------------------------------------
    def _draw_result(self, result: PageResult) -> None:
        if self._awaiting_survey:
            self._held_result = result   # drawn, to scale, once the survey has answered
            return
        request = result.request
        if request.montage_key != self.current_montage_key():
            # Read for the montage shown before the latest change: its rows no longer exist.
            # The request for the current montage is already on its way.
            return
        if result.origin == ORIGIN_PENDING and self.last_result is not None:
            # Too long to read before the summary exists: the page on screen stays (axis and
            # traces together) and the status line says what is awaited.
            self.status.set_decimation(_decimation_text(result))
            return
        if request.rows != self._drawn_rows:
            self._sync_plot_rows(request.rows)
        self.last_result = result
        shown = self._request_windows.get(request.request_id)
        if shown is not None and shown != self.plot.x_range():
            self.plot.set_x_range(*shown)
        if result.origin == ORIGIN_PENDING:
            self.plot.clear_data()
        else:
            x, y = envelope_xy(result.bin_starts, result.mins, result.maxs, result.bin_factor,
                               self.source.sampling_rate)
            self.plot.set_data(x, y)
        if self._summary_waits:
            # After the frame that shows this page is painted, not before it.
            self._summary_waits = False
            self._after_first_page.start()
        self.status.set_decimation(_decimation_text(result))
        self.status.set_filter(self._filter_text(result))
        if self._labels_pending:
            self._warm_up_event_labels(count=1)   # tens of µs: the rest wait for a pause
        self.page_drawn.emit(result)

    def _filter_text(self, result: PageResult) -> str:
        active = self.active_filter()
        configured = self.model.display.display_filter
        if configured is None or configured.is_identity:
            return "No filter"
        if active is None:
            return "Filters off"
        text = active.describe()
        if filter_applies(active) and not result.filtered and result.origin != ORIGIN_PENDING:
            text += " (not applied at this zoom)"
        return text

    def _apply_amplitude(self, *_args) -> None:
        channels = self.model.channels
        rows = self._drawn_rows
        self.plot.set_amplitude([channels.row_sensitivity(r) for r in rows], [channels.gain(r) for r in rows])
        self.status.set_sensitivity(describe_sensitivities(channels.sensitivities,
                                                           [channels.group(r) for r in rows]))

    def _update_selection(self, *_args) -> None:
        selected = self.model.channels.selected
        position = self._drawn_rows.index(selected) if selected in self._drawn_rows else -1
        self.plot.set_selected_position(position)
        channels = self.model.channels
        n = len(channels.order)
        shown = channels.visible_rows
        if n:
            self.status.set_channels(f"Channels {channels.first + 1}–{channels.first + len(shown)} of {n}")

    def _on_page_failed(self, message: str) -> None:
        window = self.model.window
        self.plot.set_x_range(window.start_s, window.stop_s)   # the axis still follows
        self.status.set_decimation(f"Read failed: {message}")

    # -- montage, filter, summary ----------------------------------------------------------
    def current_montage_key(self) -> str:
        """The key of the montage shown, as weighed now (bad channels out of its average)."""
        display = self.model.display
        return montage_key(display.montage, self.source.channel_names, display.bad_channels)

    def _on_montage(self, montage) -> None:
        if self.source is None:
            return
        key = self.current_montage_key()
        matrix = self.model.display.montage_matrix(self.source.channel_names)
        self.pipeline.register_montage(key, matrix)
        self._set_rows_for_montage(montage)
        self.status.set_montage(montage.name if montage is not None else "As recorded")
        if self.pipeline.pyramid(key) is None:
            self.overview.set_activity(None)
            self._start_summary()
        self._schedule_request()

    def _on_filter(self, _display_filter) -> None:
        if self.pipeline is not None:
            active = self.active_filter()
            self.pipeline.register_filter(filter_key(active), active)
        self._schedule_request()

    def _keep_filter_if_valid(self, sampling_rate: float) -> None:
        """Drop a display filter the new source's rate cannot carry; register the kept one."""
        display_filter = self.model.display.display_filter
        if display_filter is not None:
            try:
                display_filter.validate(sampling_rate)
            except ValueError:
                self.model.display.set_display_filter(None)
        self._on_filter(None)

    def set_filters_enabled(self, enabled: bool) -> None:
        self.filters_enabled = bool(enabled)
        self._on_filter(None)

    def _start_summary(self) -> None:
        source = self.source
        key = self.current_montage_key()
        matrix = self.model.display.montage_matrix(source.channel_names)
        self.overview.set_progress(0.0)
        self.summaries.start(key, lambda progress, cancelled: load_or_build(
            source, key, matrix, progress, cancelled))

    def _on_summary_progress(self, fraction: float) -> None:
        if self.summaries.running_key is not None:   # late reports of a stopped build
            self.overview.set_progress(fraction)

    def stop_summary(self) -> None:
        """Stop building the overview summary (reading a long file over a slow link can
        take minutes). Nothing partial is kept: a summary is saved whole or not at all."""
        if self.summaries.running_key is None:
            return
        self.summaries.cancel()
        self.overview.set_message("Overview stopped; zoomed-out views need it.", "Build it")

    def _rebuild_summary(self) -> None:
        if self.source is not None and self.summaries.running_key is None:
            self._start_summary()

    def _on_summary(self, key: str, payload) -> None:
        if self.source is None or self.pipeline is None:
            return
        self.pipeline.set_pyramid(key, payload.pyramid)
        if key == self.current_montage_key():
            self.overview.set_progress(None)
            self.overview.set_duration(payload.activity_samples / self.source.sampling_rate,
                                       self.source.start_datetime, self.model.window.time_mode)
            self.overview.set_activity(payload.activity)
            self.overview.set_duration(self.model.window.duration_s, self.source.start_datetime,
                                       self.model.window.time_mode)
            self.overview.set_window(self.model.window.start_s, self.model.window.stop_s)
            self.overview.set_message("")
            self._schedule_request()
        self.summary_ready.emit(key)

    # -- time display ------------------------------------------------------------------------
    def format_time(self, seconds: float) -> str:
        start = self.source.start_datetime if self.source is not None else None
        if self.model.window.time_mode == TIME_CLOCK and start is not None:
            from datetime import timedelta

            return (start + timedelta(seconds=seconds)).strftime("%H:%M:%S.%f")[:-3]
        return format_seconds(seconds, 0.001)

    def _position_text(self) -> str:
        window = self.model.window
        span = window.span_s
        span_text = f"{span:g} s" if span < 120 else f"{span / 60:g} min"
        return f"{self.format_time(window.start_s)} – {self.format_time(window.stop_s)}  ({span_text})"

    def _on_time_mode(self, mode: str) -> None:
        start = self.source.start_datetime if self.source is not None else None
        self.plot.set_time_mode(mode, start)
        self.overview.set_time_mode(mode, start)
        self.events_panel.set_time_format(self.format_time)
        self.status.set_position(self._position_text())

    # -- mouse -------------------------------------------------------------------------------
    def _on_wheel(self, notches: int, modifiers) -> None:
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            factor = 0.8 ** notches
            self.model.window.set_span(self.model.window.span_s * factor, keep_centre=True)
        elif modifiers & Qt.KeyboardModifier.ShiftModifier:
            for _ in range(abs(notches)):
                self.model.channels.step_sensitivity(1 if notches > 0 else -1)
        else:
            self.model.window.step(-0.1 * notches)

    def _on_row_clicked(self, position: int) -> None:
        if position < len(self._drawn_rows):
            self.model.channels.set_selected(self._drawn_rows[position])

    def populate_menus(self, menu_bar, menus=None):
        return self.commands.action_set.populate(menu_bar, menus)

    # -- marks -------------------------------------------------------------------------------
    def set_annotation_sink(self, sink) -> None:
        """Mark (and set channel status) through ``sink``, an
        :class:`~tracemark.domain.annotations.AnnotationSink`; None turns marking off."""
        self.marking.set_sink(sink)
        self.bad_channels.set_sink(sink)

    def expect_annotation_sink(self) -> None:
        """A sink comes soon (:meth:`set_annotation_sink`): make room for marking now, so
        the traces do not move when it comes; marking stays off until then."""
        self.marking.expect_sink()

    def refresh_annotations(self) -> None:
        """Show the sink's state again (it changed outside the viewer)."""
        self.marking.refresh()
        self.bad_channels.refresh()

    def undo_annotation(self) -> bool:
        """Undo the sink's last change of marks or channel status; True when one was undone."""
        done = self.marking.undo_annotation()
        if done:
            self.bad_channels.refresh()
        return done

    def redo_annotation(self) -> bool:
        done = self.marking.redo_annotation()
        if done:
            self.bad_channels.refresh()
        return done


def _decimation_text(result: PageResult) -> str:
    factor = result.bin_factor
    if result.origin == ORIGIN_PENDING:
        return "Waiting for the overview summary"
    if factor == 1:
        return "Every sample"
    text = f"Min/max ÷{factor}"
    if result.origin == ORIGIN_SUMMARY:
        text += " (summary)"
    elif result.origin == ORIGIN_SAMPLED:
        text += " (sampled: approximate until the overview summary is built)"
    return text
