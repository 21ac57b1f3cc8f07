"""Event and annotation markers on the trace plot: dashed lines with labels.

All visible events of one kind are one curve of vertical segments, so a window over
an hour with hundreds of triggers costs one path per kind rather than one graphics
item per event (profiled: 150 ``InfiniteLine`` items took over 100 ms to lay out and
paint on a whole-hour zoom). Labels are a small pool of text items stacked in up to
:data:`MAX_LANES` lanes under the top edge: each label goes to the first lane where it
does not overlap the label before it, long texts are elided, and the full text (with the
event's time and kind) is the label's tooltip. A label that finds no free lane is left
off; its line is still drawn. With more events in view than labels, every k-th event is
labelled, so the labels spread over the whole view. Labels are
:class:`~.pixel_label.PixelLabel` items, which Qt keeps upright and unscaled itself. The
pool is still filled a few items at a time while the viewer is idle after its first page
(:meth:`EventMarkers.warm_up`), so that no page pays for making and laying out labels the
first zoom out will need.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QFont, QFontMetricsF

from .pixel_label import PixelLabel

EVENT_COLORS = {"trigger": QColor(200, 30, 30), "note": QColor(20, 110, 190),
                "annotation": QColor(20, 140, 60), "epochs": QColor(140, 60, 170)}
DEFAULT_EVENT_COLOR = QColor(190, 110, 0)
MAX_LABELS = 60
MAX_LANES = 3
#: Labels longer than this are elided (the tooltip has the whole text).
MAX_LABEL_CHARS = 24
LABEL_GAP_PX = 6.0


def elide(label: str, limit: int = MAX_LABEL_CHARS) -> str:
    label = " ".join(label.split())
    return label if len(label) <= limit else label[:limit - 1].rstrip() + "…"


def event_color(source: str) -> QColor:
    return EVENT_COLORS.get(source, DEFAULT_EVENT_COLOR)


class EventMarkers:
    """Draws ``(time_s, duration_s, label, source)`` events inside a PlotItem."""

    def __init__(self, plot_item: pg.PlotItem):
        self._plot_item = plot_item
        self._events: list[tuple[float, float, str, str]] = []
        self._times: list[float] = []
        self._lines: dict[str, pg.PlotCurveItem] = {}
        self._labels: list[PixelLabel] = []
        self._usual_look: tuple[str, str] | None = None
        self._layer: pg.ItemGroup | None = None
        self.shown: list[tuple[float, str]] = []
        self.labelled: list[str] = []
        self.lanes: list[int] = []

    def set_events(self, events: Sequence[tuple[float, float, str, str]]) -> None:
        self._events = sorted(events, key=lambda e: e[0])
        self._times = [e[0] for e in self._events]
        self._usual_look = None

    def _most_usual_look(self) -> tuple[str, str] | None:
        """The (text, kind) most events show: a pulse train's labels are all alike, so
        label items made ahead of need are given it."""
        if self._usual_look is None and self._events:
            # The first few thousand tell it; counting a 24-hour file's every event would not.
            looks = Counter((elide(label), source) for _t, _d, label, source in self._events[:5000])
            self._usual_look = looks.most_common(1)[0][0]
        return self._usual_look

    def update(self, start_s: float, stop_s: float, y_top: float, y_bottom: float, width_px: float,
               px_per_unit: float = 20.0) -> None:
        """Draw the events in ``[start_s, stop_s]``; ``px_per_unit`` is the view's vertical
        pixels per row unit (to stack label lanes by pixels)."""
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
        self._place_labels(visible, start_s, stop_s, y_top, width_px, max(px_per_unit, 1e-6))

    def _line(self, source: str) -> pg.PlotCurveItem:
        line = self._lines.get(source)
        if line is None:
            line = pg.PlotCurveItem(pen=pg.mkPen(event_color(source), width=1, style=Qt.PenStyle.DashLine))
            line.setZValue(50)
            self._plot_item.addItem(line, ignoreBounds=True)
            self._lines[source] = line
        return line

    def _place_labels(self, visible, start_s, stop_s, y_top, width_px, px_per_unit) -> None:
        px_per_s = width_px / max(stop_s - start_s, 1e-9)
        metrics = QFontMetricsF(QFont())
        lane_free = [-np.inf] * MAX_LANES
        placed: list[tuple[float, float, str, str, str, int]] = []  # ... label, source, shown text, lane
        # More events than labels: every k-th is a candidate, so the labels spread over the
        # whole view instead of filling the lanes at its left edge and stopping there.
        stride = max(1, -(-len(visible) // MAX_LABELS))
        for time_s, duration, label, source in visible[::stride]:
            if len(placed) >= MAX_LABELS:
                break
            x_px = (time_s - start_s) * px_per_s
            text = elide(label)
            lane = next((k for k, free in enumerate(lane_free) if x_px >= free), None)
            if lane is None:
                continue
            lane_free[lane] = x_px + metrics.horizontalAdvance(text) + 8 + LABEL_GAP_PX
            placed.append((time_s, duration, label, source, text, lane))
        self._ensure_items(len(placed))
        lane_height = (metrics.height() + 4) / px_per_unit
        for i, item in enumerate(self._labels):
            if i >= len(placed):
                item.hide()
                continue
            time_s, duration, label, source, text, lane = placed[i]
            # Repeated triggers share their text: an item showing it already only moves.
            item.set_look(text, event_color(source))
            item.setToolTip(_tooltip(time_s, duration, label, source))
            item.setPos(time_s, y_top - lane * lane_height)
            item.show()
        self.labelled = [p[2] for p in placed]
        self.lanes = [p[5] for p in placed]

    def _ensure_items(self, count: int) -> None:
        while len(self._labels) < count:
            item = PixelLabel(fill=QColor(255, 255, 255, 215))
            item.setZValue(60)
            item.hide()   # nothing to repaint until it is placed and shown
            # Children of one layer, not of the view: adding one does not make the view
            # recompute its bounds and repaint (which a new item of the view itself does).
            item.setParentItem(self._label_layer())
            self._labels.append(item)

    def warm_up(self, count: int) -> bool:
        """Create up to ``count`` more label items ahead of need (hidden); True while the
        pool is not yet full."""
        if not self._events:
            return False
        first = len(self._labels)
        self._ensure_items(min(first + count, MAX_LABELS))
        look = self._most_usual_look()
        if look is not None:
            for item in self._labels[first:]:
                item.set_look(look[0], event_color(look[1]))
        return len(self._labels) < MAX_LABELS

    @property
    def prepared(self) -> int:
        """How many label items exist (see :meth:`warm_up`)."""
        return len(self._labels)

    def _label_layer(self) -> pg.ItemGroup:
        if self._layer is None:
            self._layer = pg.ItemGroup()
            self._layer.setZValue(60)
            self._plot_item.addItem(self._layer, ignoreBounds=True)
        return self._layer

    def label_items(self) -> list[PixelLabel]:
        """The label items on show, in the order they were placed."""
        return [item for item in self._labels if item.isVisible()]


def _tooltip(time_s: float, duration: float, label: str, source: str) -> str:
    when = f"{time_s:.3f} s" + (f", lasting {duration:g} s" if duration > 0 else "")
    kind = f" ({source})" if source else ""
    return f"{label}\n{when}{kind}"
