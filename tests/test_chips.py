"""Observation chips: size from the models' window and the filters' halos, placed in each point's UTM zone."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest

from soilsat.chips import (
    ChipShape,
    centre_pixel,
    chip_grid,
    chip_grids,
    chip_shape,
    halo_pixels,
    point_in_chip,
    window_slices,
)
from soilsat.grid import region_grid

# (name, lon, lat, EPSG of its UTM zone): both hemispheres, both sides of the antimeridian and the equator
POINTS = [
    ("jutland", 8.95, 55.95, 32632),
    ("buenos_aires", -58.38, -34.60, 32721),
    ("sydney", 151.21, -33.87, 32756),
    ("greenwich", -0.01, 51.48, 32630),
    ("east_of_dateline", 179.99, 0.5, 32660),
    ("west_of_dateline", -179.99, -0.5, 32701),
    ("nairobi", 36.82, -1.29, 32737),
]


def test_halo_pixels_cover_the_halos_in_grid_pixels():
    assert halo_pixels([30.0, 20.0], 10.0) == 5
    assert halo_pixels([25.0], 10.0) == 3  # a part pixel is a whole one
    assert halo_pixels([], 10.0) == 0
    assert halo_pixels([40.0], 20.0) == 2


def test_chip_shape_is_window_plus_halo_on_each_side():
    shape = chip_shape(5, [30.0, 20.0], 10.0)
    assert (shape.window, shape.halo, shape.side, shape.half) == (5, 5, 15, 7)
    assert centre_pixel(shape) == (7, 7)
    rows, cols = window_slices(shape)
    marked = np.zeros((shape.side, shape.side), dtype=int)
    marked[rows, cols] = 1
    assert marked.sum() == 25 and marked[7, 7] == 1 and marked[4, 7] == 0 and marked[10, 7] == 0


@pytest.mark.parametrize(
    "window, halo, resolution, message",
    [(4, 0, 10.0, "odd"), (0, 0, 10.0, "odd"), (3, -1, 10.0, "halo"), (3, 0, 0.0, "resolution")],
)
def test_chip_shape_refuses_bad_sizes(window, halo, resolution, message):
    with pytest.raises(ValueError, match=message):
        ChipShape(window, halo, resolution)


@pytest.mark.parametrize("name, lon, lat, epsg", POINTS)
def test_chip_lies_in_the_points_utm_zone_with_the_point_in_its_centre_pixel(name, lon, lat, epsg):
    shape = chip_shape(5, [30.0], 10.0)
    grid = chip_grid(name, lon, lat, shape)
    assert grid.epsg == epsg and grid.region == name
    assert grid.shape == (shape.side, shape.side) and grid.resolution == 10.0
    assert point_in_chip(grid, lon, lat) == centre_pixel(shape)
    # the point lies inside the centre pixel's square, in the zone's own projection
    x, y = pyproj.Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    left, top = grid.x0 + shape.half * 10.0, grid.y0 - shape.half * 10.0
    assert left <= x < left + 10.0 and top - 10.0 <= y < top
    if lat < 0:
        assert grid.y0 > 5_000_000  # the southern zones' false northing


@pytest.mark.parametrize("name, lon, lat, epsg", POINTS)
def test_chip_pixels_are_region_grid_pixels(name, lon, lat, epsg):
    chip = chip_grid(name, lon, lat, chip_shape(3, [20.0], 10.0))
    region = region_grid(name, lon, lat, 1000.0, 100.0)
    assert region.epsg == chip.epsg
    # same lattice: corners a whole number of pixels apart, and the chip inside the region grid
    assert (chip.x0 - region.x0) / 10.0 == pytest.approx(round((chip.x0 - region.x0) / 10.0), abs=1e-9)
    assert (region.y0 - chip.y0) / 10.0 == pytest.approx(round((region.y0 - chip.y0) / 10.0), abs=1e-9)
    np.testing.assert_allclose(np.isin(chip.x_coords(), region.x_coords()), True)
    np.testing.assert_allclose(np.isin(chip.y_coords(), region.y_coords()), True)


def test_chip_at_coarser_resolution_is_smaller_in_pixels_not_in_coverage():
    fine = chip_grid("p", 8.95, 55.95, chip_shape(5, [60.0], 10.0))
    coarse = chip_grid("p", 8.95, 55.95, chip_shape(5, [60.0], 20.0))
    assert (fine.width, coarse.width) == (17, 11)
    assert coarse.resolution == 20.0 and coarse.x0 % 20.0 == 0 and coarse.y0 % 20.0 == 0


def test_chip_grids_by_name_and_refusals():
    shape = chip_shape(3, [], 10.0)
    names, lon, lat = zip(*[(n, x, y) for n, x, y, _ in POINTS])
    grids = chip_grids(list(names), list(lon), list(lat), shape)
    assert list(grids) == list(names)
    assert {g.epsg for g in grids.values()} == {e for *_, e in POINTS}
    with pytest.raises(ValueError, match="given twice: a"):
        chip_grids(["a", "b", "a"], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], shape)
    with pytest.raises(ValueError, match="2 names for 1 longitudes"):
        chip_grids(["a", "b"], [1.0], [1.0], shape)
    with pytest.raises(ValueError, match="point q: .* not a longitude and latitude"):
        chip_grid("q", 500000.0, 6200000.0, shape)
