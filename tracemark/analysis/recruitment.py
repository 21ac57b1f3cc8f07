"""Recruitment curve: response amplitude against stimulation intensity, with a fitted
Boltzmann sigmoid

    amplitude(I) = plateau / (1 + exp((I50 - I) / k))

the model of input-output curves in the TMS literature: ``plateau`` is the largest
response (MEPmax), ``I50`` the intensity giving half of it, ``k`` the spread in %MSO (the
curve rises from 27 % to 73 % of the plateau between ``I50 - k`` and ``I50 + k``); its
steepest slope, at ``I50``, is ``plateau / (4 k)``.

The fit is a bounded least-squares fit (``scipy.optimize.curve_fit``, trust-region
reflective). Too few points or intensity levels, a fit that does not converge and
parameters that cannot be estimated give a :class:`RecruitmentFit` with ``ok = False`` and a
message saying why, never an exception: a picture can always say what went wrong.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

MIN_POINTS = 5
MIN_LEVELS = 4


def boltzmann(intensity: npt.ArrayLike, plateau: float, i50: float, k: float) -> np.ndarray:
    """The three-parameter Boltzmann sigmoid (see the module docstring)."""
    z = np.clip((i50 - np.asarray(intensity, dtype=np.float64)) / k, -700, 700)
    amplitude: np.ndarray = plateau / (1.0 + np.exp(z))
    return amplitude


@dataclass(frozen=True)
class RecruitmentFit:
    """A fitted curve (``ok``) or the reason there is none (``message``)."""

    ok: bool
    message: str
    n_points: int
    n_levels: int
    plateau: float = math.nan
    i50: float = math.nan
    k: float = math.nan
    #: Standard errors of plateau, i50 and k from the fit's covariance (NaN if unknown).
    stderr: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    r_squared: float = math.nan
    warnings: tuple[str, ...] = field(default=())

    @property
    def max_slope(self) -> float:
        """Steepest slope, at I50, in amplitude units per %MSO."""
        return self.plateau / (4.0 * self.k) if self.ok else math.nan

    def predict(self, intensity: npt.ArrayLike) -> np.ndarray:
        if not self.ok:
            return np.full(np.shape(intensity), np.nan)
        return boltzmann(intensity, self.plateau, self.i50, self.k)

    def describe(self, units: str = "uV") -> str:
        """The parameters as lines of text, for a legend or the command line."""
        if not self.ok:
            return self.message
        se = self.stderr
        lines = [f"plateau {self.plateau:.0f} ± {se[0]:.0f} {units}",
                 f"I50 {self.i50:.1f} ± {se[1]:.1f} %MSO",
                 f"k {self.k:.2f} ± {se[2]:.2f} %MSO",
                 f"max slope {self.max_slope:.1f} {units}/%MSO",
                 f"R² {self.r_squared:.3f}, n = {self.n_points}"]
        return "\n".join(lines + list(self.warnings))


def fit_recruitment(intensity: npt.ArrayLike, amplitude: npt.ArrayLike) -> RecruitmentFit:
    """Fit the sigmoid to the finite (intensity, amplitude) pairs."""
    intensities = np.asarray(intensity, dtype=np.float64)
    amplitudes = np.asarray(amplitude, dtype=np.float64)
    keep = np.isfinite(intensities) & np.isfinite(amplitudes)
    x, y = intensities[keep], amplitudes[keep]
    n, levels = int(x.size), int(np.unique(x).size)
    if n < MIN_POINTS or levels < MIN_LEVELS:
        return RecruitmentFit(False, f"not enough data for a fit: {n} traces with an intensity "
                                     f"and an amplitude at {levels} intensity levels (needs at "
                                     f"least {MIN_POINTS} traces at {MIN_LEVELS} levels)", n, levels)
    if np.ptp(y) <= 0:
        return RecruitmentFit(False, "no fit: every amplitude is the same", n, levels)
    span = float(np.ptp(x))
    guess = _initial_guess(x, y)
    bounds = ([0.0, x.min() - span, span / 1000.0], [10.0 * y.max(), x.max() + span, 2.0 * span])
    # Imported here, on the first fit: scipy.optimize takes about half a second to import,
    # which a person who only looks at a recording should not wait for.
    from scipy.optimize import OptimizeWarning, curve_fit  # noqa: PLC0415

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", OptimizeWarning)
            params, covariance = curve_fit(boltzmann, x, y, p0=guess, bounds=bounds, maxfev=5000)
    except (RuntimeError, OptimizeWarning, ValueError) as error:
        return RecruitmentFit(False, f"the sigmoid fit did not converge ({error})", n, levels)
    plateau, i50, k = (float(v) for v in params)
    se_plateau, se_i50, se_k = (float(v) for v in np.sqrt(np.clip(np.diag(covariance), 0, None)))
    stderr = (se_plateau, se_i50, se_k)
    if not all(math.isfinite(v) for v in stderr):
        stderr = (math.nan, math.nan, math.nan)
    residual = y - boltzmann(x, *params)
    total = float(np.sum((y - y.mean()) ** 2))
    r_squared = 1.0 - float(np.sum(residual ** 2)) / total
    notes = []
    if not x.min() <= i50 <= x.max():
        notes.append("I50 lies outside the intensities measured: an extrapolation")
    if boltzmann(x.max(), *params) < 0.9 * plateau:
        notes.append("the plateau is not reached at the highest intensity: an extrapolation")
    return RecruitmentFit(True, "fitted", n, levels, plateau, i50, k, stderr, r_squared,
                          tuple(notes))


def _initial_guess(x: np.ndarray, y: np.ndarray) -> list[float]:
    """Plateau from the top responses, I50 where the level means cross half of it."""
    plateau = float(np.percentile(y, 90))
    levels = np.unique(x)
    means = np.array([y[x == level].mean() for level in levels])
    above = np.flatnonzero(means >= plateau / 2)
    i50 = float(levels[above[0]]) if above.size else float(levels[-1])
    return [max(plateau, 1e-9), i50, max(float(np.ptp(x)) / 10.0, 1e-3)]
