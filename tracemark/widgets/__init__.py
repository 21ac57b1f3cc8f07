"""Qt and pyqtgraph views and their small view-models.

Nothing here imports h5py, a file-format library or ``tracemark.io_backends``: views are
fed through plain-Python data-source protocols (the signal viewer's is
:class:`tracemark.paging.source.SignalSource`, in the Qt-free :mod:`tracemark.paging`),
which ``app`` implements on top of the readers. Commands of every part are declared
with the shared :mod:`tracemark.widgets.actions`.
"""
