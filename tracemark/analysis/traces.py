"""``TraceSet``: the traces of a session and the attributes the pictures depend on, as numpy
arrays, so every computation here is vectorised and free of files and Qt.

All traces share one frame: row ``samples_pre`` of every trace is its stored event sample
(the app pads traces of origins with a shorter window with NaN). The corrected onset of
trace ``i`` is row ``samples_pre + onset_shift[i]`` (positive shift = the response starts
after the stored event, the cache's convention).

Views keep their own copy of the per-trace attributes (:meth:`TraceSet.copy`, sharing the
samples) and apply edits to it with :meth:`TraceSet.apply_attrs`, which takes the plain
attribute mapping a cache returns and reports which fields changed, so that each view
redoes only the work an edit calls for.

The attributes are read by :mod:`tracemark.domain.trace_attributes` (its keys, and its
one reading of ``reject``, ``reviewed`` and ``onset_shift``), so an edit never changes how
an untouched value reads; each trace's review state (accepted, rejected, unreviewed)
follows :mod:`tracemark.domain.review` from its flags, and traces are named for people by
their number from 1 (:mod:`tracemark.domain.trace_numbers`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tracemark.domain import trace_attributes as keys
from tracemark.domain.review import NOT_REJECTED, ReviewCounts, ReviewState, is_averaged, state_of
from tracemark.domain.trace_attributes import is_rejected, is_reviewed, onset_shift_of
from tracemark.domain.trace_numbers import trace_label

#: Attribute keys (as stored in a cache) -> TraceSet field they update.
ATTRIBUTE_FIELDS = {
    keys.REJECT: "reject",
    keys.REVIEWED: "reviewed",
    keys.ONSET_SHIFT: "onset_shift",
    keys.STIMULATION_INTENSITY_MSO: "intensity_mso",
    keys.XYZ_COORDS: "xyz",
    **{key: "annotated" for key in keys.PEAK_ATTRIBUTE_KEYS},
}


@dataclass
class TraceSet:
    """Traces (n, rows, channels) in physical units plus one value per trace and attribute.

    Missing values are NaN (intensity, coordinates, annotated peaks, event time).
    """

    data: np.ndarray
    sampling_rate: float
    samples_pre: int
    channel_labels: tuple[str, ...]
    reject: np.ndarray
    onset_shift: np.ndarray
    intensity_mso: np.ndarray
    xyz: np.ndarray
    event_time_s: np.ndarray
    #: Peak-to-peak amplitude (pos - neg) and first-peak latency an annotator set, or NaN.
    annotated_ptp_uv: np.ndarray
    annotated_latency_ms: np.ndarray
    #: How a person names each trace in a message, e.g. "Trace 13 (rec.TRC index 12)".
    names: tuple[str, ...]
    units: str = "uV"
    channel_of_interest: str | None = None
    #: Whether a person has decided on each trace (default: nobody has).
    reviewed: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.data.shape[0]
        if self.data.ndim != 3:
            raise ValueError(f"trace data must be (traces, rows, channels), got {self.data.shape}")
        self.reviewed = (np.zeros(n, bool) if self.reviewed is None
                         else np.asarray(self.reviewed, bool))
        for name in ("reject", "reviewed", "onset_shift", "intensity_mso", "event_time_s",
                     "annotated_ptp_uv", "annotated_latency_ms"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} values for {n} traces")
        if self.xyz.shape != (n, 3):
            raise ValueError(f"xyz must be ({n}, 3), got {self.xyz.shape}")
        if len(self.names) != n or len(self.channel_labels) != self.data.shape[2]:
            raise ValueError("names must match the traces and channel_labels the channels")
        if not 0 <= self.samples_pre <= self.data.shape[1]:
            raise ValueError(f"samples_pre {self.samples_pre} is outside the trace")

    @classmethod
    def from_arrays(cls, data: np.ndarray, sampling_rate: float, samples_pre: int,
                    channel_labels: Sequence[str], **per_trace: Any) -> TraceSet:
        """A TraceSet with defaults (unreviewed and not rejected, no shift, nothing known)
        for any field not given; handy for scripts and tests."""
        data = np.asarray(data, dtype=np.float32)
        n = data.shape[0]
        nan = np.full(n, np.nan)
        fields = dict(reject=np.zeros(n, bool), onset_shift=np.zeros(n, np.int64),
                      intensity_mso=nan.copy(), xyz=np.full((n, 3), np.nan),
                      event_time_s=nan.copy(), annotated_ptp_uv=nan.copy(),
                      annotated_latency_ms=nan.copy(),
                      names=tuple(trace_label(i) for i in range(n)))
        for key, value in per_trace.items():
            if key not in fields and key not in ("units", "channel_of_interest", "reviewed"):
                raise TypeError(f"unknown TraceSet field {key!r}")
            fields[key] = value
        fields["reject"] = np.asarray(fields["reject"], bool)
        fields["onset_shift"] = np.asarray(fields["onset_shift"], np.int64)
        for key in ("intensity_mso", "event_time_s", "annotated_ptp_uv", "annotated_latency_ms"):
            fields[key] = np.asarray(fields[key], np.float64)
        fields["xyz"] = np.asarray(fields["xyz"], np.float64).reshape(n, 3)
        return cls(data, float(sampling_rate), int(samples_pre), tuple(channel_labels), **fields)

    def __len__(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_rows(self) -> int:
        return int(self.data.shape[1])

    @property
    def _reviewed(self) -> np.ndarray:
        """``reviewed``, which ``__post_init__`` never leaves ``None``."""
        assert self.reviewed is not None
        return self.reviewed

    def copy(self) -> TraceSet:
        """Own copies of the per-trace attributes; the samples are shared (never written)."""
        return replace(self, reject=self.reject.copy(), reviewed=self._reviewed.copy(),
                       onset_shift=self.onset_shift.copy(),
                       intensity_mso=self.intensity_mso.copy(), xyz=self.xyz.copy(),
                       annotated_ptp_uv=self.annotated_ptp_uv.copy(),
                       annotated_latency_ms=self.annotated_latency_ms.copy())

    def states(self) -> list[ReviewState]:
        """Each trace's review state."""
        return [state_of(bool(reviewed), bool(reject))
                for reviewed, reject in zip(self._reviewed, self.reject)]

    def review_counts(self) -> ReviewCounts:
        return ReviewCounts.of_states(self.states())

    def averaged(self, over: str = NOT_REJECTED) -> np.ndarray:
        """Which traces an average taken ``over`` (``tracemark.domain.review.AVERAGE_OVER``)
        includes, as a boolean mask."""
        return np.array([is_averaged(state, over) for state in self.states()], bool)

    def channel_index(self, channel: int | str | None) -> int:
        """A channel by label or column number; ``None`` = :func:`default_channel`."""
        if channel is None:
            return default_channel(self.channel_labels, self.channel_of_interest)
        if isinstance(channel, str):
            if channel in self.channel_labels:
                return self.channel_labels.index(channel)
            raise ValueError(f"no channel {channel!r}; channels are {', '.join(self.channel_labels)}")
        if not 0 <= int(channel) < len(self.channel_labels):
            raise ValueError(f"channel {channel} does not exist ({len(self.channel_labels)} channels)")
        return int(channel)

    def apply_attrs(self, index: int, attrs: Mapping[str, Any]) -> frozenset[str]:
        """Take the attributes of trace ``index`` (any subset of a cache's keys); returns the
        fields that changed ("reject", "reviewed", "onset_shift", "intensity_mso", "xyz",
        "annotated"). ``reject``, ``reviewed`` and ``onset_shift`` are read by
        :mod:`tracemark.domain.trace_attributes`, as when the set was loaded."""
        if not 0 <= index < len(self):
            raise IndexError(f"trace index {index} does not exist ({len(self)} traces)")
        changed = set()
        for key, read, flags in ((keys.REJECT, is_rejected, self.reject),
                                 (keys.REVIEWED, is_reviewed, self._reviewed)):
            if key in attrs and read(attrs) != bool(flags[index]):
                flags[index] = read(attrs)
                changed.add(ATTRIBUTE_FIELDS[key])
        if keys.ONSET_SHIFT in attrs:
            shift = onset_shift_of(attrs)
            if shift != self.onset_shift[index]:
                self.onset_shift[index] = shift
                changed.add(ATTRIBUTE_FIELDS[keys.ONSET_SHIFT])
        if keys.STIMULATION_INTENSITY_MSO in attrs:
            value = _float(attrs[keys.STIMULATION_INTENSITY_MSO])
            if not _same(value, self.intensity_mso[index]):
                self.intensity_mso[index] = value
                changed.add("intensity_mso")
        if keys.XYZ_COORDS in attrs:
            xyz = coords_or_nan(attrs[keys.XYZ_COORDS])
            if not all(_same(a, b) for a, b in zip(xyz, self.xyz[index])):
                self.xyz[index] = xyz
                changed.add("xyz")
        if any(key in attrs for key in keys.PEAK_ATTRIBUTE_KEYS):
            ptp, latency = annotated_peaks(attrs)
            if not (_same(ptp, self.annotated_ptp_uv[index])
                    and _same(latency, self.annotated_latency_ms[index])):
                self.annotated_ptp_uv[index] = ptp
                self.annotated_latency_ms[index] = latency
                changed.add("annotated")
        return frozenset(changed)


def default_channel(labels: Sequence[str], channel_of_interest: str | None = None) -> int:
    """The channel a picture shows unless told otherwise: the cache's channel of interest,
    else the first EMG channel (MEP sessions), else the first channel."""
    if channel_of_interest is not None and channel_of_interest in labels:
        return list(labels).index(channel_of_interest)
    for i, label in enumerate(labels):
        if label.upper().startswith("EMG"):
            return i
    return 0


def annotated_peaks(attrs: Mapping[str, Any]) -> tuple[float, float]:
    """(peak-to-peak in uV, latency of the earlier peak in ms) from annotated peak
    attributes; NaN where they are not both set."""
    neg, pos = _float(attrs.get(keys.NEG_PEAK_MAGNITUDE)), _float(attrs.get(keys.POS_PEAK_MAGNITUDE))
    ptp = pos - neg if math.isfinite(neg) and math.isfinite(pos) else math.nan
    latencies = [v for v in (_float(attrs.get(keys.NEG_PEAK_LATENCY)),
                             _float(attrs.get(keys.POS_PEAK_LATENCY))) if math.isfinite(v)]
    return ptp, (min(latencies) if latencies else math.nan)


def coords_or_nan(value: Any) -> tuple[float, float, float]:
    """[x, y, z] -> floats; anything else (None, wrong length, text) -> NaNs."""
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) == 3:
        out = tuple(_float(v) for v in value)
        if all(math.isfinite(v) for v in out):
            return out  # type: ignore[return-value]
    return (math.nan, math.nan, math.nan)


def _float(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b
