"""The ``tracemark`` command: ``tracemark [FILE] [--demo]`` opens the GUI; subcommands
(``info``, ``cache``, ...) work headless.

Each subcommand lives in its own module exposing ``configure(parser)`` and
``run(args) -> int``; this module only dispatches and turns every ``TracemarkError``
into one line on stderr and a non-zero exit, never a traceback. Standard output is guarded
for every command (:mod:`tracemark.app.cli_output`): output the reader no longer wants
(``| head``) ends the command quietly with exit 1, never with a ``BrokenPipeError``.

Before the GUI paths (``tracemark``, ``tracemark FILE``, ``tracemark --demo``) create any
``QApplication``, ``startup_check`` makes sure a window can open: without a display the
command exits ``EXIT_NO_DISPLAY``, with system libraries missing for Qt's X11 plugin
``EXIT_MISSING_LIBRARIES``, each after one message saying what to do, where Qt would
otherwise abort (exit 134) with a misleading one. ``--smoke-test`` runs offscreen and is
not checked; neither are the headless subcommands.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tracemark import __version__
from tracemark.app.cli_output import StdoutError, guarded_stdout, tell_stdout_failure
from tracemark.io_backends.errors import TracemarkError

#: name -> (module, one-line help)
SUBCOMMANDS = {
    "info": ("tracemark.app.cli_info", "print a recording's header, streams and event counts"),
    "cache": ("tracemark.app.cli_cache", "build, inspect, edit, export and merge trace cache files"),
    "plot": ("tracemark.app.cli_plot", "draw averages, measures, recruitment curves and maps from a cache"),
    "export": ("tracemark.app.cli_export", "write a span of a recording as EDF+, CSV, or a PNG/PDF/SVG page"),
    "annotations": ("tracemark.app.cli_annotations",
                    "list, add and remove a recording's marks and bad channels; export, import"),
}

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2
#: No display for the platform Qt would use (no DISPLAY / WAYLAND_DISPLAY, or no X server
#: answering at DISPLAY).
EXIT_NO_DISPLAY = 3
#: Qt's xcb platform plugin needs system libraries that are not installed.
EXIT_MISSING_LIBRARIES = 4


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with guarded_stdout():
            if argv and argv[0] in SUBCOMMANDS:
                return _run_subcommand(argv[0], argv[1:])
            return _run_gui(argv)
    except StdoutError as error:  # e.g. `tracemark info F --json | head -c 10`
        tell_stdout_failure(error, "error")
        return EXIT_USER_ERROR
    except TracemarkError as error:
        print(f"tracemark: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("tracemark: interrupted", file=sys.stderr)
        return 130


def _run_subcommand(name: str, argv: list[str]) -> int:
    module_name, help_text = SUBCOMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"tracemark {name}", description=help_text)
    module.configure(parser)
    args = parser.parse_args(argv)
    return module.run(args)


def gui_parser() -> argparse.ArgumentParser:
    width = max(map(len, SUBCOMMANDS))
    commands = "\n".join(f"  {name:<{width}} {help_text}" for name, (_, help_text) in SUBCOMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="tracemark",
        description="View electrophysiology recordings and annotate evoked-response traces.",
        epilog=f"subcommands (tracemark COMMAND --help):\n{commands}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="recording (TRC, NWB, EDF/BDF, any format neo reads) and/or cache file")
    parser.add_argument("--demo", action="store_true",
                        help="open the built-in demo recording (generated on first use)")
    parser.add_argument("--rater", metavar="NAME", default=None,
                        help="rate the cache as NAME, one of several raters: your own values, "
                             "blind to the others' until you finish (remembered; a cache "
                             "already rated by raters opens as the last NAME, by default your "
                             "user name)")
    parser.add_argument("--version", action="version", version=f"tracemark {__version__}")
    parser.add_argument("--smoke-test", nargs="?", const="", default=None, metavar="PNG",
                        help="open the demo offscreen, check the window draws, print the version, "
                             "exit (0 = passed); with PNG, save a picture of the window")
    parser.add_argument("--snapshot", metavar="PNG", default=None,
                        help="open FILE (or the demo) offscreen as on a screen of --screen size, "
                             "save the first screen as PNG and exit")
    parser.add_argument("--screen", metavar="WxH", default="1920x1080",
                        help="screen size for --snapshot (default 1920x1080)")
    return parser


def _run_gui(argv: list[str]) -> int:
    args = gui_parser().parse_args(argv)
    if args.smoke_test is not None:
        from tracemark.app.smoke import run_smoke_test

        return run_smoke_test(args.smoke_test or None)
    if args.snapshot is not None:
        return _snapshot(args)
    refusal = _startup_refusal(argv)
    if refusal is not None:
        return refusal
    # Imported here so that headless subcommands never load Qt.
    from tracemark.app.launch import launch_gui

    return launch_gui(args)


def _snapshot(args) -> int:
    from tracemark.app.snapshot import parse_screen, take_snapshot

    try:
        size = parse_screen(args.screen)
    except ValueError as error:
        print(f"tracemark: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    paths = list(args.files)
    if args.demo or not paths:
        from tracemark.app.demo_session import ensure_demo_session

        demo = ensure_demo_session()
        paths = [str(demo.recording), str(demo.cache)] + paths
    return take_snapshot(paths, args.snapshot, size)


def _startup_refusal(argv: list[str]) -> int | None:
    """The exit code, once explained on stderr, when no window can open here; else None."""
    from tracemark.app import startup_check

    problem = startup_check.check_gui_can_start(argv)
    if problem is None:
        return None
    print(problem.message(), file=sys.stderr)
    if isinstance(problem, (startup_check.NoDisplay, startup_check.DisplayNotAnswering)):
        return EXIT_NO_DISPLAY
    return EXIT_MISSING_LIBRARIES


if __name__ == "__main__":
    sys.exit(main())
