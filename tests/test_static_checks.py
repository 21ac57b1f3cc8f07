"""The static checks that CI relies on, run with the test suite: ruff (lint and import
order) and mypy (strict on the Qt-free layers, a list of exceptions elsewhere that may only
shrink), the shape of the import contracts that tests/test_architecture.py runs, and that
no test asserts on how fast it ran.

Each tool runs in a subprocess with this interpreter, so it is the one from the test extra
(``pip install -e ".[test]"``); a failure shows the tool's own report. The settings live in
pyproject.toml, where a developer's editor finds them too."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = REPO_ROOT / "tracemark"


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def _run_tool(module: str, *args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed here; it is part of the test extra: pip install -e '.[test]'")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout_s)


def test_ruff_finds_nothing():
    result = _run_tool("ruff", "check", "--no-cache", "--output-format", "concise", ".", timeout_s=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(600)  # the subprocess's own limit (540 s) ends a stuck mypy first
def test_mypy_finds_nothing():
    """A cold run takes about half a minute on two idle cores (over a minute and a half when
    they are busy); .mypy_cache makes the next ones a few seconds."""
    result = _run_tool("mypy", "--cache-dir", str(REPO_ROOT / ".mypy_cache"), timeout_s=540)
    assert result.returncode == 0, result.stdout + result.stderr
    # A pattern that matches no module (a module renamed or moved) is only a note to mypy.
    assert "unused section" not in result.stdout + result.stderr, result.stdout + result.stderr


def _mypy_overrides() -> list[dict]:
    return _pyproject()["tool"]["mypy"]["overrides"]


def _module_exists(name: str) -> bool:
    path = REPO_ROOT / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _is_ratchet(override: dict) -> bool:
    """An override that excuses modules: from every check, or from the strict ones."""
    return bool(override.get("ignore_errors")) or override.get("disallow_untyped_defs") is False


def _excused_modules() -> list[str]:
    return [name for override in _mypy_overrides() if _is_ratchet(override) for name in override["module"]]


def test_every_module_the_mypy_ratchet_excuses_exists():
    """The ratchet lists name modules one by one, so that a new module is checked from its
    first line and a module that moves or is renamed leaves the list rather than staying
    excused under its old name."""
    excused = _excused_modules()
    assert excused, "the ratchet is empty: delete this test and the overrides"
    assert [name for name in excused if "*" in name] == [], "the ratchet lists modules, never a whole package"
    assert [name for name in excused if not _module_exists(name)] == []


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.timeout(600)
def test_every_module_the_mypy_ratchet_excuses_still_fails(tmp_path):
    """The ratchet only shrinks: a module that passes once its exception is lifted must
    leave the list, or a later change could break it unseen. mypy runs once more, with
    pyproject's settings less the ratchet, and every listed module must have an error."""
    mypy = _pyproject()["tool"]["mypy"]
    lines = ["[tool.mypy]"] + [f"{key} = {_toml_value(value)}" for key, value in mypy.items() if key != "overrides"]
    for override in (o for o in mypy["overrides"] if not _is_ratchet(o)):
        lines.append("[[tool.mypy.overrides]]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in override.items()]
    config = tmp_path / "mypy_without_the_ratchet.toml"
    config.write_text("\n".join(lines) + "\n")
    result = _run_tool("mypy", "--config-file", str(config), "--cache-dir", str(REPO_ROOT / ".mypy_cache" / "ratchet"),
                       timeout_s=540)
    failing = {line.split(":", 1)[0] for line in result.stdout.splitlines() if ": error:" in line}
    failing_modules = {path.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for path in failing}
    passing = [name for name in _excused_modules() if name not in failing_modules]
    assert passing == [], "these pass now: delete them from the mypy ratchet in pyproject.toml"


def test_the_qt_free_layers_are_strict():
    strict = [override for override in _mypy_overrides() if override.get("disallow_untyped_defs") is True]
    assert len(strict) == 1
    assert {"tracemark.domain.*", "tracemark.dsp.*", "tracemark.analysis.*", "tracemark.io_backends.*"} \
        <= set(strict[0]["module"])
    assert strict[0]["disallow_any_generics"] and strict[0]["warn_return_any"]


def test_import_contracts_are_strict_and_the_layer_order_names_every_package():
    contracts = _pyproject()["tool"]["importlinter"]["contracts"]
    assert [c["name"] for c in contracts if c.get("allow_indirect_imports")] == []
    layer_contracts = [c for c in contracts if c["type"] == "layers"]
    assert len(layer_contracts) == 1
    in_order = {name.strip().strip("()") for layer in layer_contracts[0]["layers"] for name in layer.split("|")}
    packages = {f"tracemark.{p.name}" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages - in_order == set(), "a new package needs its place in the layer order in pyproject.toml"


def test_pytest_reports_the_slowest_tests():
    assert "--durations=" in _pyproject()["tool"]["pytest"]["ini_options"]["addopts"]


# -- no test asserts on wall-clock speed ------------------------------------------------------------
#: Clocks read by their own names; ``time`` counts only as ``time.time()`` (a bare ``time``
#: is as often a ``datetime.time``).
CLOCKS = {"perf_counter", "monotonic", "perf_counter_ns", "monotonic_ns", "time_ns"}
#: What a duration measured elsewhere (a worker pool, a helper module) is called.
DURATION_NAMES = {"elapsed", "took", "seconds"}


def _reads_a_clock(node: ast.AST, timed: set[str], durations: bool = False) -> bool:
    """Whether ``node`` reads a clock, a name in ``timed`` (computed from one) or, with
    ``durations``, a value named as a duration."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            called = inner.func
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            time_time = name == "time" and getattr(getattr(called, "value", None), "id", "") == "time"
            if name in CLOCKS or name in timed or time_time:
                return True
        if isinstance(inner, ast.Name) and (inner.id in timed or durations and inner.id in DURATION_NAMES):
            return True
        if durations and isinstance(inner, ast.Attribute) and inner.attr in DURATION_NAMES:
            return True
    return False


def speed_assertions(source: str) -> list[int]:
    """Lines of ``assert``s that put an upper bound on a time read from a clock (directly,
    or through names computed from one): ``assert elapsed < 5``. A lower bound (``took >=
    0.8``: it did wait) says nothing about speed and is allowed."""
    tree = ast.parse(source)
    timed: set[str] = set()
    for _ in range(3):  # names computed from names (or functions) that read a clock
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and _reads_a_clock(node.value, timed):
                timed |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "append" and isinstance(node.func.value, ast.Name)
                    and any(_reads_a_clock(arg, timed) for arg in node.args)):
                timed.add(node.func.value.id)  # times.append(time.perf_counter() - t0)
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(n, ast.Return) and n.value is not None and _reads_a_clock(n.value, timed)
                    for n in ast.walk(node)):
                timed.add(node.name)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assert):
            continue
        for compare in (n for n in ast.walk(node.test) if isinstance(n, ast.Compare)):
            sides = [compare.left, *compare.comparators]
            for op, left, right in zip(compare.ops, sides, sides[1:]):
                bounded = left if isinstance(op, (ast.Lt, ast.LtE)) else \
                    right if isinstance(op, (ast.Gt, ast.GtE)) else None
                if bounded is not None and _reads_a_clock(bounded, timed, durations=True):
                    found.append(node.lineno)
    return sorted(set(found))


def test_the_speed_detector_finds_a_timed_assertion():
    timed = "import time\nstarted = time.perf_counter()\nwork()\nduration = time.perf_counter() - started\n" \
            "assert duration < 5.0\nassert 1.0 > time.monotonic() - started\n"
    through_a_helper = "def best_time(f):\n    times = []\n    t0 = time.perf_counter()\n    f()\n" \
                       "    times.append(time.perf_counter() - t0)\n    return min(times)\n" \
                       "assert best_time(g) <= 2 * best_time(h)\n"
    measured_elsewhere = "assert results[0].seconds < 10\n"
    waited = "import time\nstarted = time.monotonic()\nwait()\nassert time.monotonic() - started >= 0.3\n"
    assert speed_assertions(timed) == [5, 6]
    assert speed_assertions(through_a_helper) == [7]
    assert speed_assertions(measured_elsewhere) == [1]
    assert speed_assertions(waited) == []


def test_no_test_asserts_on_wall_clock_speed():
    """Speed is the benchmarks' job (benchmarks/); a test that times itself fails on a busy
    machine. Hang guards are timeouts: ``@pytest.mark.timeout`` or a subprocess timeout."""
    offenders = {path.name: lines for path in sorted((REPO_ROOT / "tests").glob("*.py"))
                 if (lines := speed_assertions(path.read_text()))}
    assert offenders == {}
