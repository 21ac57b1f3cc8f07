"""Undo and redo, derived from the journal.

The journal records every transaction as an ``edit``, an ``undo`` (of a named edit) or a
``redo``. Read in order, those kinds give linear undo and redo stacks exactly like an
editor's (a new edit clears the redo stack). Only the top of a stack is ever needed, and
it can be found by reading the journal *backwards* from its end, usually a few records, so
the first undo after opening a cache with a long history costs what the last few edits
cost, not the whole journal (parsing a 1 MB journal forwards took 90 ms).
"""

from __future__ import annotations

from collections.abc import Iterable

from .journal import Record


def next_undo(newest_first: Iterable[Record]) -> Record | None:
    """The latest edit whose latest undo/redo marker is not an undo."""
    latest: dict[str, str] = {}
    for record in newest_first:
        if record.kind in ("undo", "redo") and record.target:
            latest.setdefault(record.target, record.kind)
        elif record.kind == "edit" and latest.get(record.tx) != "undo":
            return record
    return None


def next_redo(newest_first: Iterable[Record]) -> Record | None:
    """The edit undone most recently and not redone since, unless an edit came after."""
    latest: dict[str, str] = {}
    wanted: str | None = None
    for record in newest_first:
        if wanted is not None:
            if record.kind == "edit" and record.tx == wanted:
                return record
            continue
        if record.kind == "edit":
            return None  # a new edit cleared the redo stack
        if record.target:
            first = record.target not in latest
            latest.setdefault(record.target, record.kind)
            if record.kind == "undo" and first:
                wanted = record.target
    return None
