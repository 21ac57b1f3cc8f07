"""A lazy, numpy-like array over one stream of a recording: ``recording.stream(key)``.

Scripts and analyses want to treat a stream as the 2-D array it is (samples x channels)
without loading a 24-hour file to look at one second of it. A :class:`StreamProxy` is
that array's stand-in: it knows the shape and dtype from the header and reads samples
only when indexed, through the recording's ordinary read path, so every backend gets it
and every backend's guarantees (clipping, channel checks, thread safety) carry over.

The proxy contract (``tests/test_stream_proxy.py`` checks it over every backend)
    * ``shape`` is ``(n_samples, n_channels)``, ``ndim`` is 2, ``len(proxy)`` and
      ``size`` follow from the shape, ``dtype`` is float32 and values are in the stream's
      physical units. ``proxy.raw`` is the same view of the stored values, in the
      stream's ``raw_dtype``; ``gains`` and ``offsets`` (``physical = raw * gain + offset``
      per channel) and ``header`` describe the scaling. ``is_proxy`` is always True.
    * ``proxy[rows, channels]`` reads only the samples it returns (see the cost note below),
      as a fresh ndarray shaped as numpy would shape the same index of the whole array.
      Rows take an int (negative counts from the end) or a slice of any step, clipped as
      numpy clips; channels take an int, a slice, a 1-D sequence or array of ints
      (negative allowed, any order, repeats) or a boolean mask over the channels. ``...``
      stands for the dimensions not given; ``proxy[i]`` is sample ``i`` of every channel.
      An int out of range raises ``IndexError``, as numpy does; ``None`` (a new axis),
      arrays of rows and more than two indexes raise ``IndexError`` naming what is allowed.
    * Values equal the recording's reads: ``proxy[i0:i1, chans]`` is
      ``recording.read_samples(i0, i1, chans, stream=...)`` and ``proxy.raw[i0:i1, chans]``
      is ``recording.read_raw(...)``, bit for bit.
    * ``np.asarray(proxy)`` reads the whole stream, on every call; nothing is kept. A
      request for it without a copy (``np.asarray(proxy, copy=False)``) raises
      ``ValueError``, since the samples live in the file.
    * Indexing never caches. Whether samples come from the file or from memory is the
      recording's explicit policy (``open_recording(path, lazy=False)``,
      ``load_into_memory()``, ``uncache()``), which ``proxy.in_memory`` reports.
    * A proxy holds nothing but its recording, a stream index and whether it is raw, so
      any number of threads may index one proxy at once, as they may read the recording.
      Reading through a proxy of a closed recording raises ``RecordingClosedError``.

Cost: a row slice with step 1 is one read of its rows. A stepped slice with a small step
reads the rows it strides over, in blocks of bounded size, and keeps every step-th; once
the rows skipped between two kept ones outweigh :data:`SEPARATE_READS_GAP_BYTES` on disk,
it reads only the rows it keeps, one read each (a read costs at least what the format
stores together: an EDF record, an HDF5 chunk).
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, SupportsIndex

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .protocol import BaseRecording, StreamHeader

__all__ = ["StreamProxy"]

#: Bytes of the file read per block when a stepped slice strides over rows it does not keep.
STRIDED_BLOCK_BYTES = 8 << 20
#: Above this many bytes of the file between two kept rows, one read per kept row costs
#: less than reading past the rows in between.
SEPARATE_READS_GAP_BYTES = 256 << 10


class StreamProxy:
    """One stream of a recording as a lazy ``(n_samples, n_channels)`` array; see the module docstring."""

    def __init__(self, recording: BaseRecording, stream_index: int, *, physical: bool = True):
        self._recording = recording
        self._stream_index = stream_index
        self._physical = physical

    # -- what the array is --------------------------------------------------------------------
    @property
    def header(self) -> StreamHeader:
        return self._recording.header.streams[self._stream_index]

    @property
    def shape(self) -> tuple[int, int]:
        header = self.header
        return header.n_samples, header.n_channels

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32) if self._physical else self.header.raw_dtype

    ndim = 2

    @property
    def size(self) -> int:
        n_samples, n_channels = self.shape
        return n_samples * n_channels

    def __len__(self) -> int:
        return self.header.n_samples

    @property
    def is_proxy(self) -> bool:
        return True

    @property
    def in_memory(self) -> bool:
        """Whether the recording holds its samples in memory (its policy, not the proxy's)."""
        return self._recording.in_memory

    @property
    def gains(self) -> np.ndarray:
        return self.header.gains

    @property
    def offsets(self) -> np.ndarray:
        return self.header.offsets

    @property
    def raw(self) -> StreamProxy:
        """The same stream, unscaled: the stored values in ``header.raw_dtype``."""
        return StreamProxy(self._recording, self._stream_index, physical=False)

    def __repr__(self) -> str:
        kind = "physical" if self._physical else "raw"
        return (f"<StreamProxy {self._recording.path.name!r} stream {self.header.name!r} "
                f"shape={self.shape} {self.dtype} ({kind})>")

    # -- reading ----------------------------------------------------------------------------------
    def __array__(self, dtype: npt.DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("a StreamProxy cannot give its samples without a copy: "
                             "they are read from the recording")
        data = self._read(0, self.header.n_samples, None)
        return data if dtype is None else data.astype(dtype, copy=False)

    def __getitem__(self, key: object) -> np.ndarray:
        row_key, channel_key = _two_indexes(key)
        n_samples, n_channels = self.shape
        rows, drop_row = _row_range(row_key, n_samples)
        channels, drop_channel = _channel_indexes(channel_key, n_channels)
        block = self._read_rows(rows, channels)
        if drop_row:
            row: np.ndarray = block[0]
            return row[0] if drop_channel else row
        return block[:, 0] if drop_channel else block

    def _read_rows(self, rows: range, channels: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.empty((0, len(channels)), dtype=self.dtype)
        step = rows.step
        first, last = (rows.start, rows[-1]) if step > 0 else (rows[-1], rows.start)
        ascending = self._read_every(first, last + 1, abs(step), channels)
        return ascending if step > 0 else np.ascontiguousarray(ascending[::-1])

    def _read_every(self, i_start: int, i_stop: int, stride: int, channels: np.ndarray) -> np.ndarray:
        """Rows ``i_start, i_start + stride, ...`` below ``i_stop``."""
        if stride == 1:
            return self._read(i_start, i_stop, channels)
        header = self.header
        row_bytes = max(header.n_channels, 1) * header.raw_dtype.itemsize  # one sample on disk
        if stride * row_bytes > SEPARATE_READS_GAP_BYTES:
            parts = [self._read(i, i + 1, channels) for i in range(i_start, i_stop, stride)]
        else:
            # Blocks start on kept rows, so every block keeps rows 0, stride, 2 * stride...
            block_rows = stride * max(1, STRIDED_BLOCK_BYTES // (stride * row_bytes))
            parts = [self._read(b, min(b + block_rows, i_stop), channels)[::stride]
                     for b in range(i_start, i_stop, block_rows)]
        return np.ascontiguousarray(np.concatenate(parts))

    def _read(self, i_start: int, i_stop: int, channels: np.ndarray | None) -> np.ndarray:
        read = self._recording.read_samples if self._physical else self._recording.read_raw
        return read(i_start, i_stop, channels, stream=self._stream_index)


def _two_indexes(key: object) -> tuple[object, object]:
    """``key`` as exactly (rows, channels), with ``...`` expanded and missing ones filled."""
    parts = key if isinstance(key, tuple) else (key,)
    if any(part is None for part in parts):
        raise IndexError("a stream is 2-D (samples, channels): new axes (None) are not supported")
    ellipses = [i for i, part in enumerate(parts) if part is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if ellipses:
        at = ellipses[0]
        filler = (slice(None),) * max(0, 3 - len(parts))
        parts = parts[:at] + filler + parts[at + 1:]
    if len(parts) > 2:
        raise IndexError(f"too many indexes ({len(parts)}): a stream is 2-D (samples, channels)")
    return tuple(parts) + (slice(None),) * (2 - len(parts))


def _as_int(value: object) -> int | None:
    """``value`` as a Python int when it is an integer scalar (never a bool), else None."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, SupportsIndex):
        return None
    try:
        return operator.index(value)
    except TypeError:  # an array has __index__, which only a one-item integer array answers
        return None


def _row_range(key: object, n_samples: int) -> tuple[range, bool]:
    """The sample indexes ``key`` selects, and whether it drops the samples dimension."""
    i = _as_int(key)
    if i is not None:
        if not -n_samples <= i < n_samples:
            raise IndexError(f"sample {i} is out of range for a stream of {n_samples} samples")
        i %= n_samples
        return range(i, i + 1), True
    if isinstance(key, slice):
        return range(*key.indices(n_samples)), False
    raise IndexError(f"samples are indexed by an int or a slice, not {type(key).__name__}; "
                     "read an arbitrary set of samples with a slice that covers them")


def _channel_indexes(key: object, n_channels: int) -> tuple[np.ndarray, bool]:
    """The channel indexes ``key`` selects, and whether it drops the channels dimension."""
    i = _as_int(key)
    if i is not None:
        if not -n_channels <= i < n_channels:
            raise IndexError(f"channel {i} is out of range for {n_channels} channels")
        return np.array([i % n_channels]), True
    if isinstance(key, slice):
        return np.arange(n_channels)[key], False
    indexes = np.asarray(key)
    if indexes.dtype == np.bool_:
        if indexes.shape != (n_channels,):
            raise IndexError(f"a boolean channel mask needs {n_channels} entries, "
                             f"got shape {indexes.shape}")
        return np.flatnonzero(indexes), False
    if indexes.size == 0:
        return np.empty(0, dtype=np.int64), False
    if indexes.dtype.kind not in "iu" or indexes.ndim != 1:
        raise IndexError("channels are indexed by an int, a slice, a 1-D sequence of ints "
                         f"or a boolean mask, not {indexes.dtype} of shape {indexes.shape}")
    indexes = indexes.astype(np.int64)
    bad = indexes[(indexes < -n_channels) | (indexes >= n_channels)]
    if bad.size:
        raise IndexError(f"channel {int(bad[0])} is out of range for {n_channels} channels")
    return indexes % n_channels, False
