"""Lazy reader for Micromed ``.TRC`` files (System98/Brain-Quick, header type 4).

``open_trc(path)`` parses the header (:mod:`.trc_header`, layout in :mod:`.trc_layout`)
and opens the file read-only; each read fetches exactly the frames it needs with one
positional read (:mod:`.rawfile`), so nothing proportional to the file's length happens
on open, no cursor is shared between threads, and paging through a 24-hour file does
not grow the process's resident memory as a memory map would. ``close()`` waits for
reads in flight, then releases the descriptor. A file cut while open raises
``TruncatedRecordingError`` on the read that runs past its new end.

What this backend reads
    * 1, 2 and 4 bytes per sample, unsigned, multiplexed; channel order is the order
      on disk, each channel described by the LABCOD electrode record that ORDER
      points at (disk order need not be label order).
    * Scaling per channel: ``physical = raw * gain + offset`` with
      ``gain = (phys_max - phys_min) / (logic_max - logic_min + 1)`` and
      ``offset = -logic_ground * gain``, in the channel's unit (nV, uV, mV, V, %,
      bpm, dimensionless; an unknown unit code is shown as such, not guessed).
    * Channels whose rate coefficients differ become separate streams, one per
      rate, in order of first appearance. No public reader (neo, micromed-io,
      FieldTrip) handles such files, so the layout is inferred: a frame at
      ``Rate_Min`` holds, for each stored channel in turn, ``coefficient``
      consecutive samples; the header's Multiplexer field (bytes per frame) must
      confirm that frame size, or the file is refused rather than misread.
    * Channel types (EEG, EMG, ECG...) are inferred from the labels and units
      (:mod:`tracemark.domain.channel_types`). The electrode record's first two bytes
      (``status``, ``type`` in :mod:`.trc_layout`) are not used: no public reader
      documents their values (neo's ``MicromedRawIO`` skips them), so what they mean
      cannot be checked.
    * Start date-time: naive (the file stores local wall-clock time); the year byte
      is read unsigned, so years up to 2155 work (neo reads it signed and wraps in
      2028). ``None`` when the bytes do not form a valid date.
    * Events: TRIGGER records (label: the code as text, source ``"trigger"``),
      NOTE records (label: the text, ``"note"``), EVENT A and EVENT B records
      (label: the code as text, duration ``stop - start``, ``"event_a"``,
      ``"event_b"``). Sample indexes count at the slowest channel rate (the only
      rate in ordinary files). Records at sample 0 are **kept**: neo treats sample
      0 as "unused" and drops them, but a trigger at the first sample is a real
      trigger; unused records are recognised by their own markers instead (all-0xFF
      trigger, all-zero trigger/note/event). Events past the end of the data are
      left out and counted in ``header.details``.

Damaged files
    Typed errors naming the file: wrong title (``UnsupportedFormatError``); header
    type other than 4, compressed data, other sample widths, or several TRONCA
    segments (``UnsupportedVariantError``); zero channels, a rate of 0 Hz, zone
    names out of place, ORDER pointing outside LABCOD, an empty logic range
    (``CorruptRecordingError``); a file shorter than its header, a zone beyond the
    end, a data zone that starts past the end or holds no complete frame
    (``TruncatedRecordingError``). A TRC header does not record the sample count;
    the file size gives it, so a file whose last frame is partial opens with its
    complete frames (as neo does) and ``header.details`` says how many trailing
    bytes were ignored.

Why hand-written rather than wrapping neo's ``MicromedRawIO``
    neo stays the test oracle (``tests/test_trc.py`` compares every sample, scale
    factor and event with it), but it does not fit as the backend, and speed is
    not the reason. Measured with neo 0.14.6 on this machine (2 shared cores,
    file in the page cache) on a 1-hour, 64-channel, 2048 Hz, 2-byte file (944 MB,
    360 triggers) written by :mod:`tracemark.demo.trc_writer`; medians of 5:

    ==========================================  ==============  ==============
    operation                                   neo             this reader
    ==========================================  ==============  ==============
    open (parse the header)                     1.0 ms          1.8 ms
    10 s x 64 ch, raw (start / middle / end)    0.0 ms (a view) 0.1-0.2 ms (a copy)
    10 s x 64 ch, float32 physical              2.7-5.0 ms      0.8-1.1 ms
    ==========================================  ==============  ==============

    Both parse only the header and slice a memory map, so both are cheap. What
    decides it is what neo leaves out, refuses or reports differently: it drops
    every trigger, note and EVENT A/B record at sample 0; it refuses files whose
    channels have different rates instead of exposing them as streams; it reports
    unit code 2 (volts) as the number 1 and code 101 (bpm) as "dimensionless"; it
    reads the year as a signed byte (wrong from 2028); its float32 scaling
    computes ``raw * gain + offset`` in float32, which cancels two large numbers
    on a nV channel (offset near 1e6) and was off by 0.02-0.09 nV in our tests (we
    subtract the ground in integers first and round once); damaged files surface as
    ``NotImplementedError``, ``struct.error`` or numpy ``ValueError`` (a file cut
    mid-sample is refused outright) rather than typed errors naming the problem; and it
    has no ``close()``: the file object it opens on the first read lives until the
    instance is garbage-collected, whereas the protocol requires ``close()`` to release
    every handle.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .protocol import BaseRecording, contiguous_slice
from .rawfile import ArrayFile, PositionalFile
from .trc_header import TrcPlan, parse_trc

__all__ = ["TrcRecording", "open_trc"]


def open_trc(path: str | os.PathLike[str], **options: Any) -> TrcRecording:
    """Open a Micromed ``.TRC`` file read-only; the header is parsed, samples are not.

    No options are accepted yet; an unknown option raises ``TypeError``.
    """
    if options:
        raise TypeError(f"open_trc() got unexpected options: {', '.join(sorted(options))}")
    return TrcRecording(parse_trc(path))


class TrcRecording(BaseRecording):
    """A Micromed TRC recording; see the module docstring."""

    def __init__(self, plan: TrcPlan, file: ArrayFile | None = None):
        """``file``: the byte source to read samples from (a remote file), else the header's path."""
        super().__init__(plan.header, plan.events)
        self._plan = plan
        self._file = file if file is not None else PositionalFile(plan.header.path)

    def _read_raw_block(self, stream_index: int, i_start: int, i_stop: int,
                        channels: np.ndarray) -> np.ndarray:
        plan = self._plan.streams[stream_index]
        columns = plan.columns[channels]
        k = plan.coefficient
        if k == 1:
            return _take_columns(self._frames(i_start, i_stop), columns)
        # Channel c of a k-times-faster stream owns k consecutive values per frame.
        f_start, f_stop = i_start // k, -(-i_stop // k)
        wide = (columns[:, None] + np.arange(k)[None, :]).reshape(-1)
        block = _take_columns(self._frames(f_start, f_stop), wide)
        block = block.reshape(f_stop - f_start, len(columns), k).transpose(0, 2, 1)
        block = block.reshape(-1, len(columns))
        return np.ascontiguousarray(block[i_start - f_start * k:i_stop - f_start * k])

    def _view_raw_block(self, stream_index: int, i_start: int, i_stop: int,
                        channels: np.ndarray) -> np.ndarray | None:
        plan = self._plan.streams[stream_index]
        span = contiguous_slice(plan.columns[channels])
        map_array = getattr(self._file, "map_array", None)   # local files only
        if plan.coefficient != 1 or span is None or map_array is None:
            return None
        layout = self._plan
        row_bytes = layout.frame_values * layout.sample_dtype.itemsize
        frames = map_array(layout.data_start + i_start * row_bytes, layout.sample_dtype,
                           (i_stop - i_start, layout.frame_values))
        return None if frames is None else frames[:, span]

    def _read_physical_block(self, stream_index: int, i_start: int, i_stop: int,
                             channels: np.ndarray) -> np.ndarray:
        # (raw - ground) * gain rather than raw * gain + offset: the subtraction is
        # exact in integers, so the result is the correctly rounded float32 of the
        # true value. The sum form cancels two large numbers (a nV channel's offset
        # is near 1e6) and, done in float32, loses up to ~0.06 of the unit.
        raw = self._fetch_raw_block(stream_index, i_start, i_stop, channels)
        grounds = self._plan.streams[stream_index].grounds[channels]
        gains = self._header.streams[stream_index].gains[channels]
        if raw.dtype.itemsize <= 2 and np.array_equal(gains.astype(np.float32), gains):
            # Differences of 16-bit codes and such gains are exact in float32, so
            # the single float32 product is already correctly rounded.
            out: np.ndarray = np.subtract(raw, grounds.astype(np.float32), dtype=np.float32)
            out *= gains.astype(np.float32)
            return out
        exact: np.ndarray = np.subtract(raw, grounds, dtype=np.float64)
        exact *= gains
        return exact.astype(np.float32)

    def _frames(self, f_start: int, f_stop: int) -> np.ndarray:
        """Whole frames ``[f_start, f_stop)``, shape ``(frames, values per frame)``."""
        plan = self._plan
        row_bytes = plan.frame_values * plan.sample_dtype.itemsize
        return self._file.read_array(plan.data_start + f_start * row_bytes, plan.sample_dtype,
                                     (f_stop - f_start, plan.frame_values))

    def _close_handles(self) -> None:
        self._file.close()  # waits for reads in flight


def _take_columns(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``rows[:, columns]`` as a contiguous array (rows are a fresh read, never a view of the file)."""
    span = contiguous_slice(columns)
    if span is not None:
        if span.start == 0 and span.stop == rows.shape[1]:
            return rows
        return np.ascontiguousarray(rows[:, span])
    return rows[:, columns]
