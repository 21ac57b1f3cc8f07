"""The trace editor: plot, attribute form, progress and trace table of one cache's traces,
fed plain data (``TraceView``, ``TraceRow``) by the app and answering with intent signals.
No file access here; the contract is in editor.py's docstring and docs. The review states
and their rule come from :mod:`tracemark.domain.review`."""

from .actions import EDITOR_ACTIONS
from .editor import NAVIGATIONS, TraceEditorWidget
from .model import (
                    ACCEPT_EDIT,
                    ACCEPTED,
                    REJECT_EDIT,
                    REJECTED,
                    REVIEW_STATES,
                    UNREVIEWED,
                    TraceRow,
                    TraceView,
                    review_state,
)

__all__ = ["EDITOR_ACTIONS", "NAVIGATIONS", "TraceEditorWidget", "TraceRow", "TraceView",
           "ACCEPT_EDIT", "REJECT_EDIT", "ACCEPTED", "REJECTED", "UNREVIEWED", "REVIEW_STATES",
           "review_state"]
