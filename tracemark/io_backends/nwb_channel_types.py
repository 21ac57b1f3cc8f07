"""The type of each channel of an NWB series, from what the file says the series is.

Used by :mod:`.nwb_streams` on open. Reads a few attributes, the electrodes table's
``location`` and ``group_name`` columns and the electrode groups' attributes: small
tables, never sample data. The vocabulary is :mod:`tracemark.domain.channel_types`.

* **Intracellular** series (``PatchClampSeries`` and its subclasses: current clamp,
  voltage clamp, I=0 clamp, their ``*StimulusSeries``, and any extension type linked to
  an ``IntracellularElectrode``) are ``misc``: membrane potentials and injected currents
  are neither EEG nor anything a montage may re-reference.
* An **ElectricalSeries** (or any series with an ``electrodes`` region) is ``eeg``,
  unless the electrode's location, group name or group location/description says ECoG
  (``ecog``, ``grid``, ``strip``, ``subdural``: ``ecog``) or depth electrodes (``seeg``,
  ``depth``, ``stereo``: ``seeg``). A label naming another physiological type keeps
  it (an ``ECG`` or ``EMG chin`` electrode on the same amplifier), and a label that
  names ``SEEG``/``ECoG`` is believed when the electrodes say nothing.
* **Every other series** (SpatialSeries, plain TimeSeries...) is ``misc``, unless its
  name names a physiological or trigger type (a TimeSeries called ``ECG`` or
  ``trigger``).

Typing is a hint for display: an electrodes table whose placement columns cannot be read
leaves the channels ``eeg`` rather than refusing the file (names and scaling, which
reads depend on, are checked strictly in :mod:`.nwb_streams`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import h5py
import numpy as np

from ..domain.channel_types import ECG, ECOG, EEG, EMG, EOG, MISC, RESP, SEEG, STIM, infer_channel_types
from .nwb_layout import neurodata_type, read_whole, string_column, text

#: Core NWB intracellular series types (all subclasses of PatchClampSeries).
PATCH_CLAMP_TYPES = frozenset({
    "PatchClampSeries", "CurrentClampSeries", "IZeroClampSeries", "VoltageClampSeries",
    "CurrentClampStimulusSeries", "VoltageClampStimulusSeries"})
#: Types a channel's label gives that win over what its series says.
LABEL_TYPES_THAT_WIN = frozenset({EMG, ECG, EOG, RESP, STIM})
# Word starts, so that "subdural_grid" and "sEEG" match but "stereotrode" (a rodent
# tetrode-like wire, not a depth electrode) does not.
_ECOG_WORDS = re.compile(r"(?<![a-z])(?:ecog|grid|strip|subdural)")
_SEEG_WORDS = re.compile(r"(?<![a-z])(?:seeg|depth|stereo(?!trode))")
_GROUPS_PATH = "general/extracellular_ephys"


@dataclass(frozen=True)
class ElectrodeRows:
    """The electrodes table of a series and the row of each of its channels."""

    table: h5py.Group
    rows: np.ndarray


def series_channel_types(h5file: h5py.File, group: h5py.Group, series_type: str,
                         electrodes: ElectrodeRows | None, names: tuple[str, ...],
                         units: tuple[str, ...]) -> tuple[str, ...]:
    """One type per channel of the series ``group`` (see the module docstring)."""
    if is_patch_clamp(group, series_type):
        return (MISC,) * len(names)
    labelled = infer_channel_types(names, units)
    if not ("ElectricalSeries" in series_type or electrodes is not None):
        return tuple(t if t in LABEL_TYPES_THAT_WIN else MISC for t in labelled)
    placed = _placement_types(h5file, electrodes, len(names))
    return tuple(_electrical_type(label, place) for label, place in zip(labelled, placed))


def is_patch_clamp(group: h5py.Group, series_type: str) -> bool:
    if series_type in PATCH_CLAMP_TYPES or series_type.endswith(("ClampSeries",
                                                                 "ClampStimulusSeries")):
        return True
    # Extension types subclassing PatchClampSeries keep its link to the electrode.
    electrode = group.get("electrode")
    return isinstance(electrode, h5py.Group) and neurodata_type(electrode) == "IntracellularElectrode"


def _electrical_type(labelled: str, placed: str | None) -> str:
    if labelled in LABEL_TYPES_THAT_WIN:
        return labelled
    if placed is not None:
        return placed
    return labelled if labelled in (SEEG, ECOG) else EEG


def _placement_types(h5file: h5py.File, electrodes: ElectrodeRows | None,
                     n_channels: int) -> list[str | None]:
    """ECoG or SEEG per channel when its electrode's placement says so, else None."""
    if electrodes is None:
        return [None] * n_channels
    try:
        texts = _placement_texts(h5file, electrodes)
    except (KeyError, ValueError, TypeError, IndexError, OSError, RuntimeError):
        return [None] * n_channels
    return [_placement_type(t) for t in texts]


def _placement_type(description: str) -> str | None:
    words = description.casefold()
    if _ECOG_WORDS.search(words):
        return ECOG
    if _SEEG_WORDS.search(words):
        return SEEG
    return None


def _placement_texts(h5file: h5py.File, electrodes: ElectrodeRows) -> list[str]:
    """Location, group name, group location and description of each channel's electrode."""
    table, rows = electrodes.table, electrodes.rows
    locations = string_column(table, "location", rows) or [""] * rows.size
    group_names = string_column(table, "group_name", rows)
    groups: dict[str, str] = {}
    if group_names is not None:
        for name in set(group_names):
            groups[name] = _group_text(h5file.get(f"{_GROUPS_PATH}/{name}"), name)
    else:
        # NWB files before group_name was written: follow each row's object reference.
        group_names = _referenced_group_names(h5file, table, rows)
        for name in set(group_names):
            groups[name] = _group_text(h5file.get(name) if name else None, name.rsplit("/", 1)[-1])
    return [f"{location} {groups[name]}" for location, name in zip(locations, group_names)]


def _referenced_group_names(h5file: h5py.File, table: h5py.Group, rows: np.ndarray) -> list[str]:
    column = table.get("group")
    if not isinstance(column, h5py.Dataset) or h5py.check_ref_dtype(column.dtype) is not h5py.Reference:
        return [""] * rows.size
    references = read_whole(column)
    names = {r: h5file[references[r]].name for r in set(rows.tolist())}
    return [names[r] for r in rows.tolist()]


def _group_text(group: h5py.Group, name: str) -> str:
    if not isinstance(group, h5py.Group):
        return name
    attrs = group.attrs
    return " ".join([name, text(attrs.get("location", "")), text(attrs.get("description", ""))])
