"""When raters' choices on one trace count as a disagreement (domain/rater_choices)."""

from __future__ import annotations

from tracemark.domain import trace_attributes as keys
from tracemark.domain.rater_choices import (
    PEAK_TOLERANCE,
    choices_of,
    differing_attributes,
    disagreements,
    reviewing,
)

ACCEPT = {keys.REVIEWED: True, keys.REJECT: False}
REJECT = {keys.REVIEWED: True, keys.REJECT: True}


def test_agreeing_raters_do_not_disagree():
    assert differing_attributes({"a": {**ACCEPT, keys.ONSET_SHIFT: 3},
                                 "b": {**ACCEPT, keys.ONSET_SHIFT: "3"}}) == ()


def test_each_attribute_that_differs_is_named():
    a = {**ACCEPT, keys.ONSET_SHIFT: 1, keys.NEG_PEAK_MAGNITUDE: -10.0}
    b = {**REJECT, keys.ONSET_SHIFT: 2, keys.NEG_PEAK_MAGNITUDE: -10.5}
    assert differing_attributes({"a": a, "b": b}) == (keys.REJECT, keys.ONSET_SHIFT,
                                                       keys.NEG_PEAK_MAGNITUDE)


def test_peaks_within_the_tolerance_agree_and_unknown_differs_from_a_number():
    a = {**ACCEPT, keys.POS_PEAK_LATENCY: 20.0}
    assert differing_attributes({"a": a, "b": {**a, keys.POS_PEAK_LATENCY: 20.0 + PEAK_TOLERANCE / 2}}) == ()
    assert differing_attributes({"a": a, "b": {**ACCEPT}}) == (keys.POS_PEAK_LATENCY,)
    assert differing_attributes({"a": {**ACCEPT}, "b": {**ACCEPT, keys.POS_PEAK_LATENCY: None}}) == ()


def test_only_raters_who_decided_take_part():
    offspect_reject = {keys.REJECT: True}              # no reviewed key: rejected all the same
    assert reviewing({"a": ACCEPT, "b": {}, "c": offspect_reject}) == ["a", "c"]
    assert differing_attributes({"a": ACCEPT, "b": {keys.ONSET_SHIFT: 4}}) == ()
    assert differing_attributes({"a": ACCEPT, "c": offspect_reject}) == (keys.REJECT,)


def test_disagreements_lists_the_traces_in_order():
    per_rater = {"a": {0: ACCEPT, 1: ACCEPT, 2: ACCEPT, 5: REJECT},
                 "b": {0: ACCEPT, 1: REJECT, 5: ACCEPT}}
    assert disagreements(per_rater) == [1, 5]
    assert disagreements(per_rater, [0, 1, 2]) == [1]
    assert choices_of(per_rater, 2) == {"a": ACCEPT, "b": {}}
