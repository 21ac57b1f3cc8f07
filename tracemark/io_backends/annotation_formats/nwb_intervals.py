"""Marks as an NWB ``TimeIntervals`` table in a new NWB file, written with pynwb.

The table, ``/intervals/tracemark_annotations``, has NWB's ``start_time`` and
``stop_time`` (equal for a point event) plus ``label`` and ``channels`` (a ragged column
of channel names, empty for a mark on the whole recording). The file's
``session_start_time`` is the recording's start (UTC when the recording gives no zone;
the Unix epoch when it gives no start at all), so times are the recording's onsets.

Always a new file: the export refuses the recording's own path, and writes through a
temporary that replaces the target only when pynwb has finished. Bad channels have no
standard place in NWB and are not written.

Import reads that table back, or, from another NWB file, every ``TimeIntervals`` table
(epochs, trials, invalid times, ...) with its ``label`` column, else its ``tags``, else
the table's name as the label. Columns are read directly (no pandas data frame).
"""

from __future__ import annotations

import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ...domain.annotations import Annotation, AnnotationState
from ...storage import atomic
from .model import AnnotationFormatError, ImportedMarks, RecordingInfo, as_utc, checked_label, start_shift_s

TABLE_NAME = "tracemark_annotations"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def export_nwb(state: AnnotationState, path: Path, info: RecordingInfo) -> list[Path]:
    from pynwb import NWBHDF5IO, NWBFile  # noqa: PLC0415 -- pynwb takes a second to import

    start = as_utc(info.start_time) if info.start_time is not None else _EPOCH
    source = info.source_path.name if info.source_path is not None else "a recording"
    nwb = NWBFile(session_description=f"Annotations of {source}, exported by Tracemark",
                  identifier=str(uuid.uuid4()), session_start_time=start)
    nwb.add_time_intervals(_table(state.sorted_annotations()))
    with atomic.Replacement(path) as replacement, NWBHDF5IO(str(replacement.temporary), "w") as io:
        io.write(nwb)
    return [path]


def _table(annotations: list[Annotation]) -> Any:
    """The TimeIntervals table, built column by column (``add_row`` costs about half a
    millisecond a row, which a night's worth of marks would feel)."""
    from hdmf.common import VectorData, VectorIndex  # noqa: PLC0415
    from pynwb.epoch import TimeIntervals  # noqa: PLC0415

    def texts(values: list[str]) -> Any:
        # hdmf cannot tell the type of an empty list; an empty text array it can
        return values if values else np.array([], dtype="U1")

    names = [name for a in annotations for name in a.channels]
    channels = VectorData(name="channels", data=texts(names),
                          description="Channels the mark is bound to; none: the whole recording")
    columns = [
        VectorData(name="start_time", description="Start time of the mark, in seconds",
                   data=np.array([a.onset_s for a in annotations], dtype=np.float64)),
        VectorData(name="stop_time", description="Stop time of the mark, in seconds",
                   data=np.array([a.end_s for a in annotations], dtype=np.float64)),
        VectorData(name="label", description="The mark's label", data=texts([a.label for a in annotations])),
        channels,
        VectorIndex(name="channels_index", target=channels,
                    data=np.cumsum([len(a.channels) for a in annotations], dtype=np.int64)),
    ]
    return TimeIntervals(name=TABLE_NAME, description="Events and spans marked in Tracemark", columns=columns)


def import_nwb(path: Path, info: RecordingInfo | None) -> ImportedMarks:
    from pynwb import NWBHDF5IO  # noqa: PLC0415

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with NWBHDF5IO(str(path), "r") as io:
                nwb = io.read()
                imported = ImportedMarks(fmt="nwb", time_shift_s=start_shift_s(nwb.session_start_time, info))
                tables = dict(nwb.intervals or {})
                chosen = [tables[TABLE_NAME]] if TABLE_NAME in tables else list(tables.values())
                for table in chosen:
                    _read_table(path, table, imported)
    except AnnotationFormatError:
        raise
    except FileNotFoundError:
        raise AnnotationFormatError(path, "no such file") from None
    except Exception as exc:  # h5py and pynwb raise many kinds on a damaged or foreign file
        raise AnnotationFormatError(path, f"not a readable NWB file: {exc}") from None
    imported.marks.sort()
    return imported


def _read_table(path: Path, table: Any, imported: ImportedMarks) -> None:
    """One table's rows as marks; every column is read once, not row by row."""
    columns = set(table.colnames)
    starts, stops = table["start_time"].data[:], table["stop_time"].data[:]
    labels = table["label"].data[:] if "label" in columns else None
    bound = _ragged(table["channels"]) if "channels" in columns else None
    tags = _ragged(table["tags"]) if "tags" in columns and labels is None else None
    for row in range(len(starts)):
        onset, stop = float(starts[row]), float(stops[row])
        if not (onset == onset and stop == stop) or stop < onset:
            raise AnnotationFormatError(path, f"{table.name} row {row + 1}: start {onset} and stop {stop} "
                                              "are not an interval")
        if labels is not None:
            text = _text(labels[row])
        elif tags is not None and tags[row]:
            text = ", ".join(tags[row])
        else:
            text = str(table.name)
        channels = tuple(bound[row]) if bound is not None else ()
        imported.add(onset, stop - onset, checked_label(text, path, None), channels)


def _ragged(column: Any) -> list[list[str]]:
    """A ragged text column (a VectorIndex over VectorData) as one list per row; a plain
    text column (another writer's) as names separated by ``|``."""
    if hasattr(column, "target"):
        ends = [int(end) for end in column.data[:]]
        values = [_text(value) for value in column.target.data[:]]
        return [values[begin:end] for begin, end in zip([0, *ends[:-1]], ends)]
    return [[name for name in _text(cell).split("|") if name.strip()] for cell in column.data[:]]


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
