"""Test-only code that tests and benchmarks share; it never ships and the app never imports it.

* :mod:`testkit.cache`: a synthetic in-memory recording, a small cache maker, and the
  deterministic edit workload, fault hooks, forked writers and power-loss model that the
  cache's crash tests and the kill benchmark run.
* :mod:`testkit.damage` (with :mod:`testkit.damage_nwb`) and :mod:`testkit.damage_cache`:
  the bad-input corpus of damaged recordings and damaged trace caches.

This package sits beside ``tracemark/``, not inside it: the wheel takes only packages named
``tracemark*`` (``[tool.setuptools.packages.find]``) and the PyInstaller bundle only
``tracemark``'s modules, so neither carries it. The import contract "runtime code never
imports the test kit" in ``pyproject.toml`` keeps ``tracemark`` from importing it, and
``tests/test_architecture.py`` checks both. The pytest plugin labs use,
:mod:`tracemark.testing`, is a product feature and stays in the package.

Tests find it through ``pythonpath`` in ``[tool.pytest.ini_options]``; a benchmark run as
``python benchmarks/<name>.py`` puts the repository root on ``sys.path`` itself.
"""
