"""The lazily paged signal viewer: data-source protocol, paging, plot, overview, commands.

``SignalViewer`` is the widget; ``SignalSource`` is what it reads from (``tracemark.app``
adapts readers to it); ``ArraySource`` serves an in-memory array.
"""

from .actions import VIEWER_ACTIONS, ActionSet, ActionSpec, ShortcutsDialog
from .request import PageRequest, PageResult
from .source import ArraySource, SignalSource, SourceEvent
from .view_model import ViewModel
from .viewer import SignalViewer

__all__ = [
    "VIEWER_ACTIONS",
    "ActionSet",
    "ActionSpec",
    "ArraySource",
    "PageRequest",
    "PageResult",
    "ShortcutsDialog",
    "SignalSource",
    "SignalViewer",
    "SourceEvent",
    "ViewModel",
]
