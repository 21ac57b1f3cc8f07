"""Qt and pyqtgraph views and their small view-models.

Nothing here imports h5py, a file-format library or ``tracemark.io_backends``: views are
fed through the plain-Python data-source protocols they define, which ``app`` implements
on top of the readers.
"""
