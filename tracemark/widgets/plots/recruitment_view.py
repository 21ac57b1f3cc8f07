"""The recruitment curve: peak-to-peak amplitude of the traces not rejected (accepted and
unreviewed) against stimulation intensity, the fitted Boltzmann sigmoid and its parameters
(or why there is none).

Rejected traces are drawn as grey crosses and left out of the fit. An edit re-measures
the edited trace and refits, which takes about a millisecond for a session of hundreds of
traces. Hovering a point names its trace (by its number from 1); clicking it asks for that
trace (``trace_selected``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt

from tracemark.analysis import (
    Measures,
    MeasureSettings,
    RecruitmentFit,
    fit_recruitment,
)

from .common import (
    ACCEPTED,
    FIT,
    REJECTED,
    TEXT,
    MeasureControls,
    MeasuredView,
    add_legend,
    fill_legend,
    index_of,
    point_tip,
    style_plot,
    unit_text,
)


class RecruitmentView(MeasuredView):
    def __init__(self, settings: MeasureSettings = MeasureSettings(), parent=None):
        super().__init__(parent)
        self.setObjectName("recruitmentView")
        self.settings = settings
        self.measure_controls = MeasureControls(settings)
        self.controls.addWidget(self.measure_controls)
        self.controls.addStretch(1)
        self.plot = self.graphics.addPlot(row=0, col=0)
        add_legend(self.plot)
        tip = point_tip(self, self._point_text)
        # ``accepted`` holds the traces not rejected (its name predates the vocabulary).
        self.accepted = pg.ScatterPlotItem(size=8, pen=pg.mkPen("w", width=0.5),
                                           brush=pg.mkBrush(ACCEPTED), hoverable=True, tip=tip)
        self.rejected = pg.ScatterPlotItem(size=8, symbol="x", pen=pg.mkPen(None),
                                           brush=pg.mkBrush(REJECTED), hoverable=True, tip=tip)
        self.curve = pg.PlotDataItem(pen=pg.mkPen(FIT, width=2.5))
        self.i50_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(FIT, style=Qt.PenStyle.DashLine),
                                        label="I50", labelOpts={"position": 0.95, "color": FIT})
        for item in (self.curve, self.i50_line, self.accepted, self.rejected):
            self.plot.addItem(item)
        for item in (self.accepted, self.rejected):
            item.sigClicked.connect(self._clicked)
        self.note = self.graphics.addLabel(row=0, col=1, justify="left", color=TEXT.name())
        self.note.setMinimumWidth(235)
        self.graphics.ci.layout.setColumnStretchFactor(0, 4)
        self.measures: Measures | None = None
        self.fit: RecruitmentFit | None = None
        self.measure_controls.changed.connect(self.set_measure_settings)

    def _measures_changed(self) -> None:
        self._refit()

    def _point_text(self, x: float, y: float) -> str:
        units = unit_text(self.measures.units) if self.measures is not None else ""
        return f"{x:g} %MSO, peak-to-peak {y:.1f} {units}"

    def _trace_changed(self, index: int, changed: frozenset[str]) -> None:
        if changed & {"onset_shift", "annotated"}:
            self.measures.update(self.traces, index)
        if changed & {"onset_shift", "annotated", "reject", "intensity_mso"}:
            self._refit()

    def _refit(self) -> None:
        traces, m = self.traces, self.measures
        kept = ~traces.reject
        self.fit = fit_recruitment(traces.intensity_mso[kept], m.amplitude[kept])
        units = unit_text(m.units)
        known = np.isfinite(traces.intensity_mso) & np.isfinite(m.amplitude)
        for item, mask in ((self.accepted, kept), (self.rejected, ~kept)):
            chosen = np.flatnonzero(mask & known)
            item.setData(traces.intensity_mso[chosen], m.amplitude[chosen], data=chosen)
        if self.fit.ok:
            x = traces.intensity_mso[known]
            grid = np.linspace(min(x.min(), self.fit.i50) - 2, max(x.max(), self.fit.i50) + 2, 300)
            self.curve.setData(grid, self.fit.predict(grid))
            self.i50_line.setValue(self.fit.i50)
        else:
            self.curve.setData([], [])
        self.i50_line.setVisible(self.fit.ok)
        without = int((~np.isfinite(traces.intensity_mso) & kept).sum())
        text = self.fit.describe(units)
        if without:
            text += f"\n{without} traces not rejected without intensity"
        heading = "Boltzmann fit<br>A = plateau / (1 + e<sup>(I50 − I) / k</sup>)<br><br>" \
            if self.fit.ok else "No fit<br><br>"
        self.note.setText(heading + text.replace("\n", "<br>"))
        n_kept = int((kept & known).sum())
        n_rejected = int((~kept & known).sum())
        fill_legend(self.plot.legend, [(self.accepted, f"not rejected ({n_kept})")]
                    + ([(self.rejected, f"rejected, not fitted ({n_rejected})")] if n_rejected else [])
                    + ([(self.curve, "fit")] if self.fit.ok else []))
        window = f"{m.settings.start_ms:g}-{m.settings.stop_ms:g} ms"
        style_plot(self.plot, "stimulation intensity (%MSO)", f"peak-to-peak ({units})",
                   f"{m.channel_label}: recruitment curve ({window} after onset)")

    def _clicked(self, item, points, event=None) -> None:
        index = index_of(points)
        if index is not None:
            self.trace_selected.emit(index)
