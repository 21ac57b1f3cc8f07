"""A window dropped without being closed (a script's, a test's) is deleted by Python's
cycle collector. Its docks and actions say they are hidden while Qt deletes them; every slot
that hears it must still work then, so nothing raises in the event loop.

Before, three lambdas (the window fitting itself to the screen, the plot docks and the
spectrum docks keeping their width) were found with their captured names already cleared:
``NameError: cannot access free variable 'self'``."""

from __future__ import annotations

import gc
import weakref

from tracemark.app.main_window import MainWindow
from tracemark.testing.driver import TracemarkDriver


def _collect(qtbot) -> None:
    for _ in range(3):
        gc.collect()
        qtbot.wait(20)


def test_a_dropped_window_with_everything_open_is_collected_quietly(qtbot, demo_cache):
    window = MainWindow()
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    window.opener.open_paths([demo_cache])
    TracemarkDriver(window, qtbot).wait_ready()
    for dock in [*window.plots.docks.values(), window.plots.agreement_dock]:
        dock.show()
    for name in ("toggle_spectrum", "toggle_spectrogram"):
        window.spectrum.actions[name].trigger()
    for name in ("toggle_events_panel", "toggle_measurements", "toggle_crosshair"):
        window.viewer.actions[name].trigger()
    qtbot.wait(100)
    window.stop_work()
    alive = weakref.ref(window)
    del window, dock
    _collect(qtbot)   # pytest-qt fails the test on any exception raised in a slot meanwhile
    assert alive() is None, "the window was not collected, so its deletion was not exercised"


def test_a_dropped_empty_window_is_collected_quietly(qtbot):
    window = MainWindow()
    window.show()
    qtbot.waitExposed(window)
    window.spectrum.actions["toggle_spectrum"].trigger()
    qtbot.wait(50)
    window.stop_work()
    alive = weakref.ref(window)
    del window
    _collect(qtbot)
    assert alive() is None, "the window was not collected, so its deletion was not exercised"


def test_the_smoke_test_deletes_its_window_before_it_returns(qtbot, monkeypatch):
    """A window in a reference cycle would otherwise live on until the interpreter exits,
    and be torn down after the application (the smoke test once ended in SIGSEGV)."""
    from PyQt6 import sip

    from tracemark.app import main_window, smoke

    made = []
    build = main_window.MainWindow.__init__

    def recording_init(self, *args, **kwargs):
        build(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(main_window.MainWindow, "__init__", recording_init)
    assert smoke.run_smoke_test(None) == smoke.EXIT_PASSED
    assert made, "the smoke test made no window"
    for ref in made:
        window = ref()
        assert window is None or sip.isdeleted(window)
