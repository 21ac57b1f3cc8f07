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


def point_at_recording(cache, recording):
    """Name ``recording`` as the source of every origin of a copied ``cache``.

    A fixture's shortcut around the cache's writer, which has no way to move an origin's
    source: the copy is new and nothing else has it open."""
    import h5py

    with h5py.File(cache, "r+") as f:
        for name in f:
            if "source_file" in f[name].attrs:
                f[name].attrs["source_file"] = str(Path(recording).absolute())


@pytest.fixture
def demo_cache(demo_template, tmp_path):
    """A private copy of the demo cache, pointing at its own copy of the recording."""
    import shutil

    for path in demo_template.parent.iterdir():
        if path.is_file() and not path.name.endswith((".journal", ".lock")):
            shutil.copy2(path, tmp_path / path.name)
    copy = tmp_path / demo_template.name
    point_at_recording(copy, tmp_path / "tracemark-demo-v1.TRC")
    return copy


#: Test modules that run twice, on the platform's native file primitives and on the
#: portable ones Windows takes (``tracemark.io_backends.cache.portable_io``): the cache
#: suite, crash and power-loss tests included (the damaged-cache corpus, on the portable
#: paths, only its journal and lock cases). Other modules run once, natively.
BOTH_FILE_PATHS_MODULES = ("test_cache_", "test_bad_input_cache")


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__.startswith(BOTH_FILE_PATHS_MODULES):
        metafunc.parametrize("file_paths", ["native", "portable"], indirect=True, scope="module")


def _native_call_on_the_portable_path(*args, **kwargs):
    raise AssertionError("a POSIX-only file call was made while the portable paths are forced")


@pytest.fixture(scope="module", autouse=True)
def file_paths(request):
    """``native`` unless the module is in :data:`BOTH_FILE_PATHS_MODULES`, whose tests run
    first natively, then all again on the portable paths (a module fixture that depends on
    the paths, such as a corpus run in worker processes, requests this one to be made once
    per mode). ``portable`` forces the portable paths here and, through the environment, in
    every process a test starts; the POSIX-only calls they replace fail in this process, so
    that a cache module calling one directly is caught."""
    mode = getattr(request, "param", "native")
    if mode != "portable":
        yield mode
        return
    import fcntl

    from tracemark.io_backends.cache import portable_io

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(portable_io.PORTABLE_IO_ENV, "1")
        monkeypatch.setattr(portable_io, "portable", True)
        for name in ("pread", "pwrite", "fdatasync"):
            monkeypatch.setattr(os, name, _native_call_on_the_portable_path, raising=False)
        monkeypatch.setattr(fcntl, "flock", _native_call_on_the_portable_path)
        yield mode
