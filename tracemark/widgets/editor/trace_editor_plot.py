"""The trace plot of the editor: one trace against time after its event, with the onset
marker, the baseline / response shading, the peak latency window and the peak markers.

What a person sees and does:

* x is ms after the event (0 = stored event sample, dashed line); the orange line is the
  corrected onset at ``onset_shift / rate * 1000`` ms. Dragging it moves the onset: while
  dragging, its label shows the shift it will set; on release ONE ``onset_dragged(shift)``
  is emitted (right-click while dragging cancels). The line then goes back to the
  confirmed shift until the app confirms the edit through ``set_onset``/``set_trace``.
* The area before the onset (baseline) and after it (response) are tinted differently;
  the amber band is the peak latency window, relative to the onset.
* Filled triangles are the stored peaks (blue, pointing down: negative; red, pointing up:
  positive); hollow ones are what "estimate peaks" would store, shown while no peak is
  stored.
* Left-click on the curve sets a peak: within ±1 ms of the click the lowest and highest
  samples are the candidates and the one closer to where you clicked wins (click a trough
  for the negative peak, a crest for the positive). Shift forces the negative peak, Ctrl
  the positive. One ``peak_picked(kind, magnitude, latency_ms)`` per click.
* With several channels, the channel chooser picks the channel drawn in bold and measured
  (default: the trace's channel of interest); the others are drawn thin and grey behind it.

Items are created once and updated with ``setData``/``setValue`` for each trace, so showing
the next trace costs no widget or item creation.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont
from PyQt6.QtWidgets import QCheckBox, QComboBox, QLabel, QVBoxLayout, QWidget

from tracemark.analysis.peaks import NEGATIVE, POSITIVE, PeakEstimate, pick_peak
from tracemark.domain.trace_numbers import trace_label
from tracemark.widgets.flow_layout import FlowLayout
from tracemark.widgets.guarded_line import GuardedInfiniteLine

from .model import TraceView

CURVE = QColor(22, 45, 95)
OTHER_CHANNELS = QColor(175, 180, 190)
ONSET = QColor(230, 120, 0)
EVENT = QColor(120, 120, 120)
NEG_PEAK = QColor(30, 100, 200)
POS_PEAK = QColor(200, 40, 40)
BASELINE_TINT = QColor(90, 110, 150, 22)
RESPONSE_TINT = QColor(255, 255, 255, 0)
WINDOW_TINT = QColor(255, 190, 60, 55)
TEXT = QColor(30, 30, 30)

SNAP_MS = 1.0
#: Longest stimulus artefact the "fit baseline and response" range leaves out (ms).
ARTEFACT_MS = 10.0
#: A click counts as "on the curve" within this many pixels of its local range.
CLICK_TOLERANCE_PX = 14
HINT = ("Drag the orange onset line to shift the onset (released = saved). Click a trough or a "
        "crest to set the negative or positive peak (nearest extreme within ±1 ms; Shift: "
        "negative, Ctrl: positive).")
FIT_RESPONSE, FIT_TRACE = "response", "trace"


def _label(widget: QWidget, name: str, accessible: str) -> None:
    widget.setObjectName(name)
    widget.setAccessibleName(accessible)


class TraceEditorPlot(QWidget):
    """The plot and its small control row; see the module docstring."""

    #: The onset marker was released at this onset shift (samples), different from the shown one.
    onset_dragged = pyqtSignal(int)
    #: The user picked a peak: kind ("neg"/"pos"), magnitude, latency after the onset (ms).
    peak_picked = pyqtSignal(str, float, float)
    #: The user chose another channel to show and measure (column number).
    channel_changed = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._trace: TraceView | None = None
        self._channel = 0
        self._chosen_label: str | None = None
        self._labels: tuple[str, ...] = ()
        self._shift = 0
        self._window = (15.0, 50.0)
        self._editable = True
        self._x_cache: dict[tuple, np.ndarray] = {}
        self._build_controls()
        self._build_plot()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._controls)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.hint)

    # -- construction -------------------------------------------------------------------
    def _build_controls(self) -> None:
        # Wraps when the editor is narrow (a laptop screen with docks open).
        self._controls = FlowLayout(margins=(4, 0, 4, 0))
        self.title = QLabel("No trace")
        _label(self.title, "traceEditor.plot.title", "Trace title")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.channel_label = QLabel("Channel:")
        self.channel_combo = QComboBox()
        _label(self.channel_combo, "traceEditor.channel", "Channel shown and measured")
        self.channel_combo.setToolTip("Channel drawn in bold and measured; 'channel of interest' "
                                      "follows each trace's channel_of_interest attribute")
        self.channel_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.channel_combo.activated.connect(self._channel_chosen)
        self.channel_label.setBuddy(self.channel_combo)
        self.others_check = QCheckBox("Other channels")
        _label(self.others_check, "traceEditor.otherChannels", "Show the other channels")
        self.others_check.setChecked(True)
        self.others_check.toggled.connect(self._others_toggled)
        self.fit_combo = QComboBox()
        _label(self.fit_combo, "traceEditor.yRange", "Vertical range")
        self.fit_combo.addItem("Fit baseline and response", FIT_RESPONSE)
        self.fit_combo.addItem("Fit whole trace", FIT_TRACE)
        self.fit_combo.setToolTip("'Fit baseline and response' leaves the stimulus artefact "
                                  "(up to 10 ms after the event, not into the peak window) "
                                  "out of the vertical range")
        self.fit_combo.activated.connect(lambda _i: self._fit_view())
        self._controls.addWidget(self.title, 1)
        for widget in (self.channel_label, self.channel_combo, self.others_check, self.fit_combo):
            self._controls.addWidget(widget)
        self._set_multichannel(False)

    def _build_plot(self) -> None:
        self.plot_widget = pg.PlotWidget(background="w")
        _label(self.plot_widget, "traceEditor.plot", "Trace plot")
        self.plot_widget.setToolTip(HINT)
        self.plot_widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        plot = self.plot_widget.getPlotItem()
        self.plot_item = plot
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.showGrid(x=True, y=True, alpha=0.12)
        for name in ("bottom", "left"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(TEXT))
            axis.setTextPen(pg.mkPen(TEXT))
            axis.enableAutoSIPrefix(False)
        plot.getAxis("bottom").setLabel("time after event (ms)", color=TEXT.name())
        plot.getAxis("left").setLabel("µV", color=TEXT.name())
        self._add_items(plot)
        plot.scene().sigMouseClicked.connect(self._scene_clicked)
        self.hint = QLabel(HINT)
        _label(self.hint, "traceEditor.plot.hint", "Trace plot help")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #555; font-size: 9pt;")

    def _add_items(self, plot: pg.PlotItem) -> None:
        self.baseline_region = pg.LinearRegionItem(movable=False, brush=BASELINE_TINT,
                                                   pen=pg.mkPen(None))
        self.response_region = pg.LinearRegionItem(movable=False, brush=RESPONSE_TINT,
                                                   pen=pg.mkPen(None))
        self.window_region = pg.LinearRegionItem(movable=False, brush=WINDOW_TINT,
                                                 pen=pg.mkPen(QColor(230, 160, 30, 120)))
        for z, region in enumerate((self.baseline_region, self.response_region, self.window_region)):
            region.setZValue(-20 + z)
            plot.addItem(region, ignoreBounds=True)
        self.event_line = GuardedInfiniteLine(0.0, angle=90, movable=False,
                                          pen=pg.mkPen(EVENT, width=1, style=Qt.PenStyle.DashLine))
        plot.addItem(self.event_line, ignoreBounds=True)
        self.others_curve = pg.PlotDataItem(pen=pg.mkPen(OTHER_CHANNELS, width=1), connect="finite")
        self.curve = pg.PlotDataItem(pen=pg.mkPen(CURVE, width=1.6), connect="finite")
        plot.addItem(self.others_curve)
        plot.addItem(self.curve)
        self.onset_line = GuardedInfiniteLine(0.0, angle=90, movable=True,
                                          pen=pg.mkPen(ONSET, width=2.5),
                                          hoverPen=pg.mkPen(ONSET.darker(130), width=4))
        self.onset_line.setZValue(20)
        # The label sits left of the line, over the baseline, where the curve is flat.
        self.onset_label = pg.InfLineLabel(self.onset_line, "onset", position=0.97,
                                           anchors=[(1, 0), (1, 0)], color=ONSET.darker(130),
                                           fill=pg.mkBrush(255, 255, 255, 210))
        self.onset_line.sigDragged.connect(self._onset_moving)
        self.onset_line.sigPositionChangeFinished.connect(self._onset_released)
        plot.addItem(self.onset_line, ignoreBounds=True)
        self.stored_markers = pg.ScatterPlotItem(size=13, pxMode=True)
        self.estimate_markers = pg.ScatterPlotItem(size=13, pxMode=True)
        self.stored_markers.setZValue(30)
        self.estimate_markers.setZValue(29)
        plot.addItem(self.estimate_markers)
        plot.addItem(self.stored_markers)
        font = QFont()
        font.setPointSizeF(8.5)
        self.peak_texts = {}
        # Values to the right of their markers, clear of the curve's steep flanks.
        for kind, colour, anchor in ((NEGATIVE, NEG_PEAK, (-0.12, 0.5)), (POSITIVE, POS_PEAK, (-0.12, 0.5))):
            text = pg.TextItem("", color=colour, anchor=anchor)
            text.setFont(font)
            text.setZValue(31)
            plot.addItem(text, ignoreBounds=True)
            self.peak_texts[kind] = text

    # -- public API ---------------------------------------------------------------------
    @property
    def active_channel(self) -> int:
        """Column of the channel drawn in bold and measured."""
        return self._channel

    @property
    def trace(self) -> TraceView | None:
        return self._trace

    def set_trace(self, trace: TraceView) -> None:
        """Show ``trace`` with its confirmed onset shift (peaks come from ``set_peaks``)."""
        self._trace = trace
        if trace.channel_labels != self._labels:
            self._fill_channels(trace.channel_labels)
        self._channel = self._resolve_channel(trace)
        self._sync_channel_combo(trace)
        self._shift = trace.onset_shift
        x = self._x_axis(trace)
        self.curve.setData(x, trace.data[:, self._channel])
        self._draw_others(trace, x)
        self.onset_line.setBounds((float(x[0]), float(x[-1])))
        self._place_regions(x)
        self._update_title(trace)
        self.plot_item.getAxis("left").setLabel(trace.units, color=TEXT.name())
        self._say(self._default_hint())
        self._fit_view()

    def set_onset(self, shift: int) -> None:
        """Place the onset marker (and the shading that follows it) at ``shift`` samples."""
        self._shift = int(shift)
        if self._trace is not None:
            self._place_regions(self._x_axis(self._trace))

    def set_peak_window(self, start_ms: float, stop_ms: float) -> None:
        self._window = (float(start_ms), float(stop_ms))
        if self._trace is not None:
            self._place_regions(self._x_axis(self._trace))

    def set_peaks(self, stored: PeakEstimate, estimate: PeakEstimate | None) -> None:
        """Filled markers for ``stored`` peaks; hollow ones for ``estimate`` (pass None to
        hide it, e.g. while peaks are stored)."""
        onset_ms = self._onset_ms()
        self.stored_markers.setData(self._marker_spots(stored, onset_ms, filled=True))
        self.estimate_markers.setData(self._marker_spots(estimate, onset_ms, filled=False)
                                      if estimate is not None else [])
        for kind, text in self.peak_texts.items():
            magnitude, latency = self._peak(stored, kind)
            if magnitude is None or latency is None:
                text.setText("")
                continue
            text.setText(f"{magnitude:.1f} {self._trace.units if self._trace else ''} at {latency:.1f} ms")
            text.setPos(onset_ms + latency, magnitude)

    def set_editable(self, editable: bool) -> None:
        """Read-only: the onset cannot be dragged and clicks set no peak."""
        self._editable = bool(editable)
        self.onset_line.setMovable(self._editable)
        self._say(self._default_hint())

    def _default_hint(self) -> str:
        return HINT if self._editable else "Read-only: the onset and the peaks cannot be changed."

    # -- channels -----------------------------------------------------------------------
    def _set_multichannel(self, several: bool) -> None:
        for widget in (self.channel_label, self.channel_combo, self.others_check):
            widget.setVisible(several)

    def _fill_channels(self, labels: tuple[str, ...]) -> None:
        self._labels = labels
        self.channel_combo.blockSignals(True)
        self.channel_combo.clear()
        self.channel_combo.addItem("Channel of interest", None)
        for label in labels:
            self.channel_combo.addItem(label, label)
        self.channel_combo.blockSignals(False)
        if self._chosen_label not in labels:
            self._chosen_label = None
        self._set_multichannel(len(labels) > 1)

    def _resolve_channel(self, trace: TraceView) -> int:
        if self._chosen_label is not None and self._chosen_label in trace.channel_labels:
            return trace.channel_labels.index(self._chosen_label)
        return trace.default_channel()

    def _sync_channel_combo(self, trace: TraceView) -> None:
        auto_text = f"Channel of interest ({trace.channel_labels[trace.default_channel()]})"
        self.channel_combo.setItemText(0, auto_text)
        position = 0 if self._chosen_label is None else self.channel_combo.findData(self._chosen_label)
        self.channel_combo.setCurrentIndex(max(position, 0))

    def _channel_chosen(self, position: int) -> None:
        self._chosen_label = self.channel_combo.itemData(position)
        if self._trace is None:
            return
        channel = self._resolve_channel(self._trace)
        if channel != self._channel:
            self.set_trace(self._trace)
            self.channel_changed.emit(channel)

    def _others_toggled(self, _checked: bool) -> None:
        if self._trace is not None:
            self._draw_others(self._trace, self._x_axis(self._trace))

    def _draw_others(self, trace: TraceView, x: np.ndarray) -> None:
        others = [c for c in range(len(trace.channel_labels)) if c != self._channel]
        if not others or not self.others_check.isChecked():
            self.others_curve.setData([], [])
            return
        n = trace.n_samples
        # One NaN-separated curve for all other channels: one item whatever their number.
        y = np.full((len(others), n + 1), np.nan, dtype=np.float32)
        y[:, :n] = trace.data[:, others].T
        key = ("tiled", n, trace.sampling_rate, trace.samples_pre, len(others))
        xs = self._x_cache.get(key)
        if xs is None:
            xs = np.tile(np.append(x, np.nan), len(others))
            self._x_cache[key] = xs
        self.others_curve.setData(xs, y.ravel())

    # -- geometry -----------------------------------------------------------------------
    def _x_axis(self, trace: TraceView) -> np.ndarray:
        key = (trace.n_samples, trace.sampling_rate, trace.samples_pre)
        x = self._x_cache.get(key)
        if x is None:
            if len(self._x_cache) > 16:
                self._x_cache.clear()
            x = (np.arange(trace.n_samples) - trace.samples_pre) * (1000.0 / trace.sampling_rate)
            self._x_cache[key] = x
        return x

    def _onset_ms(self) -> float:
        if self._trace is None:
            return 0.0
        return self._shift * 1000.0 / self._trace.sampling_rate

    def _place_regions(self, x: np.ndarray) -> None:
        onset = self._onset_ms()
        self.onset_line.setValue(onset)
        self.onset_label.setText(self._shift_text(self._shift))
        self.baseline_region.setRegion((float(x[0]), onset))
        self.response_region.setRegion((onset, float(x[-1])))
        self.window_region.setRegion((onset + self._window[0], onset + self._window[1]))

    def _shift_text(self, shift: int) -> str:
        ms = shift * 1000.0 / self._trace.sampling_rate if self._trace else 0.0
        return f"onset {shift:+d} samples ({ms:+.2f} ms)"

    def _fit_view(self) -> None:
        trace = self._trace
        if trace is None:
            return
        x = self._x_axis(trace)
        y = trace.data[:, self._channel]
        if self.fit_combo.currentData() == FIT_RESPONSE:
            # The stimulus artefact sits just after the event; leaving it out keeps a 50 uV
            # MEP readable under a 5 mV artefact. It is blanked up to the peak window, but
            # never beyond ARTEFACT_MS, so a response before a late window stays in view.
            blank = min(self._onset_ms() + self._window[0], ARTEFACT_MS)
            keep = (x < 0) | (x >= blank)
            if np.isfinite(y[keep]).any():
                y = y[keep]
        finite = y[np.isfinite(y)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
        if high - low < 1e-9:
            low, high = low - 1.0, high + 1.0
        view = self.plot_item.getViewBox()
        view.setRange(xRange=(float(x[0]), float(x[-1])), padding=0.01)
        view.setRange(yRange=(low, high), padding=0.06)

    def _update_title(self, trace: TraceView) -> None:
        label = trace.channel_labels[self._channel]
        mark = " · channel of interest" if label == trace.channel_of_interest else ""
        self.title.setText(f"<b>{trace_label(trace.index)}</b> &nbsp;{_escape(trace.origin)} &nbsp;·&nbsp; "
                           f"<b>{_escape(label)}</b>{mark}")

    # -- peaks --------------------------------------------------------------------------
    @staticmethod
    def _peak(peaks: PeakEstimate | None, kind: str) -> tuple[float | None, float | None]:
        if peaks is None:
            return None, None
        if kind == NEGATIVE:
            return peaks.neg_magnitude_uv, peaks.neg_latency_ms
        return peaks.pos_magnitude_uv, peaks.pos_latency_ms

    def _marker_spots(self, peaks: PeakEstimate | None, onset_ms: float, filled: bool) -> list[dict]:
        spots = []
        for kind, colour, symbol in ((NEGATIVE, NEG_PEAK, "t"), (POSITIVE, POS_PEAK, "t1")):
            magnitude, latency = self._peak(peaks, kind)
            if magnitude is None or latency is None:
                continue
            brush = pg.mkBrush(colour) if filled else pg.mkBrush(255, 255, 255, 0)
            pen = pg.mkPen(colour, width=1.5) if filled else pg.mkPen(colour, width=1.5,
                                                                        style=Qt.PenStyle.DotLine)
            spots.append({"pos": (onset_ms + latency, magnitude), "symbol": symbol,
                          "brush": brush, "pen": pen, "data": kind})
        return spots

    # -- mouse --------------------------------------------------------------------------
    def _onset_moving(self, line: pg.InfiniteLine) -> None:
        if self._trace is not None:
            self.onset_label.setText(self._shift_text(self._shift_at(line.value())))

    def _shift_at(self, x_ms: float) -> int:
        trace = self._trace
        low, high = trace.shift_range
        return int(min(max(round(x_ms * trace.sampling_rate / 1000.0), low), high))

    def _onset_released(self, line: pg.InfiniteLine) -> None:
        if self._trace is None:
            return
        shift = self._shift_at(line.value())
        if self._editable and shift != self._shift:
            self.onset_dragged.emit(shift)
        # Back to what the app confirmed (already the new shift if it confirmed while
        # handling the signal): the marker never shows an edit that was not saved.
        self.set_onset(self._shift)

    def _scene_clicked(self, event) -> None:
        if (self._trace is None or not self._editable or event.double()
                or event.button() != Qt.MouseButton.LeftButton):
            return
        view = self.plot_item.getViewBox()
        scene_pos = event.scenePos()
        if not view.sceneBoundingRect().contains(scene_pos) or self._near_onset_line(scene_pos):
            return
        point = view.mapSceneToView(scene_pos)
        self.pick_at(point.x(), point.y(), event.modifiers())

    def _near_onset_line(self, scene_pos: QPointF) -> bool:
        line_x = self.plot_item.getViewBox().mapViewToScene(QPointF(self._onset_ms(), 0)).x()
        return abs(line_x - scene_pos.x()) < 6

    def pick_at(self, x_ms: float, value: float, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
        """Set a peak as a click at (``x_ms`` after the event, ``value``) would."""
        trace = self._trace
        if trace is None or not self._editable:
            return
        kind = None
        if modifiers & Qt.KeyboardModifier.ShiftModifier:
            kind = NEGATIVE
        elif modifiers & Qt.KeyboardModifier.ControlModifier:
            kind = POSITIVE
        y = trace.data[:, self._channel]
        if not self._on_curve(trace, y, x_ms, value):
            self._say("Click on the curve to set a peak.")
            return
        peak = pick_peak(y, trace.sampling_rate, trace.samples_pre, self._shift, x_ms, value,
                         SNAP_MS, kind)
        if peak is None:
            self._say("No sample near the click.")
            return
        if peak.latency_ms < 0:
            self._say("A peak must lie after the onset line.")
            return
        self._say(self._default_hint())
        self.peak_picked.emit(peak.kind, peak.magnitude_uv, peak.latency_ms)

    def _on_curve(self, trace: TraceView, y: np.ndarray, x_ms: float, value: float) -> bool:
        centre = trace.samples_pre + int(round(x_ms * trace.sampling_rate / 1000.0))
        reach = max(int(round(SNAP_MS * trace.sampling_rate / 1000.0)), 1)
        near = y[max(centre - reach, 0):max(centre + reach + 1, 0)]
        near = near[np.isfinite(near)]
        if near.size == 0:
            return False
        _, pixel_height = self.plot_item.getViewBox().viewPixelSize()
        tolerance = CLICK_TOLERANCE_PX * (pixel_height if math.isfinite(pixel_height) else 0.0)
        return float(near.min()) - tolerance <= value <= float(near.max()) + tolerance

    def _say(self, text: str) -> None:
        self.hint.setText(text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
