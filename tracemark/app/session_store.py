"""Where each recording's reading session is kept between runs: one small JSON file per
recording in the user's data directory (``<user data dir>/tracemark/sessions``).

A session is what a person set up to read a recording: the page on screen, the montage,
the channels and their order, the display filters, the sensitivities they chose, the docks
they opened. :class:`ViewState` holds one stream's worth; a recording's file holds one
per stream it was read on, and which stream was read last. Files are named by a digest of
the recording's resolved path, so a recording that is edited or grows keeps its session
(the viewer restores what still applies); one that is moved starts afresh.

Writes are atomic (:mod:`tracemark.storage.atomic`), so a
crash leaves the previous session or the new one, never half of either. A file that
cannot be read raises :class:`SessionFileError` naming it and the problem; callers ignore
such a session with a note, since a view is never worth an error dialog.

Qt-free: plain dataclasses and JSON. What a field means to the viewer, and how it is
captured and restored, lives in :mod:`.sessions`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from tracemark.storage import atomic

#: Written into every file; a file of a newer version is ignored, not misread.
SCHEMA_VERSION = 1
FORMAT_NAME = "tracemark-session"


class SessionFileError(ValueError):
    """A session file that cannot be read: which file, and what is wrong with it."""

    def __init__(self, path: str | os.PathLike, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem


@dataclass(frozen=True)
class ViewState:
    """How one stream of a recording was being read. Channels are named by their row
    labels (a montage's derivations, or the channels as recorded), never by index, so
    that a recording whose channels changed is restored as far as its names still match.
    """

    start_s: float = 0.0
    span_s: float = 10.0
    time_mode: str = "seconds"
    #: ``Montage.to_dict()``; None for the channels as recorded.
    montage: dict[str, Any] | None = None
    #: Row labels shown, in their order (empty: the viewer's default choice).
    shown_channels: tuple[str, ...] = ()
    #: Row labels the person hid (a channel named in neither list is new: it is shown).
    hidden_channels: tuple[str, ...] = ()
    rows_per_page: int = 0
    first_row: str = ""
    selected_channel: str = ""
    #: ``DisplayFilter`` fields; None for no filter at all.
    display_filter: dict[str, Any] | None = None
    filters_enabled: bool = True
    clipping: bool = True
    #: Sensitivity per scale group that the person chose (measured ones are measured again).
    sensitivities: dict[str, float] = field(default_factory=dict)
    #: The viewer's own panels (events list, measurements) by action name: shown or not.
    panels: dict[str, bool] = field(default_factory=dict)
    #: The window's docks by object name: open or not.
    docks: dict[str, bool] = field(default_factory=dict)
    #: Channels marked bad (issue 13); restored once the viewer can mark them.
    bad_channels: tuple[str, ...] = ()
    #: The recording as it was when saved, to tell the person when it has changed.
    channel_names: tuple[str, ...] = ()
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        # Field by field: dataclasses.asdict deep-copies every label, ten times slower.
        data = {spec.name: getattr(self, spec.name) for spec in fields(self)}
        for name, value in data.items():
            if isinstance(value, tuple):
                data[name] = list(value)
        return data

    @classmethod
    def from_json(cls, data: object, path: Path) -> ViewState:
        """Inverse of :meth:`to_json`; a missing field takes its default (files written by
        an older version), a field of the wrong type raises :class:`SessionFileError`."""
        if not isinstance(data, dict):
            raise SessionFileError(path, "a stream's session is not a JSON object")
        values: dict[str, Any] = {}
        for spec in fields(cls):
            if spec.name in data:
                values[spec.name] = _checked(spec.name, data[spec.name], path)
        return cls(**values)


def _checked(name: str, value: object, path: Path) -> Any:
    """``value`` of field ``name`` in the type the field holds, or SessionFileError."""
    kind = _FIELD_KINDS[name]
    ok = {
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "labels": lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
        "object": lambda v: v is None or isinstance(v, dict),
        "flags": lambda v: isinstance(v, dict) and all(isinstance(b, bool) for b in v.values()),
        "numbers": lambda v: isinstance(v, dict) and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0
            for x in v.values()),
    }[kind]
    if not ok(value):
        raise SessionFileError(path, f"field {name!r} holds {value!r}, not a valid {kind}")
    if kind == "labels":
        return tuple(value)     # type: ignore[arg-type]
    if kind == "number":
        return float(value)     # type: ignore[arg-type]
    return value


_FIELD_KINDS = {
    "start_s": "number", "span_s": "number", "time_mode": "str", "montage": "object",
    "shown_channels": "labels", "hidden_channels": "labels", "rows_per_page": "int",
    "first_row": "str", "selected_channel": "str", "display_filter": "object",
    "filters_enabled": "bool", "clipping": "bool", "sensitivities": "numbers",
    "panels": "flags", "docks": "flags", "bad_channels": "labels",
    "channel_names": "labels", "duration_s": "number",
}


@dataclass(frozen=True)
class RecordingSession:
    """Everything kept for one recording file: a :class:`ViewState` per stream read."""

    recording: str
    last_stream: str = ""
    saved_at: str = ""
    streams: dict[str, ViewState] = field(default_factory=dict)

    def last_state(self) -> ViewState | None:
        return self.streams.get(self.last_stream)


def default_session_dir() -> Path:
    return Path(user_data_dir("tracemark", appauthor=False)) / "sessions"


class SessionStore:
    """The session files of one user (``folder`` defaults to :func:`default_session_dir`)."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder is not None else default_session_dir()

    def path_for(self, recording: str | os.PathLike) -> Path:
        """The session file of ``recording`` (named by a digest of its resolved path)."""
        key = str(Path(recording).resolve())
        return self.folder / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}.json"

    def load(self, recording: str | os.PathLike) -> RecordingSession | None:
        """The session of ``recording``; None when there is none; SessionFileError when
        its file cannot be read."""
        path = self.path_for(recording)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise SessionFileError(path, f"cannot be read ({error})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise SessionFileError(path, f"is not valid JSON ({error})") from None
        return _session_from_json(data, path)

    def save(self, recording: str | os.PathLike, stream: str, state: ViewState) -> Path:
        """Keep ``state`` as ``recording``'s session on ``stream`` (its other streams'
        sessions are kept; an unreadable old file is replaced)."""
        try:
            previous = self.load(recording)
        except SessionFileError:
            previous = None
        streams = dict(previous.streams) if previous is not None else {}
        streams[stream] = state
        session = RecordingSession(str(Path(recording).resolve()), stream,
                                   datetime.now(timezone.utc).isoformat(timespec="seconds"), streams)
        path = self.path_for(recording)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, json.dumps(_session_to_json(session), indent=1, ensure_ascii=False))
        return path

    def forget(self, recording: str | os.PathLike) -> bool:
        """Delete ``recording``'s session; True when there was one."""
        try:
            self.path_for(recording).unlink()
        except FileNotFoundError:
            return False
        return True


def _session_to_json(session: RecordingSession) -> dict[str, Any]:
    return {"format": FORMAT_NAME, "version": SCHEMA_VERSION, "recording": session.recording,
            "saved_at": session.saved_at, "last_stream": session.last_stream,
            "streams": {key: state.to_json() for key, state in session.streams.items()}}


def _session_from_json(data: object, path: Path) -> RecordingSession:
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise SessionFileError(path, "is not a Tracemark session file")
    version = data.get("version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise SessionFileError(path, f"has version {version!r}; this program reads up to {SCHEMA_VERSION}")
    streams = data.get("streams")
    if not isinstance(streams, dict):
        raise SessionFileError(path, "has no 'streams' object")
    recording, last, saved = data.get("recording", ""), data.get("last_stream", ""), data.get("saved_at", "")
    if not all(isinstance(v, str) for v in (recording, last, saved)):
        raise SessionFileError(path, "'recording', 'last_stream' and 'saved_at' must be text")
    return RecordingSession(recording, last, saved,
                            {str(key): ViewState.from_json(value, path) for key, value in streams.items()})
