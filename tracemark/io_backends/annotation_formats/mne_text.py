"""MNE's annotation text format: what ``mne.Annotations.save("x.txt")`` writes and
``mne.read_annotations("x.txt")`` reads::

    # MNE-Annotations
    # orig_time : 2024-03-01 09:30:00.250000
    # onset, duration, description, ch_names
    12.5,0.0,Spike,
    30.25,4.0,BAD_artifact,Fp1:F3

Onsets are seconds from ``orig_time`` (UTC, written without a zone), which is the
recording's start here, so they are the recording's own onsets. ``ch_names`` (written only
when some mark is bound to channels) joins names with ``:``, a ``:`` inside a name
written as ``{COLON}``, as MNE does.

What MNE's reader (mne 1.13) can take limits what may be written, and an export that it
could not read back is refused with :class:`~.model.AnnotationFormatError` naming the label:

* fields are split at every comma (no quoting), so no label or channel may hold a comma;
* descriptions are decoded in a way that fails on any non-ASCII byte, so labels and
  channel names must be ASCII (use CSV, BIDS or EDF+ for others);
* ``orig_time`` is recognised only with microseconds (``.%f``), which MNE's own writer
  leaves out when they are zero; this module always writes them.

Read back: UTF-8, or Latin-1 (MNE's writer encodes with numpy's default), the columns
as the header names them; a row with the wrong number of fields or a bad number raises
:class:`~.model.AnnotationFormatError` naming the line.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from ...domain.annotations import AnnotationState
from ...storage import atomic
from .model import (
    AnnotationFormatError,
    ImportedMarks,
    RecordingInfo,
    as_utc,
    checked_channel,
    checked_label,
    number_text,
    parse_seconds,
    start_shift_s,
)

MAGIC = "# MNE-Annotations"
_ORIG_TIME = "# orig_time :"
_COLUMNS = "# onset, duration, description"
_ORIG_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
_UNREADABLE_BY_MNE = re.compile(r"[,\x80-\U0010ffff]")


def export_mne_text(state: AnnotationState, path: Path, info: RecordingInfo) -> list[Path]:
    annotations = state.sorted_annotations()
    for annotation in annotations:
        for text in (annotation.label, *annotation.channels):
            if _UNREADABLE_BY_MNE.search(text):
                raise AnnotationFormatError(
                    path, f"{text!r} holds a comma or a non-ASCII character, which "
                          "mne.read_annotations cannot read from its text format; export to CSV, "
                          "BIDS or EDF+ instead, or rename it")
    with_channels = any(a.channels for a in annotations)
    lines = [MAGIC]
    if info.start_time is not None:
        lines.append(f"{_ORIG_TIME} {as_utc(info.start_time).strftime('%Y-%m-%d %H:%M:%S.%f')}")
    lines.append(_COLUMNS + (", ch_names" if with_channels else ""))
    for annotation in annotations:
        fields = [number_text(annotation.onset_s), number_text(annotation.duration_s), annotation.label]
        if with_channels:
            fields.append(":".join(name.replace(":", "{COLON}") for name in annotation.channels))
        lines.append(",".join(fields))
    atomic.write_text(path, "\n".join(lines) + "\n", encoding="ascii")
    return [path]


def import_mne_text(path: Path, info: RecordingInfo | None) -> ImportedMarks:
    lines = _read_lines(path)
    orig_time: datetime | None = None
    columns: list[str] | None = None
    body_start = 0
    for index, line in enumerate(lines):
        if not line.startswith("#"):
            body_start = index
            break
        if line.startswith(_ORIG_TIME):
            orig_time = _parse_orig_time(line[len(_ORIG_TIME):].strip(), path, index + 1)
        elif line.startswith(_COLUMNS):
            columns = [c.strip() for c in line[2:].split(",")]
    else:
        body_start = len(lines)
    imported = ImportedMarks(fmt="mne", time_shift_s=start_shift_s(orig_time, info))
    for index in range(body_start, len(lines)):
        line_number, line = index + 1, lines[index]
        if not line.strip():
            continue
        fields = line.split(",")
        names = columns or ["onset", "duration", "description", "ch_names"][:len(fields)]
        if len(fields) != len(names) or len(names) < 3:
            raise AnnotationFormatError(path, f"{len(fields)} fields where the header has {len(names)} "
                                              f"({', '.join(names)})", line_number)
        cells = dict(zip(names, fields))
        onset = parse_seconds(cells["onset"], "onset", path, line_number, allow_negative=True)
        duration = parse_seconds(cells["duration"], "duration", path, line_number, allow_negative=False)
        label = checked_label(cells["description"], path, line_number)
        channel_text = cells.get("ch_names", "").strip()
        channels = tuple(checked_channel(name.replace("{COLON}", ":"), path, line_number)
                         for name in channel_text.split(":")) if channel_text else ()
        imported.add(onset, duration, label, channels)
    return imported


def _read_lines(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AnnotationFormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.splitlines()


def _parse_orig_time(text: str, path: Path, line: int) -> datetime | None:
    if text in ("", "None"):
        return None
    for pattern in _ORIG_TIME_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise AnnotationFormatError(path, f"orig_time {text!r} is not a date and time", line)
