"""Reads a trace cache into the analysis inputs the plot views draw: one ``TraceSet`` with
every trace's samples and the attributes the pictures depend on.

Only reads: the cache is opened read-only when a path is given, and an open ``CacheFile``
is only read. Traces of origins with different windows are placed in one frame (row
``samples_pre`` = each trace's event sample) and padded with NaN, so averages line up on the
event; origins must share sampling rate, channels and units, as ``tracemark cache merge``
requires.

After an edit the main window passes ``cache.get_trace_attrs(i)`` to each view's
``update_trace(i, attrs)``; nothing here needs to run again.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tracemark.analysis import TraceSet
from tracemark.analysis.traces import annotated_peaks, coords_or_nan
from tracemark.domain import trace_attributes as keys
from tracemark.domain.trace_attributes import is_rejected, is_reviewed, onset_shift_of
from tracemark.domain.trace_numbers import trace_label
from tracemark.io_backends.cache import CacheFile
from tracemark.io_backends.errors import TracemarkError


class PlotDataError(TracemarkError):
    """A cache cannot be drawn as asked. ``path`` is the cache, ``problem`` what is wrong."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def load_trace_set(cache: CacheFile | str | os.PathLike, attrs: list[dict] | None = None) -> TraceSet:
    """Every trace of ``cache`` (a path or an open CacheFile) as a TraceSet. ``attrs``, when
    given, are every trace's ``get_trace_attrs`` already read (the main window reads them
    once for its table and the plots)."""
    if not isinstance(cache, CacheFile):
        path = Path(cache)
        if not path.exists():
            raise PlotDataError(path, "does not exist")
        with CacheFile(path, mode="r") as opened:
            return load_trace_set(opened)
    if len(cache) == 0:
        raise PlotDataError(cache.path, "holds no traces")
    frame = _frame(cache)
    n = len(cache)
    data = np.full((n, frame.pre + frame.post, len(frame.labels)), np.nan, dtype=np.float32)
    columns: dict[str, list] = {key: [] for key in (
        "reject", "reviewed", "onset_shift", "intensity_mso", "xyz", "event_time_s",
        "annotated_ptp_uv", "annotated_latency_ms", "names")}
    channel_of_interest = None
    for index in range(n):
        trace_attrs = cache.get_trace_attrs(index) if attrs is None else attrs[index]
        origin = trace_attrs[keys.ORIGIN]
        pre = frame.origin_pre[origin]
        trace = np.asarray(cache.get_trace_data(index), dtype=np.float32)
        start = frame.pre - pre
        rows = min(trace.shape[0], data.shape[1] - start)
        data[index, start:start + rows] = trace[:rows]
        _collect(columns, trace_attrs, index, origin, len(cache.origins) > 1)
        channel_of_interest = channel_of_interest or _text(trace_attrs.get(keys.CHANNEL_OF_INTEREST))
    return TraceSet(data, frame.rate, frame.pre, frame.labels,
                    reject=np.array(columns["reject"], bool),
                    reviewed=np.array(columns["reviewed"], bool),
                    onset_shift=np.array(columns["onset_shift"], np.int64),
                    intensity_mso=np.array(columns["intensity_mso"], np.float64),
                    xyz=np.array(columns["xyz"], np.float64).reshape(n, 3),
                    event_time_s=np.array(columns["event_time_s"], np.float64),
                    annotated_ptp_uv=np.array(columns["annotated_ptp_uv"], np.float64),
                    annotated_latency_ms=np.array(columns["annotated_latency_ms"], np.float64),
                    names=tuple(columns["names"]), units="uV",
                    channel_of_interest=channel_of_interest)


class _Frame:
    def __init__(self, rate: float, labels: tuple[str, ...], origin_pre: dict[str, int],
                 pre: int, post: int):
        self.rate, self.labels, self.origin_pre, self.pre, self.post = rate, labels, origin_pre, pre, post


def _frame(cache: CacheFile) -> _Frame:
    rates, labels, pres, posts = set(), set(), {}, []
    for origin in cache.origins:
        attrs = cache.origin_attrs(origin)
        rate, pre, post = (attrs.get(keys.SAMPLING_RATE), attrs.get(keys.SAMPLES_PRE_EVENT),
                           attrs.get(keys.SAMPLES_POST_EVENT))
        if not isinstance(rate, float) or not isinstance(pre, int) or not isinstance(post, int):
            raise PlotDataError(cache.path, f"origin {origin!r} lacks a readable samplingrate, "
                                            f"samples_pre_event or samples_post_event")
        rates.add(rate)
        labels.add(tuple(attrs.get(keys.CHANNEL_LABELS) or ()))
        pres[origin] = pre
        posts.append(post)
    if len(rates) > 1 or len(labels) > 1:
        raise PlotDataError(cache.path, "its origins differ in sampling rate or channels, so "
                                        "their traces cannot be averaged together")
    channel_labels = labels.pop()
    if not channel_labels:
        raise PlotDataError(cache.path, "has no channel_labels")
    return _Frame(rates.pop(), channel_labels, pres, max(pres.values()), max(posts))


def _collect(columns: dict[str, list], attrs: dict, index: int, origin: str,
             several_origins: bool) -> None:
    columns["reject"].append(is_rejected(attrs))
    columns["reviewed"].append(is_reviewed(attrs))
    columns["onset_shift"].append(onset_shift_of(attrs))
    columns["intensity_mso"].append(_number(attrs.get(keys.STIMULATION_INTENSITY_MSO)))
    columns["xyz"].append(coords_or_nan(attrs.get(keys.XYZ_COORDS)))
    columns["event_time_s"].append(_number(attrs.get(keys.EVENT_TIME)))
    ptp, latency = annotated_peaks(attrs)
    columns["annotated_ptp_uv"].append(ptp)
    columns["annotated_latency_ms"].append(latency)
    # The stored ``id`` is the trace's 0-based index within its origin, named as such.
    local = attrs.get(keys.ID, "?")
    label = trace_label(index)
    columns["names"].append(f"{label} ({origin} index {local})" if several_origins else label)


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else np.nan


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def build_demo_cache(folder: str | os.PathLike, *, overwrite: bool = False,
                     out: str | os.PathLike | None = None) -> Path:
    """A cache of the demo session's EMG channels (50 ms before to 100 ms after each pulse)
    with each trace's stimulation intensity and coil position filled in from the demo's
    ground truth, as an annotator would enter them; for the README pictures and tests.

    The demo recording is in ``folder``; the cache is written to ``out`` (default: beside
    the recording) and names the recording in ``folder`` as its source."""
    import json

    from tracemark.demo import ensure_demo_files
    from tracemark.io_backends.cache import BuildSpec, build_cache

    folder = Path(folder)
    demo = ensure_demo_files(folder)
    trials = json.loads(demo.trials_json.read_text())["trials"]
    out = Path(out) if out is not None else folder / "tracemark-demo-meps.hdf5"
    if out.exists() and not overwrite:
        return out
    build_cache(demo.trc, out, BuildSpec(None, 0.05, 0.1, channels=["EMG", "EMG2"],
                                         event_source="trigger", readout="contralateral_mep",
                                         subject="demo"),
                overwrite=overwrite)
    with CacheFile(out) as cache:
        if len(cache) != len(trials):
            raise PlotDataError(out, f"has {len(cache)} traces for {len(trials)} demo pulses")
        with cache.batch(note="demo ground truth") as batch:
            for index, trial in enumerate(trials):
                batch.update(index, stimulation_intensity_mso=trial["intensity_mso"],
                             xyz_coords=list(trial["coil_xyz"]))
    return out
