"""Lattices of grid pixels: exact transforms on every `step`-th pixel, bilinear in between.

Geocoding and DEM resampling both solve their transforms (pyproj, the ellipsoid) exactly on
a coarse lattice of study-grid pixels and interpolate bilinearly in between, as GDAL's warper
approximates its transformer. A lattice's nodes are always those of the whole grid axis,
whatever window of it is wanted, so a block of rows interpolates exactly as the whole grid does.
"""

from __future__ import annotations

import numba
import numpy as np

from soilsat.grid import StudyGrid

LATTICE_STEP = 16  # grid pixels between lattice nodes (well under a millimetre of error at 10 m)


def axis_lattice(n: int, start: int, stop: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nodes 0, step, ..., n - 1 of a grid axis of n pixels that bracket pixels start:stop, and for each
    of those pixels its cell (into the returned nodes) and weight."""
    nodes = np.unique(np.r_[np.arange(0, n, step), n - 1])
    if nodes.size == 1:
        nodes = np.array([0, 0])
    first = min(max(int(np.searchsorted(nodes, start, side="right")) - 1, 0), nodes.size - 2)
    last = min(int(np.searchsorted(nodes, stop - 1, side="left")), nodes.size - 1)
    nodes = nodes[first : max(last, first + 1) + 1]
    pixels = np.arange(start, stop)
    k = np.clip(np.searchsorted(nodes, pixels, side="right") - 1, 0, nodes.size - 2)
    w = (pixels - nodes[k]) / np.maximum(nodes[k + 1] - nodes[k], 1)
    return nodes, k.astype(np.int64), w.astype(float)


def node_centres(grid: StudyGrid, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map coordinates (x, y), each (rows, cols), of the centres of the grid pixels at the given rows and columns."""
    xx, yy = np.meshgrid(grid.x0 + (cols + 0.5) * grid.resolution, grid.y0 - (rows + 0.5) * grid.resolution)
    return xx, yy


@numba.njit(cache=True)
def lerp(field, a, u, b, v, c):
    """Bilinear interpolation of component c of a lattice field in cell (a, b) at weights (u, v)."""
    return (1 - u) * ((1 - v) * field[a, b, c] + v * field[a, b + 1, c]) + u * (
        (1 - v) * field[a + 1, b, c] + v * field[a + 1, b + 1, c]
    )
