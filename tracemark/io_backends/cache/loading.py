"""Partial, columnar loading for :meth:`CacheFile.load_only`: chosen attributes of chosen
traces, one list per attribute, read through each origin's attribute table
(:mod:`.columns`) when it is fresh and trace by trace when it is not, then overlaid with
the journal's edits not yet checkpointed, exactly as a per-trace read would see them.

Decoding is memoised per distinct stored string: a column of 100,000 traces usually holds
a handful of distinct values (``False``/``True``, ``0``), so a column decodes in the time
of a dictionary lookup per trace instead of a schema parse per trace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from . import schema
from .columns import TableReader
from .errors import CacheIndexError
from .layout import TraceIndex
from .state import Overlay

#: Stored strings of one attribute for the requested traces; ``None`` = absent.
StoredColumn = np.ndarray


def index_array(indexes: Iterable[int] | None, n_traces: int, path: Path) -> np.ndarray:
    """``indexes`` (``None`` = every trace) as an int64 array, checked against the cache."""
    if indexes is None:
        return np.arange(n_traces, dtype=np.int64)
    if isinstance(indexes, (int, np.integer)):
        raise CacheIndexError(path, f"indexes must be a sequence of trace indexes, not the "
                                    f"single number {indexes}; use [{indexes}]")
    if isinstance(indexes, range):
        wanted = np.arange(indexes.start, indexes.stop, indexes.step, dtype=np.int64)
    else:
        wanted = np.asarray(indexes if isinstance(indexes, np.ndarray) else list(indexes))
    if wanted.size and (wanted.dtype.kind not in "iu" or wanted.ndim != 1):
        raise CacheIndexError(path, f"trace indexes must be whole numbers in one list, not "
                                    f"{wanted.dtype} of shape {wanted.shape}")
    wanted = wanted.astype(np.int64).reshape(-1)
    bad = wanted[(wanted < 0) | (wanted >= n_traces)]
    if bad.size:
        raise CacheIndexError(path, f"trace {int(bad[0])} does not exist (the cache holds "
                                    f"{n_traces} traces, 0 .. {n_traces - 1})")
    return wanted


def stored_column(key: str, wanted: np.ndarray, index: TraceIndex, overlay: Overlay,
                  origin_column: Callable[[int, str, str, np.ndarray], StoredColumn],
                  ) -> StoredColumn:
    """Stored strings of ``key`` for the traces ``wanted``: each origin's rows read with
    ``origin_column(origin number, origin, key, rows)``, then the journal's edits."""
    out = np.full(len(wanted), None, dtype=object)
    starts = np.asarray(index.starts)
    origin_of = np.searchsorted(starts, wanted, side="right") - 1
    for g, origin in enumerate(index.origins):
        positions = np.flatnonzero(origin_of == g)
        if positions.size:
            out[positions] = origin_column(g, origin, key, wanted[positions] - starts[g])
    edited: dict[int, str | None] = {}
    for trace in overlay.traces():
        decided, value = overlay.value(trace, key)
        if decided:
            edited[index.index_of(*trace)] = value
    if edited:
        hits = np.flatnonzero(np.isin(wanted, np.fromiter(edited, dtype=np.int64)))
        for position in hits.tolist():
            out[position] = edited[int(wanted[position])]
    return out


def table_column(table: TableReader, key: str, rows: np.ndarray) -> StoredColumn:
    """The stored strings of ``key`` at ``rows`` of one origin's fresh table."""
    column: StoredColumn = np.array(table.column(key), dtype=object)[rows]
    return column


def per_trace_column(traces: h5py.Group, names: Sequence[str], rows: np.ndarray,
                     read_one: Callable[[h5py.Group, str], Any]) -> StoredColumn:
    """The slow path for an origin without a fresh table: ``read_one`` per trace."""
    out = np.full(len(rows), None, dtype=object)
    for position, row in enumerate(rows.tolist()):
        value = read_one(traces, names[row])
        out[position] = value if value is None or isinstance(value, str) else schema.encode(value)
    return out


def decode_column(key: str, stored: StoredColumn, missing: Any) -> list[Any]:
    """Typed values, as :func:`schema.decode` gives them; ``missing`` where absent."""
    memo: dict[str, Any] = {}
    lists = schema.ALL_KEYS.get(key) is not None and schema.ALL_KEYS[key].kind in (
        schema.COORDS, schema.STRLIST)

    def typed(text: str | None) -> Any:
        if text is None:
            return missing
        try:
            value = memo[text]
        except KeyError:
            value = memo[text] = schema.decode(key, text)
        return list(value) if lists and isinstance(value, list) else value

    return [typed(text) for text in stored.tolist()]


def stored_or_missing(stored: StoredColumn, missing: Any) -> list[Any]:
    return [missing if text is None else text for text in stored.tolist()]
