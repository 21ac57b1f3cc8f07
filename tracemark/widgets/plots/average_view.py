"""The averaged response: a butterfly of the averaged traces (rejected ones on request, in
grey) beside their mean ± SD, aligned on the corrected onsets, one channel at a time.

What is averaged is a choice the person sees and makes ("Average over"): every trace that
is not rejected (accepted and still unreviewed ones; the default, so the average takes
shape during the review) or the accepted traces only. The status line says exactly which,
with the same counts as the trace editor (:func:`tracemark.domain.review.describe_average`).

Statistics come from an :class:`~tracemark.analysis.AverageAccumulator`, so accepting,
rejecting or re-shifting a trace updates the mean with one trace's arithmetic. Each
butterfly is one curve item (traces separated by NaN), which keeps a thousand traces one
draw call. Clicking near a butterfly trace asks for it to be opened (``trace_selected``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QCheckBox, QComboBox, QLabel

from tracemark.analysis import AverageAccumulator, AverageResult
from tracemark.domain.review import (
    ACCEPTED_ONLY,
    NOT_REJECTED,
    describe_average,
    describe_averaged_traces,
)

from .common import (
    ACCEPTED,
    CURRENT,
    MEAN,
    REJECTED,
    PlotView,
    add_legend,
    fill_legend,
    style_plot,
    unit_text,
)

#: A click selects the nearest trace only within this many pixels of it.
CLICK_TOLERANCE_PX = 12
#: The choices of "Average over", as the person reads them.
AVERAGE_OVER_TEXTS = {NOT_REJECTED: "traces not rejected", ACCEPTED_ONLY: "accepted traces only"}


class AverageView(PlotView):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("averageView")
        self.channel = QComboBox(objectName="averageChannel")
        self.channel.setAccessibleName("Channel")
        self.show_rejected = QCheckBox("Show rejected", objectName="averageShowRejected")
        self.show_sd = QCheckBox("± SD band", objectName="averageShowSd", checked=True)
        self.over = QComboBox(objectName="averageOver")
        self.over.setAccessibleName("Average over")
        for key, text in AVERAGE_OVER_TEXTS.items():
            self.over.addItem(text, key)
        self.status = QLabel(objectName="averageStatus")
        self.status.setWordWrap(True)   # a narrow dock wraps the text rather than widening
        for widget in (QLabel("Channel"), self.channel, QLabel("Average over"), self.over,
                       self.show_rejected, self.show_sd):
            self.controls.addWidget(widget)
        self.controls.addStretch(1)
        self.controls.addWidget(self.status)
        self.butterfly = self.graphics.addPlot(row=0, col=0)
        self.average = self.graphics.addPlot(row=0, col=1)
        self.average.setXLink(self.butterfly)
        self.average.setYLink(self.butterfly)
        self.accumulator: AverageAccumulator | None = None
        self._aligned = np.empty((0, 0))
        self._current: int | None = None
        self._legend: list = []
        self._make_items()
        self.channel.currentIndexChanged.connect(self._channel_changed)
        self.over.currentIndexChanged.connect(self._over_changed)
        self.show_rejected.toggled.connect(self._draw_butterfly)
        self.show_sd.toggled.connect(self._draw_average)
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        self._plots_stacked = False

    #: Below this width (pixels) the two plots are stacked: side by side they overflowed a
    #: narrow dock.
    STACK_BELOW_PX = 720

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        stacked = self.width() < self.STACK_BELOW_PX
        if stacked != self._plots_stacked:
            self._plots_stacked = stacked
            layout = self.graphics.ci
            layout.removeItem(self.average)
            layout.addItem(self.average, row=1 if stacked else 0, col=0 if stacked else 1)

    def _make_items(self) -> None:
        add_legend(self.butterfly)
        self.rejected_curve = pg.PlotDataItem(pen=pg.mkPen(REJECTED, width=1), connect="finite")
        self.accepted_curve = pg.PlotDataItem(pen=pg.mkPen(ACCEPTED.lighter(120), width=1),
                                              connect="finite")
        self.current_curve = pg.PlotDataItem(pen=pg.mkPen(CURRENT, width=2))
        for item in (self.rejected_curve, self.accepted_curve, self.current_curve):
            self.butterfly.addItem(item)
        add_legend(self.average)
        self.sd_upper = pg.PlotDataItem(pen=pg.mkPen(None))
        self.sd_lower = pg.PlotDataItem(pen=pg.mkPen(None))
        color = pg.mkColor(ACCEPTED)
        color.setAlpha(70)
        self.sd_band = pg.FillBetweenItem(self.sd_lower, self.sd_upper, brush=pg.mkBrush(color))
        self.mean_curve = pg.PlotDataItem(pen=pg.mkPen(MEAN, width=2), name="mean")
        for item in (self.sd_upper, self.sd_lower, self.sd_band, self.mean_curve):
            self.average.addItem(item)
        self.average.legend.addItem(pg.BarGraphItem(x=[0], height=[0], width=0, brush=color),
                                    "± 1 SD")
        for plot in (self.butterfly, self.average):
            plot.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen(MEAN, style=Qt.PenStyle.DashLine)))

    # -- data -------------------------------------------------------------------------------
    def _data_changed(self) -> None:
        traces = self.traces
        self.channel.blockSignals(True)
        self.channel.clear()
        self.channel.addItems(list(traces.channel_labels))
        self.channel.setCurrentIndex(traces.channel_index(None))
        self.channel.blockSignals(False)
        self.accumulator = AverageAccumulator(traces, traces.averaged(self.averaged_over))
        self._channel_changed()

    @property
    def averaged_over(self) -> str:
        """``NOT_REJECTED`` or ``ACCEPTED_ONLY`` (``tracemark.domain.review``)."""
        return self.over.currentData() or NOT_REJECTED

    def set_averaged_over(self, over: str) -> None:
        """Average over the traces not rejected or the accepted ones only, as the box does."""
        self.over.setCurrentIndex(self.over.findData(over))

    def _over_changed(self) -> None:
        if self.accumulator is None:
            return
        self._include(range(len(self.traces)))
        self._draw_butterfly()
        self._draw_average()

    def _include(self, indexes) -> None:
        """Bring the accumulator in line with what is averaged now."""
        averaged = self.traces.averaged(self.averaged_over)
        for index in indexes:
            self.accumulator.set_included(index, bool(averaged[index]))

    def _channel_changed(self) -> None:
        if self.accumulator is None:
            return
        channel = max(self.channel.currentIndex(), 0)
        self._aligned = np.stack([self.accumulator.aligned_trace(i)[:, channel]
                                  for i in range(len(self.traces))]) if len(self.traces) else \
            np.empty((0, self.traces.n_rows))
        units = unit_text(self.traces.units)
        label = self.traces.channel_labels[channel]
        style_plot(self.butterfly, "time after onset (ms)", f"{label} ({units})",
                   f"{label}: every trace")
        style_plot(self.average, "time after onset (ms)", f"{label} ({units})",
                   f"{label}: average")
        self._draw_butterfly()
        self._draw_average()

    def _trace_changed(self, index: int, changed: frozenset[str]) -> None:
        if "onset_shift" in changed:
            self.accumulator.set_shift(index, int(self.traces.onset_shift[index]))
            self._aligned[index] = self.accumulator.aligned_trace(index)[:, self.channel_index]
        if changed & {"reject", "reviewed"}:
            self._include([index])
        if changed & {"onset_shift", "reject", "reviewed"}:
            self._draw_butterfly()
            self._draw_average()

    @property
    def channel_index(self) -> int:
        return max(self.channel.currentIndex(), 0)

    def result(self) -> AverageResult | None:
        """The statistics on screen (all channels)."""
        return self.accumulator.result() if self.accumulator is not None else None

    def set_current(self, index: int | None) -> None:
        """Draw the trace open in the editor on top of the butterfly."""
        self._current = index
        self._draw_current()

    # -- drawing ----------------------------------------------------------------------------
    def _stacked(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        time = self.accumulator.time_ms
        rows = self._aligned[mask]
        if not len(rows):
            return np.empty(0), np.empty(0)
        y = np.concatenate([rows, np.full((len(rows), 1), np.nan)], axis=1).ravel()
        x = np.tile(np.append(time, np.nan), len(rows))
        return x, y

    def _draw_butterfly(self) -> None:
        if self.accumulator is None:
            return
        # ``accepted_curve`` draws the averaged traces (named so before the choice existed).
        self.accepted_curve.setData(*self._stacked(self.accumulator.included))
        show = self.show_rejected.isChecked()
        self.rejected_curve.setData(*self._stacked(self.traces.reject if show else
                                                   np.zeros(len(self.traces), bool)))
        self.rejected_curve.setVisible(show)
        counts, over = self.traces.review_counts(), self.averaged_over
        self.status.setText(describe_average(counts, over))
        self._legend = [(self.accepted_curve, describe_averaged_traces(counts, over))]
        if show:
            self._legend.append((self.rejected_curve, f"{counts.rejected} rejected"))
        self._draw_current()

    def _draw_current(self) -> None:
        index = self._current
        shown = self.accumulator is not None and index is not None and 0 <= index < len(self._aligned)
        if shown:
            self.current_curve.setData(self.accumulator.time_ms, self._aligned[index])
        else:
            self.current_curve.setData([], [])
        fill_legend(self.butterfly.legend, self._legend + (
            [(self.current_curve, f"open: {self.traces.names[index]}")] if shown else []))
        # The open trace's name is its number from 1, as in the editor and the table.
        self.current_curve.setToolTip(self.traces.names[index] if shown else "")

    def _draw_average(self) -> None:
        if self.accumulator is None:
            return
        result = self.accumulator.result()
        channel = self.channel_index
        mean, sd = result.mean[:, channel], result.sd[:, channel]
        self.mean_curve.setData(result.time_ms, mean)
        self.mean_curve.opts["name"] = \
            f"mean of {describe_averaged_traces(self.traces.review_counts(), self.averaged_over)}"
        self.average.legend.getLabel(self.mean_curve).setText(self.mean_curve.opts["name"])
        band = self.show_sd.isChecked() and np.isfinite(sd).any()
        lower, upper = np.where(np.isfinite(sd), mean - sd, mean), np.where(np.isfinite(sd), mean + sd, mean)
        finite = np.isfinite(mean)
        self.sd_lower.setData(result.time_ms[finite], lower[finite])
        self.sd_upper.setData(result.time_ms[finite], upper[finite])
        self.sd_band.setVisible(bool(band))

    # -- clicks -----------------------------------------------------------------------------
    def _clicked(self, event) -> None:
        if self.accumulator is None or event.button() != Qt.MouseButton.LeftButton:
            return
        box = self.butterfly.getViewBox()
        if not box.sceneBoundingRect().contains(event.scenePos()):
            return
        index = self.trace_near(box.mapSceneToView(event.scenePos()), box)
        if index is not None:
            event.accept()
            self.trace_selected.emit(index)

    def trace_near(self, point, box=None) -> int | None:
        """The visible trace closest (vertically) to a point in plot coordinates, if it is
        within CLICK_TOLERANCE_PX on screen."""
        time = self.accumulator.time_ms
        column = int(np.clip(np.searchsorted(time, point.x()), 0, len(time) - 1))
        visible = self.accumulator.included | (self.traces.reject & self.show_rejected.isChecked())
        values = np.where(visible, self._aligned[:, column], np.nan)
        if not np.isfinite(values).any():
            return None
        index = int(np.nanargmin(np.abs(values - point.y())))
        box = box or self.butterfly.getViewBox()
        pixel = box.viewPixelSize()[1]
        return index if abs(values[index] - point.y()) <= CLICK_TOLERANCE_PX * pixel else None
