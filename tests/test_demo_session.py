"""The demo on first use: its cache is built once, names the demo recording beside it, holds
the ground truth entered through the cache's writer, and leaves nothing else behind."""

from __future__ import annotations

import json

from tracemark.app.demo_session import DEMO_CACHE_NAME, ensure_demo_session
from tracemark.io_backends.cache import CacheFile


def test_the_demo_cache_names_its_recording_and_leaves_no_staging(tmp_path):
    folder = tmp_path / "demo"
    demo = ensure_demo_session(folder)
    assert demo.cache == folder / DEMO_CACHE_NAME and demo.recording.parent == folder
    trials = json.loads(next(folder.glob("*.trials.json")).read_text())["trials"]
    with CacheFile(demo.cache, mode="r") as cache:
        sources = {cache.origin_attrs(origin)["source_file"] for origin in cache.origins}
        assert sources == {str(demo.recording.absolute())}
        first = cache.get_trace_attrs(0)
        assert first["stimulation_intensity_mso"] == trials[0]["intensity_mso"]
        assert len(cache) == len(trials)
    # The private build folder, its journal and its lock are gone; no temporary is left.
    assert sorted(p.suffix for p in folder.iterdir()) == [".TRC", ".hdf5", ".json", ".nwb"]

    built_at = demo.cache.stat().st_mtime_ns
    again = ensure_demo_session(folder)
    assert again == demo and demo.cache.stat().st_mtime_ns == built_at  # built once
