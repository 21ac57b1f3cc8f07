"""The main window: opens recordings and hosts the signal viewer. A thin wiring layer.

It owns the open reader, turns it into a viewer source, and shows open errors in a
message box naming the file and the problem (the window stays usable). Window-level
commands are declared once as :class:`ActionSpec` values like the viewer's, so the
menus and the shortcut help list them all.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox, QWidget

from tracemark import __version__
from tracemark.io_backends import open_recording
from tracemark.io_backends.errors import RecordingError
from tracemark.io_backends.protocol import BaseRecording
from tracemark.widgets.viewer import ActionSet, ActionSpec, SignalViewer

from .viewer_source import RecordingSource

WINDOW_ACTIONS = (
    ActionSpec("open_file", "File", "Open…", ("Ctrl+O",), "Open a recording"),
    ActionSpec("open_demo", "File", "Open demo recording", (), "Open the built-in demo"),
    ActionSpec("close_file", "File", "Close recording", ("Ctrl+W",), separator_before=True),
    ActionSpec("quit", "File", "Quit", ("Ctrl+Q",), separator_before=True),
    ActionSpec("about", "Help", "About Tracemark", ()),
)

FILE_FILTER = ("Recordings (*.trc *.TRC *.nwb *.edf *.EDF *.bdf *.BDF *.rec);;"
               "Micromed TRC (*.trc *.TRC);;NWB (*.nwb);;EDF/BDF (*.edf *.bdf *.EDF *.BDF);;All files (*)")


def montage_library():
    """The user's saved montages (None when the montage module is unavailable)."""
    try:
        from tracemark.dsp.montage import MontageLibrary
    except ImportError:
        return None
    return MontageLibrary(Path(user_data_dir("tracemark", appauthor=False)) / "montages")


class MainWindow(QMainWindow):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.recording: BaseRecording | None = None
        self.viewer = SignalViewer(self, montage_library=montage_library())
        self.setCentralWidget(self.viewer)
        handlers = {"open_file": self.open_dialog, "open_demo": self.open_demo,
                    "close_file": self.close_recording, "quit": self.close, "about": self.about}
        self.window_actions = ActionSet(self, WINDOW_ACTIONS, handlers,
                                        context=Qt.ShortcutContext.WindowShortcut)
        self.viewer.extra_action_specs = WINDOW_ACTIONS
        menus = {"File": self.menuBar().addMenu("&File")}
        menus = self.viewer.populate_menus(self.menuBar(), menus)
        self.window_actions.populate(self.menuBar(), menus)
        # Recordings with several sampling clocks (EDF per-signal rates, NWB series)
        # have one stream each; this menu lists them for the open file.
        self.streams_menu = QMenu("S&treams", self)
        menus["Signals"].addSeparator()
        menus["Signals"].addMenu(self.streams_menu)
        self.streams_menu.setEnabled(False)
        self.statusBar().hide()
        self.last_error_box: QMessageBox | None = None
        self.resize(1400, 860)
        self._update_title()

    # -- opening ---------------------------------------------------------------------------
    def open_path(self, path: str | Path, stream: int = 0) -> bool:
        """Open ``path`` read-only and show it; on failure say why and keep what was open."""
        path = Path(path)
        try:
            recording = open_recording(path)
        except RecordingError as error:
            self.show_error(f"Cannot open {path.name}", f"{error.path}\n\n{error.problem}")
            return False
        except OSError as error:
            self.show_error(f"Cannot open {path.name}", f"{path}\n\n{error.strerror or error}")
            return False
        if not recording.header.streams:
            recording.close()
            self.show_error(f"Nothing to show in {path.name}",
                            f"{path}\n\nThe file holds no continuous signals to display.")
            return False
        self.close_recording()
        self.recording = recording
        self.show_stream(stream)
        return True

    def show_stream(self, stream: int) -> None:
        """Show stream ``stream`` of the open recording."""
        self.viewer.set_source(RecordingSource(self.recording, stream))
        self.viewer.plot.setFocus()
        self._update_title()
        self._fill_streams_menu(stream)

    def _fill_streams_menu(self, current: int) -> None:
        self.streams_menu.clear()
        streams = self.recording.header.streams if self.recording is not None else ()
        for index, header in enumerate(streams):
            text = f"{header.name}: {header.n_channels} channels at {header.sampling_rate:g} Hz"
            action = self.streams_menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(index == current)
            action.triggered.connect(lambda _checked=False, i=index: self.show_stream(i))
        self.streams_menu.setEnabled(len(streams) > 1)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open recording", "", FILE_FILTER)
        if path:
            self.open_path(path)

    def open_demo(self) -> None:
        from tracemark.demo import ensure_demo_files

        try:
            files = ensure_demo_files()
        except OSError as error:
            self.show_error("Cannot create the demo", str(error))
            return
        self.open_path(files.trc)

    def close_recording(self) -> None:
        self.viewer.close_source()
        if self.recording is not None:
            self.recording.close()
            self.recording = None
        self._fill_streams_menu(-1)
        self._update_title()

    # -- messages --------------------------------------------------------------------------
    def show_error(self, title: str, text: str) -> QMessageBox:
        """A window-modal message that does not block the caller (tests answer it)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.last_error_box = box
        return box

    def about(self) -> None:
        QMessageBox.about(self, "About Tracemark",
                          f"Tracemark {__version__}\n\nViewer for electrophysiology recordings and "
                          "annotator of evoked-response traces.")

    def _update_title(self) -> None:
        if self.recording is None:
            self.setWindowTitle("Tracemark")
        else:
            self.setWindowTitle(f"{self.viewer.source.name} — Tracemark")

    def closeEvent(self, event) -> None:
        self.viewer.shutdown()
        if self.recording is not None:
            self.recording.close()
            self.recording = None
        super().closeEvent(event)
