"""Event and annotation markers on the trace plot: dashed lines with labels.

All visible events of one kind are one curve of vertical segments, so a window over
an hour with hundreds of triggers costs one path per kind rather than one graphics
item per event (profiled: 150 ``InfiniteLine`` items took over 100 ms to lay out and
paint on a whole-hour zoom). Labels are a small pool of text items, placed left to
right and left off where they would overlap the previous one.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor

EVENT_COLORS = {"trigger": QColor(200, 30, 30), "note": QColor(20, 110, 190),
                "annotation": QColor(20, 140, 60), "epochs": QColor(140, 60, 170)}
DEFAULT_EVENT_COLOR = QColor(190, 110, 0)
MAX_LABELS = 40
LABEL_CHAR_PX = 7.0


def event_color(source: str) -> QColor:
    return EVENT_COLORS.get(source, DEFAULT_EVENT_COLOR)


class EventMarkers:
    """Draws ``(time_s, duration_s, label, source)`` events inside a PlotItem."""

    def __init__(self, plot_item: pg.PlotItem):
        self._plot_item = plot_item
        self._events: list[tuple[float, float, str, str]] = []
        self._times: list[float] = []
        self._lines: dict[str, pg.PlotCurveItem] = {}
        self._labels: list[pg.TextItem] = []
        self.shown: list[tuple[float, str]] = []
        self.labelled: list[str] = []

    def set_events(self, events: Sequence[tuple[float, float, str, str]]) -> None:
        self._events = sorted(events, key=lambda e: e[0])
        self._times = [e[0] for e in self._events]

    def update(self, start_s: float, stop_s: float, y_top: float, y_bottom: float, width_px: float) -> None:
        lo = bisect.bisect_left(self._times, start_s)
        hi = bisect.bisect_right(self._times, stop_s)
        visible = self._events[lo:hi]
        self.shown = [(e[0], e[2]) for e in visible]
        by_source: dict[str, list[float]] = {}
        for time_s, _duration, _label, source in visible:
            by_source.setdefault(source, []).append(time_s)
        for source, line in self._lines.items():
            if source not in by_source:
                line.setData([], [])
        for source, times in by_source.items():
            line = self._line(source)
            x = np.repeat(np.asarray(times), 2)
            y = np.tile([y_top, y_bottom], len(times))
            line.setData(x, y, connect="pairs")
        self._place_labels(visible, start_s, stop_s, y_top, width_px)

    def _line(self, source: str) -> pg.PlotCurveItem:
        line = self._lines.get(source)
        if line is None:
            line = pg.PlotCurveItem(pen=pg.mkPen(event_color(source), width=1, style=Qt.PenStyle.DashLine))
            line.setZValue(50)
            self._plot_item.addItem(line, ignoreBounds=True)
            self._lines[source] = line
        return line

    def _place_labels(self, visible, start_s, stop_s, y_top, width_px) -> None:
        px_per_s = width_px / max(stop_s - start_s, 1e-9)
        free_from = -np.inf
        placed = []
        for time_s, _duration, label, source in visible:
            x_px = (time_s - start_s) * px_per_s
            if x_px >= free_from and len(placed) < MAX_LABELS:
                placed.append((time_s, label, source))
                free_from = x_px + LABEL_CHAR_PX * len(label) + 12
        while len(self._labels) < len(placed):
            item = pg.TextItem(anchor=(0, 0), fill=pg.mkBrush(255, 255, 255, 215))
            item.setZValue(60)
            self._plot_item.addItem(item, ignoreBounds=True)
            self._labels.append(item)
        for i, item in enumerate(self._labels):
            if i < len(placed):
                time_s, label, source = placed[i]
                item.setColor(event_color(source))
                item.setText(label)
                item.setPos(time_s, y_top)
                item.show()
            else:
                item.hide()
        self.labelled = [label for _, label, _ in placed]
