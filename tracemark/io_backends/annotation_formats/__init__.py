"""Import and export of the marks a person made on a recording (an
:class:`~tracemark.domain.annotations.AnnotationState`) in the formats other tools read.

The public API, used by the command line and the import/export dialogs::

    FORMATS = ("bids", "edf", "csv", "mne", "nwb")
    guess_format(path) -> str
    export_annotations(state, path, fmt, info: RecordingInfo) -> list[Path]
    import_annotations(path, fmt=None, info=None) -> ImportedMarks
    import_changes(state, imported) -> list[FieldChange]
    AnnotationFormatError(path, problem, line=None)

=======  ===============================================  ===========================
format   files (export)                                   carries
=======  ===============================================  ===========================
bids     ``*_events.tsv`` + ``*_events.json`` +           marks, channel binding, bad
         ``*_channels.tsv`` beside it                     channels (with reasons)
edf      annotation-only EDF+ (as EDFbrowser writes)      marks, channels as ``@@``
csv      ``onset_s,duration_s,label,channels``            marks, channel binding
mne      ``mne.Annotations.save("x.txt")``'s text format  marks, ``ch_names``
nwb      a new NWB file with a ``TimeIntervals`` table    marks, channel binding
=======  ===============================================  ===========================

Onsets are seconds from the recording's first sample, in every format, and are written
as the shortest decimal that reads back exactly, so a round trip through any format
lands on the same sample at any rate. Files that state a start time (EDF+, MNE's
``orig_time``, NWB) are written with the recording's; on import, a file whose start
differs from the recording's (``info.start_time``) has its onsets shifted by the
difference (:attr:`ImportedMarks.time_shift_s`).

Every file is written through :mod:`tracemark.storage.atomic`: a failed export leaves no
half file, and an export never replaces the recording itself
(``RecordingInfo.source_path``). Every problem with a file, on either side, is an
:class:`AnnotationFormatError` naming the file (and the line, for a malformed row).
Each format's module says what it writes, what it reads, and what it cannot hold (MNE's
text format, for one, refuses labels with commas or non-ASCII characters, because
``mne.read_annotations`` cannot read them back).

Typical use, with an annotation store (or any AnnotationSink) ``sink``::

    with open_recording(recording) as opened:
        info = RecordingInfo.from_header(opened.header)
    written = export_annotations(sink.state, "sub-01_task-rest_events.tsv", "bids", info)
    imported = import_annotations("marks.csv", info=info)
    sink.commit(import_changes(sink.state, imported), note="import marks.csv")
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ...domain.annotations import (
    AnnotationError,
    AnnotationState,
    FieldChange,
    Label,
    add,
    apply,
    put_label,
    set_channel_bad,
)
from .bids import export_bids, import_bids
from .csv_table import export_csv, import_csv
from .edf_plus import export_edf, import_edf
from .mne_text import export_mne_text, import_mne_text
from .model import AnnotationFormatError, ImportedMarks, Mark, RecordingInfo, refuse_source
from .nwb_intervals import export_nwb, import_nwb

__all__ = [
    "FORMATS",
    "FORMAT_TITLES",
    "AnnotationFormatError",
    "ImportedMarks",
    "Mark",
    "RecordingInfo",
    "export_annotations",
    "guess_format",
    "import_annotations",
    "import_changes",
]

FORMATS = ("bids", "edf", "csv", "mne", "nwb")
#: What a file dialog shows for each format, with its file-name patterns.
FORMAT_TITLES = {
    "bids": "BIDS events.tsv (+ channels.tsv) (*.tsv)",
    "edf": "EDF+ annotations (*.edf *.bdf)",
    "csv": "CSV table (*.csv)",
    "mne": "MNE annotations text (*.txt)",
    "nwb": "NWB TimeIntervals (*.nwb)",
}
_BY_SUFFIX = {".tsv": "bids", ".edf": "edf", ".bdf": "edf", ".csv": "csv", ".txt": "mne", ".nwb": "nwb"}
#: Colours for labels an import brings that the label set does not have yet.
_IMPORTED_COLORS = ("#17becf", "#bcbd22", "#e377c2", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a")


def guess_format(path: str | Path) -> str:
    """The format a file name implies (``.tsv`` bids, ``.edf``/``.bdf`` edf, ``.csv``,
    ``.txt`` mne, ``.nwb``); AnnotationFormatError for any other suffix."""
    path = Path(path)
    fmt = _BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise AnnotationFormatError(path, f"cannot tell the annotation format from the suffix "
                                          f"{path.suffix or '(none)'!r}; name one of {', '.join(FORMATS)}")
    return fmt


def export_annotations(state: AnnotationState, path: str | Path, fmt: str | None,
                       info: RecordingInfo) -> list[Path]:
    """Write ``state``'s marks (and, for BIDS, the channel status) to ``path`` in ``fmt``
    (``None``: from the suffix); returns every file written."""
    path = Path(path)
    fmt = _checked_format(path, fmt)
    refuse_source(path, info)
    if not path.parent.is_dir():
        raise AnnotationFormatError(path, f"the folder {path.parent} does not exist")
    writers: dict[str, Callable[[], list[Path]]] = {
        "bids": lambda: export_bids(state, path, info),
        "edf": lambda: export_edf(state, path, info),
        "csv": lambda: export_csv(state, path),
        "mne": lambda: export_mne_text(state, path, info),
        "nwb": lambda: export_nwb(state, path, info),
    }
    try:
        return writers[fmt]()
    except OSError as exc:
        raise AnnotationFormatError(path, f"cannot be written: {exc.strerror or exc}") from None


def import_annotations(path: str | Path, fmt: str | None = None,
                       info: RecordingInfo | None = None) -> ImportedMarks:
    """The marks and bad channels ``path`` holds, on the recording's time axis (``info``
    gives its start time and channel names; without it no shift is made)."""
    path = Path(path)
    fmt = _checked_format(path, fmt)
    if not path.is_file():
        raise AnnotationFormatError(path, "no such file")
    readers: dict[str, Callable[[], ImportedMarks]] = {
        "bids": lambda: import_bids(path),
        "edf": lambda: import_edf(path, info),
        "csv": lambda: import_csv(path),
        "mne": lambda: import_mne_text(path, info),
        "nwb": lambda: import_nwb(path, info),
    }
    try:
        imported = readers[fmt]()
    except OSError as exc:
        raise AnnotationFormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    imported.path = path
    return imported


def import_changes(state: AnnotationState, imported: ImportedMarks) -> list[FieldChange]:
    """The changes that add ``imported`` to ``state``: new labels (without a key), every
    mark not already present (same onset, duration, label and channels, so importing a
    file twice adds nothing), and the bad channels. Commit them in one transaction."""
    changes: list[FieldChange] = []
    current = state
    new_labels = [name for name in imported.labels if name not in current.labels]
    for index, name in enumerate(new_labels):
        label_changes = put_label(current, Label(name, _IMPORTED_COLORS[index % len(_IMPORTED_COLORS)], ""))
        current = apply(current, label_changes)
        changes += label_changes
    # Each mark gets a fresh id and each channel appears once, so every change below
    # starts from ``current`` and they need not be applied one by one (which would copy
    # the state once per mark).
    present = {(a.onset_s, a.duration_s, a.label, a.channels) for a in current.annotations.values()}
    for onset, duration, label, channels in imported.marks:
        if (onset, duration, label, channels) in present:
            continue
        try:
            _, added = add(current, onset, duration, label, channels)
        except AnnotationError as exc:
            raise AnnotationFormatError(imported.path or Path(imported.fmt), str(exc)) from None
        present.add((onset, duration, label, channels))
        changes += added
    for channel, reason in imported.bad_channels.items():
        changes += set_channel_bad(current, channel, True, reason)
    return changes


def _checked_format(path: Path, fmt: str | None) -> str:
    if fmt is None:
        return guess_format(path)
    if fmt not in FORMATS:
        raise AnnotationFormatError(path, f"unknown annotation format {fmt!r}; known: {', '.join(FORMATS)}")
    return fmt
