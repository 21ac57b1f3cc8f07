"""Read NWB-Zarr stores (NWB written to Zarr by hdmf-zarr), lazily, from a server or a local folder.

A Zarr store is a folder of small objects (metadata, then one object per chunk), not one
file, so it cannot go through the byte-range :class:`~.source.RemoteFile`: hdmf-zarr opens it
(``NWBZarrIO``, which reads the consolidated metadata once over fsspec's HTTP store, or the
folder itself when the store is a local ``x.nwb.zarr`` folder), pynwb resolves the
electrodes table and its references, and each read slices the series' Zarr array, which
fetches only the chunks it covers. pynwb, hdmf-zarr, zarr and fsspec are imported here, on
the first NWB-Zarr open only. A store on a server must have consolidated metadata
(``.zmetadata``): its folder cannot be listed over HTTP, so one without is refused up front.

What becomes what follows :mod:`tracemark.io_backends.nwb` (scaling ``data * conversion *
channel_conversion + offset``, volts shown as ``voltage_unit``, ElectricalSeries channels
named by the electrodes' ``label`` column, else ``"<location> <id>"``, else the id; other
series by their name), for series with a sampling rate. Series with timestamps are
listed under ``details["not shown"]`` rather than read. Events: every interval table
(trials, epochs, ...), one event per row, labelled with the table's name.

The same reader serves the three ways a store is named: a URL ending in ``.zarr``, a DANDI
Zarr asset (resolved by :mod:`.dandi` to its folder on S3) and a local folder
(``open_recording("x.nwb.zarr")``, routed here by :mod:`tracemark.io_backends.registry`);
it lives with the remote code because streaming is what it was written for.

Not done: the disk block cache (chunks are fetched again in a new session); Zarr v3 stores
(hdmf-zarr writes v2).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptRecordingError, MissingDependencyError, UnsupportedFormatError
from ..nwb_streams import VOLTAGE_UNITS, unit_symbol
from ..protocol import (
    BaseRecording,
    Event,
    RecordingHeader,
    StreamHeader,
    contiguous_slice,
)
from .errors import RemoteNotFoundError, RemoteRecordingError
from .http_range import HttpRangeClient
from .locations import RemotePath

FORMAT_NAME = "NWB-Zarr"


def open_nwb_zarr(path: str | os.PathLike[str], address: str | None = None, *,
                  voltage_unit: str = "uV", timeout: float = 10.0,
                  **options: Any) -> NwbZarrRecording:
    """Open an NWB-Zarr store read-only: a local folder ``path``, or the store on a server at
    ``address`` (http or https), named ``path`` (a :class:`~.locations.RemotePath`: the URL or DANDI
    identifier the person gave). ``timeout`` bounds every connect and every read of the
    HTTP requests (seconds); a local folder takes no ``address`` and ignores ``timeout``.
    """
    if options:
        raise TypeError(f"open_nwb_zarr() got unexpected options: {', '.join(sorted(options))}")
    if voltage_unit not in VOLTAGE_UNITS:
        raise ValueError(f"voltage_unit must be one of {', '.join(VOLTAGE_UNITS)}")
    path = path if isinstance(path, Path) else Path(path)
    try:
        from hdmf_zarr.nwb import NWBZarrIO
    except ImportError as exc:
        raise MissingDependencyError(path, "reading NWB-Zarr needs hdmf-zarr "
                                           "(pip install hdmf-zarr aiohttp)") from exc
    if address is None:
        io = _open_local_io(NWBZarrIO, path)
    else:
        io = _open_remote_io(NWBZarrIO, path, address, timeout)
    try:
        nwbfile = io.read()
        return NwbZarrRecording(io, *_describe(nwbfile, path, voltage_unit))
    except (RemoteRecordingError, CorruptRecordingError):
        io.close()
        raise
    except Exception as exc:
        io.close()
        raise CorruptRecordingError(path, f"the NWB-Zarr store cannot be read ({exc})") from exc


def _open_local_io(io_class: Any, path: Path) -> Any:
    if not (path / ".zmetadata").is_file() and not (path / ".zgroup").is_file():
        raise UnsupportedFormatError(path, "is not a Zarr store (a folder holding .zgroup "
                                           "or .zmetadata, as hdmf-zarr writes)")
    try:
        return io_class(str(path), mode="r")
    except Exception as exc:
        raise CorruptRecordingError(path, f"the Zarr store cannot be opened ({exc})") from exc


def _open_remote_io(io_class: Any, path: Path, address: str, timeout: float) -> Any:
    try:
        import aiohttp  # fsspec's HTTP store needs it; local folders do not
    except ImportError as exc:
        raise MissingDependencyError(path, "streaming NWB-Zarr needs aiohttp "
                                           "(pip install aiohttp)") from exc

    _require_consolidated_metadata(path, address, timeout)
    limits = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
    try:
        return io_class(address, mode="r", storage_options={"client_kwargs": {"timeout": limits}})
    except (FileNotFoundError, KeyError) as exc:
        raise RemoteNotFoundError(path, "no Zarr store at this address (its consolidated "
                                        "metadata .zmetadata was not found)") from exc
    except Exception as exc:
        raise RemoteRecordingError(path, f"the Zarr store cannot be opened ({exc})") from exc


def _require_consolidated_metadata(path: Path, address: str, timeout: float) -> None:
    """Refuse a store without ``.zmetadata`` before hdmf-zarr sees it: over HTTP a folder
    cannot be listed, so hdmf-zarr's fallback to walking the store fails half-way with an
    error about a missing attribute rather than about the store."""
    where = path if isinstance(path, RemotePath) else RemotePath(address)
    client = HttpRangeClient(f"{address.rstrip('/')}/.zmetadata", where,
                             connections=1, timeout=timeout)
    try:
        client.probe(1)
    except RemoteNotFoundError as exc:
        raise RemoteNotFoundError(path, f"no NWB-Zarr store with consolidated metadata at "
                                        f"{address} (.zmetadata was not found)") from exc
    finally:
        client.close()


class NwbZarrRecording(BaseRecording):
    """A lazily read NWB-Zarr store; see the module docstring."""

    def __init__(self, io: Any, header: RecordingHeader, arrays: list[Any], events: list[Event]):
        super().__init__(header, events)
        self._io = io
        self._arrays = arrays
        self._lock = threading.Lock()

    def _read_raw_block(self, stream_index: int, i_start: int, i_stop: int,
                        channels: np.ndarray) -> np.ndarray:
        with self._lock:   # a read racing close() fails typed, never on a closed store
            self._check_not_closed()
            data = self._arrays[stream_index]
        try:
            if data.ndim == 1:
                return np.asarray(data[i_start:i_stop]).reshape(-1, 1)[:, channels]
            span = contiguous_slice(channels)
            if span is not None:
                return np.asarray(data[i_start:i_stop, span])
            low, high = int(channels.min()), int(channels.max()) + 1
            return np.asarray(data[i_start:i_stop, low:high])[:, channels - low]
        except (OSError, ValueError, KeyError) as exc:
            raise RemoteRecordingError(self._header.path, f"samples {i_start}..{i_stop} cannot "
                                                          f"be read ({exc})") from exc

    def _close_handles(self) -> None:
        with self._lock:
            self._arrays = []
            self._io.close()


def _describe(nwbfile: Any, path: Path, voltage_unit: str) -> tuple[RecordingHeader, list[Any], list[Event]]:
    from pynwb.base import TimeSeries

    series = [s for s in nwbfile.objects.values() if isinstance(s, TimeSeries)]
    signals, skipped = [], []
    for s in series:
        data = s.data
        numeric = getattr(data, "dtype", np.dtype(object)).kind in "iuf"
        if not numeric or getattr(data, "ndim", 0) not in (1, 2):
            continue
        if s.rate is None:
            skipped.append(f"{s.name} (timestamps)")
            continue
        signals.append(s)
    signals.sort(key=lambda s: "ElectricalSeries" not in s.neurodata_type)
    headers = tuple(_stream_header(s, voltage_unit) for s in signals)
    details = [("format", f"NWB-Zarr {nwbfile.fields.get('nwb_version', '')}".strip()),
               ("identifier", str(nwbfile.identifier))]
    if skipped:
        details.append(("not shown", "; ".join(skipped)))
    header = RecordingHeader(path=path, format_name=FORMAT_NAME,
                             start_datetime=nwbfile.session_start_time, streams=headers,
                             details=tuple(details))
    return header, [s.data for s in signals], _events(nwbfile)


def _stream_header(series: Any, voltage_unit: str) -> StreamHeader:
    data = series.data
    n_channels = 1 if data.ndim == 1 else int(data.shape[1])
    gains = np.full(n_channels, float(series.conversion))
    if getattr(series, "channel_conversion", None) is not None:
        gains = gains * np.asarray(series.channel_conversion[:], dtype=np.float64).reshape(-1)
    offset = float(getattr(series, "offset", 0.0) or 0.0)
    unit = unit_symbol(str(series.unit))
    if unit == "V":
        factor = VOLTAGE_UNITS[voltage_unit]
        gains, offset, unit = gains * factor, offset * factor, voltage_unit
    return StreamHeader(
        stream_id=series.name, name=series.name, sampling_rate=float(series.rate),
        n_samples=int(data.shape[0]), channel_names=_channel_names(series, n_channels),
        units=(unit,) * n_channels, gains=gains, offsets=np.full(n_channels, offset),
        raw_dtype=data.dtype, start_offset_s=float(series.starting_time or 0.0),
        kind=series.neurodata_type)


def _channel_names(series: Any, n_channels: int) -> tuple[str, ...]:
    region = getattr(series, "electrodes", None)
    if region is None:
        return (series.name,) if series.data.ndim == 1 else \
            tuple(f"{series.name}[{i}]" for i in range(n_channels))
    table = region.table
    rows = np.asarray(region.data[:], dtype=np.int64).reshape(-1)
    ids = np.asarray(table.id[:])
    if "label" in table.colnames:
        labels = table["label"].data[:]
        return tuple(str(labels[r]) for r in rows)
    if "location" in table.colnames:
        locations = table["location"].data[:]
        return tuple(f"{locations[r]} {ids[r]}" for r in rows)
    return tuple(str(ids[r]) for r in rows)


def _events(nwbfile: Any) -> list[Event]:
    events = []
    for name, table in (nwbfile.intervals or {}).items():
        starts = np.asarray(table["start_time"].data[:], dtype=np.float64)
        stops = np.asarray(table["stop_time"].data[:], dtype=np.float64)
        events += [Event(float(a), float(b - a), name, name) for a, b in zip(starts, stops)]
    return events
