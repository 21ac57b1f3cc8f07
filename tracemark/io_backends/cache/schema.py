"""The typed attribute schema of trace caches: how values are checked, written as strings
and read back. Which keys exist, their kinds, limits, defaults and meaning are defined once
in :mod:`tracemark.domain.trace_attributes` (re-exported here: ``schema.TRACE_KEYS``,
``schema.BOOL``, ...), which also holds the one reading of a boolean: a stored flag decodes
here exactly as the views read it.

Every attribute in a cache file is a string (the layout offspect used), written here in
Python ``str()`` style (``False``, ``None``, ``[1.0, 2.0, 3.0]``, ``inf``) because that is
the style both of offspect's readers accept. Reading accepts both encodings seen in the
wild: ``str()`` style and YAML style (``true``, ``null``, ``.inf``, ``~``).

Keys the schema does not know are never dropped and never guessed at: they are returned as
the raw string stored in the file. A known key whose stored string does not decode is also
returned raw, so one bad value never hides a trace.

Round trip. A value reads back as the type it was written as: ``encode`` then ``decode``
gives back an equal value of the same Python type for ints, floats, bools, text and None
(an int ``79`` written to a number key reads back as ``int`` 79, ``79.0`` as ``float``),
and a string in Tracemark's spelling decodes and re-encodes to itself. Number keys
therefore keep ints and floats apart (kind ``number``); only an origin's ``samplingrate``
is always a float, being a rate. Other tools' spellings (YAML's ``true``, ``null``,
``.inf``; ``1e3``; ``4.0`` for a whole number) are read, and :func:`canonical` rewrites
them once in Tracemark's spelling where a cache is imported (``merge_caches``), so that
stored values have one spelling per value (``True``/``False`` for booleans).

``onset_shift`` is in samples. Sign convention: a positive shift means the response onset
lies *after* the stored event sample, i.e. the corrected onset is at row
``samples_pre_event + onset_shift`` of the trace.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

# The keys, their kinds, limits, defaults and meaning live in the domain, which every layer
# reads; this module turns their values into stored strings and back.
from tracemark.domain.trace_attributes import (
    ALL_KEYS,
    BOOL,
    CHANNEL_OF_INTEREST,
    COORDS,
    FLOAT,
    GENERIC_TRACE_KEYS,
    INT,
    NUMBER,
    ONSET_SHIFT,
    ORIGIN_KEYS,
    READOUT_TRACE_KEYS,
    READOUTS,
    RESERVED_KEYS,
    STR,
    STRLIST,
    TRACE_KEYS,
    KeySpec,
    parse_flag,
)

# The domain's key tables and kinds are part of this module's interface (``schema.TRACE_KEYS``).
__all__ = [
    "ALL_KEYS", "BOOL", "COORDS", "FLOAT", "GENERIC_TRACE_KEYS", "INT", "NUMBER", "ORIGIN_KEYS",
    "READOUTS", "READOUT_TRACE_KEYS", "STR", "STRLIST", "TRACE_KEYS", "KeySpec", "TraceContext",
    "as_text", "canonical", "decode", "decode_all", "encode", "parse", "validate",
]

_NULLS = frozenset({"None", "none", "null", "Null", "NULL", "~", ""})
_YAML_FLOATS = {".inf": math.inf, "+.inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
                "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
                ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan}


@dataclass(frozen=True)
class TraceContext:
    """What range checks need to know about the trace being edited."""

    samples_pre_event: int | None = None
    samples_post_event: int | None = None
    channel_labels: tuple[str, ...] = ()


# -- reading ----------------------------------------------------------------------------------
def as_text(raw: Any) -> Any:
    """HDF5 attribute value -> ``str`` when it is text (bytes, numpy strings), else a plain
    Python value (numpy scalars and arrays unpacked)."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace")
    if isinstance(raw, np.ndarray):
        return [as_text(v) for v in raw.tolist()] if raw.ndim else as_text(raw.item())
    if isinstance(raw, np.generic):
        return raw.item()
    return raw


def decode(key: str, raw: Any) -> Any:
    """Stored value -> typed value for a known key; unknown keys and undecodable values stay
    as the raw string."""
    raw = as_text(raw)
    spec = ALL_KEYS.get(key)
    if spec is None:
        return raw if isinstance(raw, str) else encode(raw)
    try:
        return parse(spec, raw)
    except ValueError:
        return raw if isinstance(raw, str) else encode(raw)


def parse(spec: KeySpec, raw: Any) -> Any:
    """A string in either encoding (or an already typed value) -> the key's type.

    Raises ``ValueError`` when the value is not of the key's kind; range checks are
    :func:`validate`'s job.
    """
    if isinstance(raw, str):
        text = raw.strip()
        if spec.kind == STR:
            if spec.nullable and text in ("None", "null", "~"):
                return None
            return raw
        if text in _NULLS:
            if spec.nullable:
                return None
            raise ValueError(f"{spec.name} cannot be empty")
        return _parse_text(spec, text)
    return _coerce(spec, raw)


def _parse_text(spec: KeySpec, text: str) -> Any:
    if spec.kind == BOOL:
        return parse_flag(text, spec.name)
    if spec.kind == INT:
        return _coerce(spec, _float_text(text, spec.name) if not _is_int_text(text) else int(text))
    if spec.kind == FLOAT:
        return _float_text(text, spec.name)
    if spec.kind == NUMBER:
        return int(text) if _is_int_text(text) else _float_text(text, spec.name)
    if spec.kind in (COORDS, STRLIST):
        items = _split_list(text, spec.name)
        if spec.kind == STRLIST:
            return [_unquote(item) for item in items]
        return [_parse_text(KeySpec(spec.name, NUMBER), _unquote(item)) for item in items]
    raise ValueError(f"unknown kind {spec.kind}")


def _is_int_text(text: str) -> bool:
    return text.lstrip("+-").isdigit()


def _float_text(text: str, name: str) -> float:
    if text in _YAML_FLOATS:
        return _YAML_FLOATS[text]
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {text!r}") from None


def _split_list(text: str, name: str) -> list[str]:
    if not (text.startswith("[") and text.endswith("]")):
        raise ValueError(f"{name} must be a list like [1, 2, 3], not {text!r}")
    inner = text[1:-1].strip()
    return [item.strip() for item in inner.split(",")] if inner else []


def _unquote(item: str) -> str:
    if len(item) >= 2 and item[0] == item[-1] and item[0] in "'\"":
        return item[1:-1]
    return item


def _coerce(spec: KeySpec, value: Any) -> Any:
    value = as_text(value)
    if value is None:
        if spec.nullable:
            return None
        raise ValueError(f"{spec.name} cannot be None")
    kind = spec.kind
    if kind == BOOL:
        return parse_flag(value, spec.name)
    if kind == INT:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{spec.name} must be a whole number, not {value!r}")
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise ValueError(f"{spec.name} must be a whole number, not {value!r}")
        return int(value)
    if kind in (FLOAT, NUMBER):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{spec.name} must be a number, not {value!r}")
        return float(value) if kind == FLOAT else value
    if kind == STR:
        if not isinstance(value, str):
            raise ValueError(f"{spec.name} must be text, not {value!r}")
        return value
    if kind in (COORDS, STRLIST):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{spec.name} must be a list, not {value!r}")
        item_spec = KeySpec(spec.name, STR if kind == STRLIST else NUMBER)
        return [parse(item_spec, v) if kind == COORDS and isinstance(v, str) else _coerce(item_spec, v)
                for v in value]
    raise ValueError(f"unknown kind {kind}")


# -- writing ----------------------------------------------------------------------------------
def encode(value: Any) -> str:
    """Typed value -> the string stored in the file, Python ``str()`` style."""
    value = as_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(repr(v) if isinstance(v, str) else encode(v) for v in value) + "]"
    return str(value)


def canonical(key: str, raw: str) -> str:
    """``raw`` as Tracemark spells it (``true`` -> ``True``, ``null`` -> ``None``, ``.inf``
    -> ``inf``, ``4.0`` -> ``4`` for a whole-number key); unknown keys and values that do
    not decode for their key are kept as they are. For importing other tools' files once,
    so that reading never has to reconcile spellings."""
    spec = ALL_KEYS.get(key)
    if spec is None or not isinstance(raw, str):
        return raw
    try:
        return encode(parse(spec, raw))
    except ValueError:
        return raw


def validate(key: str, value: Any, context: TraceContext = TraceContext()) -> Any:
    """Check a value for a trace key and return it typed; ``ValueError`` says what is wrong.

    Strings are decoded first, so ``"true"`` and ``True`` are the same edit. Keys the schema
    does not know accept text only (they are kept as raw strings).
    """
    spec = TRACE_KEYS.get(key)
    if spec is None:
        if key in ORIGIN_KEYS:
            raise ValueError(f"{key} belongs to the origin recording, not to a trace")
        if not key or not key.isprintable() or key.startswith("cache_file") or key in RESERVED_KEYS:
            raise ValueError(f"{key!r} is not a usable attribute name")
        if not isinstance(value, str):
            raise ValueError(f"{key} is not a known attribute, so its value must be text")
        return value
    if spec.readonly:
        raise ValueError(f"{key} is fixed when the cache is built and cannot be edited")
    typed = parse(spec, value)
    _check_range(spec, typed, context)
    return typed


def _check_range(spec: KeySpec, value: Any, context: TraceContext) -> None:
    if value is None:
        return
    if spec.kind in (FLOAT, NUMBER):
        _check_number(spec, value)
    elif spec.kind == INT:
        _check_number(spec, value)
        if spec.name == ONSET_SHIFT:
            _check_onset_shift(value, context)
    elif spec.kind == COORDS and len(value) != 3:
        raise ValueError(f"{spec.name} must have 3 values [x, y, z], got {len(value)}")
    elif spec.kind == STR and spec.name == CHANNEL_OF_INTEREST and context.channel_labels:
        if value not in context.channel_labels:
            raise ValueError(f"channel_of_interest {value!r} is not one of "
                             f"{', '.join(context.channel_labels)}")
    if spec.kind == STR and len(value) > 100_000:
        raise ValueError(f"{spec.name} is longer than 100000 characters")


def _check_number(spec: KeySpec, value: float) -> None:
    if math.isnan(value):
        raise ValueError(f"{spec.name} cannot be NaN (use None for 'unknown')"
                         if spec.nullable else f"{spec.name} cannot be NaN")
    if math.isinf(value) and not spec.allow_inf:
        raise ValueError(f"{spec.name} must be finite")
    if spec.minimum is not None and value < spec.minimum:
        raise ValueError(f"{spec.name} must be >= {spec.minimum:g}, got {value:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise ValueError(f"{spec.name} must be <= {spec.maximum:g}, got {value:g}")


def _check_onset_shift(value: int, context: TraceContext) -> None:
    pre, post = context.samples_pre_event, context.samples_post_event
    if pre is not None and value < -pre:
        raise ValueError(f"onset_shift {value} would move the onset before the trace starts "
                         f"({pre} samples before the event)")
    if post is not None and value >= post:
        raise ValueError(f"onset_shift {value} would move the onset past the trace end "
                         f"({post} samples from the event on)")


def decode_all(raw_attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Every stored attribute decoded; unknown keys kept as raw strings."""
    return {key: decode(key, raw) for key, raw in raw_attrs.items()}
