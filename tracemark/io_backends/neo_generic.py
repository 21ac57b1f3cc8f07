"""Any recording python-neo's rawio layer reads, behind Tracemark's reader protocol.

``open_with_neo(path)`` picks a ``neo.rawio`` class from the suffix (or a directory's
contents) with ``neo.rawio.get_rawio``, parses its header once, and exposes each of the
rawio's signal streams as a stream: names, units, rates, and the per-channel
``gain``/``offset`` from ``signal_channels``. Samples come from
``get_analogsignal_chunk``, so they are as lazy as the rawio class is (most memmap their
files). Events and epochs come from the rawio's event channels, rescaled to seconds; the
``source`` of each is its event channel's name in lower case (``"trigger"``, ``"note"``,
``"stimulus"``...).
Channel types are inferred from the channel names and units (neo's ``signal_channels``
carry no type).

One block and one segment are shown at a time (block 0, segment 0 unless
``block_index``/``segment_index`` say otherwise); every segment is listed in
``header.details`` with its time span so a person can pick another. The recording's time
axis starts at the earliest of the segment's ``t_start`` and its streams' ``t_start``.

neo's rawio objects do not promise thread safety (several keep file handles or lazily
built memmap caches), so every call into the rawio goes through one lock. Reads are
therefore serialised per recording; that is the price of generality, and the dedicated
TRC, NWB and EDF backends do not pay it.

Errors: a file neo does not recognise raises :class:`UnsupportedFormatError`; one neo
recognises but fails on raises :class:`RecordingError` with neo's message, naming the
file; one whose header neo parses but which gives a rate that is not positive, non-finite
gains or offsets, or sizes neo cannot compute raises :class:`CorruptRecordingError`. No
neo traceback reaches a person.
"""

from __future__ import annotations

import os
import threading
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .errors import (
    CorruptRecordingError,
    MissingDependencyError,
    RecordingClosedError,
    RecordingError,
    UnsupportedFormatError,
)
from .protocol import BaseRecording, Event, RecordingHeader, StreamHeader, contiguous_slice

__all__ = ["NeoRecording", "open_with_neo"]


def open_with_neo(path: str | os.PathLike[str], *, rawio: type | str | None = None,
                  rawio_options: dict[str, Any] | None = None, block_index: int = 0,
                  segment_index: int = 0) -> NeoRecording:
    """Open ``path`` (a file or a directory) with a python-neo rawio class.

    ``rawio`` forces the class, as a class or its name (``"RawBinarySignalRawIO"``);
    ``rawio_options`` are passed to its constructor (e.g. ``dtype``, ``sampling_rate``,
    ``nb_channel`` for raw binary files).
    """
    path = Path(path)
    if not path.exists():
        raise RecordingError(path, "no such file or directory")
    try:
        import neo.rawio
    except ImportError as exc:
        raise MissingDependencyError(path, "reading this format needs python-neo "
                                     "(pip install neo)") from exc
    candidates = _candidate_classes(path, rawio, neo.rawio)
    failures = []
    for cls in candidates:
        try:
            reader = _parse(cls, path, rawio_options or {})
        except Exception as exc:  # neo raises anything from KeyError to struct.error
            failures.append(f"{cls.__name__}: {_short(exc)}")
            continue
        try:
            return NeoRecording(path, reader, block_index=block_index, segment_index=segment_index)
        except RecordingError:
            raise
        except Exception as exc:  # a parsed header whose sizes or times neo cannot give
            raise CorruptRecordingError(path, f"python-neo ({cls.__name__}) parsed the header "
                                        f"but cannot describe it: {_short(exc)}") from None
    raise RecordingError(path, "python-neo could not read it (" + "; ".join(failures) + ")")


def _candidate_classes(path: Path, forced: type | str | None, rawio_module: Any) -> list[type]:
    if forced is not None:
        if isinstance(forced, str):
            cls = getattr(rawio_module, forced, None)
            if cls is None:
                raise UnsupportedFormatError(path, f"python-neo has no rawio class {forced!r}")
            return [cls]
        return [forced]
    found = rawio_module.get_rawio(path, exclusive_rawio=False) or []
    if not found:
        what = "folder's files" if path.is_dir() else f"suffix {path.suffix or '(none)'!r}"
        raise UnsupportedFormatError(path, f"no reader, including python-neo's, recognises "
                                     f"this {what}")
    return list(found)


def _parse(cls: Any, path: Path, options: dict[str, Any]) -> Any:
    target = {"dirname": str(path)} if cls.rawmode == "one-dir" else {"filename": str(path)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = cls(**target, **options)
        reader.parse_header()
    if not len(reader.header["signal_streams"]):
        raise ValueError("it holds no continuous signals")
    return reader


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class NeoRecording(BaseRecording):
    """A recording read through a python-neo rawio object; see the module docstring."""

    def __init__(self, path: Path, reader: Any, *, block_index: int = 0, segment_index: int = 0):
        self._reader = reader
        self._lock = threading.Lock()
        self._block, self._segment = _check_segment(path, reader, block_index, segment_index)
        self._neo_stream_index: list[int] = []  # neo's stream index for each of ours
        streams, origin = self._streams(path)
        self._origin = origin
        header = RecordingHeader(path=path, format_name=f"neo:{type(reader).__name__}",
                                 start_datetime=_rec_datetime(reader, self._block, self._segment),
                                 streams=streams, details=self._details())
        super().__init__(header)
        self._lazy_events: tuple[Event, ...] | None = None

    # -- header ---------------------------------------------------------------------------------
    def _streams(self, path: Path) -> tuple[tuple[StreamHeader, ...], float]:
        reader, b, s = self._reader, self._block, self._segment
        channels = reader.header["signal_channels"]
        found = []
        for index, stream in enumerate(reader.header["signal_streams"]):
            mine = channels[channels["stream_id"] == stream["id"]]
            if not len(mine):
                continue
            try:
                n_samples = int(reader.get_signal_size(b, s, index))
                t_start = float(reader.get_signal_t_start(b, s, index))
            except Exception as exc:
                raise RecordingError(path, f"python-neo cannot size stream {stream['name']!r}: "
                                     f"{_short(exc)}") from None
            found.append((index, stream, mine, n_samples, t_start))
        if not found:
            raise RecordingError(path, "python-neo found no signal channels in it")
        origin = min([float(reader.segment_t_start(b, s))] + [f[4] for f in found])
        headers = []
        for index, stream, mine, n_samples, t_start in found:
            _check_scaling(path, stream, mine)
            self._neo_stream_index.append(index)
            headers.append(StreamHeader(
                stream_id=str(stream["id"]), name=str(stream["name"]) or str(stream["id"]),
                sampling_rate=float(mine["sampling_rate"][0]), n_samples=n_samples,
                channel_names=tuple(str(n) for n in mine["name"]),
                units=tuple(str(u) for u in mine["units"]),
                gains=mine["gain"], offsets=mine["offset"], raw_dtype=np.dtype(mine["dtype"][0]),
                start_offset_s=t_start - origin))
        return tuple(headers), origin

    def _details(self) -> tuple[tuple[str, str], ...]:
        reader = self._reader
        details = [("Reader", f"neo.rawio.{type(reader).__name__}"),
                   ("Shown", f"block {self._block}, segment {self._segment}")]
        for b in range(reader.block_count()):
            spans = []
            for s in range(reader.segment_count(b)):
                t0, t1 = reader.segment_t_start(b, s), reader.segment_t_stop(b, s)
                spans.append(f"{s}: {float(t0):g}-{float(t1):g} s")
            details.append((f"Block {b} segments", ", ".join(spans)))
        return tuple(details)

    # -- reads ----------------------------------------------------------------------------------
    def _read_raw_block(self, stream_index: int, i_start: int, i_stop: int,
                        channels: np.ndarray) -> np.ndarray:
        neo_stream = self._neo_stream_index[stream_index]
        unique, inverse = np.unique(channels, return_inverse=True)
        selection: slice | np.ndarray | None = contiguous_slice(unique)
        if selection is None:
            selection = unique
        elif selection == slice(0, self._header.streams[stream_index].n_channels):
            selection = None
        with self._lock:
            reader = self._require_open()
            try:
                raw = reader.get_analogsignal_chunk(
                    block_index=self._block, seg_index=self._segment, i_start=i_start,
                    i_stop=i_stop, stream_index=neo_stream, channel_indexes=selection)
            except Exception as exc:
                raise RecordingError(self.path, f"python-neo failed to read samples "
                                     f"{i_start}-{i_stop}: {_short(exc)}") from None
        raw = np.asarray(raw)
        if np.array_equal(unique, channels):
            return _owned(raw)
        return raw[:, inverse.reshape(-1)]

    # -- events ---------------------------------------------------------------------------------
    def events(self) -> tuple[Event, ...]:
        """Events and epochs of the shown segment, read from neo on the first call, then kept."""
        with self._lock:
            if self._lazy_events is None:
                reader = self._require_open()
                found = []
                for index, channel in enumerate(reader.header["event_channels"]):
                    found += self._channel_events(reader, index, channel)
                self._lazy_events = tuple(sorted(found, key=lambda e: (e.time_s, e.label)))
            return self._lazy_events

    def _channel_events(self, reader: Any, index: int, channel: Any) -> list[Event]:
        is_epoch = channel["type"] in (b"epoch", "epoch")
        source = str(channel["name"]).strip().lower() or ("epoch" if is_epoch else "event")
        try:
            stamps, durations, labels = reader.get_event_timestamps(
                block_index=self._block, seg_index=self._segment, event_channel_index=index)
            times = reader.rescale_event_timestamp(stamps, dtype="float64", event_channel_index=index)
            if is_epoch and durations is not None:
                lengths = reader.rescale_epoch_duration(durations, dtype="float64",
                                                        event_channel_index=index)
            else:
                lengths = np.zeros(len(times))
        except Exception as exc:
            raise RecordingError(self.path, f"python-neo failed to read events "
                                 f"{channel['name']!r}: {_short(exc)}") from None
        return [Event(float(t) - self._origin, float(d), str(label), source)
                for t, d, label in zip(times, lengths, labels)]

    # -- lifetime -------------------------------------------------------------------------------
    def _require_open(self) -> Any:
        if self._reader is None:
            raise RecordingClosedError(self.path, "the recording was closed")
        return self._reader

    def _close_handles(self) -> None:
        with self._lock:
            reader, self._reader = self._reader, None
        if reader is None:
            return
        closer = getattr(reader, "close", None)
        try:
            if callable(closer):
                closer()
            elif hasattr(reader, "_memmap_analogsignal_buffers"):
                # neo closes its buffer memmaps only in __del__; do it now so that the file
                # is released when the user closes it, not when the collector runs.
                reader.__del__()
        except Exception:  # a failing close must not turn close() into an error dialog
            pass


def _owned(raw: np.ndarray) -> np.ndarray:
    """``raw`` as an array the caller owns: rawio classes that memmap return read-only views."""
    if raw.flags.owndata and raw.flags.writeable and raw.flags.c_contiguous:
        return raw
    return np.array(raw, order="C")


def _check_scaling(path: Path, stream: Any, channels: Any) -> None:
    """neo passes a damaged header's numbers on as they are (a rate of -1000 Hz, a gain of nan)."""
    rate = float(channels["sampling_rate"][0])
    if not (np.isfinite(rate) and rate > 0):
        raise CorruptRecordingError(path, f"stream {str(stream['name'])!r} has a sampling rate "
                                    f"of {rate} Hz (as python-neo reads the header)")
    scaling = np.concatenate([np.asarray(channels["gain"], dtype=np.float64),
                              np.asarray(channels["offset"], dtype=np.float64)])
    if not np.all(np.isfinite(scaling)):
        raise CorruptRecordingError(path, f"stream {str(stream['name'])!r} has non-finite gains "
                                    "or offsets (as python-neo reads the header)")


def _check_segment(path: Path, reader: Any, block_index: int, segment_index: int) -> tuple[int, int]:
    n_blocks = reader.block_count()
    if not 0 <= block_index < n_blocks:
        raise RecordingError(path, f"block {block_index} does not exist; it has {n_blocks}")
    n_segments = reader.segment_count(block_index)
    if not 0 <= segment_index < n_segments:
        raise RecordingError(path, f"segment {segment_index} does not exist in block "
                             f"{block_index}; it has {n_segments}")
    return block_index, segment_index


def _rec_datetime(reader: Any, block: int, segment: int) -> datetime | None:
    try:
        block_annotations = reader.raw_annotations["blocks"][block]
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    segments = block_annotations.get("segments", [])
    for candidate in ((segments[segment] if segment < len(segments) else {}), block_annotations):
        value = candidate.get("rec_datetime") if isinstance(candidate, dict) else None
        if isinstance(value, datetime):
            return value
    return None
