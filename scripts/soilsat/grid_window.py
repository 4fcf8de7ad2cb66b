"""The window of a raster that covers a study grid: what a chip needs of a remote band, and no more."""

from __future__ import annotations

import math

from affine import Affine
from rasterio.warp import transform_bounds

from soilsat.grid import StudyGrid


def covering_window(
    grid: StudyGrid, crs: str, transform: Affine, shape: tuple[int, int], margin_px: int = 2
) -> tuple[int, int, int, int] | None:
    """(row, col, height, width) of the pixels of a raster (CRS, transform, shape) that cover the grid, widened by
    `margin_px` for resampling and clipped to the raster; None when they do not overlap."""
    left, bottom, right, top = transform_bounds(grid.crs, crs, *grid.bounds, densify_pts=21)
    inverse = ~transform
    cols, rows = zip(*(inverse @ (x, y) for x in (left, right) for y in (bottom, top)))
    r0, r1 = math.floor(min(rows)) - margin_px, math.ceil(max(rows)) + margin_px
    c0, c1 = math.floor(min(cols)) - margin_px, math.ceil(max(cols)) + margin_px
    r0, c0 = max(r0, 0), max(c0, 0)
    r1, c1 = min(r1, shape[0]), min(c1, shape[1])
    if r1 <= r0 or c1 <= c0:
        return None
    return r0, c0, r1 - r0, c1 - c0
