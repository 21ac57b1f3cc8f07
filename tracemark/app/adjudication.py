"""Adjudication: the window in which an adjudicator steps through the traces the raters of
a cache disagree on and records a consensus for each.

Wires the :class:`~tracemark.widgets.editor.adjudication_view.AdjudicationView` (plain data
in, intent signals out) to the cache: every rater's values come from ``read_ratings``
(read afresh when the window opens and after each consensus), which traces count as
disagreements is :mod:`tracemark.domain.rater_choices`' rule, and a consensus is written
by the cache package's ``adjudicate`` (the plain attributes plus ``consensus_by``, the
adjudicator, and ``consensus_raters``, the raters who had reviewed the trace). That write
takes the cache's writer lock for a moment and folds the edit into the file, so it runs on
a worker; the view shows the consensus once it is durable, or the error naming the file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import QDialog, QVBoxLayout, QWidget

from tracemark.domain import trace_attributes as keys
from tracemark.domain.rater_choices import choices_of, differing_attributes, disagreements, reviewing
from tracemark.domain.trace_numbers import trace_label
from tracemark.io_backends.cache import CacheError
from tracemark.io_backends.cache.raters import Ratings, adjudicate, read_ratings
from tracemark.widgets.editor.adjudication_view import AdjudicationCase, AdjudicationView, Disagreement

from .annotation_session import AnnotationSession
from .workers import Task


class Adjudication(QObject):
    """The adjudication window of one open cache (see the module docstring)."""

    #: A short line for the status bar.
    status = pyqtSignal(str)

    def __init__(self, session: AnnotationSession, adjudicator: str,
                 show_error: Callable[[str, str], Any], parent: QWidget):
        super().__init__(parent)
        self.session = session
        self.adjudicator = adjudicator
        self.show_error = show_error
        self.per_rater: dict[str, dict[int, dict[str, Any]]] = {}
        self.ratings: Ratings | None = None
        self.recording: Task | None = None
        self.dialog = QDialog(parent)
        self.dialog.setObjectName("adjudicationDialog")
        self.dialog.setWindowTitle(f"Adjudicate disagreements — {session.path.name} — as {adjudicator}")
        self.dialog.resize(1100, 760)
        self.view = AdjudicationView(self.dialog)
        layout = QVBoxLayout(self.dialog)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.view.case_requested.connect(self.show)
        self.view.consensus_recorded.connect(self.record)

    def open(self) -> list[int]:
        """Show the window on the current disagreement (or the first); the traces listed."""
        listed = self.refresh()
        self.dialog.show()
        self.dialog.raise_()
        if listed:
            current = self.view.current_index
            self.show(current if current in listed else listed[0])
            self.view.setFocus()
        self.status.emit(f"{len(listed)} traces on which the raters disagree"
                         if listed else "The raters agree on every trace they have both reviewed.")
        return listed

    def close(self) -> None:
        """Close the window; a consensus being written is finished first (it is durable
        only once written, and must not report back to a closed window)."""
        if self.recording is not None and not self.recording.done:
            self.recording.wait(30.0)
        self.dialog.close()

    def refresh(self) -> list[int]:
        """Read every rater again and list the disagreements; their trace indexes."""
        self.ratings = ratings = read_ratings(self.session.path)
        self.per_rater = {rater: ratings.values(rater) for rater in ratings.raters}
        listed = disagreements(self.per_rater, range(len(self.session)))
        self.view.set_disagreements([
            Disagreement(index, differing_attributes(choices_of(self.per_rater, index)),
                         str((ratings.consensus(index) or {}).get(keys.CONSENSUS_BY) or ""))
            for index in listed])
        return listed

    def show(self, index: int) -> None:
        choices = choices_of(self.per_rater, index)
        try:
            trace = self.session.trace_view(index)
        except (CacheError, ValueError):   # damaged samples: the choices can still be settled
            trace = self.session.unreadable_view(index, {})
        consensus = None if self.ratings is None else self.ratings.consensus(index)
        self.view.show_case(AdjudicationCase(trace, choices, consensus, differing_attributes(choices)))

    def record(self, index: int, values: dict) -> Task | None:
        """Write the consensus of trace ``index`` (on a worker); None while one is being written."""
        if self.recording is not None and not self.recording.done:
            return None
        raters = reviewing(choices_of(self.per_rater, index))
        path, adjudicator = self.session.path, self.adjudicator

        def write(_progress, _cancelled) -> None:
            adjudicate(path, index, values, adjudicator, raters)

        task = Task(write, name="adjudicate")
        task.finished.connect(lambda _result: self._recorded(index))
        task.failed.connect(self._failed)
        self.status.emit(f"Recording the consensus on {trace_label(index).lower()}…")
        self.recording = task.start()
        return task

    def _recorded(self, index: int) -> None:
        self.refresh()
        self.show(index)
        self.status.emit(f"Consensus on {trace_label(index).lower()} recorded by {self.adjudicator}")

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, CacheError):
            text = f"{error.path}\n\n{error.problem}"
        else:
            text = f"{self.session.path}\n\n{type(error).__name__}: {error}"
        self.view.problem.setText("The consensus was not recorded (see the message).")
        self.show_error("Consensus not recorded", text)
