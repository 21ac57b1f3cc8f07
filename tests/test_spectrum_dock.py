"""The spectrum docks, driven as a person would: keys open them, the viewer's window, cursors,
montage and filter decide what they analyse, and the readout names the right peak."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QWidget
from viewer_support import wait_drawn

from tracemark.app.main_window import MainWindow
from tracemark.app.spectrum_dock import PSD, SPECTROGRAM
from tracemark.dsp.filters import DisplayFilter
from tracemark.paging.source import ArraySource
from tracemark.widgets.spectrum.reading import (
    SpectrumRequest,
    compute_psd,
    compute_spectrogram,
)

RATE = 256.0
DURATION_S = 60.0
SWITCH_S = 30.0
NAMES = ("Fp1", "Fp2", "C3", "C4")
#: Each channel's own rhythm (Hz), 10 µV; under it a rhythm common to all channels (40 µV,
#: 10 Hz until SWITCH_S, 6 Hz after) and 15 µV of 50 Hz mains.
OWN_HZ = (20.0, 13.0, 17.0, 23.0)


def recording() -> ArraySource:
    t = np.arange(int(DURATION_S * RATE)) / RATE
    common = np.where(t < SWITCH_S, 40 * np.sin(2 * np.pi * 10 * t), 40 * np.sin(2 * np.pi * 6 * t))
    common += 15 * np.sin(2 * np.pi * 50 * t)
    own = np.column_stack([10 * np.sin(2 * np.pi * f * t + k) for k, f in enumerate(OWN_HZ)])
    noise = np.random.default_rng(7).normal(0.0, 1.0, own.shape)
    return ArraySource(common[:, None] + own + noise, RATE, NAMES, ("uV",) * 4, name="sines")


@pytest.fixture
def window(qtbot):
    main = MainWindow()
    qtbot.addWidget(main)
    main.resize(1366, 768)
    main.show()
    qtbot.waitExposed(main)
    main.activateWindow()
    source = recording()
    main.viewer.set_source(source)
    wait_drawn(qtbot, main.viewer)
    main.viewer.plot.setFocus()    # as a click on the traces does
    qtbot.waitUntil(main.viewer.plot.hasFocus)
    yield main
    main.spectrum.shutdown()
    main.viewer.shutdown()


def key(qtbot, main, key, modifier=Qt.KeyboardModifier.NoModifier):
    if not main.isActiveWindow():
        main.activateWindow()
        qtbot.waitUntil(main.isActiveWindow)
    qtbot.keyClick(main.viewer.plot, key, modifier)


def settled(qtbot, main, kind=PSD):
    """Wait until the dock shows the spectrum of what the viewer shows now."""
    def done():
        assert not main.viewer._request_timer.isActive()
        assert not main.spectrum.busy
        assert kind in main.spectrum.views
    qtbot.waitUntil(done, timeout=10000)
    return main.spectrum.views[kind]


def open_psd(qtbot, main):
    key(qtbot, main, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(main.spectrum.docks[PSD].isVisible)
    return settled(qtbot, main)


def power_at(view, frequency_hz, curve=0):
    x, y = view.curves[curve].getOriginalDataset()
    return float(y[np.argmin(np.abs(x - frequency_hz))])


def test_the_shortcut_opens_the_spectrum_of_the_selected_channel(qtbot, window):
    view = open_psd(qtbot, window)
    assert window.spectrum.actions["toggle_spectrum"].isChecked()
    assert window.viewer.model.channels.selected == 0
    assert view.labels == ("Fp1",)
    assert "Peak 10.0 Hz" in view.peak_label.text() and "µV²/Hz" in view.peak_label.text()
    assert view.peak_label.text().endswith("Fp1")
    assert "µV²/Hz" in view.plot.getAxis("left").labelText
    # Mains shows as a second peak, a hundredfold above the floor beside it.
    assert power_at(view, 50.0) > 100 * power_at(view, 45.0)
    # 0 to Nyquist without a low-pass; the note says how the estimate was made.
    assert view.plot.getViewBox().viewRange()[0][1] == pytest.approx(RATE / 2)
    assert "0.5 Hz resolution" in view.note.text() and "Montage: as recorded" in view.note.text()
    assert view.range_label.text().startswith("Window 0:00")


def test_selecting_a_channel_and_choosing_the_page_follow_the_viewer(qtbot, window):
    view = open_psd(qtbot, window)
    key(qtbot, window, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)   # select the next channel
    view = settled(qtbot, window)
    assert view.labels == ("Fp2",)
    view.scope.setFocus()
    qtbot.keyClick(view.scope, Qt.Key.Key_Down)                                # "Channels on the page"
    view = settled(qtbot, window)
    assert view.current_scope() == "page"
    assert view.labels == NAMES
    assert [item.text for _sample, item in view.legend.items] == list(NAMES)


def test_an_average_reference_takes_the_common_rhythm_out(qtbot, window):
    view = open_psd(qtbot, window)
    assert "Peak 10.0 Hz" in view.peak_label.text()
    for _ in range(4):
        if getattr(window.viewer.model.display.montage, "name", None) == "Average reference":
            break
        key(qtbot, window, Qt.Key.Key_M)
        wait_drawn(qtbot, window.viewer)
    assert window.viewer.model.display.montage.name == "Average reference"
    view = settled(qtbot, window)
    assert view.labels == ("Fp1-avg",)
    assert "Peak 20.0 Hz" in view.peak_label.text()     # Fp1's own rhythm
    assert power_at(view, 10.0) < 1e-3 * power_at(view, 20.0)
    assert "Montage: Average reference" in view.note.text()


def test_a_low_pass_filter_shapes_the_spectrum_and_its_axis(qtbot, window):
    view = open_psd(qtbot, window)
    before = power_at(view, 50.0)
    window.viewer.model.display.set_display_filter(DisplayFilter(lowpass_hz=30.0, remove_dc=True))
    view = settled(qtbot, window)
    assert power_at(view, 50.0) < 1e-3 * before
    assert view.plot.getViewBox().viewRange()[0][1] == pytest.approx(37.5)
    assert "LP 30 Hz" in view.note.text()


def test_the_measurement_span_restricts_the_data(qtbot, window):
    source = window.viewer.source
    view = open_psd(qtbot, window)
    assert "Peak 10.0 Hz" in view.peak_label.text()       # the window, 0-10 s
    source.reads.clear()
    window.viewer.cursors.place(0, 42.0)
    window.viewer.cursors.place(1, 50.0)
    view = settled(qtbot, window)
    assert "Peak 6.0 Hz" in view.peak_label.text()        # the common rhythm after 30 s
    assert view.range_label.text().startswith("Span A–B 0:42")
    # The viewer's pages and cursor readouts read every channel; the spectrum reads Fp1 alone.
    assert [r for r in source.reads if r[2] == (0,)] == [(int(42 * RATE), int(50 * RATE), (0,))]
    window.viewer.cursors.clear()
    view = settled(qtbot, window)
    assert "Peak 10.0 Hz" in view.peak_label.text()


def test_the_spectrogram_shows_the_change_of_rhythm_on_the_recording_axis(qtbot, window):
    window.viewer.model.window.show_range(25.0, 35.0)
    wait_drawn(qtbot, window.viewer)
    key(qtbot, window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(window.spectrum.docks[SPECTROGRAM].isVisible)
    view = settled(qtbot, window, SPECTROGRAM)
    assert window.spectrum.actions["toggle_spectrogram"].isChecked()
    rect = view.image.mapRectToParent(view.image.boundingRect())
    # Columns sit at the centres of their 1-s segments: from 25.5 s to 34.5 s, half a step either side.
    assert 25.4 < rect.left() < 25.5 and 34.5 < rect.right() < 34.6
    assert view.title.text().startswith("Fp1")
    decibels = view.decibels                                # (frequencies, times), 1 Hz bins
    strongest = decibels.argmax(axis=0)
    columns = decibels.shape[1]
    assert columns >= 100
    assert set(strongest[: columns // 3]) == {10} and set(strongest[-columns // 3:]) == {6}
    assert "dB re 1 µV²/Hz" in view.colour_bar.getAxis("left").labelText


def test_closing_a_dock_unchecks_its_action_and_stops_computing(qtbot, window):
    open_psd(qtbot, window)
    window.spectrum.docks[PSD].close()
    assert not window.spectrum.actions["toggle_spectrum"].isChecked()
    window.viewer.model.window.set_start(20.0)
    wait_drawn(qtbot, window.viewer)
    assert not window.spectrum.busy


def test_long_spans_are_read_within_the_budget():
    source = ArraySource(np.random.default_rng(1).normal(size=(int(600 * RATE), 4)), RATE, NAMES)
    request = SpectrumRequest(source, 0, source.n_samples, (0, 1, 2, 3), NAMES, ("uV",) * 4)
    result = compute_psd(request, budget_values=200_000)
    read = sum((b - a) * len(c) for a, b, c in source.reads)
    assert result.sampled and read <= 200_000
    assert "sampled" in result.description
    first, last = source.reads[0], source.reads[-1]
    assert first[0] == 0 and last[1] == source.n_samples          # spread over the whole span
    source.reads.clear()
    image = compute_spectrogram(request, budget_samples=20_000)
    assert image.sampled and sum(b - a for a, b, _ in source.reads) <= 20_000
    steps = np.diff(image.spectrogram.times)
    assert steps.min() > 0 and steps.max() - steps.min() < 2 / RATE


def test_a_cancelled_computation_stops_between_reads():
    source = recording()
    request = SpectrumRequest(source, 0, source.n_samples, (0,), ("Fp1",), ("uV",))
    assert compute_psd(request, lambda: True, budget_values=50_000) is None
    assert source.reads == []


def test_the_frequency_limit_redraws_both_views_without_reading_again(qtbot, window):
    view = open_psd(qtbot, window)
    key(qtbot, window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    image = settled(qtbot, window, SPECTROGRAM)
    window.viewer.source.reads.clear()
    view.limit.setFocus()
    qtbot.keyClick(view.limit, Qt.Key.Key_Down)                                # "30 Hz"
    assert view.frequency_limit() == 30.0
    assert view.plot.getViewBox().viewRange()[0][1] == pytest.approx(30.0)
    assert image.plot.getViewBox().viewRange()[1][1] == pytest.approx(30.0)
    assert "Peak 10.0 Hz" in view.peak_label.text()
    assert not window.spectrum.busy and window.viewer.source.reads == []


def test_the_spectrum_commands_have_their_own_keys_and_are_in_the_help(qtbot, window):
    from PyQt6.QtGui import QKeySequence

    from tracemark.app.actions_annotation import help_specs
    from tracemark.app.spectrum_dock import SPECTRUM_ACTIONS

    specs = help_specs()
    keys = [QKeySequence(s).toString() for spec in specs for s in spec.shortcuts]
    for spec in SPECTRUM_ACTIONS:
        assert spec.name in {s.name for s in specs}
        assert all(keys.count(QKeySequence(s).toString()) == 1 for s in spec.shortcuts)
        menu_actions = {a.objectName() for a in window.menus["View"].actions()}
        assert spec.name in menu_actions


def test_every_part_of_the_docks_is_named_and_documented(qtbot, window):
    import re
    from pathlib import Path

    from tracemark.app.ui_names import accessible_name, interactive_widgets

    open_psd(qtbot, window)
    key(qtbot, window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    settled(qtbot, window, SPECTROGRAM)
    doc = Path(__file__).resolve().parents[1] / "docs" / "ui-automation.md"
    documented = set(re.findall(r"`([^`\s]+)`", doc.read_text(encoding="utf-8")))
    seen = []
    for dock in window.spectrum.docks.values():
        assert dock.objectName() in documented
        for widget in interactive_widgets(dock):
            if widget is dock or widget.parentWidget() is dock:   # the dock's own title buttons
                continue
            seen.append(widget.objectName())
            assert widget.objectName() in documented and accessible_name(widget)
    assert {"psdScope", "psdLimit", "psdGraphics", "spectrogramGraphics"} <= set(seen)
    for name in ("psdPeak", "psdRange", "psdNote", "spectrogramTitle", "spectrogramNote"):
        assert name in documented and window.findChild(QWidget, name) is not None


def test_without_a_recording_the_dock_says_what_to_do(qtbot):
    main = MainWindow()
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    main.spectrum.actions["toggle_spectrum"].trigger()
    view = settled(qtbot, main)
    assert view.curves == [] and "Open a recording" in view.note.text()
    main.spectrum.shutdown()


class _FailingSource(ArraySource):
    """Pages (every channel) read; a read of Fp1 alone, as the spectrum asks, fails."""

    def read_block(self, i_start, i_stop, channels):
        if tuple(channels) == (0,):
            raise OSError("sines: read failed at sample 0 (disk unplugged)")
        return super().read_block(i_start, i_stop, channels)


def test_a_failed_read_is_told_in_the_dock(qtbot):
    main = MainWindow()
    qtbot.addWidget(main)
    main.resize(1366, 768)
    main.show()
    qtbot.waitExposed(main)
    healthy = recording()
    data = healthy.read_block(0, healthy.n_samples, range(4))
    main.viewer.set_source(_FailingSource(data, RATE, NAMES, ("uV",) * 4, name="sines"))
    wait_drawn(qtbot, main.viewer)
    main.spectrum.actions["toggle_spectrum"].trigger()
    view = settled(qtbot, main)
    assert view.note.text() == "Spectrum unavailable: sines: read failed at sample 0 (disk unplugged)"
    assert view.curves == [] and view.peak_label.text() == ""
    main.spectrum.shutdown()
    main.viewer.shutdown()


def test_the_window_starts_without_the_spectral_code():
    """The docks exist from the start (the View menu, restored layouts); their views, the
    spectral code and scipy are imported when a dock is first shown."""
    import os
    import subprocess
    import sys

    probe = ("import sys\n"
             "from PyQt6.QtWidgets import QApplication\n"
             "app = QApplication([])\n"
             "from tracemark.app.main_window import MainWindow\n"
             "window = MainWindow()\n"
             "print(sorted(m for m in sys.modules if m.startswith(('tracemark.widgets.spectrum',"
             " 'tracemark.dsp.spectrum', 'scipy.signal'))))\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
