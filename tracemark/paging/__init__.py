"""Paging a signal for display, without Qt: from a requested page to min/max bins.

:mod:`.source`
    the :class:`~.source.SignalSource` protocol the viewer reads from (``tracemark.app``
    adapts file readers to it) and :class:`~.source.ArraySource` over an in-memory array;
:mod:`.request`
    the immutable :class:`~.request.PageRequest` a viewport becomes and the
    :class:`~.request.PageResult` a worker hands back;
:mod:`.pipeline`
    :class:`~.pipeline.DisplayPipeline`, which turns a request into bins (reading,
    montage, display filter, decimation) on any thread.

This package may import numpy, ``tracemark.dsp`` and ``tracemark.domain``. It imports no
Qt or pyqtgraph, no file-format library and nothing of ``tracemark.io_backends``,
``tracemark.widgets`` or ``tracemark.app``: the viewer's worker threads run it, and
tools and tests page a source with it without a GUI. An import-linter contract in
``pyproject.toml`` holds it to that.
"""
