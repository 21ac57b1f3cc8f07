"""What the person's own marks look like on the trace plot: spans, point events, the
selected mark, an open span's edge and the mark being dragged.

A recording may carry ten thousand marks, so nothing here is one graphics item per mark.
The layer keeps the marks as sorted arrays and, for each view, draws only those that
overlap it, grouped by colour: one batch of shaded rectangles per colour for the spans,
one curve of vertical segments per colour for their edges and the point events, and a
small pool of text items for the labels of the first :data:`MAX_MARK_LABELS` visible
marks. Spans are translucent and sit above the traces, so a trace under a span is still
seen. A span bound to channels is shaded on the rows of those channels only; a row's
label names its channel, or, under a montage, the channels its derivation joins.

The layer reads nothing and changes nothing; :mod:`.marking` tells it what to draw.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetricsF, QPainter

from tracemark.domain.annotations import Annotation, Label

from .event_markers import elide
from .pixel_label import PixelLabel

#: Above the traces (0) and grid (-95), below file events (50) and cursors (60).
SPAN_Z = 40
LINE_Z = 45
SELECTED_Z = 46
LABEL_Z = 47
SPAN_ALPHA = 46
EDGE_ALPHA = 150
#: Label text items kept; marks beyond these on one page are drawn without a label.
MAX_MARK_LABELS = 40
LABEL_GAP_PX = 4.0


@dataclass(frozen=True)
class DrawnSpan:
    """One span as drawn: its id and the view rectangles (x0, x1, y_bottom, y_top) it shades."""

    ident: str
    rects: tuple[tuple[float, float, float, float], ...]


def rows_of(channels: Sequence[str], row_labels: Sequence[str]) -> list[int]:
    """Positions of the rows that show any of ``channels`` (all rows when none is named)."""
    if not channels:
        return list(range(len(row_labels)))
    wanted = set(channels)
    return [k for k, label in enumerate(row_labels)
            if label in wanted or any(part.strip() in wanted for part in label.split("-"))]


def row_bands(positions: Sequence[int], n_rows: int, top: float, bottom: float) -> list[tuple[float, float]]:
    """``(y_bottom, y_top)`` bands covering the rows at ``positions``, neighbours joined.
    Row ``k`` is centred on ``y = -k``; the first row's band reaches up to ``top`` and the
    last row's down to ``bottom`` (the margins of the row area)."""
    bands: list[tuple[float, float]] = []
    for k in sorted(set(positions)):
        high = top if k == 0 else -k + 0.5
        low = bottom if k == n_rows - 1 else -k - 0.5
        if bands and abs(bands[-1][0] - high) < 1e-9:
            bands[-1] = (low, bands[-1][1])
        else:
            bands.append((low, high))
    return bands


def mark_bands(mark: Annotation, row_labels: Sequence[str], top: float, bottom: float) -> list[tuple[float, float]]:
    """The bands a mark covers: the whole row area, or the rows of its bound channels."""
    if not mark.channels:
        return [(bottom, top)]
    return row_bands(rows_of(mark.channels, row_labels), len(row_labels), top, bottom)


class RectBatch(pg.GraphicsObject):
    """Many filled rectangles in one colour, painted in one call."""

    def __init__(self, color: QColor, outline: QColor | None = None, outline_width: float = 0.0):
        super().__init__()
        self._rects: list[QRectF] = []
        self._bounds = QRectF()
        self._brush = pg.mkBrush(color)
        self._pen = pg.mkPen(None) if outline is None else pg.mkPen(outline, width=outline_width)
        self._pen.setCosmetic(True)

    def set_rects(self, rects: list[QRectF]) -> None:
        self.prepareGeometryChange()
        self._rects = rects
        bounds = QRectF()
        for rect in rects:
            bounds = bounds.united(rect)
        self._bounds = bounds
        self.update()

    def set_colors(self, color: QColor, outline: QColor | None = None, outline_width: float = 0.0) -> None:
        self._brush = pg.mkBrush(color)
        self._pen = pg.mkPen(None) if outline is None else pg.mkPen(outline, width=outline_width)
        self._pen.setCosmetic(True)
        self.update()

    @property
    def rects(self) -> list[QRectF]:
        return list(self._rects)

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def paint(self, painter: QPainter, *_args) -> None:
        if not self._rects:
            return
        painter.setPen(self._pen)
        painter.setBrush(self._brush)
        painter.drawRects(*self._rects)


class AnnotationLayer:
    """Draws the person's marks inside a :class:`~.signal_plot.SignalPlot`'s plot item."""

    def __init__(self, plot_item: pg.PlotItem):
        self._plot_item = plot_item
        self._by_id: dict[str, Annotation] = {}
        self._order: list[Annotation] = []
        self._onsets = np.empty(0)
        self._ends = np.empty(0)
        self._labels: dict[str, Label] = {}
        self._max_duration = 0.0
        self._fills: dict[str, RectBatch] = {}
        self._lines: dict[str, pg.PlotCurveItem] = {}
        self._texts: list[PixelLabel] = []
        self._selected_fill = RectBatch(QColor(0, 0, 0, 0))
        self._selected_fill.setZValue(SELECTED_Z)
        plot_item.addItem(self._selected_fill, ignoreBounds=True)
        self._selected_line = pg.PlotCurveItem()
        self._selected_line.setZValue(SELECTED_Z)
        plot_item.addItem(self._selected_line, ignoreBounds=True)
        self._open_edge = pg.PlotCurveItem()
        self._open_edge.setZValue(SELECTED_Z)
        plot_item.addItem(self._open_edge, ignoreBounds=True)
        self.selected: str | None = None
        #: The mark being dragged, drawn in place of the stored one until the drag ends.
        self.preview: Annotation | None = None
        self.open_onset: tuple[float, str] | None = None
        self.drawn_spans: list[DrawnSpan] = []
        self.drawn_points: list[str] = []
        self.labelled: list[str] = []
        self._geometry: tuple = ()
        self._drawn_for: tuple = ()

    # -- what to draw --------------------------------------------------------------------------
    def set_marks(self, annotations: Sequence[Annotation], labels: dict[str, Label]) -> None:
        """The marks to draw, sorted by onset (the state's ``sorted_annotations()``)."""
        self._order = list(annotations)
        self._by_id = {a.id: a for a in self._order}
        self._onsets = np.fromiter((a.onset_s for a in self._order), float, len(self._order))
        self._ends = np.fromiter((a.end_s for a in self._order), float, len(self._order))
        self._labels = dict(labels)
        self._max_duration = float((self._ends - self._onsets).max()) if self._order else 0.0

    def color_of(self, label: str) -> QColor:
        found = self._labels.get(label)
        return QColor(found.color if found else "#7f7f7f")

    def visible(self, start_s: float, stop_s: float) -> list[Annotation]:
        """The marks overlapping ``[start_s, stop_s]``, by onset."""
        if not self._order:
            return []
        # Nothing that starts earlier than the longest span before the window can reach it.
        lo = bisect.bisect_left(self._onsets, start_s - self._max_duration - 1e-9)
        hi = bisect.bisect_right(self._onsets, stop_s + 1e-9)
        ends = self._ends[lo:hi]
        hits = np.nonzero(ends >= start_s - 1e-9)[0]
        return [self._order[lo + i] for i in hits]

    def marks(self) -> list[Annotation]:
        """Every mark, by onset."""
        return self._order

    def annotation(self, ident: str) -> Annotation | None:
        return self._by_id.get(ident)

    # -- drawing -----------------------------------------------------------------------------
    def update(self, start_s: float, stop_s: float, y_top: float, y_bottom: float,
               row_labels: Sequence[str], width_px: float, px_per_row: float,
               label_y: float | None = None, force: bool = False) -> None:
        """Draw the marks in ``[start_s, stop_s]`` over rows ``row_labels`` (top to bottom);
        ``y_top``/``y_bottom`` are the row area's edges in view units; labels sit at
        ``label_y`` (the top of the row area when None). Nothing is done when nothing
        changed since the last call (a page step reports its range more than once)."""
        self._geometry = (start_s, stop_s, y_top, y_bottom, tuple(row_labels), width_px, px_per_row, label_y)
        drawn_for = (self._geometry, id(self._order), self.selected, self.preview, self.open_onset)
        if drawn_for == self._drawn_for and not force:
            return
        self._drawn_for = drawn_for
        shown = [a for a in self.visible(start_s, stop_s)
                 if self.preview is None or a.id != self.preview.id]
        fills: dict[str, list[QRectF]] = {}
        lines: dict[str, list[float]] = {}
        drawn_spans, drawn_points = [], []
        line_ends: dict[str, list[tuple[float, float]]] = {}
        for mark in shown:
            color = self.color_of(mark.label).name()
            bands = mark_bands(mark, row_labels, y_top, y_bottom)
            if not bands:
                continue
            if mark.is_span:
                rects = [(mark.onset_s, mark.end_s, low, high) for low, high in bands]
                fills.setdefault(color, []).extend(QRectF(x0, y0, x1 - x0, y1 - y0) for x0, x1, y0, y1 in rects)
                drawn_spans.append(DrawnSpan(mark.id, tuple(rects)))
                for low, high in bands:
                    for x in (mark.onset_s, mark.end_s):
                        lines.setdefault(color, []).append(x)
                        line_ends.setdefault(color, []).append((low, high))
            else:
                drawn_points.append(mark.id)
                for low, high in bands:
                    lines.setdefault(color, []).append(mark.onset_s)
                    line_ends.setdefault(color, []).append((low, high))
        for color, batch in self._fills.items():
            if color not in fills:
                batch.set_rects([])
        for color, boxes in fills.items():
            self._fill(color).set_rects(boxes)
        for color, curve in self._lines.items():
            if color not in lines:
                curve.setData([], [])
        for color, xs in lines.items():
            ys = np.asarray(line_ends[color], dtype=float).ravel()
            self._line(color).setData(np.repeat(np.asarray(xs, dtype=float), 2), ys, connect="pairs")
        self.drawn_spans, self.drawn_points = drawn_spans, drawn_points
        self._draw_selection(y_top, y_bottom, row_labels)
        self._draw_open_edge(y_top, y_bottom)
        self._place_labels(shown, start_s, stop_s, width_px, px_per_row,
                           y_top if label_y is None else label_y)

    def redraw(self) -> None:
        """Draw again with the last geometry (after the marks or the selection changed)."""
        if self._geometry:
            start_s, stop_s, y_top, y_bottom, row_labels, width_px, px_per_row, label_y = self._geometry
            self.update(start_s, stop_s, y_top, y_bottom, row_labels, width_px, px_per_row, label_y, force=True)

    def _fill(self, color: str) -> RectBatch:
        batch = self._fills.get(color)
        if batch is None:
            shade = QColor(color)
            shade.setAlpha(SPAN_ALPHA)
            batch = RectBatch(shade)
            batch.setZValue(SPAN_Z)
            self._plot_item.addItem(batch, ignoreBounds=True)
            self._fills[color] = batch
        return batch

    def _line(self, color: str) -> pg.PlotCurveItem:
        curve = self._lines.get(color)
        if curve is None:
            edge = QColor(color)
            edge.setAlpha(EDGE_ALPHA)
            # Width 1: wider pens go through Qt's stroker, several times slower to paint.
            curve = pg.PlotCurveItem(pen=pg.mkPen(edge, width=1))
            curve.setZValue(LINE_Z)
            self._plot_item.addItem(curve, ignoreBounds=True)
            self._lines[color] = curve
        return curve

    def _draw_selection(self, y_top: float, y_bottom: float, row_labels: Sequence[str]) -> None:
        mark = self.preview or (self._by_id.get(self.selected) if self.selected else None)
        if mark is None:
            self._selected_fill.set_rects([])
            self._selected_line.setData([], [])
            return
        color = self.color_of(mark.label)
        bands = mark_bands(mark, row_labels, y_top, y_bottom)
        shade = QColor(color)
        shade.setAlpha(SPAN_ALPHA + 16 if mark.is_span else 0)
        self._selected_fill.set_colors(shade, color.darker(130), 2.0)
        self._selected_fill.set_rects([QRectF(mark.onset_s, low, mark.duration_s, high - low)
                                       for low, high in bands] if mark.is_span else [])
        xs = [mark.onset_s] if not mark.is_span else []
        self._selected_line.setPen(pg.mkPen(color.darker(130), width=3))
        self._selected_line.setData(np.repeat(np.asarray(xs * len(bands), dtype=float), 2),
                                    np.asarray([b for band in bands for b in band] if xs else [], dtype=float),
                                    connect="pairs")

    def _draw_open_edge(self, y_top: float, y_bottom: float) -> None:
        if self.open_onset is None:
            self._open_edge.setData([], [])
            return
        onset, label = self.open_onset
        self._open_edge.setPen(pg.mkPen(self.color_of(label), width=2, style=Qt.PenStyle.DashDotLine))
        self._open_edge.setData([onset, onset], [y_bottom, y_top])

    def _place_labels(self, shown: list[Annotation], start_s: float, stop_s: float, width_px: float,
                      px_per_row: float, y: float) -> None:
        px_per_s = width_px / max(stop_s - start_s, 1e-9)
        free_from = -np.inf
        placed: list[tuple[Annotation, str]] = []
        metrics = QFontMetricsF(QFont())
        for mark in shown:
            if len(placed) >= MAX_MARK_LABELS:
                break
            x_px = (max(mark.onset_s, start_s) - start_s) * px_per_s
            if x_px < free_from:
                continue
            text = elide(mark.label)
            free_from = x_px + metrics.horizontalAdvance(text) + 6 + LABEL_GAP_PX
            placed.append((mark, text))
        while len(self._texts) < len(placed):
            item = PixelLabel()
            item.setZValue(LABEL_Z)
            self._plot_item.addItem(item, ignoreBounds=True)
            self._texts.append(item)
        # A label set has a few names, so most labels of a new page find an item that shows
        # their text already and only move: laying text out is what costs.
        by_look: dict[tuple | None, list[PixelLabel]] = {}
        for item in self._texts:
            by_look.setdefault(item.look, []).append(item)
        unmatched: list[tuple[Annotation, str, QColor]] = []
        for mark, text in placed:
            color = self.color_of(mark.label).darker(120)
            reusable = by_look.get((text, color.name()))
            if reusable:
                self._show_label(reusable.pop(), mark, start_s, y)
            else:
                unmatched.append((mark, text, color))
        spare = [item for items in by_look.values() for item in items]
        for mark, text, color in unmatched:
            item = spare.pop()
            item.set_look(text, color)
            self._show_label(item, mark, start_s, y)
        for item in spare:
            item.hide()
        self.labelled = [mark.id for mark, _text in placed]

    @staticmethod
    def _show_label(item: PixelLabel, mark: Annotation, start_s: float, y: float) -> None:
        item.setToolTip(_tooltip(mark))
        item.setPos(max(mark.onset_s, start_s), y)
        item.show()

    # -- what is on screen (for tests and hit testing) -------------------------------------------
    def graphics_items(self) -> list:
        """Every graphics item the layer holds (it makes more only for new colours and labels)."""
        return [*self._fills.values(), *self._lines.values(), *self._texts,
                self._selected_fill, self._selected_line, self._open_edge]

    def fill_rects(self, color: str) -> list[tuple[float, float, float, float]]:
        """The rectangles the shading item of ``color`` (``#rrggbb``) paints, as
        ``(x0, x1, y_bottom, y_top)``."""
        batch = self._fills.get(QColor(color).name())
        return [(r.left(), r.right(), r.top(), r.bottom()) for r in batch.rects] if batch else []

    def drawn_rect_count(self) -> int:
        return sum(len(batch.rects) for batch in self._fills.values())

    def span_rects(self, ident: str) -> tuple[tuple[float, float, float, float], ...]:
        return next((span.rects for span in self.drawn_spans if span.ident == ident), ())

    def selected_rects(self) -> list[QRectF]:
        return self._selected_fill.rects


def _tooltip(mark: Annotation) -> str:
    when = f"{mark.onset_s:.3f} s" + (f" – {mark.end_s:.3f} s" if mark.is_span else "")
    bound = f"\non {', '.join(mark.channels)}" if mark.channels else ""
    return f"{mark.label}\n{when}{bound}\n(double-click to edit)"
