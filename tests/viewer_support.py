"""Helpers for the viewer tests: a synthetic source, waiting for a drawn page, mouse gestures."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from PyQt6.QtCore import QPoint, QPointF, Qt, QTimer
from PyQt6.QtGui import QMouseEvent, QWheelEvent
from PyQt6.QtWidgets import QApplication

from tracemark.paging.source import ArraySource, SourceEvent
from tracemark.widgets.viewer import SignalViewer

EEG_NAMES = ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz", "C4", "T4",
             "T5", "P3", "Pz", "P4", "T6", "O1", "O2")


def synthetic_data(n_samples: int, n_channels: int, rate: float, seed: int = 1) -> np.ndarray:
    """Alpha-like rhythms plus noise, with one-sample spikes planted for peak tests."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / rate
    freqs = 6 + np.arange(n_channels) * 0.37
    data = 30 * np.sin(2 * np.pi * t[:, None] * freqs[None, :]) + rng.normal(0, 5, (n_samples, n_channels))
    return data.astype(np.float32)


def make_source(duration_s: float = 120.0, rate: float = 256.0, names=EEG_NAMES, events=None,
                start=datetime(2024, 5, 14, 9, 30, 0)) -> ArraySource:
    data = synthetic_data(int(duration_s * rate), len(names), rate)
    if events is None:
        events = [SourceEvent(float(t), 0.0, f"stim {i}", "trigger")
                  for i, t in enumerate(range(5, int(duration_s), 13))]
    return ArraySource(data, rate, names, name="synthetic", start_datetime=start, events=events)


def open_viewer(qtbot, source, *, width=1200, height=700, **kwargs) -> SignalViewer:
    viewer = SignalViewer(**kwargs)
    qtbot.addWidget(viewer)
    viewer.resize(width, height)
    viewer.show()
    qtbot.waitExposed(viewer)
    viewer.activateWindow()
    viewer.set_source(source)
    viewer.plot.setFocus()
    wait_drawn(qtbot, viewer)
    return viewer


def wait_drawn(qtbot, viewer, timeout: int = 5000) -> None:
    """Wait until the latest page request has been drawn."""
    qtbot.waitUntil(viewer.page_is_current, timeout=timeout)


def press(qtbot, viewer, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    # The offscreen platform has no window manager to hand activation back after a
    # modal dialog closes; a person's desktop does, so do it here.
    top = viewer.window()
    if not top.isActiveWindow():
        top.activateWindow()
        qtbot.waitUntil(top.isActiveWindow)
    qtbot.keyClick(viewer.plot, key, modifier)
    wait_drawn(qtbot, viewer)


def drag(widget, start: QPoint, end: QPoint, steps: int = 8) -> None:
    """A left-button drag with intermediate moves (QTest's mouseMove drops the button state)."""
    def send(kind, pos, button, buttons):
        event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)

    left = Qt.MouseButton.LeftButton
    send(QMouseEvent.Type.MouseButtonPress, start, left, left)
    for i in range(1, steps + 1):
        pos = start + (end - start) * (i / steps)
        send(QMouseEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, left)
    send(QMouseEvent.Type.MouseButtonRelease, end, left, Qt.MouseButton.NoButton)


def wheel(widget, pos: QPoint, notches: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    event = QWheelEvent(QPointF(pos), QPointF(widget.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def click(widget, pos: QPoint) -> None:
    left = Qt.MouseButton.LeftButton
    for kind, buttons in ((QMouseEvent.Type.MouseButtonPress, left), (QMouseEvent.Type.MouseButtonRelease,
                                                                    Qt.MouseButton.NoButton)):
        QApplication.sendEvent(widget, QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), left,
                                                   buttons, Qt.KeyboardModifier.NoModifier))


def plot_point(viewer, time_s: float, row_position: int) -> QPoint:
    """Widget pixel of a time and a row position in the trace plot's viewport."""
    view_box = viewer.plot.getViewBox()
    scene = view_box.mapViewToScene(QPointF(time_s, -row_position))
    return viewer.plot.mapFromScene(scene)


def hover(viewer, time_s: float, row: int = 2) -> None:
    """The pointer over the traces at ``time_s`` on row position ``row``, no button held."""
    viewport = viewer.plot.viewport()
    pos = plot_point(viewer, time_s, row)
    QApplication.sendEvent(viewport, QMouseEvent(QMouseEvent.Type.MouseMove, QPointF(pos),
                                                 QPointF(viewport.mapToGlobal(pos)), Qt.MouseButton.NoButton,
                                                 Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))


def answer_modal(qtbot, respond):
    """Run ``respond(dialog)`` on the next modal dialog, as a person would answer it."""
    def attempt():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(10, attempt)
            return
        respond(dialog)
    QTimer.singleShot(0, attempt)
