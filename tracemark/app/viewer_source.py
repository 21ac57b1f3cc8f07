"""Adapts one stream of a reader (``BaseRecording``) to the viewer's ``SignalSource``.

The viewer's time axis starts at the stream's first sample; events on the recording's
time axis are shifted by the stream's start offset so they land on the same samples. A
recording of events only is shown through :class:`EventsOnlySource`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np

from tracemark.io_backends.protocol import BaseRecording
from tracemark.paging.source import SourceEvent
from tracemark.storage.summaries import recording_identity


class RecordingSource:
    """A read-only view of stream ``stream`` of ``recording``; reads are thread-safe."""

    def __init__(self, recording: BaseRecording, stream: int | str = 0):
        self.recording = recording
        self.stream_index = recording.header.stream_index(stream)
        self.header = recording.header.streams[self.stream_index]
        start = recording.header.start_datetime
        self._start = None if start is None else start + timedelta(seconds=self.header.start_offset_s)
        try:
            self._identity = recording_identity(recording.path, self.header.stream_id)
        except OSError:
            self._identity = f"{recording.path}|stream={self.header.stream_id}"
        offset = self.header.start_offset_s
        self._events = tuple(SourceEvent(e.time_s - offset, e.duration_s, e.label, e.source)
                             for e in recording.events())

    @property
    def name(self) -> str:
        base = self.recording.path.name
        if len(self.recording.header.streams) > 1:
            return f"{base} [{self.header.name}]"
        return base

    identity = property(lambda self: self._identity)
    channel_names = property(lambda self: self.header.channel_names)
    units = property(lambda self: self.header.units)
    channel_types = property(lambda self: getattr(self.header, "channel_types", ()))
    sampling_rate = property(lambda self: self.header.sampling_rate)
    n_samples = property(lambda self: self.header.n_samples)
    start_datetime = property(lambda self: self._start)

    def read_block(self, i_start: int, i_stop: int, channels: Sequence[int]) -> np.ndarray:
        return self.recording.read_samples(i_start, i_stop, list(channels), stream=self.stream_index)

    def read_raw_block(self, i_start: int, i_stop: int, channels: Sequence[int]) -> np.ndarray:
        return self.recording.read_raw(i_start, i_stop, list(channels), stream=self.stream_index)

    def read_raw_view(self, i_start: int, i_stop: int, channels: Sequence[int]) -> np.ndarray:
        return self.recording.read_raw_view(i_start, i_stop, list(channels), stream=self.stream_index)

    def raw_scaling(self, channels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        index = np.asarray(list(channels), dtype=np.intp)
        return self.header.gains[index], self.header.offsets[index]

    def events(self) -> Sequence[SourceEvent]:
        return self._events


class EventsOnlySource:
    """A recording that holds events but no continuous signal (a sleep hypnogram in EDF+,
    an NWB file of trials and spike times), shown as its events on an empty time axis.

    The axis runs from the recording's start to the end of its last event, sampled at a
    nominal :data:`AXIS_RATE_HZ` (there is nothing to read: a read returns no channels).
    """

    AXIS_RATE_HZ = 1000.0

    def __init__(self, recording: BaseRecording):
        self.recording = recording
        events = recording.events()
        self._start = recording.header.start_datetime
        first = min((e.time_s for e in events), default=0.0)
        end = max((e.time_s + max(e.duration_s, 0.0) for e in events), default=0.0)
        # Events before the recording's zero (NWB times can be negative) widen the axis.
        self._shift = min(first, 0.0)
        if self._start is not None and self._shift:
            self._start = self._start + timedelta(seconds=self._shift)
        duration = max(end - self._shift, recording.header.duration_s, 1.0)
        self._n_samples = int(np.ceil(duration * self.AXIS_RATE_HZ))
        self._events = tuple(SourceEvent(e.time_s - self._shift, e.duration_s, e.label, e.source)
                             for e in events)

    @property
    def name(self) -> str:
        return f"{self.recording.path.name} [events only]"

    identity = property(lambda self: f"{self.recording.path}|events-only")
    channel_names = property(lambda self: ())
    units = property(lambda self: ())
    channel_types = property(lambda self: ())
    sampling_rate = property(lambda self: self.AXIS_RATE_HZ)
    n_samples = property(lambda self: self._n_samples)
    start_datetime = property(lambda self: self._start)

    def read_block(self, i_start: int, i_stop: int, channels: Sequence[int]) -> np.ndarray:
        return np.empty((0, len(channels)), dtype=np.float32)

    def events(self) -> Sequence[SourceEvent]:
        return self._events
