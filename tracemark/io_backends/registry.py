"""Choose a backend for a file from its content first and its suffix second.

Content wins because suffixes lie (``.edf`` files that are BDF, NWB files named
``.h5``). Each backend module exposes ``open_<format>(path, **options)``; they are
imported on demand so that opening a TRC file never pays for importing pynwb or neo.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from .errors import RecordingError, UnsupportedFormatError
from .protocol import BaseRecording

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
BDF_SIGNATURE = b"\xffBIOSEMI"
EDF_SIGNATURE = b"0       "
#: Offsets at which HDF5 may place its superblock (after a user block).
HDF5_SUPERBLOCK_OFFSETS = (0, 512, 1024, 2048)

#: format name -> (module, opener function)
BACKENDS = {
    "trc": ("tracemark.io_backends.trc", "open_trc"),
    "nwb": ("tracemark.io_backends.nwb", "open_nwb"),
    "edf": ("tracemark.io_backends.edf", "open_edf"),
    "neo": ("tracemark.io_backends.neo_generic", "open_with_neo"),
    # Local NWB-Zarr folders share the streaming reader (hdmf-zarr opens either).
    "nwb-zarr": ("tracemark.io_backends.remote.nwb_zarr", "open_nwb_zarr"),
}

SUFFIXES = {".trc": "trc", ".nwb": "nwb", ".edf": "edf", ".bdf": "edf", ".rec": "edf"}


def sniff_format(path: str | Path) -> str:
    """The backend name for ``path``, from its first bytes, then its suffix.

    Raises a ``RecordingError`` when the file is missing, unreadable, empty or not a
    regular file (a named pipe would block the read forever).
    """
    path = Path(path)
    if not path.exists():
        raise RecordingError(path, "no such file")
    if path.is_dir():
        if path.suffix.lower() == ".zarr":
            return _zarr_folder_format(path)
        # Directory-based formats (e.g. Open Ephys, Blackrock sets) are neo's domain.
        return "neo"
    _refuse_special_file(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(2048 + 8)
    except OSError as exc:
        raise RecordingError(path, f"cannot be read: {exc.strerror or exc}") from exc
    return format_of_head(path, head, path.suffix.lower())


def format_of_head(path: Path, head: bytes, suffix: str) -> str:
    """The backend name for a file that starts with ``head``, else for its ``suffix``."""
    if not head:
        raise UnsupportedFormatError(path, "the file is empty (0 bytes)")
    if head.startswith(BDF_SIGNATURE) or head.startswith(EDF_SIGNATURE):
        return "edf"
    if any(head[o:o + 8] == HDF5_SIGNATURE for o in HDF5_SUPERBLOCK_OFFSETS):
        return "nwb"
    if _looks_like_trc(head):
        return "trc"
    return SUFFIXES.get(suffix, "neo")


def _zarr_folder_format(path: Path) -> str:
    # A Zarr (v2) store's root holds .zgroup, and .zmetadata once consolidated; hdmf-zarr
    # writes both. A ".zarr" folder without them is not one neo could read either.
    if (path / ".zmetadata").is_file() or (path / ".zgroup").is_file():
        return "nwb-zarr"
    raise UnsupportedFormatError(path, "is a folder named .zarr without .zgroup or .zmetadata, "
                                       "so not a Zarr (v2) store; NWB-Zarr folders written by "
                                       "hdmf-zarr hold both")


def _refuse_special_file(path: Path) -> None:
    # Reading a pipe blocks until something writes to it: refuse rather than hang.
    if path.exists() and not path.is_dir() and not path.is_file():
        raise UnsupportedFormatError(path, "is not a regular file (a pipe, socket or device); "
                                     "recordings are read from files")


def _looks_like_trc(head: bytes) -> bool:
    # The first 32 bytes of every Micromed TRC hold the title "* MICROMED  Brain-Quick file *".
    return b"MICROMED" in head[:32]


def open_recording(path: str | os.PathLike[str], *, format: str | None = None, lazy: bool = True,
                   **options: Any) -> BaseRecording:
    """Open ``path`` read-only with the backend its content calls for.

    ``format`` forces a backend (``"trc"``, ``"nwb"``, ``"edf"``, ``"neo"``, ``"nwb-zarr"``: a
    local ``x.nwb.zarr`` folder, found by sniffing too). ``lazy=False`` loads every stream
    into memory before returning (``load_into_memory()``: later reads
    are served from memory until ``uncache()``); the default reads from the file on
    demand. Other options are passed to the backend's opener. Raises a
    ``RecordingError`` subclass naming the file and the problem when it cannot be read.

    ``path`` may be a URL (``https://``, ``s3://``, ``dandi://``): the recording is then
    streamed from the server (:mod:`tracemark.io_backends.remote`, whose options such as
    ``timeout`` and ``cache_dir`` are accepted too).
    """
    if "://" in str(path):
        from . import remote  # only URLs pay for the network code

        if remote.is_remote(path):
            return _loaded(remote.open_remote_recording(path, format=format, **options), lazy)
    path = Path(path)
    if format is not None:
        _refuse_special_file(path)  # sniffing, which checks this, is skipped
    name = format or sniff_format(path)
    if name not in BACKENDS:
        raise UnsupportedFormatError(path, f"unknown format {name!r}; known: {', '.join(BACKENDS)}")
    module_name, opener_name = BACKENDS[name]
    opener = getattr(importlib.import_module(module_name), opener_name)
    return _loaded(opener(path, **options), lazy)


def _loaded(recording: BaseRecording, lazy: bool) -> BaseRecording:
    if not lazy:
        try:
            recording.load_into_memory()
        except BaseException:
            recording.close()
            raise
    return recording
