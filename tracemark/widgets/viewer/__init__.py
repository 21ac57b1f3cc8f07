"""The lazily paged signal viewer: paging worker, plot, overview, commands.

``SignalViewer`` is the widget; it reads a :class:`~tracemark.paging.source.SignalSource`
(``tracemark.app`` adapts readers to it) through the Qt-free :mod:`tracemark.paging`.
``VIEWER_ACTIONS`` declares its commands for the shared :mod:`tracemark.widgets.actions`.
"""

from .actions import VIEWER_ACTIONS
from .view_model import ViewModel
from .viewer import SignalViewer

__all__ = [
    "VIEWER_ACTIONS",
    "SignalViewer",
    "ViewModel",
]
