"""Summary cache files: a pyramid saved and loaded whole, rejected when stale or damaged."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tracemark.dsp.summary import MinMaxPyramid
from tracemark.storage.summaries import (
    load_summary,
    recording_identity,
    save_summary,
    summary_cache_dir,
    summary_cache_path,
)


@pytest.fixture(scope="module")
def pyramid():
    rng = np.random.default_rng(7)
    data = rng.standard_normal((20_011, 3)).astype(np.float32)
    built = MinMaxPyramid.build(lambda a, b: data[a:b], *data.shape, base_factor=16,
                                level_step=4, chunk_samples=4096)
    assert built is not None
    return built


def test_save_load_round_trip(pyramid, tmp_path):
    path = tmp_path / "sub" / "summary.npz"
    save_summary(pyramid, path, identity="rec.trc|123|456|stream=0")
    loaded = load_summary(path, expected_identity="rec.trc|123|456|stream=0")
    assert loaded is not None
    assert loaded.factors == pyramid.factors and loaded.n_samples == pyramid.n_samples
    for (a_lo, a_hi), (b_lo, b_hi) in zip(loaded.levels, pyramid.levels):
        np.testing.assert_array_equal(a_lo, b_lo)
        np.testing.assert_array_equal(a_hi, b_hi)
    assert [p.name for p in path.parent.iterdir()] == ["summary.npz"]  # no temp left


def test_load_rejects_mismatch_and_damage_without_raising(pyramid, tmp_path):
    path = tmp_path / "summary.npz"
    save_summary(pyramid, path, identity="A")
    assert load_summary(path, expected_identity="B") is None
    assert load_summary(tmp_path / "absent.npz", expected_identity="A") is None
    raw = path.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    assert load_summary(truncated, expected_identity="A") is None
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all" * 100)
    assert load_summary(garbage, expected_identity="A") is None
    inconsistent = tmp_path / "inconsistent.npz"
    np.savez(inconsistent, format_version=1, identity="A", n_samples=10, n_channels=2,
             factors=np.array([4]), mins_0=np.zeros((3, 2), np.float32),
             maxs_0=np.zeros((2, 2), np.float32))
    assert load_summary(inconsistent, expected_identity="A") is None
    old = tmp_path / "old.npz"
    np.savez(old, format_version=0, identity="A")
    assert load_summary(old, expected_identity="A") is None


def test_cache_dir_honours_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = summary_cache_dir()
    assert folder == tmp_path / "xdg" / "tracemark" / "summaries"
    assert summary_cache_path("some identity").parent == folder
    assert summary_cache_path("a") != summary_cache_path("b")


def test_recording_identity_changes_when_the_file_changes(tmp_path):
    source = tmp_path / "rec.bin"
    source.write_bytes(b"x" * 10)
    first = recording_identity(source, stream=0)
    assert recording_identity(source, stream=1) != first
    os.utime(source, ns=(1, 1))
    assert recording_identity(source) != first
    assert str(Path(source).resolve()) in first
