"""Tracemark: view electrophysiology recordings and annotate evoked-response traces.

Packages: ``io_backends`` (readers, cache file; no Qt), ``widgets`` (Qt views; no h5py,
no file formats), ``app`` (main window and CLI, the only place that wires the two).
"""



def __getattr__(name: str):
    # ``__version__`` is read from the package metadata on first use: importlib.metadata
    # costs about 50 ms of start-up that opening a window does not need.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("tracemark")
        except PackageNotFoundError:  # running from a source tree that was not installed
            value = "0.0.0+unknown"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'tracemark' has no attribute {name!r}")
