"""The trace editor is built when it is first needed, not with the window: a recording
viewed alone never builds it, yet its commands are in the menus from the start, a command
that fires builds it, and its splitter sizes survive windows that never built it."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt

from tracemark.app.actions_annotation import menu_of
from tracemark.app.main_window import MainWindow
from tracemark.demo.trc_writer import write_trc_array
from tracemark.widgets.editor import EDITOR_ACTIONS


def _recording(tmp_path):
    rng = np.random.default_rng(1)
    return write_trc_array(tmp_path / "alone.TRC", rng.normal(0, 30, (256 * 20, 4)).astype(np.float32),
                           sampling_rate=256.0)


def _window(qtbot) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    return window


def test_a_recording_alone_never_builds_the_editor_but_its_commands_are_declared(qtbot, tmp_path):
    window = _window(qtbot)
    assert window.open_path(_recording(tmp_path))
    qtbot.waitUntil(lambda: window.viewer.last_result is not None, timeout=10000)
    assert not window.editor_built
    for spec in EDITOR_ACTIONS:
        action = window.editor_actions[spec.name]
        assert action in window.menus[menu_of(spec)].actions()
        assert not action.isEnabled()   # nothing to act on without a cache
        assert action.shortcutContext() == Qt.ShortcutContext.WidgetWithChildrenShortcut
    assert not window.editor_built


def test_the_editor_is_built_in_its_slot_with_the_window_s_commands(qtbot):
    window = _window(qtbot)
    editor = window.editor
    assert window.editor_built and window.editor is editor
    assert editor.parentWidget() is window.editor_slot
    assert not editor.isVisible()   # built, but no cache to show
    assert editor.install_actions() is window.editor_actions   # no second set of shortcuts
    assert editor.peak_window_ms == window.settings.peak_window_ms()


def test_an_editor_command_builds_the_editor_and_reaches_it(qtbot):
    window = _window(qtbot)
    navigations = []
    window.editor_actions["next_trace"].setEnabled(True)
    window.editor_actions["next_trace"].trigger()
    assert window.editor_built
    window.editor.navigation_requested.connect(navigations.append)
    window.editor_actions["last_trace"].setEnabled(True)
    window.editor_actions["last_trace"].trigger()
    assert navigations == ["last"]


def test_editor_splitter_sizes_outlive_windows_that_never_built_the_editor(qtbot):
    first = _window(qtbot)
    first.resize(1400, 900)
    first.editor_slot.show()
    qtbot.wait(50)   # laid out, so that the sizes read are those shown
    first.editor.splitter.setSizes([200, 500])
    qtbot.wait(50)
    saved = first.editor.splitter.sizes()
    first.save_layout()
    second = _window(qtbot)   # views a recording at most: the editor is never built
    second.save_layout()
    assert not second.editor_built
    third = _window(qtbot)
    third.resize(1400, 900)
    third.editor_slot.show()
    qtbot.waitUntil(lambda: third.editor.splitter.sizes() == saved, timeout=5000)
