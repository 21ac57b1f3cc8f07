"""Read NWB 2.x files (Neurodata Without Borders, HDF5) lazily, through h5py, read-only.

``open_nwb(path)`` returns an :class:`NwbRecording` that satisfies the reader protocol in
:mod:`tracemark.io_backends.protocol`.

Why h5py and not pynwb: importing pynwb costs about 0.8 s and ~700 modules (hdmf,
pandas, jsonschema, ...) against 0.15 s for h5py (measured on the development machine),
and ``NWBHDF5IO.read()`` builds Python objects for everything in the file and warns about
extensions it does not know. A viewer needs only the time series' datasets, their
attributes and a few tables; h5py slices those lazily. pynwb is the oracle in the tests.

What becomes what (details in :mod:`.nwb_layout`, :mod:`.nwb_streams`, :mod:`.nwb_events`):

* Streams: every TimeSeries with numeric 1-D or 2-D ``data`` under ``/acquisition``,
  ``/processing`` (inside LFP, FilteredEphys, Position... containers too) and
  ``/stimulus/presentation`` is one stream; ``stream_id`` is its HDF5 path, ``name`` that
  path without the ``acquisition/`` or ``processing/`` prefix, ``kind`` its
  ``neurodata_type``. ElectricalSeries come first; ``header.main_stream_index()`` names
  the stream to open (an ElectricalSeries, else a response rather than its stimulus).
  Channel types: :mod:`.nwb_channel_types`. A series with ``rate`` is regular
  with ``start_offset_s = starting_time``; one with ``timestamps`` has ``regular=False``
  and its reads find samples by binary search on the timestamps dataset (a few small
  reads, never the whole dataset).
* Physical values: ``data * conversion * channel_conversion + offset`` as NWB defines
  them, in the file's unit, except that volts are shown as ``voltage_unit`` (default
  ``"uV"``, like the EDF and TRC backends; pass ``voltage_unit="V"`` for volts).
* Events: interval tables (epochs, trials, any TimeIntervals), ndx-events tables, and
  event-like series (AnnotationSeries, IntervalSeries, BehavioralEvents, lick/reward
  times, ndx-events Events). Event-like series are events only, not streams.
* Not shown, but listed in ``header.details["not shown"]``: Units (spike times), other
  tables, images, text, ``/analysis``.
* Time axis: seconds from ``session_start_time`` (``header.start_datetime``, timezone
  aware). NWB times count from ``timestamps_reference_time``; when it differs from the
  session start, every time is shifted by the difference.

A file with no signal stream (only units, trials, behavioural events -- common in NWB)
still opens, with ``streams == ()`` and its events, so that ``tracemark info`` and scripts
can show what it holds; ``header.details`` says why nothing is plotted. Callers that need
samples pass ``require_streams=True`` and get an :class:`UnsupportedVariantError` naming
what the file holds instead.

In memory (``open_recording(path, lazy=False)`` or ``load_into_memory()``), the timestamps
of irregular streams are held along with the samples, so time lookups skip the file too.

Concurrency: HDF5 serialises all calls anyway; one lock around every dataset access and
around ``close()`` makes a read racing a close fail with ``RecordingClosedError`` instead
of touching a closed HDF5 identifier.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from . import h5_preflight
from .errors import (
    CorruptRecordingError,
    RecordingClosedError,
    RecordingError,
    TruncatedRecordingError,
    UnsupportedFormatError,
    UnsupportedVariantError,
)
from .nwb_events import event_series_events, event_table_events, interval_table_events
from .nwb_layout import Item, neurodata_type, text, walk
from .nwb_streams import VOLTAGE_UNITS, StreamSource, describe_signal
from .protocol import BaseRecording, Event, RecordingHeader, contiguous_slice

if TYPE_CHECKING:
    from .remote.source import RemoteFile

FORMAT_NAME = "NWB"
#: Below this many timestamps a binary search reads the rest as one block.
SEARCH_BLOCK = 4096
#: Objects named in ``details["not shown"]`` before the rest are only counted.
MAX_LISTED = 20
_NAME_PREFIXES = (("/acquisition/", ""), ("/processing/", ""), ("/stimulus/presentation/", "stimulus/"))


def open_nwb(path: str | Path, *, voltage_unit: str = "uV",
             require_streams: bool = False, source: RemoteFile | None = None) -> NwbRecording:
    """Open an NWB 2.x file read-only; typed ``RecordingError`` naming the file when it cannot.

    ``voltage_unit`` (``"uV"``, ``"mV"`` or ``"V"``) is the unit series stored in volts are
    presented in; ``require_streams`` refuses files without any signal. ``source`` (a
    :class:`~tracemark.io_backends.remote.source.RemoteFile`) is read instead of ``path``,
    through a file object; the recording then owns it and closes it.
    """
    path = path if isinstance(path, Path) else Path(path)
    if voltage_unit not in VOLTAGE_UNITS:
        raise ValueError(f"voltage_unit must be one of {', '.join(VOLTAGE_UNITS)}")
    h5file = _open_hdf5(path) if source is None else _open_hdf5_source(path, source)
    try:
        header, sources, events = _parse(h5file, path, voltage_unit, require_streams)
    except RecordingError:
        h5file.close()
        raise
    except (KeyError, ValueError, TypeError, OSError, RuntimeError, IndexError) as exc:
        h5file.close()
        _raise_source_failure(source, exc)
        raise CorruptRecordingError(path, f"the NWB structure cannot be read ({exc})") from exc
    return NwbRecording(h5file, header, sources, events, source=source)


class NwbRecording(BaseRecording):
    """A lazily read NWB file; see the module docstring."""

    def __init__(self, h5file: h5py.File, header: RecordingHeader,
                 sources: tuple[StreamSource, ...], events: list[Event], source: RemoteFile | None = None):
        super().__init__(header, events)
        self._file = h5file
        self._byte_source = source  # a remote file h5py reads through, closed with the recording
        self._sources = sources
        self._io_lock = threading.Lock()
        self._data = [h5file[s.data_path] for s in sources]
        self._timestamps = [h5file[s.timestamps_path] if s.timestamps_path else None
                            for s in sources]
        self._irregular = [s.timestamps_path is not None for s in sources]
        #: The timestamps datasets, or their in-memory copies while the recording is in memory.
        self._times = self._timestamps

    def sample_range(self, start_s: float, stop_s: float, stream: int | str = 0) -> tuple[int, int]:
        index = self._header.stream_index(stream)
        if not self._irregular[index]:
            return super().sample_range(start_s, stop_s, index)
        n = self._header.streams[index].n_samples
        shift = self._sources[index].time_shift
        with self._io_lock:
            self._check_open()
            timestamps = self._times[index]
            i_start = _first_at_or_after(timestamps, n, start_s - shift)
            i_stop = _first_at_or_after(timestamps, n, stop_s - shift)
        return i_start, max(i_start, i_stop)

    def sample_times(self, i_start: int, i_stop: int, stream: int | str = 0) -> np.ndarray:
        index = self._header.stream_index(stream)
        if not self._irregular[index]:
            return super().sample_times(i_start, i_stop, index)
        n = self._header.streams[index].n_samples
        i_start, i_stop = min(max(int(i_start), 0), n), min(max(int(i_stop), 0), n)
        if i_stop <= i_start:
            return np.empty(0)
        with self._io_lock:
            self._check_open()
            timestamps = self._times[index]
            assert timestamps is not None  # an irregular stream is one with timestamps
            times = timestamps[i_start:i_stop]
        return np.asarray(times, dtype=np.float64) + self._sources[index].time_shift

    def _read_raw_block(self, stream_index: int, i_start: int, i_stop: int,
                        channels: np.ndarray) -> np.ndarray:
        with self._io_lock:
            self._check_open()
            data = self._data[stream_index]
            try:
                if data.ndim == 1:
                    column: np.ndarray = data[i_start:i_stop].reshape(-1, 1)[:, channels]
                    return column
                span = contiguous_slice(channels)
                if span is not None:
                    columns: np.ndarray = data[i_start:i_stop, span]
                    return columns
                # h5py fancy indexing wants sorted unique indexes and is slow; one rectangular
                # read of the channel span, then numpy picks (and reorders, repeats) columns.
                low, high = int(channels.min()), int(channels.max()) + 1
                block: np.ndarray = data[i_start:i_stop, low:high]
            except OSError as exc:  # a damaged chunk: HDF5 reports it only when read
                _raise_source_failure(self._byte_source, exc)
                raise CorruptRecordingError(
                    self._header.path, f"samples {i_start}..{i_stop} of {data.parent.name} "
                                       f"cannot be read ({exc})") from exc
        return block[:, channels - low]

    def _load_extras_into_memory(self) -> None:
        # Irregular streams find samples through their timestamps: hold those too, so
        # that an in-memory recording answers time lookups without the file.
        with self._io_lock:
            self._check_open()
            self._times = [None if t is None else _read_only(t[()]) for t in self._timestamps]

    def _drop_extras_from_memory(self) -> None:
        self._times = self._timestamps

    def _check_open(self) -> None:
        if self._closed:
            raise RecordingClosedError(self._header.path, "the recording was closed")

    def _close_handles(self) -> None:
        with self._io_lock:
            self._data = [None] * len(self._data)
            self._timestamps = [None] * len(self._timestamps)
            self._times = self._timestamps
            self._file.close()
            if self._byte_source is not None:
                self._byte_source.close()


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _first_at_or_after(timestamps: h5py.Dataset | np.ndarray, n: int, value: float) -> int:
    """Index of the first timestamp >= value, by bisection with O(log n) small reads."""
    low, high = 0, n
    while high - low > SEARCH_BLOCK:
        middle = (low + high) // 2
        if timestamps[middle] < value:
            low = middle + 1
        else:
            high = middle
    block = timestamps[low:high]
    return low + int(np.searchsorted(block, value, side="left"))


# -- opening --------------------------------------------------------------------------------
def _open_hdf5(path: Path) -> h5py.File:
    if not path.exists():
        raise RecordingError(path, "no such file")
    if path.is_dir():
        raise UnsupportedFormatError(path, "is a folder, not an NWB file")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise RecordingError(path, f"cannot be read: {exc}") from exc
    if not is_hdf5:
        raise UnsupportedFormatError(path, "is not an HDF5 file, so it cannot be NWB")
    problem = h5_preflight.metadata_problem(path)  # damaged metadata can make HDF5 loop
    if problem:
        raise CorruptRecordingError(path, f"the HDF5 file is damaged: {problem}")
    try:
        h5file = _h5_open(path)
    except OSError as exc:
        message = str(exc)
        if "truncated" in message.lower():
            raise TruncatedRecordingError(
                path, "the HDF5 file is truncated (shorter than its superblock says); "
                      "was the copy or the acquisition interrupted?") from exc
        raise CorruptRecordingError(path, f"the HDF5 file cannot be opened ({message})") from exc
    try:
        _check_is_nwb(h5file, path)
    except RecordingError:
        h5file.close()
        raise
    except (KeyError, ValueError, TypeError, OSError, RuntimeError) as exc:
        # Damaged metadata opens as HDF5 and fails at the first lookup of the root group.
        h5file.close()
        raise CorruptRecordingError(path, f"the HDF5 file is damaged ({exc})") from exc
    return h5file


def _open_hdf5_source(path: Path, source: RemoteFile) -> h5py.File:
    """``h5py.File`` over a remote file's view; typed errors as for a local file."""
    from .remote import h5_walk

    problem = h5_walk.metadata_problem(source)  # damaged metadata can make HDF5 loop, remote too
    if problem:
        raise CorruptRecordingError(path, f"the HDF5 file is damaged: {problem}")
    try:
        h5file = h5py.File(source.open_view(), "r")
    except OSError as exc:
        _raise_source_failure(source, exc)
        raise UnsupportedFormatError(path, f"is not a readable HDF5 file ({exc})") from exc
    try:
        _check_is_nwb(h5file, path)
    except BaseException:
        h5file.close()
        raise
    return h5file


def _raise_source_failure(source: RemoteFile | None, exc: BaseException) -> None:
    """Raise the network error behind an ``OSError`` h5py raised while reading ``source``."""
    failure = source.pop_failure() if source is not None else None
    if failure is not None:
        raise failure from exc


def _h5_open(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        if "lock" not in str(exc).lower():
            raise
    # File locking fails on some network and read-only file systems; reading is safe anyway.
    return h5py.File(path, "r", locking=False)


def _check_is_nwb(h5file: h5py.File, path: Path) -> None:
    version = h5file.attrs.get("nwb_version")
    if version is None and isinstance(h5file.get("nwb_version"), h5py.Dataset):
        raise UnsupportedVariantError(
            path, f"is an NWB 1.x file ({text(h5file['nwb_version'][()])}); Tracemark reads "
                  "NWB 2.x (convert it with the NWB 1-to-2 converter)")
    if version is None and neurodata_type(h5file) != "NWBFile":
        raise UnsupportedFormatError(
            path, "is an HDF5 file but not NWB (its root has no 'nwb_version' attribute)")
    if "session_start_time" not in h5file:
        raise CorruptRecordingError(path, "NWB file without the required 'session_start_time'")


def _parse(h5file: h5py.File, path: Path, voltage_unit: str, require_streams: bool
           ) -> tuple[RecordingHeader, tuple[StreamSource, ...], list[Event]]:
    start, shift, time_note = _time_reference(h5file)
    items = walk(h5file)
    signals = [i for i in items if i.kind == "signal"]
    sources = _streams(h5file, signals, shift, path, voltage_unit)
    events = _events(h5file, items, shift)
    skipped = [f"{i.path[1:]} ({i.reason})" for i in items if i.kind == "skipped"]
    skipped += _unwalked(h5file)
    if not sources:
        no_signal = "no continuous signal (no TimeSeries with numeric data)"
        if require_streams:
            found = f"; it holds {len(events)} events" if events else ""
            raise UnsupportedVariantError(
                path, f"NWB file with {no_signal}{found}; not shown: "
                      f"{', '.join(skipped) or 'nothing else'}")
        skipped.insert(0, no_signal)
    details = _details(h5file, skipped, time_note)
    header = RecordingHeader(path=path, format_name=FORMAT_NAME, start_datetime=start,
                             streams=tuple(s.header for s in sources), details=details)
    return header, sources, events


def _streams(h5file: h5py.File, signals: list[Item], shift: float, path: Path,
             voltage_unit: str) -> tuple[StreamSource, ...]:
    names = [_readable_name(item.path) for item in signals]
    names = [n if names.count(n) == 1 else item.path[1:] for n, item in zip(names, signals)]
    sources = [describe_signal(h5file, item, name, shift, path, voltage_unit)
               for item, name in zip(signals, names)]
    electrical = ["ElectricalSeries" in item.neurodata_type for item in signals]
    order = sorted(range(len(sources)), key=lambda k: not electrical[k])
    return tuple(sources[k] for k in order)


def _readable_name(hdf5_path: str) -> str:
    for prefix, replacement in _NAME_PREFIXES:
        if hdf5_path.startswith(prefix):
            return replacement + hdf5_path[len(prefix):]
    return hdf5_path.lstrip("/")


def _events(h5file: h5py.File, items: list[Item], shift: float) -> list[Event]:
    tables = {i.name for i in items if i.kind in ("interval_table", "event_table")}
    events: list[Event] = []
    for item in items:
        group = h5file[item.path]
        if item.kind == "interval_table":
            events += interval_table_events(group, shift)
        elif item.kind == "event_table":
            events += event_table_events(h5file, group, shift)
        elif item.kind == "event_series":
            # pynapple writes a series and a table under one name: keep the sources apart.
            name = _readable_name(item.path)
            source = item.path[1:] if name in tables else name
            events += [dataclasses.replace(e, source=source)
                       for e in event_series_events(group, item.neurodata_type, shift)]
    return events


def _time_reference(h5file: h5py.File) -> tuple[datetime | None, float, str]:
    """(session start, seconds from it to timestamps_reference_time, a note when unusual)."""
    start = parse_datetime(text(h5file["session_start_time"][()]))
    reference = h5file.get("timestamps_reference_time")
    if start is None or not isinstance(reference, h5py.Dataset):
        return start, 0.0, ""
    ref = parse_datetime(text(reference[()]))
    if ref is None or (ref.tzinfo is None) != (start.tzinfo is None):
        return start, 0.0, ""
    shift = (ref - start).total_seconds()
    note = f"times count from {ref.isoformat()}, {shift:+g} s from the session start" if shift else ""
    return start, shift, note


def parse_datetime(value: str) -> datetime | None:
    """An ISO 8601 date-time as stored by NWB, or None when it cannot be parsed."""
    value = value.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _unwalked(h5file: h5py.File) -> list[str]:
    notes = []
    units = h5file.get("units")
    if isinstance(units, h5py.Group):
        ids = units.get("id")
        count = ids.shape[0] if isinstance(ids, h5py.Dataset) else 0
        notes.append(f"units (spike times of {count} unit{'' if count == 1 else 's'})")
    analysis = h5file.get("analysis")
    if isinstance(analysis, h5py.Group) and len(analysis):
        notes.append(f"analysis ({', '.join(sorted(analysis))})")
    return notes


def _details(h5file: h5py.File, skipped: list[str], time_note: str) -> tuple[tuple[str, str], ...]:
    def dataset_text(key: str) -> str:
        value = h5file.get(key)
        return text(value[()]).strip() if isinstance(value, h5py.Dataset) else ""

    details = [("format", f"NWB {text(h5file.attrs.get('nwb_version', '?'))}")]
    for label, key in (("identifier", "identifier"), ("session", "session_description"),
                       ("institution", "general/institution"), ("lab", "general/lab"),
                       ("experimenter", "general/experimenter")):
        if value := dataset_text(key):
            details.append((label, value))
    subject = h5file.get("general/subject")
    if isinstance(subject, h5py.Group):
        facts = [f"{k} {dataset_text(f'general/subject/{k}')}"
                 for k in ("subject_id", "species", "sex", "age") if dataset_text(f"general/subject/{k}")]
        if facts:
            details.append(("subject", ", ".join(facts)))
    devices = h5file.get("general/devices")
    if isinstance(devices, h5py.Group) and len(devices):
        details.append(("devices", ", ".join(sorted(devices))))
    if time_note:
        details.append(("time reference", time_note))
    if skipped:
        shown = skipped[:MAX_LISTED]
        if len(skipped) > MAX_LISTED:
            shown.append(f"and {len(skipped) - MAX_LISTED} more")
        details.append(("not shown", "; ".join(shown)))
    return tuple(details)
