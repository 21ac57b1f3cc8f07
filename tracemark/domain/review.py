"""A trace's review state, how states are counted, and the words a person reads for them:
one rule and one vocabulary for the editor, the table, the plots and the command line.

The vocabulary:

* **rejected**: ``reject`` is true, whether or not a person reviewed the trace (offspect,
  which has no ``reviewed`` key, marks its rejections this way);
* **accepted**: ``reviewed`` is true and the trace is not rejected;
* **unreviewed**: neither (``reviewed`` false or absent, not rejected).

"Accepted" never stands for "not rejected": a count of traces that are not rejected says
so (:attr:`ReviewCounts.not_rejected`, :func:`describe_average`).

The two flags are read by :mod:`tracemark.domain.trace_attributes` (:func:`is_rejected`,
:func:`is_reviewed`), the one reading every layer and the cache's schema share: ``True``,
``1``, ``"true"``, ``"1"`` ... are set, ``False``, ``0``, ``"false"`` ... are not, and a
value that is neither (``"maybe"``) is not set either, so a value nobody can read never
marks a trace as decided.

Plain Python: imports nothing else from Tracemark, no Qt, no file formats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tracemark.domain.trace_attributes import is_rejected, is_reviewed


class ReviewState(str, Enum):
    """Where a person stands with one trace. A ``str``, so ``"accepted"`` compares equal."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNREVIEWED = "unreviewed"

    # Shown as its word in f-strings and str() on every Python version (3.11 changed the
    # default for mixed-in enums).
    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


ACCEPTED, REJECTED, UNREVIEWED = ReviewState.ACCEPTED, ReviewState.REJECTED, ReviewState.UNREVIEWED
#: The states in the order counts are told.
REVIEW_STATES = (ACCEPTED, REJECTED, UNREVIEWED)

#: What an average can be taken over: every trace not rejected, or the accepted ones only.
NOT_REJECTED, ACCEPTED_ONLY = "not_rejected", "accepted_only"
AVERAGE_OVER = (NOT_REJECTED, ACCEPTED_ONLY)


def state_of(reviewed: bool, reject: bool) -> ReviewState:
    """THE rule: rejected wins, then reviewed means accepted, else unreviewed."""
    if reject:
        return REJECTED
    return ACCEPTED if reviewed else UNREVIEWED


def review_state(attrs: Mapping[str, Any]) -> ReviewState:
    """The state of a trace from its attributes (``CacheFile.get_trace_attrs``)."""
    return state_of(is_reviewed(attrs), is_rejected(attrs))


def is_averaged(state: ReviewState, over: str = NOT_REJECTED) -> bool:
    """Whether a trace in ``state`` enters an average taken ``over`` (see AVERAGE_OVER)."""
    if over == NOT_REJECTED:
        return state != REJECTED
    if over == ACCEPTED_ONLY:
        return state == ACCEPTED
    raise ValueError(f"an average is taken over {' or '.join(AVERAGE_OVER)}, not {over!r}")


@dataclass(frozen=True)
class ReviewCounts:
    """How many traces are in each state."""

    accepted: int = 0
    rejected: int = 0
    unreviewed: int = 0

    @classmethod
    def of_states(cls, states: Iterable[ReviewState | str]) -> ReviewCounts:
        counts = {state: 0 for state in REVIEW_STATES}
        for state in states:
            counts[ReviewState(state)] += 1
        return cls(counts[ACCEPTED], counts[REJECTED], counts[UNREVIEWED])

    @classmethod
    def of_attrs(cls, all_attrs: Iterable[Mapping[str, Any]]) -> ReviewCounts:
        """Counts over every trace's decoded attributes."""
        return cls.of_states(review_state(attrs) for attrs in all_attrs)

    @classmethod
    def of_flags(cls, reviewed: Iterable[bool], reject: Iterable[bool]) -> ReviewCounts:
        """Counts over per-trace ``reviewed`` and ``reject`` flags already decoded."""
        return cls.of_states(state_of(bool(rv), bool(rj)) for rv, rj in zip(reviewed, reject))

    @classmethod
    def of_mapping(cls, counts: Mapping[str, int]) -> ReviewCounts:
        """From ``{"accepted": 3, ...}`` (missing states count 0)."""
        return cls(*(int(counts.get(state, 0)) for state in REVIEW_STATES))

    def __getitem__(self, state: ReviewState | str) -> int:
        return int(getattr(self, ReviewState(state).value))

    @property
    def total(self) -> int:
        return self.accepted + self.rejected + self.unreviewed

    @property
    def reviewed(self) -> int:
        """Traces a person has decided on (accepted or rejected)."""
        return self.accepted + self.rejected

    @property
    def not_rejected(self) -> int:
        """Accepted and unreviewed traces: what an average over traces not rejected uses."""
        return self.accepted + self.unreviewed

    def as_dict(self) -> dict[str, int]:
        return {state.value: self[state] for state in REVIEW_STATES}

    def parts(self) -> list[tuple[ReviewState, str]]:
        """("accepted", "1 accepted"), ... in the order they are told."""
        return [(state, f"{self[state]} {state.value}") for state in REVIEW_STATES]

    def describe(self) -> str:
        """The one text every view shows: "1 accepted · 0 rejected · 34 unreviewed"."""
        return " · ".join(text for _state, text in self.parts())


def _traces(n: int) -> str:
    return f"{n} trace" if n == 1 else f"{n} traces"


def averaged_count(counts: ReviewCounts, over: str = NOT_REJECTED) -> int:
    """How many traces an average taken ``over`` uses."""
    is_averaged(ACCEPTED, over)   # refuses an unknown ``over``
    return counts.not_rejected if over == NOT_REJECTED else counts.accepted


def describe_average(counts: ReviewCounts, over: str = NOT_REJECTED) -> str:
    """What an average averaged, with the same counts as everywhere else, e.g.
    "Average of 35 traces not rejected (1 accepted, 34 unreviewed)"."""
    n = averaged_count(counts, over)
    if over == NOT_REJECTED:
        return (f"Average of {_traces(n)} not rejected "
                f"({counts.accepted} accepted, {counts.unreviewed} unreviewed)")
    return (f"Average of {n} accepted {'trace' if n == 1 else 'traces'} "
            f"({counts.unreviewed} unreviewed and {counts.rejected} rejected left out)")


def describe_averaged_traces(counts: ReviewCounts, over: str = NOT_REJECTED) -> str:
    """The averaged traces in a few words, for a legend: "35 not rejected", "1 accepted"."""
    n = averaged_count(counts, over)
    return f"{n} not rejected" if over == NOT_REJECTED else f"{n} accepted"
