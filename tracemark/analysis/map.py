"""Coil-position maps: each trace's amplitude at its stimulation coordinates, seen from the
top (x-y), the side (y-z) and the front (x-z).

Options follow what offspect's ``plot_map`` offers (a value transform such as
``log10(1 + amplitude)``, rejected traces left out or not, a display threshold, a smoothed
picture), with two deliberate differences:

* traces that cannot be placed are never dropped in silence: those without coordinates and
  those without an amplitude are counted and named in :class:`MapData`;
* the smoothed surface is a kernel-weighted *mean* of the amplitudes in the projection
  plane (Nadaraya-Watson, Gaussian kernel of the given FWHM), shown only within about two
  kernel widths of a point. offspect smooths a volume of summed values and rescales its
  maximum, which makes a spot stimulated often look stronger than one stimulated once at
  the same amplitude; a weighted mean does not depend on how often a spot was stimulated.

Scales: ``"uv"`` (the amplitude itself), ``"log"`` (``log10(1 + amplitude)``, for
amplitudes spanning decades) and ``"percent"`` (percent of the largest amplitude shown). A
threshold (in amplitude units) marks traces below it as "below threshold" (drawn apart,
e.g. as hollow markers) and starts the colour scale there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SCALES = ("uv", "log", "percent")


@dataclass(frozen=True)
class Projection:
    """A view direction: which coordinates run along the horizontal and vertical axes."""

    name: str
    title: str
    horizontal: int
    vertical: int


AXIS_NAMES = ("x", "y", "z")
PROJECTIONS = (Projection("top", "Top (x-y)", 0, 1), Projection("side", "Side (y-z)", 1, 2),
               Projection("front", "Front (x-z)", 0, 2))


@dataclass(frozen=True)
class MapSettings:
    scale: str = "uv"
    threshold: float | None = None
    include_rejected: bool = False
    #: Full width at half maximum of the smoothing kernel in coordinate units; 0 = no surface.
    smooth_fwhm: float = 0.0

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {self.scale!r}")
        if self.threshold is not None and not math.isfinite(self.threshold):
            raise ValueError("the threshold must be a finite number")
        if not (math.isfinite(self.smooth_fwhm) and self.smooth_fwhm >= 0):
            raise ValueError("the smoothing width must be a number >= 0")


@dataclass(frozen=True)
class MapData:
    """What the map shows, and what it could not show."""

    indices: np.ndarray
    xyz: np.ndarray
    amplitude: np.ndarray
    values: np.ndarray
    below_threshold: np.ndarray
    value_range: tuple[float, float]
    value_label: str
    missing_coords: tuple[int, ...]
    missing_coords_names: tuple[str, ...]
    missing_amplitude: tuple[int, ...]
    rejected_left_out: int
    n_traces: int
    settings: MapSettings

    def summary(self, max_names: int = 8) -> str:
        """One or two lines: what is shown and what is not, naming traces without coordinates."""
        parts = [f"{len(self.indices)} of {self.n_traces} traces shown"]
        if self.rejected_left_out:
            parts.append(f"{self.rejected_left_out} rejected left out")
        if self.missing_amplitude:
            parts.append(f"{len(self.missing_amplitude)} without amplitude")
        text = "; ".join(parts)
        if self.missing_coords:
            names = ", ".join(self.missing_coords_names[:max_names])
            more = f" and {len(self.missing_coords) - max_names} more" \
                if len(self.missing_coords) > max_names else ""
            text += f"\n{len(self.missing_coords)} without coordinates: {names}{more}"
        return text


def value_label(scale: str, units: str = "uV") -> str:
    unit = "µV" if units == "uV" else units
    return {"uv": f"amplitude ({unit})", "log": f"log10(1 + amplitude / {unit})",
            "percent": "amplitude (% of maximum)"}[scale]


def transform(amplitude: np.ndarray, scale: str, reference: float) -> np.ndarray:
    """Amplitudes -> displayed values; ``reference`` is the 100 % of the percent scale."""
    amplitude = np.asarray(amplitude, dtype=np.float64)
    shown: np.ndarray
    if scale == "log":
        shown = np.log10(1.0 + np.maximum(amplitude, 0.0))
    elif scale == "percent":
        shown = 100.0 * amplitude / reference if reference > 0 else np.full_like(amplitude, np.nan)
    else:
        shown = amplitude.copy()
    return shown


def map_data(amplitude: np.ndarray, xyz: np.ndarray, reject: np.ndarray,
             names: Sequence[str], settings: MapSettings = MapSettings(), units: str = "uV",
             ) -> MapData:
    """Sort the traces into shown / without coordinates / without amplitude / rejected."""
    amplitude = np.asarray(amplitude, dtype=np.float64)
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    reject = np.asarray(reject, bool)
    candidate = np.ones(len(amplitude), bool) if settings.include_rejected else ~reject
    placed = np.isfinite(xyz).all(axis=1)
    measured = np.isfinite(amplitude)
    shown = np.flatnonzero(candidate & placed & measured)
    missing_coords = np.flatnonzero(candidate & ~placed)
    missing_amplitude = np.flatnonzero(candidate & placed & ~measured)
    raw = amplitude[shown]
    reference = float(raw.max()) if raw.size else math.nan
    values = transform(raw, settings.scale, reference)
    below = raw < settings.threshold if settings.threshold is not None else np.zeros(raw.size, bool)
    return MapData(shown, xyz[shown], raw, values, below,
                   _value_range(values, below, settings, reference),
                   value_label(settings.scale, units),
                   tuple(int(i) for i in missing_coords),
                   tuple(names[int(i)] for i in missing_coords),
                   tuple(int(i) for i in missing_amplitude),
                   int((~candidate).sum()), len(amplitude), settings)


def _value_range(values: np.ndarray, below: np.ndarray, settings: MapSettings,
                 reference: float) -> tuple[float, float]:
    above = values[~below]
    if not above.size:
        return (0.0, 1.0)
    low, high = float(above.min()), float(above.max())
    if settings.threshold is not None:
        low = float(transform(np.array([settings.threshold]), settings.scale, reference)[0])
    if settings.scale in ("uv", "percent"):
        low = min(low, 0.0) if settings.threshold is None else low
    if not high > low:
        high = low + 1.0
    return (low, high)


def projection_image(u: np.ndarray, v: np.ndarray, values: np.ndarray, fwhm: float,
                     extent: tuple[float, float, float, float], pixel: float | None = None,
                     ) -> np.ndarray:
    """Kernel-weighted mean of ``values`` at points (u, v) on a grid over ``extent``
    (u0, u1, v0, v1); returns an array (n_u, n_v), NaN farther than ~2 kernel widths from
    every point. The Gaussian kernel is separable, so the sums are two matrix products
    (grid x points) instead of a (grid x grid x points) array."""
    sigma = fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    pixel = pixel or max(sigma / 4.0, 1e-6)
    u0, u1, v0, v1 = extent
    grid_u = np.arange(u0, u1 + pixel / 2, pixel)
    grid_v = np.arange(v0, v1 + pixel / 2, pixel)
    u, v, values = (np.asarray(a, dtype=np.float64) for a in (u, v, values))
    weight_u = np.exp(-0.5 * ((grid_u[:, None] - u[None, :]) / sigma) ** 2)
    weight_v = np.exp(-0.5 * ((grid_v[:, None] - v[None, :]) / sigma) ** 2)
    weights = weight_u @ weight_v.T
    weighted = (weight_u * values[None, :]) @ weight_v.T
    with np.errstate(invalid="ignore", divide="ignore"):
        image: np.ndarray = weighted / weights
    image[weights < math.exp(-2.0)] = np.nan
    return image


def projection_extent(xyz: np.ndarray, projection: Projection, margin: float,
                      ) -> tuple[float, float, float, float]:
    """Axis limits that hold every point plus ``margin`` on each side."""
    if not len(xyz):
        return (-margin, margin, -margin, margin)
    u, v = xyz[:, projection.horizontal], xyz[:, projection.vertical]
    return (float(u.min()) - margin, float(u.max()) + margin,
            float(v.min()) - margin, float(v.max()) + margin)
