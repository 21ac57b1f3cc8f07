"""The checkpointing part of a cache: when and what to fold from the journal into the HDF5
file, around the crash-safe file procedure of :mod:`.checkpoint`.

:meth:`Checkpointer.fold` is the one fold routine, used by ``CacheFile.checkpoint`` (on
demand, at close, at a writer open that finds a previous writer's work unfolded) and by
``CacheFile.checkpoint_if_idle`` (a timer, usually on a worker thread). It has three
steps:

1. under the cache's mutex, take a snapshot: the overlay's values up to its latest
   sequence number, the journal's end and the cache id (rebuilding the view first when a
   journal append had failed, so that only what the disk holds is folded);
2. without the mutex, copy the file, apply the snapshot and rename the copy over the
   live file (:func:`.checkpoint.write_checkpoint`; 0.2-2 s for a large cache), so that
   edits and reads on other threads go on meanwhile. Edits committed during the copy
   have higher sequence numbers than the snapshot and stay in the overlay;
3. under the mutex again, have the reader reopen the new file, which drops exactly the
   folded values from the overlay.

It is split from the writer session because a fold is slow and may run on another
thread: it needs its own lock (:attr:`Checkpointer.exclusive`, one fold at a time, always
taken before the cache's mutex) and must not hold the mutex that every edit takes.
"""

from __future__ import annotations

import threading

from .checkpoint import write_checkpoint
from .lifecycle import CacheState, Lifecycle
from .reader import CacheReader
from .session import WriterSession


class Checkpointer:
    """Folds committed edits of one cache into its HDF5 file, one fold at a time."""

    def __init__(self, reader: CacheReader, lifecycle: Lifecycle, mutex: threading.RLock):
        self._reader = reader
        self._lifecycle = lifecycle
        self._mutex = mutex
        #: One fold at a time; taken before the cache's mutex wherever both are held.
        self.exclusive = threading.RLock()

    def is_due(self, session: WriterSession, idle_s: float) -> bool:
        """Whether edits are pending and none came for ``idle_s`` seconds (caller holds the
        cache's mutex)."""
        return (self._lifecycle.holds_lock and len(self._reader.overlay) > 0
                and session.idle_for(idle_s))

    def fold(self, session: WriterSession) -> bool:
        """Fold every committed edit into the HDF5 file; ``False`` when there was none.
        The caller holds :attr:`exclusive` (see the module docstring for the steps)."""
        with self._mutex:
            if self._lifecycle.state is CacheState.CLOSED:
                return False
            session.recover_if_needed()
            overlay = self._reader.overlay
            seq = overlay.last_seq
            if seq <= self._reader.base_seq or not len(overlay):
                return False
            pending = overlay.pending(seq)
            journal_end = session.journal_end
            cache_id = self._reader.writing_cache_id()
        try:
            write_checkpoint(self._reader.path, pending, cache_id, seq, journal_end)
        finally:
            with self._mutex:
                if not self._lifecycle.closed:
                    self._reader.reopen_if_replaced()
        return True
