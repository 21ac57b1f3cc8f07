"""``tracemark cache``: build, inspect, edit, export and merge trace cache files headless.

``set`` exits 0 only after the edit is durable (journal fsync'd); it then checkpoints the
edit into the HDF5 file on close. Any refused value prints one line and leaves the file
unchanged (exit 1, via :mod:`tracemark.app.cli`). So does a key that is neither in the
schema nor already on a trace of the cache, which is far more often a typo than a new
attribute: ``--new-key`` creates it. Once the edit is saved the command succeeds (exit 0)
even when its report cannot be printed (:func:`tracemark.app.cli_output.report`); so do
``build`` and ``merge`` once their output is in place.

Outputs (``export -o``, ``merge -o``, ``build -o``) must go into an existing folder; a
missing folder is reported, not created, so that a mistyped path never scatters files.

``build --from-annotations LABEL ...`` also cuts around the person's own marks of those
labels, read (never written) from each recording's annotation file, or from the file
``--annotations`` names: a missed pulse marked by hand becomes a trace. A span's onset is
its event time. A label no mark carries is refused, naming the labels in use.

Traces are addressed and printed by their 0-based *index* (the cache's global index, as in
the Python API), never as a "trace number": the window numbers traces from 1. ``peek``
ends its summary with the review counts, told as the window tells them
(:meth:`tracemark.domain.review.ReviewCounts.describe`), and names each trace it lists
with its review state.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import re
import shutil
import sys
import types
from collections.abc import Iterable
from pathlib import Path

from tracemark.app import cli_agreement
from tracemark.app.cli_output import report
from tracemark.domain.review import ReviewCounts, review_state
from tracemark.domain.trace_attributes import CACHE_FILE, CACHE_FILE_INDEX, attribute_problems
from tracemark.io_backends.cache import (
    BuildSpec,
    CacheError,
    CacheFile,
    CacheValueError,
    CheckpointError,
    build_cache,
    events_from_annotations,
    export_table,
    merge_caches,
    schema,
)
from tracemark.io_backends.protocol import Event

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|us)?\s*$")


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    peek = actions.add_parser("peek", help="summary of a cache, or the attributes of traces")
    peek.add_argument("file")
    peek.add_argument("indexes", nargs="*", help="trace indexes (from 0), e.g. 3 or 0-4,9")
    peek.add_argument("--history", action="store_true", help="print the change log")
    peek.add_argument("--raw", action="store_true", help="show stored strings, not typed values")

    edit = actions.add_parser("set", help="set attributes of traces (one transaction)")
    edit.add_argument("file")
    edit.add_argument("indexes", help="trace index (from 0), or several: 0-4,9")
    edit.add_argument("assignments", nargs="+", metavar="key=value")
    edit.add_argument("--wait", type=wait_seconds, default=0.0, metavar="SECONDS",
                      help="wait this long for another writer to close the file")
    edit.add_argument("--note", default="", help="note stored with the change in the log")
    edit.add_argument("--new-key", action="store_true",
                      help="allow keys that are neither in the schema nor already in the "
                           "cache (without it such a key is refused as a likely typo)")

    export = actions.add_parser("export", help="write attributes as CSV/TSV, one row per trace")
    export.add_argument("file")
    export.add_argument("-o", "--output", help="output file (default: standard output)")
    export.add_argument("--format", choices=("csv", "tsv"),
                        help="default: from the output suffix, else csv")

    merge = actions.add_parser("merge", help="merge caches with the same readout, rate, channels")
    merge.add_argument("sources", nargs="+")
    merge.add_argument("-o", "--output", required=True)
    merge.add_argument("--force", action="store_true", help="overwrite the output")

    build = actions.add_parser("build", help="cut one trace per event from recordings")
    build.add_argument("recordings", nargs="+", metavar="RECORDING")
    build.add_argument("--events", action="append",
                       help="label or shell pattern of the recording's events (repeatable)")
    build.add_argument("--from-annotations", nargs="+", metavar="LABEL",
                       help="also cut around your own annotations of these labels (or shell "
                            "patterns); a span's onset is its event time")
    build.add_argument("--annotations", metavar="FILE",
                       help="the annotation file to read them from (default: the recording's "
                            "own, in your data folder; one recording only)")
    build.add_argument("--pre", required=True, type=_duration, help="e.g. 100ms or 0.1s")
    build.add_argument("--post", required=True, type=_duration, help="e.g. 400ms")
    build.add_argument("--channels", nargs="+", help="channel names (default: all)")
    build.add_argument("--stream", default="0", help="stream index or name (default: 0)")
    build.add_argument("--source", dest="event_source", help="only events of this source")
    build.add_argument("--readout", default="generic", choices=sorted(schema.READOUTS))
    build.add_argument("--subject", default="")
    build.add_argument("--examiner", default="")
    build.add_argument("-o", "--output", required=True)
    build.add_argument("--force", action="store_true", help="overwrite the output")
    build.add_argument("--no-progress", action="store_true")

    cli_agreement.configure(actions)
    _rater_actions().configure(actions, wait_seconds)


def run(args: argparse.Namespace) -> int:
    if args.action == "agreement":
        return cli_agreement.run(args)
    if args.action in _rater_actions().ACTIONS:
        return _rater_actions().run(args)
    return {"peek": _peek, "set": _set, "export": _export, "merge": _merge,
            "build": _build}[args.action](args)


def _rater_actions() -> types.ModuleType:
    """``raters``, ``rate``, ``finish``, ``adjudicate``: imported here, not at the top, since
    that module reuses this one's parsing of indexes and key=value."""
    from tracemark.app import cli_raters

    return cli_raters


def wait_seconds(text: str) -> float:
    """``--wait SECONDS``: a number of seconds >= 0 (every command that may wait for a writer)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value


def _duration(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 100ms or 0.4s")
    scale = {"ms": 1e-3, "us": 1e-6, "s": 1.0, None: 1.0}[match.group(2)]
    return float(match.group(1)) * scale


def parse_indexes(text: str, n: int) -> list[int]:
    """'3', '0-4,9' -> indexes; a clear error for anything else."""
    indexes: list[int] = []
    for part in text.split(","):
        part = part.strip()
        bounds = part.split("-")
        if not part or len(bounds) > 2 or not all(b.strip().isdigit() for b in bounds):
            raise CacheValueError(None, f"{text!r} is not a trace index list like 3 or 0-4,9")
        lo, hi = int(bounds[0]), int(bounds[-1])
        if hi < lo:
            raise CacheValueError(None, f"{part!r} runs backwards; write it as {hi}-{lo}")
        indexes.extend(range(lo, hi + 1))
    return indexes


def _assignments(items: list[str]) -> dict[str, str]:
    values = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CacheValueError(None, f"{item!r} is not key=value")
        values[key.strip()] = value
    return values


def _peek(args) -> int:
    with CacheFile(args.file, mode="r") as cache:
        if args.history:
            for record in cache.history():
                target = f" of {record.target[:8]}" if record.target else ""
                print(f"#{record.seq} {record.time} {record.user}@{record.host} "
                      f"{record.kind}{target} {record.tx[:8]}")
                for change in record.changes:
                    index = cache.index_of(change.origin, change.trace)
                    print(f"    index {index} {change.key}: {change.old!r} -> {change.new!r}")
            return 0
        if not args.indexes:
            print(cache.summary())
            counts, unreadable = review_counts(cache)
            print(f"review: {counts.describe()}")
            if unreadable:
                print(f"unreadable values: {len(unreadable)} traces hold a reject, reviewed or "
                      f"onset_shift nobody can read (read as not rejected, unreviewed, 0), "
                      f"first index {unreadable[0]}; see cache peek")
            return 0
        for text in args.indexes:
            for index in parse_indexes(text, len(cache)):
                attrs = cache.get_trace_attrs(index)
                state = review_state(attrs)          # from the decoded values, even with --raw
                attrs = cache.get_trace_attrs_raw(index) if args.raw else attrs
                print(f"index {index} ({'/'.join(cache.trace_origin(index))}): {state}")
                for problem in attribute_problems(cache.get_trace_attrs(index)):
                    print(f"    problem: {problem}")
                for key, value in attrs.items():
                    if key not in (CACHE_FILE, CACHE_FILE_INDEX):
                        print(f"    {key:28s} {value!r}")
    return 0


def review_counts(cache: CacheFile) -> tuple[ReviewCounts, list[int]]:
    """Accepted, rejected and unreviewed traces of ``cache``, from the decoded attributes,
    and the indexes of traces holding a value the rules cannot read (``attribute_problems``).
    A trace whose attributes cannot be read counts as unreviewed, as in the window."""
    def attrs(index: int) -> dict:
        try:
            return cache.get_trace_attrs(index)
        except CacheError:
            return {}
    every = [attrs(i) for i in range(len(cache))]
    unreadable = [i for i, trace in enumerate(every) if attribute_problems(trace)]
    return ReviewCounts.of_attrs(every), unreadable


def _set(args) -> int:
    values = _assignments(args.assignments)
    lines: list[str] | None = None
    try:
        with CacheFile(args.file, mode="w", lock_timeout=args.wait) as cache:
            indexes = parse_indexes(args.indexes, len(cache))
            if not args.new_key:
                _refuse_unknown_keys(cache, values, indexes)
            record = cache.apply_edits([(i, values) for i in indexes], note=args.note)
            lines = ["nothing changed"] if record is None else [
                f"index {cache.index_of(c.origin, c.trace)} {c.key}: {c.old!r} -> {c.new!r}"
                for c in record.changes]
    except CheckpointError as error:
        if lines is None:
            raise
        # Raised by close(), after the edit was acknowledged: it is safe in the journal.
        print(f"tracemark: warning: {error}", file=sys.stderr)
    report(lines, done="the edit is saved")
    return 0


def _refuse_unknown_keys(cache: CacheFile, keys: Iterable[str], indexes: list[int]) -> None:
    """Refuse a key that is neither in the schema nor on any trace of ``cache``.

    Only such keys cost a look through the cache, one column read per key
    (:meth:`CacheFile.load_only`: 3.5 s for a 5,000-trace cache without an attribute table
    on this loaded machine, against 25 s reading every trace's attributes).
    """
    unknown = sorted({key for key in keys if key not in schema.ALL_KEYS})
    if not unknown:
        return
    stored = cache.load_only(unknown, raw=True)
    absent = [key for key in unknown if all(value is None for value in stored[key])]
    if absent:
        key = absent[0]
        known = set(schema.TRACE_KEYS).union(cache.get_trace_attrs_raw(indexes[0]))
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise CacheValueError(cache.path, f"{key!r} is not an attribute of its traces{hint}; "
                                          f"add --new-key to create it; nothing was written")


def _export(args) -> int:
    fmt = args.format or ("tsv" if (args.output or "").lower().endswith(".tsv") else "csv")
    delimiter = "\t" if fmt == "tsv" else ","
    output = _output_path(args.output) if args.output else None
    with CacheFile(args.file, mode="r") as cache:
        if output is None:
            export_table(cache, None, delimiter=delimiter)
            return 0
        rows = _export_to_file(cache, output, delimiter)
    print(f"{rows} rows written to {output}", file=sys.stderr)
    return 0


def _export_to_file(cache: CacheFile, output: Path, delimiter: str) -> int:
    """Write the table into ``output``; a file this call created is removed if that fails.
    Written in place, not renamed into place, so that ``-o /dev/stdout`` works."""
    created = not output.exists()
    try:
        with open(output, "w", newline="", encoding="utf-8") as handle:
            return export_table(cache, handle, delimiter=delimiter)
    except OSError as error:
        if created and output.is_file():
            output.unlink()
        raise CacheError(output, f"cannot be written ({error.strerror or error})") from None


def _output_path(text: str) -> Path:
    """The file an output option names, refused at once (before any work) when it is a
    folder or its folder does not exist."""
    output = Path(text).expanduser()
    if output.is_dir():
        raise CacheError(output, "is a folder; give the name of a file to write")
    if not output.parent.is_dir():
        what = "is not a folder" if output.parent.exists() else "does not exist"
        raise CacheError(output, f"cannot be written: the folder {output.parent} {what}")
    if not os.access(output.parent, os.W_OK):
        raise CacheError(output, f"cannot be written: the folder {output.parent} is not "
                                 f"writable")
    return output


def _merge(args) -> int:
    output = _output_path(args.output)
    try:
        out = merge_caches(args.sources, output, overwrite=args.force)
    except OSError as error:  # the sources are read as caches, with typed errors: a write
        raise CacheError(output, f"cannot be written ({error.strerror or error})") from None
    report([f"merged {len(args.sources)} caches into {out}"], done=f"{out} is written")
    return 0


def _build(args) -> int:
    if not args.events and not args.from_annotations:
        raise CacheValueError(None, "say what to cut around: --events LABEL, "
                                    "--from-annotations LABEL, or both")
    if args.annotations and not args.from_annotations:
        raise CacheValueError(None, "--annotations names where to read marks from; give "
                                    "their labels with --from-annotations LABEL")
    stream = int(args.stream) if args.stream.isdigit() else args.stream
    # Without --events only the marks are cut: none of the recording's own events.
    spec = BuildSpec(events=args.events or (), pre_s=args.pre, post_s=args.post,
                     channels=args.channels, stream=stream, event_source=args.event_source,
                     readout=args.readout, subject=args.subject, examiner=args.examiner)
    output = _output_path(args.output)
    marks = (marked_events(args.recordings, args.from_annotations, args.annotations)
             if args.from_annotations else None)
    bar = None if args.no_progress else _ProgressBar()
    try:
        out = build_cache(args.recordings, output, spec, overwrite=args.force,
                          progress=bar, user_events=marks)
    finally:
        if bar is not None:
            bar.close()
    with CacheFile(out, mode="r") as cache:
        summary = f"{out}: {len(cache)} traces from {len(cache.origins)} recordings"
    report([summary], done=f"{out} is written")
    return 0


def marked_events(recordings: list[str], labels: list[str],
                  annotation_file: str | None) -> list[list[Event]]:
    """For each recording, its marks of ``labels`` from its annotation file (``annotation_file``
    when given, for one recording only), read without taking the file's writer lock."""
    from tracemark.io_backends.annotation_store import open_annotations

    if annotation_file is not None:
        path = Path(annotation_file).expanduser()
        if len(recordings) > 1:
            raise CacheValueError(path, "holds the marks of one recording; build from one "
                                        "recording with --annotations, or leave it out to read "
                                        "each recording's own annotation file")
        if not path.is_file():
            raise CacheError(path, "does not exist" if not path.exists() else "is not a file")
    per_recording = []
    for recording in recordings:
        source = recording if "://" in recording else Path(recording).expanduser()
        with open_annotations(source, annotation_file, mode="r") as store:
            per_recording.append(events_from_annotations(store.state, labels, store.path))
    return per_recording


class _ProgressBar:
    """A tqdm bar on stderr per recording (hidden when stderr is not a terminal)."""

    def __init__(self) -> None:
        self._bar = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self._bar is None or self._bar.total != total or done < self._bar.n:
            self.close()
            # Some pseudo-terminals report a 0 x 0 size, which makes tqdm draw nothing;
            # shutil falls back to 80 x 24 there.
            size = shutil.get_terminal_size()
            self._bar = tqdm(total=total, unit="trace", file=sys.stderr, disable=None,
                             desc="building", ncols=size.columns, nrows=size.lines)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
