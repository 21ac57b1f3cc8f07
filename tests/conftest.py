"""Shared test set-up: headless Qt, temporary QSettings, and the ../shared recordings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before any Qt import: tests never need a screen. Qt's offscreen platform would present
# an 800x800 screen; the tests run on a common desktop size instead, 1920x1080.
OFFSCREEN_SCREEN = Path(__file__).resolve().parent / "offscreen_screen.json"
os.environ.setdefault("QT_QPA_PLATFORM", f"offscreen:configfile={OFFSCREEN_SCREEN}")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def shared_files(subdir: str, *suffixes: str) -> list[Path]:
    """Recordings under ../shared/data/<subdir> (empty when that folder is absent)."""
    folder = SHARED_DATA / subdir
    if not folder.is_dir():
        return []
    wanted = {s.lower() for s in suffixes}
    return sorted(p for p in folder.iterdir() if not wanted or p.suffix.lower() in wanted)


def shared_params(subdir: str, *suffixes: str):
    """pytest params over shared recordings, or one param skipped with the reason."""
    files = shared_files(subdir, *suffixes)
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"../shared/data/{subdir} is not present on this machine"))]
    return [pytest.param(p, id=p.name) for p in files]


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """QSettings, caches and demo data go to a temporary folder, never the user's."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("TRACEMARK_USER_DIR", str(home))
    yield


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """The demo recording and its trace cache, built once per test session (never edited:
    tests work on ``demo_cache``'s copy)."""
    from tracemark.app.plot_data import build_demo_cache

    return build_demo_cache(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_cache(demo_template, tmp_path):
    """A private copy of the demo cache, pointing at its own copy of the recording."""
    import shutil

    from tracemark.app.demo_session import point_at_recording

    for path in demo_template.parent.iterdir():
        if path.is_file() and not path.name.endswith((".journal", ".lock")):
            shutil.copy2(path, tmp_path / path.name)
    copy = tmp_path / demo_template.name
    point_at_recording(copy, tmp_path / "tracemark-demo-v1.TRC")
    return copy
