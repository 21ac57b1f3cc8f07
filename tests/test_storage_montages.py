"""Saved montages: one file per name, any name safe, damaged files skipped."""

from __future__ import annotations

import pytest

from tracemark.dsp.montage import Derivation, Montage, MontageError, bipolar_longitudinal_1020
from tracemark.storage.montages import MontageLibrary

TEN_TWENTY_OLD = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz", "C4", "T4",
                  "T5", "P3", "Pz", "P4", "T6", "O1", "O2"]

ODD_NAMES = ["My montage", "a/b", "a:b", "A/B", "../../etc/passwd", "CON", ".hidden",
             "Tab\tand\nnewline", "Ünïcödé ∆ 脑电图", "x" * 200, "   spaced   ", "a\\b"]


def test_library_round_trip_with_odd_names(tmp_path):
    library = MontageLibrary(tmp_path / "montages")
    assert library.names() == []
    base = bipolar_longitudinal_1020(TEN_TWENTY_OLD)
    saved = {}
    for name in ODD_NAMES:
        montage = Montage(name, base.derivations[: 1 + len(saved)])
        path = library.save(montage)
        assert path.parent == tmp_path / "montages"      # never escapes the folder
        saved[name] = montage
    assert sorted(library.names()) == sorted(ODD_NAMES)
    for name, montage in saved.items():
        assert name in library
        assert library.load(name) == montage
    assert len(list((tmp_path / "montages").iterdir())) == len(ODD_NAMES)


def test_library_replace_delete_and_errors(tmp_path):
    library = MontageLibrary(tmp_path)
    first = Montage("Mine", (Derivation("Fp1-F7", "Fp1", "F7"),))
    second = Montage("Mine", (Derivation("Cz-Pz", "Cz", "Pz"),))
    library.save(first)
    library.save(second)
    assert library.names() == ["Mine"] and library.load("Mine") == second
    with pytest.raises(MontageError, match="no montage named 'Other'"):
        library.load("Other")
    library.path_for("Broken").write_text("{not json", encoding="utf-8")
    assert library.names() == ["Mine"]                  # damaged file is skipped
    with pytest.raises(MontageError, match="cannot read"):
        library.load("Broken")
    assert library.delete("Mine") is True and library.delete("Mine") is False
    assert "Mine" not in library


def test_library_default_folder_is_in_user_data(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert MontageLibrary().folder == tmp_path / "tracemark" / "montages"
