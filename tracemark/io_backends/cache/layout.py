"""The HDF5 layout of a trace cache, on the reading side.

::

    /                                   root attrs: tracemark_format, tracemark_cache_id,
                                        tracemark_applied_seq, tracemark_journal_offset
    /<origin>/                          one group per source recording; attrs = origin attrs
    /<origin>/traces/<n>                one dataset per trace, (samples x channels), named by
                                        its number; attrs = that trace's attributes

Every attribute is a string. The global trace index runs over the origins in sorted name
order, then over each origin's traces in numeric order of their names, as offspect's
CacheFile counted them; :class:`TraceIndex` computes it once per open so that a lookup is
O(1) instead of a walk over every trace.
"""

from __future__ import annotations

import bisect
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from tracemark.domain import trace_attributes as keys

from .. import h5_preflight
from . import schema
from .errors import CacheFormatError, CacheIndexError

TRACES = "traces"
ATTR_FORMAT = "tracemark_format"
ATTR_CACHE_ID = "tracemark_cache_id"
ATTR_APPLIED_SEQ = "tracemark_applied_seq"
ATTR_JOURNAL_OFFSET = "tracemark_journal_offset"
FORMAT_VERSION = "1"
ROOT_ATTRS = (ATTR_FORMAT, ATTR_CACHE_ID, ATTR_APPLIED_SEQ, ATTR_JOURNAL_OFFSET)


def open_h5(path: Path) -> h5py.File:
    """Open a cache read-only, with a typed error for anything that is not HDF5, and
    never a hang: a file this process has not seen as it is now is first read by a child
    process with a deadline (:mod:`tracemark.io_backends.h5_preflight`)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a named pipe would block the open
            raise CacheFormatError(path, "is not a regular file")
        # A writer's checkpoint may rename a new file over the one just walked: walk it
        # and reopen. After two such races the file is kept: only a writer's checkpoint
        # replaces a cache that often, and it wrote the file from one it had walked.
        for _race in range(2):
            walked = _walk(path)
            h5 = h5py.File(path, "r", locking="best-effort")
            if h5_preflight.identity_of_open(h5) in (walked, None):
                return h5
            h5.close()
        _walk(path)
        return h5py.File(path, "r", locking="best-effort")
    except FileNotFoundError:
        raise CacheFormatError(path, "does not exist") from None
    except OSError as error:
        raise CacheFormatError(path, f"is not a readable HDF5 file ({error})") from None


def _walk(path: Path) -> tuple[int, ...]:
    """Have the file's metadata read in a child first; the identity it was read at."""
    walked = h5_preflight.identity(path)
    problem = h5_preflight.metadata_problem(path)
    if problem:
        raise CacheFormatError(path, f"is not a readable HDF5 file: {problem}")
    return walked


def _trace_sort_key(name: str) -> tuple[int, int, str]:
    # isdigit() alone also accepts digits int() refuses, such as superscripts.
    return (0, int(name), "") if name.isascii() and name.isdigit() else (1, 0, name)


class TraceIndex:
    """Global trace number <-> (origin, dataset name), computed once per open."""

    def __init__(self, origins: list[str], names: list[list[str]]):
        self.origins = origins
        self.names = names
        self.starts = [0]
        for group in names:
            self.starts.append(self.starts[-1] + len(group))
        self._reverse: dict[tuple[str, str], int] | None = None

    @classmethod
    def from_file(cls, f: h5py.File, path: Path) -> TraceIndex:
        origins, names = [], []
        for origin in sorted(f.keys()):
            group = f[origin]
            if not isinstance(group, h5py.Group) or not isinstance(group.get(TRACES),
                                                                   h5py.Group):
                raise CacheFormatError(path, f"/{origin} has no '{TRACES}' group, so this is not "
                                             f"a trace cache")
            origins.append(origin)
            names.append(sorted(group[TRACES].keys(), key=_trace_sort_key))
        return cls(origins, names)

    def __len__(self) -> int:
        return self.starts[-1]

    def locate(self, index: int) -> tuple[str, str]:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise CacheIndexError(None, f"a trace index must be an integer, not {index!r}")
        index = int(index)
        if not 0 <= index < len(self):
            raise CacheIndexError(None, f"trace {index} does not exist (the cache holds "
                                        f"{len(self)} traces, 0 .. {len(self) - 1})")
        group = bisect.bisect_right(self.starts, index) - 1
        return self.origins[group], self.names[group][index - self.starts[group]]

    def index_of(self, origin: str, name: str) -> int:
        if self._reverse is None:
            self._reverse = {(o, n): self.starts[g] + i for g, o in enumerate(self.origins)
                             for i, n in enumerate(self.names[g])}
        return self._reverse[(origin, name)]

    def origin_range(self, origin: str) -> range:
        g = self.origins.index(origin)
        return range(self.starts[g], self.starts[g + 1])

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for origin, group in zip(self.origins, self.names):
            for name in group:
                yield origin, name


def read_raw_attrs(obj: h5py.HLObject) -> dict[str, Any]:
    """All attributes as stored (text as ``str``)."""
    return {key: schema.as_text(value) for key, value in obj.attrs.items()}


_VLEN_STR = h5py.h5t.py_create(h5py.string_dtype())


def read_trace_attrs(traces: h5py.Group, name: str) -> dict[str, Any]:
    """All attributes of trace ``name`` as stored, text as ``str``.

    Goes through h5py's low-level API because ``Dataset.attrs.items()`` costs about 1 ms
    for a trace's 18 attributes against 0.4 ms here (measured on 1,000 traces); scalar
    variable-length strings (every value Tracemark and offspect write) take the fast path,
    anything else is read the ordinary way.
    """
    oid = h5py.h5o.open(traces.id, name.encode())
    out: dict[str, Any] = {}
    slow: list[str] = []

    def visit(raw_name: bytes) -> None:
        key = raw_name.decode("utf-8", errors="replace")
        attr = h5py.h5a.open(oid, raw_name)
        kind = attr.get_type()
        if attr.shape != () or not (isinstance(kind, h5py.h5t.TypeStringID) and
                                    kind.is_variable_str()):
            slow.append(key)
            return
        value = np.empty((), dtype=object)
        attr.read(value, mtype=_VLEN_STR)
        out[key] = schema.as_text(value[()])

    h5py.h5a.iterate(oid, visit)
    if slow:
        attrs = traces[name].attrs
        out.update({key: schema.as_text(attrs[key]) for key in slow})
    return out


def root_state(f: h5py.File) -> tuple[str | None, int, int]:
    """(cache id, last journal seq folded into this file, journal offset after it)."""
    attrs = f.attrs
    cache_id = schema.as_text(attrs[ATTR_CACHE_ID]) if ATTR_CACHE_ID in attrs else None
    try:
        seq = int(schema.as_text(attrs.get(ATTR_APPLIED_SEQ, "0")))
        offset = int(schema.as_text(attrs.get(ATTR_JOURNAL_OFFSET, "0")))
    except (ValueError, TypeError):  # unreadable: replaying the whole journal is safe
        seq, offset = 0, 0
    return cache_id, seq, offset


def trace_context(origin_attrs: dict[str, Any]) -> schema.TraceContext:
    pre, post = origin_attrs.get(keys.SAMPLES_PRE_EVENT), origin_attrs.get(keys.SAMPLES_POST_EVENT)
    labels = origin_attrs.get(keys.CHANNEL_LABELS)
    return schema.TraceContext(
        samples_pre_event=pre if isinstance(pre, int) else None,
        samples_post_event=post if isinstance(post, int) else None,
        channel_labels=tuple(labels) if isinstance(labels, list) else ())


def read_trace_attr(traces: h5py.Group, name: str, key: str) -> Any:
    """One attribute of trace ``name`` as stored (``None`` when absent), by the same fast
    path as :func:`read_trace_attrs`."""
    oid = h5py.h5o.open(traces.id, name.encode())
    raw_key = key.encode()
    if not h5py.h5a.exists(oid, raw_key):
        return None
    attr = h5py.h5a.open(oid, raw_key)
    kind = attr.get_type()
    if attr.shape == () and isinstance(kind, h5py.h5t.TypeStringID) and kind.is_variable_str():
        value = np.empty((), dtype=object)
        attr.read(value, mtype=_VLEN_STR)
        return schema.as_text(value[()])
    return schema.as_text(traces[name].attrs[key])
