"""Merging several caches into a new one, with consistency checks; merging one cache is
how a cache made by another tool (offspect) is imported.

All origins of all sources must share the readout, the sampling rate and the channel
labels (the traces would not be comparable otherwise), and no origin name may appear twice.
Each source is read as Tracemark sees it (journal edits included). Sources are only read.

What the merged cache holds:

* every trace with its current values, each stored string in Tracemark's one spelling
  (:func:`schema.canonical`: ``true`` becomes ``True``, ``null`` ``None``): spellings are
  normalised here, once, not on every read;
* every source's history: each journal record, renumbered in order (the sources in the
  order given, each source's records in its own order) and marked with ``source``, the
  name of the cache file it came from (a record that came through an earlier merge keeps
  its first source). The merged file already contains all of them, so nothing is
  replayed on open; ``history()`` lists them and undo can take them back;
* a fresh attribute table per origin (:mod:`.columns`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import h5py

from tracemark.domain import trace_attributes as keys

from .. import h5_preflight
from . import columns, fsops, schema
from .cachefile import CacheFile
from .errors import CacheError, MergeError
from .journal import Record, frame, header_bytes, journal_path, padded
from .layout import ATTR_APPLIED_SEQ, ATTR_CACHE_ID, ATTR_FORMAT, ATTR_JOURNAL_OFFSET, FORMAT_VERSION, TRACES
from .lock import WriterLock

CHECKED = (keys.READOUT, keys.SAMPLING_RATE, keys.CHANNEL_LABELS)


def merge_caches(sources: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
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
            cache_id = uuid.uuid4().hex
            journal, journal_end, records = merged_journal(caches, cache_id)
            _write_merged(tmp, caches, cache_id, len(records), journal_end)
            columns.stamp_file(tmp)
            fsops.fsync_path(tmp)
            fsops.unlink(journal_path(out))
            fsops.replace(tmp, out)
            fsops.fsync_dir(out.parent)
            h5_preflight.remember_sound(out)  # written by our HDF5 library: no walk to open
            if records:
                fsops.create_file(journal_path(out), journal)
        finally:
            if tmp.exists():
                tmp.unlink()
            lock.release()
    finally:
        for cache in caches:
            cache.close()
    return out


def merged_journal(caches: Sequence[CacheFile], cache_id: str) -> tuple[bytes, int, list[Record]]:
    """(journal bytes, offset after its last record, records) of every source's history."""
    records: list[Record] = []
    for cache in caches:
        for record in cache.history():
            if not _names_held_traces(cache, record):
                continue  # a foreign record the source itself does not apply
            records.append(replace(record, seq=len(records) + 1,
                                   source=record.source or cache.path.name))
    data = header_bytes(cache_id)
    for record in records:
        data += padded(frame(record.to_payload()), len(data))
    return data, len(data), records


def _names_held_traces(cache: CacheFile, record: Record) -> bool:
    try:
        for change in record.changes:
            cache.index_of(change.origin, change.trace)
    except KeyError:
        return False
    return True


def check_consistency(caches: Sequence[CacheFile]) -> None:
    """Raise :class:`MergeError` naming the first origin that differs from the first one."""
    reference: tuple[str, dict[str, Any]] | None = None
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


def _write_merged(tmp: Path, caches: Sequence[CacheFile], cache_id: str, applied_seq: int,
                  journal_end: int) -> None:
    with h5py.File(tmp, "w") as f:
        f.attrs[ATTR_FORMAT] = FORMAT_VERSION
        f.attrs[ATTR_CACHE_ID] = cache_id
        f.attrs[ATTR_APPLIED_SEQ] = str(applied_seq)
        f.attrs[ATTR_JOURNAL_OFFSET] = str(journal_end)
        for cache in caches:
            edited = {cache.trace_origin(index) for index in cache.edited_traces()}
            for origin in cache.origins:
                cache.copy_origin(origin, f)
                _write_current_values(f[origin], cache, origin, edited)


def _write_current_values(group: h5py.Group, cache: CacheFile, origin: str,
                          edited: set[tuple[str, str]]) -> None:
    """Store each trace's current values in Tracemark's spelling (rewriting only traces
    that were edited or spelt otherwise) and the origin's attribute table."""
    traces = group[TRACES]
    names = [cache.trace_origin(index)[1] for index in cache.origin_range(origin)]
    spelling: dict[tuple[str, str], str] = {}
    rows = []
    for name, stored in zip(names, cache.stored_rows(origin)):
        row = {key: _canonical(spelling, key, raw) for key, raw in stored.items()}
        if (origin, name) in edited or row != stored:
            attrs = traces[name].attrs
            for key in list(attrs.keys()):
                del attrs[key]
            for key, raw in row.items():
                attrs[key] = raw
        rows.append(row)
    columns.write_table(group, names, rows)


def _canonical(memo: dict[tuple[str, str], str], key: str, raw: str) -> str:
    try:
        return memo[(key, raw)]
    except KeyError:
        memo[(key, raw)] = text = schema.canonical(key, raw)
        return text
