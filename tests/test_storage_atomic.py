"""The one atomic replace: what a success, a failure and a crash leave on disk."""

from __future__ import annotations

import os
import stat

import pytest

from tracemark.io_backends.cache import fsops
from tracemark.storage import atomic


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "settings.json"
    path.write_bytes(b"old content")
    return path


class SyncRecorder:
    """Stands in for ``os.fsync``: records what each synced descriptor was, then syncs."""

    def __init__(self, real):
        self.real = real
        self.calls: list[tuple[str, int, bytes | None]] = []  # (kind, inode, target bytes)
        self.watched = None

    def __call__(self, fd):
        info = os.fstat(fd)
        kind = "folder" if stat.S_ISDIR(info.st_mode) else "file"
        seen = self.watched.read_bytes() if self.watched is not None and self.watched.exists() else None
        self.calls.append((kind, info.st_ino, seen))
        self.real(fd)


@pytest.fixture
def syncs(monkeypatch):
    recorder = SyncRecorder(os.fsync)
    monkeypatch.setattr(os, "fsync", recorder)
    return recorder


def test_write_replaces_the_file_and_leaves_no_temporary(target):
    atomic.write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    atomic.write_text(target, "texte \u00e9crit")
    assert target.read_text(encoding="utf-8") == "texte \u00e9crit"
    assert sorted(p.name for p in target.parent.iterdir()) == ["settings.json"]


def test_a_new_file_gets_ordinary_permissions(tmp_path):
    # Exports and recordings are the user's files: not the 0600 of a private temporary.
    mask = os.umask(0o022)
    try:
        atomic.write_bytes(tmp_path / "new.csv", b"x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o644


def test_the_file_and_then_its_folder_are_synced_after_the_rename(target, syncs):
    syncs.watched = target
    atomic.write_bytes(target, b"new content")
    folder_inode = target.parent.stat().st_ino
    kinds = [kind for kind, _, _ in syncs.calls]
    assert kinds == ["file", "folder"]
    _, inode, seen = syncs.calls[1]
    assert inode == folder_inode
    assert seen == b"new content"  # the folder is synced once the rename is done
    _, _, seen_at_file_sync = syncs.calls[0]
    assert seen_at_file_sync == b"old content"  # the data is synced before the rename


def test_an_error_while_writing_keeps_the_old_file_and_no_temporary(target):
    with pytest.raises(RuntimeError, match="half-way"):
        with atomic.open_replacement(target, "wb") as handle:
            handle.write(b"half of the new")
            raise RuntimeError("half-way")
    assert target.read_bytes() == b"old content"
    assert atomic.temporaries_of(target) == []
    assert sorted(p.name for p in target.parent.iterdir()) == ["settings.json"]


def test_an_interrupt_while_writing_also_removes_the_temporary(target):
    with pytest.raises(KeyboardInterrupt):
        with atomic.open_replacement(target, "w", encoding="utf-8") as handle:
            handle.write("partial")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old content"
    assert atomic.temporaries_of(target) == []


def test_a_failed_sync_keeps_the_old_file_and_no_temporary(target, monkeypatch):
    def failing_sync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_sync)
    with pytest.raises(OSError, match="Input/output"):
        atomic.write_bytes(target, b"new content")
    assert target.read_bytes() == b"old content"
    assert atomic.temporaries_of(target) == []


def test_a_failed_rename_removes_the_temporary(tmp_path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "inside").write_bytes(b"keeps the folder non-empty")
    with pytest.raises(OSError):
        atomic.write_bytes(occupied, b"cannot replace a folder")
    assert occupied.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["occupied"]


def test_replacement_hands_out_a_fresh_hidden_path_beside_the_target(target):
    first, second = atomic.Replacement(target), atomic.Replacement(target)
    assert first.temporary != second.temporary
    assert first.temporary.parent == target.parent
    assert first.temporary.name.startswith(".") and first.temporary.suffix == ".json"
    assert not first.temporary.exists()  # writers that refuse to overwrite can create it


def test_replacement_commits_on_success_and_discards_on_error(target):
    with atomic.Replacement(target) as replacement:
        replacement.temporary.write_bytes(b"written by another module's writer")
    assert target.read_bytes() == b"written by another module's writer"
    with pytest.raises(ValueError):
        with atomic.Replacement(target) as replacement:
            replacement.temporary.write_bytes(b"never finished")
            assert atomic.temporaries_of(target) == [replacement.temporary]
            raise ValueError("the writer gave up")
    assert target.read_bytes() == b"written by another module's writer"
    assert atomic.temporaries_of(target) == []


def test_open_replacement_only_writes_new_files(target):
    for mode in ("a", "r+", "ab", "r"):
        with pytest.raises(ValueError, match="mode"):
            with atomic.open_replacement(target, mode):
                pass
    assert target.read_bytes() == b"old content"


def test_the_caches_replace_is_the_same_durable_replace(tmp_path, syncs):
    cache = tmp_path / "c.hdf5"
    cache.write_bytes(b"old")
    tmp = tmp_path / "c.hdf5.building-1"
    tmp.write_bytes(b"new")
    syncs.watched = cache
    fsops.replace(tmp, cache)
    assert cache.read_bytes() == b"new" and not tmp.exists()
    assert ("folder", tmp_path.stat().st_ino, b"new") in syncs.calls


def test_a_disposable_write_skips_the_syncs_but_not_the_atomicity(target, syncs):
    atomic.write_bytes(target, b"a cached block", durable=False)
    assert target.read_bytes() == b"a cached block"
    assert syncs.calls == []
    with pytest.raises(RuntimeError):
        with atomic.open_replacement(target, "wb", durable=False) as handle:
            handle.write(b"half")
            raise RuntimeError("the fetch was cancelled")
    assert target.read_bytes() == b"a cached block"
    assert atomic.temporaries_of(target) == []
