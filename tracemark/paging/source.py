"""The data source the viewer draws from, as a plain-Python protocol.

The viewer knows nothing of file formats: ``tracemark.app`` adapts a reader to
:class:`SignalSource`. ``read_block`` is called from worker threads, so an
implementation must be safe to call concurrently and must cost what it returns.
:class:`ArraySource` serves an in-memory array; tests and small tools use it.

A source whose samples are stored integers scaled linearly (``physical = raw * gain +
offset``, as TRC, EDF and most NWB files) may also offer :class:`RawSource`'s
``read_raw_block`` and ``raw_scaling``: long windows and the overview summary are then
reduced to min/max on the stored integers and only the bins are scaled, which is what
makes a 300-s window as fast to draw as a plain memory map (2-3x fewer operations on a
quarter of the bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import numpy as np

from tracemark.domain.channel_types import CHANNEL_TYPES, infer_channel_types

__all__ = ["ArraySource", "RawSource", "SignalSource", "SourceEvent", "channel_types_of"]


@dataclass(frozen=True)
class SourceEvent:
    """An event or annotation to mark on the traces (time on the recording's axis)."""

    time_s: float
    duration_s: float
    label: str
    source: str = ""


@runtime_checkable
class SignalSource(Protocol):
    """One stream of equally sampled channels, read lazily by sample index."""

    @property
    def name(self) -> str: ...  # shown in titles, e.g. the file name

    @property
    def identity(self) -> str: ...  # stable key for on-disk summary caches

    @property
    def channel_names(self) -> tuple[str, ...]: ...

    @property
    def units(self) -> tuple[str, ...]: ...

    @property
    def channel_types(self) -> tuple[str, ...]: ...  # one of domain.channel_types per channel

    @property
    def sampling_rate(self) -> float: ...

    @property
    def n_samples(self) -> int: ...

    @property
    def start_datetime(self) -> datetime | None: ...

    def read_block(self, i_start: int, i_stop: int, channels: Sequence[int]) -> np.ndarray:
        """float32 ``(i_stop - i_start, len(channels))`` in physical units, clipped to the stream."""
        ...

    def events(self) -> Sequence[SourceEvent]: ...


@runtime_checkable
class RawSource(Protocol):
    """The optional raw side of a :class:`SignalSource` (see the module docstring)."""

    def read_raw_block(self, i_start: int, i_stop: int, channels: Sequence[int]) -> np.ndarray:
        """Stored values ``(i_stop - i_start, len(channels))``, unscaled, clipped."""
        ...

    def raw_scaling(self, channels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(gains, offsets)`` float64 per channel: ``physical = raw * gain + offset``."""
        ...


class ArraySource:
    """A :class:`SignalSource` over an in-memory ``(n_samples, n_channels)`` array."""

    def __init__(self, data: np.ndarray, sampling_rate: float, channel_names: Sequence[str] | None = None,
                 units: Sequence[str] | None = None, *, name: str = "array",
                 start_datetime: datetime | None = None, events: Sequence[SourceEvent] = (),
                 channel_types: Sequence[str] | None = None):
        self._data = np.asarray(data, dtype=np.float32)
        if self._data.ndim != 2:
            raise ValueError(f"data must be (n_samples, n_channels), got shape {self._data.shape}")
        n_channels = self._data.shape[1]
        self._names = tuple(channel_names or (f"Ch{i + 1}" for i in range(n_channels)))
        self._units = tuple(units or ("uV",) * n_channels)
        if len(self._names) != n_channels or len(self._units) != n_channels:
            raise ValueError("one name and one unit per channel are needed")
        self._types = (tuple(channel_types) if channel_types is not None
                       else infer_channel_types(self._names, self._units))
        if len(self._types) != n_channels:
            raise ValueError("one channel type per channel is needed")
        self._rate = float(sampling_rate)
        self._name = name
        self._start = start_datetime
        self._events = tuple(sorted(events, key=lambda e: e.time_s))
        self.reads: list[tuple[int, int, tuple[int, ...]]] = []  # for tests: what was asked

    name = property(lambda self: self._name)
    identity = property(lambda self: f"array:{id(self._data)}:{self._data.shape}")
    channel_names = property(lambda self: self._names)
    units = property(lambda self: self._units)
    channel_types = property(lambda self: self._types)
    sampling_rate = property(lambda self: self._rate)
    n_samples = property(lambda self: self._data.shape[0])
    start_datetime = property(lambda self: self._start)

    def read_block(self, i_start: int, i_stop: int, channels: Sequence[int]) -> np.ndarray:
        n = self._data.shape[0]
        i_start, i_stop = min(max(int(i_start), 0), n), min(max(int(i_stop), 0), n)
        chans = tuple(int(c) for c in channels)
        self.reads.append((i_start, i_stop, chans))
        block: np.ndarray = self._data[i_start:max(i_stop, i_start)][:, list(chans)].copy()
        return block

    def events(self) -> Sequence[SourceEvent]:
        return self._events


def channel_types_of(source: SignalSource) -> tuple[str, ...]:
    """``source.channel_types``, or types inferred from its labels and units for a source
    written before sources said what their channels are."""
    types = tuple(getattr(source, "channel_types", ()) or ())
    if len(types) == len(source.channel_names) and all(t in CHANNEL_TYPES for t in types):
        return types
    return infer_channel_types(source.channel_names, source.units)
