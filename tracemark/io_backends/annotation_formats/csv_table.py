"""Marks as a CSV table a spreadsheet opens: ``onset_s, duration_s, label, channels``.

Written with one header line, comma-separated, RFC 4180 quoting (a label holding a comma
or a quote is quoted, quotes doubled), UTF-8 with a byte-order mark so that Excel shows
accented and non-Latin labels correctly, and ``\\r\\n`` line ends. Numbers are the shortest
text that reads back exactly. ``channels`` lists the channels a span is bound to,
separated by ``|`` (channel names may hold commas and spaces), empty for the whole
recording. Bad channels have no place in this table and are not written.

Read back leniently, as spreadsheets save: the delimiter may be ``,``, ``;`` or a tab
(decimal commas are accepted with ``;``), the header may name the columns ``onset`` /
``duration`` / ``description`` / ``trial_type`` / ``channel`` instead, and a file without a
header is read as onset, duration, label[, channels]. A row that cannot be read raises
:class:`~.model.AnnotationFormatError` naming the file and line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ...domain.annotations import AnnotationState
from ...storage import atomic
from .model import AnnotationFormatError, ImportedMarks, checked_channel, checked_label, number_text, parse_seconds

HEADER = ("onset_s", "duration_s", "label", "channels")
CHANNEL_SEPARATOR = "|"
_ALIASES = {
    "onset": ("onset_s", "onset", "start", "start_s", "time", "time_s"),
    "duration": ("duration_s", "duration"),
    "label": ("label", "description", "trial_type", "annotation", "text"),
    "channels": ("channels", "channel", "ch_names"),
}


def export_csv(state: AnnotationState, path: Path) -> list[Path]:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for annotation in state.sorted_annotations():
        writer.writerow((number_text(annotation.onset_s), number_text(annotation.duration_s),
                         annotation.label, CHANNEL_SEPARATOR.join(annotation.channels)))
    atomic.write_text(path, buffer.getvalue(), encoding="utf-8-sig")
    return [path]


def import_csv(path: Path) -> ImportedMarks:
    text = _read_text(path)
    imported = ImportedMarks(fmt="csv")
    numbered = _rows(path, text)
    if not numbered:
        return imported
    columns, body = _columns(path, numbered)
    decimal_comma = _delimiter(text) == ";"
    for line, row in body:
        if len(row) > len(columns) and any(cell.strip() for cell in row[len(columns):]):
            raise AnnotationFormatError(path, f"{len(row)} fields where the header has {len(columns)} "
                                              "(a label with a comma must be quoted)", line)
        cells = dict(zip(columns, (cell.strip() for cell in row)))
        onset_text = cells.get("onset", "")
        duration_text = cells.get("duration", "") or "0"
        if decimal_comma:
            onset_text, duration_text = onset_text.replace(",", "."), duration_text.replace(",", ".")
        onset = parse_seconds(onset_text, "onset", path, line, allow_negative=True)
        duration = parse_seconds(duration_text, "duration", path, line, allow_negative=False)
        label = checked_label(cells.get("label", ""), path, line)
        channels = tuple(checked_channel(name, path, line)
                         for name in cells.get("channels", "").split(CHANNEL_SEPARATOR) if name.strip())
        imported.add(onset, duration, label, channels)
    return imported


def _rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """The non-blank rows with the line each starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    numbered = []
    start = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                numbered.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise AnnotationFormatError(path, f"not a readable CSV row: {exc}", start) from None
    return numbered


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AnnotationFormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Windows save "CSV" in the system's code page.
        return data.decode("cp1252", errors="replace")


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _columns(path: Path, numbered: list[tuple[int, list[str]]]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The role of each column, and the rows below the header (all rows when there is none)."""
    first_line, first = numbered[0]
    try:
        float(first[0].strip().replace(",", "."))
    except ValueError:
        pass
    else:  # no header: the columns are in the order this module writes
        return ["onset", "duration", "label", "channels"][:max(len(first), 3)], numbered
    roles = []
    for cell in first:
        name = cell.strip().lower()
        role = next((r for r, names in _ALIASES.items() if name in names), f"extra:{name}")
        roles.append(role)
    for needed in ("onset", "label"):
        if needed not in roles:
            raise AnnotationFormatError(path, f"the header names no {needed} column "
                                              f"(expected {', '.join(HEADER)})", first_line)
    return roles, numbered[1:]
