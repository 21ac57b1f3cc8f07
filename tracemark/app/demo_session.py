"""The demo on first use: the demo recording (``tracemark.demo``) and a trace cache of its
pulses beside it in the user's data folder, so ``tracemark --demo`` opens both side by side.

The cache is built under a private name and renamed into place only once complete, so an
interrupted first run, or two first runs at once, never leave a half-built demo cache.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from tracemark.demo import demo_folder, ensure_demo_files

from .plot_data import build_demo_cache

DEMO_CACHE_NAME = "tracemark-demo-meps.hdf5"


@dataclass(frozen=True)
class DemoSession:
    recording: Path
    cache: Path


def ensure_demo_session(folder: str | os.PathLike | None = None) -> DemoSession:
    """Paths of the demo recording and its cache, creating whichever is missing."""
    folder = Path(folder) if folder is not None else demo_folder()
    files = ensure_demo_files(folder)
    cache = folder / DEMO_CACHE_NAME
    if not cache.exists():
        staging = folder / f".demo-cache-{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True)
        try:
            for path in (files.trc, files.nwb, files.trials_json):
                os.link(path, staging / path.name) if _same_device(path, staging) else \
                    shutil.copy2(path, staging / path.name)
            built = build_demo_cache(staging)
            point_at_recording(built, files.trc)
            os.replace(built, cache)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return DemoSession(files.trc, cache)


def _same_device(a: Path, b: Path) -> bool:
    return a.stat().st_dev == b.stat().st_dev


def point_at_recording(cache: Path, recording: Path) -> None:
    """The cache was cut from the staging copy; name the real demo recording as its source."""
    import h5py

    with h5py.File(cache, "r+") as f:
        for name in f:
            if "source_file" in f[name].attrs:
                f[name].attrs["source_file"] = str(recording.absolute())
