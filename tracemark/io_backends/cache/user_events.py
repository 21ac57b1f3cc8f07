"""The person's own annotations (:mod:`tracemark.domain.annotations`) as events a cache build
cuts traces around, chosen by label: a missed TMS pulse marked by hand becomes a trace.

* A point event's time is its onset; so is a **span's**: a span's onset is its event time
  (its duration and the channels it is bound to play no part in the cut).
* Onsets count seconds from the first sample of the stream the viewer shows, which is the
  stream traces are cut from, so the build places a mark at sample
  ``round(onset_s * sampling_rate)`` of that stream (:func:`.build.build_cache`).
* The events returned carry the source :data:`USER_ANNOTATIONS`; the build records which
  traces came from them in the origin attribute ``user_annotation_traces``.

Plain Python over the domain model: reading the annotation file is the caller's part
(``tracemark.io_backends.annotation_store.open_annotations``).
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from tracemark.domain.annotations import AnnotationState
from tracemark.io_backends.protocol import Event

from .errors import CacheValueError

#: The source of events that a person marked, as the build and the dialog name it.
USER_ANNOTATIONS = "user annotations"


def label_matches(label: str, patterns: Sequence[str]) -> bool:
    """Whether ``label`` is one of ``patterns``, exactly or as a shell pattern (``TMS*``)."""
    return any(label == p or fnmatch.fnmatchcase(label, p) for p in patterns)


def annotation_label_counts(state: AnnotationState) -> Counter[str]:
    """How many annotations carry each label (labels without annotations are absent)."""
    return Counter(a.label for a in state.annotations.values())


def events_from_annotations(state: AnnotationState, labels: Sequence[str],
                            path: str | Path | None = None) -> list[Event]:
    """Every annotation of ``state`` whose label is one of ``labels`` (exact, or a shell
    pattern), as an :class:`Event` at its onset with source :data:`USER_ANNOTATIONS`,
    in time order.

    A label (or pattern) that no annotation carries raises :class:`CacheValueError` naming
    ``path`` (the annotation file, when there is one) and the labels that are in use, so a
    mistyped label never yields a cache silently short of traces.
    """
    wanted = [label.strip() for label in labels if label.strip()]
    if not wanted:
        raise CacheValueError(path, "no annotation label given to cut traces around")
    counts = annotation_label_counts(state)
    unknown = [p for p in wanted if not any(label_matches(label, [p]) for label in counts)]
    if unknown:
        in_use = ", ".join(f"{label} ({n})" for label, n in sorted(counts.items())) or "none"
        raise CacheValueError(path, f"no annotation is labelled {', '.join(map(repr, unknown))}; "
                                    f"the labels in use are: {in_use}")
    return [Event(a.onset_s, a.duration_s, a.label, USER_ANNOTATIONS)
            for a in state.sorted_annotations() if label_matches(a.label, wanted)]
