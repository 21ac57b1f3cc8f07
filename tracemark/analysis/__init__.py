"""What the reviewed traces say, computed without Qt or files: averages aligned on the
corrected onsets, per-trace peak-to-peak amplitude and latency, recruitment curves with a
fitted sigmoid, and coil-position maps.

Inputs are plain numpy arrays gathered in a :class:`TraceSet` (``tracemark.app.plot_data``
fills one from a cache file); results are small dataclasses that the views in
``tracemark.widgets.plots`` draw and that scripts can use directly. This package imports no
Qt, no pyqtgraph and no h5py (an import-linter contract in ``pyproject.toml``).
"""

from .average import AverageAccumulator, AverageResult, align_on_onsets, average_response
from .map import (PROJECTIONS, MapData, MapSettings, Projection, map_data, projection_extent,
                  projection_image)
from .measures import MeasureSettings, Measures, compute_measures
from .recruitment import RecruitmentFit, boltzmann, fit_recruitment
from .traces import TraceSet, default_channel

__all__ = [
    "AverageAccumulator", "AverageResult", "MapData", "MapSettings", "MeasureSettings",
    "Measures", "PROJECTIONS", "Projection", "RecruitmentFit", "TraceSet", "align_on_onsets",
    "average_response", "boltzmann", "compute_measures", "default_channel", "fit_recruitment",
    "map_data", "projection_extent", "projection_image",
]
