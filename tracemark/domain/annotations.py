"""What a person marks on a continuous recording: point events, spans, their labels and
which channels are bad, and the one way each of them changes.

* An :class:`Annotation` is a point event (``duration_s == 0``) or a span, at seconds from
  the recording's start, with a label and optionally the channels it is bound to (empty:
  the whole recording).
* A :class:`Label` is one entry of the label set the person edits: a name, a colour and a
  key ``1``..``9`` that marks with it.
* A bad channel is a channel name with an optional reason; every other channel is good.

:class:`AnnotationState` holds all three, immutably. It changes only by
:class:`FieldChange` records, each replacing one whole object (an annotation by id, a label
by name, a channel's status by name) from an ``old`` value to a ``new`` one, as JSON text
(``None``: absent). Whole-object records make every transaction invertible by swapping
``old`` and ``new`` (undo), let a replay check that each record starts from the state it
was made on, and map one to one onto the journal's ``[origin, trace, key, old, new]``
records: the annotation store (``tracemark.io_backends.annotation_store``) writes them
through the same journal as trace edits.

The functions :func:`add`, :func:`modify`, :func:`remove`, :func:`put_label`,
:func:`remove_label` and :func:`set_channel_bad` compute the changes for one edit from a
state; :func:`apply` applies changes. :class:`AnnotationSink` is what the viewer and the
command line write through; :class:`InMemoryAnnotations` is one with undo and redo and no
file, for views shown before a store is open and for tests.

Plain Python: no numpy, no Qt, no file formats.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

#: The kinds of object a change replaces (the journal's ``origin`` field).
ANNOTATION, LABEL, CHANNEL = "annotation", "label", "channel"
KINDS = (ANNOTATION, LABEL, CHANNEL)
#: The journal's ``key`` field: a change always replaces the whole object.
WHOLE = "value"
#: Keys that mark with a label.
LABEL_KEYS = tuple(str(n) for n in range(1, 10))
#: Characters no label may hold: EDF+ uses them to frame annotations, TSV and the MNE text
#: format to separate fields and lines.
_FORBIDDEN_IN_LABEL = re.compile(r"[\x00-\x1f\x7f]")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class AnnotationError(ValueError):
    """An edit that cannot be made: a bad value, an unknown id, a change that does not
    start from the current state. The message says which and why."""


@dataclass(frozen=True)
class Annotation:
    """A point event (``duration_s == 0``) or a span on the recording's time axis."""

    id: str
    onset_s: float
    duration_s: float
    label: str
    #: The channels the span is bound to, by name; empty: every channel.
    channels: tuple[str, ...] = ()

    @property
    def end_s(self) -> float:
        return self.onset_s + self.duration_s

    @property
    def is_span(self) -> bool:
        return self.duration_s > 0

    def to_json(self) -> str:
        return _dumps({"onset_s": self.onset_s, "duration_s": self.duration_s,
                       "label": self.label, "channels": list(self.channels)})

    @classmethod
    def from_json(cls, ident: str, text: str) -> Annotation:
        body = _loads_object(text)
        try:
            return checked(cls(id=ident, onset_s=body["onset_s"], duration_s=body["duration_s"],
                               label=body["label"], channels=tuple(body.get("channels", ()))))
        except KeyError as exc:
            raise AnnotationError(f"annotation {ident}: no {exc.args[0]}") from None


@dataclass(frozen=True)
class Label:
    """One entry of the label set: its name, colour (``#rrggbb``) and marking key."""

    name: str
    color: str = "#1f77b4"
    #: ``"1"``..``"9"``, or ``""`` for a label without a key.
    key: str = ""

    def to_json(self) -> str:
        return _dumps({"color": self.color, "key": self.key})

    @classmethod
    def from_json(cls, name: str, text: str) -> Label:
        body = _loads_object(text)
        return checked_label(cls(name=name, color=str(body.get("color", "#1f77b4")),
                                 key=str(body.get("key", ""))))


#: The label set a new annotation file starts with. ``BAD_`` spans are what MNE leaves
#: out of epochs and averages, so an artifact marked here is treated as bad there too.
DEFAULT_LABELS: tuple[Label, ...] = (
    Label("Event", "#1f77b4", "1"),
    Label("BAD_artifact", "#d62728", "2"),
    Label("Seizure onset", "#9467bd", "3"),
    Label("Spike", "#ff7f0e", "4"),
    Label("Missed pulse", "#2ca02c", "5"),
    Label("Sleep", "#8c564b", "6"),
)


@dataclass(frozen=True)
class FieldChange:
    """One object replaced: ``old`` and ``new`` are its JSON text, ``None`` when absent."""

    kind: str
    ident: str
    old: str | None
    new: str | None

    def inverse(self) -> FieldChange:
        return FieldChange(self.kind, self.ident, self.new, self.old)


@dataclass(frozen=True)
class AnnotationState:
    """Every annotation by id, the label set by name (in the order shown), and the bad
    channels with their reasons."""

    annotations: Mapping[str, Annotation] = field(default_factory=dict)
    labels: Mapping[str, Label] = field(default_factory=dict)
    bad_channels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def with_default_labels(cls) -> AnnotationState:
        return cls(labels={label.name: label for label in DEFAULT_LABELS})

    def sorted_annotations(self) -> list[Annotation]:
        """By onset, then end, then id: the order of lists and of "next"."""
        return sorted(self.annotations.values(), key=lambda a: (a.onset_s, a.end_s, a.id))

    def label(self, name: str) -> Label:
        """The label called ``name``; one not in the set gets a grey without a key."""
        return self.labels.get(name) or Label(name, "#7f7f7f", "")

    def label_for_key(self, key: str) -> Label | None:
        return next((label for label in self.labels.values() if label.key == key), None)

    def is_bad(self, channel: str) -> bool:
        return channel in self.bad_channels

    def value_of(self, kind: str, ident: str) -> str | None:
        """The JSON text a change of this object must start from."""
        if kind == ANNOTATION:
            found = self.annotations.get(ident)
            return found.to_json() if found else None
        if kind == LABEL:
            label = self.labels.get(ident)
            return label.to_json() if label else None
        if kind == CHANNEL:
            return _dumps({"reason": self.bad_channels[ident]}) if ident in self.bad_channels else None
        raise AnnotationError(f"unknown kind of change {kind!r}")


# -- checks --------------------------------------------------------------------------------
def checked(annotation: Annotation) -> Annotation:
    """``annotation`` with its label trimmed and numbers as floats, or AnnotationError."""
    onset, duration = annotation.onset_s, annotation.duration_s
    if not _is_number(onset) or not math.isfinite(onset):
        raise AnnotationError(f"annotation {annotation.id}: onset {onset!r} is not a finite number")
    if not _is_number(duration) or not math.isfinite(duration) or duration < 0:
        raise AnnotationError(f"annotation {annotation.id}: duration {duration!r} is not a "
                              "finite number of seconds >= 0")
    channels = annotation.channels
    if not all(isinstance(c, str) and c for c in channels):
        raise AnnotationError(f"annotation {annotation.id}: channels must be names")
    return replace(annotation, onset_s=float(onset), duration_s=float(duration),
                   label=checked_name(annotation.label, "label"),
                   channels=tuple(dict.fromkeys(channels)))


def checked_label(label: Label) -> Label:
    if not _COLOR.match(label.color):
        raise AnnotationError(f"label {label.name!r}: colour {label.color!r} is not #rrggbb")
    if label.key not in ("", *LABEL_KEYS):
        raise AnnotationError(f"label {label.name!r}: key {label.key!r} is not one of 1..9")
    return replace(label, name=checked_name(label.name, "label name"), color=label.color.lower())


def checked_name(text: object, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise AnnotationError(f"a {what} must be non-empty text, not {text!r}")
    if _FORBIDDEN_IN_LABEL.search(text):
        raise AnnotationError(f"{what} {text!r} holds a control character (tab, newline, ...)")
    return text.strip()


def new_id() -> str:
    """A fresh annotation id: unique across processes and raters without coordination."""
    return uuid.uuid4().hex[:12]


# -- edits ---------------------------------------------------------------------------------
def add(state: AnnotationState, onset_s: float, duration_s: float, label: str,
        channels: Sequence[str] = (), ident: str | None = None) -> tuple[Annotation, list[FieldChange]]:
    """A new annotation and the change that adds it."""
    annotation = checked(Annotation(ident or new_id(), onset_s, duration_s, label, tuple(channels)))
    if annotation.id in state.annotations:
        raise AnnotationError(f"annotation {annotation.id} exists already")
    return annotation, [FieldChange(ANNOTATION, annotation.id, None, annotation.to_json())]


def modify(state: AnnotationState, ident: str, **fields: Any) -> tuple[Annotation, list[FieldChange]]:
    """The annotation ``ident`` with ``fields`` (onset_s, duration_s, label, channels)
    replaced, and the change; no change when nothing differs."""
    current = _existing(state, ident)
    unknown = set(fields) - {"onset_s", "duration_s", "label", "channels"}
    if unknown:
        raise AnnotationError(f"an annotation has no field {sorted(unknown)[0]!r}")
    if "channels" in fields:
        fields["channels"] = tuple(fields["channels"])
    updated = checked(replace(current, **fields))
    if updated == current:
        return current, []
    return updated, [FieldChange(ANNOTATION, ident, current.to_json(), updated.to_json())]


def remove(state: AnnotationState, ident: str) -> list[FieldChange]:
    return [FieldChange(ANNOTATION, ident, _existing(state, ident).to_json(), None)]


def put_label(state: AnnotationState, label: Label) -> list[FieldChange]:
    """Add or replace ``label``; a key it takes is taken from the label that had it."""
    label = checked_label(label)
    changes = []
    if label.key:
        holder = state.label_for_key(label.key)
        if holder is not None and holder.name != label.name:
            freed = replace(holder, key="")
            changes.append(FieldChange(LABEL, holder.name, holder.to_json(), freed.to_json()))
    old = state.labels.get(label.name)
    if old != label:
        changes.append(FieldChange(LABEL, label.name, old.to_json() if old else None, label.to_json()))
    return changes


def remove_label(state: AnnotationState, name: str) -> list[FieldChange]:
    """Drop ``name`` from the label set; annotations keep their label text."""
    label = state.labels.get(name)
    if label is None:
        raise AnnotationError(f"no label {name!r} in the label set")
    return [FieldChange(LABEL, name, label.to_json(), None)]


def set_channel_bad(state: AnnotationState, channel: str, bad: bool, reason: str = "") -> list[FieldChange]:
    """Mark ``channel`` bad (with an optional reason) or good again; no change when it is so."""
    channel = checked_name(channel, "channel name")
    old = state.value_of(CHANNEL, channel)
    new = _dumps({"reason": reason}) if bad else None
    return [] if old == new else [FieldChange(CHANNEL, channel, old, new)]


def apply(state: AnnotationState, changes: Iterable[FieldChange], check: bool = True) -> AnnotationState:
    """``state`` after ``changes``. With ``check`` every change must start from the value
    it was made on (AnnotationError otherwise), so a stale edit is never applied."""
    annotations, labels, bad = dict(state.annotations), dict(state.labels), dict(state.bad_channels)
    current = AnnotationState(annotations, labels, bad)
    for change in changes:
        if check and current.value_of(change.kind, change.ident) != change.old:
            raise AnnotationError(f"{change.kind} {change.ident!r} changed since this edit was made")
        if change.kind == ANNOTATION:
            _put(annotations, change.ident,
                 None if change.new is None else Annotation.from_json(change.ident, change.new))
        elif change.kind == LABEL:
            _put(labels, change.ident,
                 None if change.new is None else Label.from_json(change.ident, change.new))
        elif change.kind == CHANNEL:
            _put(bad, change.ident,
                 None if change.new is None else str(_loads_object(change.new).get("reason", "")))
        else:
            raise AnnotationError(f"unknown kind of change {change.kind!r}")
    return AnnotationState(annotations, labels, bad)


def _put(target: dict[str, Any], key: str, value: object) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


def _existing(state: AnnotationState, ident: str) -> Annotation:
    try:
        return state.annotations[ident]
    except KeyError:
        raise AnnotationError(f"no annotation with id {ident!r}") from None


# -- where edits go ------------------------------------------------------------------------
@runtime_checkable
class AnnotationSink(Protocol):
    """Where the viewer and the command line write marks.

    ``commit`` returns once the changes are durable (for a store: journaled and fsync'd)
    and raises AnnotationError (or the store's typed error) when they cannot be made; a
    sink that is read-only says why in ``read_only_reason`` and refuses every commit.
    """

    @property
    def state(self) -> AnnotationState: ...

    @property
    def read_only_reason(self) -> str: ...

    def commit(self, changes: Sequence[FieldChange], note: str = "") -> AnnotationState: ...

    def undo(self) -> AnnotationState | None: ...

    def redo(self) -> AnnotationState | None: ...


class InMemoryAnnotations:
    """An :class:`AnnotationSink` without a file: linear undo and redo in memory."""

    def __init__(self, state: AnnotationState | None = None, read_only_reason: str = ""):
        self._state = state if state is not None else AnnotationState.with_default_labels()
        self._undo: list[list[FieldChange]] = []
        self._redo: list[list[FieldChange]] = []
        self._read_only_reason = read_only_reason

    @property
    def state(self) -> AnnotationState:
        return self._state

    @property
    def read_only_reason(self) -> str:
        return self._read_only_reason

    def commit(self, changes: Sequence[FieldChange], note: str = "") -> AnnotationState:
        if self._read_only_reason:
            raise AnnotationError(f"read-only: {self._read_only_reason}")
        if changes:
            self._state = apply(self._state, changes)
            self._undo.append(list(changes))
            self._redo.clear()
        return self._state

    def undo(self) -> AnnotationState | None:
        if not self._undo or self._read_only_reason:
            return None
        changes = self._undo.pop()
        self._state = apply(self._state, [c.inverse() for c in reversed(changes)])
        self._redo.append(changes)
        return self._state

    def redo(self) -> AnnotationState | None:
        if not self._redo or self._read_only_reason:
            return None
        changes = self._redo.pop()
        self._state = apply(self._state, changes)
        self._undo.append(changes)
        return self._state


# -- JSON ------------------------------------------------------------------------------------
def _dumps(body: dict[str, Any]) -> str:
    # repr-exact floats and sorted keys: the same object always gives the same text, which
    # is what lets a change be checked against the current state by comparing strings.
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)


def _loads_object(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise AnnotationError(f"not an annotation record: {exc}") from None
    if not isinstance(body, dict):
        raise AnnotationError("not an annotation record: not an object")
    return body


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
