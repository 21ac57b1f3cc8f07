"""The trace editor: plot, attribute form, progress and trace table of one cache's traces,
fed plain data (``TraceView``, ``TraceRow``) by the app and answering with intent signals.
No file access here; the contract is in editor.py's docstring and docs. The review states
and their rule come from :mod:`tracemark.domain.review`.

The widget itself (:mod:`.editor`, with its plot, form and table) and the table's data
(:mod:`.model`) load on first use of one of their names, not with the package: the main
window declares the editor's commands at start-up but builds the editor only when it is
needed, and a recording viewed alone does not pay for their import."""

import importlib
from typing import TYPE_CHECKING, Any

from .actions import EDITOR_ACTIONS

if TYPE_CHECKING:
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

#: Where each name loaded on first use lives.
_LOADED_ON_USE = {"NAVIGATIONS": "editor", "TraceEditorWidget": "editor",
                  **dict.fromkeys(("ACCEPT_EDIT", "ACCEPTED", "REJECT_EDIT", "REJECTED", "REVIEW_STATES",
                                   "UNREVIEWED", "TraceRow", "TraceView", "review_state"), "model")}


def __getattr__(name: str) -> Any:
    module = _LOADED_ON_USE.get(name)
    if module is not None:
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EDITOR_ACTIONS", "NAVIGATIONS", "TraceEditorWidget", "TraceRow", "TraceView",
           "ACCEPT_EDIT", "REJECT_EDIT", "ACCEPTED", "REJECTED", "UNREVIEWED", "REVIEW_STATES",
           "review_state"]
