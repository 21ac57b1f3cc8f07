"""Axis items of the trace plot: time in seconds or wall-clock time, and channel labels."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pyqtgraph as pg
from PyQt6.QtCore import QPoint, Qt, pyqtSignal
from PyQt6.QtGui import QColor

from .view_model import TIME_CLOCK, TIME_SECONDS


def format_seconds(seconds: float, spacing: float = 1.0) -> str:
    """``h:mm:ss`` with as many decimals as the tick spacing needs (negative allowed)."""
    decimals = 0 if spacing >= 1 else min(int(math.ceil(-math.log10(spacing))), 3)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    whole = int(seconds)
    fraction = seconds - whole
    text_fraction = f"{fraction:.{decimals}f}"[1:] if decimals else ""
    if text_fraction and text_fraction.startswith(".") and float("0" + text_fraction) >= 1:
        whole, text_fraction = whole + 1, "." + "0" * decimals
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}{text_fraction}"
    return f"{sign}{minutes}:{secs:02d}{text_fraction}"


class TimeAxis(pg.AxisItem):
    """Bottom axis labelled as elapsed ``h:mm:ss`` or as the time of day of the recording."""

    def __init__(self, **kwargs):
        super().__init__("bottom", **kwargs)
        self.mode = TIME_SECONDS
        self.start_datetime: datetime | None = None

    def set_mode(self, mode: str, start_datetime: datetime | None) -> None:
        self.mode = mode if (mode == TIME_SECONDS or start_datetime is not None) else TIME_SECONDS
        self.start_datetime = start_datetime
        self.picture = None
        self.update()

    def tickStrings(self, values, scale, spacing):
        if self.mode == TIME_CLOCK and self.start_datetime is not None:
            digits = 0 if spacing >= 1 else min(int(math.ceil(-math.log10(spacing))), 3)
            out = []
            for value in values:
                moment = self.start_datetime + timedelta(seconds=float(value))
                text = moment.strftime("%H:%M:%S")
                if digits:
                    text += f".{moment.microsecond // 10 ** (6 - digits):0{digits}d}"
                out.append(text)
            return out
        return [format_seconds(v, spacing) for v in values]


#: How a bad row's name is shown, and in what colour: dimmer than the other names yet
#: readable on the white plot (contrast about 4.5:1).
BAD_LABEL_SUFFIX = " (bad)"
BAD_LABEL_COLOR = QColor(118, 118, 118)


class ChannelAxis(pg.AxisItem):
    """Left axis naming each row of stacked traces (row ``k`` is centred on ``y = -k``).

    Rows marked dimmed (bad channels, or derivations that use one) are named in grey with
    :data:`BAD_LABEL_SUFFIX`. A right click on a name asks for that row's menu
    (:attr:`menu_requested`: the row's position from the top and the screen point)."""

    menu_requested = pyqtSignal(int, QPoint)

    def __init__(self, **kwargs):
        super().__init__("left", **kwargs)
        self.setStyle(tickLength=0, autoExpandTextSpace=True)
        self._labels: list[str] = []
        self._shown: list[str] = []
        self._dimmed: frozenset[int] = frozenset()

    @property
    def labels(self) -> tuple[str, ...]:
        """The row names on the axis, top row first."""
        return tuple(self._labels)

    @property
    def shown_labels(self) -> tuple[str, ...]:
        """The names as drawn: a dimmed row's with :data:`BAD_LABEL_SUFFIX`."""
        return tuple(self._shown)

    @property
    def dimmed(self) -> frozenset[int]:
        """The positions whose names are greyed."""
        return self._dimmed

    def set_labels(self, labels: list[str], dimmed=()) -> None:
        self._labels = list(labels)
        self._dimmed = frozenset(int(k) for k in dimmed)
        self._shown = [name + BAD_LABEL_SUFFIX if k in self._dimmed else name
                       for k, name in enumerate(self._labels)]
        self.setTicks([[(-k, name) for k, name in enumerate(self._shown)], []])

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):  # noqa: N802 (pyqtgraph's name)
        dimmed_texts = {self._shown[k] for k in self._dimmed if k < len(self._shown)}
        if not dimmed_texts:
            super().drawPicture(p, axisSpec, tickSpecs, textSpecs)
            return
        plain = [spec for spec in textSpecs if spec[2] not in dimmed_texts]
        super().drawPicture(p, axisSpec, tickSpecs, plain)
        # Drawn after pyqtgraph's own names, with its font and clip, in the dimmer colour.
        p.setPen(BAD_LABEL_COLOR)
        for rect, flags, text in textSpecs:
            if text in dimmed_texts:
                p.drawText(rect, int(flags), text)

    def mouseClickEvent(self, event):  # noqa: N802 (pyqtgraph's name)
        view = self.linkedView()
        if event.button() == Qt.MouseButton.RightButton and view is not None and self._labels:
            position = int(round(-view.mapSceneToView(event.scenePos()).y()))
            if 0 <= position < len(self._labels):
                event.accept()
                self.menu_requested.emit(position, event.screenPos().toPoint())
                return
        super().mouseClickEvent(event)
