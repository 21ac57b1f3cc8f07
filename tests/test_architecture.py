"""The layer rules of CONVENTIONS.md, checked by import-linter on every test run."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint_imports, "import-linter is part of the test extra; install with pip install -e .[test]"
    result = subprocess.run([lint_imports, "--no-cache"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout and "BROKEN" not in result.stdout


def test_contracts_are_configured_for_both_layers():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    sources = {tuple(c["source_modules"]) for c in config["contracts"] if c["type"] == "forbidden"}
    assert ("tracemark.io_backends",) in sources and ("tracemark.widgets",) in sources


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def test_a_contract_keeps_test_code_out_of_the_app():
    config = _pyproject()["tool"]["importlinter"]
    assert "testkit" in config["root_packages"], "import-linter cannot see the test kit unless it is a root"
    guards = [c for c in config["contracts"] if c["type"] == "forbidden" and c["source_modules"] == ["tracemark"]]
    assert any({"testkit", "pytest"} <= set(c["forbidden_modules"]) for c in guards), guards


def test_the_wheel_carries_no_test_code():
    """The packages setuptools puts in the wheel (pyproject's package discovery) are
    tracemark's own: not the test kit beside it, and no test module inside it. The pytest
    plugin labs use, tracemark.testing, is a product feature and ships. The PyInstaller
    bundle takes tracemark's modules and what they import, so the contract above keeps the
    test kit out of it too."""
    from setuptools import find_namespace_packages, find_packages

    find = _pyproject()["tool"]["setuptools"]["packages"]["find"]
    finder = find_namespace_packages if find.get("namespaces", True) else find_packages
    shipped = finder(where=str(REPO_ROOT), include=find["include"], exclude=find.get("exclude", ()))
    assert "testkit" in finder(where=str(REPO_ROOT)), "the test kit moved: point this test at it"
    assert "tracemark" in shipped and "tracemark.testing" in shipped
    assert [name for name in shipped if name.split(".")[0] != "tracemark"] == []
    test_names = {"test", "tests", "testkit", "conftest", "testing"}
    for package in shipped:
        assert package == "tracemark.testing" or package.split(".")[-1] not in test_names, package
        for module in (REPO_ROOT / package.replace(".", "/")).glob("*.py"):
            stem = module.stem
            assert not (stem in test_names or stem.startswith("test_") or stem.endswith("_test")), \
                f"{module.relative_to(REPO_ROOT)} looks like test code and would ship in the wheel"
