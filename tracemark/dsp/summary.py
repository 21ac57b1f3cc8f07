"""Multi-resolution min/max summary of a whole stream.

Zooming out to the whole recording must not read the whole file on every frame. A
:class:`MinMaxPyramid` holds, for a few power-of-two factors (e.g. 64, 512, 4096,
32768), the min and max of every aligned bin of the stream. It is built once, in the
background, by streaming the stream through ``read_block`` in chunks (never more than
one chunk of raw samples in memory); afterwards any zoom level whose factor is a
multiple of a level's factor is served from the pyramid in microseconds, with exactly
the values that decimating a full eager load would give (same aligned bins).

Only the finest level is computed from raw samples; the coarser ones are merged from
it (:func:`tracemark.dsp.decimate.merge_minmax`), which is exact for min/max.

Memory: each level costs ``ceil(n_samples / factor) * n_channels * 8`` bytes, so the
finest level dominates. For long, wide recordings choose ``base_factor`` with
:func:`suggest_base_factor` to stay inside a byte budget.

The pyramid is kept between sessions by :mod:`tracemark.storage.summaries`; this
module only computes and queries it. Plain numpy; no files.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from .decimate import merge_minmax, minmax_decimate

__all__ = [
    "MinMaxPyramid",
    "suggest_base_factor",
]

_CHUNK_BYTES = 16 * 1024 * 1024


def _never() -> bool:
    return False


def _run_chunks(reduce_chunk: Callable[[int], int], starts: Sequence[int], reached: Callable[[int], None],
                cancelled: Callable[[], bool], workers: int, worker_setup: Callable[[], None] | None) -> bool:
    """``reduce_chunk(start)`` for each start, at most ``workers`` at a time, polling
    ``cancelled()`` before each (a pause there holds every thread); ``reached(stop)`` in
    order. False when cancelled."""
    if workers <= 1:
        for start in starts:
            if cancelled():
                return False
            reached(reduce_chunk(start))
        return True
    in_flight: deque[Future[int]] = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="tracemark-summary",
                            initializer=worker_setup) as pool:
        try:
            for start in starts:
                if cancelled():
                    return False
                in_flight.append(pool.submit(reduce_chunk, start))
                if len(in_flight) >= workers:
                    reached(in_flight.popleft().result())
            while in_flight:
                reached(in_flight.popleft().result())
        finally:
            for future in in_flight:   # an error or a cancel: nothing more starts
                future.cancel()
    return True

ReadBlock = Callable[[int, int], np.ndarray]
ReadMinMax = Callable[[int, int, int], tuple[np.ndarray, np.ndarray]]


def suggest_base_factor(
    n_samples: int, n_channels: int, max_bytes: int = 64 * 1024 * 1024, minimum: int = 64,
) -> int:
    """Smallest power-of-two base factor ``>= minimum`` whose pyramid fits in ``max_bytes``.

    With ``level_step >= 2`` the coarser levels add at most as much again as the finest,
    so the finest level is sized at half the budget.
    """
    factor = 1 << max(0, int(minimum) - 1).bit_length()
    while -(-n_samples // factor) * n_channels * 8 > max_bytes // 2:
        factor *= 2
    return factor


def _check_power_of_two(name: str, value: int) -> None:
    if int(value) != value or value < 2 or int(value) & (int(value) - 1):
        raise ValueError(f"{name} must be a power of two >= 2, got {value!r}")


class MinMaxPyramid:
    """Min/max of every aligned bin of a stream at a few power-of-two factors.

    ``factors`` ascend; ``levels[i]`` is ``(mins, maxs)``, float32
    ``(ceil(n_samples / factors[i]), n_channels)``; bin ``k`` of level ``i`` covers
    samples ``[k * f, (k + 1) * f)`` (the last one is partial when ``n_samples`` is not
    a multiple of ``f``).
    """

    def __init__(
        self,
        n_samples: int,
        n_channels: int,
        factors: Sequence[int],
        levels: Sequence[tuple[np.ndarray, np.ndarray]],
        identity: str = "",
    ) -> None:
        self.n_samples = int(n_samples)
        self.n_channels = int(n_channels)
        self.factors: tuple[int, ...] = tuple(int(f) for f in factors)
        self.levels: tuple[tuple[np.ndarray, np.ndarray], ...] = tuple(
            (np.asarray(lo, dtype=np.float32), np.asarray(hi, dtype=np.float32))
            for lo, hi in levels)
        for pair in self.levels:
            for array in pair:
                # Shared by every query thread; nobody may change them after the build.
                array.flags.writeable = False
        #: What the pyramid summarises (see
        #: :func:`tracemark.storage.summaries.recording_identity`); saved with it.
        self.identity = str(identity)
        self._validate()

    def _validate(self) -> None:
        if not self.factors or len(self.factors) != len(self.levels):
            raise ValueError("a pyramid needs one (mins, maxs) level per factor")
        previous = 0
        for factor, (mins, maxs) in zip(self.factors, self.levels):
            if factor & (factor - 1) or factor <= previous:
                raise ValueError(f"factors must be ascending powers of two: {self.factors}")
            previous = factor
            shape = (-(-self.n_samples // factor), self.n_channels)
            if mins.shape != shape or maxs.shape != shape:
                raise ValueError(
                    f"level {factor} has shapes {mins.shape}/{maxs.shape}, expected {shape}")

    @property
    def nbytes(self) -> int:
        return sum(lo.nbytes + hi.nbytes for lo, hi in self.levels)

    def __repr__(self) -> str:
        return (f"MinMaxPyramid(n_samples={self.n_samples}, n_channels={self.n_channels}, "
                f"factors={self.factors}, {self.nbytes} bytes)")

    # -- building -----------------------------------------------------------------

    @classmethod
    def build(
        cls,
        read_block: ReadBlock,
        n_samples: int,
        n_channels: int,
        *,
        base_factor: int = 64,
        level_step: int = 8,
        chunk_samples: int | None = None,
        progress: Callable[[float], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        identity: str = "",
        max_bytes: int | None = None,
        read_minmax: ReadMinMax | None = None,
        workers: int = 1,
        worker_setup: Callable[[], None] | None = None,
    ) -> MinMaxPyramid | None:
        """Stream ``read_block(i_start, i_stop)`` over the whole stream; None if cancelled.

        ``read_block`` returns ``(i_stop - i_start, n_channels)`` physical values. A caller
        that can reduce cheaper than that (min/max of stored integers, scaled afterwards)
        passes ``read_minmax(i_start, i_stop, factor) -> (mins, maxs)`` instead, which must
        equal ``minmax_decimate(read_block(i_start, i_stop), factor, i_start)[1:]``.
        ``chunk_samples`` (default: about 16 MB of float32, rounded to whole base bins)
        must be a multiple of ``base_factor``. Levels are ``base_factor * level_step**i``
        up to the coarsest that still has more than one bin. ``progress(fraction)`` is
        called with non-decreasing values from 0.0 to 1.0; ``cancelled()`` is polled
        before every chunk.

        ``max_bytes`` bounds the pyramid's memory: ``base_factor`` is then raised (see
        :func:`suggest_base_factor`) until the levels fit. Without it a 24-hour,
        256-channel, 2048 Hz stream at base factor 64 would take 5.6 GB, so long
        recordings should pass it.

        ``workers`` > 1 reduces that many chunks at a time on threads (reads and numpy
        min/max release the interpreter lock: 1 hour x 64 channels, 456 -> 279 ms on 2
        cores); ``read_block``/``read_minmax`` must then be safe to call from several
        threads, and ``worker_setup()`` runs once on each of those threads first.
        """
        n_samples, n_channels = int(n_samples), int(n_channels)
        _check_power_of_two("base_factor", base_factor)
        if max_bytes is not None:
            base_factor = suggest_base_factor(n_samples, n_channels, max_bytes, base_factor)
        factors = cls._level_factors(n_samples, base_factor, level_step)
        chunk = cls._chunk_size(chunk_samples, base_factor, n_channels)
        n_base = -(-n_samples // base_factor)
        mins = np.empty((n_base, n_channels), dtype=np.float32)
        maxs = np.empty((n_base, n_channels), dtype=np.float32)
        if progress is not None:
            progress(0.0)

        def reduce_chunk(i_start: int) -> int:
            i_stop = min(i_start + chunk, n_samples)
            if read_minmax is not None:
                lo, hi = read_minmax(i_start, i_stop, base_factor)
            else:
                block = np.asarray(read_block(i_start, i_stop))
                if block.shape != (i_stop - i_start, n_channels):
                    raise ValueError(
                        f"read_block({i_start}, {i_stop}) returned shape {block.shape}, "
                        f"expected {(i_stop - i_start, n_channels)}")
                _, lo, hi = minmax_decimate(block, base_factor, i_start)
            k = i_start // base_factor
            mins[k:k + lo.shape[0]] = lo
            maxs[k:k + hi.shape[0]] = hi
            return i_stop

        def reached(i_stop: int) -> None:
            if progress is not None:
                progress(i_stop / n_samples)

        finished = _run_chunks(reduce_chunk, range(0, n_samples, chunk), reached,
                               cancelled or _never, workers, worker_setup)
        if not finished or (cancelled is not None and cancelled()):
            return None
        levels = [(mins, maxs)]
        for finer, coarser in zip(factors, factors[1:]):
            starts = np.arange(levels[-1][0].shape[0], dtype=np.int64) * finer
            _, lo, hi = merge_minmax(starts, *levels[-1], finer, coarser)
            levels.append((lo, hi))
        if progress is not None and n_samples == 0:
            progress(1.0)
        return cls(n_samples, n_channels, factors, levels, identity=identity)

    @staticmethod
    def _level_factors(n_samples: int, base_factor: int, level_step: int) -> list[int]:
        _check_power_of_two("base_factor", base_factor)
        _check_power_of_two("level_step", level_step)
        if n_samples < 0:
            raise ValueError(f"n_samples must not be negative, got {n_samples}")
        factors = [int(base_factor)]
        while factors[-1] * level_step < n_samples:
            factors.append(factors[-1] * int(level_step))
        return factors

    @staticmethod
    def _chunk_size(chunk_samples: int | None, base_factor: int, n_channels: int) -> int:
        if chunk_samples is None:
            rows = _CHUNK_BYTES // (4 * max(1, n_channels))
            return max(base_factor, rows // base_factor * base_factor)
        if chunk_samples <= 0 or chunk_samples % base_factor:
            raise ValueError(
                f"chunk_samples ({chunk_samples}) must be a positive multiple of "
                f"base_factor ({base_factor})")
        return int(chunk_samples)

    # -- querying -----------------------------------------------------------------

    def covers(self, factor: int) -> bool:
        """Whether :meth:`query` can serve ``factor`` (a multiple of some level's factor)."""
        return self._level_for(factor) is not None

    def _level_for(self, factor: int) -> int | None:
        """Index of the coarsest level whose factor divides ``factor`` (fewest bins to merge)."""
        factor = int(factor)
        best = None
        for i, level_factor in enumerate(self.factors):
            if level_factor <= factor and factor % level_factor == 0:
                best = i
        return best

    def query(
        self,
        i_start: int,
        i_stop: int,
        factor: int,
        channels: Sequence[int] | np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Min/max of samples ``[i_start, i_stop)`` in bins aligned to ``factor``.

        Same contract as :func:`tracemark.dsp.decimate.minmax_decimate`, served from the
        coarsest level whose factor ``L`` divides ``factor``. The result is exactly equal
        to ``minmax_decimate(full[i_start:i_stop], factor, i_start)`` when ``i_start`` and
        ``i_stop`` are multiples of ``L`` (or ``i_stop == n_samples``). At an unaligned
        edge the edge bin is computed from whole level bins, so it may include samples
        outside ``[i_start, i_stop)`` but never outside that output bin; callers that
        page by whole output bins (see :func:`~tracemark.dsp.decimate.bin_range`) never
        see the difference.
        """
        level = self._level_for(factor)
        if level is None:
            raise ValueError(
                f"factor {factor} is not a multiple of any summary level {self.factors}")
        i_start = max(0, int(i_start))
        i_stop = min(self.n_samples, int(i_stop))
        n_channels = self.n_channels if channels is None else len(channels)
        if i_stop <= i_start:
            empty = np.empty((0, n_channels), dtype=np.float32)
            return np.empty(0, dtype=np.int64), empty, empty.copy()
        level_factor = self.factors[level]
        mins, maxs = self.levels[level]
        k_first = i_start // level_factor
        k_stop = (i_stop - 1) // level_factor + 1
        mins, maxs = mins[k_first:k_stop], maxs[k_first:k_stop]
        if channels is not None:
            index = np.asarray(channels, dtype=np.intp)
            mins, maxs = mins[:, index], maxs[:, index]
        starts = np.arange(k_first, k_stop, dtype=np.int64) * level_factor
        # merge_minmax always returns new arrays, never views into the levels.
        return merge_minmax(starts, mins, maxs, level_factor, int(factor))
