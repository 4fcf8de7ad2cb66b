"""The window of a raster that covers a study grid: exact for a grid on the raster's lattice, padded, clipped."""

from __future__ import annotations

from affine import Affine

from soilsat.grid import StudyGrid
from soilsat.grid_window import covering_window

RASTER = ("EPSG:32632", Affine(10.0, 0.0, 500000.0, 0.0, -10.0, 6200000.0), (1000, 1000))


def test_window_of_a_grid_on_the_rasters_lattice_is_its_pixels_plus_the_margin():
    grid = StudyGrid("c", 32632, 500100.0, 6199800.0, 7, 5)  # rows 20..24, columns 10..16
    assert covering_window(grid, *RASTER, margin_px=0) == (20, 10, 5, 7)
    assert covering_window(grid, *RASTER, margin_px=2) == (18, 8, 9, 11)


def test_window_is_clipped_to_the_raster_and_none_outside_it():
    corner = StudyGrid("c", 32632, 499980.0, 6200020.0, 5, 5)  # two pixels beyond the top-left corner
    assert covering_window(corner, *RASTER, margin_px=1) == (0, 0, 4, 4)
    far = StudyGrid("f", 32632, 600000.0, 6000000.0, 5, 5)
    assert covering_window(far, *RASTER) is None


def test_window_of_a_grid_in_another_zone_covers_its_reprojected_footprint():
    # a chip in zone 33 near the zone edge, read from a zone-32 raster around it
    grid = StudyGrid("z33", 32633, 300000.0, 6200000.0, 11, 11)
    raster = ("EPSG:32632", Affine(10.0, 0.0, 650000.0, 0.0, -10.0, 6250000.0), (10000, 10000))
    row, col, height, width = covering_window(grid, *raster, margin_px=0)
    assert 11 <= height <= 14 and 11 <= width <= 14  # a rotated footprint needs a little more
    assert 0 < row < 10000 and 0 < col < 10000
