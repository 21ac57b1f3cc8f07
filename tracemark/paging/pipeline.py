"""From a page request to min/max bins: reading, montage, filter, decimation. No Qt.

:class:`DisplayPipeline` is called from the pager's worker thread. It picks the
cheapest correct path for each request:

``summary``
    the request is coarser than the finest level of a ready min/max pyramid for its
    montage, and no display filter needs the raw samples: bins come from the pyramid,
    so a whole-recording view never reads the file. The pyramid's finest level is
    sized to a memory budget, so on a very long recording it can be coarser than a
    long window needs (a 1-hour window of a 24-hour file); such a window, too long to
    read, is served at the finest level's factor: fewer bins than pixels, every peak
    still drawn;
``raw``
    the window holds at most ``raw_budget_values`` values: fixed-size blocks of the
    needed input channels are read through a byte-bounded :class:`BlockCache`,
    padded for the display filter, combined by the montage, filtered, trimmed and
    decimated;
``streamed``
    larger windows (up to ``stream_budget_values``) before the pyramid exists are read
    chunk by chunk and decimated on the way, so memory stays bounded; rows that are
    channels as recorded are reduced on their stored integers when the source offers
    them (:class:`~.source.RawSource`), and only the bins are scaled; display filters
    other than DC removal are not applied there;
``sampled``
    anything larger, before the pyramid exists, is drawn at once from short stretches
    read at evenly spaced places (at most ``sample_budget_values`` values): an
    approximation, said so in the status line, that the exact summary replaces as soon
    as it is built (the viewer asks again then). Never a blank frame.

Montages are given as weight matrices ``(n_out, n_in)``; only the inputs the visible
rows need are read. Requests are aligned to their factor, so decimating here equals
decimating the same range of a full eager load (the parity test checks it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import cast

import numpy as np

from tracemark.dsp.blockcache import BlockCache
from tracemark.dsp.decimate import minmax_decimate, minmax_decimate_raw
from tracemark.dsp.filters import DisplayFilter
from tracemark.dsp.summary import MinMaxPyramid

from .request import (
    ORIGIN_PENDING,
    ORIGIN_RAW,
    ORIGIN_SAMPLED,
    ORIGIN_STREAMED,
    ORIGIN_SUMMARY,
    PageRequest,
    PageResult,
)
from .source import RawSource, SignalSource

Cancelled = Callable[[], bool]
#: ``reduce(i_start, i_stop, factor) -> (mins, maxs)``: see :func:`minmax_reader`.
Reducer = Callable[[int, int, int], tuple[np.ndarray, np.ndarray]]
#: Bin starts, mins and maxs of a page.
Bins = tuple[np.ndarray, np.ndarray, np.ndarray]


def _never() -> bool:
    return False


@dataclass(frozen=True)
class RowPlan:
    """Which inputs to read for some display rows, and how to combine them."""

    inputs: tuple[int, ...]
    weights: np.ndarray | None  # (n_rows, n_inputs); None means "rows are the inputs"

    def combine(self, raw: np.ndarray) -> np.ndarray:
        if self.weights is None:
            return raw
        combined: np.ndarray = (raw @ self.weights.T).astype(np.float32, copy=False)
        return combined


def plan_rows(matrix: np.ndarray | None, rows: tuple[int, ...]) -> RowPlan:
    """The inputs that ``rows`` of a montage ``matrix`` need (identity when None)."""
    if matrix is None:
        return RowPlan(tuple(rows), None)
    sub = np.asarray(matrix, dtype=np.float32)[list(rows)]
    inputs = np.flatnonzero(np.any(sub != 0, axis=0))
    return RowPlan(tuple(int(i) for i in inputs), np.ascontiguousarray(sub[:, inputs]))


def filter_applies(display_filter: DisplayFilter | None) -> bool:
    """True for filters that change the shape of a trace (not only its DC level)."""
    if display_filter is None:
        return False
    return any(getattr(display_filter, name, None) for name in ("highpass_hz", "lowpass_hz", "notch_hz"))


class DisplayPipeline:
    """Computes :class:`PageResult` values for one source; safe to call from any thread.

    Memory is bounded whatever the recording's length: ``cache_bytes`` of raw blocks,
    ``result_cache_bytes`` of computed pages, and at most ``raw_budget_values`` samples
    in flight for one page (plus the display filter's float64 working copy). The
    defaults keep the whole viewer, Qt included, near 250 MB (see
    ``benchmarks/bench_viewer.py``).
    """

    def __init__(self, source: SignalSource, *, cache_bytes: int = 48 * 2**20,
                 result_cache_bytes: int = 16 * 2**20, block_samples: int = 4096,
                 raw_budget_values: int = 4_000_000, stream_budget_values: int = 48_000_000,
                 sample_budget_values: int = 2_000_000):
        self.source = source
        self.block_samples = int(block_samples)
        self.raw_budget_values = int(raw_budget_values)
        self.stream_budget_values = int(stream_budget_values)
        self.sample_budget_values = int(sample_budget_values)
        self.block_cache = BlockCache(cache_bytes)
        self.result_cache = BlockCache(result_cache_bytes)
        self._lock = threading.Lock()
        self._montages: dict[str, np.ndarray | None] = {"": None}
        self._filters: dict[str, DisplayFilter | None] = {"": None}
        self._pyramids: dict[str, MinMaxPyramid] = {}
        #: What the result cache cannot hold: origin, filtered, bin factor, first bin start.
        self._origins: dict[tuple[object, ...], tuple[str, bool, int, int]] = {}
        self._raw_probe: bool | None = None

    # -- configuration (from the GUI thread) ---------------------------------------------------
    def register_montage(self, key: str, matrix: np.ndarray | None) -> None:
        with self._lock:
            self._montages[key] = None if matrix is None else np.asarray(matrix, np.float32)

    def register_filter(self, key: str, display_filter: DisplayFilter | None) -> None:
        with self._lock:
            self._filters[key] = display_filter

    def set_pyramid(self, montage_key: str, pyramid: MinMaxPyramid) -> None:
        with self._lock:
            self._pyramids[montage_key] = pyramid
            self._origins = {k: v for k, v in self._origins.items() if v[0] != ORIGIN_PENDING}
        # Pages computed while this pyramid was missing may be pending or streamed.
        self.result_cache.clear()

    def pyramid(self, montage_key: str) -> MinMaxPyramid | None:
        with self._lock:
            return self._pyramids.get(montage_key)

    def montage_matrix(self, key: str) -> np.ndarray | None:
        with self._lock:
            return self._montages[key]

    # -- results ---------------------------------------------------------------------------
    def cached(self, request: PageRequest) -> PageResult | None:
        """A previously computed result for an equal request, relabelled with its id."""
        key = request.cache_key
        packed = self.result_cache.get(key)
        with self._lock:
            meta = self._origins.get(key)
        if packed is None or meta is None:
            return None
        origin, filtered, bin_factor, first = meta
        bin_starts = first + np.arange(packed[0].shape[0], dtype=np.int64) * bin_factor
        return PageResult(request, bin_starts, packed[0], packed[1], origin=origin, filtered=filtered,
                          from_cache=True, bin_factor=bin_factor)

    def compute(self, request: PageRequest, cancelled: Cancelled = _never) -> PageResult | None:
        """The result for ``request`` (cached when possible); None when cancelled midway."""
        hit = self.cached(request)
        if hit is not None:
            return hit
        began = time.perf_counter()
        with self._lock:
            matrix = self._montages[request.montage_key]
            display_filter = self._filters[request.filter_key]
            pyramid = self._pyramids.get(request.montage_key)
        plan = plan_rows(matrix, request.rows)
        n_values = request.n_samples * max(len(plan.inputs), 1)
        result: PageResult | None
        if pyramid is not None and pyramid.covers(request.factor) and (
                not filter_applies(display_filter) or n_values > self.raw_budget_values):
            result = self._from_summary(request, pyramid, display_filter, request.factor)
        elif n_values <= self.raw_budget_values:
            result = self._from_raw(request, plan, display_filter, cancelled)
        elif n_values <= self.stream_budget_values:
            result = self._streamed(request, plan, display_filter, cancelled)
        elif pyramid is not None:
            coarser = next(f for f in pyramid.factors if f >= request.factor)
            result = self._from_summary(request, pyramid, display_filter, coarser)
        else:
            result = self._sampled(request, plan, display_filter, cancelled)
        if result is None:
            return None
        result = _with_seconds(result, time.perf_counter() - began)
        self._remember(result)
        return result

    def _remember(self, result: PageResult) -> None:
        key = result.request.cache_key
        with self._lock:
            if len(self._origins) > 20000:
                self._origins.clear()
            first = int(result.bin_starts[0]) if len(result.bin_starts) else result.request.i_start
            self._origins[key] = (result.origin, result.filtered, result.bin_factor, first)
        self.result_cache.put(key, (result.mins, result.maxs))

    # -- the paths -------------------------------------------------------------------------
    def _from_summary(self, request: PageRequest, pyramid: MinMaxPyramid, display_filter: DisplayFilter | None,
                      factor: int) -> PageResult:
        bin_starts, mins, maxs = pyramid.query(request.i_start, request.i_stop, factor,
                                               channels=list(request.rows))
        mins, maxs = _remove_dc_of_bins(mins, maxs, display_filter)
        return PageResult(request, bin_starts, mins, maxs, origin=ORIGIN_SUMMARY, filtered=False,
                          bin_factor=factor)

    def _from_raw(self, request: PageRequest, plan: RowPlan, display_filter: DisplayFilter | None,
                  cancelled: Cancelled) -> PageResult | None:
        if self._on_codes(plan) and not filter_applies(display_filter):
            return self._from_integers(request, plan, display_filter)
        pad = 0
        if display_filter is not None and not getattr(display_filter, "is_identity", True):
            pad = int(display_filter.padding_samples(self.source.sampling_rate))
        n = self.source.n_samples
        read_start, read_stop = max(request.i_start - pad, 0), min(request.i_stop + pad, n)
        raw = self.read_cached(read_start, read_stop, plan.inputs, cancelled)
        if raw is None:
            return None
        data = plan.combine(raw)
        filtered = False
        if display_filter is not None and (pad or display_filter.remove_dc):
            data = display_filter.apply(data, self.source.sampling_rate)
            filtered = filter_applies(display_filter)
        first = request.i_start - read_start
        stop = min(request.i_stop, n) - read_start
        data = data[first:max(stop, first)]
        bin_starts, mins, maxs = _decimate_full(data, request)
        return PageResult(request, bin_starts, mins, maxs, origin=ORIGIN_RAW, filtered=filtered)

    def _from_integers(self, request: PageRequest, plan: RowPlan,
                       display_filter: DisplayFilter | None) -> PageResult:
        """A page of channels as recorded, at most DC-removed: min/max of the stored
        integers, then only the bins scaled, and the mean removed from the bins (the same
        numbers as scaling every sample and removing its mean: a shift commutes with min
        and max). 11 -> 5 ms for a 10-s page of 64 channels at 2048 Hz."""
        stop = min(request.i_stop, self.source.n_samples)
        source = cast(RawSource, self.source)   # _raw_exact() said it is one
        raw = source.read_raw_block(request.i_start, stop, plan.inputs)
        gains, offsets = source.raw_scaling(plan.inputs)
        bin_starts, mins, maxs = minmax_decimate_raw(raw, request.factor, request.i_start, gains, offsets)
        if getattr(display_filter, "remove_dc", False) and len(raw):
            means = (raw.mean(axis=0, dtype=np.float64) * gains + offsets).astype(np.float32)
            mins, maxs = mins - means, maxs - means
        bin_starts, mins, maxs = _pad_bins(bin_starts, mins, maxs, request)
        return PageResult(request, bin_starts, mins, maxs, origin=ORIGIN_RAW, filtered=False)

    def _streamed(self, request: PageRequest, plan: RowPlan, display_filter: DisplayFilter | None,
                  cancelled: Cancelled) -> PageResult | None:
        n_inputs = max(len(plan.inputs), 1)
        chunk = max((2_000_000 // n_inputs) // request.factor, 1) * request.factor
        n_bins = request.n_samples // request.factor
        mins = np.full((n_bins, len(request.rows)), np.nan, dtype=np.float32)
        maxs = mins.copy()
        stop_at = min(request.i_stop, self.source.n_samples)
        reduce = self._reducer(plan)

        def part(start: int) -> None:
            if cancelled():
                return
            part_min, part_max = reduce(start, min(start + chunk, stop_at), request.factor)
            k = (start - request.i_start) // request.factor
            mins[k:k + len(part_min)] = part_min
            maxs[k:k + len(part_max)] = part_max

        # Reading (positional reads) and min/max (numpy) both release the interpreter
        # lock: two chunks at a time use both cores (300 s x 64 channels: 70 -> 40 ms).
        list(_streaming_pool().map(part, range(request.i_start, stop_at, chunk)))
        if cancelled():
            return None
        mins, maxs = _remove_dc_of_bins(mins, maxs, display_filter)
        bin_starts = np.arange(request.i_start, request.i_stop, request.factor, dtype=np.int64)
        return PageResult(request, bin_starts, mins, maxs, origin=ORIGIN_STREAMED, filtered=False)

    def _sampled(self, request: PageRequest, plan: RowPlan, display_filter: DisplayFilter | None,
                 cancelled: Cancelled) -> PageResult | None:
        """Each output bin from a short stretch at its start (see the module docstring).

        The stretches are gathered first and reduced together: one min/max per bin cost
        more than its read (1 hour x 64 channels, 1,600 bins: 99 ms through file views,
        65 ms through copies, 31 ms gathered; measured with ``benchmarks/bench_viewer.py``'s
        file)."""
        n_bins = request.n_samples // request.factor
        n_inputs = max(len(plan.inputs), 1)
        length = int(min(request.factor, max(self.sample_budget_values // max(n_bins * n_inputs, 1), 16)))
        n = self.source.n_samples
        starts = range(request.i_start, min(request.i_start + n_bins * request.factor, n), request.factor)
        on_codes = self._on_codes(plan)
        read = cast(RawSource, self.source).read_raw_block if on_codes else self.source.read_block
        stretches: np.ndarray | None = None
        for k, start in enumerate(starts):
            if k % 64 == 0 and cancelled():
                return None
            block = np.asarray(read(start, min(start + length, n), plan.inputs))
            if stretches is None:
                stretches = np.empty((len(starts), length, len(plan.inputs)), dtype=block.dtype)
            stretches[k, :len(block)] = block
            stretches[k, len(block):] = block[-1]   # the recording's last, short stretch
        mins = np.full((n_bins, len(request.rows)), np.nan, dtype=np.float32)
        maxs = mins.copy()
        if stretches is not None:
            flat = stretches.reshape(-1, len(plan.inputs))
            if on_codes:
                gains, offsets = cast(RawSource, self.source).raw_scaling(plan.inputs)
                _, low, high = minmax_decimate_raw(flat, length, 0, gains, offsets)
            else:
                _, low, high = minmax_decimate(plan.combine(flat), length, 0)
            mins[:len(low)], maxs[:len(high)] = low, high
        mins, maxs = _remove_dc_of_bins(mins, maxs, display_filter)
        bin_starts = np.arange(request.i_start, request.i_stop, request.factor, dtype=np.int64)
        return PageResult(request, bin_starts, mins, maxs, origin=ORIGIN_SAMPLED, filtered=False,
                          message="approximate: drawn from samples until the overview summary is built")

    def _reducer(self, plan: RowPlan) -> Reducer:
        return minmax_reader(self.source, plan, self._raw_exact())

    def _pending(self, request: PageRequest) -> PageResult:
        empty = np.empty((0, len(request.rows)), dtype=np.float32)
        return PageResult(request, np.empty(0, np.int64), empty, empty, origin=ORIGIN_PENDING,
                          message="this span is drawn from the overview summary, which is still being built")

    def _on_codes(self, plan: RowPlan) -> bool:
        """Whether ``plan``'s rows can be reduced on the stored integers (channels as
        recorded, stored exactly): only the bins are scaled then."""
        return plan.weights is None and self._raw_exact()

    def _raw_exact(self) -> bool:
        if self._raw_probe is None:
            self._raw_probe = raw_is_exact(self.source)
        return self._raw_probe

    # -- raw blocks ------------------------------------------------------------------------
    def read_cached(self, i_start: int, i_stop: int, inputs: tuple[int, ...],
                    cancelled: Cancelled = _never) -> np.ndarray | None:
        """Samples ``[i_start, i_stop)`` of ``inputs``, assembled from cached fixed blocks."""
        size = self.block_samples
        out = np.empty((max(i_stop - i_start, 0), len(inputs)), dtype=np.float32)
        filled = 0
        for block in range(i_start // size, -(-i_stop // size)):
            if cancelled():
                return None
            data = self._block(block, inputs)
            lo, hi = max(i_start - block * size, 0), min(i_stop - block * size, data.shape[0])
            out[filled:filled + max(hi - lo, 0)] = data[lo:hi]
            filled += max(hi - lo, 0)
        return out[:filled]

    def _block(self, block: int, inputs: tuple[int, ...]) -> np.ndarray:
        key = ("raw", inputs, block)
        cached = self.block_cache.get(key)
        if isinstance(cached, np.ndarray):
            return cached
        size = self.block_samples
        data = np.ascontiguousarray(self.source.read_block(block * size, (block + 1) * size, inputs),
                                    dtype=np.float32)
        self.block_cache.put(key, data)
        return data



def read_displayed(source: SignalSource, i_start: int, i_stop: int, rows: tuple[int, ...],
                   matrix: np.ndarray | None = None, display_filter: DisplayFilter | None = None) -> np.ndarray:
    """Samples ``[i_start, i_stop)`` of display ``rows`` at full resolution, as the viewer
    shows them: combined by the montage ``matrix`` (None: rows are channels) and passed
    through ``display_filter`` (read with its padding, so the edges are not distorted).

    Returns float32 ``(n_samples, len(rows))``. For measurements, spectra and exports of a
    span; the caller keeps spans bounded (it costs what it returns, plus the padding)."""
    n = source.n_samples
    i_start, i_stop = max(int(i_start), 0), min(int(i_stop), n)
    plan = plan_rows(matrix, tuple(rows))
    pad = 0
    if display_filter is not None and not getattr(display_filter, "is_identity", True):
        pad = int(display_filter.padding_samples(source.sampling_rate))
    read_start, read_stop = max(i_start - pad, 0), min(i_stop + pad, n)
    if read_stop <= read_start:
        return np.zeros((0, len(rows)), np.float32)
    raw = np.asarray(source.read_block(read_start, read_stop, plan.inputs), dtype=np.float32)
    data = plan.combine(raw)
    if display_filter is not None and (pad or getattr(display_filter, "remove_dc", False)):
        data = display_filter.apply(data, source.sampling_rate)
    first = i_start - read_start
    return np.ascontiguousarray(data[first:first + (i_stop - i_start)], dtype=np.float32)

_STREAMING_THREADS = 2
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _streaming_pool() -> ThreadPoolExecutor:
    """Threads that read and reduce the chunks of one long window together."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_STREAMING_THREADS, thread_name_prefix="tracemark-stream")
        return _pool


def raw_is_exact(source: SignalSource) -> bool:
    """Whether ``source`` offers stored values of at most 16 bits (exact as the float32
    that the min/max reduction works in)."""
    if not (source.n_samples > 0 and source.channel_names and isinstance(source, RawSource)):
        return False
    probe = source.read_raw_block(0, 1, [0])
    return probe.dtype.kind in "iu" and probe.dtype.itemsize <= 2


def minmax_reader(source: SignalSource, plan: RowPlan, raw_exact: bool) -> Reducer:
    """``reduce(i_start, i_stop, factor) -> (mins, maxs)`` for the rows of ``plan``: on the
    stored integers when the rows are channels as recorded and ``raw_exact``, else on
    physical values combined by the montage."""
    if plan.weights is None and raw_exact:
        stored = cast(RawSource, source)   # raw_exact: see raw_is_exact
        gains, offsets = stored.raw_scaling(plan.inputs)

        # A view of the file where the source offers one: reduced at once, never kept.
        read = getattr(stored, "read_raw_view", stored.read_raw_block)

        def reduce_raw(i_start: int, i_stop: int, factor: int) -> tuple[np.ndarray, np.ndarray]:
            raw = read(i_start, i_stop, plan.inputs)
            _, lo, hi = minmax_decimate_raw(raw, factor, i_start, gains, offsets)
            return lo, hi
        return reduce_raw

    def reduce_physical(i_start: int, i_stop: int, factor: int) -> tuple[np.ndarray, np.ndarray]:
        data = plan.combine(source.read_block(i_start, i_stop, plan.inputs))
        _, lo, hi = minmax_decimate(data, factor, i_start)
        return lo, hi
    return reduce_physical


def _remove_dc_of_bins(mins: np.ndarray, maxs: np.ndarray,
                       display_filter: DisplayFilter | None) -> tuple[np.ndarray, np.ndarray]:
    """DC removal for bins (no samples at hand): each row's mean bin centre is removed."""
    if getattr(display_filter, "remove_dc", False) and len(mins):
        with np.errstate(all="ignore"):
            centre = np.nanmean((mins + maxs) * 0.5, axis=0)
        centre = np.where(np.isfinite(centre), centre, 0.0).astype(np.float32)
        return mins - centre, maxs - centre
    return mins, maxs


def _decimate_full(data: np.ndarray, request: PageRequest) -> Bins:
    """Bins of the whole request; bins past the end of the recording are NaN."""
    return _pad_bins(*minmax_decimate(data, request.factor, request.i_start), request)


def _pad_bins(bin_starts: np.ndarray, mins: np.ndarray, maxs: np.ndarray, request: PageRequest) -> Bins:
    """Bins past the end of the recording added as NaN, so a page has all its bins."""
    n_bins = request.n_samples // request.factor
    if len(bin_starts) < n_bins:
        pad = n_bins - len(bin_starts)
        nan = np.full((pad, mins.shape[1]), np.nan, dtype=np.float32)
        mins, maxs = np.concatenate([mins, nan]), np.concatenate([maxs, nan])
        bin_starts = np.arange(request.i_start, request.i_stop, request.factor, dtype=np.int64)
    return bin_starts, mins, maxs


def _with_seconds(result: PageResult, seconds: float) -> PageResult:
    return PageResult(result.request, result.bin_starts, result.mins, result.maxs,
                      origin=result.origin, filtered=result.filtered, seconds=seconds,
                      message=result.message, bin_factor=result.bin_factor)
