"""Read events from an NWB file's interval tables, event tables and event-like series.

Used by :mod:`tracemark.io_backends.nwb` on open (event lists are small next to signals).

Rules (``source`` is the table's name, or the series' name; the caller may qualify it):

* **Interval tables** (TimeIntervals: ``epochs``, ``trials``, ``invalid_times`` and any
  other, in ``/intervals`` or in processing): one event per row, ``time = start_time``,
  ``duration = stop_time - start_time``; the label is the first non-empty value among the
  columns ``label``, ``tags`` (ragged tags are joined with ", "), ``tag``, ``annotation``,
  ``description``, ``name``, ``type``, ``trial_type``, ``condition``, ``stimulus``; else
  the table's name.
* **Events tables** (core ``EventsTable`` in ``/events``, ndx-events ``EventsTable``,
  ``TtlsTable``): ``time = timestamp``, the ``duration`` column when present (NaN = 0);
  the label from the ``event_type``/``ttl_type`` row's ``event_name``, else the
  ``annotation``, ``label`` or ``value`` column, else the table name.
* **AnnotationSeries** (and any text series with timestamps): label = the text.
* **IntervalSeries**: a positive value opens an interval, the same negative value closes
  it; the label is the series name, plus the code when the series uses several codes.
* **ndx-events Events / LabeledEvents / TTLs**: label = the series name, or its
  ``labels[value]`` for labelled events.
* **Event-like TimeSeries** (BehavioralEvents members, lick or reward times...): label =
  the series name (or ``"<name> <value>"`` when integer data take several values).

Stored times are relative to ``timestamps_reference_time``; ``time_shift`` moves them to
the recording's axis (seconds from ``session_start_time``).
"""

from __future__ import annotations

from collections.abc import Iterable

import h5py
import numpy as np

from .nwb_layout import read_whole, require_small, text
from .protocol import Event

LABEL_COLUMNS = ("label", "tags", "tag", "annotation", "description", "name", "type",
                 "trial_type", "condition", "stimulus")


def interval_table_events(table: h5py.Group, time_shift: float) -> list[Event]:
    name = table.name.rsplit("/", 1)[-1]
    starts = _column(table, "start_time")
    if starts is None:
        return []
    starts = np.asarray(starts, dtype=np.float64)
    stops = _column(table, "stop_time")
    stops = starts if stops is None else np.asarray(stops, dtype=np.float64)
    durations = np.where(np.isfinite(stops), stops - starts, 0.0).clip(min=0.0)
    labels = _row_labels(table, LABEL_COLUMNS, starts.size)
    return [Event(float(t) + time_shift, float(d), lab or name, name)
            for t, d, lab in zip(starts, durations, labels) if np.isfinite(t)]


def event_table_events(h5file: h5py.File, table: h5py.Group, time_shift: float) -> list[Event]:
    name = table.name.rsplit("/", 1)[-1]
    times = np.asarray(_column(table, "timestamp"), dtype=np.float64)
    durations = _column(table, "duration")
    durations = np.zeros_like(times) if durations is None else np.nan_to_num(
        np.asarray(durations, dtype=np.float64))
    labels = _type_names(h5file, table, times.size) or _row_labels(
        table, ("annotation", "label", "value"), times.size)
    return [Event(float(t) + time_shift, float(d), lab or name, name)
            for t, d, lab in zip(times, durations, labels) if np.isfinite(t)]


def event_series_events(series: h5py.Group, neurodata_type: str, time_shift: float) -> list[Event]:
    name = series.name.rsplit("/", 1)[-1]
    data = series.get("data")
    times = _series_times(series, data) + time_shift
    values = read_whole(data).reshape(-1) if isinstance(data, h5py.Dataset) else None
    if values is None or values.shape != times.shape:
        return [Event(float(t), 0.0, name, name) for t in times]
    if neurodata_type == "IntervalSeries":
        return _interval_series(times, values, name)
    if values.dtype.kind in "SUO":
        return [Event(float(t), 0.0, text(v).strip() or name, name) for t, v in zip(times, values)]
    labels = _value_labels(series, data, values, name)
    return [Event(float(t), 0.0, lab, name) for t, lab in zip(times, labels)]


def _series_times(series: h5py.Group, data: h5py.Dataset) -> np.ndarray:
    timestamps = series.get("timestamps")
    if isinstance(timestamps, h5py.Dataset):
        return np.asarray(read_whole(timestamps), dtype=np.float64).reshape(-1)
    starting_time = series.get("starting_time")
    if isinstance(starting_time, h5py.Dataset) and isinstance(data, h5py.Dataset) and data.ndim:
        rate = float(starting_time.attrs.get("rate", 0.0))
        if rate > 0:
            require_small(data)
            return float(starting_time[()]) + np.arange(data.shape[0]) / rate
    return np.empty(0)


def _value_labels(series: h5py.Group, data: h5py.Dataset, values: np.ndarray,
                  name: str) -> list[str]:
    label_names = series.attrs.get("labels", data.attrs.get("labels"))
    if label_names is not None and values.dtype.kind in "iu":
        names = [text(v) for v in np.asarray(label_names).reshape(-1)]
        return [names[v] if 0 <= v < len(names) and names[v] else f"{name} {v}"
                for v in values.tolist()]
    if values.dtype.kind in "iu" and np.unique(values).size > 1:
        return [f"{name} {v}" for v in values.tolist()]
    return [name] * values.size


def _interval_series(times: np.ndarray, codes: np.ndarray, name: str) -> list[Event]:
    codes = np.asarray(codes).astype(np.int64)
    several = np.unique(codes[codes > 0]).size > 1
    order = np.argsort(times, kind="stable")
    open_at: dict[int, float] = {}
    events = []
    for t, code in zip(times[order], codes[order]):
        label = f"{name} {abs(code)}" if several else name
        if code > 0:
            if code in open_at:  # reopened without a close: keep the first as an instant
                events.append(Event(open_at[code], 0.0, label, name))
            open_at[code] = float(t)
        elif code < 0 and -code in open_at:
            start = open_at.pop(-code)
            events.append(Event(start, float(t) - start, label, name))
    events += [Event(t, 0.0, f"{name} {c}" if several else name, name) for c, t in open_at.items()]
    return events


def _column(table: h5py.Group, column: str) -> np.ndarray | None:
    dataset = table.get(column)
    if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 1:
        return None
    return read_whole(dataset)


def _row_labels(table: h5py.Group, columns: Iterable[str], n_rows: int) -> list[str]:
    """Per row, the first non-empty value among ``columns`` (ragged ones joined)."""
    labels = [""] * n_rows
    for column in columns:
        values = _ragged_text(table, column, n_rows)
        if values is None:
            continue
        labels = [old or new for old, new in zip(labels, values)]
        if all(labels):
            break
    return labels


def _ragged_text(table: h5py.Group, column: str, n_rows: int) -> list[str] | None:
    dataset = table.get(column)
    if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 1:
        return None
    if dataset.dtype.kind not in "SUOiubf":
        return None
    values = read_whole(dataset)
    index = table.get(f"{column}_index")
    if isinstance(index, h5py.Dataset):
        ends = np.asarray(read_whole(index), dtype=np.int64)
        if ends.size != n_rows:
            return None
        starts = np.concatenate(([0], ends[:-1]))
        return [", ".join(_cell(v) for v in values[s:e]) for s, e in zip(starts, ends)]
    if values.shape[0] != n_rows:
        return None
    return [_cell(v) for v in values]


def _cell(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:g}"
    return text(value).strip()


def _type_names(h5file: h5py.File, table: h5py.Group, n_rows: int) -> list[str] | None:
    for column in ("event_type", "ttl_type"):
        region = table.get(column)
        if not isinstance(region, h5py.Dataset) or "table" not in region.attrs:
            continue
        try:
            types = h5file[region.attrs["table"]]
        except (KeyError, ValueError, TypeError):
            continue
        names = _ragged_text(types, "event_name", types["id"].shape[0]) if "id" in types else None
        rows = np.asarray(read_whole(region), dtype=np.int64)
        if names is None or rows.size != n_rows:
            continue
        return [names[r] if 0 <= r < len(names) else "" for r in rows]
    return None
