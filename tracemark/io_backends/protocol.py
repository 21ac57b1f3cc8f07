"""The one reader protocol every recording backend satisfies.

This docstring is the contract. ``tests/test_reader_conformance.py`` checks it,
parametrised over every backend.

A *recording* is one file (TRC, NWB, EDF/BDF, or anything python-neo reads). It holds
*streams* (none at all for a file of events only, such as an NWB file of spike times
and intervals: asking such a file for a stream raises ``KeyError``); a stream is a block of
channels that share one sampling clock, so a read returns a rectangular array. Files with
several sampling rates (EDF with per-signal rates, NWB with several series, neo files with
several signal streams) expose one stream per clock: nothing is dropped.

Header (immutable, parsed once on open)
    ``Recording.header`` is a frozen :class:`RecordingHeader`: path, format name,
    start date-time (timezone-aware when the file says so, else naive, ``None`` when
    the file does not record it), and a tuple of :class:`StreamHeader`. A stream header
    holds the channel names, units, per-channel sampling rate, sample count, duration,
    start offset within the recording, and the per-channel ``gains``/``offsets`` that
    turn raw integers into physical units: ``physical = raw * gain + offset``.
    Arrays in a header are read-only.

    Every channel has a *type* (``channel_types``, one per channel, each one of
    :data:`~tracemark.domain.channel_types.CHANNEL_TYPES`: ``eeg``, ``seeg``, ``ecog``,
    ``emg``, ``ecg``, ``eog``, ``resp``, ``stim``, ``misc``). A backend gives the types its
    file states (a BDF ``Status`` channel, an NWB ElectricalSeries of an ECoG grid, an
    EDF transducer field); a stream built without them infers them from each channel's
    label and unit (:func:`~tracemark.domain.channel_types.infer_channel_types`).
    ``kind`` says what the file calls the stream (the NWB ``neurodata_type``, such as
    ``"ElectricalSeries"`` or ``"CurrentClampStimulusSeries"``; ``""`` for formats
    without one). ``RecordingHeader.main_stream_index()`` names the stream a viewer
    opens first, and ``StreamHeader.describe()`` is its one-line description for menus.

Reads
    ``read(start_s, stop_s, channels=None, stream=0)`` returns float32, shape
    ``(n_samples, n_channels)``, in the stream's physical units, for the samples whose
    time falls in ``[start_s, stop_s)`` on the recording's time axis (seconds from the
    start of the recording; a stream that starts later has ``start_offset_s > 0``).
    ``read_samples(i_start, i_stop, ...)`` is the same by sample index and
    ``read_raw(i_start, i_stop, ...)`` returns the stored values unscaled, in
    ``StreamHeader.raw_dtype``. Requests past either end are clipped, so the result
    may be shorter than asked, or empty; it is never padded. ``channels`` is a
    sequence of channel indexes in any order (repeats allowed) or ``None`` for all;
    an index out of range raises ``IndexError``.

    Reads are position-independent (no hidden cursor) and safe to call from several
    threads at once. A read costs what it returns, never the file's length: a window
    near the end of a long file costs what one at the start does. Reads return fresh
    arrays the caller may modify, and never fill a cache as a side effect.

Array proxies
    ``stream(key)`` (a stream's index, id or name) returns a
    :class:`~tracemark.io_backends.stream_proxy.StreamProxy`: the stream as a lazy,
    numpy-like array of shape ``(n_samples, n_channels)``, float32 in physical units,
    whose slices (``proxy[i0:i1, channels]``) read only what they return, through
    ``read_samples``. Its full contract is in :mod:`~tracemark.io_backends.stream_proxy`.

Memory (an explicit policy, never a side effect of reading)
    A recording opened with ``open_recording(path, lazy=True)`` (the default) holds no
    samples: every read goes to the file. ``lazy=False``, or ``load_into_memory()`` at
    any time, reads every stream once, whole, as stored (raw values: memory about the
    size of the file's samples, so it suits recordings that fit), and from then on every read, raw or physical, through
    the proxy or not, is served from that copy and returns exactly what it returns
    lazily. ``in_memory`` says whether the copy is held. ``uncache()`` drops it, so the
    next read goes to the file again; it does nothing when nothing is held. Only those
    two calls change what is held: reads never do. Loading, uncaching and reading may
    run in different threads at once: a read uses either the whole copy or the file,
    never half of each. ``close()`` drops the copy too.

Events
    ``events()`` returns a tuple of :class:`Event` (time in seconds on the recording
    time axis, duration in seconds, label, source), sorted by time. ``source`` says
    where the event came from in the file (``"trigger"``, ``"note"``,
    ``"annotation"``, ``"epochs"``, ...), so a user can pick one kind.

Lifetime
    Opening parses the header only (``lazy=False`` then loads the samples, as above).
    Files are always opened read-only. ``close()`` releases every handle and is
    idempotent; a ``Recording`` is a context manager.
    Reading after close raises :class:`~tracemark.io_backends.errors.RecordingClosedError`.

Backends subclass :class:`BaseRecording` and implement ``_read_raw_block`` (and
``_read_physical_block`` when their data are not plain ``raw * gain + offset``; it gets
its raw values from ``_fetch_raw_block``, which serves the in-memory copy when one is
held); the base class owns clipping, channel validation, scaling, the memory policy,
the array proxies and the context manager.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from ..domain.channel_types import CHANNEL_TYPES, MISC, STIM, infer_channel_types, type_title
from .errors import RecordingClosedError
from .stream_proxy import StreamProxy

ChannelSelection = Sequence[int] | np.ndarray | None

#: Bytes read per block when a stream is loaded into memory whole: big enough for few
#: calls, small enough that a backend's transient copies stay a small fraction of the total.
LOAD_BLOCK_BYTES = 32 << 20


#: Below this rate a stream is a trend (oximetry, temperature, impedance), not a recording.
SLOW_STREAM_HZ = 10.0
#: A stream name that already says its rate ("512 Hz", "signals 1.5 kHz").
_STATES_A_RATE = re.compile(r"\d\s*k?Hz\b", re.IGNORECASE)


def format_rate(rate_hz: float, digits: int = 6) -> str:
    """A sampling rate for people: ``"0.5 Hz"``, ``"128 Hz"``, ``"10 kHz"``, ``"2.048 kHz"``.

    ``digits`` significant digits at most (fewer for a mean rate, which is not exact).
    """
    if rate_hz >= 1000:
        return f"{rate_hz / 1000:.{digits}g} kHz"
    return f"{rate_hz:.{digits}g} Hz"


def _frozen_array(values: npt.ArrayLike, dtype: npt.DTypeLike) -> np.ndarray:
    array = np.array(values, dtype=dtype)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class Event:
    """One event or annotation: when, how long, what, and where in the file it came from."""

    time_s: float
    duration_s: float
    label: str
    source: str


@dataclass(frozen=True)
class StreamHeader:
    """Channels that share one sampling clock."""

    stream_id: str
    name: str
    sampling_rate: float
    n_samples: int
    channel_names: tuple[str, ...]
    units: tuple[str, ...]
    gains: np.ndarray = field(repr=False)
    offsets: np.ndarray = field(repr=False)
    raw_dtype: np.dtype = np.dtype("float32")
    start_offset_s: float = 0.0
    #: False when samples carry their own timestamps (NWB ``timestamps``); then
    #: ``sampling_rate`` is the mean rate and ``Recording.sample_times`` gives exact times.
    regular: bool = True
    #: One type per channel, from ``CHANNEL_TYPES``; left empty, it is inferred from the
    #: channel names and units on construction.
    channel_types: tuple[str, ...] = ()
    #: What the file calls this stream (NWB ``neurodata_type``); "" for other formats.
    kind: str = ""

    def __post_init__(self) -> None:
        n = len(self.channel_names)
        if len(self.units) != n:
            raise ValueError(f"{len(self.units)} units for {n} channels")
        types = tuple(self.channel_types) or infer_channel_types(self.channel_names, self.units)
        if len(types) != n:
            raise ValueError(f"{len(types)} channel types for {n} channels")
        unknown = sorted(set(types) - set(CHANNEL_TYPES))
        if unknown:
            raise ValueError(f"unknown channel type {unknown[0]!r}; known: {', '.join(CHANNEL_TYPES)}")
        object.__setattr__(self, "channel_types", types)
        object.__setattr__(self, "gains", _frozen_array(self.gains, np.float64).reshape(n))
        object.__setattr__(self, "offsets", _frozen_array(self.offsets, np.float64).reshape(n))
        object.__setattr__(self, "raw_dtype", np.dtype(self.raw_dtype))
        if not self.sampling_rate > 0:
            raise ValueError(f"sampling rate must be positive, got {self.sampling_rate}")

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sampling_rate

    @property
    def sampling_rates(self) -> tuple[float, ...]:
        """Sampling rate per channel (equal within a stream by construction)."""
        return (self.sampling_rate,) * self.n_channels

    def channel_index(self, name: str) -> int:
        """Index of the first channel called ``name``; ``KeyError`` when there is none."""
        try:
            return self.channel_names.index(name)
        except ValueError:
            raise KeyError(f"no channel {name!r} in stream {self.name!r}") from None

    def describe(self) -> str:
        """One line for menus and ``tracemark info``.

        ``"512 Hz — 126 channels (EEG 120, EMG 4, ECG 1, Stim 1)"``,
        ``"CurrentClampSeries_01 — 1 channel at 10 kHz (Misc)"``: the rate is left out
        when the name already states one; ``~`` marks the mean rate of an irregular stream.
        """
        n = self.n_channels
        text = f"{self.name} — {n} channel{'' if n == 1 else 's'}"
        if not _STATES_A_RATE.search(self.name):
            text += (f" at {format_rate(self.sampling_rate)}" if self.regular
                     else f" at ~{format_rate(self.sampling_rate, digits=4)}")
        counts = {t: self.channel_types.count(t) for t in CHANNEL_TYPES if t in self.channel_types}
        if n == 1:
            text += f" ({type_title(self.channel_types[0])})"
        elif counts:
            text += " (" + ", ".join(f"{type_title(t)} {k}" for t, k in counts.items()) + ")"
        return text


@dataclass(frozen=True)
class RecordingHeader:
    """What a recording holds, parsed once on open."""

    path: Path
    format_name: str
    start_datetime: datetime | None
    streams: tuple[StreamHeader, ...]
    #: Free-form facts worth showing (subject, device, file version, ...), all strings.
    details: tuple[tuple[str, str], ...] = ()

    @property
    def duration_s(self) -> float:
        return max((s.start_offset_s + s.duration_s for s in self.streams), default=0.0)

    def stream(self, key: int | str) -> StreamHeader:
        """A stream by position, id or name."""
        if not self.streams:
            raise KeyError(f"{self.path.name} holds no signal stream (events only)")
        if isinstance(key, int):
            return self.streams[key]
        for candidate in self.streams:
            if key in (candidate.stream_id, candidate.name):
                return candidate
        raise KeyError(f"no stream {key!r} in {self.path.name}")

    def stream_index(self, key: int | str) -> int:
        return self.streams.index(self.stream(key))

    def main_stream_index(self) -> int:
        """The stream a viewer should open first; ``KeyError`` when there are no streams.

        Preferred, in order: streams holding cerebral or physiological signals (any type
        but ``stim`` and ``misc``) over misc-only ones; NWB ElectricalSeries over other
        series; recorded responses over stimuli (``kind`` ending in ``StimulusSeries``);
        then most channels; then the highest sampling rate; then the first in the file.
        A stream below :data:`SLOW_STREAM_HZ` is never preferred over a faster one with as
        many or more channels: a multi-rate EDF opens on its EEG, not on the 1 Hz
        oximeter signal that comes first in the file.
        """
        if not self.streams:
            raise KeyError(f"{self.path.name} holds no signal stream (events only)")
        streams = self.streams
        candidates = [i for i, s in enumerate(streams)
                      if not (s.sampling_rate < SLOW_STREAM_HZ and any(
                          o.sampling_rate > s.sampling_rate and o.n_channels >= s.n_channels
                          for o in streams))]
        # max() keeps the first of equals, so ties go to the stream that comes first.
        return max(candidates, key=lambda i: _main_stream_rank(streams[i]))


def _main_stream_rank(stream: StreamHeader) -> tuple[bool, bool, bool, int, float]:
    """Larger is more worth opening first; see ``RecordingHeader.main_stream_index``."""
    physiological = any(t not in (STIM, MISC) for t in stream.channel_types)
    electrical = "ElectricalSeries" in stream.kind
    response = not stream.kind.endswith("StimulusSeries")
    return (physiological, electrical, response, stream.n_channels, stream.sampling_rate)


_Recording = TypeVar("_Recording", bound="BaseRecording")


class BaseRecording:
    """Shared behaviour of every backend; see the module docstring for the contract."""

    def __init__(self, header: RecordingHeader, events: Sequence[Event] = ()):
        self._header = header
        self._events = tuple(sorted(events, key=lambda e: (e.time_s, e.label)))
        self._closed = False
        self._close_lock = threading.Lock()
        #: Every stream's raw samples while the recording is in memory, else None. Swapped
        #: whole (under ``_memory_lock``), so a read sees the full copy or none of it.
        self._held: tuple[np.ndarray, ...] | None = None
        self._memory_lock = threading.Lock()

    # -- header and events -------------------------------------------------------------
    @property
    def header(self) -> RecordingHeader:
        return self._header

    @property
    def path(self) -> Path:
        return self._header.path

    def events(self) -> tuple[Event, ...]:
        return self._events

    def stream(self, key: int | str = 0) -> StreamProxy:
        """Stream ``key`` (index, id or name) as a lazy array; see :mod:`.stream_proxy`."""
        return StreamProxy(self, self._header.stream_index(key))

    # -- memory policy (see "Memory" in the module docstring) ---------------------------------
    @property
    def in_memory(self) -> bool:
        """True while every stream's samples are held in memory and reads are served from there."""
        return self._held is not None

    def load_into_memory(self) -> None:
        """Read every stream once, whole, and serve every read from memory until ``uncache()``."""
        with self._memory_lock:
            if self._held is not None:
                return
            self._check_not_closed()
            held = tuple(self._read_whole_stream(i) for i in range(len(self._header.streams)))
            self._load_extras_into_memory()
            self._check_not_closed()  # a close() during the load must not leave a copy behind
            self._held = held

    def uncache(self) -> None:
        """Drop the in-memory copy, if any: the next read goes to the file again."""
        with self._memory_lock:
            self._held = None
            self._drop_extras_from_memory()

    def _read_whole_stream(self, stream_index: int) -> np.ndarray:
        header = self._header.streams[stream_index]
        n, channels = header.n_samples, np.arange(header.n_channels)
        whole = np.empty((n, header.n_channels), dtype=header.raw_dtype)
        if header.n_channels:
            block = max(1, LOAD_BLOCK_BYTES // (header.n_channels * header.raw_dtype.itemsize))
            for i in range(0, n, block):
                whole[i:i + block] = self._read_raw_block(stream_index, i, min(i + block, n), channels)
        whole.setflags(write=False)
        return whole

    def _fetch_raw_block(self, stream_index: int, i_start: int, i_stop: int,
                         channels: np.ndarray) -> np.ndarray:
        """``_read_raw_block``'s values, from the in-memory copy when one is held."""
        held = self._held  # one read of the attribute: a concurrent uncache() cannot split it
        if held is None:
            return self._read_raw_block(stream_index, i_start, i_stop, channels)
        rows = held[stream_index][i_start:i_stop]
        span = contiguous_slice(channels)
        return rows[:, span].copy() if span is not None else rows[:, channels]

    # -- reads -------------------------------------------------------------------------
    def read(self, start_s: float, stop_s: float, channels: ChannelSelection = None,
             stream: int | str = 0) -> np.ndarray:
        i_start, i_stop = self.sample_range(start_s, stop_s, stream)
        return self.read_samples(i_start, i_stop, channels, stream)

    def read_samples(self, i_start: int, i_stop: int, channels: ChannelSelection = None,
                     stream: int | str = 0) -> np.ndarray:
        index, header, i_start, i_stop, chans = self._prepare(i_start, i_stop, channels, stream)
        if i_stop <= i_start or len(chans) == 0:
            return np.empty((max(i_stop - i_start, 0), len(chans)), dtype=np.float32)
        return self._read_physical_block(index, i_start, i_stop, chans)

    def read_raw(self, i_start: int, i_stop: int, channels: ChannelSelection = None,
                 stream: int | str = 0) -> np.ndarray:
        index, header, i_start, i_stop, chans = self._prepare(i_start, i_stop, channels, stream)
        if i_stop <= i_start or len(chans) == 0:
            return np.empty((max(i_stop - i_start, 0), len(chans)), dtype=header.raw_dtype)
        return self._fetch_raw_block(index, i_start, i_stop, chans)

    def read_raw_view(self, i_start: int, i_stop: int, channels: ChannelSelection = None,
                      stream: int | str = 0) -> np.ndarray:
        """``read_raw``'s values, possibly as a read-only view of a transient memory map of
        the file (no copy). For a reduction that reads the values once and lets go of them
        at once (the viewer's min/max of a long window): the map lives as long as the
        array, so holding it keeps pages of the file resident. Backends without such a view
        return ``read_raw``'s copy."""
        index, header, i_start, i_stop, chans = self._prepare(i_start, i_stop, channels, stream)
        if i_stop <= i_start or len(chans) == 0 or self._held is not None:
            return self.read_raw(i_start, i_stop, chans, stream=index)
        view = self._view_raw_block(index, i_start, i_stop, chans)
        return view if view is not None else self._fetch_raw_block(index, i_start, i_stop, chans)

    def _view_raw_block(self, stream_index: int, i_start: int, i_stop: int,
                        channels: np.ndarray) -> np.ndarray | None:
        """A view of the stored values without a copy, or None (see ``read_raw_view``)."""
        return None

    def sample_range(self, start_s: float, stop_s: float, stream: int | str = 0) -> tuple[int, int]:
        """Sample indexes ``[i_start, i_stop)`` whose times fall in ``[start_s, stop_s)``, clipped."""
        header = self._header.stream(stream)
        rate, offset, n = header.sampling_rate, header.start_offset_s, header.n_samples
        # Clipped as floats first: a far time at a huge (damaged) rate overflows to inf.
        i_start = int(min(max(np.ceil((start_s - offset) * rate - 1e-9), 0), n))
        i_stop = int(min(max(np.ceil((stop_s - offset) * rate - 1e-9), 0), n))
        return i_start, i_stop

    def sample_times(self, i_start: int, i_stop: int, stream: int | str = 0) -> np.ndarray:
        """Times in seconds (recording time axis) of samples ``[i_start, i_stop)``, clipped."""
        header = self._header.stream(stream)
        i_start, i_stop = _clip(i_start, header.n_samples), _clip(i_stop, header.n_samples)
        return header.start_offset_s + np.arange(i_start, max(i_stop, i_start)) / header.sampling_rate

    # -- what a backend implements ----------------------------------------------------------
    def _read_raw_block(self, stream_index: int, i_start: int, i_stop: int,
                        channels: np.ndarray) -> np.ndarray:
        """Raw values, shape ``(i_stop - i_start, len(channels))``; bounds already checked."""
        raise NotImplementedError

    def _read_physical_block(self, stream_index: int, i_start: int, i_stop: int,
                             channels: np.ndarray) -> np.ndarray:
        header = self._header.streams[stream_index]
        raw = self._fetch_raw_block(stream_index, i_start, i_stop, channels)
        return scale_to_physical(raw, header.gains[channels], header.offsets[channels])

    def _close_handles(self) -> None:
        """Release the backend's file handles."""

    def _load_extras_into_memory(self) -> None:
        """Hold whatever else reads consult (e.g. timestamps), on ``load_into_memory()``."""

    def _drop_extras_from_memory(self) -> None:
        """Let go of what ``_load_extras_into_memory`` held."""

    # -- lifetime -------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._close_handles()
        with self._memory_lock:  # a load in flight fails on its next read, then lets go
            self._held = None
            self._drop_extras_from_memory()

    def __enter__(self: _Recording) -> _Recording:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self._header.path.name!r} ({state})>"

    def _check_not_closed(self) -> None:
        if self._closed:
            raise RecordingClosedError(self._header.path, "the recording was closed")

    def _prepare(self, i_start: int, i_stop: int, channels: ChannelSelection,
                 stream: int | str) -> tuple[int, StreamHeader, int, int, np.ndarray]:
        self._check_not_closed()
        index = self._header.stream_index(stream)
        header = self._header.streams[index]
        chans = _channel_indexes(channels, header.n_channels)
        return (index, header, _clip(int(i_start), header.n_samples),
                _clip(int(i_stop), header.n_samples), chans)


def scale_to_physical(raw: np.ndarray, gains: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``raw * gain + offset`` per column, as float32.

    Integers of up to 16 bits are exact in float32, so they are scaled in one fused
    float32 pass straight out of the (possibly memory-mapped) raw array: this keeps a
    window read within a small factor of copying its bytes. Wider or floating-point raw
    values go through float64 so that, e.g., 32-bit TRC codes around a 2**31 ground keep
    every bit before the offset cancels.
    """
    if raw.dtype.kind in "iu" and raw.dtype.itemsize <= 2:
        out = np.empty(raw.shape, dtype=np.float32)
        np.multiply(raw, gains.astype(np.float32), out=out, dtype=np.float32)
        if np.any(offsets):
            out += offsets.astype(np.float32)
        return out
    out = raw.astype(np.float64)
    out *= gains
    out += offsets
    return out.astype(np.float32)


def _clip(i: int, n: int) -> int:
    return min(max(i, 0), n)


def _channel_indexes(channels: ChannelSelection, n_channels: int) -> np.ndarray:
    if channels is None:
        return np.arange(n_channels)
    chans = np.asarray(channels, dtype=np.int64).reshape(-1)
    bad = chans[(chans < 0) | (chans >= n_channels)]
    if bad.size:
        raise IndexError(f"channel index {int(bad[0])} out of range for {n_channels} channels")
    return chans


def contiguous_slice(channels: np.ndarray) -> slice | None:
    """A slice equal to ``channels`` when they are ascending and contiguous, else None.

    Backends use it so that memmap and h5py reads stay a single strided read.
    """
    if channels.size and np.all(np.diff(channels) == 1):
        return slice(int(channels[0]), int(channels[-1]) + 1)
    return None
