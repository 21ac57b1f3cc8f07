"""Find what an NWB file holds by walking its HDF5 groups: signals, event sources, the rest.

Used by :mod:`tracemark.io_backends.nwb` on open. The walk reads only group names and
attributes (``neurodata_type``) and dataset shapes, never sample data, so its cost grows
with the number of objects in the file, not with the recording's length.

Classification is structural first and by ``neurodata_type`` second, because extensions
define new TimeSeries subtypes that no fixed list can know:

* a group with a ``data`` dataset and ``timestamps`` or ``starting_time`` is a TimeSeries;
  it is a **signal** when ``data`` is numeric and 1-D or 2-D, an **event series** when it
  is event-like (see :func:`is_event_like`), else skipped (images, text, 3-D+ data,
  more than :data:`MAX_CHANNELS` columns);
* a DynamicTable with ``start_time`` is an **interval table** (TimeIntervals: epochs,
  trials, any other); one with ``timestamp`` is an **events table** (core ``EventsTable``
  of NWB 2.9+, ndx-events ``EventsTable``/``TtlsTable``);
* ndx-events ``Events`` (timestamps, no data) is an event series;
* Units and every other table are skipped; other groups (processing modules, LFP,
  Position, BehavioralEvents, ...) are containers and are walked into.

Walked: ``/acquisition``, ``/processing``, ``/stimulus/presentation``, ``/intervals`` and
``/events`` (NWB 2.9+ core ``EventsTable``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import h5py
import numpy as np

#: Top-level groups walked, in the order their streams are listed.
WALKED_ROOTS = ("acquisition", "processing", "stimulus/presentation", "intervals", "events")

#: Types that are events whatever their data look like.
EVENT_SERIES_TYPES = frozenset({"AnnotationSeries", "IntervalSeries", "Events",
                                "LabeledEvents", "TTLs"})
#: Containers whose TimeSeries are events by definition (NWB core ``BehavioralEvents``).
EVENT_CONTAINER_TYPES = frozenset({"BehavioralEvents"})
#: Words in a plain TimeSeries' name that mark it as a list of event times.
EVENT_NAME_WORDS = frozenset({
    "event", "events", "lick", "licks", "time", "times", "onset", "onsets", "ttl", "ttls",
    "trigger", "triggers", "pulse", "pulses", "reward", "rewards", "ripple", "ripples",
    "marker", "markers", "spike", "spikes"})
SIGNAL_KINDS = frozenset("iufb")
#: NWB nests at most module/container/series; deeper means a link cycle or a foreign layout.
MAX_DEPTH = 8
#: More columns than this in one series is not a montage a person reads (the largest
#: arrays record a few thousand channels at once), but a transposed or damaged shape whose
#: per-channel header (names, gains) alone would take gigabytes; such series are skipped.
MAX_CHANNELS = 65536
#: Largest table column or event list read whole on open (see :func:`read_whole`): far
#: above real trial tables and event lists, far below an allocation that hurts.
MAX_READ_WHOLE = 4_000_000


@dataclass(frozen=True)
class Item:
    """One object found in the file and what it was judged to be."""

    kind: str  # "signal", "event_series", "interval_table", "event_table", "skipped"
    path: str  # HDF5 path, e.g. "/acquisition/ElectricalSeries"
    neurodata_type: str
    reason: str = ""  # why it was skipped

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def read_whole(dataset: h5py.Dataset) -> np.ndarray:
    """``dataset[()]`` for a metadata column or event list; ``ValueError`` when it is huge.

    HDF5 lets a dataset declare any number of rows without storing them (chunks never
    written read as fill values), and a damaged dataspace can declare anything: the size
    is checked before the read allocates it.
    """
    require_small(dataset)
    values: np.ndarray = dataset[()]
    return values


def require_small(dataset: h5py.Dataset) -> None:
    """``ValueError`` when ``dataset`` is too large for :func:`read_whole`."""
    if dataset.size > MAX_READ_WHOLE:
        raise ValueError(f"{dataset.name} declares {dataset.size} values, more than the "
                         f"{MAX_READ_WHOLE} Tracemark reads at once from a table or event list")


def string_column(table: h5py.Group, column: str, rows: np.ndarray) -> list[str] | None:
    """The strings of a table column at ``rows``; None when the column is absent or ragged."""
    dataset = table.get(column)
    if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 1 or f"{column}_index" in table:
        return None
    values = read_whole(dataset)
    return [text(values[r]).strip() for r in rows]


def text(value: object) -> str:
    """An HDF5 attribute or string-dataset value as ``str`` (bytes decoded, arrays joined)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        if value.shape == ():
            return text(value[()])
        return ", ".join(text(v) for v in value.reshape(-1))
    if isinstance(value, np.generic):
        return text(value.item())
    return str(value)


def neurodata_type(obj: h5py.HLObject) -> str:
    return text(obj.attrs.get("neurodata_type", ""))


def walk(h5file: h5py.File) -> list[Item]:
    """Every signal, event source and skipped object under the walked roots."""
    items: list[Item] = []
    for root in WALKED_ROOTS:
        group = h5file.get(root)
        if isinstance(group, h5py.Group):
            _walk_group(group, "", items)
    return items


def _walk_group(group: h5py.Group, parent_type: str, items: list[Item], depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        return
    for key in group:
        link = group.get(key, getlink=True)
        if isinstance(link, h5py.SoftLink):
            continue  # a second name for an object that is walked where it lives
        child = group.get(key)
        if child is None:  # a dangling external link
            items.append(Item("skipped", f"{group.name}/{key}", "", "broken link"))
            continue
        if isinstance(child, h5py.Dataset):
            continue
        item = classify(child, parent_type)
        if item is None:
            _walk_group(child, neurodata_type(child), items, depth + 1)
        else:
            items.append(item)


def classify(group: h5py.Group, parent_type: str = "") -> Item | None:
    """What ``group`` is, or ``None`` for a container to walk into."""
    ntype = neurodata_type(group)
    path = group.name
    if ntype in ("Units",) or (ntype.endswith("Table") and "timestamp" not in group
                               and "start_time" not in group):
        return Item("skipped", path, ntype, _table_summary(group, ntype))
    if "start_time" in group and isinstance(group["start_time"], h5py.Dataset):
        return Item("interval_table", path, ntype)
    if "timestamp" in group and "colnames" in group.attrs:
        return Item("event_table", path, ntype)
    if "colnames" in group.attrs:
        return Item("skipped", path, ntype, _table_summary(group, ntype))
    has_time = "timestamps" in group or "starting_time" in group
    if "external_file" in group:
        return Item("skipped", path, ntype, "data in an external file")
    if "data" not in group:
        if ntype == "Events" and "timestamps" in group:
            return Item("event_series", path, ntype)
        if has_time or ntype.endswith("Series"):
            return Item("signal", path, ntype)  # rejected with a clear error later
        return None
    if not has_time:
        return None if not ntype.endswith("Series") else Item("signal", path, ntype)
    if is_event_like(group, ntype, parent_type):
        return Item("event_series", path, ntype)
    data = group["data"]
    if not isinstance(data, h5py.Dataset):
        return Item("skipped", path, ntype, "data is not a dataset")
    if data.dtype.kind not in SIGNAL_KINDS:
        return Item("skipped", path, ntype, f"{data.dtype.kind!r}-type data is not a signal")
    if data.ndim not in (1, 2):
        return Item("skipped", path, ntype, f"{data.ndim}-D data (image or volume)")
    if data.shape[0] == 0 or (data.ndim == 2 and data.shape[1] == 0):
        return Item("skipped", path, ntype, "empty")
    if data.ndim == 2 and data.shape[1] > MAX_CHANNELS:
        return Item("skipped", path, ntype, f"{data.shape[1]} channels, more than "
                                            f"{MAX_CHANNELS} (transposed data?)")
    return Item("signal", path, ntype)


def is_event_like(group: h5py.Group, ntype: str, parent_type: str) -> bool:
    """True when a TimeSeries lists discrete events rather than a sampled signal.

    Rules, in order: an event type (AnnotationSeries, IntervalSeries, ndx-events types);
    with timestamps (a series sampled at a rate is a signal), any series inside a
    BehavioralEvents container, text data, or a plain
    ``TimeSeries`` with 1-D data and a name containing an event word
    (``lick_left_times``, ``sleep_ripples``, ``reward_events``, ...).
    """
    if ntype in EVENT_SERIES_TYPES:
        return True
    data = group.get("data")
    if not isinstance(data, h5py.Dataset) or "timestamps" not in group:
        return False  # sampled at a rate: a signal, even inside BehavioralEvents
    if parent_type in EVENT_CONTAINER_TYPES:
        return True
    if data.dtype.kind in "SUO" and data.ndim == 1:
        return True
    if ntype != "TimeSeries" or data.ndim != 1:
        return False
    return bool(name_words(group.name.rsplit("/", 1)[-1]) & EVENT_NAME_WORDS)


def name_words(name: str) -> set[str]:
    """Lower-case words of a snake_case or CamelCase name."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {w for w in re.split(r"[^a-zA-Z]+", spaced.lower()) if w}


def _table_summary(group: h5py.Group, ntype: str) -> str:
    ids = group.get("id")
    rows = f"{ids.shape[0]} rows" if isinstance(ids, h5py.Dataset) and ids.ndim == 1 else "table"
    return f"{ntype or 'table'}, {rows}"
