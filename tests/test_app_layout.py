"""The window on a real screen: it fits, it shows where the keys go, it keeps user choices."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication, QWidget

from tracemark.app.focus_marker import ACCENT


def _inside(inner, outer) -> bool:
    return (inner.left() >= outer.left() and inner.top() >= outer.top()
            and inner.right() <= outer.right() and inner.bottom() <= outer.bottom())


def test_docks_and_montages_never_push_the_window_past_the_screen(qtbot, tracemark_window, demo_cache):
    driver = tracemark_window(demo_cache)
    window = driver.window
    qtbot.waitUntil(lambda: window.viewer.source is not None, timeout=10000)
    area = window.screen().availableGeometry()
    assert _inside(window.frameGeometry(), area)
    for action in window.plots.toggle_actions():
        action.trigger()
        qtbot.wait(50)
        assert _inside(window.frameGeometry(), area), action.text()
    window.viewer.commands.next_montage()
    window.viewer.commands.next_montage()
    qtbot.wait(50)
    assert _inside(window.frameGeometry(), area)
    # Everything can be resized back: the window's least size fits a 1366x768 laptop.
    minimum = window.minimumSizeHint()
    assert minimum.width() <= 1366 and minimum.height() <= 700


def test_the_decision_buttons_are_always_reachable(qtbot, tracemark_window, demo_cache):
    driver = tracemark_window(demo_cache)
    window = driver.window
    window.resize(window.minimumSizeHint().width(), 700)
    qtbot.wait(50)
    for name in ("traceEditor.acceptButton", "traceEditor.rejectToggle"):
        button = window.findChild(QWidget, name)
        shown = button.visibleRegion().boundingRect()
        assert shown.width() == button.width() and shown.height() == button.height(), name


def test_the_part_that_has_the_keys_is_framed_and_named(qtbot, tracemark_window, demo_cache):
    driver = tracemark_window(demo_cache)
    window = driver.window
    qtbot.waitUntil(lambda: window.viewer.source is not None, timeout=10000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.focus_marker.active == "recording viewer")
    frames = window.focus_marker.frames
    assert frames["recording viewer"].color.name() == ACCENT and frames["trace editor"].color.name() != ACCENT
    assert window.keys_label.text() == "Keys: recording viewer (F6: trace editor)"
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: window.focus_marker.active == "trace editor")
    assert frames["trace editor"].color.name() == ACCENT and frames["recording viewer"].color.name() != ACCENT
    # The frame is drawn over the part, whole, and lets the mouse through.
    frame = frames["trace editor"]
    assert frame.geometry() == window.editor.rect() and frame.isVisible()
    assert frame.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    assert window.keys_label.text().startswith("Keys: trace editor")


def test_a_chosen_first_sensitivity_is_kept_for_the_next_recordings(qtbot, tracemark_window, demo_cache):
    driver = tracemark_window(demo_cache)
    window = driver.window
    qtbot.waitUntil(lambda: window.viewer.source is not None, timeout=10000)
    window.preferences()
    dialog = window.last_dialog
    dialog.sensitivity_spins["eeg"].setValue(30.0)
    assert dialog.sensitivity_spins["emg"].text() == "Measured"
    dialog._accept()
    qtbot.waitUntil(lambda: window.viewer.model.channels.sensitivity("eeg") == 30.0)
    assert window.settings.sensitivities() == {"eeg": 30.0}
    assert window.viewer.model.channels.sensitivity("emg") == window.viewer.automatic_sensitivity("emg")
