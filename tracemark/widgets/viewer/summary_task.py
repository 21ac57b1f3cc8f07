"""The background work behind the overview: load or build one montage's min/max pyramid.

Runs on the summary builder's worker thread. The pyramid of a montage's outputs is
cached in :func:`tracemark.storage.summaries.summary_cache_dir` under the source identity
plus the montage's key, never beside the recording. Its base factor is chosen so the
pyramid stays within a fixed memory budget however long the recording is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from tracemark.dsp.decimate import choose_factor
from tracemark.dsp.summary import MinMaxPyramid, suggest_base_factor
from tracemark.paging.pipeline import minmax_reader, plan_rows, raw_is_exact
from tracemark.paging.priority import lower_os_priority_of_this_thread
from tracemark.paging.source import SignalSource
from tracemark.storage.summaries import load_summary, save_summary, summary_cache_path

from .overview import activity_image

#: Memory allowed for one pyramid; the finest level gets half of it.
PYRAMID_BUDGET_BYTES = 32 * 2**20
#: Columns of the overview activity map.
OVERVIEW_COLUMNS = 2048
#: Chunks reduced at once. Sources are safe to read from several threads, and the build
#: runs only while the person is not paging (or waits for it to see a long window), so it
#: may have both cores of a small machine: 1 hour x 64 channels, 456 -> 279 ms.
SUMMARY_WORKERS = 2


@dataclass(frozen=True)
class SummaryPayload:
    pyramid: MinMaxPyramid
    activity: np.ndarray  # (n_columns, n_rows) in [0, 1]
    activity_samples: int  # samples the activity columns span (>= the stream's length)
    from_cache: bool
    #: Saving a new pyramid, run by the builder after it is handed to the window: the
    #: write (35-55 ms for 1 hour x 64 channels) need not delay the exact whole-hour view.
    after_delivery: Callable[[], None] | None = None


def summary_identity(source: SignalSource, montage_key: str) -> str:
    return f"{source.identity}|montage={montage_key or 'as recorded'}"


def load_or_build(source: SignalSource, montage_key: str, matrix: np.ndarray | None,
                  progress: Callable[[float], None], cancelled: Callable[[], bool]) -> SummaryPayload | None:
    identity = summary_identity(source, montage_key)
    path = summary_cache_path(identity)
    pyramid = load_summary(path, expected_identity=identity)
    from_cache = pyramid is not None
    if pyramid is None:
        n_rows = len(source.channel_names) if matrix is None else matrix.shape[0]
        plan = plan_rows(matrix, tuple(range(n_rows)))

        def read_block(i_start: int, i_stop: int) -> np.ndarray:
            return plan.combine(source.read_block(i_start, i_stop, plan.inputs))

        base = suggest_base_factor(source.n_samples, n_rows, max_bytes=PYRAMID_BUDGET_BYTES)
        chunk = max((8 * 2**20) // (4 * max(len(plan.inputs), 1)) // base, 1) * base
        # Rows that are channels as recorded are reduced on their stored integers.
        reduce = minmax_reader(source, plan, raw_is_exact(source)) if matrix is None else None
        pyramid = MinMaxPyramid.build(read_block, source.n_samples, n_rows, base_factor=base,
                                      chunk_samples=chunk, progress=progress, cancelled=cancelled,
                                      identity=identity, read_minmax=reduce, workers=SUMMARY_WORKERS,
                                      worker_setup=lower_os_priority_of_this_thread)
        if pyramid is None:
            return None
    activity, factor = overview_activity(pyramid)
    save = None if from_cache else partial(_save_quietly, pyramid, path)
    return SummaryPayload(pyramid, activity, activity.shape[0] * factor, from_cache, save)


def _save_quietly(pyramid: MinMaxPyramid, path) -> None:
    try:
        save_summary(pyramid, path)
    except OSError:
        pass  # a cache that cannot be written only costs a rebuild next time


def overview_activity(pyramid: MinMaxPyramid) -> tuple[np.ndarray, int]:
    factor = max(choose_factor(pyramid.n_samples, OVERVIEW_COLUMNS), pyramid.factors[0])
    while not pyramid.covers(factor):
        factor *= 2
    _, mins, maxs = pyramid.query(0, pyramid.n_samples, factor)
    return activity_image(mins, maxs), factor
