"""What the reviewed traces say, computed without Qt or files: averages aligned on the
corrected onsets, per-trace peak-to-peak amplitude and latency, recruitment curves with a
fitted sigmoid, coil-position maps, and how well several raters of one cache agree
(``agreement``: kappas, ICC, limits of agreement; it takes the raters' values, not a TraceSet).

Inputs are plain numpy arrays gathered in a :class:`TraceSet` (``tracemark.app.plot_data``
fills one from a cache file); results are small dataclasses that the views in
``tracemark.widgets.plots`` draw and that scripts can use directly. This package imports no
Qt, no pyqtgraph and no h5py (an import-linter contract in ``pyproject.toml``).
"""

import importlib
from typing import Any

#: Public name -> submodule. The submodules load on first use, so that importing one of
#: them (the trace editor uses ``peaks``) does not load them all at start-up.
_EXPORTS = {
    "AgreementReport": "agreement", "agreement_report": "agreement",
    "AverageAccumulator": "average", "AverageResult": "average", "align_on_onsets": "average",
    "average_response": "average",
    "PROJECTIONS": "map", "MapData": "map", "MapSettings": "map", "Projection": "map",
    "map_data": "map", "projection_extent": "map", "projection_image": "map",
    "MeasureSettings": "measures", "Measures": "measures", "compute_measures": "measures",
    "RecruitmentFit": "recruitment", "boltzmann": "recruitment", "fit_recruitment": "recruitment",
    "TraceSet": "traces", "default_channel": "traces",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tracemark.analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
