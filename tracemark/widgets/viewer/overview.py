"""A strip showing the whole recording, with the current window; click or drag to jump.

It draws an activity map (rows are channels, columns are stretches of time, shade is
the log of each stretch's peak-to-peak range relative to that channel's median) from
the min/max summary, so it costs nothing proportional to the recording once the
summary exists. While the summary is being built, a progress bar says so, with a Stop
button for a slow disk; once stopped, a link builds it again.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QVBoxLayout, QWidget

from .axes import TimeAxis


def activity_image(mins: np.ndarray, maxs: np.ndarray) -> np.ndarray:
    """``(n_bins, n_channels)`` min/max -> values in [0, 1] for the overview map."""
    ptp = np.asarray(maxs, np.float64) - np.asarray(mins, np.float64)
    ptp[~np.isfinite(ptp)] = np.nan
    with np.errstate(all="ignore"):
        median = np.nanmedian(ptp, axis=0)
        median[~(median > 0)] = 1.0
        level = np.log2(ptp / median + 1e-12)
    level = np.clip((level + 2.0) / 5.0, 0.0, 1.0)  # median sits at 0.4; 8x median saturates
    level[~np.isfinite(level)] = 0.0
    return level.astype(np.float32)


#: Height of the row under the strip (progress, Stop, messages), reserved always.
STATUS_ROW_PX = 18


class _OverviewBox(pg.ViewBox):
    clicked = pyqtSignal(float)
    dragged = pyqtSignal(float)

    def __init__(self):
        super().__init__(enableMenu=False)
        self.setMouseEnabled(False, False)

    def mouseClickEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.mapSceneToView(event.scenePos()).x())
            event.accept()

    def mouseDragEvent(self, event, axis=None):
        if event.button() == Qt.MouseButton.LeftButton:
            event.accept()
            self.dragged.emit(self.mapSceneToView(event.scenePos()).x())

    def wheelEvent(self, event, axis=None):
        event.ignore()


class OverviewStrip(QWidget):
    """Whole-recording strip; emits ``jump_requested(time_s)`` to centre the window there,
    ``stop_requested`` when the person stops the summary being built, ``build_requested``
    when they ask for it again."""

    jump_requested = pyqtSignal(float)
    stop_requested = pyqtSignal()
    build_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._box = _OverviewBox()
        self._axis = TimeAxis()
        self.plot = pg.PlotWidget(viewBox=self._box, axisItems={"bottom": self._axis})
        self.plot.setBackground("w")
        self.plot.hideAxis("left")
        self.plot.plotItem.hideButtons()
        self.plot.plotItem.setMenuEnabled(False)
        self.plot.setFixedHeight(74)
        self._axis.setPen(pg.mkPen(120, 120, 120))
        self._axis.setTextPen(pg.mkPen(40, 40, 40))
        self._image = pg.ImageItem(axisOrder="row-major")
        self._image.setLookupTable(_lookup_table())
        self.plot.addItem(self._image)
        self._event_ticks = pg.ScatterPlotItem(size=6, symbol="t1", pen=None, brush=pg.mkBrush(200, 30, 30))
        self.plot.addItem(self._event_ticks)
        # Only the window region moves while paging; the map and the event ticks (thousands
        # on a day-long recording) are painted from cached pixmaps.
        for item in (self._image, self._event_ticks):
            item.setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._window = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(0, 92, 200, 55),
                                           pen=pg.mkPen(0, 92, 200, 220, width=1.5))
        self._window.setZValue(10)
        self.plot.addItem(self._window, ignoreBounds=True)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setFormat("Building overview… %p%")
        self.progress.setTextVisible(True)
        self.progress.setMaximumHeight(16)
        self.progress.hide()
        self.stop_button = QToolButton(self)
        self.stop_button.setText("Stop")
        self.stop_button.setAccessibleName("Stop building the overview")
        self.stop_button.setToolTip("Stop building the overview; zoomed-out views wait for it")
        self.stop_button.setMaximumHeight(18)
        self.stop_button.clicked.connect(self.stop_requested)
        self.stop_button.hide()
        self.message = QLabel(self)
        self.message.setStyleSheet("color: #666;")
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.linkActivated.connect(lambda _link: self.build_requested.emit())
        self.message.hide()
        self._box.clicked.connect(self.jump_requested)
        self._box.dragged.connect(self.jump_requested)
        self._duration = 1.0
        self.has_summary = False
        # The row under the strip keeps its height whether it shows progress, a message or
        # nothing: the traces above must not change size (and be drawn again) when the
        # summary starts or ends.
        status_row = QWidget(self)
        status_row.setFixedHeight(STATUS_ROW_PX)
        status = QHBoxLayout(status_row)
        status.setContentsMargins(4, 0, 4, 0)
        status.addWidget(self.progress, 1)
        status.addWidget(self.stop_button)
        status.addWidget(self.message, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot)
        layout.addWidget(status_row)

    def set_duration(self, duration_s: float, start_datetime=None, time_mode: str = "seconds") -> None:
        self._duration = max(float(duration_s), 1e-6)
        self._axis.set_mode(time_mode, start_datetime)
        self.plot.setXRange(0, self._duration, padding=0)
        self.plot.setYRange(0, 1, padding=0)
        self._box.setLimits(xMin=0, xMax=self._duration)

    def set_time_mode(self, mode: str, start_datetime) -> None:
        self._axis.set_mode(mode, start_datetime)

    def set_window(self, start_s: float, stop_s: float) -> None:
        # Keep the window visible as a sliver even when it is a tiny part of a long file.
        minimum = self._duration / max(self.plot.width(), 200) * 2
        if stop_s - start_s < minimum:
            centre = (start_s + stop_s) / 2
            start_s, stop_s = centre - minimum / 2, centre + minimum / 2
        self._window.setRegion((start_s, stop_s))

    def window_region(self) -> tuple[float, float]:
        return tuple(self._window.getRegion())

    def set_activity(self, image: np.ndarray | None) -> None:
        """``(n_bins, n_channels)`` values in [0, 1] spread over the whole duration."""
        if image is None or image.size == 0:
            self._image.clear()
            self.has_summary = False
            return
        self._image.setImage(np.ascontiguousarray(image.T[::-1]), levels=(0.0, 1.0))
        self._image.setRect(0.0, 0.08, self._duration, 0.92)
        self.has_summary = True

    def set_events(self, times_s) -> None:
        times = np.asarray(list(times_s), dtype=np.float64)
        self._event_ticks.setData(times, np.full(times.shape, 0.04))

    def set_progress(self, fraction: float | None) -> None:
        if fraction is None:
            self.progress.hide()
            self.stop_button.hide()
            return
        self.message.hide()
        self.progress.show()
        self.stop_button.show()
        self.progress.setValue(int(round(1000 * min(max(fraction, 0.0), 1.0))))

    def set_message(self, text: str, build_link: str = "") -> None:
        """``text`` under the strip; ``build_link``, when given, is a link that asks for
        the summary to be built again."""
        self.progress.hide()
        self.stop_button.hide()
        shown = html.escape(text)
        if build_link:
            shown += f" <a href='build'>{html.escape(build_link)}</a>"
        self.message.setText(shown)
        self.message.setVisible(bool(text))


def _lookup_table() -> np.ndarray:
    # White (quiet) to slate blue (active) to deep red (much above the channel's median).
    stops = np.array([[0.0, 250, 250, 252], [0.4, 196, 206, 224], [0.7, 92, 112, 160],
                      [1.0, 170, 30, 40]])
    positions = np.linspace(0, 1, 256)
    table = np.stack([np.interp(positions, stops[:, 0], stops[:, c]) for c in (1, 2, 3)], axis=1)
    return table.astype(np.uint8)
