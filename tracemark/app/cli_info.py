"""``tracemark info FILE [--json]``: what a recording holds, without opening a window.

A file of events only (an NWB file of trials and spike times, an EDF+ hypnogram of
annotations) has no streams and a header duration of 0 s; its events are listed as for
any file, with the span they cover (``events.span_s`` in ``--json``).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

from tracemark.io_backends import BaseRecording, open_recording

MAX_LISTED_CHANNELS = 16


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="recording(s) to describe")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file")
    parser.add_argument("--channels", action="store_true", help="list every channel with unit and scaling")
    parser.add_argument("--format", choices=["trc", "nwb", "edf", "neo"], help="force a backend")


def run(args: argparse.Namespace) -> int:
    for path in args.files:
        with open_recording(path, format=args.format) as recording:
            summary = describe(recording)
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            print(format_text(summary, list_all_channels=args.channels))
    return 0


def describe(recording: BaseRecording) -> dict:
    """A JSON-ready description of a recording's header and events."""
    header = recording.header
    events = recording.events()
    span = ([min(e.time_s for e in events), max(e.time_s + e.duration_s for e in events)]
            if events else None)
    return {
        "path": str(header.path),
        "format": header.format_name,
        "start_datetime": header.start_datetime.isoformat() if header.start_datetime else None,
        "duration_s": header.duration_s,
        "streams": [{
            "id": s.stream_id,
            "name": s.name,
            "sampling_rate_hz": s.sampling_rate,
            "regular": s.regular,
            "n_samples": s.n_samples,
            "n_channels": s.n_channels,
            "duration_s": s.duration_s,
            "start_offset_s": s.start_offset_s,
            "raw_dtype": s.raw_dtype.name,
            "channels": [{"name": n, "unit": u, "gain": float(g), "offset": float(o)}
                         for n, u, g, o in zip(s.channel_names, s.units, s.gains, s.offsets)],
        } for s in header.streams],
        "events": {
            "count": len(events),
            "span_s": span,
            "by_source": dict(Counter(e.source for e in events)),
            "by_label": dict(Counter(e.label for e in events).most_common()),
        },
        "details": dict(header.details),
    }


def format_text(summary: dict, list_all_channels: bool = False) -> str:
    lines = [
        f"File      {summary['path']}",
        f"Format    {summary['format']}",
        f"Start     {summary['start_datetime'] or 'not recorded'}",
        f"Duration  {_duration(summary['duration_s'])}"
        + ("" if summary["streams"] else ": no signal stream, events only"),
    ]
    lines += [f"  {key}: {value}" for key, value in summary["details"].items()]
    lines.append(f"Streams   {len(summary['streams'])}")
    for i, stream in enumerate(summary["streams"]):
        clock = f"{stream['sampling_rate_hz']:g} Hz" + ("" if stream["regular"] else " (timestamps)")
        lines.append(f"  [{i}] {stream['name']}: {stream['n_channels']} ch, {clock}, "
                     f"{stream['n_samples']} samples ({_duration(stream['duration_s'])}), {stream['raw_dtype']}"
                     + (f", starts at {stream['start_offset_s']:g} s" if stream["start_offset_s"] else ""))
        channels = stream["channels"]
        shown = channels if list_all_channels else channels[:MAX_LISTED_CHANNELS]
        if list_all_channels:
            lines += [f"      {c['name']:<20} {c['unit']:<6} gain {c['gain']:.6g} offset {c['offset']:.6g}"
                      for c in shown]
        else:
            names = ", ".join(f"{c['name']} ({c['unit']})" for c in shown)
            more = f", ... {len(channels) - len(shown)} more" if len(channels) > len(shown) else ""
            lines.append(f"      {names}{more}")
    events = summary["events"]
    lines.append(f"Events    {events['count']}")
    if events.get("span_s"):
        first, last = events["span_s"]
        lines.append(f"  span: {first:.3f} s to {last:.3f} s")
    for source, count in events["by_source"].items():
        lines.append(f"  {source}: {count}")
    labels = list(events["by_label"].items())
    if labels:
        top = ", ".join(f"{label!r} x{count}" for label, count in labels[:10])
        lines.append(f"  labels: {top}" + (f", ... {len(labels) - 10} more" if len(labels) > 10 else ""))
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{seconds:.3f} s ({int(hours):d}:{int(minutes):02d}:{secs:06.3f})"
