"""Building a trace cache from recordings: one trace per selected event.

A trace is the block of samples ``[event - pre, event + post)`` of the chosen channels,
stored as float32 (samples x channels) in physical units. Where the window runs past the
start or end of the recording the missing rows are NaN, so every selected event gets a
trace and every trace has the same shape. Source recordings are only ever opened read-only.

Besides the recording's own events (triggers, notes, annotations in the file), a build may
cut around events a person marked (``user_events``, e.g. from
:func:`.user_events.events_from_annotations`): they are taken as given, placed at sample
``round(onset_s * rate)`` of the stream cut, merged with the selected file events in time
order, and the ids of their traces are stored in the origin attribute
``user_annotation_traces``.

The cache is written to a private file beside the target, fsync'd and renamed into place
under the target's writer lock, so a crash during a build never leaves a half-built cache
where a cache is expected. A build that fails leaves nothing behind: neither the private
file nor a lock file it had to create (a lock file that was already there stays).
"""

from __future__ import annotations

import hashlib
import math
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import h5py
import numpy as np

from tracemark import __version__
from tracemark.domain import trace_attributes as keys
from tracemark.io_backends import h5_preflight
from tracemark.io_backends.protocol import BaseRecording, Event, StreamHeader

from . import columns, fsops, schema
from .errors import CacheError, CacheValueError
from .journal import journal_path
from .layout import ATTR_APPLIED_SEQ, ATTR_CACHE_ID, ATTR_FORMAT, ATTR_JOURNAL_OFFSET, FORMAT_VERSION, TRACES
from .lock import WriterLock, lock_path
from .user_events import USER_ANNOTATIONS, label_matches

Progress = Callable[[int, int], None]


@dataclass
class BuildSpec:
    """What to cut: events whose label matches ``events`` (exact or shell pattern; ``None``
    = every event; an empty sequence = none of the recording's events, for a build from a
    person's marks alone), from ``pre_s`` before to ``post_s`` after each, on ``channels``."""

    events: str | Sequence[str] | None
    pre_s: float
    post_s: float
    channels: Sequence[str] | None = None
    stream: int | str = 0
    event_source: str | None = None
    readout: str = "generic"
    subject: str = ""
    examiner: str = ""
    extra_origin_attrs: dict[str, str] = field(default_factory=dict)


UserEvents = Sequence[Event] | Sequence[Sequence[Event]]


def build_cache(recordings: Sequence[str | os.PathLike[str] | BaseRecording] | str | os.PathLike[str]
                | BaseRecording, out: str | os.PathLike[str], spec: BuildSpec, *,
                overwrite: bool = False, progress: Progress | None = None,
                user_events: UserEvents | None = None) -> Path:
    """Write a new cache at ``out`` with one origin group per recording; returns its path.

    ``user_events``: events a person marked, cut around besides the recording's own that
    ``spec`` selects; one sequence per recording, in the order of ``recordings`` (a plain
    sequence of events when there is one recording). Their times are onsets in seconds
    from the first sample of the stream cut (the viewer's time axis)."""
    if isinstance(recordings, (str, os.PathLike, BaseRecording)):
        recordings = [recordings]
    out = Path(out).expanduser().absolute()
    _check_spec(spec, out)
    per_recording = _user_events_per_recording(user_events, len(recordings), out)
    if out.is_dir():
        raise CacheError(out, "is a folder; give the name of a cache file to write")
    if out.exists() and not overwrite:
        raise CacheError(out, "already exists; choose another name or allow overwriting")
    if not out.parent.is_dir():
        raise CacheError(out, f"cannot be written: folder {out.parent} does not exist")
    with _Lock(out):
        tmp = out.with_name(f"{out.name}.building-{os.getpid()}")
        try:
            _write_cache(tmp, recordings, spec, progress, per_recording)
            columns.stamp_file(tmp)
            fsops.fsync_path(tmp)
            fsops.unlink(journal_path(out))  # edits of a cache being replaced do not apply
            fsops.replace(tmp, out)
            fsops.fsync_dir(out.parent)
            h5_preflight.remember_sound(out)  # written by our HDF5 library: no walk to open
        finally:
            if tmp.exists():
                tmp.unlink()
    return out


class _Lock:
    """The target's writer lock for the length of a build. When the build fails, a lock file
    this build created is removed again, while still held. Nothing waits for the lock of a
    target that has no cache yet (builds and merges do not wait, editors need the cache),
    so no other process can be left holding the removed file."""

    def __init__(self, out: Path):
        self.out = out

    def __enter__(self) -> _Lock:
        created = not lock_path(self.out).exists()
        self.lock = WriterLock(self.out)
        self.created = created
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        try:
            if exc_type is not None and self.created:
                lock_path(self.out).unlink(missing_ok=True)
        finally:
            self.lock.release()


def _check_spec(spec: BuildSpec, out: Path) -> None:
    if not (spec.pre_s >= 0 and spec.post_s > 0):
        raise CacheValueError(out, f"the window needs pre >= 0 and post > 0 seconds, got "
                                   f"pre={spec.pre_s}, post={spec.post_s}")
    if spec.readout not in schema.READOUTS:
        raise CacheValueError(out, f"unknown readout {spec.readout!r}; known: "
                                   f"{', '.join(sorted(schema.READOUTS))}")


def _user_events_per_recording(user_events: UserEvents | None, n_recordings: int,
                               out: Path) -> list[Sequence[Event]]:
    if not user_events:
        return [()] * n_recordings
    if all(isinstance(item, Event) for item in user_events):
        if n_recordings != 1:
            raise CacheValueError(out, f"events marked on one recording were given for "
                                       f"{n_recordings} recordings; give one list per recording")
        return [list(user_events)]  # type: ignore[arg-type]  # all Events, checked above
    if len(user_events) != n_recordings:
        raise CacheValueError(out, f"{len(user_events)} lists of marked events for "
                                   f"{n_recordings} recordings; give one list per recording")
    return [list(events) for events in user_events]  # type: ignore[arg-type]


def _write_cache(tmp: Path, recordings: Sequence[str | os.PathLike[str] | BaseRecording], spec: BuildSpec,
                 progress: Progress | None, user_events: Sequence[Sequence[Event]]) -> None:
    with h5py.File(tmp, "w") as f:
        f.attrs[ATTR_FORMAT] = FORMAT_VERSION
        f.attrs[ATTR_CACHE_ID] = uuid.uuid4().hex
        f.attrs[ATTR_APPLIED_SEQ] = "0"
        f.attrs[ATTR_JOURNAL_OFFSET] = "0"
        for item, marks in zip(recordings, user_events, strict=True):
            if isinstance(item, BaseRecording):
                _write_origin(f, item, None, spec, progress, marks)
            else:
                from tracemark.io_backends import open_recording

                if "://" in str(item):  # a URL: streamed, and its URL is the recorded source
                    with open_recording(str(item)) as recording:
                        _write_origin(f, recording, None, spec, progress, marks)
                    continue
                path = Path(item).expanduser().absolute()
                with open_recording(path) as recording:
                    _write_origin(f, recording, path, spec, progress, marks)


def select_events(recording: BaseRecording, spec: BuildSpec,
                  user_events: Sequence[Event] = ()) -> list[Event]:
    """The events traces are cut around: the recording's own that ``spec`` selects, then
    ``user_events`` merged in by time (see :func:`build_cache`); a typed error when there
    is none."""
    return [event for event, _ in _events_to_cut(recording, spec, user_events)]


def _events_to_cut(recording: BaseRecording, spec: BuildSpec,
                   user_events: Sequence[Event]) -> list[tuple[Event, bool]]:
    """Each event to cut around, on the recording's time axis, and whether a person marked it."""
    patterns = [spec.events] if isinstance(spec.events, str) else spec.events
    chosen = [(e, False) for e in recording.events()
              if (spec.event_source is None or e.source == spec.event_source)
              and (patterns is None or label_matches(e.label, patterns))]
    if user_events:
        # Marks count from the stream's first sample; file events from the recording's start.
        offset = stream_header(recording, spec).start_offset_s
        marks = [(replace(e, time_s=e.time_s + offset, source=USER_ANNOTATIONS), True)
                 for e in user_events]
        chosen = sorted(chosen + marks, key=lambda pair: pair[0].time_s)  # stable: file first
    if not chosen:
        labels = sorted({e.label for e in recording.events()})
        known = ", ".join(labels[:20]) + (" ..." if len(labels) > 20 else "") or "none"
        if patterns is not None and not patterns:
            raise CacheValueError(recording.path, "nothing to cut around: no event of the "
                                                  "recording was asked for and no marked event given")
        raise CacheValueError(recording.path, f"no event matches {spec.events!r}; its event "
                                              f"labels are: {known}")
    return chosen


def stream_header(recording: BaseRecording, spec: BuildSpec) -> StreamHeader:
    """The stream traces are cut from; a typed error when the recording has no such stream,
    or no signal at all (a file of events only)."""
    streams = recording.header.streams
    if not streams:
        raise CacheValueError(recording.path, "holds events only, no signal stream to cut "
                                              "traces from")
    try:
        return recording.header.stream(spec.stream)
    except (KeyError, IndexError):
        names = ", ".join(f"{i} ({s.name})" for i, s in enumerate(streams))
        raise CacheValueError(recording.path, f"has no stream {spec.stream!r}; its streams "
                                              f"are {names}") from None


def _channel_indexes(recording: BaseRecording, spec: BuildSpec) -> tuple[list[int], list[str]]:
    header = stream_header(recording, spec)
    if not spec.channels:
        return list(range(header.n_channels)), list(header.channel_names)
    indexes = []
    for name in spec.channels:
        try:
            indexes.append(header.channel_index(name))
        except KeyError:
            raise CacheValueError(recording.path, f"no channel {name!r}; channels are "
                                  f"{', '.join(header.channel_names)}") from None
    return indexes, [header.channel_names[i] for i in indexes]


def _origin_name(f: h5py.File, recording: BaseRecording) -> str:
    base = recording.path.name or "recording"
    name, n = base, 2
    while name in f:
        name, n = f"{base}-{n}", n + 1
    return name


def _write_origin(f: h5py.File, recording: BaseRecording, source: Path | None,
                  spec: BuildSpec, progress: Progress | None, user_events: Sequence[Event]) -> None:
    header = stream_header(recording, spec)
    rate = header.sampling_rate
    pre, post = int(round(spec.pre_s * rate)), int(round(spec.post_s * rate))
    chosen = _events_to_cut(recording, spec, user_events)
    events = [event for event, _ in chosen]
    marked = [str(number) for number, (_, is_mark) in enumerate(chosen) if is_mark]
    indexes, labels = _channel_indexes(recording, spec)
    group = f.create_group(_origin_name(f, recording))
    start = recording.header.start_datetime
    origin_attrs = {
        keys.CHANNEL_LABELS: labels, keys.SAMPLES_PRE_EVENT: pre, keys.SAMPLES_POST_EVENT: post,
        keys.SAMPLING_RATE: float(rate), keys.SUBJECT: spec.subject, keys.READOUT: spec.readout,
        keys.GLOBAL_COMMENT: "", keys.FILEDATE: start.isoformat() if start else "",
        keys.HISTORY: "", keys.VERSION: __version__,
        keys.SOURCE_FILE: str(source or recording.path),
        keys.SOURCE_SHA256: sha256_of(source) if source is not None else "",
        keys.CREATED: datetime.now().astimezone().isoformat(timespec="seconds"),
        keys.TRACEMARK_VERSION: __version__,
        **({keys.USER_ANNOTATION_TRACES: marked} if marked else {}), **spec.extra_origin_attrs}
    for key, value in origin_attrs.items():
        group.attrs[key] = schema.encode(value)
    traces = group.create_group(TRACES)
    readout_keys = schema.READOUTS[spec.readout]
    previous: float | None = None
    stored_rows: list[dict[str, str]] = []
    for number, event in enumerate(events):
        sample = int(round((event.time_s - header.start_offset_s) * rate))
        data = _cut(recording, header.n_samples, sample - pre, sample + post, indexes, spec.stream)
        dataset = traces.create_dataset(str(number), data=data)
        # Times rounded to the nanosecond so that 0.3 is stored as 0.3, not 0.30000000000000004.
        attrs = {keys.ID: number, keys.EVENT_NAME: event.label, keys.EVENT_SAMPLE: sample,
                 keys.EVENT_TIME: round(float(event.time_s), 9),
                 keys.ONSET_SHIFT: keys.TRACE_KEYS[keys.ONSET_SHIFT].default,
                 keys.TIME_SINCE_LAST_PULSE: math.inf if previous is None
                 else round(float(event.time_s - previous), 9),
                 keys.REJECT: keys.TRACE_KEYS[keys.REJECT].default,
                 keys.REVIEWED: keys.TRACE_KEYS[keys.REVIEWED].default,
                 keys.COMMENT: keys.TRACE_KEYS[keys.COMMENT].default, keys.EXAMINER: spec.examiner,
                 **{key: None for key in readout_keys}}
        stored = {key: schema.encode(value) for key, value in attrs.items()}
        for key, text in stored.items():
            dataset.attrs[key] = text
        stored_rows.append(stored)
        previous = event.time_s
        if progress is not None:
            progress(number + 1, len(events))
    columns.write_table(group, [str(number) for number in range(len(events))], stored_rows)


def _cut(recording: BaseRecording, n_samples: int, i0: int, i1: int, channels: list[int],
         stream: int | str) -> np.ndarray:
    out = np.full((i1 - i0, len(channels)), np.nan, dtype=np.float32)
    lo, hi = max(i0, 0), min(i1, n_samples)
    if hi > lo:
        out[lo - i0:hi - i0] = recording.read_samples(lo, hi, channels, stream)
    return out


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
