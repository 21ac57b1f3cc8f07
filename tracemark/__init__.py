"""Tracemark: view electrophysiology recordings and annotate evoked-response traces.

Packages: ``io_backends`` (readers, cache file; no Qt), ``widgets`` (Qt views; no h5py,
no file formats), ``app`` (main window and CLI, the only place that wires the two).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tracemark")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
