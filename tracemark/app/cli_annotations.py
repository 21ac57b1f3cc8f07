"""``tracemark annotations list | add | remove | bad | export | import``: a recording's
marks from the command line, for scripts and tests.

Every command finds the recording's annotation file as the window does (its default place,
keyed by the recording's content, or ``--annotations FILE``). The changing commands (``add``,
``remove``, ``bad``, ``import``) open it for writing, make ONE transaction and exit 0 only
once that transaction is on disk; their report then goes to standard output
(:func:`tracemark.app.cli_output.report`: the change stands even when the report cannot be
printed). Anything refused (an unknown recording, an onset outside the recording, an
unknown id or channel, a file another process holds) prints one line on stderr naming
the file and the problem, and exits 1 with the file unchanged. ``list`` and ``export``
only read, so they work while the window holds the file.

``add`` prints the new annotation's id alone, so that ``ID=$(tracemark annotations add ...)``
works. Onsets are seconds from the recording's first sample, the viewer's time axis; the
recording's header (only) is read to check them and the channel names.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracemark.app.cli_cache import wait_seconds
from tracemark.app.cli_output import report
from tracemark.domain import annotations as marks
from tracemark.domain.annotations import AnnotationError, FieldChange
from tracemark.io_backends.annotation_formats import (
    FORMATS,
    RecordingInfo,
    export_annotations,
    guess_format,
    import_annotations,
    import_changes,
)
from tracemark.io_backends.annotation_store import AnnotationStore, open_annotations
from tracemark.io_backends.errors import TracemarkError
from tracemark.io_backends.protocol import RecordingHeader

EXIT_REFUSED = 1


class AnnotationCommandError(TracemarkError):
    """Input the command refuses before anything is written; names the file at fault."""

    def __init__(self, path: str | Path, problem: str):
        super().__init__(f"{path}: {problem}")


def configure(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("recording", metavar="RECORDING", help="the recording (file, folder or URL)")
    common.add_argument("--annotations", metavar="FILE", default=None,
                        help="the annotation file (default: the recording's own, in the "
                             "user data folder)")
    common.add_argument("--wait", type=wait_seconds, default=0.0, metavar="SECONDS",
                        help="wait this long for another writer (the window) to close the file")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", parents=[common], help="print the marks and bad channels")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument("--history", action="store_true",
                         help="print the change log: who, when, each object's old and new value")

    add = actions.add_parser("add", parents=[common], help="add a point event or a span",
                             usage="tracemark annotations add [-h] RECORDING ONSET [DURATION] "
                                   "LABEL [--channels CH ...] [--note NOTE] "
                                   "[--annotations FILE] [--wait SECONDS]")
    add.add_argument("onset", metavar="ONSET", help="seconds from the recording's first sample")
    add.add_argument("duration_and_label", nargs="+", metavar="[DURATION] LABEL",
                     help="span length in seconds (0 or absent: a point event), then the label")
    add.add_argument("--channels", nargs="+", metavar="CH", default=(),
                     help="bind the mark to these channels (default: every channel)")
    add.add_argument("--note", default="", help="note stored with the change in the history")

    remove = actions.add_parser("remove", parents=[common], help="remove a mark by its id")
    remove.add_argument("id", metavar="ID")

    bad = actions.add_parser("bad", parents=[common], help="mark a channel bad (or good)")
    bad.add_argument("channel", metavar="CHANNEL")
    bad.add_argument("--good", action="store_true", help="mark it good again")
    bad.add_argument("--reason", default="", help="why it is bad")

    export = actions.add_parser("export", parents=[common], help="write the marks for other tools")
    export.add_argument("-o", "--output", required=True, metavar="FILE")
    export.add_argument("--format", choices=FORMATS,
                        help="default: from the output suffix (.tsv bids, .edf, .csv, .txt mne, "
                             ".nwb)")

    imported = actions.add_parser("import", parents=[common], help="add the marks of a file")
    imported.add_argument("file", metavar="FILE")
    imported.add_argument("--format", choices=FORMATS, help="default: from the file's suffix")


def run(args: argparse.Namespace) -> int:
    command = {"list": _list, "add": _add, "remove": _remove, "bad": _bad,
               "export": _export, "import": _import}[args.action]
    try:
        return command(args)
    except AnnotationError as error:  # a value the domain refused, before any write
        print(f"tracemark: error: {args.recording}: {error}; nothing was written",
              file=sys.stderr)
        return EXIT_REFUSED


# -- reading ---------------------------------------------------------------------------------------
def _list(args: argparse.Namespace) -> int:
    with _open(args, "r") as store:
        state = store.state
        if args.history:
            _print_history(store)
            return 0
        if args.json:
            print(json.dumps(_as_json(args.recording, store), indent=2, ensure_ascii=False))
            return 0
        rows = [(a.id, _seconds_text(a.onset_s), _seconds_text(a.duration_s), a.label,
                 ",".join(a.channels) or "all") for a in state.sorted_annotations()]
        if rows:
            widths = [max(len(str(r[i])) for r in [_LIST_HEADER, *rows]) for i in range(4)]
            for row in [_LIST_HEADER, *rows]:
                print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)) + "  " + row[4])
        else:
            print(f"no annotations in {store.path}", file=sys.stderr)
        for channel, reason in sorted(state.bad_channels.items()):
            print(f"bad channel {channel}" + (f": {reason}" if reason else ""))
    return 0


_LIST_HEADER = ("ID", "ONSET_S", "DURATION_S", "LABEL", "CHANNELS")


def _print_history(store: AnnotationStore) -> None:
    """One line per transaction (as ``tracemark cache peek --history`` prints a cache's),
    then one per object it replaced, with the old and new value (``None``: absent)."""
    for entry in store.history():
        target = f" of {entry.target[:8]}" if entry.target else ""
        note = f"  ({entry.note})" if entry.note else ""
        print(f"#{entry.seq} {entry.time} {entry.user}@{entry.host} {entry.kind}{target} "
              f"{entry.tx[:8]}{note}")
        for change in entry.changes:
            print(f"    {change.kind} {change.ident}: {change.old} -> {change.new}")


def _as_json(recording: str, store: AnnotationStore) -> dict[str, Any]:
    state = store.state
    return {
        "recording": recording,
        "recording_key": store.recording_key,
        "annotation_file": str(store.path),
        "annotations": [{"id": a.id, "onset_s": a.onset_s, "duration_s": a.duration_s,
                         "label": a.label, "channels": list(a.channels)}
                        for a in state.sorted_annotations()],
        "labels": [{"name": label.name, "color": label.color, "key": label.key}
                   for label in state.labels.values()],
        "bad_channels": dict(sorted(state.bad_channels.items())),
    }


def _export(args: argparse.Namespace) -> int:
    output = _output_path(args.output)
    fmt = args.format or guess_format(output)
    facts = _recording_facts(args.recording)
    with _open(args, "r") as store:
        written = export_annotations(store.state, output, fmt, facts.info())
    report([f"written {path}" for path in written], done="the export is written")
    return 0


# -- changing ------------------------------------------------------------------------------------
def _add(args: argparse.Namespace) -> int:
    values = list(args.duration_and_label)
    if len(values) > 2:
        raise AnnotationCommandError(args.recording, f"expected ONSET [DURATION] LABEL, got "
                                                     f"{len(values) + 1} values (quote a label "
                                                     f"with spaces)")
    onset = _number(args.recording, "onset", args.onset)
    duration = _number(args.recording, "duration", values[0]) if len(values) == 2 else 0.0
    label = marks.checked_name(values[-1], "label")  # before the file is opened (or created)
    facts = _recording_facts(args.recording)
    facts.check_span(onset, duration)
    facts.check_channels(args.channels)
    with _open(args, "r+") as store:
        annotation, changes = marks.add(store.state, onset, duration, label, args.channels)
        _commit(store, changes, args.note)
    report([annotation.id], done="the mark is saved")
    return 0


def _remove(args: argparse.Namespace) -> int:
    with _open(args, "r+") as store:
        if args.id not in store.state.annotations:
            raise AnnotationCommandError(store.path, f"has no annotation with id {args.id!r} "
                                                     f"('tracemark annotations list' shows them)")
        removed = store.state.annotations[args.id]
        _commit(store, marks.remove(store.state, args.id))
    report([f"removed {removed.id} ({removed.label} at {_seconds_text(removed.onset_s)} s)"],
           done="the removal is saved")
    return 0


def _bad(args: argparse.Namespace) -> int:
    facts = _recording_facts(args.recording)
    if not args.good:
        facts.check_channels([args.channel])
    with _open(args, "r+") as store:
        if args.good and not store.state.is_bad(args.channel):  # a stale name may be cleared
            facts.check_channels([args.channel])
        changes = marks.set_channel_bad(store.state, args.channel, not args.good, args.reason)
        _commit(store, changes)
    status = "good" if args.good else "bad" + (f" ({args.reason})" if args.reason else "")
    report([f"{args.channel}: {status}" + ("" if changes else " already")],
           done="the channel status is saved")
    return 0


def _import(args: argparse.Namespace) -> int:
    source = Path(args.file).expanduser()
    if not source.is_file():
        raise AnnotationCommandError(source, "no such file" if not source.exists()
                                     else "is not a file")
    fmt = args.format or guess_format(source)
    facts = _recording_facts(args.recording)
    imported = import_annotations(source, fmt, facts.info())
    for onset, duration, _label, channels in imported.marks:
        facts.check_span(onset, duration, source)
        facts.check_channels(channels, source)
    facts.check_channels(list(imported.bad_channels), source)
    with _open(args, "r+") as store:
        changes = import_changes(store.state, imported)
        _commit(store, changes, note=f"imported from {source.name}")
    added = sum(1 for change in changes if change.kind == marks.ANNOTATION)
    present = len(imported.marks) - added
    bad = len(imported.bad_channels)
    report([f"imported {added} marks from {source}"
            + (f" ({present} already present)" if present else "")
            + (f", {bad} bad channel{'s' if bad != 1 else ''}" if bad else "")],
           done="the import is saved")
    return 0


def _commit(store: AnnotationStore, changes: list[FieldChange], note: str = "") -> None:
    try:
        store.commit(changes, note=note)
    except AnnotationError as error:  # a change that does not start from the file's state
        raise AnnotationCommandError(store.path, f"{error}; nothing was written") from None


# -- the recording and the file ------------------------------------------------------------------
@dataclass(frozen=True)
class RecordingFacts:
    """What the commands check input against, from the recording's header alone."""

    path: str
    header: RecordingHeader

    @property
    def duration_s(self) -> float:
        return float(self.header.duration_s)

    @property
    def channel_names(self) -> tuple[str, ...]:
        names: dict[str, None] = {}
        for stream in self.header.streams:
            names.update(dict.fromkeys(stream.channel_names))
        return tuple(names)

    def check_span(self, onset: float, duration: float, where: str | Path | None = None) -> None:
        end = onset + duration
        # Within one part in a billion of the end: the last sample's time, written as text.
        slack = 1e-9 * max(1.0, self.duration_s)
        if onset < 0 or end > self.duration_s + slack:
            what = (f"a span {_seconds_text(onset)}-{_seconds_text(end)} s" if duration
                    else f"onset {_seconds_text(onset)} s")
            raise AnnotationCommandError(where or self.path,
                                         f"{what} is outside the recording "
                                         f"(0-{_seconds_text(self.duration_s)} s)")

    def check_channels(self, channels: Sequence[str], where: str | Path | None = None) -> None:
        known = self.channel_names
        for channel in channels:
            if channel not in known:
                shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
                what = (f"names channel {channel!r}, which {self.path} does not have"
                        if where else f"has no channel {channel!r}")
                raise AnnotationCommandError(where or self.path, f"{what} (it has {shown})")

    def info(self) -> RecordingInfo:
        return RecordingInfo.from_header(self.header)


def _recording_facts(recording: str) -> RecordingFacts:
    from tracemark.io_backends.registry import open_recording

    with open_recording(recording) as opened:  # lazy: the header only
        return RecordingFacts(recording, opened.header)


def _open(args: argparse.Namespace, mode: str) -> AnnotationStore:
    # "r+" never gives a read-only store: it raises, naming the holder or the damage.
    return open_annotations(args.recording, args.annotations, mode=mode, lock_timeout=args.wait)


def _output_path(text: str) -> Path:
    output = Path(text).expanduser()
    if output.is_dir():
        raise AnnotationCommandError(output, "is a folder; give the name of a file to write")
    if not output.parent.is_dir():
        raise AnnotationCommandError(output, f"cannot be written: the folder {output.parent} "
                                             f"does not exist")
    return output


def _number(where: str, what: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise AnnotationCommandError(where, f"{what} {text!r} is not a number of seconds")
    if what == "duration" and value < 0:
        raise AnnotationCommandError(where, f"duration {text!r} is negative")
    return value


def _seconds_text(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"

