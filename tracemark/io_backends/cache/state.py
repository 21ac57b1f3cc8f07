"""The committed state of a cache as one process sees it: the HDF5 file plus the journal
records newer than it.

``Overlay`` holds, per trace, the attribute values committed in the journal but not yet
folded into the HDF5 file, each with the sequence number that set it, so a checkpoint that
folds records up to ``seq`` can drop exactly what it folded while later edits stay. The
:class:`~.reader.CacheReader` keeps it; the writer session applies each committed record
to it; the checkpointer folds it. (Whether a cache is open, read-only or writing is its
lifecycle, :mod:`.lifecycle`, not this state.)
"""

from __future__ import annotations

from collections.abc import Iterable

from .checkpoint import Pending
from .journal import Record

TraceKey = tuple[str, str]


class Overlay:
    def __init__(self) -> None:
        self._values: dict[TraceKey, dict[str, tuple[str | None, int]]] = {}
        self.last_seq = 0

    def apply(self, record: Record) -> None:
        for change in record.changes:
            self._values.setdefault((change.origin, change.trace), {})[change.key] = (
                change.new, record.seq)
        self.last_seq = max(self.last_seq, record.seq)

    def apply_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.apply(record)

    def merged(self, trace: TraceKey, base: dict[str, object]) -> dict[str, object]:
        values = self._values.get(trace)
        if not values:
            return base
        merged = dict(base)
        for key, (raw, _) in values.items():
            if raw is None:
                merged.pop(key, None)
            else:
                merged[key] = raw
        return merged

    def value(self, trace: TraceKey, key: str) -> tuple[bool, str | None]:
        """(True, value) when the overlay decides ``key`` of ``trace``, else (False, None)."""
        values = self._values.get(trace)
        if values and key in values:
            return True, values[key][0]
        return False, None

    def pending(self, up_to_seq: int) -> Pending:
        return {trace: {key: raw for key, (raw, seq) in values.items() if seq <= up_to_seq}
                for trace, values in self._values.items()
                if any(seq <= up_to_seq for _, seq in values.values())}

    def drop_through(self, seq: int) -> None:
        """Forget values now contained in the HDF5 file (set by records <= ``seq``)."""
        for trace in list(self._values):
            kept = {k: v for k, v in self._values[trace].items() if v[1] > seq}
            if kept:
                self._values[trace] = kept
            else:
                del self._values[trace]

    def __len__(self) -> int:
        return sum(len(v) for v in self._values.values())

    def traces(self) -> list[TraceKey]:
        return list(self._values)
