"""``TraceEditorWidget``: the trace plot, the attribute form, the progress line and the trace
table in one widget, speaking to the app only through plain data and intent signals.

The app (which owns the cache) feeds ``set_traces`` / ``update_row`` / ``set_trace`` and
listens to ``trace_requested``, ``edit_requested`` and ``navigation_requested``. Each thing
the person does that changes the trace is exactly ONE ``edit_requested(index, values)``;
the app saves it as one transaction and confirms by calling ``set_trace`` and
``update_row`` back. Until then nothing on screen shows the edit, so a refused or failed
write never looks saved. Looking at a trace emits no edit. The full contract is
/work/editor-api.md, mirrored in docs by the app.

Showing the next trace reuses every widget and plot item; ``set_trace`` costs about a
millisecond (benchmarks/bench_editor.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QScrollArea, QSplitter, QVBoxLayout, QWidget

from tracemark.analysis.peaks import (
    NO_PEAKS,
    PEAK_KEYS,
    PeakEstimate,
    check_window,
    estimate_peaks,
    stored_peaks,
)
from tracemark.domain import trace_attributes as keys
from tracemark.domain.review import ReviewCounts
from tracemark.domain.trace_numbers import trace_number
from tracemark.widgets.actions import ActionSet

from .actions import EDITOR_ACTIONS
from .attributes_form import AttributesForm
from .model import ACCEPT_EDIT, REJECT_EDIT, UNREVIEWED, TraceRow, TraceView
from .progress import ReadOnlyBanner, ReviewProgress
from .trace_editor_plot import TraceEditorPlot
from .trace_table import TraceTable

NAVIGATIONS = ("next", "previous", "next_unreviewed", "first", "last")
DEFAULT_PEAK_WINDOW_MS = (15.0, 50.0)


class TraceEditorWidget(QWidget):
    """See the module docstring and /work/editor-api.md."""

    #: The person asked to see trace i (table row, plot, ...).
    trace_requested = pyqtSignal(int)
    #: Apply these attribute values to trace i, as one transaction.
    edit_requested = pyqtSignal(int, dict)
    #: "next", "previous", "next_unreviewed", "first" or "last" (see ``resolve_navigation``).
    navigation_requested = pyqtSignal(str)
    #: The person changed the peak latency window (ms after the onset); a preference to keep.
    peak_window_changed = pyqtSignal(float, float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("traceEditor")
        self.setAccessibleName("Trace editor")
        self._trace: TraceView | None = None
        self._read_only_reason: str | None = None
        self._window = DEFAULT_PEAK_WINDOW_MS
        self._estimate: PeakEstimate = NO_PEAKS
        self.actions_set: ActionSet | None = None
        self.banner = ReadOnlyBanner()
        self.progress = ReviewProgress()
        self.plot = TraceEditorPlot()
        self.form = AttributesForm()
        self.table = TraceTable()
        self._layout()
        self._connect()
        self.set_peak_window_ms(*DEFAULT_PEAK_WINDOW_MS)
        self.setFocusProxy(self.plot.plot_widget)

    def _layout(self) -> None:
        scroll = _FormArea()
        scroll.setObjectName("traceEditor.formArea")
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.top_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.top_splitter.setObjectName("traceEditor.topSplitter")
        self.top_splitter.addWidget(self.plot)
        self.top_splitter.addWidget(scroll)
        self.top_splitter.setStretchFactor(0, 3)
        self.top_splitter.setStretchFactor(1, 1)
        self.top_splitter.setSizes([900, 380])
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("traceEditor.splitter")
        self.splitter.addWidget(self.top_splitter)
        self.splitter.addWidget(self.table)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([560, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(3)
        layout.addWidget(self.banner)
        layout.addWidget(self.progress)
        layout.addWidget(self.splitter, 1)

    def _connect(self) -> None:
        self.table.trace_requested.connect(self.trace_requested)
        self.plot.onset_dragged.connect(lambda shift: self._request({keys.ONSET_SHIFT: shift}))
        self.plot.peak_picked.connect(self._peak_picked)
        self.plot.channel_changed.connect(lambda _channel: self._refresh_peaks())
        form = self.form
        form.accept_clicked.connect(self.accept_current)
        form.reject_toggled.connect(lambda reject: self._decide(REJECT_EDIT if reject else ACCEPT_EDIT))
        form.onset_changed.connect(lambda shift: self._request({keys.ONSET_SHIFT: shift}))
        form.peak_edited.connect(lambda key, value: self._request({key: value}))
        form.estimate_clicked.connect(self.estimate_peaks)
        form.clear_peaks_clicked.connect(self.clear_peaks)
        form.comment_committed.connect(lambda text: self._request({keys.COMMENT: text}))
        form.examiner_committed.connect(lambda text: self._request({keys.EXAMINER: text}))
        form.peak_window_changed.connect(self._window_edited)
        form.done_editing.connect(self.plot.plot_widget.setFocus)

    # -- data in ------------------------------------------------------------------------
    def set_traces(self, rows: Sequence[TraceRow]) -> None:
        """The whole table (a model reset)."""
        self.table.set_rows(rows)
        self._update_progress()

    def update_row(self, row: TraceRow) -> None:
        """One row changed (after a confirmed edit, an undo or a redo)."""
        self.table.update_row(row)
        self._update_progress()

    def set_trace(self, trace: TraceView) -> None:
        """Show ``trace`` with its confirmed attributes; the table follows."""
        self._trace = trace
        self.plot.set_trace(trace)
        self.form.show_trace(trace)
        self.table.set_current(trace.index)
        self._refresh_peaks()
        self._update_progress()

    def set_read_only(self, reason: str | None) -> None:
        """``reason`` (who holds the file) shown in a banner, every editing control off;
        ``None`` makes the editor editable again."""
        self._read_only_reason = reason or None
        editable = self._read_only_reason is None
        self.banner.set_reason(self._read_only_reason)
        self.form.set_editable(editable)
        self.plot.set_editable(editable)

    def set_peak_window_ms(self, start: float, stop: float) -> None:
        """Latency window (ms after the corrected onset) for automatic peak estimation."""
        self._window = check_window((start, stop))
        self.form.set_peak_window(*self._window)
        self.plot.set_peak_window(*self._window)
        self._refresh_peaks()

    # -- state for the app --------------------------------------------------------------
    @property
    def current_trace(self) -> TraceView | None:
        return self._trace

    @property
    def current_index(self) -> int | None:
        return None if self._trace is None else self._trace.index

    @property
    def read_only(self) -> bool:
        return self._read_only_reason is not None

    @property
    def peak_window_ms(self) -> tuple[float, float]:
        return self._window

    @property
    def current_estimate(self) -> PeakEstimate:
        """What ``estimate_peaks`` would store for the trace on screen."""
        return self._estimate

    def counts(self) -> dict[str, int]:
        """Traces per review state, from the table's rows."""
        return self.table.model.review_counts().as_dict()

    def review_counts(self) -> ReviewCounts:
        """Traces per review state, as the header tells them."""
        return self.table.model.review_counts()

    def resolve_navigation(self, kind: str) -> int | None:
        """The trace a navigation request leads to, in the table's order (its filter and
        sort applied; "next_unreviewed" ignores the filter and wraps around); None when
        there is nowhere to go."""
        current = self.current_index
        if kind == "first" or (current is None and kind in ("next", "previous")):
            return self.table.edge(last=False)
        if kind == "last":
            return self.table.edge(last=True)
        if kind in ("next", "previous"):
            return self.table.neighbour(current, 1 if kind == "next" else -1)
        if kind == "next_unreviewed":
            return self.table.next_with_state(current, UNREVIEWED)
        raise ValueError(f"unknown navigation {kind!r}; use one of {NAVIGATIONS}")

    # -- slots (the app's actions call these) --------------------------------------------
    def accept_current(self) -> None:
        self._decide(ACCEPT_EDIT)

    def reject_current(self) -> None:
        self._decide(REJECT_EDIT)

    def shift_onset(self, samples: int) -> None:
        """Request the onset ``samples`` later (negative: earlier), kept inside the trace."""
        trace = self._trace
        if trace is None or self.read_only or samples == 0:
            return
        low, high = trace.shift_range
        shift = min(max(trace.onset_shift + int(samples), low), high)
        if shift != trace.onset_shift:
            self._request({keys.ONSET_SHIFT: shift})

    def shift_onset_ms(self, ms: float) -> None:
        """Request the onset ``ms`` later (rounded to samples, at least one)."""
        if self._trace is None:
            return
        samples = round(ms * self._trace.sampling_rate / 1000.0)
        if samples == 0 and ms != 0:
            samples = 1 if ms > 0 else -1
        self.shift_onset(samples)

    def estimate_peaks(self) -> None:
        """Request the estimated peaks (the hollow markers) be stored."""
        if self._trace is None or self.read_only:
            return
        if not self._estimate.found:
            self.plot.hint.setText("No sample in the peak window: nothing to estimate.")
            return
        self._request({**self._estimate.as_attrs(), **self._channel_attr()})

    def clear_peaks(self) -> None:
        if self._trace is None or self.read_only:
            return
        self._request(NO_PEAKS.as_attrs())

    def focus_comment(self) -> None:
        if not self.read_only:
            self.form.comment_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.form.comment_edit.selectAll()

    def focus_search(self) -> None:
        self.table.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.table.search_edit.selectAll()

    def navigate(self, kind: str) -> None:
        if kind not in NAVIGATIONS:
            raise ValueError(f"unknown navigation {kind!r}; use one of {NAVIGATIONS}")
        self.navigation_requested.emit(kind)

    def action_handlers(self) -> dict[str, Any]:
        """Handler of each :data:`EDITOR_ACTIONS` name."""
        return {"accept_trace": self.accept_current, "reject_trace": self.reject_current,
                "next_trace": lambda: self.navigate("next"),
                "previous_trace": lambda: self.navigate("previous"),
                "next_unreviewed": lambda: self.navigate("next_unreviewed"),
                "first_trace": lambda: self.navigate("first"),
                "last_trace": lambda: self.navigate("last"),
                "onset_later": lambda: self.shift_onset(1), "onset_earlier": lambda: self.shift_onset(-1),
                "onset_later_ms": lambda: self.shift_onset_ms(1.0),
                "onset_earlier_ms": lambda: self.shift_onset_ms(-1.0),
                "estimate_peaks": self.estimate_peaks, "clear_peaks": self.clear_peaks,
                "focus_comment": self.focus_comment, "focus_search": self.focus_search}

    def install_actions(self) -> ActionSet:
        """QActions for :data:`EDITOR_ACTIONS` on this widget (shortcuts active while the
        focus is in the editor); the app adds them to its menus and help."""
        if self.actions_set is None:
            self.actions_set = ActionSet(self, EDITOR_ACTIONS, self.action_handlers())
        return self.actions_set

    # -- internals ----------------------------------------------------------------------
    def _request(self, values: dict[str, Any]) -> None:
        if self._trace is None or self.read_only or not values:
            return
        self.edit_requested.emit(self._trace.index, dict(values))

    def _decide(self, edit) -> None:
        # Emitted even when the trace already has that state: the app moves on after it.
        self._request(dict(edit))

    def _channel_attr(self) -> dict[str, Any]:
        """The channel the peaks were read on becomes the trace's channel of interest."""
        trace = self._trace
        label = trace.channel_labels[self.plot.active_channel]
        return {} if trace.attrs.get(keys.CHANNEL_OF_INTEREST) == label else {keys.CHANNEL_OF_INTEREST: label}

    def _peak_picked(self, kind: str, magnitude: float, latency_ms: float) -> None:
        magnitude_key, latency_key = PEAK_KEYS[kind]
        self._request({magnitude_key: magnitude, latency_key: latency_ms, **self._channel_attr()})

    def _refresh_peaks(self) -> None:
        trace = self._trace
        if trace is None:
            return
        self._estimate = estimate_peaks(trace.data[:, self.plot.active_channel], trace.sampling_rate,
                                        trace.samples_pre, trace.onset_shift, self._window)
        stored = stored_peaks(trace.attrs)
        nothing_stored = stored.neg_magnitude_uv is None and stored.pos_magnitude_uv is None
        self.plot.set_peaks(stored, self._estimate if nothing_stored else None)

    def _window_edited(self, start: float, stop: float) -> None:
        self.set_peak_window_ms(start, stop)
        self.peak_window_changed.emit(start, stop)

    def _update_progress(self) -> None:
        total = self.table.model.rowCount()
        index = self.current_index
        number = of_table = None
        if index is not None:
            number = trace_number(index)
            # A table fed only some traces (indexes beyond its length) also says where
            # among them the trace stands; "Trace n" stays the trace's own number.
            position = self.table.model.position(index)
            if index >= total and position is not None:
                of_table = position + 1
        self.progress.set_position(number, total, of_table)
        self.progress.set_counts(self.table.model.review_counts())


class _FormArea(QScrollArea):
    """The form's scroll area: it scrolls vertically, and is never narrower than the form
    (with horizontal scrolling off, a narrower area cut the Reject button in half)."""

    def minimumSizeHint(self):  # noqa: N802 (Qt's name)
        hint = super().minimumSizeHint()
        form = self.widget()
        if form is not None:
            chrome = self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()
            hint.setWidth(form.minimumSizeHint().width() + chrome)
        return hint
