"""Summary cache files: a recording's min/max pyramid kept between sessions.

Building a :class:`tracemark.dsp.summary.MinMaxPyramid` streams the whole recording, so
the result is kept as an ``.npz`` archive in :func:`summary_cache_dir` (the user's cache
folder, never beside the source recording). A file is named by a hash of an identity
string (:func:`recording_identity`: path, size, modification time, stream, plus whatever
the caller adds), and holds that identity, so a changed recording is never served a stale
summary. Files are replaced atomically (:mod:`.atomic`); a cache file that is absent,
damaged, from another format version or of another identity loads as None.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import platformdirs

from tracemark.dsp.summary import MinMaxPyramid

from . import atomic

__all__ = [
    "load_summary",
    "recording_identity",
    "save_summary",
    "summary_cache_dir",
    "summary_cache_path",
]

FORMAT_VERSION = 1


def summary_cache_dir() -> Path:
    """Folder for summary caches: ``<user cache dir>/tracemark/summaries``.

    Uses ``platformdirs.user_cache_dir`` (which honours ``XDG_CACHE_HOME`` on Linux).
    The folder is not created here; :func:`save_summary` creates it.
    """
    return Path(platformdirs.user_cache_dir("tracemark", appauthor=False)) / "summaries"


def recording_identity(path: str | os.PathLike[str], stream: int | str = 0) -> str:
    """Identity string of one stream of a file: resolved path, size, mtime and stream.

    A cache saved under this identity is rejected when the file is replaced or edited.
    """
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}|stream={stream}"


def summary_cache_path(identity: str) -> Path:
    """Cache file for ``identity`` inside :func:`summary_cache_dir`."""
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]
    return summary_cache_dir() / f"{digest}.npz"


def save_summary(pyramid: MinMaxPyramid, path: str | os.PathLike[str],
                 identity: str | None = None) -> None:
    """Write ``pyramid`` and its identity to ``path`` (.npz), replacing it atomically.

    ``identity`` defaults to the pyramid's own (set when it was built or loaded).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "identity": np.array(pyramid.identity if identity is None else identity),
        "n_samples": np.array(pyramid.n_samples, dtype=np.int64),
        "n_channels": np.array(pyramid.n_channels, dtype=np.int64),
        "factors": np.array(pyramid.factors, dtype=np.int64),
    }
    for i, (mins, maxs) in enumerate(pyramid.levels):
        arrays[f"mins_{i}"] = mins
        arrays[f"maxs_{i}"] = maxs
    with atomic.open_replacement(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_summary(path: str | os.PathLike[str], *, expected_identity: str) -> MinMaxPyramid | None:
    """The pyramid saved at ``path``, or None when it is absent, damaged or stale.

    A cache is disposable: any failure to read it, a format version other than
    this one, or an identity other than ``expected_identity`` means "rebuild", so
    this never raises for a bad cache file.
    """
    try:
        with np.load(Path(path), allow_pickle=False) as archive:
            if int(archive["format_version"]) != FORMAT_VERSION:
                return None
            if str(archive["identity"]) != expected_identity:
                return None
            factors = [int(f) for f in archive["factors"]]
            levels = [(archive[f"mins_{i}"], archive[f"maxs_{i}"])
                      for i in range(len(factors))]
            return MinMaxPyramid(int(archive["n_samples"]), int(archive["n_channels"]),
                                 factors, levels, identity=expected_identity)
    # Deliberately broad: zip, zlib, npy-header, key and shape errors all mean the
    # same thing for a cache, and a cache must never stop a recording from opening.
    except Exception:
        return None
