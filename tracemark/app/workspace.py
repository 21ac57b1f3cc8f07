"""What one main window has open: a recording (and which of its streams is shown), a trace
cache's annotation session, and where the traces' source recording stands beside them.

A small model with one change signal per field. It opens, closes and draws nothing: the
opener (:mod:`.opening`) does the opening and closing and records the result here; the
window (:mod:`.main_window`) connects to the signals once and updates the viewer, the
editor, the viewer link, the menus and the title from them.

Whether traces belong beside a recording is :meth:`OriginInfo.cut_from`'s rule; this model
only asks it (:meth:`Workspace.traces_not_from`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import QObject, pyqtSignal

if TYPE_CHECKING:   # the cache side loads when a cache is opened
    from .annotation_session import AnnotationSession


class SourceState(Enum):
    """How the open recording stands as the source of the open traces."""

    UNKNOWN = "unknown"          # no cache, or nothing checked (no checksum to compare)
    CHECKING = "checking"        # its checksum is being compared with the cache's
    MATCHES = "matches"          # the checksums agree
    DIFFERS = "differs"          # the file the cache names has other contents now
    NOT_SOURCE = "not source"    # only its name matched, and its contents differ
    NOT_FOUND = "not found"      # the source the cache names is not where it says


#: The states the person is warned about (the status shows them in red).
WARNING_STATES = frozenset({SourceState.DIFFERS, SourceState.NOT_SOURCE, SourceState.NOT_FOUND})


@dataclass(frozen=True)
class SourceLink:
    """Where the traces' source recording stands: ``recording`` is the recording open
    beside the traces (None when none is), ``source`` what the cache names as the
    recording its traces were cut from (told when it cannot be found)."""

    state: SourceState = SourceState.UNKNOWN
    recording: Path | None = None
    source: str = ""

    @property
    def warning(self) -> bool:
        return self.state in WARNING_STATES

    def describe(self) -> str:
        """One line for the status bar ("" when there is nothing to say)."""
        name = self.recording.name if self.recording is not None else ""
        if self.state is SourceState.CHECKING:
            return f"Source: {name} (checking…)"
        if self.state is SourceState.MATCHES:
            return f"Source: {name} (checksum matches)"
        if self.state is SourceState.DIFFERS:
            return f"Source: {name} differs from the cache's"
        if self.state is SourceState.NOT_SOURCE:
            return f"{name} is not the traces' source"
        if self.state is SourceState.NOT_FOUND:
            # A recording already open beside them is not their source: say so where it stays.
            beside = f"; {name} is not their source" if name else ""
            return f"Source recording not found: {self.source or 'no source recording named'}{beside}"
        return ""


class Workspace(QObject):
    """The open recording, the stream shown, the open annotation session and their link."""

    #: A recording was opened (the new one) or closed (None); ``stream`` tells what it shows.
    recording_changed = pyqtSignal(object)
    #: The open recording is to show a stream afresh (an index, or None for its events only).
    stream_changed = pyqtSignal(object)
    #: A trace cache's session was opened (the new one) or closed (None).
    session_changed = pyqtSignal(object)
    #: Where the traces' source recording stands changed (a :class:`SourceLink`).
    source_link_changed = pyqtSignal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._recording: Any = None
        self._stream: int | None = None
        self._session: AnnotationSession | None = None
        self._source_link = SourceLink()

    @property
    def recording(self) -> Any:
        """The open recording (a reader from :mod:`tracemark.io_backends`), or None."""
        return self._recording

    @property
    def stream(self) -> int | None:
        """The stream of the recording shown; None when it holds events only (or is closed)."""
        return self._stream

    @property
    def session(self) -> AnnotationSession | None:
        return self._session

    @property
    def source_link(self) -> SourceLink:
        return self._source_link

    def set_recording(self, recording: Any, stream: int | None = None) -> None:
        """``recording`` is now open, showing ``stream`` (None: its events only), or nothing
        is (None). The caller closes the recording it replaces, after this returns, so that
        nothing still shows it when it closes."""
        if recording is self._recording and stream == self._stream:
            return
        self._recording = recording
        self._stream = stream if recording is not None else None
        self.recording_changed.emit(recording)

    def set_stream(self, stream: int | None) -> None:
        """Show ``stream`` of the open recording. Emits even when it is the stream shown:
        showing it again starts its view afresh (File › Reset view relies on it)."""
        if self._recording is None:
            return
        self._stream = stream
        self.stream_changed.emit(stream)

    def set_session(self, session: AnnotationSession | None) -> None:
        """``session`` is now the open cache, or none is (None). The caller closes the one
        it replaces, after this returns. What was known of the old traces' source is
        forgotten."""
        if session is self._session:
            return
        self._session = session
        self.session_changed.emit(session)
        self.set_source_link(SourceLink())

    def set_source_link(self, link: SourceLink) -> None:
        if link == self._source_link:
            return
        self._source_link = link
        self.source_link_changed.emit(link)

    def traces_not_from(self, path: Path) -> bool:
        """Traces are open and none of them was cut from ``path`` (an existing file)."""
        session = self._session
        if session is None or not len(session) or not session.origins or not Path(path).is_file():
            return False
        return not session.cut_from(Path(path))
