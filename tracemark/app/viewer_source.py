"""Adapts one stream of a reader (``BaseRecording``) to the viewer's ``SignalSource``.

The viewer's time axis starts at the stream's first sample; events on the recording's
time axis are shifted by the stream's start offset so they land on the same samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np

from tracemark.dsp.summary import recording_identity
from tracemark.io_backends.protocol import BaseRecording
from tracemark.widgets.viewer.source import SourceEvent


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

    def events(self) -> Sequence[SourceEvent]:
        return self._events
