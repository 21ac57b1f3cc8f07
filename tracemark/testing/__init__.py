"""Helpers for driving Tracemark from a lab's own pytest-qt suite.

Installing Tracemark registers a pytest plugin (:mod:`.pytest_plugin`) that provides the
``tracemark_window`` fixture; widget names to find are listed in ``docs/ui-automation.md``.
"""

from .driver import TracemarkDriver, open_tracemark_window

__all__ = ["TracemarkDriver", "open_tracemark_window"]
