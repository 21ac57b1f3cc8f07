"""What to export from a recording, wired from the viewer's pieces to the segment writer.

:func:`build_segment` turns a span, display rows and (optionally) a montage and display
filter into a :class:`~tracemark.io_backends.segment_export.Segment`, the Qt-free job the
writer runs. Rows are read *as displayed* through the viewer's own
:func:`~tracemark.paging.pipeline.read_displayed` (montage, then filter, read
with the filter's padding so chunk edges are clean), or *raw*: channels as recorded, in
physical units, unfiltered. The viewer's per-page DC removal is a display aid, not part
of the signal: an export never removes it (a mean per chunk would put steps at the chunk
edges). Used by the window's Export segment… and by ``tracemark export``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from tracemark.io_backends.segment_export import Annotation, ExportError, Segment
from tracemark.paging.pipeline import read_displayed
from tracemark.widgets.viewer.rows import row_units


def build_segment(source, start_s: float, stop_s: float, rows: Sequence[int], *, output,
                  montage=None, display_filter=None, row_labels: Sequence[str] | None = None,
                  annotations: Sequence[Annotation] | None = None, bad_channels: Sequence[str] = ()) -> Segment:
    """The segment ``[start_s, stop_s)`` of display ``rows`` of ``source``.

    ``montage`` None means the channels as recorded (``rows`` index them); with a montage,
    ``rows`` index its derivations, with ``bad_channels`` left out of its average reference
    as the viewer shows it. ``annotations`` default to the source's events
    (user annotations can be passed instead or added). ``output`` is only named in errors.
    """
    rate = source.sampling_rate
    if not (math.isfinite(start_s) and math.isfinite(stop_s)) or stop_s <= start_s:
        raise ExportError(output, f"the span {start_s:g}–{stop_s:g} s is empty; the stop must follow the start")
    duration = source.n_samples / rate
    if start_s < 0 or start_s >= duration:
        raise ExportError(output, f"start {start_s:g} s is outside the recording (0–{duration:g} s)")
    i_start = math.floor(start_s * rate + 1e-9)
    i_stop = min(math.ceil(stop_s * rate - 1e-9), source.n_samples)
    matrix = None if montage is None else montage.matrix(source.channel_names, exclude=tuple(bad_channels))
    labels = list(row_labels) if row_labels is not None else (
        list(source.channel_names) if montage is None else [d.label for d in montage.derivations])
    units = row_units(source, montage)
    rows = tuple(int(r) for r in rows)
    if not rows:
        raise ExportError(output, "no channels chosen to export")
    shaping = None if display_filter is None or display_filter.is_identity else replace(
        display_filter, remove_dc=False)
    if shaping is not None and shaping.is_identity:
        shaping = None
    if shaping is not None:
        try:
            shaping.validate(rate)
        except ValueError as error:
            raise ExportError(output, str(error)) from None
    prefilter = _edf_prefilter(shaping)
    events = annotations if annotations is not None else [(e.time_s, e.duration_s, e.label)
                                                          for e in source.events()]
    return Segment(
        read=lambda a, b: read_displayed(source, a, b, rows, matrix, shaping),
        labels=tuple(labels[r] for r in rows), units=tuple(units[r] for r in rows),
        sampling_rate=rate, i_start=i_start, i_stop=i_stop,
        start_datetime=source.start_datetime, annotations=tuple(events),
        prefilters=tuple(prefilter for _ in rows))


def _edf_prefilter(display_filter) -> str:
    """EDF's prefiltering field for the filter applied on export (``HP:0.5Hz LP:70Hz``)."""
    if display_filter is None:
        return ""
    parts = []
    if display_filter.highpass_hz is not None:
        parts.append(f"HP:{display_filter.highpass_hz:g}Hz")
    if display_filter.lowpass_hz is not None:
        parts.append(f"LP:{display_filter.lowpass_hz:g}Hz")
    if display_filter.notch_hz is not None:
        parts.append(f"N:{display_filter.notch_hz:g}Hz")
    return " ".join(parts)
