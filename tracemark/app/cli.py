"""The ``tracemark`` command: ``tracemark [FILE] [--demo]`` opens the GUI; subcommands
(``info``, ``cache``, ...) work headless.

Each subcommand lives in its own module exposing ``configure(parser)`` and
``run(args) -> int``; this module only dispatches and turns every ``TracemarkError``
into one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tracemark import __version__
from tracemark.io_backends.errors import TracemarkError

#: name -> (module, one-line help)
SUBCOMMANDS = {
    "info": ("tracemark.app.cli_info", "print a recording's header, streams and event counts"),
    "cache": ("tracemark.app.cli_cache", "build, inspect, edit, export and merge trace cache files"),
    "plot": ("tracemark.app.cli_plot", "draw averages, measures, recruitment curves and maps from a cache"),
}

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return _run_subcommand(argv[0], argv[1:])
        return _run_gui(argv)
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
    commands = "\n".join(f"  {name:<8} {help_text}" for name, (_, help_text) in SUBCOMMANDS.items())
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
    parser.add_argument("--version", action="version", version=f"tracemark {__version__}")
    parser.add_argument("--smoke-test", nargs="?", const="", default=None, metavar="PNG",
                        help="open the demo offscreen, check the window draws, print the version, "
                             "exit (0 = passed); with PNG, save a picture of the window")
    return parser


def _run_gui(argv: list[str]) -> int:
    args = gui_parser().parse_args(argv)
    if args.smoke_test is not None:
        from tracemark.app.smoke import run_smoke_test

        return run_smoke_test(args.smoke_test or None)
    # Imported here so that headless subcommands never load Qt.
    from tracemark.app.launch import launch_gui

    return launch_gui(args)
