"""``tracemark cache``: build, inspect, edit, export and merge trace cache files headless.

``set`` exits 0 only after the edit is durable (journal fsync'd); it then checkpoints the
edit into the HDF5 file on close. Any refused value prints one line and leaves the file
unchanged (exit 1, via :mod:`tracemark.app.cli`).

Traces are addressed and printed by their 0-based *index* (the cache's global index, as in
the Python API), never as a "trace number": the window numbers traces from 1. ``peek``
ends its summary with the review counts, told as the window tells them
(:meth:`tracemark.domain.review.ReviewCounts.describe`), and names each trace it lists
with its review state.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys

from tracemark.domain.review import ReviewCounts, review_state
from tracemark.io_backends.cache import (BuildSpec, CacheError, CacheFile, CacheValueError,
                                         build_cache, export_table, merge_caches, schema)

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
    edit.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                      help="wait this long for another writer to close the file")
    edit.add_argument("--note", default="", help="note stored with the change in the log")

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
    build.add_argument("--events", required=True, action="append",
                       help="event label or shell pattern (repeatable)")
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


def run(args: argparse.Namespace) -> int:
    return {"peek": _peek, "set": _set, "export": _export, "merge": _merge,
            "build": _build}[args.action](args)


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
            print(f"review: {review_counts(cache).describe()}")
            return 0
        for text in args.indexes:
            for index in parse_indexes(text, len(cache)):
                attrs = cache.get_trace_attrs(index)
                state = review_state(attrs)          # from the decoded values, even with --raw
                attrs = cache.get_trace_attrs_raw(index) if args.raw else attrs
                print(f"index {index} ({'/'.join(cache.trace_origin(index))}): {state}")
                for key, value in attrs.items():
                    if key not in ("cache_file", "cache_file_index"):
                        print(f"    {key:28s} {value!r}")
    return 0


def review_counts(cache: CacheFile) -> ReviewCounts:
    """Accepted, rejected and unreviewed traces of ``cache``, from the decoded attributes.
    A trace whose attributes cannot be read counts as unreviewed, as in the window."""
    def attrs(index: int) -> dict:
        try:
            return cache.get_trace_attrs(index)
        except CacheError:
            return {}
    return ReviewCounts.of_attrs(attrs(i) for i in range(len(cache)))


def _set(args) -> int:
    with CacheFile(args.file, mode="w", lock_timeout=args.wait) as cache:
        values = _assignments(args.assignments)
        indexes = parse_indexes(args.indexes, len(cache))
        record = cache.apply_edits([(i, values) for i in indexes], note=args.note)
        if record is None:
            print("nothing changed")
        else:
            for change in record.changes:
                index = cache.index_of(change.origin, change.trace)
                print(f"index {index} {change.key}: {change.old!r} -> {change.new!r}")
    return 0


def _export(args) -> int:
    fmt = args.format or ("tsv" if (args.output or "").lower().endswith(".tsv") else "csv")
    with CacheFile(args.file, mode="r") as cache:
        rows = export_table(cache, args.output, delimiter="\t" if fmt == "tsv" else ",")
    if args.output:
        print(f"{rows} rows written to {args.output}", file=sys.stderr)
    return 0


def _merge(args) -> int:
    out = merge_caches(args.sources, args.output, overwrite=args.force)
    print(f"merged {len(args.sources)} caches into {out}")
    return 0


def _build(args) -> int:
    stream = int(args.stream) if args.stream.isdigit() else args.stream
    spec = BuildSpec(events=args.events, pre_s=args.pre, post_s=args.post,
                     channels=args.channels, stream=stream, event_source=args.event_source,
                     readout=args.readout, subject=args.subject, examiner=args.examiner)
    bar = None if args.no_progress else _ProgressBar()
    try:
        out = build_cache(args.recordings, args.output, spec, overwrite=args.force,
                          progress=bar)
    finally:
        if bar is not None:
            bar.close()
    with CacheFile(out, mode="r") as cache:
        print(f"{out}: {len(cache)} traces from {len(cache.origins)} recordings")
    return 0


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
