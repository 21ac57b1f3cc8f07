"""The spectrum docks of the main window: the power spectrum of the channels shown and the
spectrogram of the selected channel, both following the viewer.

What they analyse is what the viewer shows: the measurement span (cursors A and B) when
one is set, else the visible window; the rows of the current montage, through the active
display filter (:class:`~tracemark.widgets.spectrum.SpectrumRequest` is that snapshot).
The PSD covers the selected channel, or every channel on the page (the person chooses in
the dock); the spectrogram the selected channel (the first row on the page when none is
selected). Each change of window, span, selection, montage or filter is coalesced over
:data:`SETTLE_MS` of quiet, then computed on a worker thread; only the latest result is
drawn, and a dock that is hidden computes nothing.

The views and the spectral code are imported when a dock is first shown, as the plot
docks are (scipy only when a spectrum is first computed): a person who only reads a
recording does not pay for them at start-up.
"""

from __future__ import annotations

import math

import numpy as np
from PyQt6.QtCore import QObject, Qt, QTimer
from PyQt6.QtWidgets import QDockWidget, QMainWindow

from tracemark.widgets.actions import ActionSet, ActionSpec
from tracemark.widgets.thread_pools import worker_pool
from tracemark.widgets.viewer.viewer import filter_key

from .workers import Task

#: Quiet (ms) after the last change before a spectrum is computed again.
SETTLE_MS = 250
#: Shares of the window the docks take when first shown.
PSD_WIDTH_SHARE = 0.3
SPECTROGRAM_HEIGHT_SHARE = 0.3
#: The frequency axis ends here times the low-pass cut-off (the roll-off stays in view).
LOWPASS_MARGIN = 1.25

PSD = "psd"
SPECTROGRAM = "spectrogram"
TITLES = {PSD: "Power spectrum", SPECTROGRAM: "Time-frequency"}

SPECTRUM_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("toggle_spectrum", "View", "Power spectrum", ("Ctrl+Shift+F",),
               "Power spectral density of the channels shown, over the window or the A-B span",
               checkable=True, separator_before=True),
    ActionSpec("toggle_spectrogram", "View", "Time-frequency (spectrogram)", ("Ctrl+Shift+T",),
               "Spectrogram of the selected channel, over the window or the A-B span", checkable=True),
)
_ACTION_DOCK = {"toggle_spectrum": PSD, "toggle_spectrogram": SPECTROGRAM}


class SpectrumDocks(QObject):
    """Two docks of ``window`` showing spectra of what ``viewer`` shows."""

    def __init__(self, window: QMainWindow, viewer):
        super().__init__(window)
        self.window = window
        self.viewer = viewer
        self.views: dict[str, object] = {}
        self.docks = {PSD: self._make_dock(PSD, Qt.DockWidgetArea.RightDockWidgetArea),
                      SPECTROGRAM: self._make_dock(SPECTROGRAM, Qt.DockWidgetArea.BottomDockWidgetArea)}
        # Methods, not lambdas: the actions and docks also toggle while the window is deleted.
        self.actions = ActionSet(window, SPECTRUM_ACTIONS, dict.fromkeys(_ACTION_DOCK, self._action_toggled),
                                 context=Qt.ShortcutContext.WindowShortcut)
        for name, dock in _ACTION_DOCK.items():
            self.docks[dock].toggleViewAction().toggled.connect(self.actions[name].setChecked)
        #: The PSD's channels (``reading.SCOPE_*``): the view's choice, once it is built.
        self.scope: str | None = None
        self._pool = worker_pool(self)   # one thread: the pages have the other core
        self._tasks: dict[str, Task | None] = {PSD: None, SPECTROGRAM: None}
        self._shown_keys: dict[str, tuple | None] = {PSD: None, SPECTROGRAM: None}
        self._results: dict[str, object] = {PSD: None, SPECTROGRAM: None}
        #: The highest frequency shown, chosen in the PSD dock (0: automatic).
        self.frequency_limit_hz = 0.0
        self._timer = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._timer.timeout.connect(self.refresh)
        self._follow_viewer()

    def _make_dock(self, kind: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(TITLES[kind], self.window)
        dock.setObjectName(f"dock.{kind}")
        dock.setAccessibleName(TITLES[kind])
        dock.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        self.window.addDockWidget(area, dock)
        dock.hide()
        # A method, not a lambda: a dock also says it is hidden while its window is deleted,
        # when a lambda's captured names may already be cleared (see widgets/gui_gc).
        dock.visibilityChanged.connect(self._dock_visibility)
        return dock

    def _action_toggled(self, on: bool) -> None:
        name = next((name for name in _ACTION_DOCK if self.actions[name] is self.sender()), None)
        if name is not None:
            self.docks[_ACTION_DOCK[name]].setVisible(on)

    def _dock_visibility(self, visible: bool) -> None:
        kind = next((kind for kind, dock in self.docks.items() if dock is self.sender()), None)
        if visible and kind is not None:
            self._on_shown(kind)

    def _follow_viewer(self) -> None:
        viewer, model = self.viewer, self.viewer.model
        for signal in (model.window.start_changed, model.window.span_changed, model.channels.selected_changed,
                       model.channels.order_changed, model.channels.first_changed,
                       model.channels.per_page_changed, model.display.montage_changed,
                       model.display.display_filter_changed, viewer.cursors.changed, viewer.page_drawn):
            signal.connect(self.schedule)
        viewer.source_changed.connect(lambda _source: self._cancel_all())
        model.window.time_mode_changed.connect(self._on_time_mode)

    # -- views, built on first show ----------------------------------------------------------------
    def view(self, kind: str):
        view = self.views.get(kind)
        if view is None:
            # Imported here, not with this module: see the module docstring.
            if kind == PSD:
                from tracemark.widgets.spectrum.psd_view import PsdView  # noqa: PLC0415

                view = PsdView()
                self.scope = view.current_scope()
                view.scope_changed.connect(self._on_scope)
                view.limit_changed.connect(self._on_limit)
            else:
                from tracemark.widgets.spectrum.spectrogram_view import SpectrogramView  # noqa: PLC0415

                view = SpectrogramView()
            self.docks[kind].setWidget(view)
            self.views[kind] = view
            if kind == SPECTROGRAM:
                self._on_time_mode()
        return view

    def settled(self, kind: str) -> bool:
        """True when the dock shows its result for what the viewer shows now (for scripts
        and tests that wait for it)."""
        return not self._timer.isActive() and self._tasks.get(kind) is None and kind in self._results

    def _on_shown(self, kind: str) -> None:
        self.view(kind)
        self._keep_proportionate(kind)
        self.schedule()

    def _keep_proportionate(self, kind: str) -> None:
        dock = self.docks[kind]
        if dock.isFloating():
            return
        if kind == PSD and dock.width() > PSD_WIDTH_SHARE * self.window.width() * 1.15:
            self.window.resizeDocks([dock], [int(PSD_WIDTH_SHARE * self.window.width())],
                                    Qt.Orientation.Horizontal)
        elif kind == SPECTROGRAM and dock.height() < 0.2 * self.window.height():
            self.window.resizeDocks([dock], [int(SPECTROGRAM_HEIGHT_SHARE * self.window.height())],
                                    Qt.Orientation.Vertical)

    def _on_scope(self, scope: str) -> None:
        self.scope = scope
        self.schedule()

    def _on_limit(self, limit_hz: float) -> None:
        """Redraw at the new frequency limit (nothing to compute again)."""
        self.frequency_limit_hz = limit_hz
        self._redraw()

    def _redraw(self) -> None:
        for kind, result in self._results.items():
            if result is not None:
                self._show(kind, result)

    def _on_time_mode(self, *_args) -> None:
        view = self.views.get(SPECTROGRAM)
        if view is not None:
            source = self.viewer.source
            view.set_time_mode(self.viewer.model.window.time_mode,
                               source.start_datetime if source is not None else None)
        self._redraw()   # the titles and range texts give times in the viewer's format

    # -- what to analyse ---------------------------------------------------------------------------
    def schedule(self, *_args) -> None:
        """Compute again once the viewer has been still for :data:`SETTLE_MS`."""
        if any(self.docks[k].isVisible() for k in self.docks):
            self._timer.start()

    def refresh(self) -> None:
        """Bring the visible docks up to date now (unless they already show this request)."""
        self._timer.stop()
        for kind in (PSD, SPECTROGRAM):
            if not self.docks[kind].isVisible():
                continue
            view = self.view(kind)
            request = self.request(kind)
            if request is None:
                self._cancel(kind)
                self._shown_keys[kind] = None
                self._results[kind] = None
                view.show_message(self._why_nothing())
                continue
            key = _request_key(request, self._filter_key())
            if key == self._shown_keys[kind]:
                continue
            self._shown_keys[kind] = key
            self._start(kind, request)

    def request(self, kind: str):
        """The snapshot of what the viewer shows that dock ``kind`` analyses, or None."""
        viewer, source = self.viewer, self.viewer.source
        if source is None or not source.channel_names or not viewer.row_labels():
            return None
        rows = self._rows(kind)
        if not rows:
            return None
        start_s, stop_s, origin = self._range()
        rate = source.sampling_rate
        i_start = max(math.floor(start_s * rate), 0)
        i_stop = min(math.ceil(stop_s * rate), source.n_samples)
        if i_stop - i_start < 4:
            return None
        from tracemark.widgets.spectrum.reading import SpectrumRequest  # noqa: PLC0415 (docstring)

        matrix = self._montage_matrix()
        labels = viewer.row_labels()
        return SpectrumRequest(source, i_start, i_stop, rows, tuple(labels[r] for r in rows),
                               tuple(_row_unit(source.units, matrix, r) for r in rows), matrix,
                               viewer.active_filter(), origin)

    def _rows(self, kind: str) -> tuple[int, ...]:
        from tracemark.widgets.spectrum.reading import SCOPE_SELECTED  # noqa: PLC0415

        channels = self.viewer.model.channels
        visible = tuple(channels.visible_rows)
        selected = channels.selected
        has_selection = selected in channels.order
        if kind == SPECTROGRAM:
            return (selected,) if has_selection else visible[:1]
        if self.scope == SCOPE_SELECTED and has_selection:
            return (selected,)
        return visible

    def _range(self) -> tuple[float, float, str]:
        span = self.viewer.cursors.span()
        if span is not None:
            return span[0], span[1], "measurement span"
        window = self.viewer.model.window
        return window.start_s, min(window.stop_s, window.duration_s or window.stop_s), "visible window"

    def _montage_matrix(self) -> np.ndarray | None:
        viewer = self.viewer
        montage = viewer.model.display.montage
        if montage is None:
            return None
        try:
            return viewer.pipeline.montage_matrix(viewer.current_montage_key())
        except KeyError:   # not registered yet: the viewer does so as the montage changes
            return np.asarray(viewer.model.display.montage_matrix(viewer.source.channel_names),
                              dtype=np.float32)

    def _filter_key(self) -> str:
        return filter_key(self.viewer.active_filter())

    def _why_nothing(self) -> str:
        source = self.viewer.source
        if source is None:
            return "Open a recording to see its spectrum."
        if not source.channel_names:
            return "This recording has no signals, only events."
        return "No channel on the page, or too few samples in the range."

    # -- computing ---------------------------------------------------------------------------------
    def _start(self, kind: str, request) -> None:
        from tracemark.widgets.spectrum.reading import compute_psd, compute_spectrogram  # noqa: PLC0415

        self._cancel(kind)
        compute = compute_psd if kind == PSD else compute_spectrogram

        def work(_progress, cancelled):
            return compute(request, cancelled)

        task = Task(work, self, name=f"spectrum.{kind}")
        # Methods, not lambdas: a result may arrive while the window is being deleted.
        task.finished.connect(self._task_finished)
        task.failed.connect(self._task_failed)
        self._tasks[kind] = task
        self.view(kind).set_busy(True)
        task.start(self._pool)

    def _describe_range(self, request) -> str:
        fmt = self.viewer.format_time
        duration = request.stop_s - request.start_s
        origin = "Span A–B" if request.origin == "measurement span" else "Window"
        return f"{origin} {fmt(request.start_s)} – {fmt(request.stop_s)} ({duration:.3g} s)"

    def _task_finished(self, result) -> None:
        task = self.sender()
        if isinstance(task, Task):
            self._on_result(task.objectName().removeprefix("spectrum."), task, result)

    def _task_failed(self, error: BaseException) -> None:
        task = self.sender()
        if isinstance(task, Task):
            self._on_failed(task.objectName().removeprefix("spectrum."), task, error)

    def _on_result(self, kind: str, task: Task, result) -> None:
        task.deleteLater()
        if task is not self._tasks[kind] or result is None:
            return   # a newer request is on its way, or this one was cancelled
        self._tasks[kind] = None
        self._results[kind] = result
        self._show(kind, result)

    def _show(self, kind: str, result) -> None:
        f_max = self._max_frequency(result.request)
        if kind == PSD:
            self._show_psd(result, f_max)
        else:
            self._show_spectrogram(result, f_max)

    def _show_psd(self, result, f_max: float) -> None:
        from tracemark.dsp.spectrum import spectral_peak  # noqa: PLC0415

        request, spectrum = result.request, result.spectrum
        peak = spectral_peak(spectrum, request.highpass_hz or 0.0, f_max)
        self.view(PSD).set_range_text(self._describe_range(request))
        self.view(PSD).show_spectrum(spectrum.frequencies, spectrum.power, request.labels, request.units,
                                     peak=peak, max_frequency_hz=f_max,
                                     note=f"{result.description}. {self._display_text()}")

    def _show_spectrogram(self, result, f_max: float) -> None:
        request, image = result.request, result.spectrogram
        fmt = self.viewer.format_time
        title = (f"{request.labels[0]} · {fmt(request.start_s)} – {fmt(request.stop_s)}"
                 f" ({'span A–B' if request.origin == 'measurement span' else 'window'})")
        self.view(SPECTROGRAM).show_spectrogram(
            image.frequencies, image.times, image.power, column_step_s=result.column_step_s,
            unit=request.units[0], title=title, max_frequency_hz=f_max,
            note=f"{result.description}. {self._display_text()}")

    def _display_text(self) -> str:
        montage = self.viewer.model.display.montage
        active = self.viewer.active_filter()
        filters = active.describe() if active is not None and not active.is_identity else "no filter"
        return f"Montage: {montage.name if montage is not None else 'as recorded'}; {filters}."

    def _max_frequency(self, request) -> float:
        """The chosen limit, else the low-pass region, else Nyquist (never beyond it)."""
        nyquist = request.sampling_rate / 2
        if self.frequency_limit_hz > 0:
            return min(nyquist, self.frequency_limit_hz)
        lowpass = request.lowpass_hz
        return min(nyquist, lowpass * LOWPASS_MARGIN) if lowpass else nyquist

    def _on_failed(self, kind: str, task: Task, error: BaseException) -> None:
        task.deleteLater()
        if task is not self._tasks[kind]:
            return
        self._tasks[kind] = None
        self._shown_keys[kind] = None   # asked again at the next change
        self.view(kind).show_message(f"Spectrum unavailable: {error}")

    def _cancel(self, kind: str) -> None:
        task = self._tasks[kind]
        if task is not None:
            task.cancel()
        self._tasks[kind] = None

    def _cancel_all(self) -> None:
        for kind in self._tasks:
            self._cancel(kind)
            self._shown_keys[kind] = None
            self._results[kind] = None
        self.schedule()

    @property
    def busy(self) -> bool:
        """True while a spectrum is being computed or waits for the viewer to settle."""
        return self._timer.isActive() or any(t is not None for t in self._tasks.values())

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop and wait for the worker (the window is closing)."""
        self._timer.stop()
        for kind in self._tasks:
            self._cancel(kind)
        return self._pool.waitForDone(timeout_ms)

    def toggle_actions(self) -> list:
        return [self.actions[name] for name in _ACTION_DOCK]


def _row_unit(units, matrix: np.ndarray | None, row: int) -> str:
    """A display row's unit: its channel's, or for a derivation its positive input's (as
    the viewer scales it)."""
    if matrix is None:
        return units[row]
    return units[int(np.argmax(matrix[row]))]


def _request_key(request, filter_key: str) -> tuple:
    matrix = request.matrix
    weights = None if matrix is None else hash(np.asarray(matrix)[list(request.rows)].tobytes())
    return (id(request.source), request.i_start, request.i_stop, request.rows, weights, filter_key)
