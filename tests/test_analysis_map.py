"""Coil-position maps: which traces are shown, value scales, the smoothed surface."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracemark.analysis import PROJECTIONS, MapSettings, map_data, projection_image

NAMES = tuple(f"#{i}" for i in range(6))


def _inputs():
    amplitude = np.array([100.0, 400.0, np.nan, 30.0, 900.0, 250.0])
    xyz = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [np.nan] * 3, [5, 5, 5], [1, 2, 3]], float)
    reject = np.array([False, False, False, False, False, True])
    return amplitude, xyz, reject


def test_traces_are_sorted_and_none_is_dropped_silently():
    data = map_data(*_inputs(), NAMES)
    assert list(data.indices) == [0, 1, 4]
    assert data.missing_coords == (3,) and data.missing_coords_names == ("#3",)
    assert data.missing_amplitude == (2,)
    assert data.rejected_left_out == 1
    assert len(data.indices) + len(data.missing_coords) + len(data.missing_amplitude) \
        + data.rejected_left_out == data.n_traces
    summary = data.summary()
    assert "3 of 6 traces shown" in summary and "1 rejected left out" in summary
    assert "1 without coordinates: #3" in summary and "1 without amplitude" in summary
    with_rejected = map_data(*_inputs(), NAMES, MapSettings(include_rejected=True))
    assert list(with_rejected.indices) == [0, 1, 4, 5] and with_rejected.rejected_left_out == 0


def test_many_missing_names_are_shortened():
    amplitude = np.ones(20)
    xyz = np.full((20, 3), np.nan)
    data = map_data(amplitude, xyz, np.zeros(20, bool), tuple(f"#{i}" for i in range(20)))
    assert "20 without coordinates: #0, #1" in data.summary(max_names=3)
    assert "and 17 more" in data.summary(max_names=3)


@pytest.mark.parametrize("scale, expected", [
    ("uv", lambda a: a),
    ("log", lambda a: np.log10(1 + a)),
    ("percent", lambda a: 100 * a / 900.0),
])
def test_scales(scale, expected):
    data = map_data(*_inputs(), NAMES, MapSettings(scale=scale))
    np.testing.assert_allclose(data.values, expected(np.array([100.0, 400.0, 900.0])))
    assert data.value_range[1] == pytest.approx(float(expected(np.array([900.0]))[0]))


def test_threshold_marks_and_starts_the_scale():
    data = map_data(*_inputs(), NAMES, MapSettings(threshold=150.0))
    assert list(data.below_threshold) == [True, False, False]
    assert data.value_range == (150.0, 900.0)
    log = map_data(*_inputs(), NAMES, MapSettings(scale="log", threshold=150.0))
    assert log.value_range[0] == pytest.approx(math.log10(151.0))


def test_settings_are_checked():
    with pytest.raises(ValueError, match="scale"):
        MapSettings(scale="sqrt")
    with pytest.raises(ValueError, match="smoothing"):
        MapSettings(smooth_fwhm=-1)


def test_projections_cover_top_side_front():
    assert [(p.name, p.horizontal, p.vertical) for p in PROJECTIONS] == [
        ("top", 0, 1), ("side", 1, 2), ("front", 0, 2)]


def test_surface_is_the_kernel_weighted_mean():
    u = np.array([0.0, 10.0, 3.0])
    v = np.array([0.0, 0.0, 8.0])
    values = np.array([100.0, 300.0, 50.0])
    fwhm, pixel = 6.0, 0.5
    extent = (-5.0, 15.0, -5.0, 13.0)
    image = projection_image(u, v, values, fwhm, extent, pixel)
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    grid_u = np.arange(-5.0, 15.0 + pixel / 2, pixel)
    grid_v = np.arange(-5.0, 13.0 + pixel / 2, pixel)
    assert image.shape == (grid_u.size, grid_v.size)
    for iu in range(0, grid_u.size, 7):
        for iv in range(0, grid_v.size, 5):
            d2 = (grid_u[iu] - u) ** 2 + (grid_v[iv] - v) ** 2
            w = np.exp(-d2 / (2 * sigma ** 2))
            if w.sum() < math.exp(-2):
                assert math.isnan(image[iu, iv])
            else:
                assert image[iu, iv] == pytest.approx((w * values).sum() / w.sum())
    # Halfway between two equally weighted points: their mean (the third is far away).
    assert image[np.searchsorted(grid_u, 5.0), np.searchsorted(grid_v, 0.0)] == \
        pytest.approx(200.0, rel=0.02)
