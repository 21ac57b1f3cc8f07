"""Merging several caches into a new one, with consistency checks.

All origins of all sources must share the readout, the sampling rate and the channel
labels (the traces would not be comparable otherwise), and no origin name may appear twice.
Each source is read as Tracemark sees it (journal edits included); the merged cache starts
with an empty journal. Sources are only read.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import h5py

from . import fsops
from .cachefile import CacheFile
from .errors import CacheError, MergeError
from .journal import journal_path
from .layout import (ATTR_APPLIED_SEQ, ATTR_CACHE_ID, ATTR_FORMAT, ATTR_JOURNAL_OFFSET,
                     FORMAT_VERSION, TRACES)
from .lock import WriterLock

CHECKED = ("readout", "samplingrate", "channel_labels")


def merge_caches(sources: Sequence[str | os.PathLike], out: str | os.PathLike, *,
                 overwrite: bool = False) -> Path:
    out = Path(out).expanduser().absolute()
    paths = [Path(s).expanduser().absolute() for s in sources]
    if not paths:
        raise MergeError(out, "no caches to merge")
    if out in paths:
        raise MergeError(out, "is one of the sources; merge into a new file")
    if out.exists() and not overwrite:
        raise CacheError(out, "already exists; choose another name or allow overwriting")
    caches = [CacheFile(p, mode="r") for p in paths]
    try:
        check_consistency(caches)
        lock = WriterLock(out)
        tmp = out.with_name(f"{out.name}.merging-{os.getpid()}")
        try:
            _write_merged(tmp, caches)
            fsops.fsync_path(tmp)
            fsops.unlink(journal_path(out))
            fsops.replace(tmp, out)
            fsops.fsync_dir(out.parent)
        finally:
            if tmp.exists():
                tmp.unlink()
            lock.release()
    finally:
        for cache in caches:
            cache.close()
    return out


def check_consistency(caches: Sequence[CacheFile]) -> None:
    """Raise :class:`MergeError` naming the first origin that differs from the first one."""
    reference: tuple[str, dict] | None = None
    seen: dict[str, Path] = {}
    for cache in caches:
        for origin in cache.origins:
            if origin in seen:
                raise MergeError(cache.path, f"origin {origin!r} is also in {seen[origin]}")
            seen[origin] = cache.path
            attrs = cache.origin_attrs(origin)
            if reference is None:
                reference = (f"{cache.path.name}:{origin}", attrs)
                continue
            for key in CHECKED:
                if attrs.get(key) != reference[1].get(key):
                    raise MergeError(cache.path, f"origin {origin!r} has {key} "
                                     f"{attrs.get(key)!r} but {reference[0]} has "
                                     f"{reference[1].get(key)!r}; caches must share readout, "
                                     f"sampling rate and channels")


def _write_merged(tmp: Path, caches: Sequence[CacheFile]) -> None:
    with h5py.File(tmp, "w") as f:
        f.attrs[ATTR_FORMAT] = FORMAT_VERSION
        f.attrs[ATTR_CACHE_ID] = uuid.uuid4().hex
        f.attrs[ATTR_APPLIED_SEQ] = "0"
        f.attrs[ATTR_JOURNAL_OFFSET] = "0"
        for cache in caches:
            for origin in cache.origins:
                cache.copy_origin(origin, f)
            for index in cache.edited_traces():
                origin, name = cache.trace_origin(index)
                attrs = f[origin][TRACES][name].attrs
                for key in list(attrs.keys()):
                    del attrs[key]
                for key, raw in cache.get_trace_attrs_raw(index).items():
                    attrs[key] = raw
