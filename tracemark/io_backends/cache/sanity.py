"""What a damaged or foreign cache may hold, and how it is told: checks run when a cache
is opened and when a trace's samples are read.

Policy (``docs/cache-format.md``, "Damaged caches"): damage that leaves the file's
meaning clear is shown and told in ``CacheFile.problems``; damage that makes an edit
unsafe (a format from the future, a cache id no journal can name, a damaged journal)
leaves the cache readable but not editable; damage to one trace makes that trace's
read raise :class:`CacheFormatError` while the others stay readable; a file that is not
a readable trace cache at all is refused. No check here reads more than a trace's own
samples, and none reads those unless their declared size is sane, so a corrupted shape
can never ask for terabytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from tracemark.domain import trace_attributes as keys

from . import schema
from .errors import CacheError, CacheFormatError

#: What h5py raises for damaged files (``SystemError`` wraps an error raised while h5py's
#: lock is released, seen with damaged attribute messages).
H5_ERRORS = (OSError, KeyError, RuntimeError, ValueError, TypeError, SystemError)
#: A trace is an epoch, not a recording: more than this is a damaged shape.
MAX_TRACE_BYTES = 1 << 28
FORMAT_VERSION = "1"


@contextmanager
def h5_errors(path: Path, what: str) -> Iterator[None]:
    """Turn h5py's errors about a damaged file into :class:`CacheFormatError`."""
    try:
        yield
    except CacheError:
        raise
    except H5_ERRORS as error:
        raise CacheFormatError(path, f"{what}: the HDF5 file is damaged here ({error})") from None


def root_problems(format_value: Any, cache_id: Any) -> list[str]:
    """Why the root attributes forbid editing (each blocks writing), or ``[]``."""
    problems = []
    if format_value is not None:
        text = str(schema.as_text(format_value)).strip()
        if text != FORMAT_VERSION:
            problems.append(f"it was written in cache format {text[:40]!r}, which this "
                            f"Tracemark does not know (it writes format {FORMAT_VERSION}); it "
                            f"is shown read-only")
    if cache_id is not None and not usable_cache_id(cache_id):
        problems.append(f"its cache id {str(cache_id)[:60]!r} cannot name a journal; it is "
                        f"shown read-only")
    return problems


def usable_cache_id(cache_id: Any) -> bool:
    return (isinstance(cache_id, str) and 0 < len(cache_id) <= 128 and cache_id.isascii()
            and cache_id.isprintable() and " " not in cache_id)


#: Per origin attribute: the stored type, the check of its value, and what it should be.
_ORIGIN_CHECKS: dict[str, tuple[type, Callable[[Any], bool], str]] = {
    keys.SAMPLING_RATE: (float, lambda v: math.isfinite(v) and v > 0, "a positive number"),
    keys.SAMPLES_PRE_EVENT: (int, lambda v: v >= 0, "a whole number >= 0"),
    keys.SAMPLES_POST_EVENT: (int, lambda v: v >= 0, "a whole number >= 0"),
    keys.CHANNEL_LABELS: (list, lambda v: all(isinstance(x, str) for x in v), "a list of names"),
}


def check_origin(origin: str, attrs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The origin's decoded attributes with unusable window values kept as their stored
    text (so no caller mistakes them for numbers), and what is wrong with them."""
    out, problems = dict(attrs), []
    for key, (kind, valid, wanted) in _ORIGIN_CHECKS.items():
        if key not in attrs:
            problems.append(f"origin {origin!r} has no {key}")
            continue
        value = attrs[key]
        if isinstance(value, bool) or not isinstance(value, kind) or not valid(value):
            out[key] = value if isinstance(value, str) else schema.encode(value)
            problems.append(f"origin {origin!r}: {key} {out[key][:40]!r} is not {wanted}")
    return out, problems


def trace_data(traces: h5py.Group, name: str, context: schema.TraceContext, path: Path,
               where: str) -> np.ndarray:
    """The samples of one trace as (samples, channels), after checking that what is
    stored there is one: a numeric 1-D or 2-D dataset of sane size that fits its origin's
    window and channel labels. 1-D data (one channel) is returned as one column."""
    obj = traces.get(name)
    if obj is None:
        raise CacheFormatError(path, f"{where} is a link to nothing")
    if not isinstance(obj, h5py.Dataset):
        raise CacheFormatError(path, f"{where} is a {type(obj).__name__.lower()}, not a "
                                     f"dataset of samples")
    problem = data_problem(obj.shape, obj.dtype, context)
    if problem:
        raise CacheFormatError(path, f"{where} {problem}")
    data: np.ndarray = obj[()]
    return data[:, None] if data.ndim == 1 else data


def data_problem(shape: tuple[int, ...] | None, dtype: np.dtype,
                 context: schema.TraceContext) -> str | None:
    if dtype.kind not in "iuf" or dtype.fields is not None:
        return f"holds values of type {dtype}, not numbers"
    if shape is None or len(shape) not in (1, 2):
        return f"has shape {shape}, not (samples, channels)"
    rows, columns = shape[0], shape[1] if len(shape) == 2 else 1
    if rows * columns * dtype.itemsize > MAX_TRACE_BYTES:
        return f"declares {rows} x {columns} samples, far more than a trace holds"
    pre, post = context.samples_pre_event, context.samples_post_event
    if pre is not None and post is not None and rows != pre + post:
        return (f"has {rows} samples but its origin's window is {pre} + {post} = "
                f"{pre + post}")
    if context.channel_labels and columns != len(context.channel_labels):
        return (f"has {columns} channels but its origin names {len(context.channel_labels)} "
                f"channel_labels")
    return None
