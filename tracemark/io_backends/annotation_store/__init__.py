"""The annotation file: a person's marks on one recording (events, spans, labels, bad
channels), kept with the trace cache's crash-safe machinery.

:func:`open_annotations` opens (or creates) the file of a recording and returns an
:class:`AnnotationStore`, the :class:`~tracemark.domain.annotations.AnnotationSink` that
the viewer and the command line commit changes through. :func:`recording_key` is what
ties a file to its recording; :func:`default_annotation_path` is where the file lives
unless the person picks another place. Modules: :mod:`.keys` (keys and places),
:mod:`.records` (changes as journal records, and folding them into a state),
:mod:`.store` (the store), :mod:`.errors`. The source recording is only ever read.

No Qt.
"""

from .errors import AnnotationFileError, AnnotationLockedError, AnnotationReadOnlyError
from .keys import SUFFIX, default_annotation_path, recording_key
from .records import HistoryEntry
from .store import AnnotationStore, open_annotations

__all__ = [
    "SUFFIX", "AnnotationFileError", "AnnotationLockedError", "AnnotationReadOnlyError",
    "AnnotationStore", "HistoryEntry", "default_annotation_path", "open_annotations",
    "recording_key",
]
