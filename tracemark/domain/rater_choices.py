"""When several raters' choices on one trace count as a disagreement.

Each rater's values of a trace are read the one way every view reads them
(:mod:`tracemark.domain.trace_attributes`): the reject flag by :func:`is_rejected`, the
onset by :func:`onset_shift_of`, a peak as a finite number or unknown. Only raters who have
decided on the trace take part (its review state, :func:`tracemark.domain.review.review_state`,
is accepted or rejected): a trace one rater has not reached yet is unrated by them, not a
disagreement. Two or more reviewing raters disagree when their reject decisions, their
onset shifts or any of their peak values differ (peak values within
:data:`PEAK_TOLERANCE` of each other are the same value; "unknown" differs from any number).

The adjudication view steps through :func:`disagreements`, and says which attributes
differ with :func:`differing_attributes`.

Plain Python: no numpy, no Qt, no files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import trace_attributes as keys
from .review import UNREVIEWED, review_state
from .trace_attributes import finite_number, is_rejected, onset_shift_of

#: The attributes compared between raters, in the order they are told.
COMPARED_KEYS = (keys.REJECT, keys.ONSET_SHIFT, *keys.PEAK_ATTRIBUTE_KEYS)
#: Peak magnitudes (µV) and latencies (ms) closer than this are the same choice.
PEAK_TOLERANCE = 1e-6

Choices = Mapping[str, Mapping[str, Any]]   # rater -> that rater's values of one trace




def _same(key: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if key == keys.REJECT:
        return is_rejected(a) == is_rejected(b)
    if key == keys.ONSET_SHIFT:
        return onset_shift_of(a) == onset_shift_of(b)
    first, second = finite_number(a.get(key)), finite_number(b.get(key))
    if first is None or second is None:
        return first is None and second is None
    return abs(first - second) <= PEAK_TOLERANCE


def reviewing(choices: Choices) -> list[str]:
    """The raters, of ``choices``, who have decided on the trace (in the order given)."""
    return [rater for rater, values in choices.items() if review_state(values) is not UNREVIEWED]


def differing_attributes(choices: Choices) -> tuple[str, ...]:
    """The attributes (of :data:`COMPARED_KEYS`) on which the reviewing raters of one trace
    differ; empty when they agree or fewer than two have reviewed it."""
    raters = reviewing(choices)
    if len(raters) < 2:
        return ()
    first = choices[raters[0]]
    return tuple(key for key in COMPARED_KEYS
                 if any(not _same(key, first, choices[other]) for other in raters[1:]))


def disagreements(per_rater: Mapping[str, Mapping[int, Mapping[str, Any]]],
                  indexes: Iterable[int] | None = None) -> list[int]:
    """The traces (ascending) on which raters disagree. ``per_rater`` maps each rater to
    their values by trace index; ``indexes`` limits the traces looked at."""
    wanted = (sorted({i for values in per_rater.values() for i in values})
              if indexes is None else sorted(set(indexes)))
    return [index for index in wanted
            if differing_attributes(choices_of(per_rater, index))]


def choices_of(per_rater: Mapping[str, Mapping[int, Mapping[str, Any]]], index: int
               ) -> dict[str, Mapping[str, Any]]:
    """Each rater's values of trace ``index`` (an empty mapping for a rater with none)."""
    return {rater: values.get(index, {}) for rater, values in per_rater.items()}
