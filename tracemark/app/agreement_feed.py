"""What the Agreement dock shows: the raters' agreement on the open cache, computed off the
GUI thread when the dock is shown or asks again, and after each edit while it is open.

Blind review holds here too: a rater who has not finished (and has not chosen Trace ›
Reveal other raters) is not shown the report, since its figures and the Bland-Altman
points give the other raters' values away.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject

from .workers import Task

#: What the dock says while a rater's review is blind.
BLIND_TEXT = ("Hidden while you rate blind: Trace › Finish rating, or Trace › Reveal other "
              "raters, shows the agreement.")


class AgreementFeed(QObject):
    """Feeds ``plots`` (the window's PlotDocks) the agreement report of ``window``'s cache."""

    def __init__(self, window: Any):
        super().__init__(window)
        self.window = window
        self.plots = window.plots
        self.task: Task | None = None
        self.plots.agreement_refresh_requested.connect(self.refresh)

    def refresh(self) -> None:
        """Compute the report again (when the dock is open), or say why there is none."""
        if not self.plots.agreement_wanted:
            return
        session = self.window.workspace.session
        if session is None:
            self.plots.set_agreement(None, "Open a trace cache rated by several raters.")
            return
        rater = getattr(session, "rater", None)
        if rater is not None and not rater.others_visible:
            self.plots.set_agreement(None, BLIND_TEXT)
            return
        if self.task is not None and not self.task.done:
            self.task.cancel()
        path = Path(session.path)
        task = Task(lambda _progress, _cancelled: _report_of(path), self, name="agreement")
        task.finished.connect(self._show)
        task.failed.connect(self._failed)
        self.task = task.start()

    def _show(self, result: tuple[Any, str]) -> None:
        self.plots.set_agreement(*result)

    def _failed(self, error: BaseException) -> None:
        self.plots.set_agreement(None, f"The ratings cannot be read: {error}")


def _report_of(path: Path) -> tuple[Any, str]:
    """``(report, "")``, or ``(None, why)`` when the cache has fewer than two raters."""
    from tracemark.analysis.agreement import agreement_report  # noqa: PLC0415 (when first asked)
    from tracemark.io_backends.cache import read_ratings  # noqa: PLC0415

    ratings = read_ratings(path)
    if len(ratings.raters) < 2:
        return None, f"{path.name} has {len(ratings.raters)} rater(s); agreement needs two or more."
    return agreement_report(ratings), ""
