"""Annotation changes as journal records, and the state a journal's records fold into.

A :class:`~tracemark.domain.annotations.FieldChange` is one journal change
``[origin, trace, key, old, new]`` with ``origin`` = the kind of object (annotation, label,
channel), ``trace`` = its id or name and ``key`` = :data:`~tracemark.domain.annotations.WHOLE`
(a change always replaces the whole object). Every record, an edit, an undo or a redo,
carries the changes it made, so the state is the default label set with every record
applied in order, each change checked against the value it was made on. A record that
does not fold (a change that is not of this shape, or that does not start from the state
before it) means the file was damaged or written by something else: :func:`fold` says
which record and why, and never skips it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tracemark.domain.annotations import (
    KINDS,
    WHOLE,
    AnnotationError,
    AnnotationState,
    FieldChange,
    apply,
)
from tracemark.io_backends.cache.journal import Change, Record


@dataclass(frozen=True)
class HistoryEntry:
    """One committed transaction of an annotation file: who made it, when, and what."""

    seq: int
    tx: str
    #: ``"edit"``, ``"undo"`` or ``"redo"``.
    kind: str
    #: ISO 8601 with the writer's UTC offset.
    time: str
    user: str
    host: str
    pid: int
    changes: tuple[FieldChange, ...]
    #: For an undo or redo: the ``tx`` of the edit it undoes or redoes.
    target: str | None = None
    note: str = ""


def to_journal(changes: Iterable[FieldChange]) -> tuple[Change, ...]:
    return tuple(Change(c.kind, c.ident, WHOLE, c.old, c.new) for c in changes)


def from_journal(record: Record) -> tuple[FieldChange, ...]:
    """The annotation changes of ``record``; AnnotationError when one is not of that shape."""
    for change in record.changes:
        if change.origin not in KINDS or change.key != WHOLE:
            raise AnnotationError(f"change {change.origin!r}/{change.key!r} is not an "
                                  f"annotation change")
    return tuple(FieldChange(c.origin, c.trace, c.old, c.new) for c in record.changes)


def history_entry(record: Record) -> HistoryEntry:
    return HistoryEntry(seq=record.seq, tx=record.tx, kind=record.kind, time=record.time,
                        user=record.user, host=record.host, pid=record.pid,
                        changes=from_journal(record), target=record.target, note=record.note)


@dataclass(frozen=True)
class Folded:
    """The state after the records that folded, and the first one that did not."""

    state: AnnotationState
    records: list[Record]
    #: Why the record after ``records`` does not fold; empty when all did.
    problem: str = ""


def fold(state: AnnotationState, records: Iterable[Record]) -> Folded:
    """Apply ``records`` to ``state`` in order, each change checked, up to the first
    record that does not apply."""
    applied: list[Record] = []
    for record in records:
        try:
            state = apply(state, from_journal(record), check=True)
        except (AnnotationError, TypeError, ValueError) as error:
            # TypeError/ValueError: a value of the wrong JSON type inside a valid record
            return Folded(state, applied, f"record #{record.seq} (written {record.time} by "
                                          f"{record.user}@{record.host}) does not apply: {error}")
        applied.append(record)
    return Folded(state, applied)
