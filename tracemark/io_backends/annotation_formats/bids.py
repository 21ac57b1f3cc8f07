"""Marks as BIDS ``events.tsv`` (with its ``events.json`` sidecar) and bad channels as
``channels.tsv``, beside each other, as BIDS puts them next to the recording.

``events.tsv`` (BIDS "Task events"): one row per mark, sorted by onset, with

* ``onset`` and ``duration`` in seconds from the recording's first sample (a point event
  has duration 0), written as the shortest decimal that reads back exactly;
* ``trial_type``, the label (what ``mne_bids.read_raw_bids`` turns into the annotation's
  description);
* ``sample``, ``round(onset * sampling rate)`` (the first sample is 0), when the rate is
  known;
* ``channel``, only when some mark is bound to channels: the channel names joined by
  ``|``, ``n/a`` for a mark on the whole recording. The specification's example uses this
  column and declares its delimiter in the sidecar (``"Delimiter": "|"``), which is what
  the ``events.json`` written here does, describing every column.

``channels.tsv``: ``name``, ``type`` (BIDS's upper-case types), ``units``, ``status``
(``good``/``bad``) and ``status_description`` (the reason a channel is bad, ``n/a``
otherwise), one row per channel of the recording in its order. Exported into a dataset
that has a ``channels.tsv`` (or ``events.json``) there already, only the status columns
(or the columns described here) are replaced; everything else in them is kept.

Where the files go: for ``.../sub-01_task-rest_events.tsv`` the others are
``sub-01_task-rest_channels.tsv`` and ``sub-01_task-rest_events.json``; for any other
name ``x.tsv`` they are ``x_channels.tsv`` and ``x.json``.

Import reads ``events.tsv`` (the label from ``trial_type``, else ``value``, else
``Event``; ``n/a`` durations as 0; rows whose onset is ``n/a`` are skipped, as mne-bids
skips them), the channel delimiter from the sidecar when there is one, and the bad
channels from the ``channels.tsv`` beside it when there is one; given a ``channels.tsv``
it reads only the channel status. Empty cells and ``n/a`` count as absent; a row that
cannot be read raises :class:`~.model.AnnotationFormatError` naming the line.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...domain.annotations import AnnotationState
from ...domain.channel_types import ECG, ECOG, EEG, EMG, EOG, MISC, RESP, SEEG, STIM
from ...storage import atomic
from .model import (
    AnnotationFormatError,
    ImportedMarks,
    RecordingInfo,
    checked_channel,
    checked_label,
    number_text,
    parse_seconds,
)

CHANNEL_DELIMITER = "|"
NOT_AVAILABLE = "n/a"
EVENTS_SUFFIX = "_events.tsv"
CHANNELS_SUFFIX = "_channels.tsv"
#: Tracemark's channel types as BIDS names them.
BIDS_TYPES = {EEG: "EEG", SEEG: "SEEG", ECOG: "ECOG", EMG: "EMG", ECG: "ECG", EOG: "EOG",
              RESP: "RESP", STIM: "TRIG", MISC: "MISC"}


def sidecar_paths(events_path: Path) -> tuple[Path, Path]:
    """``(channels.tsv, events.json)`` beside ``events_path``."""
    name = events_path.name
    if name.endswith(EVENTS_SUFFIX):
        stem = name[:-len(EVENTS_SUFFIX)]
        return (events_path.with_name(stem + CHANNELS_SUFFIX), events_path.with_name(stem + "_events.json"))
    if name == "events.tsv":
        return events_path.with_name("channels.tsv"), events_path.with_name("events.json")
    return (events_path.with_name(events_path.stem + CHANNELS_SUFFIX), events_path.with_suffix(".json"))


def is_channels_table(path: Path) -> bool:
    return path.name == "channels.tsv" or path.name.endswith(CHANNELS_SUFFIX)


# -- export ---------------------------------------------------------------------------------
def export_bids(state: AnnotationState, path: Path, info: RecordingInfo) -> list[Path]:
    channels_path, sidecar_path = sidecar_paths(path)
    channels_text = (_updated_channels_table(state, channels_path) if channels_path.exists()
                     else _channels_table(state, info, channels_path))
    annotations = state.sorted_annotations()
    rate = info.sampling_rate if info.sampling_rate and info.sampling_rate > 0 else None
    with_channels = any(a.channels for a in annotations)
    columns = ["onset", "duration", "trial_type"] + (["sample"] if rate else []) + (
        ["channel"] if with_channels else [])
    rows = ["\t".join(columns)]
    for annotation in annotations:
        cells = [number_text(annotation.onset_s), number_text(annotation.duration_s), annotation.label]
        if rate:
            cells.append(str(round(annotation.onset_s * rate)))
        if with_channels:
            cells.append(CHANNEL_DELIMITER.join(annotation.channels) or NOT_AVAILABLE)
        rows.append("\t".join(cells))
    for name in (name for a in annotations for name in a.channels):
        if CHANNEL_DELIMITER in name or "\t" in name:
            raise AnnotationFormatError(path, f"channel {name!r} holds a tab or the channel delimiter "
                                              f"{CHANNEL_DELIMITER!r} and cannot be listed in events.tsv")
    sidecar = {**_existing_sidecar(sidecar_path), **_sidecar(rate, with_channels)}
    atomic.write_text(path, "\n".join(rows) + "\n")
    atomic.write_text(sidecar_path, json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n")
    atomic.write_text(channels_path, channels_text)
    return [path, sidecar_path, channels_path]


def _sidecar(rate: float | None, with_channels: bool) -> dict[str, object]:
    body: dict[str, object] = {
        "onset": {"Description": "Onset of the mark, in seconds from the recording's first sample.",
                  "Units": "s"},
        "duration": {"Description": "Duration of the mark (0 for a point event).", "Units": "s"},
        "trial_type": {"LongName": "Label",
                       "Description": "The label the person marking the recording gave this event or span."},
    }
    if rate:
        body["sample"] = {"Description": f"Onset in samples at {rate:g} Hz; the first sample is 0."}
    if with_channels:
        body["channel"] = {"Description": "Channel(s) the mark is bound to; n/a: the whole recording.",
                           "Delimiter": CHANNEL_DELIMITER}
    return body


def _channels_table(state: AnnotationState, info: RecordingInfo, path: Path) -> str:
    if not info.channel_names:
        raise AnnotationFormatError(path, "channels.tsv lists every channel of the recording, "
                                          "and no channel names were given")
    unknown = sorted(set(state.bad_channels) - set(info.channel_names))
    if unknown:
        raise AnnotationFormatError(path, f"bad channel {unknown[0]!r} is not a channel of the recording")
    rows = ["name\ttype\tunits\tstatus\tstatus_description"]
    for index, name in enumerate(info.channel_names):
        channel_type = BIDS_TYPES.get(info.channel_types[index], "MISC") if info.channel_types else "MISC"
        unit = (info.units[index] if info.units else "") or NOT_AVAILABLE
        bad = name in state.bad_channels
        reason = state.bad_channels.get(name, "").replace("\t", " ").strip() or NOT_AVAILABLE
        rows.append("\t".join((name, channel_type, unit, "bad" if bad else "good",
                               reason if bad else NOT_AVAILABLE)))
    return "\n".join(rows) + "\n"


def _updated_channels_table(state: AnnotationState, path: Path) -> str:
    """The dataset's own ``channels.tsv`` with only ``status`` and ``status_description``
    set from ``state``: its other columns (filters, sampling rates, ...) stay as they are."""
    header, rows = _read_table(path)
    _require(path, header, ("name",))
    header += [column for column in ("status", "status_description") if column not in header]
    names = {cells["name"].strip() for _, cells in rows}
    unknown = sorted(set(state.bad_channels) - names)
    if unknown:
        raise AnnotationFormatError(path, f"bad channel {unknown[0]!r} is not listed in this channels.tsv")
    lines = ["\t".join(header)]
    for _, cells in rows:
        name = cells["name"].strip()
        bad = name in state.bad_channels
        cells["status"] = "bad" if bad else "good"
        cells["status_description"] = (state.bad_channels[name].replace("\t", " ").strip() or NOT_AVAILABLE
                                       if bad else NOT_AVAILABLE)
        lines.append("\t".join(cells.get(column, NOT_AVAILABLE) for column in header))
    return "\n".join(lines) + "\n"


def _existing_sidecar(path: Path) -> dict[str, object]:
    """The descriptions an ``events.json`` already holds, kept beside the ones written."""
    if not path.exists():
        return {}
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AnnotationFormatError(path, f"not a readable JSON sidecar: {exc}") from None
    return body if isinstance(body, dict) else {}


# -- import ---------------------------------------------------------------------------------
def import_bids(path: Path) -> ImportedMarks:
    imported = ImportedMarks(fmt="bids")
    if is_channels_table(path):
        imported.bad_channels = read_bad_channels(path)
        return imported
    channels_path, sidecar_path = sidecar_paths(path)
    delimiter = _channel_delimiter(sidecar_path)
    header, rows = _read_table(path)
    _require(path, header, ("onset",))
    for line, cells in rows:
        if not _value(cells["onset"]):
            continue  # an event without a time (BIDS allows n/a); mne-bids skips it too
        onset = parse_seconds(cells["onset"], "onset", path, line, allow_negative=True)
        duration_text = _value(cells.get("duration"))
        duration = (parse_seconds(duration_text, "duration", path, line, allow_negative=False)
                    if duration_text else 0.0)
        label_text = _value(cells.get("trial_type")) or _value(cells.get("value")) or "Event"
        label = checked_label(label_text, path, line)
        channel_text = _value(cells.get("channel"))
        names = channel_text.split(delimiter) if (channel_text and delimiter) else (
            [channel_text] if channel_text else [])
        channels = tuple(checked_channel(name, path, line) for name in names if name.strip())
        imported.add(onset, duration, label, channels)
    if channels_path.exists():
        imported.bad_channels = read_bad_channels(channels_path)
    return imported


def read_bad_channels(path: Path) -> dict[str, str]:
    """Channel name -> reason for every row of ``channels.tsv`` whose status is ``bad``."""
    header, rows = _read_table(path)
    _require(path, header, ("name",))
    bad = {}
    for line, cells in rows:
        status = _value(cells.get("status")).lower()
        if status not in ("", "good", "bad"):
            raise AnnotationFormatError(path, f"status {status!r} is neither good nor bad", line)
        if status == "bad":
            bad[checked_channel(cells["name"], path, line)] = _value(cells.get("status_description"))
    return bad


def _channel_delimiter(sidecar_path: Path) -> str:
    if not sidecar_path.exists():
        return CHANNEL_DELIMITER
    try:
        body = json.loads(sidecar_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AnnotationFormatError(sidecar_path, f"not a readable JSON sidecar: {exc}") from None
    column = body.get("channel") if isinstance(body, dict) else None
    delimiter = column.get("Delimiter") if isinstance(column, dict) else None
    return delimiter if isinstance(delimiter, str) else CHANNEL_DELIMITER


def _read_table(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise AnnotationFormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise AnnotationFormatError(path, f"is not UTF-8 text (BIDS tables are): {exc.reason}") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise AnnotationFormatError(path, "empty: a BIDS table starts with a header line", 1)
    header = [cell.strip() for cell in lines[0].split("\t")]
    rows = []
    for index, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(header):
            raise AnnotationFormatError(path, f"{len(cells)} tab-separated fields where the header has "
                                              f"{len(header)}", index)
        rows.append((index, dict(zip(header, cells))))
    return header, rows


def _require(path: Path, header: list[str], columns: tuple[str, ...]) -> None:
    for column in columns:
        if column not in header:
            raise AnnotationFormatError(path, f"no {column!r} column in the header "
                                              f"({', '.join(header)})", 1)


def _value(cell: str | None) -> str:
    """The cell's text, with BIDS's ``n/a`` and an empty cell both read as absent."""
    if cell is None:
        return ""
    text = cell.strip()
    return "" if text == NOT_AVAILABLE else text
