"""Exporting a cache's attributes as a table: one row per trace, CSV or TSV.

Columns: ``index``, ``origin``, ``trace``, then the schema's trace keys present in the
cache (in schema order), then ``review_state``, then any other keys (sorted), whose raw
strings are kept. Values are written as the file stores them (Python ``str()`` style:
``True``, ``1.5``, ``inf``, ``[1.0, 2.0, 3.0]``), except that an absent or ``None`` value
is an empty cell.

``review_state`` (``accepted``, ``rejected`` or ``unreviewed``) is derived, not stored: it
is the state every view of Tracemark shows (:func:`tracemark.domain.review.review_state`),
so a table read elsewhere need not re-derive it from ``reject`` and ``reviewed``, whose
stored spellings vary (a ``reject`` of ``maybe`` is written as stored, and its state says
how Tracemark reads it: not rejected). A foreign attribute of that name is kept as
``review_state (stored)``.

Raters. Once a cache has raters (its raters folder, ``docs/cache-format.md``, "Raters"),
each rater key (:data:`~.rater_files.RATER_KEYS`) is followed by one column per rater,
``reject[alice]``, ``reject[bob]``, ... (raters in name order), holding that rater's
value, empty where they have none; the plain column before them holds the consensus (or
the only rater's values), as every other reader sees it. A cache without raters exports
exactly as before.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from tracemark.domain.review import review_state
from tracemark.domain.trace_attributes import REVIEW_STATE

from . import schema
from .cachefile import CacheFile
from .rater_files import RATER_KEYS, raters_folder
from .ratings import Ratings, read_ratings


def export_table(cache: CacheFile, out: str | os.PathLike[str] | IO[str] | None = None,
                 delimiter: str = ",") -> int:
    """Write the table to ``out`` (a path, an open text file, or stdout); returns rows."""
    # Whole origins at a time: one read per key through the attribute table when it is
    # fresh, instead of one HDF5 lookup per trace.
    rows = [schema.decode_all(stored) for origin in cache.origins
            for stored in cache.stored_rows(origin)]
    present = {key for row in rows for key in row}
    ratings = read_ratings(cache.path) if raters_folder(cache.path).is_dir() else None
    if ratings is not None:
        rows = _with_rater_columns(rows, ratings)
        present |= {key for rater in ratings.raters for found in ratings.values(rater).values()
                    for key in found}
    known = [key for key in schema.TRACE_KEYS if key in present]
    others = sorted(present - set(known))
    columns = ["index", "origin", "trace"]
    for key in known:
        columns.append(key)
        if ratings is not None and key in RATER_KEYS:
            columns += [rater_column(key, rater) for rater in ratings.raters]
    columns += [REVIEW_STATE, *others]
    if out is None:
        return _write(sys.stdout, cache, rows, columns, delimiter)
    if isinstance(out, (str, os.PathLike)):
        with open(Path(out), "w", newline="", encoding="utf-8") as handle:
            return _write(handle, cache, rows, columns, delimiter)
    return _write(out, cache, rows, columns, delimiter)


def rater_column(key: str, rater: str) -> str:
    """The column of one rater's values of ``key``: ``reject[alice]``."""
    return f"{key}[{rater}]"


def _with_rater_columns(rows: list[dict[str, Any]], ratings: Ratings) -> list[dict[str, Any]]:
    """``rows`` with each rater's values added under :func:`rater_column` names (not keys a
    trace stores, so no stored attribute is hidden by them)."""
    for rater in ratings.raters:
        for index, found in ratings.values(rater).items():
            rows[index].update({rater_column(key, rater): value for key, value in found.items()})
    return rows


def _write(handle: IO[str], cache: CacheFile, rows: Sequence[dict[str, Any]], columns: list[str],
           delimiter: str) -> int:
    writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
    derived = columns.index(REVIEW_STATE)
    writer.writerow([f"{key} (stored)" if key == REVIEW_STATE and i != derived else key
                     for i, key in enumerate(columns)])
    for index, row in enumerate(rows):
        origin, name = cache.trace_origin(index)
        cells = [str(index), origin, name]
        cells += [review_state(row).value if i == derived
                  else "" if row.get(key) is None else schema.encode(row[key])
                  for i, key in enumerate(columns[3:], start=3)]
        writer.writerow(cells)
    return len(rows)
