"""One page of traces, drawn for paper and files: PNG, SVG, PDF and the printer.

The page is drawn from the data with a ``QPainter``, not grabbed from the screen and not
rendered from the pyqtgraph scene: the scene holds what belongs to a screen (the selected
row's colour, the cursor, pixel-wide cosmetic pens, a layout measured in screen pixels),
while a page needs its own layout in millimetres (labels, a time axis, calibration bars,
a header and a footer) and must draw the same from a viewer or from the headless
``tracemark export`` command, which has no viewer. One painter function serves every
device, so PDF and SVG are vector paths and text, and a PNG or a printout is sharp at the
device's resolution.

:class:`PageContent` is what a page shows (values already read, in physical units, each
row with its amplitude scale); :func:`page_content_from_viewer` takes it from a viewer
(what you see is what you get: a trace fills the same share of its row as on screen), and
:func:`read_page_rows` builds its rows from any read function. :func:`paint_page` draws it
into a rectangle of any paint device; :func:`write_page` writes a file by suffix and
:func:`print_page` paints on a ``QPrinter``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QMarginsF, QPointF, QRectF, QSize, QSizeF, Qt
from PyQt6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPainterPath,
    QPdfWriter,
    QPen,
)
from PyQt6.QtSvg import QSvgGenerator

from tracemark.domain.channel_types import STIM
from tracemark.dsp.amplitude import robust_spreads
from tracemark.dsp.decimate import envelope_xy, minmax_decimate
from tracemark.paging.pipeline import read_displayed

from .axes import format_seconds
from .rows import display_rows
from .scale_bar import format_duration, nice_value
from .scales import (
    AutomaticScales,
    format_quantity,
    format_sensitivity,
    group_title,
    group_unit,
)

__all__ = [
    "PAGE_FORMATS",
    "PageContent",
    "PageRow",
    "page_content_for_span",
    "page_content_from_viewer",
    "paint_page",
    "print_page",
    "read_page_rows",
    "render_page_image",
    "write_page",
]

PAGE_FORMATS = (".png", ".svg", ".pdf")
#: A4 landscape, as EEG is printed.
PAPER_MM = (297.0, 210.0)
MARGIN_MM = 10.0
PRINT_DPI = 300
#: Rows of a page made without a viewer (the viewer's first page holds as many).
MAX_DEFAULT_ROWS = 32
#: Min/max bins per row: more than a 300-dpi A4 page has dots across its traces.
PAGE_BINS = 4000
#: Values of a viewer's window above which its page is drawn from the bins on screen.
LONG_PAGE_VALUES = 20_000_000
#: Points per stroked piece of a trace (see _paint_traces).
PATH_PIECE_POINTS = 16
#: Values read at a time when a long page is reduced to its bins.
CHUNK_VALUES = 2_000_000
#: Seconds between time grid lines, the smallest that keeps lines >= GRID_MIN_MM apart.
GRID_STEPS_S = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
                600.0, 1800.0, 3600.0, 7200.0, 4 * 3600.0, 12 * 3600.0)
GRID_MIN_MM = 12.0

INK = QColor(0, 0, 0)
TEXT = QColor(25, 25, 25)
MUTED = QColor(90, 90, 90)
GRID = QColor(200, 204, 210)
FRAME = QColor(120, 120, 120)
EVENT = QColor(196, 84, 0)
EVENT_FILL = QColor(255, 170, 60, 40)


@dataclass(frozen=True)
class PageRow:
    """One trace: ``y`` physical values (in ``unit``) at ``x`` seconds, and its scale:
    ``units_per_row`` of its group's unit span one row height (``to_group_unit`` turns
    the row's unit into the group's; ``gain`` is the row's own gain, as on screen)."""

    label: str
    unit: str
    group: str
    x: np.ndarray
    y: np.ndarray
    units_per_row: float
    to_group_unit: float = 1.0
    gain: float = 1.0

    def row_values(self) -> np.ndarray:
        """``y`` in row heights (1.0 = one row)."""
        return self.y.astype(np.float64) * (self.to_group_unit * self.gain / self.units_per_row)


@dataclass(frozen=True)
class PageContent:
    """Everything a page shows; times in seconds on the recording's axis."""

    file_name: str
    start_s: float
    stop_s: float
    rows: tuple[PageRow, ...]
    start_datetime: datetime | None = None
    clock_time: bool = True
    montage: str = "As recorded"
    filter_text: str = "No filter"
    events: tuple[tuple[float, float, str], ...] = ()
    producer: str = "Tracemark"
    #: When the page was made (the footer says so); None: now.
    made_at: datetime | None = field(default=None, compare=False)

    def format_time(self, seconds: float, spacing: float = 0.001) -> str:
        if self.clock_time and self.start_datetime is not None:
            moment = self.start_datetime + timedelta(seconds=seconds)
            digits = 0 if spacing >= 1 else min(math.ceil(-math.log10(spacing)), 3)
            text = moment.strftime("%H:%M:%S")
            return text + (f".{moment.microsecond // 10 ** (6 - digits):0{digits}d}" if digits else "")
        return format_seconds(seconds, spacing)

    def period_text(self) -> str:
        """``"2024-03-01  10:00:02.250 – 10:00:12.250  (10 s)"``."""
        span = self.stop_s - self.start_s
        span_text = f"{span:g} s" if span < 120 else f"{span / 60:g} min"
        date = ""
        if self.clock_time and self.start_datetime is not None:
            date = (self.start_datetime + timedelta(seconds=self.start_s)).strftime("%Y-%m-%d") + "  "
        return f"{date}{self.format_time(self.start_s)} – {self.format_time(self.stop_s)}  ({span_text})"


# -- reading a page ---------------------------------------------------------------------------
def read_page_rows(read: Callable[[int, int], np.ndarray], i_start: int, i_stop: int,
                   sampling_rate: float, *, remove_dc: bool = False, bins: int = PAGE_BINS
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(x_seconds, y)`` of samples ``[i_start, i_stop)`` as min/max pairs of at most
    ``bins`` bins per row (every sample when fewer), read chunk by chunk so a long page
    costs bounded memory. ``remove_dc`` removes each row's mean over the page, as the
    viewer does per page."""
    n = max(i_stop - i_start, 0)
    factor = max(math.ceil(n / max(bins, 1)), 1)
    pieces_x, pieces_y, total, count = [], [], None, 0
    probe = np.asarray(read(i_start, min(i_start + 1, i_stop)))
    width = probe.shape[1] if probe.ndim == 2 else 0
    step = max((CHUNK_VALUES // max(width, 1)) // factor, 1) * factor
    for first in range(i_start, i_stop, step):
        block = np.asarray(read(first, min(first + step, i_stop)), dtype=np.float32)
        if not len(block):
            continue
        sums = np.nansum(block, axis=0, dtype=np.float64)
        total = sums if total is None else total + sums
        count += len(block)
        starts, mins, maxs = minmax_decimate(block, factor, first - i_start)
        x, y = envelope_xy(starts + i_start, mins, maxs, factor, sampling_rate)
        pieces_x.append(x)
        pieces_y.append(y)
    if not pieces_x:
        return np.empty(0), np.empty((0, width), dtype=np.float32)
    x, y = np.concatenate(pieces_x), np.concatenate(pieces_y)
    if remove_dc and count:
        y = y - (total / count).astype(np.float32)
    return x, y


def page_content_from_viewer(viewer, *, producer: str = "Tracemark") -> PageContent:
    """The page the viewer shows now: its window, rows, montage, filter and scales."""
    source, model = viewer.source, viewer.model
    if source is None or not model.channels.visible_rows:
        raise ValueError("no signal is shown to export")
    window, channels = model.window, model.channels
    rate = source.sampling_rate
    i_start = max(math.floor(window.start_s * rate), 0)
    i_stop = min(math.ceil(window.stop_s * rate), source.n_samples)
    rows = tuple(channels.visible_rows)
    montage = model.display.montage
    matrix = model.display.montage_matrix(source.channel_names)   # bad channels out of averages
    active = viewer.active_filter()
    shown = viewer.last_result
    if ((i_stop - i_start) * len(rows) > LONG_PAGE_VALUES and shown is not None
            and shown.request.rows == rows and len(shown.bin_starts)):
        # A window of hours: the bins on screen, not a read of the whole window on the GUI thread.
        x, y = envelope_xy(shown.bin_starts, shown.mins, shown.maxs, shown.bin_factor, rate)
    else:
        page_filter = None if active is None else replace(active, remove_dc=False)
        x, y = read_page_rows(lambda a, b: read_displayed(source, a, b, rows, matrix, page_filter),
                              i_start, i_stop, rate, remove_dc=bool(active is not None and active.remove_dc))
    row_mm = viewer.plot.row_pixels() / viewer.plot.pixels_per_mm
    page_rows = []
    for k, row in enumerate(rows):
        shown = channels.row(row)
        page_rows.append(PageRow(shown.label, shown.unit, shown.scale.group, x, y[:, k],
                                 channels.row_sensitivity(row) * row_mm, shown.scale.to_group_unit,
                                 channels.gain(row)))
    events = tuple((e.time_s, e.duration_s, e.label) for e in source.events()
                   if e.time_s <= window.stop_s and e.time_s + max(e.duration_s, 0.0) >= window.start_s)
    configured = model.display.display_filter
    filter_text = ("No filter" if configured is None or configured.is_identity else
                   "Filters off" if active is None else active.describe())
    return PageContent(source.name, window.start_s, window.stop_s, tuple(page_rows),
                       source.start_datetime, window.time_mode == "clock" and source.start_datetime is not None,
                       montage.name if montage is not None else "As recorded", filter_text, events, producer)


def page_content_for_span(source, start_s: float, stop_s: float, rows: Sequence[int] | None = None, *,
                          display_filter=None, clock_time: bool = True,
                          producer: str = "Tracemark") -> PageContent:
    """A page of ``source`` (channels as recorded) without a viewer, as the viewer would
    first show it: ``rows`` (default: the channels a viewer shows first, trigger and
    status channels left out), each channel's DC removed when ``display_filter`` says so,
    and each scale group's sensitivity measured from the page's own data
    (:class:`~.scales.AutomaticScales`, a clinical step at which the group's typical
    channel fills most of its row)."""

    rate = source.sampling_rate
    i_start = max(math.floor(start_s * rate + 1e-9), 0)
    i_stop = min(math.ceil(stop_s * rate - 1e-9), source.n_samples)
    channels = display_rows(source)
    if rows is None:
        rows = ([i for i, c in enumerate(channels) if c.channel_type != STIM][:MAX_DEFAULT_ROWS]
                or list(range(len(channels))))
    rows = tuple(int(r) for r in rows)
    page_filter = None if display_filter is None else replace(display_filter, remove_dc=False)
    x, y = read_page_rows(lambda a, b: read_displayed(source, a, b, rows, None, page_filter), i_start,
                          i_stop, rate, remove_dc=bool(display_filter is not None and display_filter.remove_dc))
    scales = [channels[r].scale for r in rows]
    spreads, bursts = robust_spreads([_finite_rows(y)]) if len(y) else (None, None)
    automatic = AutomaticScales(spreads, scales, bursts)
    per_row = automatic.sensitivities(row_px=1.0, pixels_per_mm=1.0)   # units per row height
    gains = automatic.misc_gains()
    page_rows = tuple(PageRow(channels[r].label, channels[r].unit, scale.group, x, y[:, k],
                              per_row[scale.group], scale.to_group_unit, gains.get(k, 1.0))
                      for k, (r, scale) in enumerate(zip(rows, scales)))
    events = tuple((e.time_s, e.duration_s, e.label) for e in source.events()
                   if e.time_s <= stop_s and e.time_s + max(e.duration_s, 0.0) >= start_s)
    filter_text = "No filter" if display_filter is None or display_filter.is_identity else display_filter.describe()
    return PageContent(source.name, start_s, stop_s, page_rows, source.start_datetime,
                       clock_time and source.start_datetime is not None, "As recorded", filter_text,
                       events, producer)


def _finite_rows(y: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(y), y, np.nan).astype(np.float32)


# -- writing ----------------------------------------------------------------------------------
def write_page(content: PageContent, path: str | Path, *, dpi: int = PRINT_DPI,
               paper_mm: tuple[float, float] = PAPER_MM) -> Path:
    """Write the page as PNG (``dpi`` dots per inch), SVG or PDF (vector), by suffix.
    Needs a ``QGuiApplication`` (offscreen is enough)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        image = render_page_image(content, dpi=dpi, paper_mm=paper_mm)
        if not image.save(str(path), "PNG"):
            raise OSError(f"{path}: could not write the PNG file")
    elif suffix == ".pdf":
        _write_pdf(content, path, dpi, paper_mm)
    elif suffix == ".svg":
        _write_svg(content, path, dpi, paper_mm)
    else:
        raise ValueError(f"{path}: cannot draw a page as {suffix or 'a file without suffix'}; "
                         f"use one of {', '.join(PAGE_FORMATS)}")
    return path


def render_page_image(content: PageContent, *, dpi: int = PRINT_DPI,
                      paper_mm: tuple[float, float] = PAPER_MM) -> QImage:
    """The page on white paper, ``paper_mm`` at ``dpi``."""
    size = QSize(round(paper_mm[0] / 25.4 * dpi), round(paper_mm[1] / 25.4 * dpi))
    image = QImage(size, QImage.Format.Format_RGB32)
    image.setDotsPerMeterX(round(dpi / 0.0254))
    image.setDotsPerMeterY(round(dpi / 0.0254))
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        margin = MARGIN_MM / 25.4 * dpi
        paint_page(painter, QRectF(0, 0, size.width(), size.height()).adjusted(margin, margin, -margin, -margin),
                   content, dpi)
    finally:
        painter.end()
    return image


def _write_pdf(content: PageContent, path: Path, dpi: int, paper_mm: tuple[float, float]) -> None:
    writer = QPdfWriter(str(path))
    writer.setResolution(dpi)
    writer.setTitle(f"{content.file_name} {content.period_text()}")
    writer.setCreator(content.producer)
    writer.setPageLayout(QPageLayout(QPageSize(QSizeF(*paper_mm), QPageSize.Unit.Millimeter),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
                                     QPageLayout.Unit.Millimeter))
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"{path}: could not write the PDF file")
    try:
        # The painter's origin is the paint rectangle's corner (the margins are outside it).
        paint_rect = writer.pageLayout().paintRectPixels(dpi)
        paint_page(painter, QRectF(0, 0, paint_rect.width(), paint_rect.height()), content, dpi)
    finally:
        painter.end()


def _write_svg(content: PageContent, path: Path, dpi: int, paper_mm: tuple[float, float]) -> None:
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setResolution(dpi)
    size = QSize(round(paper_mm[0] / 25.4 * dpi), round(paper_mm[1] / 25.4 * dpi))
    generator.setSize(size)
    generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
    generator.setTitle(f"{content.file_name} {content.period_text()}")
    generator.setDescription(f"{content.montage}; {content.filter_text}")
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"{path}: could not write the SVG file")
    try:
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor("white"))
        margin = MARGIN_MM / 25.4 * dpi
        paint_page(painter, QRectF(0, 0, size.width(), size.height()).adjusted(margin, margin, -margin, -margin),
                   content, dpi)
    finally:
        painter.end()


def print_page(content: PageContent, printer) -> None:
    """Paint the page on ``printer`` (a configured ``QPrinter``), filling its paint rect."""
    painter = QPainter()
    if not painter.begin(printer):
        raise OSError("the printer could not start a page")
    try:
        dpi = printer.resolution()
        rect = printer.pageLayout().paintRectPixels(dpi)
        paint_page(painter, QRectF(0, 0, rect.width(), rect.height()), content, dpi)
    finally:
        painter.end()


# -- painting ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Layout:
    """The page's parts, in device units (``mm`` device units per millimetre)."""

    mm: float
    header: QRectF
    labels: QRectF
    events: QRectF
    traces: QRectF
    scales: QRectF
    axis: QRectF
    footer: QRectF


def paint_page(painter: QPainter, rect: QRectF, content: PageContent, dpi: float) -> None:
    """Draw ``content`` into ``rect`` of ``painter``'s device (``dpi`` dots per inch)."""
    mm = dpi / 25.4
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    fonts = _Fonts(mm)
    layout = _layout(rect, content, fonts, mm)
    _paint_header(painter, layout, content, fonts)
    _paint_grid_and_axis(painter, layout, content, fonts)
    _paint_events(painter, layout, content, fonts)
    _paint_traces(painter, layout, content, fonts)
    _paint_scales(painter, layout, content, fonts)
    _paint_footer(painter, layout, content, fonts)
    painter.restore()


class _Fonts:
    """Text sizes in millimetres of cap height, as paper needs (not screen points)."""

    def __init__(self, mm: float):
        self.body = _font(2.6 * mm)
        self.small = _font(2.2 * mm)
        self.title = _font(3.2 * mm, bold=True)
        self.label = _font(2.5 * mm)


def _font(pixels: float, bold: bool = False) -> QFont:
    font = QFont("Helvetica")
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPixelSize(max(round(pixels), 1))
    font.setBold(bold)
    return font


def _layout(rect: QRectF, content: PageContent, fonts: _Fonts, mm: float) -> _Layout:
    label_metrics = QFontMetricsF(fonts.label)
    label_width = max((label_metrics.horizontalAdvance(r.label) for r in content.rows), default=0.0)
    label_width = min(max(label_width + 3 * mm, 14 * mm), 40 * mm)
    header_h, footer_h, axis_h = 11 * mm, 7 * mm, 7 * mm
    events_h = 5 * mm if content.events else 0.0
    scales_w = 24 * mm
    top = rect.top() + header_h
    bottom = rect.bottom() - footer_h - axis_h
    left, right = rect.left() + label_width, rect.right() - scales_w
    traces = QRectF(QPointF(left, top + events_h), QPointF(right, bottom))
    return _Layout(mm, QRectF(rect.left(), rect.top(), rect.width(), header_h),
                   QRectF(rect.left(), traces.top(), label_width, traces.height()),
                   QRectF(left, top, traces.width(), events_h), traces,
                   QRectF(right, traces.top(), scales_w, traces.height() + axis_h),
                   QRectF(left, bottom, traces.width(), axis_h),
                   QRectF(rect.left(), rect.bottom() - footer_h, rect.width(), footer_h))


def _pen(color: QColor, width_mm: float, mm: float, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color)
    pen.setWidthF(width_mm * mm)
    pen.setStyle(style)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _text(painter: QPainter, rect: QRectF, text: str, align, font: QFont, color: QColor = TEXT) -> None:
    painter.setFont(font)
    painter.setPen(color)
    elided = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
    painter.drawText(rect, int(align), elided)


def _paint_header(painter: QPainter, layout: _Layout, content: PageContent, fonts: _Fonts) -> None:
    mm, header = layout.mm, layout.header
    left = QRectF(header.left(), header.top(), header.width() * 0.45, header.height() - 2 * mm)
    _text(painter, left, content.file_name, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
          fonts.title)
    right = QRectF(header.left() + header.width() * 0.45, header.top(), header.width() * 0.55,
                   (header.height() - 2 * mm) / 2)
    _text(painter, right, f"Montage: {content.montage}     Filter: {content.filter_text}",
          Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, fonts.body)
    _text(painter, right.translated(0, right.height()), "Sensitivity on this page: " + sensitivity_text(
        content, layout.traces.height() / max(len(content.rows), 1) / mm),
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, fonts.small, MUTED)
    painter.setPen(_pen(FRAME, 0.25, mm))
    y = header.bottom() - 1.2 * mm
    painter.drawLine(QPointF(header.left(), y), QPointF(header.right(), y))


def sensitivity_text(content: PageContent, row_mm: float) -> str:
    """Each group's sensitivity on paper, rows ``row_mm`` tall: ``"EEG 19.4 µV/mm · ECG ..."``."""
    groups = list(dict.fromkeys(r.group for r in content.rows))
    return " · ".join((f"{group_title(g)} " if len(groups) > 1 else "")
                      + format_sensitivity(_group_units_per_row(content, g) / row_mm, g) for g in groups)


def _group_units_per_row(content: PageContent, group: str) -> float:
    return next(r.units_per_row for r in content.rows if r.group == group)


def _x_of(layout: _Layout, content: PageContent, seconds):
    span = max(content.stop_s - content.start_s, 1e-12)
    offset_s = np.asarray(seconds, dtype=np.float64) - content.start_s
    return layout.traces.left() + offset_s / span * layout.traces.width()


def grid_step_s(span_s: float, width_mm: float) -> float:
    """Seconds between grid lines: the smallest step keeping lines GRID_MIN_MM apart."""
    for step in GRID_STEPS_S:
        if step * width_mm / max(span_s, 1e-12) >= GRID_MIN_MM:
            return step
    return GRID_STEPS_S[-1]


def _paint_grid_and_axis(painter: QPainter, layout: _Layout, content: PageContent, fonts: _Fonts) -> None:
    mm, traces, axis = layout.mm, layout.traces, layout.axis
    step = grid_step_s(content.stop_s - content.start_s, traces.width() / mm)
    first = math.ceil(content.start_s / step - 1e-9) * step
    ticks = np.arange(first, content.stop_s + step * 1e-6, step)
    metrics = QFontMetricsF(fonts.small)
    last_right = -math.inf
    for tick in ticks:
        x = float(_x_of(layout, content, tick))
        painter.setPen(_pen(GRID, 0.12, mm))
        painter.drawLine(QPointF(x, traces.top()), QPointF(x, traces.bottom()))
        painter.setPen(_pen(FRAME, 0.2, mm))
        painter.drawLine(QPointF(x, traces.bottom()), QPointF(x, traces.bottom() + 1.2 * mm))
        text = content.format_time(float(tick), step)
        width = metrics.horizontalAdvance(text)
        if x - width / 2 > last_right + 2 * mm and x + width / 2 <= axis.right() + mm:
            _text(painter, QRectF(x - width / 2 - mm, axis.top() + 1.4 * mm, width + 2 * mm, 3.5 * mm), text,
                  Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, fonts.small)
            last_right = x + width / 2
    painter.setPen(_pen(FRAME, 0.25, mm))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(traces)


def _paint_events(painter: QPainter, layout: _Layout, content: PageContent, fonts: _Fonts) -> None:
    if not content.events:
        return
    mm, traces, strip = layout.mm, layout.traces, layout.events
    metrics = QFontMetricsF(fonts.small)
    painter.save()
    painter.setClipRect(QRectF(strip.left(), strip.top(), strip.width(), traces.bottom() - strip.top()))
    free_from = -math.inf
    for onset, duration, label in content.events:
        x0 = float(_x_of(layout, content, onset))
        if duration > 0:
            x1 = float(_x_of(layout, content, onset + duration))
            painter.fillRect(QRectF(QPointF(x0, traces.top()), QPointF(x1, traces.bottom())), EVENT_FILL)
        painter.setPen(_pen(EVENT, 0.18, mm, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(x0, strip.top() + 0.5 * mm), QPointF(x0, traces.bottom()))
        if x0 >= free_from:
            width = min(metrics.horizontalAdvance(label) + mm, 40 * mm)
            _text(painter, QRectF(x0 + 0.6 * mm, strip.top(), width, strip.height()), label,
                  Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, fonts.small, EVENT)
            free_from = x0 + width + mm
    painter.restore()


def _paint_traces(painter: QPainter, layout: _Layout, content: PageContent, fonts: _Fonts) -> None:
    mm, traces = layout.mm, layout.traces
    n = max(len(content.rows), 1)
    row_h = traces.height() / n
    label_font = fonts.label if row_h >= 3.4 * mm else _font(row_h * 0.75)   # many rows: smaller labels
    for k, row in enumerate(content.rows):
        centre = traces.top() + (k + 0.5) * row_h
        _text(painter, QRectF(layout.labels.left(), centre - row_h / 2, layout.labels.width() - 2 * mm, row_h),
              row.label, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label_font)
        if not len(row.x):
            continue
        xs = _x_of(layout, content, row.x)
        ys = centre - np.clip(row.row_values(), -0.5, 0.5) * row_h   # clipped to its own row
        painter.save()
        painter.setClipRect(QRectF(traces.left(), centre - row_h / 2, traces.width(), row_h))
        pen = _pen(INK, 0.16, mm)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)   # pieces meet as one line
        painter.setPen(pen)
        # In short pieces: Qt strokes a long, self-overlapping path of a wide pen far more
        # slowly than the same line cut in pieces (5.4 -> 0.6 s for a 300-dpi page of 7 rows of 2,560 points).
        for first in range(0, len(xs) - 1, PATH_PIECE_POINTS):
            piece = slice(first, first + PATH_PIECE_POINTS + 1)
            painter.drawPath(_polyline(xs[piece], ys[piece]))
        painter.restore()


def _polyline(xs: np.ndarray, ys: np.ndarray) -> QPainterPath:
    """A path through the finite points; a NaN breaks the line."""
    return pg.arrayToQPath(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64),
                           connect="finite")


def _paint_scales(painter: QPainter, layout: _Layout, content: PageContent, fonts: _Fonts) -> None:
    mm, traces, margin = layout.mm, layout.traces, layout.scales
    row_h = traces.height() / max(len(content.rows), 1)
    firsts: dict[str, int] = {}
    for k, row in enumerate(content.rows):
        firsts.setdefault(row.group, k)
    several = len(firsts) > 1
    bar_x = margin.left() + 3 * mm
    for group, k in firsts.items():
        units_per_row = _group_units_per_row(content, group)
        amplitude = nice_value(0.8 * units_per_row)
        if amplitude <= 0:
            continue
        height = amplitude / units_per_row * row_h
        centre = traces.top() + (k + 0.5) * row_h
        painter.setPen(_pen(INK, 0.35, mm))
        painter.drawLine(QPointF(bar_x, centre - height / 2), QPointF(bar_x, centre + height / 2))
        lines = [t for t in ((group_title(group) if several else ""),
                             format_quantity(amplitude, group_unit(group))) if t]
        line_h = 3.2 * mm
        for j, line in enumerate(lines):
            _text(painter, QRectF(bar_x + 1.5 * mm, centre - line_h * len(lines) / 2 + j * line_h,
                                  margin.width() - 5 * mm, line_h), line,
                  Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, fonts.small)
    _paint_time_bar(painter, layout, content, fonts, bar_x)


def _paint_time_bar(painter: QPainter, layout: _Layout, content: PageContent, fonts: _Fonts, bar_x: float) -> None:
    mm, traces = layout.mm, layout.traces
    per_s = traces.width() / max(content.stop_s - content.start_s, 1e-12)
    seconds = nice_value(18 * mm / per_s)
    if seconds <= 0:
        return
    y = traces.bottom() + 1.5 * mm
    painter.setPen(_pen(INK, 0.35, mm))
    painter.drawLine(QPointF(bar_x, y), QPointF(bar_x + seconds * per_s, y))
    _text(painter, QRectF(bar_x, y + 0.6 * mm, layout.scales.width() - 4 * mm, 3.5 * mm),
          format_duration(seconds), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, fonts.small)


def _paint_footer(painter: QPainter, layout: _Layout, content: PageContent, fonts: _Fonts) -> None:
    mm, footer = layout.mm, layout.footer
    painter.setPen(_pen(FRAME, 0.25, mm))
    painter.drawLine(QPointF(footer.left(), footer.top() + 1.5 * mm), QPointF(footer.right(), footer.top() + 1.5 * mm))
    body = QRectF(footer.left(), footer.top() + 2 * mm, footer.width(), footer.height() - 2 * mm)
    third = body.width() / 3
    made = (content.made_at or datetime.now()).strftime("%Y-%m-%d %H:%M")
    parts = ((content.file_name, Qt.AlignmentFlag.AlignLeft),
             (content.period_text(), Qt.AlignmentFlag.AlignHCenter),
             (f"{content.producer} · {made}", Qt.AlignmentFlag.AlignRight))
    for j, (text, align) in enumerate(parts):
        _text(painter, QRectF(body.left() + j * third, body.top(), third, body.height()), text,
              align | Qt.AlignmentFlag.AlignVCenter, fonts.small, MUTED if j == 2 else TEXT)
