"""Opening and closing what a main window shows: recordings, trace caches, the demo; the
build-cache dialog and the CSV export, which start from what is open.

:class:`Opener` is a service: it opens and closes, records what is open in the window's
:class:`~.workspace.Workspace` (which the window watches), and tells the person through its
signals (a status line, an error to show in a dialog, a dialog it opened). It touches no
widget of the window; the window is only the parent of its dialogs.

Recordings open on the GUI thread (a reader parses only the header). A cache opens on a
worker (its trace index and, after a crash, the recovery checkpoint grow with the file),
then its rows load on a worker; its source recording, when found at the path the cache
names, opens beside it, and its checksum is compared on a worker so a changed recording is
reported without holding anything up. Every failure becomes a dialog naming the file and
the problem.

Traces are never shown against a recording they were not cut from
(:meth:`OriginInfo.cut_from`): opening such a recording while they are open asks first
(:mod:`.recording_mismatch`): a new window for the recording, or close the traces and open
it here, or cancel. A recording matched only by its file name (the cache was moved with
it) is checked against the cache's checksum, and refused by the viewer link if it differs.

The cache side (h5py, the cache package, the annotation session and the review loop) is
imported when a cache is first opened, not at start-up: a person who only views a
recording does not wait for it before the first page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import QEventLoop, QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import QFileDialog, QProgressDialog, QWidget

from tracemark.io_backends import open_recording
from tracemark.io_backends.errors import RecordingError, TracemarkError
from tracemark.io_backends.registry import HDF5_SIGNATURE
from tracemark.io_backends.remote import is_remote
from tracemark.storage import atomic

from .open_url import UrlOpening, ask_for_url
from .recording_mismatch import CLOSE_TRACES, NEW_WINDOW, ask_recording_mismatch
from .settings import Settings
from .workers import Task, TaskCancelled
from .workspace import SourceLink, SourceState, Workspace

if TYPE_CHECKING:   # the cache and its session load when a cache is opened
    from tracemark.io_backends.cache import CacheFile

    from .annotation_session import AnnotationSession

RECORDING_FILTER = ("Recordings (*.trc *.TRC *.nwb *.edf *.EDF *.bdf *.BDF *.rec *.vhdr);;"
                    "Micromed TRC (*.trc *.TRC);;NWB (*.nwb);;EDF/BDF (*.edf *.bdf *.EDF *.BDF);;"
                    "All files (*)")
CACHE_FILTER = "Trace caches (*.hdf5 *.h5 *.hdf);;All files (*)"
CACHE_SUFFIXES = (".hdf5", ".h5", ".hdf")
#: A final checkpoint or an export that takes longer than this shows a progress dialog.
CHECKPOINT_PROGRESS_AFTER_MS = 250
EXPORT_PROGRESS_AFTER_MS = 250


def stream_to_show(header, stream: int | None = None, origin=None) -> int:
    """The stream a recording opens on: ``stream`` when given; else the one whose rate and
    channels match the traces of ``origin`` (so trace times fall on the right samples);
    else the recording's main stream (its EEG, not a 1 Hz oximeter trend)."""
    if stream is not None:
        return stream
    if origin is not None:
        for index, candidate in enumerate(header.streams):
            same_rate = abs(candidate.sampling_rate - origin.sampling_rate) <= 1e-6 * origin.sampling_rate
            if same_rate and set(origin.channel_labels) <= set(candidate.channel_names):
                return index
    return header.main_stream_index()


def looks_like_cache(path: Path) -> bool:
    """A trace cache (Tracemark's or offspect's): HDF5 whose root has Tracemark's format
    attribute or whose groups hold ``traces``. NWB files are HDF5 too, hence the look inside."""
    if not path.is_file():   # a folder, or a named pipe whose open() would block for ever
        return False
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            if head != HDF5_SIGNATURE:
                # A damaged cache is better told "not a readable HDF5 file" by the cache
                # than "no reader recognises the suffix" by the recording readers; an
                # empty file is told "empty" by the readers.
                return bool(head) and path.suffix.lower() in CACHE_SUFFIXES
        import h5py  # noqa: PLC0415 (a cache's libraries load when one is opened)

        from tracemark.io_backends import h5_preflight

        if h5_preflight.metadata_problem(path):  # HDF5 would loop or crash reading it
            return path.suffix.lower() in CACHE_SUFFIXES  # the opener tells the problem
        with h5py.File(path, "r") as f:
            if "tracemark_format" in f.attrs:
                return True
            return any(isinstance(f[name], h5py.Group) and "traces" in f[name] for name in f)
    except (OSError, KeyError, ValueError):
        return path.suffix.lower() in CACHE_SUFFIXES


class Opener(QObject):
    """The commands that change what one main window has open, as a service: each opens
    or closes, records the result in the :class:`~.workspace.Workspace`, and tells the
    person through its signals. It knows the window only as the parent of its dialogs."""

    #: A short line for the status bar.
    status = pyqtSignal(str)
    #: (title, text) of a problem the person must be told in a dialog.
    error = pyqtSignal(str, str)
    #: A dialog it opened without blocking (the window keeps the latest: tests answer it).
    dialog_opened = pyqtSignal(QObject)
    #: The list of recent files changed.
    recent_changed = pyqtSignal()
    #: (paths, stream) the person chose to open in a new window.
    new_window_requested = pyqtSignal(list, object)

    def __init__(self, workspace: Workspace, settings: Settings, dialog_parent: QWidget):
        super().__init__(dialog_parent)
        self.workspace = workspace
        self.settings = settings
        self.dialog_parent = dialog_parent
        self.opening_cache: Task | None = None
        self.source_check: Task | None = None
        self.tasks: list[Task] = []
        self.url_opening: UrlOpening | None = None   # the latest File › Open URL, if any
        #: The rater every cache opened here is rated as (``--rater``, Trace › Rate as);
        #: None: only caches already rated by raters open in rater mode, as the rater named
        #: in the settings (see :mod:`.rater_session`).
        self.rater: str | None = None
        #: The person's marks on the open recording (an AnnotationState, or None): the build
        #: dialog offers their labels as events to cut around. The window sets it.
        self.marks_state: Callable[[], Any] = _no_marks

    @property
    def recording(self):
        return self.workspace.recording

    @property
    def session(self) -> AnnotationSession | None:
        return self.workspace.session

    def _open_dialog(self, dialog):
        self.dialog_opened.emit(dialog)
        return dialog

    def _add_recent(self, path: Path) -> None:
        self.settings.add_recent(path)
        self.recent_changed.emit()

    # -- entry points ------------------------------------------------------------------------
    def open_paths(self, paths: Sequence[str | Path], stream: int | None = None) -> bool:
        """Open recordings and caches given in any order (a cache is recognised by content).
        A recording opens on ``stream``, or on its main stream when None. True when
        everything given opened or started opening."""
        ok = True
        urls = [str(p) for p in paths if is_remote(p)]
        for url in urls:   # streamed on a worker; the window stays free meanwhile
            ok = self.open_url(url, stream) and ok
        paths = [Path(p).expanduser() for p in paths if not is_remote(p)]
        caches = [p for p in paths if p.exists() and looks_like_cache(p)]
        # Recordings given with a cache go with that cache, not with the traces open now.
        ask = not caches
        for path in paths:
            if not path.exists():
                self.settings.remove_recent(path)
                self.recent_changed.emit()
                ok = self.open_recording(path, stream) and ok   # the reader says what is wrong
            elif path not in caches:
                ok = self.open_recording(path, stream, ask=ask) and ok
        for path in caches[-1:]:
            ok = self.open_cache(path) and ok
        return ok

    def open_recording_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Open recording", "", RECORDING_FILTER)
        if path:
            self.open_paths([path])

    def open_folder_dialog(self) -> None:
        """A recording stored as a folder: an NWB-Zarr store, or a folder format neo reads."""
        path = QFileDialog.getExistingDirectory(self.dialog_parent, "Open recording folder")
        if path:
            self.open_paths([path])

    def open_url_dialog(self) -> None:
        url = ask_for_url(self.dialog_parent)
        if url:
            self.open_url(url)

    def open_url(self, url: str, stream: int | None = None, origin=None) -> bool:
        """Start opening the recording at ``url`` on a worker (see :mod:`.open_url`)."""
        self.url_opening = UrlOpening(self, url, stream, origin).start()
        return True

    def open_cache_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Open trace cache", "", CACHE_FILTER)
        if path:
            self.open_cache(Path(path))

    # -- recordings --------------------------------------------------------------------------
    def open_recording(self, path: Path, stream: int | None = None, *, ask: bool = True,
                       origin=None) -> bool:
        """Open ``path`` read-only and show it; on failure say why and keep what was open.
        While traces not cut from ``path`` are open, ``ask`` first what to do (False until
        the person has answered; the answer opens it, or not). It opens on ``stream``; when
        None, on the stream the traces of ``origin`` were cut from, else its main stream."""
        path = Path(path)
        if ask and self.workspace.traces_not_from(path):
            self._open_dialog(ask_recording_mismatch(
                self.dialog_parent, self.session, path,
                lambda answer: self._mismatch_answered(answer, path, stream)))
            return False
        try:
            recording = open_recording(path)
        except RecordingError as error:
            self.error.emit(f"Cannot open {path.name}", f"{error.path}\n\n{error.problem}")
            return False
        except OSError as error:
            self.error.emit(f"Cannot open {path.name}", f"{path}\n\n{error.strerror or error}")
            return False
        return self.show_opened(recording, path, stream, origin)

    def show_opened(self, recording, path: Path, stream: int | None = None, origin=None) -> bool:
        """Show a recording just opened (here, or from a server by :mod:`.open_url`)."""
        if not recording.header.streams and not self._has_events(recording, path):
            return False
        self.close_recording()
        if recording.header.streams:
            self.workspace.set_recording(recording, stream_to_show(recording.header, stream, origin))
        else:
            self.workspace.set_recording(recording, None)
            self.status.emit(f"{recording.path.name} holds events only "
                             f"({len(recording.events())}), no continuous signal")
        self._add_recent(path)
        self._check_moved_source(path)
        return True

    def _has_events(self, recording, path: Path) -> bool:
        """A file without signals opens when it holds events (a hypnogram, trials); one
        holding neither is closed with a message saying so."""
        try:
            if recording.events():
                return True
        except RecordingError as error:
            recording.close()
            self.error.emit(f"Cannot open {path.name}", f"{error.path}\n\n{error.problem}")
            return False
        recording.close()
        self.error.emit(f"Nothing to show in {path.name}",
                        f"{path}\n\nThe file holds no continuous signals and no events.")
        return False

    def _mismatch_answered(self, answer: str, path: Path, stream: int | None) -> None:
        if answer == NEW_WINDOW:
            self.new_window_requested.emit([path], stream)
        elif answer == CLOSE_TRACES:
            self.close_cache()
            self.open_recording(path, stream, ask=False)

    def _check_moved_source(self, path: Path) -> None:
        """A recording linked to the traces by its file name only (the cache was moved with
        it) is compared with the cache's checksum: another recording of the same name must
        not carry the traces."""
        if self.session is None:
            return
        origin = next((o for o in self.session.origins.values()
                       if o.source_sha256 and o.cut_from(path) and not o.names_file(path)), None)
        if origin is not None:
            self.workspace.set_source_link(SourceLink(SourceState.CHECKING, Path(path)))
            self._check_source(path, origin.source_sha256, by_name=True)

    def show_stream(self, stream: int) -> None:
        """Show another stream of the open recording (or the same one, afresh)."""
        self.workspace.set_stream(stream)

    def close_recording(self) -> None:
        recording = self.workspace.recording
        self.workspace.set_recording(None)   # nothing shows it any more when it closes
        if recording is not None:
            recording.close()

    # -- caches --------------------------------------------------------------------------------
    def open_cache(self, path: Path) -> bool:
        """Open the cache on a worker (``mode="auto"``; in rater mode read-only, with the
        rater's journal), then show it; a dialog on failure."""
        path = Path(path).absolute()
        self.status.emit(f"Opening {path.name}…")
        from .rater_session import open_for_review  # noqa: PLC0415 (see the module docstring)

        rater = self.rater_for(path)
        task = Task(lambda _p, _c: open_for_review(path, rater), name="openCache")
        task.finished.connect(lambda opened: self._cache_opened(path, *opened))
        task.failed.connect(lambda error: self._open_failed(path, error))
        self.opening_cache = task
        task.start()
        return True

    def _open_failed(self, path: Path, error: BaseException) -> None:
        self.status.emit("")
        if isinstance(error, TracemarkError) and hasattr(error, "problem"):   # RecordingError, CacheError
            text = f"{error.path}\n\n{error.problem}"
        elif isinstance(error, OSError):
            text = f"{path}\n\n{error.strerror or error}"
        else:
            text = f"{path}\n\n{type(error).__name__}: {error}"
        self.error.emit(f"Cannot open {path.name}", text)

    def rater_for(self, path: Path) -> str | None:
        """Who rates the cache at ``path``: the rater chosen here, else (a cache rated by
        raters) the rater named in the settings; None: no rater mode."""
        from .rater_session import has_raters  # noqa: PLC0415 (see the module docstring)

        if self.rater:
            return self.rater
        return self.settings.rater() if has_raters(path) else None

    def _cache_opened(self, path: Path, cache: CacheFile, rater=None) -> None:
        self.close_cache()
        from .annotation_session import AnnotationSession  # noqa: PLC0415 (see the docstring)

        session = AnnotationSession(cache, self, rater=rater)
        session.load_progress.connect(
            lambda done, total: self.status.emit(f"Loading traces… {done} of {total}"))
        session.load_failed.connect(lambda text: self.error.emit(
            f"Cannot read {path.name}", f"{path}\n\n{text}"))
        session.checkpoint_failed.connect(self.status.emit)
        if session.read_only_reason:
            self.status.emit(f"Read-only: {session.read_only_reason}")
        elif rater is not None:
            self.status.emit(rater.describe())
        self._tell_problems(path, cache, session)
        self.workspace.set_session(session)
        self._open_source_of_cache()
        self._add_recent(path)
        session.start_loading()

    def _tell_problems(self, path: Path, cache: CacheFile, session: AnnotationSession) -> None:
        """A cache that opened despite damage says what was skipped, and whether it can
        be edited, in a dialog: annotators must not find out later that edits are missing."""
        problems = list(cache.problems)
        if cache.last_checkpoint_error is not None:
            problems.append(cache.last_checkpoint_error.problem)
        if not problems:
            return
        lines = [f"• {p if len(p) <= 300 else p[:300] + '…'}" for p in problems[:6]]
        if len(problems) > 6:
            lines.append(f"… and {len(problems) - 6} more (tracemark cache peek lists them all)")
        access = (f"It is open read-only: {session.read_only_reason}." if not session.writable
                  else "It is open for editing.")
        self.error.emit(f"{path.name} opened with problems",
                        f"{path}\n\nThe rest of the cache is shown; these parts of it were "
                        f"skipped or are shown as stored:\n" + "\n".join(lines)
                        + f"\n\n{access}")

    def _open_source_of_cache(self) -> None:
        """Open the first origin's source recording beside the traces, when found."""
        origins = list(self.session.origins.values())
        if not origins:
            return
        recording = self.recording
        if recording is not None and any(o.cut_from(Path(recording.path).absolute()) for o in origins):
            self._check_moved_source(Path(recording.path))
            return
        remote = next((o for o in origins if is_remote(o.source_file)), None)
        if remote is not None:   # built from a URL: stream it again
            self.open_url(remote.source_file, origin=remote)
            return
        origin = next((o for o in origins if o.source_file and Path(o.source_file).is_file()), None)
        if origin is None:
            beside = None if recording is None else Path(recording.path)
            self.workspace.set_source_link(SourceLink(SourceState.NOT_FOUND, beside,
                                                      origins[0].source_file))
            self.status.emit("Showing the traces alone.")
            return
        if self.open_recording(Path(origin.source_file), ask=False, origin=origin) and origin.source_sha256:
            self.workspace.set_source_link(SourceLink(SourceState.CHECKING, Path(origin.source_file)))
            self._check_source(Path(origin.source_file), origin.source_sha256)

    def _check_source(self, path: Path, expected: str, by_name: bool = False) -> None:
        def digest(progress, cancelled) -> str:
            hasher, total = hashlib.sha256(), path.stat().st_size
            with open(path, "rb") as handle:
                while block := handle.read(1 << 22):
                    if cancelled():
                        raise TaskCancelled
                    hasher.update(block)
                    progress(handle.tell() // 4096, max(total // 4096, 1))
            return hasher.hexdigest()

        task = Task(digest, name="sourceChecksum")
        task.finished.connect(lambda actual: self._source_checked(path, expected, actual, by_name))
        self.source_check = task.start()

    def _source_checked(self, path: Path, expected: str, actual: str, by_name: bool = False) -> None:
        if self.recording is None or Path(self.recording.path).absolute() != path.absolute():
            return
        if actual == expected:
            self.workspace.set_source_link(SourceLink(SourceState.MATCHES, path))
        elif by_name:
            # Only the name matched, and the contents differ: another recording.
            self.workspace.set_source_link(SourceLink(SourceState.NOT_SOURCE, path))
            self.error.emit(
                "Not the traces' source recording", f"{path}\n\nThis recording has the name of "
                f"the one the trace cache was built from, but not its contents (its checksum "
                f"differs). The traces' windows are not marked on it.")
        else:
            self.workspace.set_source_link(SourceLink(SourceState.DIFFERS, path))
            self.error.emit(
                "Source recording differs", f"{path}\n\nThis recording is not the one the trace "
                f"cache was built from (its checksum differs). The traces shown come from the cache; "
                f"the recording beside them may not line up.")

    def close_cache(self) -> None:
        if self.source_check is not None:
            self.source_check.cancel()
        session = self.workspace.session
        if session is None:
            return
        self.workspace.set_session(None)   # nothing shows it any more when it closes
        try:
            self._close_session(session)
        except TracemarkError as error:
            self.error.emit("Edits kept in the journal", str(error))

    def _close_session(self, session: AnnotationSession) -> None:
        """Close ``session``; when edits must be folded into the file first, do it on a
        worker and show a progress dialog (without Cancel) if it takes a moment, so the
        window repaints instead of freezing. Returns once the cache is closed, as before."""
        if not session.needs_final_checkpoint:
            session.close()
            return
        dialog = QProgressDialog(f"Saving the edits into {session.path.name}…", "", 0, 0,
                                 self.dialog_parent)
        dialog.setObjectName("checkpointProgress")
        dialog.setWindowTitle("Saving edits")
        dialog.setCancelButton(None)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.hide()
        self._open_dialog(dialog)
        loop = QEventLoop(self)
        task = session.close_in_background()
        task.finished.connect(loop.quit)
        task.failed.connect(loop.quit)
        show_if_slow(dialog, task, CHECKPOINT_PROGRESS_AFTER_MS)
        if not task.done:
            loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        dialog.close()
        dialog.deleteLater()
        if task.error is not None:
            raise task.error

    def close_all(self) -> None:
        self.close_cache()
        self.close_recording()

    def shutdown(self) -> None:
        """For the window's close: nothing started here may call back into a closed window."""
        for task in [self.opening_cache, self.source_check, *self.tasks]:
            if task is None:
                continue
            task.cancel()
            for signal in (task.finished, task.failed, task.progress):
                try:
                    signal.disconnect()
                except TypeError:
                    pass
        self.tasks.clear()
        self.close_all()

    # -- demo, build, export -------------------------------------------------------------------
    def open_demo(self) -> None:
        from .demo_session import ensure_demo_session

        self.status.emit("Preparing the demo…")
        task = Task(lambda _p, _c: ensure_demo_session(), name="demo")
        task.finished.connect(lambda demo: self.open_paths([demo.recording, demo.cache]))
        task.failed.connect(lambda error: self.error.emit("Cannot prepare the demo", str(error)))
        self.tasks.append(task.start())

    def build_cache_dialog(self) -> None:
        if self.recording is None:
            return
        from .build_cache_dialog import BuildCacheDialog

        dialog = self._open_dialog(BuildCacheDialog(self.recording, self.dialog_parent,
                                                             annotations=self.marks_state()))
        dialog.built.connect(lambda path: self.open_cache(Path(path)))
        dialog.open()

    def export_csv(self) -> None:
        if self.session is None:
            return
        default = str(self.session.path.with_suffix(".csv"))
        path, _ = QFileDialog.getSaveFileName(self.dialog_parent, "Export table as CSV", default,
                                              "CSV (*.csv);;All files (*)")
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> Task:
        """Write the table to ``path`` on a worker, with a progress dialog and Cancel when
        it takes a moment. The file is written under a private name and renamed into place
        once complete, so a cancelled or failed export leaves no partial file (and an
        existing file at ``path`` is kept until the new one is whole)."""
        cache = self.session.cache
        path = Path(path)
        self.status.emit(f"Exporting {path.name}…")
        task = Task(lambda progress, cancelled: _export(cache, path, progress, cancelled),
                    name="exportCsv")
        dialog = QProgressDialog(f"Exporting {path.name}…", "Cancel", 0, max(len(cache), 1),
                                 self.dialog_parent)
        dialog.setObjectName("exportProgress")
        dialog.setWindowTitle("Export table")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.hide()
        self._open_dialog(dialog)
        dialog.canceled.connect(task.cancel)
        task.progress.connect(lambda done, _total: dialog.setValue(done))

        def done(text: str) -> None:
            dialog.close()
            dialog.deleteLater()
            self.status.emit(text)

        task.finished.connect(lambda rows: done(f"Exported {rows} traces to {path}"))
        task.cancelled_signal.connect(lambda: done(f"Export cancelled; {path.name} was not written."))
        task.failed.connect(lambda error: (done(""), self.error.emit(
            f"Cannot export {path.name}", f"{path}\n\n{getattr(error, 'strerror', None) or error}")))
        show_if_slow(dialog, task, EXPORT_PROGRESS_AFTER_MS)
        self.tasks.append(task.start())
        return task


class _ReportingCache:
    """The cache as ``export_table`` reads it, reporting each row written and stopping when
    the export is cancelled."""

    def __init__(self, cache: CacheFile, progress, cancelled):
        self._cache, self._progress, self._cancelled = cache, progress, cancelled

    def __len__(self) -> int:
        return len(self._cache)

    def trace_origin(self, index: int):
        # Called once per row as it is written (the attributes are read by whole columns).
        if self._cancelled():
            raise TaskCancelled
        n = len(self._cache)
        if index % max(n // 100, 1) == 0:
            self._progress(index, n)
        return self._cache.trace_origin(index)

    def __getattr__(self, name: str):
        return getattr(self._cache, name)


def _export(cache: CacheFile, path: Path, progress, cancelled) -> int:
    from tracemark.io_backends.cache import export_table  # noqa: PLC0415

    with atomic.Replacement(path) as replacement:  # a cancelled export leaves no file
        rows = export_table(_ReportingCache(cache, progress, cancelled), replacement.temporary)
        if cancelled():
            raise TaskCancelled
    progress(rows, rows)
    return rows


def show_if_slow(dialog, task, after_ms: int) -> None:
    """Show ``dialog`` once ``task`` has run ``after_ms`` without ending. The timer is the
    dialog's child and only Qt's own slots are connected, so no Python callable is left
    for a timer to call after the dialog or its window has gone."""
    timer = QTimer(dialog)
    timer.setSingleShot(True)
    timer.setInterval(after_ms)
    timer.timeout.connect(dialog.show)
    for ended in (task.finished, task.failed, task.cancelled_signal):
        ended.connect(timer.stop)
    if not task.done:
        timer.start()


def _no_marks() -> None:
    return None
