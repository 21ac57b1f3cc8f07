"""The trace cache file: an HDF5 file of traces cut around events, with typed attributes,
and a crash-safe, locked, journaled path for editing those attributes.

Layout and encoding: ``docs/cache-format.md``. Modules: :mod:`.schema` (keys, types,
encoding), :mod:`.layout` (the HDF5 layout and the global index), :mod:`.journal`
(the fsync'd log that acknowledges edits), :mod:`.lock` (one writer across processes),
:mod:`.checkpoint` (folding edits into the HDF5 file), :mod:`.cachefile` (the API, a
facade over :mod:`.reader`, :mod:`.session` and :mod:`.checkpointer`, with its states in
:mod:`.lifecycle`), :mod:`.queue_writer` (edits from many processes through the one writer),
:mod:`.build` (with :mod:`.user_events`: a person's marks as events to cut around),
:mod:`.merge`, :mod:`.export`, :mod:`.columns` (the attribute table behind
:meth:`CacheFile.load_only`), :mod:`.backup`.

``encode(value)`` and ``decode(key, stored)`` turn typed values into the strings a cache
stores and back, exactly as :class:`CacheFile` does (a value reads back as the type it was
written as); ``canonical(key, stored)`` rewrites another tool's spelling in Tracemark's.

Every name loads on first use, not with the package: the person's annotation file uses the
journal, lock and history modules only, and importing the package must not bring in h5py
and the whole cache (about 50 ms) on the way to them.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .build import BuildSpec, build_cache
    from .cachefile import Batch, CacheFile
    from .errors import (
        CacheClosedError,
        CacheError,
        CacheFormatError,
        CacheIndexError,
        CacheLockedError,
        CacheReadOnlyError,
        CacheValueError,
        CacheWriteError,
        CheckpointError,
        JournalError,
        MergeError,
    )
    from .export import export_table
    from .journal import Change, Record
    from .merge import merge_caches
    from .queue_writer import QueueWriter, QueueWriterHandle
    from .raters import RATER_KEYS, RaterSession, Ratings, adjudicate, publish_single_rater, read_ratings
    from .schema import TraceContext, canonical, decode, encode
    from .user_events import USER_ANNOTATIONS, events_from_annotations

#: The module each public name lives in.
_HOME = {
    "BuildSpec": "build", "build_cache": "build", "Batch": "cachefile", "CacheFile": "cachefile",
    **dict.fromkeys(("CacheClosedError", "CacheError", "CacheFormatError", "CacheIndexError",
                     "CacheLockedError", "CacheReadOnlyError", "CacheValueError", "CacheWriteError",
                     "CheckpointError", "JournalError", "MergeError"), "errors"),
    "export_table": "export", "Change": "journal", "Record": "journal", "merge_caches": "merge",
    "QueueWriter": "queue_writer", "QueueWriterHandle": "queue_writer",
    **dict.fromkeys(("RATER_KEYS", "RaterSession", "Ratings", "adjudicate", "publish_single_rater",
                     "read_ratings"), "raters"),
    **dict.fromkeys(("TraceContext", "canonical", "decode", "encode"), "schema"),
    "USER_ANNOTATIONS": "user_events", "events_from_annotations": "user_events",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value   # later lookups skip this function
    return value

__all__ = [
    "Batch", "BuildSpec", "CacheClosedError", "CacheError", "CacheFile", "CacheFormatError",
    "CacheIndexError", "CacheLockedError", "CacheReadOnlyError", "CacheValueError",
    "CacheWriteError", "Change", "CheckpointError", "JournalError", "MergeError", "Record",
    "TraceContext", "build_cache", "export_table", "merge_caches",
    "QueueWriter", "QueueWriterHandle", "canonical", "decode", "encode",
    "USER_ANNOTATIONS", "events_from_annotations",
    "RATER_KEYS", "RaterSession", "Ratings", "adjudicate", "publish_single_rater", "read_ratings",
]
