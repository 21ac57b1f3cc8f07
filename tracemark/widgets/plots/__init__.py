"""Pictures of the reviewed traces, one self-contained QWidget each, ready to dock:

* :class:`AverageView`: butterfly of the traces beside their mean ± SD, onset-aligned;
* :class:`MeasuresView`: peak-to-peak amplitude and latency of every trace over the session;
* :class:`RecruitmentView`: amplitude against stimulation intensity with a fitted sigmoid;
* :class:`MapView`: amplitude at the coil coordinates, top / side / front, colour bar.

Every view has the same small API: ``set_data(trace_set)``, ``update_trace(index, attrs)``
after an edit (cheap: only what the edit changes is recomputed), ``export(path)`` (PNG or
SVG of the figure) and the intent signal ``trace_selected(int)`` emitted when a point or
trace is clicked. Views take :class:`tracemark.analysis.TraceSet` objects; they never open
files (``tracemark.app.plot_data`` makes the TraceSet from a cache).
"""

from .average_view import AverageView
from .common import PlotView
from .map_view import MapView
from .measures_view import MeasuresView
from .recruitment_view import RecruitmentView

VIEWS = {"average": AverageView, "measures": MeasuresView, "recruitment": RecruitmentView,
         "map": MapView}

__all__ = ["AverageView", "MapView", "MeasuresView", "PlotView", "RecruitmentView", "VIEWS"]
