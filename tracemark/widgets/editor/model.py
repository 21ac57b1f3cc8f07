"""The plain data the trace editor is fed: one ``TraceView`` (the trace on screen) and one
``TraceRow`` per trace (the table).

These are frozen dataclasses free of Qt and files: the app builds them from a cache's
decoded attributes (:meth:`TraceRow.from_attrs` does it the one right way) and hands them
to :class:`~tracemark.widgets.editor.editor.TraceEditorWidget`.

Nothing about the attributes is decided here: their keys and the reading of ``reject``,
``reviewed`` and ``onset_shift`` are :mod:`tracemark.domain.trace_attributes`', and the
review state (accepted, rejected, unreviewed) is :mod:`tracemark.domain.review`'s rule,
which every view and the command line share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from tracemark.domain import trace_attributes as keys

# The states are re-exported: the editor's callers name them from here or from the domain.
from tracemark.domain.review import (  # noqa: F401
    ACCEPTED,
    REJECTED,
    REVIEW_STATES,
    UNREVIEWED,
    ReviewState,
    review_state,
    state_of,
)
from tracemark.domain.trace_attributes import (
    attribute_problems,
    finite_number,
    is_rejected,
    is_reviewed,
    onset_shift_of,
)

#: The edit a decision stands for (one transaction each).
ACCEPT_EDIT: Mapping[str, Any] = MappingProxyType({keys.REVIEWED: True, keys.REJECT: False})
REJECT_EDIT: Mapping[str, Any] = MappingProxyType({keys.REVIEWED: True, keys.REJECT: True})




def peak_to_peak(attrs: Mapping[str, Any]) -> float | None:
    """``pos - neg`` peak magnitude when both are known."""
    neg = finite_number(attrs.get(keys.NEG_PEAK_MAGNITUDE))
    pos = finite_number(attrs.get(keys.POS_PEAK_MAGNITUDE))
    return None if neg is None or pos is None else pos - neg


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class TraceRow:
    """One trace as the table shows it."""

    index: int
    origin: str
    event_time_s: float | None
    reviewed: bool
    reject: bool
    onset_shift: int
    comment: str = ""
    peak_to_peak: float | None = None
    examiner: str = ""
    #: Stored values the rules could not read, told in words (``attribute_problems``).
    problems: tuple[str, ...] = ()

    @property
    def state(self) -> ReviewState:
        return state_of(self.reviewed, self.reject)

    @classmethod
    def from_attrs(cls, index: int, attrs: Mapping[str, Any], origin: str | None = None) -> TraceRow:
        """The row of trace ``index`` from its attributes (as ``CacheFile.get_trace_attrs``
        returns them; ``origin`` defaults to ``attrs["origin"]``)."""
        return cls(index=int(index), origin=_text(origin if origin is not None else attrs.get(keys.ORIGIN)),
                   event_time_s=finite_number(attrs.get(keys.EVENT_TIME)),
                   reviewed=is_reviewed(attrs), reject=is_rejected(attrs),
                   onset_shift=onset_shift_of(attrs), comment=_text(attrs.get(keys.COMMENT)),
                   peak_to_peak=peak_to_peak(attrs), examiner=_text(attrs.get(keys.EXAMINER)),
                   problems=tuple(attribute_problems(attrs)))


@dataclass(frozen=True)
class TraceView:
    """The trace on screen: samples (rows, channels) in ``units`` and its attributes.

    ``attrs`` holds the trace's typed attributes (reject, reviewed, onset_shift, comment,
    examiner, the four peak keys, channel_of_interest, stimulation intensity, ...);
    ``origin_attrs`` the attributes of the recording it was cut from (shown read-only);
    ``other_raters`` what the other raters chose, when they are shown.
    """

    index: int
    data: np.ndarray
    channel_labels: tuple[str, ...]
    sampling_rate: float
    samples_pre: int
    attrs: Mapping[str, Any] = field(default_factory=dict)
    origin: str = ""
    origin_attrs: Mapping[str, Any] = field(default_factory=dict)
    units: str = "µV"
    #: The other raters' values of this trace (rater -> their attributes), on a cache rated
    #: by several raters once this rater may see them; empty otherwise (and while blind).
    other_raters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2:
            raise ValueError(f"trace {self.index}: data must be (samples, channels), got {data.shape}")
        if data.shape[1] != len(self.channel_labels):
            raise ValueError(f"trace {self.index}: {data.shape[1]} data columns for "
                             f"{len(self.channel_labels)} channel labels")
        if not (math.isfinite(self.sampling_rate) and self.sampling_rate > 0):
            raise ValueError(f"trace {self.index}: sampling rate {self.sampling_rate} is not positive")
        if not 0 <= self.samples_pre <= data.shape[0]:
            raise ValueError(f"trace {self.index}: samples_pre {self.samples_pre} lies outside "
                             f"its {data.shape[0]} samples")
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "channel_labels", tuple(self.channel_labels))

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def onset_shift(self) -> int:
        return onset_shift_of(self.attrs)

    @property
    def shift_range(self) -> tuple[int, int]:
        """Lowest and highest onset shift the cache accepts for this trace."""
        return -self.samples_pre, self.n_samples - self.samples_pre - 1

    @property
    def state(self) -> ReviewState:
        return review_state(self.attrs)

    @property
    def problems(self) -> list[str]:
        """Stored values of this trace the rules could not read, told in words."""
        return attribute_problems(self.attrs)

    @property
    def channel_of_interest(self) -> str | None:
        value = self.attrs.get(keys.CHANNEL_OF_INTEREST)
        return value if isinstance(value, str) and value in self.channel_labels else None

    def default_channel(self) -> int:
        """Column shown unless the user picks another: the channel of interest, else the
        first EMG channel, else the first."""
        if self.channel_of_interest is not None:
            return self.channel_labels.index(self.channel_of_interest)
        for i, label in enumerate(self.channel_labels):
            if label.upper().startswith("EMG"):
                return i
        return 0

    def ms_per_sample(self) -> float:
        return 1000.0 / self.sampling_rate
