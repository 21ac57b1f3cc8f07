"""Undo and redo, derived from the journal.

The journal records every transaction as an ``edit``, an ``undo`` (of a named edit) or a
``redo``. Replaying those kinds in order gives a linear undo stack and redo stack exactly
like an editor's: a new edit clears the redo stack. Because the stacks are rebuilt from
the durable journal, undo works across restarts and is itself audited.
"""

from __future__ import annotations

from collections.abc import Iterable

from .journal import Change, Record


class History:
    """Undo/redo stacks of transaction ids, plus the records they refer to."""

    def __init__(self, records: Iterable[Record] = ()):
        self.records: dict[str, Record] = {}
        self.undo_stack: list[str] = []
        self.redo_stack: list[str] = []
        for record in records:
            self.add(record)

    def add(self, record: Record) -> None:
        if record.kind == "edit":
            self.records[record.tx] = record
            self.undo_stack.append(record.tx)
            self.redo_stack.clear()
        elif record.kind == "undo" and record.target in self.undo_stack:
            self.undo_stack.remove(record.target)
            self.redo_stack.append(record.target)
        elif record.kind == "redo" and record.target in self.redo_stack:
            self.redo_stack.remove(record.target)
            self.undo_stack.append(record.target)

    def next_undo(self) -> Record | None:
        return self.records[self.undo_stack[-1]] if self.undo_stack else None

    def next_redo(self) -> Record | None:
        return self.records[self.redo_stack[-1]] if self.redo_stack else None


def reverted(record: Record) -> list[tuple[Change, str | None]]:
    """(change, value to restore) for undoing ``record``, last change first."""
    return [(change, change.old) for change in reversed(record.changes)]


def reapplied(record: Record) -> list[tuple[Change, str | None]]:
    return [(change, change.new) for change in record.changes]
