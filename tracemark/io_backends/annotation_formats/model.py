"""What every interchange format shares: the recording facts an export needs
(:class:`RecordingInfo`), what an import gives back (:class:`ImportedMarks`), the typed
error (:class:`AnnotationFormatError`) and the small rules each format applies the same
way (number text, label checks, aligning another file's start time with the recording's).

Plain Python; imports nothing of Tracemark but the annotation model and the error base.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ...domain.annotations import AnnotationError, checked_name
from ..errors import TracemarkError
from ..protocol import RecordingHeader

#: One mark as the formats carry it: ``(onset_s, duration_s, label, channels)``, onset in
#: seconds from the recording's first sample.
Mark = tuple[float, float, str, tuple[str, ...]]


class AnnotationFormatError(TracemarkError):
    """An annotation file that cannot be read or written: ``path`` is the file, ``problem``
    what is wrong, ``line`` (1-based) the row at fault when there is one."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None):
        self.path = Path(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}: line {line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class RecordingInfo:
    """The facts about the annotated recording that an export needs and an import uses to
    place another file's times on the recording's axis."""

    channel_names: tuple[str, ...] = ()
    #: One per channel, Tracemark's vocabulary (``eeg``, ``emg``, ``stim``, ...).
    channel_types: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    #: Samples per second; ``None`` when unknown (then no ``sample`` column is written).
    sampling_rate: float | None = None
    #: Wall-clock time of the first sample; ``None`` when the recording does not say.
    start_time: datetime | None = None
    duration_s: float | None = None
    #: The recording file itself, so that no export ever replaces it.
    source_path: Path | None = None

    def __post_init__(self) -> None:
        n = len(self.channel_names)
        for name, values in (("channel types", self.channel_types), ("units", self.units)):
            if values and len(values) != n:
                raise ValueError(f"{len(values)} {name} for {n} channels")

    @classmethod
    def from_header(cls, header: RecordingHeader, stream: int | str | None = None) -> RecordingInfo:
        """The info of one stream of an open recording (default: the stream a viewer
        opens first); a recording without streams gives its start time and path only."""
        if not header.streams:
            return cls(start_time=header.start_datetime, source_path=Path(header.path))
        chosen = header.stream(header.main_stream_index() if stream is None else stream)
        return cls(channel_names=tuple(chosen.channel_names), channel_types=tuple(chosen.channel_types),
                   units=tuple(chosen.units), sampling_rate=float(chosen.sampling_rate),
                   start_time=header.start_datetime, duration_s=float(header.duration_s),
                   source_path=Path(header.path))


@dataclass
class ImportedMarks:
    """What an annotation file holds, on the recording's time axis."""

    marks: list[Mark] = field(default_factory=list)
    #: Channel name -> reason ("" when none was given).
    bad_channels: dict[str, str] = field(default_factory=dict)
    #: Labels in the order first seen.
    labels: list[str] = field(default_factory=list)
    #: Seconds added to the file's onsets to put them on the recording's axis (non-zero
    #: when the file states a start time other than the recording's).
    time_shift_s: float = 0.0
    #: The format read, and the file it was read from.
    fmt: str = ""
    path: Path | None = None

    def add(self, onset_s: float, duration_s: float, label: str, channels: tuple[str, ...] = ()) -> None:
        self.marks.append((onset_s + self.time_shift_s, duration_s, label, channels))
        if label not in self.labels:
            self.labels.append(label)


def number_text(value: float) -> str:
    """The shortest text that reads back as exactly ``value``: no onset moves by a rounding
    of its text, so a round trip lands on the same sample at any rate."""
    return repr(float(value))


def parse_seconds(text: str, what: str, path: Path, line: int | None, *, allow_negative: bool) -> float:
    """``text`` as finite seconds, or AnnotationFormatError naming the file and line."""
    try:
        value = float(text.strip())
    except ValueError:
        raise AnnotationFormatError(path, f"{what} {text.strip()!r} is not a number of seconds", line) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise AnnotationFormatError(path, f"{what} {text.strip()!r} is not a finite number", line)
    if value < 0 and not allow_negative:
        raise AnnotationFormatError(path, f"{what} {value!r} is negative", line)
    return value


def checked_label(text: str, path: Path, line: int | None) -> str:
    try:
        return checked_name(text, "label")
    except AnnotationError as exc:
        raise AnnotationFormatError(path, str(exc), line) from None


def checked_channel(text: str, path: Path, line: int | None) -> str:
    try:
        return checked_name(text, "channel name")
    except AnnotationError as exc:
        raise AnnotationFormatError(path, str(exc), line) from None


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive time is taken as UTC already (as MNE takes EDF times)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def start_shift_s(file_start: datetime | None, info: RecordingInfo | None) -> float:
    """Seconds to add to a file's onsets (relative to ``file_start``) to make them relative
    to the recording's first sample; 0 when either start is unknown."""
    if file_start is None or info is None or info.start_time is None:
        return 0.0
    recording_start = info.start_time
    if (file_start.tzinfo is None) != (recording_start.tzinfo is None):
        file_start, recording_start = as_utc(file_start), as_utc(recording_start)
    return (file_start - recording_start).total_seconds()


def refuse_source(path: Path, info: RecordingInfo) -> None:
    """Never let an export replace the recording it annotates."""
    if info.source_path is None:
        return
    try:
        same = path.resolve() == Path(info.source_path).resolve()
    except OSError:
        same = False
    if same:
        raise AnnotationFormatError(path, "this is the recording itself; annotations are exported "
                                          "to a new file, never into the source")
