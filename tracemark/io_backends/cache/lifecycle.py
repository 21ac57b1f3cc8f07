"""Where an open :class:`~.cachefile.CacheFile` stands: one state, and the moves allowed
between states.

The parts of a cache (the reader, the writer session, the checkpointer) must agree on
whether the cache is closed, whether this process holds the writer lock and whether the
journal needs rebuilding after a failed append. Kept as separate flags, those facts could
disagree; kept as one :class:`CacheState`, they cannot. A move the table below does not
allow is a bug in the cache itself and raises :class:`IllegalTransition` at once, before
any part acts on a state that makes no sense.

A caller in the wrong state gets the typed error it always got: :meth:`Lifecycle.require_open`
raises :class:`~.errors.CacheClosedError`; the facade raises
:class:`~.errors.CacheReadOnlyError` for an edit in ``READ_ONLY``.

The cache's mutex guards every move; this module takes no lock of its own.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from .errors import CacheClosedError


class CacheState(Enum):
    #: Being opened: the HDF5 file and journal are read; the writer lock may be taken next.
    OPENING = "opening"
    #: Open; edits are refused (mode ``"r"``, or ``"auto"`` when the lock was not free).
    READ_ONLY = "read-only"
    #: Open without the writer lock; the first edit takes it (mode ``"r+"``).
    LOCK_ON_EDIT = "lock on first edit"
    #: This process holds the writer lock and appends to the journal.
    WRITING = "writing"
    #: Holds the writer lock, but a journal append failed: the next write first rebuilds
    #: the view from what the disk really holds.
    NEEDS_RECOVERY = "needs recovery"
    #: Every handle and the lock are released; nothing more can be done.
    CLOSED = "closed"

    @property
    def holds_lock(self) -> bool:
        return self in (CacheState.WRITING, CacheState.NEEDS_RECOVERY)


#: The moves each state allows. ``LOCK_ON_EDIT`` never falls back to ``READ_ONLY``: a
#: refused lock at the first edit refuses that edit, and the next edit tries again.
ALLOWED_MOVES: dict[CacheState, frozenset[CacheState]] = {
    CacheState.OPENING: frozenset({CacheState.READ_ONLY, CacheState.LOCK_ON_EDIT,
                                   CacheState.WRITING, CacheState.CLOSED}),
    CacheState.READ_ONLY: frozenset({CacheState.CLOSED}),
    CacheState.LOCK_ON_EDIT: frozenset({CacheState.WRITING, CacheState.CLOSED}),
    CacheState.WRITING: frozenset({CacheState.NEEDS_RECOVERY, CacheState.CLOSED}),
    CacheState.NEEDS_RECOVERY: frozenset({CacheState.WRITING, CacheState.CLOSED}),
    CacheState.CLOSED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A move between cache states that :data:`ALLOWED_MOVES` forbids (a bug, not bad input)."""

    def __init__(self, path: Path, current: CacheState, wanted: CacheState):
        super().__init__(f"{path}: a cache in state {current.value!r} cannot move to "
                         f"{wanted.value!r}")
        self.current = current
        self.wanted = wanted


class Lifecycle:
    """The one state of one open cache, moved only along :data:`ALLOWED_MOVES`."""

    def __init__(self, path: Path):
        self.path = path
        self._state = CacheState.OPENING

    @property
    def state(self) -> CacheState:
        return self._state

    @property
    def holds_lock(self) -> bool:
        return self._state.holds_lock

    @property
    def closed(self) -> bool:
        return self._state is CacheState.CLOSED

    def move_to(self, wanted: CacheState) -> None:
        if wanted not in ALLOWED_MOVES[self._state]:
            raise IllegalTransition(self.path, self._state, wanted)
        self._state = wanted

    def require_open(self) -> None:
        if self._state is CacheState.CLOSED:
            raise CacheClosedError(self.path, "the cache was closed")
