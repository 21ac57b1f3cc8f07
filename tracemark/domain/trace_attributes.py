"""The attributes a trace carries: their keys, types, defaults and meaning, and the one
reading of the values every layer asks about ("is this trace rejected?", "by how many
samples is its onset shifted?").

The keys are the ones a trace cache stores on each trace and each origin (the layout
offspect used; ``docs/cache-format.md``). The cache's schema
(``tracemark.io_backends.cache.schema``) encodes and decodes values by the specs here; the
editor, the table, the plots, the analysis, the CSV export and the command line read the
flags and the shift through the functions here, so a stored value means the same thing in
every view and after every edit.

Flags (``reject``, ``reviewed``). Every spelling seen in cache files reads the same:

* true: ``True``, a numpy ``True``, the integer ``1``, and the texts ``True``, ``true``,
  ``TRUE``, ``1``, ``yes``, ``on`` (any case listed in :data:`TRUE_WORDS`);
* false: ``False``, a numpy ``False``, ``0``, and ``False``, ``false``, ``0``, ``no``,
  ``off`` (:data:`FALSE_WORDS`);
* anything else (``"maybe"``, ``2``, ``"None"``, a list) is *invalid*: it reads as the
  key's default, ``False``, so an invalid ``reject`` is **not rejected** and an invalid
  ``reviewed`` is **unreviewed**: a value nobody can read is not a decision.
  :func:`attribute_problems` names it, so the views and the command line can say so, and
  the cache refuses to write such a value (:func:`parse_flag` raises).

An absent key (offspect files have no ``reviewed``) or ``None`` reads as the default and is
not a problem.

Onset shift (``onset_shift``, samples, positive = the response starts after the stored
event; the corrected onset is row ``samples_pre + onset_shift``). A whole number (``5``,
``"5"``, ``5.0``, ``"5.0"``, a numpy integer) reads as that number; anything else
(``"5.5"``, ``True``, NaN, text) is invalid and reads as ``0``, the stored event.

What a trace's review state is (accepted, rejected, unreviewed) follows from the two flags
by :func:`tracemark.domain.review.review_state`.

Plain Python: no numpy, no Qt, no file formats, nothing else of Tracemark.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# -- value kinds --------------------------------------------------------------------------
# Kept as strings so that the key tables below read like documentation.
INT, FLOAT, BOOL, STR, COORDS, STRLIST = "int", "float", "bool", "str", "coords", "strlist"
#: A number that keeps the type it was written as: "79" reads as int 79, "79.0" as 79.0.
NUMBER = "number"

# -- trace keys ---------------------------------------------------------------------------
ID = "id"
EVENT_NAME = "event_name"
EVENT_SAMPLE = "event_sample"
EVENT_TIME = "event_time"
ONSET_SHIFT = "onset_shift"
TIME_SINCE_LAST_PULSE = "time_since_last_pulse_in_s"
REJECT = "reject"
REVIEWED = "reviewed"
COMMENT = "comment"
EXAMINER = "examiner"
STIMULATION_INTENSITY_MSO = "stimulation_intensity_mso"
STIMULATION_INTENSITY_DIDT = "stimulation_intensity_didt"
NEG_PEAK_MAGNITUDE = "neg_peak_magnitude_uv"
POS_PEAK_MAGNITUDE = "pos_peak_magnitude_uv"
NEG_PEAK_LATENCY = "neg_peak_latency_ms"
POS_PEAK_LATENCY = "pos_peak_latency_ms"
ZCR_LATENCY = "zcr_latency_ms"
XYZ_COORDS = "xyz_coords"
CHANNEL_OF_INTEREST = "channel_of_interest"
#: The four keys an annotator's peaks set.
PEAK_ATTRIBUTE_KEYS = (NEG_PEAK_MAGNITUDE, NEG_PEAK_LATENCY, POS_PEAK_MAGNITUDE, POS_PEAK_LATENCY)
#: The keys each rater of a cache decides on their own (``docs/cache-format.md``, "Raters").
RATER_KEYS = (REJECT, REVIEWED, ONSET_SHIFT, *PEAK_ATTRIBUTE_KEYS, ZCR_LATENCY, COMMENT)
#: Written on a trace beside its consensus values: who adjudicated, and whose decisions
#: (a text list, e.g. ``['alice', 'bob']``) the consensus settled.
CONSENSUS_BY = "consensus_by"
CONSENSUS_RATERS = "consensus_raters"

# -- origin keys ----------------------------------------------------------------------------
CHANNEL_LABELS = "channel_labels"
SAMPLES_PRE_EVENT = "samples_pre_event"
SAMPLES_POST_EVENT = "samples_post_event"
SAMPLING_RATE = "samplingrate"
SUBJECT = "subject"
READOUT = "readout"
GLOBAL_COMMENT = "global_comment"
FILEDATE = "filedate"
HISTORY = "history"
VERSION = "version"
SOURCE_FILE = "source_file"
SOURCE_SHA256 = "source_sha256"
CREATED = "created"
TRACEMARK_VERSION = "tracemark_version"
#: Written only when some traces were cut around the person's own annotations.
USER_ANNOTATION_TRACES = "user_annotation_traces"

# -- keys a cache adds when it hands out a trace's attributes (never stored on a trace) ---
ORIGIN = "origin"
CACHE_FILE = "cache_file"
CACHE_FILE_INDEX = "cache_file_index"
#: Where a trace's attributes came from, added by ``CacheFile.get_trace_attrs``.
TRANSIENT_KEYS = (ORIGIN, CACHE_FILE, CACHE_FILE_INDEX)
#: A trace's review state as a column of an exported table; derived, never stored.
REVIEW_STATE = "review_state"
#: Names no stored attribute may take.
RESERVED_KEYS = frozenset({*TRANSIENT_KEYS, REVIEW_STATE})


@dataclass(frozen=True)
class KeySpec:
    """One attribute key: its kind, whether it belongs to a trace or an origin, its limits,
    the value a trace has when the key is absent, and what it means."""

    name: str
    kind: str
    level: str = "trace"
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    allow_inf: bool = False
    #: Fixed when the cache is built; the set-attributes path refuses to change it.
    readonly: bool = False
    doc: str = ""
    #: What a trace without the key (or with an invalid value of it) reads as.
    default: Any = None


def _specs(*specs: KeySpec) -> dict[str, KeySpec]:
    return {spec.name: spec for spec in specs}


GENERIC_TRACE_KEYS = _specs(
    KeySpec(ID, INT, minimum=0, readonly=True, doc="trace number within its origin"),
    KeySpec(EVENT_NAME, STR, readonly=True, doc="label of the event the trace is cut around"),
    KeySpec(EVENT_SAMPLE, INT, readonly=True, doc="sample of the event in the source recording"),
    KeySpec(EVENT_TIME, NUMBER, readonly=True, doc="time of the event in s in the recording"),
    KeySpec(ONSET_SHIFT, INT, default=0,
            doc="samples from the event to the true onset; positive = later"),
    KeySpec(TIME_SINCE_LAST_PULSE, NUMBER, nullable=True, minimum=0, allow_inf=True,
            doc="seconds since the previous event (inf for the first)"),
    KeySpec(REJECT, BOOL, default=False, doc="True when the trace is excluded from analysis"),
    KeySpec(REVIEWED, BOOL, default=False,
            doc="True once a person has decided on the trace (accepted or rejected); absent "
                "in offspect files, which counts as False"),
    KeySpec(COMMENT, STR, default="", doc="free text"),
    KeySpec(EXAMINER, STR, default="", doc="who reviewed the trace"),
)

READOUT_TRACE_KEYS = _specs(
    KeySpec(STIMULATION_INTENSITY_MSO, NUMBER, nullable=True, minimum=0, maximum=100,
            doc="stimulator output in % of maximum"),
    KeySpec(STIMULATION_INTENSITY_DIDT, NUMBER, nullable=True, minimum=0,
            doc="realised dI/dt in A/us"),
    KeySpec(NEG_PEAK_MAGNITUDE, NUMBER, nullable=True, doc="negative peak in uV"),
    KeySpec(POS_PEAK_MAGNITUDE, NUMBER, nullable=True, doc="positive peak in uV"),
    KeySpec(NEG_PEAK_LATENCY, NUMBER, nullable=True, minimum=0, doc="latency in ms"),
    KeySpec(POS_PEAK_LATENCY, NUMBER, nullable=True, minimum=0, doc="latency in ms"),
    KeySpec(ZCR_LATENCY, NUMBER, nullable=True, minimum=0, doc="zero-crossing latency in ms"),
    KeySpec(XYZ_COORDS, COORDS, nullable=True, doc="coil position [x, y, z]"),
    KeySpec(CHANNEL_OF_INTEREST, STR, nullable=True, doc="label of the channel read out"),
)

ORIGIN_KEYS = _specs(*(KeySpec(name, kind, level="origin", readonly=True, nullable=True, doc=doc)
                       for name, kind, doc in (
    (CHANNEL_LABELS, STRLIST, "channel names, in column order of the trace data"),
    (SAMPLES_PRE_EVENT, INT, "rows of each trace before the event sample"),
    (SAMPLES_POST_EVENT, INT, "rows of each trace from the event sample on"),
    (SAMPLING_RATE, FLOAT, "samples per second"),
    (SUBJECT, STR, "subject identifier"),
    (READOUT, STR, "readout kind, e.g. generic, contralateral_mep"),
    (GLOBAL_COMMENT, STR, "free text about the recording"),
    (FILEDATE, STR, "start date-time of the recording"),
    (HISTORY, STR, "processing history"),
    (VERSION, STR, "version of the tool that wrote the origin"),
    (SOURCE_FILE, STR, "absolute path of the source recording when the cache was built"),
    (SOURCE_SHA256, STR, "sha256 of the source recording"),
    (CREATED, STR, "ISO date-time the cache was built"),
    (TRACEMARK_VERSION, STR, "Tracemark version that built the cache"),
    (USER_ANNOTATION_TRACES, STRLIST, "ids of the traces cut around the person's own "
                                      "annotations (user annotations) rather than the "
                                      "recording's events; absent when there are none"),
)))

TRACE_KEYS = {**GENERIC_TRACE_KEYS, **READOUT_TRACE_KEYS}
ALL_KEYS = {**TRACE_KEYS, **ORIGIN_KEYS}

#: Readout -> trace keys filled in (with None) when a cache is built for that readout.
READOUTS: dict[str, tuple[str, ...]] = {
    "generic": (),
    "contralateral_mep": (STIMULATION_INTENSITY_MSO, STIMULATION_INTENSITY_DIDT,
                          NEG_PEAK_MAGNITUDE, NEG_PEAK_LATENCY, POS_PEAK_MAGNITUDE,
                          POS_PEAK_LATENCY, ZCR_LATENCY, XYZ_COORDS, CHANNEL_OF_INTEREST),
    "erp": (STIMULATION_INTENSITY_MSO, XYZ_COORDS, CHANNEL_OF_INTEREST),
}
READOUTS["mep"] = READOUTS["contralateral_mep"]

# -- flags ----------------------------------------------------------------------------------
#: Stored texts that mean true / false (compared after stripping blanks).
TRUE_WORDS = frozenset({"True", "true", "TRUE", "1", "yes", "Yes", "YES", "on", "On", "ON"})
FALSE_WORDS = frozenset({"False", "false", "FALSE", "0", "no", "No", "NO", "off", "Off", "OFF"})


def _scalar_kind(value: Any) -> str | None:
    """numpy's scalar kind ("b" bool, "i"/"u" integer, "f" float) without importing numpy:
    a 0-d value with a ``dtype``; None for anything else."""
    dtype = getattr(value, "dtype", None)
    if dtype is None or getattr(value, "ndim", 1) != 0:
        return None
    return getattr(dtype, "kind", None)


def parse_flag(value: Any, key: str = "the flag") -> bool:
    """A stored or decoded boolean -> ``bool`` (the spellings in the module docstring);
    ``ValueError`` naming ``key`` for any other value."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
    else:
        kind = _scalar_kind(value)
        if kind == "b":
            return bool(value)
        if (isinstance(value, int) or kind in ("i", "u")) and value in (0, 1):
            return bool(value)
    raise ValueError(f"{key} must be true or false, not {value!r}")


def read_flag(value: Any, default: bool = False) -> bool:
    """:func:`parse_flag`, with ``default`` for an absent (None) or invalid value."""
    if value is None:
        return default
    try:
        return parse_flag(value)
    except ValueError:
        return default


def is_rejected(attrs: Mapping[str, Any]) -> bool:
    """THE answer to "is this trace rejected?": ``reject`` read as a flag; absent or
    invalid (``"maybe"``) is not rejected."""
    return read_flag(attrs.get(REJECT), GENERIC_TRACE_KEYS[REJECT].default)


def is_reviewed(attrs: Mapping[str, Any]) -> bool:
    """Whether a person has decided on the trace: ``reviewed`` read as a flag; absent or
    invalid is not reviewed."""
    return read_flag(attrs.get(REVIEWED), GENERIC_TRACE_KEYS[REVIEWED].default)


# -- the onset shift -----------------------------------------------------------------------
def whole_number(value: Any) -> int | None:
    """``5``, ``"5"``, ``5.0``, ``"5.0"``, ``"1e3"``, a numpy integer -> an ``int``; None for
    anything else (a bool, a fraction, NaN, infinity, other text, None) and for whole
    numbers beyond what a float holds exactly (2**53: no recording is that long, and the
    views compute in floats)."""
    number = _whole_number(value)
    return number if number is not None and abs(number) <= LARGEST_WHOLE_NUMBER else None


#: The largest magnitude :func:`whole_number` accepts.
LARGEST_WHOLE_NUMBER = 2**53


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, bool) or _scalar_kind(value) == "b":
        return None
    if isinstance(value, int) or _scalar_kind(value) in ("i", "u"):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            value = float(text)
        except ValueError:
            return None
    if isinstance(value, float) or _scalar_kind(value) == "f":
        number = float(value)
        return int(number) if math.isfinite(number) and number.is_integer() else None
    return None


def finite_number(value: Any) -> float | None:
    """A peak magnitude or latency as a finite float; None for anything else (absent,
    None, NaN, infinity, a flag, text that is not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def onset_shift_of(attrs: Mapping[str, Any]) -> int:
    """THE onset shift of a trace in samples; absent or invalid (``"5.5"``) is 0."""
    shift = whole_number(attrs.get(ONSET_SHIFT))
    return GENERIC_TRACE_KEYS[ONSET_SHIFT].default if shift is None else shift


# -- telling invalid values ------------------------------------------------------------------
def attribute_problems(attrs: Mapping[str, Any]) -> list[str]:
    """What a person should be told about values the rules above could not read, one
    sentence each naming the key, the value and what it is read as; empty when all is well.
    Absent keys and None are not problems."""
    problems = []
    for key, meaning in ((REJECT, "not rejected"), (REVIEWED, "not reviewed")):
        value = attrs.get(key)
        if value is not None:
            try:
                parse_flag(value, key)
            except ValueError:
                problems.append(f"{key} is {value!r}, which is neither true nor false: "
                                f"read as {meaning}")
    shift = attrs.get(ONSET_SHIFT)
    if shift is not None and whole_number(shift) is None:
        problems.append(f"{ONSET_SHIFT} is {shift!r}, which is not a whole number of "
                        f"samples: read as 0")
    return problems
