"""The main window: the signal viewer beside the trace editor, with the plot views as docks.
A thin wiring layer.

It opens a recording, a trace cache, or both (a cache names its source recordings; when
one is found it opens beside the traces, otherwise the traces are shown alone). What is
open lives in a :class:`~.workspace.Workspace`, which the window watches: each change of
it is shown here once (viewer, editor, viewer link, menus, title). Opening files is the
:mod:`.opening` service, the review loop :mod:`.review_controller`, the cache
:mod:`.annotation_session`; commands are declared once in :mod:`.actions_annotation` (plus
the editor's and the viewer's own lists) and the menus and the help are generated from
them. Errors appear as window-modal message boxes naming the file and the problem; the
window stays usable.

The trace editor is built the first time something needs it (a cache opens, a command or
a caller asks for ``editor``), in a slot kept for it beside the viewer: a recording viewed
alone, the usual start, does not wait for the editor's plot, form and table. Its commands
exist from the start all the same (menus and help are generated from them), bound to the
slot, and a command that fires builds the editor first.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QPoint, Qt, QTimer
from PyQt6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from tracemark.widgets.actions import ActionSet, ShortcutsDialog
from tracemark.widgets.editor import EDITOR_ACTIONS
from tracemark.widgets.gui_gc import collect_in_gui_thread
from tracemark.widgets.viewer import SignalViewer

from . import actions_annotation as annotation_actions
from .agreement_feed import AgreementFeed
from .export_dialog import ExportCommands
from .focus_marker import EDITOR, VIEWER, FocusMarker
from .geometry import first_size, fit_to_screen
from .opening import Opener
from .plot_docks import PlotDocks
from .rater_mode import RaterCommands
from .recording_marks import RecordingMarks
from .sessions import SESSION_ACTIONS, ViewSessions
from .settings import Settings
from .spectrum_dock import SPECTRUM_ACTIONS, SpectrumDocks
from .ui_names import name_window_parts
from .viewer_link import ViewerLink
from .viewer_source import EventsOnlySource, RecordingSource
from .workspace import SourceLink, SourceState, Workspace

if TYPE_CHECKING:   # the review loop loads when a cache is opened, the editor when needed
    from tracemark.widgets.editor import TraceEditorWidget

    from .annotation_session import AnnotationSession
    from .review_controller import ReviewController


def montage_library():
    """The user's saved montages (None when the montage module is unavailable)."""
    try:
        from tracemark.storage.montages import MontageLibrary
    except ImportError:
        return None
    return MontageLibrary()  # in the user's data folder


#: The window-level commands (the editor's and the viewer's are declared with them).
WINDOW_ACTIONS = annotation_actions.WINDOW_ACTIONS

#: Span (s) a recording of events only opens on, from just before its first event.
EVENTS_ONLY_SPAN_S = 60.0

#: The splitters of the trace editor whose sizes are kept with the window's layout.
EDITOR_SPLITTERS = ("editorSplitter", "editorTopSplitter")

#: Windows opened from another window ("Open in a new window"), held while they are open
#: as launch.py holds the first ones, so that Python does not collect them.
EXTRA_WINDOWS: list[MainWindow] = []


class MainWindow(QMainWindow):
    def __init__(self, parent: QWidget | None = None, *, settings: Settings | None = None):
        super().__init__(parent)
        collect_in_gui_thread()   # before any worker thread exists: see widgets/gui_gc
        self.setObjectName("mainWindow")
        self.setAccessibleName("Tracemark")
        self.settings = settings or Settings()
        self.last_error_box: QMessageBox | None = None
        self.last_dialog = None
        self.last_new_window: MainWindow | None = None
        self.hint = None   # the first-run hint while it is up
        #: What is open here; the window shows each change of it (see _wire_workspace).
        self.workspace = Workspace(self)
        #: The review loop of the open cache (made when one opens).
        self.controller: ReviewController | None = None
        self._editor: TraceEditorWidget | None = None   # built on first use: see editor
        self._build_widgets()
        self.opener = Opener(self.workspace, self.settings, self)
        self.opener.marks_state = self.marks.current_state
        self.sessions = ViewSessions(self)
        self._build_actions()
        self._build_status()
        self._wire_workspace()
        name_window_parts(self)
        self.resize(first_size(self))
        self._restore_layout()
        self._fit_timer = QTimer(self, singleShot=True, interval=0)
        self._fit_timer.timeout.connect(self._fit_to_screen)   # a method, not a lambda: see widgets/gui_gc
        for dock in [*self.plots.docks.values(), *self.spectrum.docks.values()]:
            dock.visibilityChanged.connect(self._fit_soon)   # also said while the window is deleted
        self.viewer.model.display.montage_changed.connect(self._fit_soon)
        self.update_title()

    # -- construction ----------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.viewer = SignalViewer(self, montage_library=montage_library())
        self.viewer.setAccessibleName("Signal viewer")
        self.viewer.preferred_sensitivities = self.settings.sensitivities()
        self.editor_slot = _editor_slot(self)
        self.link = ViewerLink(self.viewer, self)
        #: The person's own marks on the recording shown, in its annotation file.
        self.marks = RecordingMarks(self.viewer, self, self)
        self.viewer.source_changed.connect(lambda _source: self.update_layout())
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setAccessibleName("Viewer and trace editor")
        self.splitter.addWidget(self.viewer)
        self.splitter.addWidget(self.editor_slot)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setSizes([820, 680])
        self.plots = PlotDocks(self)
        self.spectrum = SpectrumDocks(self, self.viewer)
        self.plots.view_built.connect(lambda _name: name_window_parts(self))
        self.viewer.hide()
        self.editor_slot.hide()
        self.placeholder = QLabel(
            "<h2>Tracemark</h2><p>Open a recording (Ctrl+O) or a trace cache (Ctrl+Shift+O),"
            " or try the demo (File › Open demo).</p>")
        self.placeholder.setObjectName("mainPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #555;")
        self.pages = QStackedWidget(self)
        self.pages.setObjectName("mainPages")
        self.pages.addWidget(self.placeholder)
        self.pages.addWidget(self.splitter)
        self.setCentralWidget(self.pages)

    def _build_actions(self) -> None:
        self.exports = ExportCommands(self)
        handlers = {"open_recording": self.opener.open_recording_dialog,
                    "open_folder": self.opener.open_folder_dialog,
                    "open_url": self.opener.open_url_dialog,
                    "open_cache": self.opener.open_cache_dialog,
                    "open_demo": self.opener.open_demo, "build_cache": self.opener.build_cache_dialog,
                    "export_csv": self.opener.export_csv, "close_all": self.opener.close_all,
                    "quit": self.close, "undo": self.undo, "redo": self.redo,
                    "preferences": self.preferences, "focus_editor": self.focus_editor,
                    "focus_viewer": self.focus_viewer, "show_hint": lambda: self.show_hint(force=True),
                    "about": self.about, "export_page": self.exports.export_page,
                    "export_segment": self.exports.export_segment, "print_page": self.exports.print_page,
                    "import_marks": self.marks.import_dialog, "export_marks": self.marks.export_dialog,
                    "choose_marks_file": self.marks.choose_file}
        self.window_actions = ActionSet(self, annotation_actions.WINDOW_ACTIONS, handlers,
                                        context=Qt.ShortcutContext.WindowShortcut)
        # Bound to the editor's slot: active while the focus is in the editor, as the
        # editor's own install_actions() would bind them, before the editor exists.
        self.editor_actions = ActionSet(self.editor_slot, EDITOR_ACTIONS,
                                        {spec.name: partial(self._editor_command, spec.name)
                                         for spec in EDITOR_ACTIONS})
        self.editor_help = ActionSet(self.editor_slot, annotation_actions.EDITOR_HELP,
                                     {"editor_help": self.show_shortcuts})
        # The viewer's F1 lists what acts while it has the focus: its keys and the window's.
        self.viewer.extra_action_specs = annotation_actions.WINDOW_ACTIONS + SPECTRUM_ACTIONS
        menu_bar = self.menuBar()
        self.menus = {name: menu_bar.addMenu(f"&{name}") for name in annotation_actions.MENU_ORDER}
        annotation_actions.populate(self.window_actions, self.menus)
        annotation_actions.populate(self.editor_actions, self.menus)
        annotation_actions.populate(self.editor_help, self.menus)
        self.recent_menu = QMenu("Open &recent", self)
        self.recent_menu.setObjectName("recentMenu")
        self.menus["File"].insertMenu(self.window_actions["build_cache"], self.recent_menu)
        self.fill_recent_menu()
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)   # positions move on
        self.session_actions = ActionSet(self, SESSION_ACTIONS, {"reset_view": self.sessions.reset_view},
                                         context=Qt.ShortcutContext.WindowShortcut)
        self.menus["File"].insertAction(self.window_actions["close_all"], self.session_actions["reset_view"])
        self.menus["View"].addSeparator()
        for action in self.plots.toggle_actions():
            self.menus["View"].addAction(action)
        self.menus["View"].addSeparator()
        for action in self.spectrum.toggle_actions():
            self.menus["View"].addAction(action)
        recording_menu = self.menus["Go"].addMenu("In the &recording")
        self.viewer.populate_menus(menu_bar, {"Navigate": recording_menu, "View": self.menus["View"],
                                              "Signals": self.menus["Signals"],
                                              "Measure": self.menus["Measure"],
                                              "Annotate": self.menus["Annotate"],
                                              "Help": self.menus["Help"]})
        self.streams_menu = QMenu("S&treams", self)
        self.menus["Signals"].addSeparator()
        self.menus["Signals"].addMenu(self.streams_menu)
        self.streams_menu.setEnabled(False)
        self.agreement = AgreementFeed(self)   # the Agreement dock's report
        self.raters = RaterCommands(self)   # Trace › Rate as, Reveal, Finish, Adjudicate
        self.update_actions()

    def _build_status(self) -> None:
        self.status_label = QLabel(self)
        self.status_label.setObjectName("statusMessage")
        self.statusBar().addWidget(self.status_label, 1)
        self.source_status = QLabel(self)
        self.source_status.setObjectName("sourceStatus")
        self.source_status.setAccessibleName("Source recording")
        self.statusBar().addPermanentWidget(self.source_status)
        self.keys_label = QLabel(self)
        self.keys_label.setObjectName("keysTarget")
        self.keys_label.setAccessibleName("Where the keys go")
        self.statusBar().addPermanentWidget(self.keys_label)
        self.focus_marker = FocusMarker({VIEWER: self.viewer, EDITOR: self.editor_slot}, self.keys_label, self)
        self.focus_marker.changed.connect(self._keys_moved)
        self.statusBar().setObjectName("statusBar")

    def _wire_workspace(self) -> None:
        """Connect, once, what is open (the workspace) and what the opener tells to the
        widgets that show them."""
        self.opener.status.connect(self.set_status)
        self.opener.error.connect(self.show_error)
        self.opener.dialog_opened.connect(self._dialog_opened)
        self.opener.recent_changed.connect(self.fill_recent_menu)
        self.opener.new_window_requested.connect(self.open_in_new_window)
        self.workspace.recording_changed.connect(lambda _recording: self._show_recording())
        self.workspace.stream_changed.connect(lambda _stream: self._show_recording())
        # After the viewer shows the recording: its marks are drawn on the source shown.
        self.workspace.recording_changed.connect(self.marks.show_recording)
        self.marks.status.connect(self.set_status)
        self.marks.error.connect(self.show_error)
        self.marks.changed.connect(self.update_actions)
        self.workspace.session_changed.connect(self._show_session)
        self.workspace.source_link_changed.connect(self._show_source_link)

    @property
    def editor(self) -> TraceEditorWidget:
        """The trace editor, built in its slot the first time it is asked for."""
        if self._editor is None:
            self._editor = self._build_editor()
        return self._editor

    @property
    def editor_built(self) -> bool:
        """Whether the editor exists yet (asking for ``editor`` builds it)."""
        return self._editor is not None

    def _build_editor(self) -> TraceEditorWidget:
        from tracemark.widgets.editor import TraceEditorWidget  # noqa: PLC0415 (see the module docstring)

        editor = TraceEditorWidget(self.editor_slot)
        editor.set_peak_window_ms(*self.settings.peak_window_ms())
        editor.peak_window_changed.connect(self.settings.set_peak_window_ms)
        editor.actions_set = self.editor_actions   # its commands, already in the menus
        self.editor_slot.layout().addWidget(editor)
        self.editor_slot.setFocusProxy(editor)
        for name, splitter in zip(EDITOR_SPLITTERS, (editor.splitter, editor.top_splitter), strict=True):
            sizes = self.settings.layout(name)
            if sizes is not None:
                splitter.restoreState(sizes)
        self.focus_marker.frames[EDITOR].raise_()   # the focus frame stays over the editor
        return editor

    def _editor_command(self, name: str) -> None:
        self.editor.action_handlers()[name]()

    # -- what is open (see :mod:`.workspace`; opening is :mod:`.opening`) -----------------------
    def open_path(self, path: str | Path, stream: int | None = None) -> bool:
        """Open a recording or a cache (told apart by content); False, with a dialog, on failure."""
        return self.opener.open_paths([path], stream=stream)

    @property
    def recording(self):
        return self.workspace.recording

    @property
    def session(self) -> AnnotationSession | None:
        return self.workspace.session

    def show_trace(self, index: int) -> None:
        if self.controller is not None:
            self.controller.show(index)

    def _show_recording(self) -> None:
        """Show the workspace's recording on its stream (its events only when the stream is
        None), or nothing; the view left behind is saved first, for next time."""
        self.sessions.save_now()
        recording, stream = self.workspace.recording, self.workspace.stream
        if recording is None:
            self.viewer.close_source()
        elif stream is None:
            source = EventsOnlySource(recording)
            self.viewer.set_source(source, span_s=EVENTS_ONLY_SPAN_S)
            first = min((e.time_s for e in source.events()), default=0.0)
            self.viewer.model.window.set_start(first - 0.05 * EVENTS_ONLY_SPAN_S)   # open on the events
        else:
            self.viewer.set_source(RecordingSource(recording, stream))
        self.link.set_recording(None if recording is None else recording.path)
        self._fill_streams_menu()
        self.update_layout()
        if recording is None:
            return
        if self.workspace.session is None:
            self.viewer.plot.setFocus()
        elif self.controller is not None and self.controller.current is not None:
            self.controller.show(self.controller.current)   # placed on the recording now shown

    def _fill_streams_menu(self) -> None:
        self.streams_menu.clear()
        recording = self.workspace.recording
        streams = recording.header.streams if recording is not None else ()
        for index, header in enumerate(streams):
            action = self.streams_menu.addAction(header.describe())
            action.setCheckable(True)
            action.setChecked(index == self.workspace.stream)
            action.triggered.connect(lambda _checked=False, i=index: self.opener.show_stream(i))
        self.streams_menu.setEnabled(len(streams) > 1)

    def _show_session(self, session: AnnotationSession | None) -> None:
        """Put the traces of the workspace's session in the editor and the plots, with a
        review loop of their own (or take the old one down)."""
        self.link.forget_refusals()   # what was learnt about the old traces' source
        if self.controller is not None:
            self.controller.disconnect_all()
            self.controller.deleteLater()
            self.controller = None
            self.plots.clear()
        if session is not None:
            from .review_controller import ReviewController  # noqa: PLC0415 (the cache side loads with a cache)

            self.controller = ReviewController(session, self.editor, self.link, self.show_error, self)
            self.controller.status.connect(self.set_status)
            self.controller.set_plots(self.plots)
            self.controller.examiner = self.settings.examiner
            session.trace_changed.connect(lambda *_args: self._first_decision())
            session.history_changed.connect(self.agreement.refresh)
        self.update_layout()
        self.agreement.refresh()
        if session is not None:
            if len(session):
                self.controller.show(0)
            self.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def _show_source_link(self, link: SourceLink) -> None:
        if link.state is SourceState.NOT_SOURCE and link.recording is not None:
            self.link.refuse(link.recording)   # its name matched, its contents do not
        self.set_source_status(link.describe(), warning=link.warning)

    def _dialog_opened(self, dialog) -> None:
        self.last_dialog = dialog

    def open_in_new_window(self, paths: list[str | Path], stream: int | None = None) -> MainWindow:
        """A new window, beside this one, showing ``paths``; kept alive while it is open."""
        self.sessions.save_now()   # the new window opens the view as it is here
        window = MainWindow(settings=self.settings)
        window.move(self.pos() + QPoint(30, 30))
        # Qt deletes it once closed, at a quiet turn of the event loop. Left to Python's
        # collector, its widgets would be deleted from inside a collection, with the Python
        # objects their last signals call already half torn down.
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.destroyed.connect(lambda _object, held=EXTRA_WINDOWS, w=window: held.remove(w))
        window.show()
        EXTRA_WINDOWS.append(window)
        self.last_new_window = window
        window.opener.open_paths(paths, stream=stream)
        return window

    # -- what the opener and the controller tell ------------------------------------------------
    def set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def set_source_status(self, text: str, warning: bool = False) -> None:
        """Where the traces' source recording stands (found, checked, missing, differs)."""
        self.source_status.setText(text)
        self.source_status.setStyleSheet("color: #b00020; font-weight: bold;" if warning else "color: #333;")

    def show_error(self, title: str, text: str, icon=QMessageBox.Icon.Warning) -> QMessageBox:
        """A window-modal message that does not block the caller (tests answer it)."""
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.last_error_box = box
        return box

    def update_layout(self) -> None:
        """Show the viewer when a recording is open, the editor when a cache is."""
        has_recording = self.viewer.source is not None
        has_cache = self.workspace.session is not None
        self.viewer.setVisible(has_recording)
        self.editor_slot.setVisible(has_cache)
        self.pages.setCurrentWidget(self.splitter if has_recording or has_cache else self.placeholder)
        name_window_parts(self)
        self.update_actions()
        self.update_title()
        self._fit_timer.start()

    def update_actions(self) -> None:
        session = self.workspace.session
        writable = session is not None and session.writable
        for name in ("undo", "redo"):   # they act where the keys go (see undo)
            self.window_actions[name].setEnabled(writable or self._marks_have_keys())
        for name in ("import_marks", "export_marks", "choose_marks_file"):
            self.window_actions[name].setEnabled(self.workspace.recording is not None)
        self.window_actions["export_csv"].setEnabled(session is not None)
        self.window_actions["build_cache"].setEnabled(self.workspace.recording is not None)
        for name in ("export_page", "export_segment", "print_page"):
            self.window_actions[name].setEnabled(self.viewer.source is not None)
        self.session_actions["reset_view"].setEnabled(self.viewer.source is not None)
        for action in self.editor_actions.actions.values():
            action.setEnabled(session is not None)
        self.raters.update()

    def update_title(self) -> None:
        parts = []
        session = self.workspace.session
        if session is not None:
            rater = "" if session.rater is None else f" [rating as {session.rater.name}]"
            parts.append(session.path.name + rater + ("" if session.writable else " [read-only]"))
        if self.workspace.recording is not None and self.viewer.source is not None:
            parts.append(self.viewer.source.name)
        self.setWindowTitle(" — ".join(parts + ["Tracemark"]))

    def fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for number, path in enumerate(files, start=1):
            position = self.sessions.recent_position(path)
            action = self.recent_menu.addAction(f"&{number % 10} {Path(path).name}"
                                                + (f" — {position}" if position else ""))
            action.setToolTip(path)
            action.setData(path)
            action.triggered.connect(lambda _checked=False, p=path: self.opener.open_paths([p]))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self._clear_recent)
        self.recent_menu.setEnabled(bool(files))

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self.fill_recent_menu()

    # -- commands ------------------------------------------------------------------------------
    def undo(self) -> None:
        """Undo in the part the keys go to: a mark in the viewer, an edit in the editor."""
        if self._marks_have_keys():
            self.marks.undo()
        elif self.controller is not None:
            self.controller.undo()

    def redo(self) -> None:
        if self._marks_have_keys():
            self.marks.redo()
        elif self.controller is not None:
            self.controller.redo()

    def _keys_moved(self, _part: str | None) -> None:
        """Undo and Redo follow the keys (see undo)."""
        try:
            self.update_actions()
        except RuntimeError:   # the focus moved while Qt tore the window's parts down
            pass

    def _marks_have_keys(self) -> bool:
        """The viewer has the keys (or the editor is not shown) and marks can be edited."""
        if not self.marks.writable:
            return False
        return self.focus_marker.active == VIEWER or self.workspace.session is None

    def focus_editor(self) -> None:
        if self.editor_slot.isVisible():
            self.editor.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def focus_viewer(self) -> None:
        if self.viewer.isVisible():
            self.viewer.plot.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def about(self) -> None:
        from .about import show_about  # noqa: PLC0415 (package metadata: read when asked)

        show_about(self)

    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(annotation_actions.help_specs(), self)
        dialog.setObjectName("shortcutsDialog")
        self.last_dialog = dialog
        dialog.open()

    def preferences(self) -> None:
        from .preferences import PreferencesDialog

        dialog = PreferencesDialog(self.settings, self)
        self.last_dialog = dialog
        dialog.accepted.connect(self._apply_peak_window_preference)
        dialog.accepted.connect(self._apply_sensitivity_preferences)
        dialog.open()

    def _apply_peak_window_preference(self) -> None:
        if self._editor is not None:   # else the editor reads it when it is built
            self._editor.set_peak_window_ms(*self.settings.peak_window_ms())

    def _apply_sensitivity_preferences(self) -> None:
        """The user's chosen first sensitivities, for this recording and the next ones."""
        self.viewer.preferred_sensitivities = self.settings.sensitivities()
        if self.viewer.source is not None:
            self.viewer.reset_scales()

    def show_hint(self, force: bool = False) -> None:
        from .first_run import FirstRunHint

        if force or not self.settings.hint_dismissed():
            hint = FirstRunHint(self.settings, self)
            self.last_dialog = hint
            self.hint = hint
            hint.show_over(self)

    def _first_decision(self) -> None:
        """The hint has done its job once the person has made a decision by keyboard."""
        hint = self.hint
        if hint is not None:
            self.hint = None
            try:
                if hint.isVisible():
                    hint.dismiss()
            except RuntimeError:   # already closed and deleted
                pass

    # -- layout persistence ----------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.layout("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.layout("state")
        if state is not None:
            self.restoreState(state)
        sizes = self.settings.layout("mainSplitter")   # the editor's: when it is built
        if sizes is not None:
            self.splitter.restoreState(sizes)

    def save_layout(self) -> None:
        self.settings.save_layout("geometry", self.saveGeometry())
        self.settings.save_layout("state", self.saveState())
        self.settings.save_layout("mainSplitter", self.splitter.saveState())
        if self._editor is not None:   # an editor never built leaves its saved sizes as they were
            for name, splitter in zip(EDITOR_SPLITTERS, (self._editor.splitter, self._editor.top_splitter),
                                      strict=True):
                self.settings.save_layout(name, splitter.saveState())
        self.settings.sync()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        # A geometry restored from a larger monitor comes back inside: at once, so that the
        # first layout and the first page are made at the size shown (a page read for the
        # larger window would be read again), and once more when the frame is known.
        self._fit_to_screen()
        self._fit_timer.start()

    def _fit_soon(self, *_changed) -> None:
        """A dock or the rows changed: fit the window to its screen once events settle."""
        self._fit_timer.start()

    def _fit_to_screen(self) -> None:
        fit_to_screen(self)

    def closeEvent(self, event) -> None:
        self.save_layout()
        self.stop_work()
        super().closeEvent(event)

    def stop_work(self) -> None:
        """Stop every thread, file and timer of this window (it closes, or is dropped)."""
        self.opener.shutdown()
        self.marks.close()
        self.sessions.shutdown()
        self.spectrum.shutdown()
        self.viewer.shutdown()
        for timer in self.findChildren(QTimer):   # nothing of a closed window runs later
            timer.stop()


def _editor_slot(parent: QWidget) -> QWidget:
    """The place of the trace editor beside the viewer, empty until the editor is built."""
    slot = QWidget(parent)
    slot.setObjectName("traceEditorSlot")
    layout = QVBoxLayout(slot)
    layout.setContentsMargins(0, 0, 0, 0)
    return slot
