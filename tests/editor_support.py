"""A stand-in for the app side of the trace-editor contract, for the editor's widget tests:
traces in memory, every ``edit_requested`` recorded and (unless told to refuse) applied and
confirmed the way the app does it (``set_trace`` + ``update_row``), accept/reject moving on
to the next unreviewed trace, navigation resolved through the editor."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from tracemark.widgets.editor import TraceEditorWidget, TraceRow, TraceView

RATE, PRE, ROWS = 2000.0, 100, 300  # 50 ms before the event, 100 ms after


def mep_trace(k: int, rng: np.random.Generator, channels: int = 2) -> np.ndarray:
    """(ROWS, channels) in uV: noise, an artefact at the event, a biphasic MEP on EMG whose
    negative peak is at 22 ms and positive peak at 28 ms, scaled with k; EMG2 smaller."""
    data = rng.normal(0.0, 3.0, (ROWS, channels)).astype(np.float32)
    data[PRE:PRE + 6, :] += np.array([800, -900, 600, -300, 120, -40], np.float32)[:, None]
    amplitude = 100.0 + 40.0 * k
    t = np.arange(ROWS)
    data[:, 0] -= amplitude * np.exp(-0.5 * ((t - (PRE + 44)) / 3.0) ** 2)
    data[:, 0] += amplitude * 1.2 * np.exp(-0.5 * ((t - (PRE + 56)) / 4.0) ** 2)
    for c in range(1, channels):
        data[:, c] *= 0.3
    return data


def base_attrs(k: int) -> dict:
    return {"id": k, "event_name": "TMS", "event_time": 3.0 + 5.0 * k, "onset_shift": 0,
            "reject": False, "comment": "", "examiner": "", "neg_peak_magnitude_uv": None,
            "neg_peak_latency_ms": None, "pos_peak_magnitude_uv": None, "pos_peak_latency_ms": None,
            "channel_of_interest": None, "stimulation_intensity_mso": 40.0 + k,
            "xyz_coords": [-40.0, -20.0, 60.0]}


@dataclass
class FakeApp:
    editor: TraceEditorWidget
    data: list[np.ndarray]
    attrs: list[dict]
    labels: tuple[str, ...] = ("EMG", "EMG2")
    refuse: bool = False
    edits: list[tuple[int, dict]] = field(default_factory=list)
    shown: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.editor.edit_requested.connect(self.on_edit)
        self.editor.trace_requested.connect(self.show)
        self.editor.navigation_requested.connect(self.on_navigation)
        self.editor.set_traces([self.row(i) for i in range(len(self.data))])

    def view(self, i: int) -> TraceView:
        return TraceView(i, self.data[i], self.labels, RATE, PRE, dict(self.attrs[i]),
                         "session.TRC", {"subject": "S01", "samplingrate": RATE})

    def row(self, i: int) -> TraceRow:
        return TraceRow.from_attrs(i, self.attrs[i], origin="session.TRC")

    def show(self, i: int) -> None:
        self.shown.append(i)
        self.editor.set_trace(self.view(i))

    def on_edit(self, i: int, values: dict) -> None:
        self.edits.append((i, dict(values)))
        if self.refuse:
            return
        self.attrs[i].update(values)
        self.editor.set_trace(self.view(i))
        self.editor.update_row(self.row(i))
        if "reviewed" in values:
            target = self.editor.resolve_navigation("next_unreviewed")
            if target is not None:
                self.show(target)

    def on_navigation(self, kind: str) -> None:
        target = self.editor.resolve_navigation(kind)
        if target is not None:
            self.show(target)


def _build_app(qtbot, n: int = 12, channels: int = 2, seed: int = 3) -> FakeApp:
    rng = np.random.default_rng(seed)
    editor = TraceEditorWidget()
    editor.install_actions()
    qtbot.addWidget(editor)
    editor.resize(1200, 800)
    labels = ("EMG", "EMG2", "EMG3", "EMG4")[:channels]
    app = FakeApp(editor, [mep_trace(k, rng, channels) for k in range(n)],
                  [base_attrs(k) for k in range(n)], labels)
    editor.show()
    qtbot.waitExposed(editor)
    editor.activateWindow()
    qtbot.waitUntil(editor.isActiveWindow)
    app.show(0)
    editor.plot.plot_widget.setFocus()
    return app


@pytest.fixture
def make_app(qtbot):
    """``make_app(n=12, channels=2)`` -> a shown editor on ``n`` MEP traces, trace 0 on screen.

    The apps are held here until pytest-qt has closed and deleted their widgets: left to
    the garbage collector, a top-level editor could be deleted in the middle of a paint."""
    made: list[FakeApp] = []

    def make(n: int = 12, channels: int = 2, seed: int = 3) -> FakeApp:
        made.append(_build_app(qtbot, n, channels, seed))
        return made[-1]
    yield make


def press(qtbot, app: FakeApp, key, modifier=Qt.KeyboardModifier.NoModifier, widget=None) -> None:
    """A key pressed while the editor's plot (or ``widget``) has the focus, as a person would
    after clicking into the editor."""
    editor = app.editor
    if not editor.isActiveWindow():
        editor.activateWindow()
        qtbot.waitUntil(editor.isActiveWindow)
    target = widget if widget is not None else editor.plot.plot_widget
    target.setFocus()
    qtbot.keyClick(target, key, modifier)
