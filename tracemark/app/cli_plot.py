"""``tracemark plot``: draw the average, the per-trace measures, the recruitment curve or the
coil map of a cache into a PNG or SVG file, headless.

The figure is the same view the window docks, rendered off screen (``QT_QPA_PLATFORM`` is
set to ``offscreen`` when there is no display). The cache is opened read-only. A figure
that cannot be drawn (no intensities for a recruitment curve, no coordinates for a map, an
unknown channel, an output that is not .png/.svg) is one line on stderr and exit 1; a
recruitment fit that fails still writes the figure, which says why, and warns on stderr.

The average is taken over every trace not rejected (accepted and unreviewed), or over the
accepted traces only with ``--accepted-only``; the line printed says which, with the
counts the window shows (:func:`tracemark.domain.review.describe_average`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from tracemark.analysis import MapSettings, MeasureSettings, TraceSet
from tracemark.app.plot_data import PlotDataError, load_trace_set
from tracemark.domain.review import ACCEPTED_ONLY, NOT_REJECTED, describe_average
from tracemark.io_backends.errors import TracemarkError

KINDS = ("average", "measures", "recruitment", "map")


class PlotOptionError(TracemarkError):
    """A command-line option that cannot be used as given."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS, help="which picture")
    parser.add_argument("cache", help="trace cache file (.hdf5)")
    parser.add_argument("-o", "--output", required=True, help="output file, .png or .svg")
    parser.add_argument("--channel", help="channel label (default: channel of interest, else "
                                          "the first EMG channel, else the first)")
    parser.add_argument("--window", nargs=2, type=float, metavar=("START", "STOP"),
                        default=(15.0, 50.0),
                        help="measure window in ms after the onset (default: 15 50)")
    parser.add_argument("--no-annotations", action="store_true",
                        help="measure every trace, ignoring annotated peak values")
    parser.add_argument("--show-rejected", action="store_true",
                        help="average: draw rejected traces in grey")
    parser.add_argument("--accepted-only", action="store_true",
                        help="average: only the accepted (reviewed, not rejected) traces; "
                             "default: every trace not rejected")
    parser.add_argument("--against", choices=("index", "time"), default="index",
                        help="measures: trace number (from 1) or event time on the "
                             "horizontal axis")
    parser.add_argument("--scale", choices=("uv", "log", "percent"), default="uv",
                        help="map: amplitude in uV, log10(1 + uV) or percent of the maximum")
    parser.add_argument("--threshold", type=float, help="map: amplitudes below this (uV) "
                                                        "drawn hollow; colour scale starts here")
    parser.add_argument("--smooth", type=float, default=0.0, metavar="FWHM",
                        help="map: smoothed surface with this kernel width in mm (0 = off)")
    parser.add_argument("--include-rejected", action="store_true",
                        help="map: place rejected traces too")
    parser.add_argument("--size", default="1200x650", help="figure size in pixels, WxH")


def run(args: argparse.Namespace) -> int:
    output = Path(args.output).expanduser()
    if output.suffix.lower() not in (".png", ".svg"):
        raise PlotDataError(output, "the output must end in .png or .svg")
    if output.is_dir():
        raise PlotDataError(output, "is a folder; give the name of a .png or .svg file")
    if not output.parent.is_dir():
        raise PlotDataError(output, f"the folder {output.parent} does not exist")
    width, height = _size(args.size)
    traces = load_trace_set(args.cache)
    try:
        measure = MeasureSettings(traces.channel_index(args.channel), *args.window,
                                  use_annotations=not args.no_annotations)
        map_settings = MapSettings(args.scale, args.threshold, args.include_rejected, args.smooth)
    except ValueError as error:
        raise PlotDataError(args.cache, str(error)) from None
    _check_drawable(args.kind, traces, Path(args.cache), args.include_rejected,
                    _average_over(args))
    _ensure_platform()
    from PyQt6.QtCore import qInstallMessageHandler
    from PyQt6.QtWidgets import QApplication

    previous = qInstallMessageHandler(_qt_message)
    try:
        app = QApplication.instance() or QApplication([sys.argv[0]])
        view = _make_view(args, traces, measure, map_settings)
        view.resize(width, height)
        view.show()
        app.processEvents()
        try:
            view.export(output)
        except (OSError, ValueError) as error:
            raise PlotDataError(output, f"the figure could not be written ({error})") from None
        finally:
            view.close()
            view.deleteLater()
    finally:
        qInstallMessageHandler(previous)
    print(f"wrote {output}")
    return _report(args.kind, view)


def _make_view(args, traces: TraceSet, measure: MeasureSettings, map_settings: MapSettings):
    from tracemark.widgets.plots import VIEWS

    cls = VIEWS[args.kind]
    if args.kind == "map":
        view = cls(measure, map_settings)
    elif args.kind == "average":
        view = cls()
    else:
        view = cls(measure)
    view.set_data(traces)
    if args.kind == "average":
        view.channel.setCurrentIndex(measure.channel)
        view.show_rejected.setChecked(args.show_rejected)
        view.set_averaged_over(_average_over(args))
    if args.kind == "measures":
        view.x_axis.setCurrentIndex(view.x_axis.findData(args.against))
    return view


def _average_over(args) -> str:
    return ACCEPTED_ONLY if getattr(args, "accepted_only", False) else NOT_REJECTED


def _check_drawable(kind: str, traces: TraceSet, cache: Path, include_rejected: bool,
                    over: str = NOT_REJECTED) -> None:
    kept = ~traces.reject
    if kind in ("average", "recruitment") and not kept.any():
        raise PlotDataError(cache, f"every one of its {len(traces)} traces is rejected; "
                                   f"nothing to {'average' if kind == 'average' else 'fit'}")
    if kind == "average" and not traces.averaged(over).any():
        raise PlotDataError(cache, f"{describe_average(traces.review_counts(), over)}: "
                                   f"nothing to average; accept traces in the window, or "
                                   f"leave out --accepted-only")
    if kind == "recruitment" and not np.isfinite(traces.intensity_mso[kept]).any():
        raise PlotDataError(cache, "no trace that is not rejected has a stimulation_intensity_mso; "
                                   "set it with: tracemark cache set CACHE 0-9 "
                                   "stimulation_intensity_mso=60")
    if kind == "map":
        candidate = np.ones(len(traces), bool) if include_rejected else kept
        placed = candidate & np.isfinite(traces.xyz).all(axis=1)
        if not placed.any():
            raise PlotDataError(cache, f"none of its {int(candidate.sum())} traces"
                                       f"{'' if include_rejected else ' not rejected'} has "
                                       f"xyz_coords; set them with: tracemark cache set CACHE 0 "
                                       f"'xyz_coords=[-38, -20, 62]'")


def _report(kind: str, view) -> int:
    if kind == "recruitment":
        fit = view.fit
        if not fit.ok:
            print(f"tracemark: warning: {fit.message}", file=sys.stderr)
        else:
            print(fit.describe(view.measures.units))
    elif kind == "map":
        print(view.data.summary())
    elif kind == "average":
        print(view.status.text())
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise PlotOptionError(f"--size {text!r} must look like 1200x650") from None
    if not (100 <= width <= 10_000 and 100 <= height <= 10_000):
        raise PlotOptionError(f"--size {text!r}: each side must be 100 to 10000 pixels")
    return width, height


def _qt_message(mode: object, context: object, message: str | None) -> None:
    """Qt's warnings on stderr, less the offscreen plugin's note that it cannot resize
    windows, which says nothing to a person drawing a figure."""
    if message is not None and "propagateSizeHints" not in message:
        print(f"Qt: {message}", file=sys.stderr)


def _ensure_platform() -> None:
    """Render off screen when there is no display (servers, CI)."""
    if "QT_QPA_PLATFORM" in os.environ:
        return
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
