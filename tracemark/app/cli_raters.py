"""``tracemark cache raters|rate|finish|adjudicate``: several raters on one cache, headless.

``rate`` and ``finish`` write one rater's own journal (``docs/cache-format.md``,
"Raters") and exit 0 only once the rating is durable; a second ``rate`` of the same rater
while the first runs waits ``--wait`` seconds, then fails naming the holder. Raters never
wait for each other. ``adjudicate`` writes a consensus into the cache's plain attributes
through the cache's one writer (waiting ``--wait`` seconds, default 5, for its lock).
Bad input (an unknown key, a value the schema refuses, a trace index out of range) prints
one line and exits 1, writing nothing, via :mod:`tracemark.app.cli`.

Wired into ``tracemark cache`` by :mod:`tracemark.app.cli_cache`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

# cli_cache imports this module only inside its functions, so this import is not circular.
from tracemark.app.cli_cache import _assignments
from tracemark.app.cli_output import report
from tracemark.io_backends.cache import (
    CacheFile,
    CheckpointError,
    RaterSession,
    adjudicate,
    read_ratings,
    schema,
)

ACTIONS = ("raters", "rate", "finish", "adjudicate")


def configure(actions: Any, seconds: Any) -> None:
    """Add the rater actions to ``tracemark cache``'s subparsers; ``seconds`` parses --wait."""
    raters = actions.add_parser("raters", help="who rated a cache: traces reviewed, finished")
    raters.add_argument("file")
    raters.add_argument("--json", action="store_true", help="print JSON")

    rate = actions.add_parser("rate", help="set one rater's own values of traces")
    rate.add_argument("file")
    rate.add_argument("--rater", required=True, help="the rater's name")
    rate.add_argument("index", type=int, help="trace index (from 0)")
    rate.add_argument("assignments", nargs="+", metavar="key=value")
    rate.add_argument("--note", default="", help="note stored with the rating")
    rate.add_argument("--wait", type=seconds, default=0.0, metavar="SECONDS",
                      help="wait this long for another session of the same rater to close")

    finish = actions.add_parser("finish", help="mark a rater finished (blind review ends)")
    finish.add_argument("file")
    finish.add_argument("--rater", required=True)
    finish.add_argument("--wait", type=seconds, default=0.0, metavar="SECONDS")

    settle = actions.add_parser("adjudicate", help="record the consensus of raters on a trace")
    settle.add_argument("file")
    settle.add_argument("index", type=int, help="trace index (from 0)")
    settle.add_argument("assignments", nargs="+", metavar="key=value")
    settle.add_argument("--adjudicator", required=True)
    settle.add_argument("--raters", help="comma-separated raters it settles (default: all)")
    settle.add_argument("--wait", type=seconds, default=5.0, metavar="SECONDS",
                        help="wait this long for the cache's writer (default 5)")


def run(args: argparse.Namespace) -> int:
    handlers = {"raters": _raters, "rate": _rate, "finish": _finish, "adjudicate": _adjudicate}
    return handlers[args.action](args)


def _raters(args: argparse.Namespace) -> int:
    ratings = read_ratings(args.file)
    rows = [{"rater": name, "traces_rated": len(ratings.values(name)),
             "reviewed": ratings.reviewed_count(name), "finished": ratings.finished(name),
             "legacy": name == ratings.legacy_rater} for name in ratings.raters]
    if args.json:
        print(json.dumps({"raters": rows, "adjudicated": len(ratings.consensus_indexes),
                          "problems": ratings.problems}, indent=2))
        return 0
    if not rows:
        print("no raters")
    for row in rows:
        legacy = " (values from before raters)" if row["legacy"] else ""
        print(f"{row['rater']}: {row['reviewed']} reviewed, {row['traces_rated']} rated, "
              f"{'finished' if row['finished'] else 'not finished'}{legacy}")
    print(f"adjudicated: {len(ratings.consensus_indexes)} traces")
    for problem in ratings.problems:
        print(f"problem: {problem}")
    return 0


def _rate(args: argparse.Namespace) -> int:
    values = _assignments(args.assignments)
    with RaterSession(args.file, args.rater, mode="w", lock_timeout=args.wait) as session:
        before = session.values(args.index)
        after = session.commit(args.index, values, note=args.note)
        lines = [f"index {args.index} {key}[{args.rater}]: {_shown(before.get(key))} -> "
                 f"{_shown(value)}" for key, value in after.items()
                 if before.get(key) != value or key not in before]
    report(lines or ["nothing changed"], done="the rating is saved")
    return 0


def _finish(args: argparse.Namespace) -> int:
    with RaterSession(args.file, args.rater, mode="w", lock_timeout=args.wait) as session:
        session.finish()
    report([f"{args.rater} finished"], done="the rater is marked finished")
    return 0


def _adjudicate(args: argparse.Namespace) -> int:
    values = _assignments(args.assignments)
    settled = ([name.strip() for name in args.raters.split(",") if name.strip()]
               if args.raters else read_ratings(args.file).raters)
    try:
        adjudicate(args.file, args.index, values, args.adjudicator, settled,
                   lock_timeout=args.wait)
    except CheckpointError as error:  # raised at close, after the consensus was journaled
        print(f"tracemark: warning: {error}", file=sys.stderr)
    with CacheFile(args.file, mode="r") as cache:
        stored = cache.get_trace_attrs_raw(args.index)
    report([f"index {args.index} {key}: {stored.get(key)!r}" for key in values]
           + [f"settled by {args.adjudicator} for {', '.join(settled)}"],
           done="the consensus is saved")
    return 0


def _shown(value: Any) -> str:
    return "(none)" if value is None else repr(schema.encode(value))
