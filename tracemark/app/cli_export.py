"""``tracemark export RECORDING --start S --stop S -o OUT``: a span of a recording, headless.

The output's suffix chooses what is written:

``.edf`` / ``.csv``
    the span's samples (see :mod:`tracemark.io_backends.segment_export`): the channels as
    recorded, in physical units, or filtered with ``--highpass/--lowpass/--notch`` (as the
    viewer's display filter would); the EDF+ file carries the recording's events in the
    span as annotations and the recording's start date-time moved to the span's start.
``.png`` / ``.pdf`` / ``.svg``
    the span drawn as one printed page (:mod:`tracemark.widgets.viewer.page_export`), A4
    landscape, each channel's DC removed as the viewer shows it, scales measured from the
    data. No display is needed: without one the command draws offscreen.

Bad input (a missing file, an unknown channel, an empty span, an unknown suffix) is one
line on stderr and exit 1, via :mod:`tracemark.app.cli`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tracemark import __version__
from tracemark.app.cli_output import report
from tracemark.io_backends import open_recording
from tracemark.io_backends.segment_export import ExportError, write_segment

SEGMENT_FORMATS = (".edf", ".csv")
PAGE_FORMATS = (".png", ".pdf", ".svg")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recording", metavar="RECORDING", help="recording to read (opened read-only)")
    parser.add_argument("--start", type=float, required=True, metavar="S", help="span start, seconds")
    parser.add_argument("--stop", type=float, required=True, metavar="S", help="span stop, seconds")
    parser.add_argument("--channels", default=None, metavar="A,B,...",
                        help="channel names to export, in this order (default: all; a page: "
                             "the channels the viewer shows first)")
    parser.add_argument("--stream", default=None, metavar="N",
                        help="stream index or id of a multi-rate recording (default: the main one)")
    parser.add_argument("--highpass", type=float, default=None, metavar="HZ", help="high-pass filter")
    parser.add_argument("--lowpass", type=float, default=None, metavar="HZ", help="low-pass filter")
    parser.add_argument("--notch", type=float, default=None, metavar="HZ", help="notch filter")
    parser.add_argument("--seconds", action="store_true",
                        help="a page's time axis in seconds from the start, not clock time")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help=f"output file: {', '.join(SEGMENT_FORMATS + PAGE_FORMATS)}")


def run(args: argparse.Namespace) -> int:
    output = Path(args.output)
    suffix = output.suffix.lower()
    if suffix not in SEGMENT_FORMATS + PAGE_FORMATS:
        raise ExportError(output, f"cannot write {suffix or 'a file without suffix'}; "
                                  f"use one of {', '.join(SEGMENT_FORMATS + PAGE_FORMATS)}")
    if not output.parent.is_dir():
        raise ExportError(output, f"folder {output.parent} does not exist")
    display_filter = _display_filter(args, output)
    from tracemark.app.viewer_source import RecordingSource

    with open_recording(args.recording) as recording:
        if not recording.header.streams:
            raise ExportError(args.recording, "the recording holds events only, no signal to export")
        stream = recording.header.main_stream_index() if args.stream is None else _stream(args.stream)
        try:
            source = RecordingSource(recording, stream)
        except (KeyError, IndexError):
            raise ExportError(args.recording, f"no stream {args.stream!r}; see `tracemark info`") from None
        rows = _rows(source, args.channels, args.recording)
        if display_filter is not None:
            try:
                display_filter.validate(source.sampling_rate)
            except ValueError as error:
                raise ExportError(output, str(error)) from None
        if suffix in SEGMENT_FORMATS:
            _export_segment(source, args, rows, display_filter, output)
        else:
            _export_page(source, args, rows, display_filter, output)
    report([f"wrote {output}"], f"{output} is written")
    return 0


def _export_segment(source, args, rows, display_filter, output: Path) -> None:
    from tracemark.app.export_segment import build_segment

    rows = rows if rows is not None else list(range(len(source.channel_names)))
    segment = build_segment(source, args.start, args.stop, rows, output=output,
                            display_filter=display_filter)
    write_segment(segment, output)


def _export_page(source, args, rows, display_filter, output: Path) -> None:
    _ensure_gui_application()
    from tracemark.dsp.filters import DisplayFilter
    from tracemark.widgets.viewer.page_export import page_content_for_span, write_page

    duration = source.n_samples / source.sampling_rate
    if not args.start < args.stop or not 0 <= args.start < duration:
        raise ExportError(output, f"the span {args.start:g}–{args.stop:g} s is not inside the "
                                  f"recording (0–{duration:g} s) with its stop after its start")
    page_filter = display_filter or DisplayFilter(remove_dc=True)
    if display_filter is not None:
        page_filter = DisplayFilter(display_filter.highpass_hz, display_filter.lowpass_hz,
                                    display_filter.notch_hz, remove_dc=True)
    content = page_content_for_span(source, args.start, min(args.stop, duration), rows,
                                    display_filter=page_filter, clock_time=not args.seconds,
                                    producer=f"Tracemark {__version__}")
    try:
        write_page(content, output)
    except (OSError, ValueError) as error:
        raise ExportError(output, str(error)) from error


_application = None


def _ensure_gui_application() -> None:
    """Qt draws text only with a QGuiApplication; without a display it draws offscreen."""
    global _application
    no_display = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if no_display and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtGui import QGuiApplication

    if QGuiApplication.instance() is None:
        _application = QGuiApplication(["tracemark-export"])


def _display_filter(args, output: Path):
    if args.highpass is None and args.lowpass is None and args.notch is None:
        return None
    from tracemark.dsp.filters import DisplayFilter

    try:
        return DisplayFilter(args.highpass, args.lowpass, args.notch)
    except ValueError as error:
        raise ExportError(output, str(error)) from None


def _stream(text: str):
    return int(text) if text.strip().lstrip("-").isdigit() else text


def _rows(source, channels: str | None, recording_path) -> list[int] | None:
    """Channel indexes for ``--channels`` (None: the default for the format)."""
    if channels is None:
        return None
    names = [n.strip() for n in channels.split(",") if n.strip()]
    if not names:
        raise ExportError(recording_path, "--channels names no channel")
    index = {name: i for i, name in enumerate(source.channel_names)}
    folded = {name.casefold(): i for i, name in enumerate(source.channel_names)}
    rows = []
    for name in names:
        row = index.get(name, folded.get(name.casefold()))
        if row is None:
            shown = ", ".join(source.channel_names[:12]) + (", ..." if len(source.channel_names) > 12 else "")
            raise ExportError(recording_path, f"no channel {name!r} (channels: {shown})")
        rows.append(row)
    return rows
