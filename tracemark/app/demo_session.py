"""The demo on first use: the demo recording (``tracemark.demo``) and a trace cache of its
pulses beside it in the user's data folder, so ``tracemark --demo`` opens both side by side.

The cache is cut from the demo recording where it lies, so it names that recording as its
source, and its ground truth is entered through the cache's own writer. All of this happens
in a private folder; the finished cache is then moved into place atomically
(:mod:`tracemark.storage.atomic`), so an interrupted first run, or two first runs at once,
never leave a half-built demo cache, and its journal and lock stay in the private folder.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from tracemark.demo import demo_folder, ensure_demo_files
from tracemark.storage import atomic

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
            built = build_demo_cache(folder, out=staging / DEMO_CACHE_NAME)
            atomic.replace_file(built, cache)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return DemoSession(files.trc, cache)
