"""File › Open URL…: open a recording from a server without ever blocking the window.

The recording is opened on a worker (:class:`~tracemark.app.workers.Task`): resolving the
address, the first request and the header's blocks may take seconds on a slow link. Until
the first bytes have arrived and the header is parsed, a progress dialog with Cancel shows
which address is being reached. Cancel closes the dialog at once and the recording, should
it still arrive, is closed unseen; the worker itself ends within the reader's timeouts. A
failure becomes the usual error dialog naming the URL.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QInputDialog, QLineEdit, QProgressDialog

from tracemark.io_backends import RecordingError, open_recording
from tracemark.io_backends.remote import REMOTE_SCHEMES, is_remote

from .workers import Task

URL_HINT = "https://…/recording.nwb, s3://bucket/key, dandi://dandi/000027@draft/path"
#: Openings whose worker has not answered yet: kept alive here (Qt holds its slots weakly),
#: so that a recording arriving after Cancel is still closed.
_RUNNING: set[UrlOpening] = set()


def ask_for_url(window) -> str | None:
    """The URL typed into a small dialog, or None when cancelled or empty."""
    text, ok = QInputDialog.getText(window, "Open URL", f"Recording address\n({URL_HINT}):",
                                    QLineEdit.EchoMode.Normal, "")
    text = text.strip()
    return text if ok and text else None


class UrlOpening:
    """One recording being opened from a server for ``opener`` (an :class:`~.opening.Opener`)."""

    def __init__(self, opener, url: str, stream: int | None = None, origin=None):
        self.opener = opener
        self.url = url
        self.stream = stream
        self.origin = origin
        self.cancelled = False
        self.dialog = QProgressDialog(f"Connecting to {url}…", "Cancel", 0, 0, opener.dialog_parent)
        self.dialog.setObjectName("openUrlProgress")
        self.dialog.setWindowTitle("Opening from a server")
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(0)
        self.dialog.canceled.connect(self.cancel)
        self.task = Task(lambda _progress, _cancelled: open_recording(url), name="openUrl")
        self.task.finished.connect(self._opened)
        self.task.failed.connect(self._failed)

    def start(self) -> UrlOpening:
        if not is_remote(self.url):
            self._failed(RecordingError(self.url, "is not an address Tracemark can stream from; "
                                                  f"it must start with {', '.join(REMOTE_SCHEMES)}"))
            return self
        self.opener.status.emit(f"Opening {self.url}…")
        self.dialog.show()
        _RUNNING.add(self)
        self.task.start()
        return self

    def _dismiss(self) -> None:
        # hide(), not close(): closing a progress dialog emits ``canceled``.
        self.dialog.hide()

    def cancel(self) -> None:
        self.cancelled = True
        self.task.cancel()
        self.dialog.close()
        self.opener.status.emit("Opening cancelled.")

    def _opened(self, recording) -> None:
        _RUNNING.discard(self)
        if self.cancelled:
            recording.close()
            return
        self._dismiss()
        self.opener.status.emit("")
        self.opener.show_opened(recording, recording.path, self.stream, self.origin)

    def _failed(self, error: BaseException) -> None:
        _RUNNING.discard(self)
        if self.cancelled:
            return
        self._dismiss()
        self.opener.status.emit("")
        if isinstance(error, RecordingError):
            text = f"{error.path}\n\n{error.problem}"
        else:
            text = f"{self.url}\n\n{type(error).__name__}: {error}"
        self.opener.error.emit("Cannot open the recording", text)
