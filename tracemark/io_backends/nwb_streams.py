"""Turn one NWB TimeSeries into a Tracemark stream header (names, units, scaling, clock).

Used by :mod:`tracemark.io_backends.nwb` on open; reads attributes, the electrodes
table and at most two timestamps, never sample data.

Scaling: NWB says ``value = data * conversion [* channel_conversion[ch]] + offset`` in the
series' ``unit`` (pynwb's ``get_data_in_units``), so ``gains = conversion *
channel_conversion`` and ``offsets = offset``. Units are written as symbols (``V``, ``A``,
``m``, ``rad``, ``s``) when the file spells out a common SI name. Series stored in volts
(every ElectricalSeries, current-clamp responses) are presented in ``voltage_unit``
(microvolts by default: gains and offsets times 1e6), so that an NWB EEG reads, scales
and compares like the same EEG in EDF or TRC; ``voltage_unit="V"`` keeps volts.

Channel names: an ElectricalSeries names its channels through its ``electrodes`` region
of the electrodes table: the ``label`` column when present, else ``"<location> <id>"``,
else the electrode id. Any other series is one channel named after the series when its
data are 1-D, else ``"<series>[i]"``.

Channel types (:mod:`.nwb_channel_types`) come from the series' ``neurodata_type`` and
its electrodes' groups and locations; ``kind`` is the ``neurodata_type``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .errors import CorruptRecordingError
from .nwb_channel_types import ElectrodeRows, series_channel_types
from .nwb_layout import Item, read_whole, string_column, text
from .protocol import StreamHeader

#: Makes the error that names the series and what is wrong with it.
_Fail = Callable[[str], CorruptRecordingError]

UNIT_SYMBOLS = {
    "volt": "V", "volts": "V", "v": "V", "millivolts": "mV", "microvolts": "uV",
    "ampere": "A", "amperes": "A", "amps": "A", "amp": "A",
    "second": "s", "seconds": "s", "meter": "m", "meters": "m", "metre": "m", "metres": "m",
    "radian": "rad", "radians": "rad", "degree": "deg", "degrees": "deg",
    "unknown": "", "no unit": "", "n/a": "",
}
#: Presentation units for series stored in volts, and their factor from volts.
VOLTAGE_UNITS = {"V": 1.0, "mV": 1e3, "uV": 1e6}


@dataclass(frozen=True)
class StreamSource:
    """Where a stream's samples and (for irregular streams) timestamps live in the file."""

    header: StreamHeader
    data_path: str
    timestamps_path: str | None
    #: Seconds added to stored times to put them on the recording's time axis.
    time_shift: float


def unit_symbol(unit: str) -> str:
    return UNIT_SYMBOLS.get(unit.strip().lower(), unit.strip())


def describe_signal(h5file: h5py.File, item: Item, name: str, time_shift: float,
                    file_path: Path, voltage_unit: str = "uV") -> StreamSource:
    """The stream header of the signal series at ``item.path``; typed error when inconsistent."""
    group = h5file[item.path]

    def fail(problem: str) -> CorruptRecordingError:
        return CorruptRecordingError(file_path, f"NWB series {item.path}: {problem}")

    data = group.get("data")
    if not isinstance(data, h5py.Dataset):
        raise fail("has no 'data' dataset")
    if data.ndim not in (1, 2):
        raise fail(f"data has {data.ndim} dimensions, expected time x channels")
    n_samples = int(data.shape[0])
    n_channels = 1 if data.ndim == 1 else int(data.shape[1])
    rate, start, timestamps_path = _clock(group, n_samples, fail)
    gains = _gains(group, data, n_channels, fail)
    offset = float(data.attrs.get("offset", 0.0))
    if not (np.all(np.isfinite(gains)) and np.isfinite(offset)):
        raise fail(f"its scaling is not finite (conversion x channel_conversion "
                   f"{gains.tolist()[:4]}, offset {offset})")
    unit = unit_symbol(text(data.attrs.get("unit", "")))
    if unit == "V":
        factor = VOLTAGE_UNITS[voltage_unit]
        gains, offset, unit = gains * factor, offset * factor, voltage_unit
    electrodes = _electrode_rows(h5file, group, n_channels, fail)
    channel_names = _channel_names(electrodes, item.name, data.ndim, n_channels)
    units = (unit,) * n_channels
    header = StreamHeader(
        stream_id=item.path,
        name=name,
        sampling_rate=rate,
        n_samples=n_samples,
        channel_names=channel_names,
        units=units,
        gains=gains,
        offsets=np.full(n_channels, offset),
        raw_dtype=data.dtype,
        start_offset_s=start + time_shift,
        regular=timestamps_path is None,
        channel_types=series_channel_types(h5file, group, item.neurodata_type, electrodes,
                                           channel_names, units),
        kind=item.neurodata_type,
    )
    return StreamSource(header, data.name, timestamps_path, time_shift)


def _clock(group: h5py.Group, n_samples: int, fail: _Fail) -> tuple[float, float, str | None]:
    """(sampling rate, first sample time, timestamps dataset path or None)."""
    timestamps = group.get("timestamps")
    if isinstance(timestamps, h5py.Dataset):
        if timestamps.shape != (n_samples,):
            raise fail(f"has {n_samples} samples but timestamps of shape {timestamps.shape}")
        first, last = float(timestamps[0]), float(timestamps[n_samples - 1])
        span = last - first
        if not np.isfinite(span) or span < 0:
            raise fail(f"timestamps are not ascending ({first} .. {last})")
        # A mean rate lets the viewer size windows; exact times come from sample_times().
        rate = (n_samples - 1) / span if n_samples > 1 and span > 0 else 1.0
        return rate, first, timestamps.name
    starting_time = group.get("starting_time")
    if not isinstance(starting_time, h5py.Dataset):
        raise fail("has neither 'timestamps' nor 'starting_time'")
    rate = float(starting_time.attrs.get("rate", np.nan))
    if not np.isfinite(rate) or rate <= 0:
        raise fail(f"starting_time has no valid 'rate' attribute ({rate})")
    start = float(starting_time[()])
    if not np.isfinite(start):
        raise fail(f"starting_time is {start}, not a time")
    return rate, start, None


def _gains(group: h5py.Group, data: h5py.Dataset, n_channels: int, fail: _Fail) -> np.ndarray:
    conversion = float(data.attrs.get("conversion", 1.0))
    gains = np.full(n_channels, conversion)
    channel_conversion = group.get("channel_conversion")
    if isinstance(channel_conversion, h5py.Dataset):
        if channel_conversion.size != n_channels:  # checked before a read sized by the file
            raise fail(f"channel_conversion has {channel_conversion.size} values for "
                       f"{n_channels} channels")
        factors = np.asarray(channel_conversion[()], dtype=np.float64).reshape(-1)
        gains = gains * factors
    return gains


def _electrode_rows(h5file: h5py.File, group: h5py.Group, n_channels: int,
                    fail: _Fail) -> ElectrodeRows | None:
    """The electrodes-table rows of a series' channels; None when it has no electrodes."""
    region = group.get("electrodes")
    if not (isinstance(region, h5py.Dataset) and "table" in region.attrs):
        return None
    if region.size != n_channels:  # checked before a read sized by the file
        raise fail(f"data has {n_channels} channels but {region.size} electrodes")
    rows = np.asarray(region[()], dtype=np.int64).reshape(-1)
    try:
        table = h5file[region.attrs["table"]]
    except (KeyError, ValueError, TypeError) as exc:
        raise fail(f"its electrodes table cannot be found ({exc})") from exc
    if not isinstance(table, h5py.Group):
        raise fail(f"its electrodes reference {table.name}, which is not a table")
    ids = table.get("id")
    n_rows = ids.shape[0] if isinstance(ids, h5py.Dataset) else None
    if n_rows is not None and rows.size and (rows.min() < 0 or rows.max() >= n_rows):
        raise fail(f"electrodes refer to row {int(rows.max())} of a {n_rows}-row table")
    return ElectrodeRows(table, rows)


def _channel_names(electrodes: ElectrodeRows | None, series_name: str, ndim: int,
                   n_channels: int) -> tuple[str, ...]:
    if electrodes is not None:
        return _electrode_names(electrodes.table, electrodes.rows)
    if ndim == 1:
        return (series_name,)
    return tuple(f"{series_name}[{i}]" for i in range(n_channels))


def _electrode_names(table: h5py.Group, rows: np.ndarray) -> tuple[str, ...]:
    ids = table.get("id")
    id_values = read_whole(ids)[rows] if isinstance(ids, h5py.Dataset) else rows
    labels = string_column(table, "label", rows)
    if labels is not None and all(labels):
        return tuple(labels)
    locations = string_column(table, "location", rows)
    if locations is not None and all(locations):
        return tuple(f"{loc} {int(i)}" for loc, i in zip(locations, id_values))
    return tuple(str(int(i)) for i in id_values)
