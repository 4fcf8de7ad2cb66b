"""Putting a NASA product onto a study grid: EASE-Grid 2.0 cells (SMAP) and sinusoidal pixels (MODIS).

A product cell is far larger than a study pixel (1 km to 36 km against 10 m), so each study pixel takes
the value of the product cell its centre falls in (nearest-neighbour resampling of the cell lattice):
the product is shown as it is, without inventing detail between cells. Cells listed one by one (the
L1C and L2 half-orbit products) are first laid on the window of the grid that holds them.
"""

from __future__ import annotations

import numpy as np
import rasterio.warp
from affine import Affine
from rasterio.enums import Resampling

from soilsat.grid import StudyGrid
from soilsat.nasa.ease2 import CRS as EASE2_CRS
from soilsat.nasa.ease2 import Ease2Grid


def cells_to_window(
    grid: Ease2Grid, rows: np.ndarray, cols: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, Affine]:
    """A float64 window of the grid holding listed cells (NaN elsewhere) and its transform."""
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    if rows.size == 0:
        raise ValueError("no cells to place on the grid")
    row0, col0 = int(rows.min()), int(cols.min())
    window = np.full((int(rows.max()) - row0 + 1, int(cols.max()) - col0 + 1), np.nan)
    window[rows - row0, cols - col0] = np.asarray(values, dtype=np.float64)
    return window, grid.window_transform(row0, col0)


def onto_study_grid(
    values: np.ndarray, transform: Affine, crs: str, grid: StudyGrid, resampling: Resampling = Resampling.nearest
) -> np.ndarray:
    """A 2-D array (NaN = no data) on a source lattice, resampled onto the study grid as float32."""
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    rasterio.warp.reproject(
        np.asarray(values, dtype=np.float32),
        out,
        src_transform=transform,
        src_crs=crs,
        src_nodata=np.nan,
        dst_transform=grid.transform,
        dst_crs=grid.crs,
        dst_nodata=np.nan,
        resampling=resampling,
    )
    return out


def ease2_cells_to_study_grid(
    grid: Ease2Grid, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, study: StudyGrid
) -> np.ndarray:
    """Values of listed EASE-Grid 2.0 cells on the study grid (each pixel takes its cell's value)."""
    window, transform = cells_to_window(grid, rows, cols, values)
    return onto_study_grid(window, transform, EASE2_CRS, study)


def ease2_window_to_study_grid(
    grid: Ease2Grid, row0: int, col0: int, values: np.ndarray, study: StudyGrid
) -> np.ndarray:
    """A window of an EASE-Grid 2.0 grid whose top-left cell is (row0, col0) on the study grid."""
    return onto_study_grid(values, grid.window_transform(row0, col0), EASE2_CRS, study)
