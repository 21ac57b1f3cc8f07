"""How well several raters of one cache agree: the statistics a study reports for
inter-rater reliability, computed from each rater's own values.

What is compared, and on which traces (a trace enters a statistic only when every rater
it compares has decided it; the ``n`` of each result says how many did):

* **reject decisions**, per pair of raters: percent agreement and Cohen's kappa, over the
  traces both raters decided (accepted or rejected, :func:`tracemark.domain.review.review_state`);
  with three or more raters also Fleiss' kappa and the share of unanimous traces, over the
  traces every rater decided;
* **measurements**, per pair of raters: the onset shift (samples), the peak magnitudes
  (uV) and latencies (ms) and the zero-crossing latency: ICC(2,1) (two-way random
  effects, absolute agreement, single rater; Shrout & Fleiss 1979), the mean difference
  (first rater minus second) and the Bland-Altman 95 % limits of agreement
  (mean ± 1.96 SD of the differences). Only traces both raters *accepted* enter: a
  rejected trace has no onset or peak anyone vouches for. A peak enters when both raters
  stored a finite number for it; the onset shift is read by
  :func:`tracemark.domain.trace_attributes.onset_shift_of` (absent = 0, the stored event).
  With three or more raters, ICC(2,1) over all of them is given as well.
* **counts** per rater: traces decided (accepted + rejected).

A statistic that cannot be computed is ``None`` with a sentence saying why (fewer than
two traces; every decision the same, so kappa is 0/0; every value the same, so the ICC is
0/0); nothing here returns NaN or raises for such data.

The input is any object shaped like ``tracemark.io_backends.cache.Ratings`` (the
:class:`RatingsSource` protocol): this module reads no files. Plain numpy; no Qt.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from tracemark.domain.review import ACCEPTED, REJECTED, UNREVIEWED, ReviewState, review_state
from tracemark.domain.trace_attributes import (
    NEG_PEAK_LATENCY,
    NEG_PEAK_MAGNITUDE,
    ONSET_SHIFT,
    POS_PEAK_LATENCY,
    POS_PEAK_MAGNITUDE,
    ZCR_LATENCY,
    onset_shift_of,
)

#: Version of :meth:`AgreementReport.to_dict`'s layout; raised when a field changes meaning.
REPORT_FORMAT = "tracemark-agreement/1"

#: The measured attributes compared, in report order, with their units (plain ASCII, as the
#: keys spell them, so that any terminal prints them).
MEASURED_KEYS: dict[str, str] = {
    ONSET_SHIFT: "samples",
    NEG_PEAK_MAGNITUDE: "uV",
    NEG_PEAK_LATENCY: "ms",
    POS_PEAK_MAGNITUDE: "uV",
    POS_PEAK_LATENCY: "ms",
    ZCR_LATENCY: "ms",
}

#: The normal quantile of Bland & Altman's 95 % limits of agreement.
LIMITS_Z = 1.96

#: The least number of traces a kappa, an ICC or limits of agreement is computed on.
LEAST_TRACES = 2

FloatArray = npt.NDArray[np.float64]


class RatingsSource(Protocol):
    """What the statistics need of the raters' values (``Ratings`` from the cache has it)."""

    @property
    def raters(self) -> Sequence[str]: ...

    def values(self, rater: str) -> Mapping[int, Mapping[str, Any]]: ...


# -- results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RaterCounts:
    """How far one rater got: traces decided, of them accepted and rejected."""

    rater: str
    accepted: int
    rejected: int

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected


@dataclass(frozen=True)
class DecisionAgreement:
    """Agreement on reject decisions between two raters (``raters`` has two names) or all of
    them (three or more: ``kappa`` is then Fleiss', ``percent_agreement`` the share of
    traces every rater decided alike). ``undefined`` says why a None value is None."""

    raters: tuple[str, ...]
    n: int
    percent_agreement: float | None
    kappa: float | None
    undefined: str = ""
    #: With two raters: traces both rejected, both accepted, only the first rejected,
    #: only the second rejected.
    table: tuple[int, int, int, int] | None = None

    @property
    def kind(self) -> str:
        return "cohen" if len(self.raters) == 2 else "fleiss"


@dataclass(frozen=True)
class MeasurementAgreement:
    """Agreement on one measured attribute between two raters, or ICC(2,1) over all
    raters (three or more; no differences then). ``first`` and ``second`` are the paired
    values of the traces in ``indexes`` (two raters only), for a Bland-Altman plot."""

    key: str
    raters: tuple[str, ...]
    n: int
    icc: float | None
    mean_difference: float | None
    limits: tuple[float, float] | None
    undefined: str = ""
    indexes: tuple[int, ...] = ()
    first: tuple[float, ...] = ()
    second: tuple[float, ...] = ()

    @property
    def unit(self) -> str:
        return MEASURED_KEYS.get(self.key, "")


@dataclass(frozen=True)
class AgreementReport:
    """Every statistic of :func:`agreement_report`, in rater order (the order of
    ``ratings.raters``) and pair order (``combinations`` of it)."""

    raters: tuple[str, ...]
    counts: tuple[RaterCounts, ...]
    decisions: tuple[DecisionAgreement, ...]
    #: Fleiss' kappa over all raters; None with fewer than three raters.
    decisions_all: DecisionAgreement | None
    #: Key -> per pair, in :data:`MEASURED_KEYS` order.
    measurements: dict[str, tuple[MeasurementAgreement, ...]] = field(default_factory=dict)
    #: Key -> ICC(2,1) over all raters; only with three or more raters.
    measurements_all: dict[str, MeasurementAgreement] = field(default_factory=dict)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return list(combinations(self.raters, 2))

    def to_dict(self, with_values: bool = False) -> dict[str, Any]:
        """A JSON-ready description with a fixed layout (:data:`REPORT_FORMAT`); None stays
        None (JSON null), never NaN. ``with_values`` adds the paired values per trace."""
        return {
            "format": REPORT_FORMAT,
            "raters": list(self.raters),
            "counts": [{"rater": c.rater, "decided": c.decided, "accepted": c.accepted,
                        "rejected": c.rejected} for c in self.counts],
            "reject": {
                "pairs": [_decision_dict(d) for d in self.decisions],
                "all": None if self.decisions_all is None else _decision_dict(self.decisions_all),
            },
            "measurements": {
                key: {"unit": MEASURED_KEYS[key],
                      "pairs": [_measurement_dict(m, with_values) for m in pairs],
                      "all": (_measurement_dict(self.measurements_all[key], with_values)
                              if key in self.measurements_all else None)}
                for key, pairs in self.measurements.items()},
        }


def _decision_dict(result: DecisionAgreement) -> dict[str, Any]:
    table = None if result.table is None else dict(zip(
        ("both_rejected", "both_accepted", "only_first_rejected", "only_second_rejected"),
        result.table))
    return {"raters": list(result.raters), "statistic": result.kind, "n": result.n,
            "percent_agreement": result.percent_agreement, "kappa": result.kappa,
            "undefined": result.undefined or None, "table": table}


def _measurement_dict(result: MeasurementAgreement, with_values: bool) -> dict[str, Any]:
    described: dict[str, Any] = {
        "raters": list(result.raters), "n": result.n, "icc": result.icc,
        "mean_difference": result.mean_difference,
        "limits": None if result.limits is None else list(result.limits),
        "undefined": result.undefined or None}
    if with_values:
        described["values"] = [{"index": i, "first": a, "second": b}
                               for i, a, b in zip(result.indexes, result.first, result.second)]
    return described


def raters_label(raters: Sequence[str]) -> str:
    """How a result names its raters: "alice · bob" for a pair, "all 3 raters" for more."""
    return " · ".join(raters) if len(raters) == 2 else f"all {len(raters)} raters"


# -- the report ------------------------------------------------------------------------------
def agreement_report(ratings: RatingsSource, raters: Sequence[str] | None = None) -> AgreementReport:
    """Every statistic of the module docstring for the raters of ``ratings``, or only for
    ``raters`` among them (in that order): a rater reviewing blind is shown the agreement
    of the raters they may see, not of everyone. An unknown name is a ``ValueError``."""
    if raters is None:
        raters = tuple(ratings.raters)
    else:
        unknown = [name for name in raters if name not in ratings.raters]
        if unknown:
            raise ValueError(f"no rater named {unknown[0]!r}; the raters are "
                             f"{', '.join(ratings.raters) or 'none'}")
        raters = tuple(dict.fromkeys(raters))
    values = {rater: ratings.values(rater) for rater in raters}
    states = {rater: _states(values[rater]) for rater in raters}
    counts = tuple(RaterCounts(rater, accepted=sum(s is ACCEPTED for s in states[rater].values()),
                               rejected=sum(s is REJECTED for s in states[rater].values()))
                   for rater in raters)
    pairs = list(combinations(raters, 2))
    decisions = tuple(decision_agreement([states[a], states[b]], (a, b)) for a, b in pairs)
    decisions_all = (decision_agreement([states[r] for r in raters], raters)
                     if len(raters) >= 3 else None)
    measurements: dict[str, tuple[MeasurementAgreement, ...]] = {}
    measurements_all: dict[str, MeasurementAgreement] = {}
    for key in MEASURED_KEYS:
        measured = {rater: _measured(key, values[rater], states[rater]) for rater in raters}
        measurements[key] = tuple(measurement_agreement(key, [measured[a], measured[b]], (a, b))
                                  for a, b in pairs)
        if len(raters) >= 3:
            measurements_all[key] = measurement_agreement(
                key, [measured[r] for r in raters], raters)
    return AgreementReport(raters, counts, decisions, decisions_all, measurements,
                           measurements_all)


def _states(values: Mapping[int, Mapping[str, Any]]) -> dict[int, ReviewState]:
    """Index -> accepted or rejected, for the traces the rater decided."""
    decided = {}
    for index, attrs in values.items():
        state = review_state(attrs)
        if state is not UNREVIEWED:
            decided[int(index)] = state
    return decided


def _measured(key: str, values: Mapping[int, Mapping[str, Any]],
              states: Mapping[int, ReviewState]) -> dict[int, float]:
    """Index -> the rater's value of ``key``, for the traces they accepted and measured."""
    measured = {}
    for index, state in states.items():
        if state is not ACCEPTED:
            continue
        attrs = values[index]
        number = float(onset_shift_of(attrs)) if key == ONSET_SHIFT else _finite(attrs.get(key))
        if number is not None:
            measured[index] = number
    return measured


def _finite(value: Any) -> float | None:
    """A stored measurement as a float; None when it is absent or not a finite number."""
    if value is None or isinstance(value, (bool, np.bool_, str, bytes)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# -- reject decisions ---------------------------------------------------------------------------
def decision_agreement(states: Sequence[Mapping[int, ReviewState]],
                       raters: tuple[str, ...]) -> DecisionAgreement:
    """Agreement on reject decisions of two raters (Cohen) or more (Fleiss), over the
    traces every one of them decided; ``states`` holds each rater's index -> state."""
    common = sorted(set.intersection(*(set(s) for s in states))) if states else []
    rejected = np.array([[s[i] is REJECTED for s in states] for i in common], dtype=bool)
    rejected = rejected.reshape(len(common), len(states))
    n = len(common)
    if n == 0:
        return DecisionAgreement(raters, 0, None, None, _none_in_common(raters, "decided"))
    agree = float(np.mean(np.all(rejected == rejected[:, :1], axis=1)))
    table = None
    if len(states) == 2:
        first, second = rejected[:, 0], rejected[:, 1]
        table = (int(np.sum(first & second)), int(np.sum(~first & ~second)),
                 int(np.sum(first & ~second)), int(np.sum(~first & second)))
        kappa, undefined = cohen_kappa(rejected)
    else:
        kappa, undefined = fleiss_kappa(rejected)
    return DecisionAgreement(raters, n, 100.0 * agree, kappa, undefined, table)


def cohen_kappa(rejected: npt.NDArray[np.bool_]) -> tuple[float | None, str]:
    """Cohen's kappa of two raters' yes/no decisions (``rejected``: one row per trace,
    one column per rater), or None and why."""
    n = rejected.shape[0]
    if n < LEAST_TRACES:
        return None, _too_few(n)
    observed = float(np.mean(rejected[:, 0] == rejected[:, 1]))
    first, second = rejected.mean(axis=0)
    chance = float(first * second + (1 - first) * (1 - second))
    if chance >= 1.0:
        return None, _one_category(rejected)
    return (observed - chance) / (1.0 - chance), ""


def fleiss_kappa(rejected: npt.NDArray[np.bool_]) -> tuple[float | None, str]:
    """Fleiss' kappa of three or more raters' yes/no decisions (rows: traces, columns:
    raters, every rater deciding every trace), or None and why."""
    n, raters = rejected.shape
    if n < LEAST_TRACES:
        return None, _too_few(n)
    per_category = np.stack([rejected.sum(axis=1), (~rejected).sum(axis=1)], axis=1).astype(float)
    shares = per_category.sum(axis=0) / (n * raters)
    chance = float(np.sum(shares ** 2))
    if chance >= 1.0:
        return None, _one_category(rejected)
    per_trace = (np.sum(per_category ** 2, axis=1) - raters) / (raters * (raters - 1))
    return (float(np.mean(per_trace)) - chance) / (1.0 - chance), ""


def _one_category(rejected: npt.NDArray[np.bool_]) -> str:
    word = "rejected" if bool(rejected.all()) else "accepted"
    return (f"kappa is undefined: every rater {word} all {rejected.shape[0]} traces, so "
            f"chance agreement is already 100 %")


# -- measurements ---------------------------------------------------------------------------------
def measurement_agreement(key: str, measured: Sequence[Mapping[int, float]],
                          raters: tuple[str, ...]) -> MeasurementAgreement:
    """ICC(2,1) of ``key`` and, for two raters, the mean difference and limits of
    agreement, over the traces every rater measured (``measured``: index -> value)."""
    common = sorted(set.intersection(*(set(m) for m in measured))) if measured else []
    n = len(common)
    if n == 0:
        return MeasurementAgreement(key, raters, 0, None, None, None,
                                    _none_in_common(raters, f"accepted and measured ({key})"))
    table = np.array([[m[i] for m in measured] for i in common], dtype=np.float64)
    icc, why_not_icc = icc_2_1(table)
    if len(raters) != 2:
        return MeasurementAgreement(key, raters, n, icc, None, None, why_not_icc)
    mean_difference, limits, why_not_limits = bland_altman(table[:, 0], table[:, 1])
    undefined = "; ".join(dict.fromkeys(text for text in (why_not_icc, why_not_limits) if text))
    return MeasurementAgreement(key, raters, n, icc, mean_difference, limits, undefined,
                                tuple(common), tuple(table[:, 0].tolist()),
                                tuple(table[:, 1].tolist()))


def icc_2_1(table: FloatArray) -> tuple[float | None, str]:
    """ICC(2,1) of Shrout & Fleiss (two-way random, absolute agreement, single rater) of
    ``table`` (rows: traces, columns: raters), or None and why."""
    n, k = table.shape
    if n < LEAST_TRACES:
        return None, _too_few(n)
    if k < 2:
        return None, "an ICC needs at least two raters"
    if float(np.ptp(table)) == 0.0:
        return None, (f"the ICC is undefined: every rater gave every one of the {n} traces "
                      f"the same value ({table[0, 0]:g})")
    centred = table - table.mean()
    ss_rows = k * float(np.sum(centred.mean(axis=1) ** 2))
    ss_columns = n * float(np.sum(centred.mean(axis=0) ** 2))
    ss_error = float(np.sum(centred ** 2)) - ss_rows - ss_columns
    ms_rows = ss_rows / (n - 1)
    ms_columns = ss_columns / (k - 1)
    ms_error = max(ss_error, 0.0) / ((n - 1) * (k - 1))
    denominator = ms_rows + (k - 1) * ms_error + k * (ms_columns - ms_error) / n
    if not denominator > 0.0:
        return None, "the ICC is undefined: the values do not vary"
    return (ms_rows - ms_error) / denominator, ""


def bland_altman(first: FloatArray, second: FloatArray
                 ) -> tuple[float | None, tuple[float, float] | None, str]:
    """The mean of ``first - second`` and its 95 % limits of agreement, or None and why."""
    n = first.size
    if n == 0:
        return None, None, _too_few(0)
    differences = first - second
    mean = float(differences.mean())
    if n < LEAST_TRACES:
        return mean, None, "limits of agreement need at least 2 traces"
    spread = LIMITS_Z * float(differences.std(ddof=1))
    return mean, (mean - spread, mean + spread), ""


def _too_few(n: int) -> str:
    return f"only {n} trace{'s' if n != 1 else ''} in common; at least {LEAST_TRACES} are needed"


def _none_in_common(raters: tuple[str, ...], what: str) -> str:
    who = "both raters" if len(raters) == 2 else f"all {len(raters)} raters"
    return f"no trace that {who} {what}"
