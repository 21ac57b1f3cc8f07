"""Marks as an annotation-only EDF+ file, as EDFbrowser's "export annotations" writes: an
EDF+C file whose one signal is ``EDF Annotations``, with a data-record duration of 0
(the EDF+ specification allows it for files without ordinary signals).

Written and read with edfio: it writes annotation-only files as the specification asks,
formats each onset as the shortest decimal that reads back exactly, and is what the
tests' reference readers (edfio, ``mne.read_annotations``) agree with. The project's own
streaming writer (:mod:`..edf_writer`) needs at least one ordinary signal and was made
for recordings, not for a list of marks.

* The header's start date and time (to the microsecond, through the first record's
  time-keeping TAL) are the recording's (in UTC when the recording's start has a zone),
  so onsets are the recording's onsets. With a sub-second start edfio rounds the TAL
  onsets to 1e-12 s, far below a sample. A start
  outside EDF's years 1985..2084, or none, is written as EDF+'s anonymous ``X`` date.
* A mark bound to channels becomes one TAL per channel, ``label@@channel``, as MNE's EDF
  export writes them and ``mne.io.read_raw_edf`` joins them back; import joins them too.
* Bad channels have no place in EDF+ and are not written.

Import reads any EDF+/BDF+ file with annotations (a full recording too): its onsets are
shifted by the difference between its start and the recording's when both are known.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import edfio

from ...domain.annotations import AnnotationState
from ...storage import atomic
from .model import AnnotationFormatError, ImportedMarks, RecordingInfo, as_utc, checked_label, start_shift_s

#: Joins a label and the channel it is bound to in one EDF+ annotation text (MNE's way).
CHANNEL_MARK = "@@"
_EDF_YEARS = range(1985, 2085)
_PLACEHOLDER = "tracemark: no marks"


def export_edf(state: AnnotationState, path: Path, info: RecordingInfo) -> list[Path]:
    annotations: list[edfio.EdfAnnotation] = []
    for annotation in state.sorted_annotations():
        duration = annotation.duration_s if annotation.duration_s > 0 else None
        texts = ([f"{annotation.label}{CHANNEL_MARK}{name}" for name in annotation.channels]
                 or [annotation.label])
        annotations.extend(edfio.EdfAnnotation(annotation.onset_s, duration, text) for text in texts)
    start = _edf_start(info)
    try:
        # edfio builds no file without signals or annotations, so an empty list of marks is
        # written as one placeholder, dropped again before writing
        edf = edfio.Edf([], recording=edfio.Recording(startdate=start.date() if start else None),
                        starttime=start.time() if start else None,
                        annotations=annotations or [edfio.EdfAnnotation(0.0, None, _PLACEHOLDER)])
        if not annotations:
            edf.drop_annotations(_PLACEHOLDER)
        with atomic.Replacement(path) as replacement:
            edf.write(replacement.temporary)
    except (ValueError, UnicodeError) as exc:
        raise AnnotationFormatError(path, f"cannot be written as EDF+: {exc}") from None
    return [path]


def import_edf(path: Path, info: RecordingInfo | None) -> ImportedMarks:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # edfio warns on header quirks it reads past
            reader = edfio.read_bdf if path.suffix.lower() == ".bdf" else edfio.read_edf
            edf = reader(path)
            found = edf.annotations
            start = _start(edf)
    except FileNotFoundError:
        raise AnnotationFormatError(path, "no such file") from None
    except Exception as exc:  # edfio raises bare ValueErrors and others on damaged headers
        raise AnnotationFormatError(path, f"not a readable EDF+/BDF+ file: {exc}") from None
    if not str(edf.reserved).startswith(("EDF+", "BDF+")):
        raise AnnotationFormatError(path, "a plain EDF/BDF file, not EDF+/BDF+: it holds no annotations")
    imported = ImportedMarks(fmt="edf", time_shift_s=start_shift_s(start, info))
    known_channels = set(info.channel_names) if info is not None and info.channel_names else None
    bound: dict[tuple[float, float, str], list[str]] = {}
    for annotation in found:
        text, channel = annotation.text, ""
        if CHANNEL_MARK in text:
            head, _, tail = text.rpartition(CHANNEL_MARK)
            if head.strip() and tail and (known_channels is None or tail in known_channels):
                text, channel = head, tail
        if not text.strip():
            continue
        key = (float(annotation.onset), float(annotation.duration or 0.0), checked_label(text, path, None))
        if channel:
            names = bound.setdefault(key, [])
            if channel not in names:
                names.append(channel)
        else:
            imported.add(*key)
    for (onset, duration, label), names in bound.items():
        imported.add(onset, duration, label, tuple(names))
    imported.marks.sort()
    return imported


def _edf_start(info: RecordingInfo) -> dt.datetime | None:
    """The recording's start as an EDF header holds it (naive), or None when it cannot."""
    start = info.start_time
    if start is None:
        return None
    if start.tzinfo is not None:  # EDF has no time zone: UTC, as MNE writes and reads EDF
        start = as_utc(start).replace(tzinfo=None)
    return start if start.year in _EDF_YEARS else None


def _start(edf: edfio.Edf | edfio.Bdf) -> dt.datetime | None:
    try:
        return edf.startdatetime
    except ValueError:  # anonymised ("Startdate X") or unreadable date: no wall-clock start
        return None
