"""The attribute table: each origin's trace attributes stored a second time, column by
column, so that one attribute of every trace costs one read instead of one HDF5 object
lookup per trace.

Why a table. HDF5 keeps an object's attributes in that object's header, so every way of
reading an attribute of many traces through h5py (``Dataset.attrs``, ``h5a.open`` by name,
walking with ``visititems`` or ``h5a.iterate``) looks up and opens each trace's object, one
by one. On a 100,000-trace cache (2 origins, a shared 2-core machine) reading ``reject``
cost 0.15-0.53 ms per trace through the low-level ``h5o.open`` + ``h5a.open`` + ``read``
and 0.24-1 ms through ``Dataset.attrs``, depending on the load: 15-53 s and 24-100 s for
the cache, where the goal is 0.5 s. No per-trace path comes near it, so the attributes are
kept a second time, columnar: a column of this table is two small datasets, each read in
one call. ``CacheFile.load_only`` of that column, with 200 edits pending in the journal,
took 55 ms (median; 184 ms for the first call after opening, which checks the table;
``benchmarks/bench_cache_load_only.py``).

The per-trace attributes stay the truth: offspect-style tools read and write only them,
and Tracemark reads them for single traces. The table is an index derived from them and
written by Tracemark whenever it writes a cache file (build, merge, checkpoint; a backup
copies it byte for byte), so it is only ever as new as the file it lives in.

Layout, one group per origin, beside ``traces`` (offspect-style readers open only
``traces`` and never see it)::

    /<origin>/tracemark_table/keys             (k,) text   attribute names; column j = keys[j]
    /<origin>/tracemark_table/traces/          the trace dataset names, in index order
    /<origin>/tracemark_table/columns/<j>/     the stored strings of keys[j], one per trace
    /<origin>/tracemark_table/stamp            (1,) int64  file size when it was written

A column of strings is two datasets: ``text``, every string's UTF-8 bytes one after the
other (uint8), and ``lengths``, each string's byte count (uint32; 2**32 - 1 = the trace
lacks the key). Both are gzip-compressed. Why not an HDF5 variable-length string array:
HDF5 stores each element of one as a separate heap object (about 48 bytes, a
``False`` included), which made the table of 100,000 traces x 19 keys some 75 MB; packed,
it takes 0.8 MB.

Freshness. Another tool editing the file in place makes the table stale. Every write
through HDF5 of a text attribute allocates new space at the end of the file (the research
note on HDF5 write safety measured ~4.2 KB per edit; freed space is not reused), so the
file size is a cheap witness: the table is trusted only while ``stamp`` equals the size of
the file it is read from. The stamp is patched into the contiguous ``stamp`` dataset with
one ``pwrite`` after HDF5 has closed the file, which cannot change the file's size. A stale
or missing table is never guessed from: readers fall back to the per-trace attributes.
What the witness cannot see is a change that keeps the size: bytes overwritten in place
(damage, or a tool rewriting a fixed-size value); the per-trace reads then disagree with
the table until the next write by Tracemark.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np

from . import portable_io

TABLE = "tracemark_table"
_TEXT = h5py.string_dtype()
_UNSTAMPED = -1
#: ``lengths`` entry of a trace that lacks the key.
ABSENT = 0xFFFFFFFF
_CHUNK = 1 << 16

#: (origin, trace name) -> {attribute: stored string, or None = removed}; as in checkpoint.
Changes = Mapping[tuple[str, str], Mapping[str, "str | None"]]


def write_table(origin: h5py.Group, names: Sequence[str],
                rows: Sequence[Mapping[str, str]]) -> None:
    """(Re)write ``origin``'s table from each trace's stored strings, ``rows[i]`` for the
    trace named ``names[i]``, in index order. Stamp the file with :func:`stamp_file`
    once it is closed."""
    if TABLE in origin:
        del origin[TABLE]
    if not names:
        return  # nothing to index
    keys = sorted({key for row in rows for key in row})
    table = origin.create_group(TABLE)
    table.create_dataset("keys", data=np.array(keys, dtype=object), dtype=_TEXT,
                         maxshape=(None,), chunks=True)
    _write_strings(table.create_group("traces"), list(names))
    columns = table.create_group("columns")
    for j, key in enumerate(keys):
        _write_strings(columns.create_group(str(j)), [row.get(key) for row in rows])
    table.create_dataset("stamp", data=np.array([_UNSTAMPED], dtype="<i8"))


def _write_strings(group: h5py.Group, texts: Sequence[str | None]) -> None:
    encoded = [b"" if text is None else text.encode("utf-8") for text in texts]
    lengths = np.array([ABSENT if text is None else len(data)
                        for text, data in zip(texts, encoded)], dtype=np.uint32)
    blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    packed = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
    if "lengths" not in group:
        group.create_dataset("lengths", data=lengths, chunks=(min(len(lengths), _CHUNK),),
                             **packed)
        group.create_dataset("text", shape=(0,), dtype=np.uint8, maxshape=(None,),
                             chunks=(_CHUNK,), **packed)
    else:
        group["lengths"][...] = lengths
    group["text"].resize((len(blob),))
    if len(blob):
        group["text"][...] = blob


def _read_strings(group: h5py.Group) -> list[str | None]:
    lengths = group["lengths"][()].astype(np.int64)
    blob = group["text"][()].tobytes()
    absent = lengths == ABSENT
    sizes = np.where(absent, 0, lengths)
    ends = np.cumsum(sizes)
    if blob.isascii():  # one decode, then slices of a str (bytes and characters agree)
        text = blob.decode("ascii")
    else:
        text = None
    out: list[str | None] = []
    start = 0
    for end, missing in zip(ends.tolist(), absent.tolist()):
        if missing:
            out.append(None)
        else:
            out.append(text[start:end] if text is not None
                       else blob[start:end].decode("utf-8", errors="replace"))
        start = end
    return out


def stamp_file(path: Path) -> None:
    """Record the file's size in every table of the (closed) file at ``path``."""
    with h5py.File(path, "r") as f:
        offsets = [f[origin][TABLE]["stamp"].id.get_offset() for origin in f
                   if isinstance(f[origin], h5py.Group) and TABLE in f[origin]]
    fd = os.open(path, os.O_WRONLY | portable_io.BINARY)
    try:
        size = os.fstat(fd).st_size
        for offset in offsets:
            if offset is None:
                raise OSError(f"{path}: the attribute table's stamp has no storage")
            portable_io.write_at(fd, struct.pack("<q", size), offset)
    finally:
        os.close(fd)


def is_fresh(origin: h5py.Group, file_size: int) -> bool:
    table = origin.get(TABLE)
    if not isinstance(table, h5py.Group):
        return False
    try:
        return int(table["stamp"][0]) == file_size
    except (KeyError, OSError, ValueError, IndexError, TypeError):
        return False


def update_tables(f: h5py.File, changes: Changes, file_size: int) -> None:
    """Apply ``changes`` to the tables of ``f`` (a private copy being checkpointed, whose
    size before any change was ``file_size``). A stale table is deleted rather than
    updated, so that it can never be stamped fresh again."""
    by_origin: dict[str, dict[str, Mapping[str, str | None]]] = {}
    for (origin, name), values in changes.items():
        by_origin.setdefault(origin, {})[name] = values
    for origin in f:
        group = f[origin]
        if not isinstance(group, h5py.Group) or TABLE not in group:
            continue
        if not is_fresh(group, file_size):
            del group[TABLE]
        elif origin in by_origin:
            _update_table(group[TABLE], by_origin[origin])


def _update_table(table: h5py.Group, changes: Mapping[str, Mapping[str, str | None]]) -> None:
    row_of = {name: row for row, name in enumerate(_read_strings(table["traces"]))}
    keys = list(table["keys"].asstr()[()])
    by_key: dict[str, list[tuple[int, str | None]]] = {}
    for name, values in changes.items():
        for key, raw in values.items():
            by_key.setdefault(key, []).append((row_of[name], raw))
    for key, cells in by_key.items():
        if key not in keys:
            _add_column(table, key, len(row_of))
            keys.append(key)
        column = table["columns"][str(keys.index(key))]
        texts = _read_strings(column)
        for row, raw in cells:
            texts[row] = raw
        _write_strings(column, texts)


def _add_column(table: h5py.Group, key: str, n_rows: int) -> None:
    k = table["keys"].shape[0]
    table["keys"].resize((k + 1,))
    table["keys"][k] = key
    _write_strings(table["columns"].create_group(str(k)), [None] * n_rows)


class TableReader:
    """Columns of one origin's fresh table (open with :meth:`open`)."""

    def __init__(self, table: h5py.Group):
        self._table = table
        self._columns = {key: j for j, key in enumerate(table["keys"].asstr()[()])}

    @classmethod
    def open(cls, origin: h5py.Group, file_size: int, names: Sequence[str]) -> TableReader | None:
        """The reader when ``origin``'s table is fresh and lists exactly ``names``."""
        if not is_fresh(origin, file_size):
            return None
        table = origin[TABLE]
        if _read_strings(table["traces"]) != list(names):
            return None
        return cls(table)

    @property
    def keys(self) -> list[str]:
        """Every attribute key any trace of the origin has, as of the table."""
        return list(self._columns)

    def column(self, key: str) -> list[str | None]:
        """The stored string of ``key`` for every trace (``None`` where a trace lacks it)."""
        j = self._columns.get(key)
        if j is None:
            return [None] * self._table["traces"]["lengths"].shape[0]
        return _read_strings(self._table["columns"][str(j)])
