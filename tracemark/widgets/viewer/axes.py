"""Axis items of the trace plot: time in seconds or wall-clock time, and channel labels."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pyqtgraph as pg

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


class ChannelAxis(pg.AxisItem):
    """Left axis naming each row of stacked traces (row ``k`` is centred on ``y = -k``)."""

    def __init__(self, **kwargs):
        super().__init__("left", **kwargs)
        self.setStyle(tickLength=0, autoExpandTextSpace=True)
        self._labels: list[str] = []

    @property
    def labels(self) -> tuple[str, ...]:
        """The row names on the axis, top row first."""
        return tuple(self._labels)

    def set_labels(self, labels: list[str]) -> None:
        self._labels = list(labels)
        self.setTicks([[(-k, name) for k, name in enumerate(self._labels)], []])
