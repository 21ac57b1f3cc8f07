"""``tracemark cache agreement CACHE [--json]``: how well the raters of a cache agree.

Reads every rater's values (``read_ratings``: read-only, takes no lock, so it runs while
raters work) and prints :func:`tracemark.analysis.agreement.agreement_report` as a table:
traces decided per rater, Cohen's kappa and percent agreement on reject decisions per
pair (Fleiss' kappa over all raters when there are three or more), and ICC(2,1), mean
difference and Bland-Altman 95 % limits per measured attribute and pair, each with the
number of traces it rests on. A statistic that cannot be computed prints as a dash with
the reason on the next line. What the raters' files hold that cannot be read is left out
of the statistics and named on stderr, one warning a line.

``--json`` prints :meth:`AgreementReport.to_dict` instead: a fixed layout (its ``format``
names the version), null where a statistic is undefined, never NaN.

The cache is only read. A file that is missing or is not a cache is one line on stderr
and exit 1 (:mod:`tracemark.app.cli`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tracemark.analysis.agreement import (
    AgreementReport,
    DecisionAgreement,
    MeasurementAgreement,
    agreement_report,
    raters_label,
)
from tracemark.io_backends.cache import CacheError

DASH = "-"


def configure(actions: Any) -> None:
    """Add the ``agreement`` action to ``tracemark cache``'s subparsers."""
    parser = actions.add_parser("agreement", help="agreement statistics of a cache's raters")
    parser.add_argument("file", metavar="CACHE")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    from tracemark.io_backends.cache import read_ratings

    path = Path(args.file).expanduser()
    if not path.is_file():
        what = "is a folder, not a cache file" if path.is_dir() else "does not exist"
        raise CacheError(path, what)
    ratings = read_ratings(path)
    for problem in ratings.problems:   # a rater's journal that cannot be read is left out
        print(f"tracemark: warning: {problem}", file=sys.stderr)
    report = agreement_report(ratings)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print("\n".join(report_lines(report)))
    return 0


def report_lines(report: AgreementReport) -> list[str]:
    """The readable table of the module docstring."""
    if not report.raters:
        return ["no raters: nobody has reviewed a trace of this cache"]
    lines = [f"raters: {', '.join(report.raters)}", "", "traces decided (accepted + rejected):"]
    width = max(len(c.rater) for c in report.counts)
    for c in report.counts:
        lines.append(f"  {c.rater:<{width}}  {c.decided:6d}  ({c.accepted} accepted, "
                     f"{c.rejected} rejected)")
    if len(report.raters) < 2:
        lines += ["", "agreement needs at least two raters"]
        return lines
    decisions = list(report.decisions)
    if report.decisions_all is not None:
        decisions.append(report.decisions_all)
    width = max(len(raters_label(d.raters)) for d in decisions)
    lines += ["", "reject decisions (traces both raters decided):",
              f"  {'raters':<{width}}  {'n':>6}  {'agreement':>9}  kappa"]
    for decision in decisions:
        lines += _decision_lines(decision, width)
    results = [m for key, pairs in report.measurements.items()
               for m in (*pairs, *([report.measurements_all[key]]
                                   if key in report.measurements_all else []))]
    width = max(len(raters_label(m.raters)) for m in results)
    key_width = max(len(f"{m.key} ({m.unit})") for m in results)
    lines += ["", "onset shift and peaks (traces both raters accepted; difference = first "
                  "rater - second):",
              f"  {'attribute':<{key_width}}  {'raters':<{width}}  {'n':>6}  {'ICC(2,1)':>8}  "
              f"{'mean diff':>10}  95% limits"]
    for result in results:
        lines += _measurement_lines(result, key_width, width)
    return lines


def _decision_lines(result: DecisionAgreement, width: int) -> list[str]:
    agreement = DASH if result.percent_agreement is None else f"{result.percent_agreement:.1f} %"
    kappa = DASH if result.kappa is None else f"{result.kappa:.3f} ({result.kind})"
    lines = [f"  {raters_label(result.raters):<{width}}  {result.n:6d}  {agreement:>9}  {kappa}"]
    return lines + ([f"      {result.undefined}"] if result.undefined else [])


def _measurement_lines(result: MeasurementAgreement, key_width: int, width: int) -> list[str]:
    icc = DASH if result.icc is None else f"{result.icc:.3f}"
    mean = DASH if result.mean_difference is None else f"{result.mean_difference:.2f}"
    limits = DASH if result.limits is None else f"{result.limits[0]:.2f} .. {result.limits[1]:.2f}"
    attribute = f"{result.key} ({result.unit})"
    lines = [f"  {attribute:<{key_width}}  {raters_label(result.raters):<{width}}  "
             f"{result.n:6d}  {icc:>8}  {mean:>10}  {limits}"]
    return lines + ([f"      {result.undefined}"] if result.undefined else [])
