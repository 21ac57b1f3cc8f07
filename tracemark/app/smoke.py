"""``tracemark --smoke-test [PNG]``: prove that an installed or packaged Tracemark works.

It opens the demo (the recording beside its trace cache, as ``tracemark --demo`` does) in a
real main window, offscreen unless ``QT_QPA_PLATFORM`` says otherwise, and waits until the
signal viewer has painted its first page of signals and the trace editor shows a trace.
Then it checks what a frozen build most often loses: the package metadata behind the
version and the About box's component list, the readers the registry imports by name
(NWB with its namespace files, EDF, python-neo's rawio classes), and Qt's platform plugin.
It prints one line, ``tracemark <version>: smoke test passed (...)`` with the timings, and
exits 0; otherwise it prints ``smoke test FAILED: <reason>`` and exits 1. With ``PNG`` it
saves a picture of the window.

``packaging/smoke_test.sh`` runs it on a built folder in a clean environment. The window's
settings go to a throwaway file, so the user's layout and recent files are never touched;
the demo is generated where ``tracemark --demo`` keeps it (first use only).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import traceback
from importlib import metadata
from pathlib import Path

from tracemark import __version__
from tracemark.domain.trace_numbers import trace_label

#: Seconds allowed from the start of the smoke test to the first page and trace on screen.
DEFAULT_TIMEOUT_S = 120.0
POLL_MS = 20
EXIT_PASSED = 0
EXIT_FAILED = 1


class SmokeTestFailure(Exception):
    """The reason the smoke test did not pass (one line, shown as is)."""


def seconds_since_process_start() -> float | None:
    """Wall-clock seconds since this process started (Linux: from /proc), else None.

    Measured from the process's start rather than from this module's import so that the
    figure includes what a person waits for: the executable loading, Python and the
    application's imports."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            stat = handle.read()
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
        # Fields after the parenthesised command name start at field 3; starttime is field 22.
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class Clock:
    """Times of the smoke test's milestones, in seconds since the process started (or, where
    that is unknown, since the smoke test started)."""

    def __init__(self):
        since_start = seconds_since_process_start()
        self._origin = time.perf_counter() - (since_start or 0.0)
        self.from_process_start = since_start is not None
        self.marks: dict[str, float] = {}

    def now(self) -> float:
        return time.perf_counter() - self._origin

    def mark(self, name: str) -> float:
        self.marks.setdefault(name, self.now())
        return self.marks[name]


def run_smoke_test(screenshot: str | os.PathLike | None = None,
                   timeout_s: float = DEFAULT_TIMEOUT_S) -> int:
    """Run the smoke test; the process's exit code (0 passed, 1 failed)."""
    clock = Clock()
    clock.mark("python ready")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    settings_dir = Path(tempfile.mkdtemp(prefix="tracemark-smoke-"))
    try:
        _check_picture_path(screenshot)
        summary = _run(clock, settings_dir, screenshot, timeout_s)
    except SmokeTestFailure as failure:
        print(f"tracemark {__version__}: smoke test FAILED: {failure}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # noqa: BLE001 (whatever breaks, the smoke test says so and fails)
        print(f"tracemark {__version__}: smoke test FAILED: {type(error).__name__}: {error}",
              file=sys.stderr)
        traceback.print_exc()
        return EXIT_FAILED
    finally:
        shutil.rmtree(settings_dir, ignore_errors=True)
    print(f"tracemark {__version__}: smoke test passed ({summary})")
    return EXIT_PASSED


def _run(clock: Clock, settings_dir: Path, screenshot, timeout_s: float) -> str:
    from PyQt6.QtCore import qInstallMessageHandler

    previous_handler = qInstallMessageHandler(_quiet_offscreen_messages)
    try:
        return _run_app(clock, settings_dir, screenshot, timeout_s)
    finally:
        qInstallMessageHandler(previous_handler)


def _run_app(clock: Clock, settings_dir: Path, screenshot, timeout_s: float) -> str:
    from PyQt6.QtCore import QSettings, qVersion
    from PyQt6.QtWidgets import QApplication

    from tracemark.demo import ensure_demo_files
    from tracemark.widgets.gui_gc import delete_before_exit

    from .demo_session import ensure_demo_session
    from .main_window import MainWindow
    from .settings import APPLICATION, ORGANISATION, Settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APPLICATION)
    app.setOrganizationName(ORGANISATION)
    clock.mark("qt ready")
    _check_metadata()
    demo = ensure_demo_session()
    clock.mark("demo ready")
    settings = Settings(QSettings(str(settings_dir / "smoke.conf"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings)
    try:
        window.show()
        window.show_hint()
        watcher = FirstFrameWatcher(window, clock)
        window.opener.open_paths([demo.recording, demo.cache])
        watcher.wait(app, timeout_s)
        if screenshot:
            _save_picture(window, Path(screenshot))
        readers = check_readers(demo.recording, ensure_demo_files(demo.recording.parent).nwb, settings_dir)
        clock.mark("readers checked")
        trace = window.editor.current_index
        total = len(window.session)
    finally:
        window.close()
        app.processEvents()
        delete_before_exit([window])
    return (f"{app.platformName()}; first frame {clock.marks['first frame']:.2f} s, "
            f"{trace_label(trace).lower()} of {total} {clock.marks['trace shown']:.2f} s "
            f"after {'process start' if clock.from_process_start else 'the smoke test began'}; "
            f"demo ready at {clock.marks['demo ready']:.2f} s; readers {', '.join(readers)}; "
            f"Qt {qVersion()}, Python {sys.version.split()[0]}; "
            f"{'frozen' if getattr(sys, 'frozen', False) else 'tracemark'} in {_package_home()}")


def _package_home() -> str:
    """Where this tracemark runs from: the bundle's folder when frozen, else the package."""
    import tracemark

    return str(getattr(sys, "_MEIPASS", None) or Path(tracemark.__file__).parent)


#: Qt messages that the offscreen platform prints for every window and that say nothing
#: about whether the application works.
OFFSCREEN_NOISE = ("This plugin does not support propagateSizeHints()",)


def _quiet_offscreen_messages(_mode, _context, message: str) -> None:
    if message not in OFFSCREEN_NOISE:
        print(message, file=sys.stderr)


class FirstFrameWatcher:
    """Waits, with the event loop running, until the viewer has painted a page of signals
    and the editor shows a trace; fails on an error dialog or at the timeout."""

    def __init__(self, window, clock: Clock):
        from PyQt6.QtCore import QEvent, QObject

        self.window = window
        self.clock = clock
        self.data_drawn = False
        self.failure: str | None = None
        watcher = self

        class PaintFilter(QObject):
            def eventFilter(self, watched, event):  # noqa: N802 (Qt's name)
                if event.type() == QEvent.Type.Paint and watcher.data_drawn:
                    watcher.clock.mark("first frame")
                return False

        self._filter = PaintFilter(window)
        window.viewer.plot.viewport().installEventFilter(self._filter)
        window.viewer.page_drawn.connect(self._on_page_drawn)

    def _on_page_drawn(self, result) -> None:
        from tracemark.paging.request import ORIGIN_PENDING

        # A pending page is a placeholder drawn while a summary is built: no signal yet.
        if result.origin != ORIGIN_PENDING:
            self.data_drawn = True
            self.window.viewer.plot.viewport().update()

    def _trace_shown(self) -> bool:
        window = self.window
        session = window.session
        return (session is not None and len(session.rows) == len(session)
                and window.editor.isVisible() and window.editor.current_index is not None)

    def _error_shown(self) -> str | None:
        box = self.window.last_error_box
        if box is not None and box.isVisible():
            return f"the window showed an error: {box.text()}"
        return None

    def done(self) -> bool:
        if self._trace_shown():
            self.clock.mark("trace shown")
        return "first frame" in self.clock.marks and "trace shown" in self.clock.marks

    def wait(self, app, timeout_s: float) -> None:
        from PyQt6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        deadline = time.monotonic() + timeout_s

        def poll() -> None:
            self.failure = self._error_shown()
            if self.failure is None and time.monotonic() > deadline:
                self.failure = f"timed out after {timeout_s:.0f} s waiting for {self._missing()}"
            if self.failure is not None or self.done():
                timer.stop()
                loop.quit()

        timer = QTimer()
        timer.timeout.connect(poll)
        timer.start(POLL_MS)
        loop.exec()
        if self.failure is not None:
            raise SmokeTestFailure(self.failure)

    def _missing(self) -> str:
        missing = []
        if "first frame" not in self.clock.marks:
            missing.append("the viewer's first page of signals"
                           + (" (data arrived, no paint)" if self.data_drawn else ""))
        if "trace shown" not in self.clock.marks:
            missing.append("a trace in the trace editor")
        return " and ".join(missing)


def _check_metadata() -> None:
    """The version and the About box's component versions come from package metadata,
    which a frozen build carries only when told to."""
    if __version__.startswith("0.0.0"):
        raise SmokeTestFailure("tracemark's package metadata is missing, so its version is unknown")
    from .about import COMPONENTS

    missing = []
    for name, _licence in COMPONENTS:
        if name in ("Qt", "HDF5"):
            continue
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        raise SmokeTestFailure("the About box cannot name the version of " + ", ".join(missing)
                               + " (package metadata missing)")


def check_readers(trc: Path, nwb: Path, scratch: Path) -> list[str]:
    """Read a page through each backend the registry imports by name: the demo TRC (also
    through python-neo's Micromed reader), the demo NWB, and a small EDF written here."""
    import numpy as np

    from tracemark.io_backends import open_recording
    from tracemark.io_backends.edf_writer import write_edf

    edf = scratch / "smoke.edf"
    samples = np.sin(np.linspace(0, 20 * np.pi, 2000, dtype=np.float32))[:, None].repeat(2, axis=1)
    write_edf(edf, [samples * 100.0], channel_names=["C3", "C4"], sampling_rates=1000.0,
              physical_ranges=(-200.0, 200.0))
    checked = []
    for name, path, options in (("trc", trc, {}), ("nwb", nwb, {}), ("edf", edf, {}),
                                ("neo", trc, {"format": "neo"})):
        with open_recording(path, **options) as recording:
            block = recording.read_samples(0, 256)
        if block.size == 0 or not np.isfinite(block).all():
            raise SmokeTestFailure(f"the {name} reader returned no finite samples from {path.name}")
        checked.append(name)
    return checked


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_picture_path(screenshot) -> None:
    """``tracemark --smoke-test REC.TRC`` must not overwrite a recording with a picture."""
    if not screenshot:
        return
    path = Path(screenshot)
    if path.suffix.lower() != ".png":
        raise SmokeTestFailure(f"the picture of the window is saved as PNG; {path} does not end in .png")
    if path.exists():
        with open(path, "rb") as handle:
            if handle.read(8) != PNG_SIGNATURE:
                raise SmokeTestFailure(f"{path} exists and is not a PNG picture; it is left as it is")


def _save_picture(window, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        raise SmokeTestFailure(f"could not save the window's picture to {path}")
