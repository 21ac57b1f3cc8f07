"""The reading part of a cache: the committed state as this process sees it, and every read.

A :class:`CacheReader` opens the HDF5 file, computes its layout once (the global index,
each origin's attributes and context, what forbids editing), follows the journal and keeps
the :class:`~.state.Overlay` of committed edits not yet folded into the file. It answers
every read (samples, attributes, columns, history) and catches up with a checkpoint or
journal records written by another process. It never writes and takes no lock.

It is the one part every open cache has, whatever its mode, and the part the writer
session and the checkpointer build on: the session appends to the journal and applies
each record to this overlay; the checkpointer folds the overlay into the file and has the
reader reopen the file that replaced the old one. Keeping the reads here means a
read-only cache is simply a reader, with nothing of the writing machinery in the way.

Not thread-safe by itself: :class:`~.cachefile.CacheFile` holds its mutex around every call.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from . import loading, sanity, schema
from .columns import TableReader
from .errors import CacheFormatError, JournalError
from .journal import JournalReader, Record, journal_path
from .layout import (
    ATTR_FORMAT,
    TRACES,
    TraceIndex,
    open_h5,
    read_raw_attrs,
    read_trace_attr,
    read_trace_attrs,
    root_state,
    trace_context,
)
from .state import Overlay


@dataclass(frozen=True)
class Layout:
    """What a cache file holds that never changes while it is open (a checkpoint only
    rewrites trace attributes): computed at the first open, kept across reopens."""

    index: TraceIndex
    origin_attrs: dict[str, dict[str, Any]]
    contexts: dict[str, schema.TraceContext]
    #: What forbids editing (a format from the future, an unusable cache id).
    blockers: list[str]
    #: What is wrong but shown as stored (unusable origin attributes).
    problems: list[str]

    @classmethod
    def read(cls, h5: h5py.File, path: Path, raw_cache_id: Any) -> Layout:
        index = TraceIndex.from_file(h5, path)
        if not index.origins and ATTR_FORMAT not in h5.attrs:
            raise CacheFormatError(path, "is an HDF5 file but not a trace cache (no "
                                         "recordings, no Tracemark attributes)")
        origin_attrs: dict[str, dict[str, Any]] = {}
        problems: list[str] = []
        for origin in index.origins:
            attrs, found = sanity.check_origin(origin,
                                               schema.decode_all(read_raw_attrs(h5[origin])))
            origin_attrs[origin] = attrs
            problems += found
        return cls(index, origin_attrs,
                   {o: trace_context(a) for o, a in origin_attrs.items()},
                   sanity.root_problems(h5.attrs.get(ATTR_FORMAT), raw_cache_id), problems)


class CacheReader:
    """The HDF5 file, its layout, the journal it follows and the overlay of committed edits."""

    def __init__(self, path: Path):
        self.path = path
        self._open_base(known=None)
        self.journal = JournalReader(journal_path(path))  # opens nothing yet
        try:
            self._load_journal(self._offset_hint)
        except BaseException:
            self.close()
            raise

    # -- the HDF5 file ------------------------------------------------------------------------
    def _open_base(self, known: Layout | None) -> None:
        """Open the HDF5 file; compute the layout unless ``known`` (a reopen)."""
        h5 = open_h5(self.path)
        try:
            try:
                ino = os.fstat(h5.id.get_vfd_handle()).st_ino
            except (AttributeError, TypeError, ValueError, OSError):
                ino = os.stat(self.path).st_ino
            with sanity.h5_errors(self.path, "reading its layout"):
                cache_id, base_seq, offset_hint = root_state(h5)
                layout = known if known is not None else Layout.read(h5, self.path, cache_id)
                groups = {o: h5[o][TRACES] for o in layout.index.origins}
        except BaseException:
            h5.close()
            raise
        self.h5, self.ino, self.layout, self._groups = h5, ino, layout, groups
        if cache_id is not None and not isinstance(cache_id, str):
            cache_id = schema.encode(cache_id)
        self.cache_id: str | None = cache_id
        #: The journal sequence number the file contains, and the byte where it ends.
        self.base_seq, self._offset_hint = base_seq, offset_hint
        #: Each origin's attribute table, opened at its first column read (None = not fresh).
        self._tables: dict[str, TableReader | None] = {}

    def _reopen_base(self) -> None:
        old_h5, old_id = self.h5, self.cache_id
        self._open_base(known=self.layout)
        old_h5.close()
        if old_id is not None and self.cache_id != old_id:
            raise CacheFormatError(self.path, "was replaced by a different cache; open it again")
        self.overlay.drop_through(self.base_seq)
        self.overlay.last_seq = max(self.overlay.last_seq, self.base_seq)

    def reopen_if_replaced(self) -> None:
        """Follow a checkpoint: reopen the file if another one was renamed over it."""
        try:
            replaced = os.stat(self.path).st_ino != self.ino
        except OSError:
            replaced = False
        if replaced:
            self._reopen_base()

    def writing_cache_id(self) -> str:
        """The id a writer stamps on the journal and the HDF5 file: the file's, else the
        journal's, else (a cache that has neither yet) a new one, minted once and kept so
        that the journal and every checkpoint carry the same id."""
        if self.cache_id is None:
            self.cache_id = self.journal.cache_id or uuid.uuid4().hex
        return self.cache_id

    # -- the journal --------------------------------------------------------------------------
    def _load_journal(self, offset_hint: int) -> None:
        self.overlay = Overlay()
        self.overlay.last_seq = self.base_seq
        if not self._journal_usable():
            return
        if self.base_seq and self.journal.record_ending_at(offset_hint) == self.base_seq:
            self.journal.seek(offset_hint)
        else:
            self.journal.seek(self.journal.first)
        self._apply_records(self.journal.poll(after_seq=self.base_seq))

    def reload_journal(self) -> None:
        """Rebuild the overlay from the journal on disk, from its start (after an I/O
        error, where the failed record is either whole, then it counts, or cut off)."""
        self.journal.close()
        self.journal = JournalReader(journal_path(self.path))
        self._load_journal(0)

    def _journal_usable(self) -> bool:
        """Open the journal if there is one; one that cannot be read or belongs to another
        cache is not followed (the HDF5 file is shown alone, and writing is refused)."""
        try:
            if not self.journal.open_if_present():
                return False
        except JournalError as error:
            self.journal.stop(f"{error.problem}; its edits are not shown")
            return False
        if self.cache_id is not None and self.journal.cache_id != self.cache_id:
            self.journal.stop(f"belongs to another cache (id {self.journal.cache_id}, the "
                              f"cache is {self.cache_id}); its edits are not shown")
            return False
        return True

    def _apply_records(self, records: list[Record]) -> list[Record]:
        """Apply journal records in order, up to one naming a trace this cache does not
        hold: from there on the journal is not followed (a record from another cache)."""
        for n, record in enumerate(records):
            for change in record.changes:
                try:
                    self.layout.index.index_of(change.origin, change.trace)
                except KeyError:
                    self.journal.stop(f"record #{record.seq} at byte {record.offset} names "
                                      f"trace {change.origin}/{change.trace}, which this "
                                      f"cache does not hold; it and any later records are "
                                      f"not applied")
                    return records[:n]
            self.overlay.apply(record)
        return records

    def catch_up(self) -> list[Record]:
        """Catch up with a checkpoint or journal records written by another process; the
        records newly applied. Pointless, and not called, while this process writes."""
        self.reopen_if_replaced()
        if self.journal.stopped or not self._journal_usable():
            return []
        return self._apply_records(self.journal.poll(after_seq=self.overlay.last_seq))

    @property
    def problems(self) -> list[str]:
        told = self.layout.blockers + self.layout.problems
        journal = self.journal.stopped or self.journal.damage
        return told + ([f"journal {self.journal.path.name}: {journal}"] if journal else [])

    def write_blocker(self) -> str | None:
        """Why this cache cannot be edited, or ``None``."""
        if self.layout.blockers:
            return self.layout.blockers[0]
        journal = self.journal
        if journal.stopped or journal.damage_blocks_writing:
            return f"its journal {journal.path.name}: {journal.stopped or journal.damage}"
        return None

    # -- reads --------------------------------------------------------------------------------
    def trace_data(self, index: int) -> np.ndarray:
        origin, name = self.layout.index.locate(index)
        where = f"trace {index} (/{origin}/{TRACES}/{name})"
        with sanity.h5_errors(self.path, where):
            return sanity.trace_data(self._groups[origin], name, self.layout.contexts[origin],
                                     self.path, where)

    def attrs_raw(self, index: int) -> dict[str, str]:
        trace = self.layout.index.locate(index)
        with sanity.h5_errors(self.path, f"the attributes of trace {index}"):
            base = read_trace_attrs(self._groups[trace[0]], trace[1])
        return {k: v if isinstance(v, str) else schema.encode(v)
                for k, v in self.overlay.merged(trace, base).items()}

    def current_raw(self, origin: str, name: str, key: str) -> str | None:
        """The stored string of one attribute, committed edits included (``None``: absent)."""
        decided, raw = self.overlay.value((origin, name), key)
        if decided:
            return raw
        with sanity.h5_errors(self.path, f"attribute {key} of /{origin}/{TRACES}/{name}"):
            value = read_trace_attr(self._groups[origin], name, key)
        return value if value is None or isinstance(value, str) else schema.encode(value)

    def stored_columns(self, keys: list[str], indexes: Iterable[int] | None
                       ) -> dict[str, loading.StoredColumn]:
        """Stored strings (``None`` = absent) of ``keys`` for ``indexes`` (``None``: all)."""
        wanted = loading.index_array(indexes, len(self.layout.index), self.path)
        return {key: loading.stored_column(key, wanted, self.layout.index, self.overlay,
                                           self._origin_column) for key in keys}

    def stored_rows(self, origin: str) -> list[dict[str, str]]:
        index = self.layout.index
        g = index.origins.index(origin)
        traces = index.origin_range(origin)
        table = self._table(g, origin)
        if table is None:
            return [self.attrs_raw(i) for i in traces]
        edited = self.overlay.pending(self.overlay.last_seq)
        keys = set(table.keys).union(*(values for (o, _), values in edited.items()
                                       if o == origin))
        absent = object()
        stored = {key: loading.stored_or_missing(column, absent)
                  for key, column in self.stored_columns(sorted(keys), traces).items()}
        return [{key: column[row] for key, column in stored.items() if column[row] is not absent}
                for row in range(len(traces))]

    def _origin_column(self, g: int, origin: str, key: str, rows: np.ndarray
                       ) -> loading.StoredColumn:
        table = self._table(g, origin)
        if table is not None:
            with sanity.h5_errors(self.path, f"the attribute table of /{origin}"):
                return loading.table_column(table, key, rows)

        def read_one(traces: h5py.Group, name: str) -> Any:
            with sanity.h5_errors(self.path, f"attribute {key} of /{origin}/{TRACES}/{name}"):
                return read_trace_attr(traces, name, key)

        return loading.per_trace_column(self._groups[origin], self.layout.index.names[g], rows,
                                        read_one)

    def _table(self, g: int, origin: str) -> TableReader | None:
        if origin not in self._tables:
            try:
                size = os.fstat(self.h5.id.get_vfd_handle()).st_size
                self._tables[origin] = TableReader.open(self.h5[origin], size,
                                                        self.layout.index.names[g])
            except (OSError, KeyError, ValueError, TypeError, RuntimeError):
                self._tables[origin] = None  # an unreadable table is not trusted
        return self._tables[origin]

    def edited_traces(self) -> list[int]:
        return sorted(self.layout.index.index_of(o, n) for o, n in self.overlay.traces())

    def summary(self) -> str:
        index, rule, lines = self.layout.index, "-" * 79, []
        for origin in index.origins:
            lines += [rule, f"{'origin':24s} : {origin}"]
            lines += [f"{k:24s} : {schema.encode(v)}"
                      for k, v in self.layout.origin_attrs[origin].items()]
            lines.append(f"{'traces_count':24s} : {len(index.origin_range(origin))}")
        lines += [rule, f"{len(index)} traces from {len(index.origins)} origins; "
                        f"{len(self.overlay)} attribute values not yet checkpointed"]
        lines += [f"problem: {problem}" for problem in self.problems]
        return "\n".join(lines)

    def close(self) -> None:
        self.journal.close()
        self.h5.close()
