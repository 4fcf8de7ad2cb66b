"""The global EASE-Grid 2.0 (EPSG:6933) grids of the SMAP products: cell sizes, row/column and coordinates.

The global grids share one extent, +-17367530.45 m east-west and +-7314540.83 m north-south on the
cylindrical equal-area projection (true scale at 30 degrees), and differ only in cell size: M36 (SPL2SMP,
SPL3SMP), M09 (the enhanced SPL1CTB_E, SPL2SMP_E, SPL3SMP_E), M03 and M01 (SPL2SMAP_S). Row 0 is the
northernmost row, column 0 the westernmost column; a cell's row and column are those of the cell
containing its centre (Brodzik et al. 2012, 2014; NSIDC's EASE-Grid 2.0 definitions).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pyproj
from affine import Affine

CRS = "EPSG:6933"
X_MIN = -17367530.44516138
Y_MAX = 7314540.830638


@dataclasses.dataclass(frozen=True)
class Ease2Grid:
    """One global EASE-Grid 2.0 grid: its name, cell size in metres and dimensions."""

    name: str
    cell_m: float
    rows: int
    cols: int

    @property
    def transform(self) -> Affine:
        """The affine transform of the whole grid (pixel corners)."""
        return Affine(self.cell_m, 0.0, X_MIN, 0.0, -self.cell_m, Y_MAX)

    def window_transform(self, row0: int, col0: int) -> Affine:
        """The affine transform of a window whose top-left cell is (row0, col0)."""
        return Affine(self.cell_m, 0.0, X_MIN + col0 * self.cell_m, 0.0, -self.cell_m, Y_MAX - row0 * self.cell_m)


GRIDS = {
    "M36": Ease2Grid("M36", 36032.220840584, 406, 964),
    "M09": Ease2Grid("M09", 9008.055210146, 1624, 3856),
    "M03": Ease2Grid("M03", 3002.6850700487, 4872, 11568),
    "M01": Ease2Grid("M01", 1000.89502334956, 14616, 34704),
}
GRID_BY_KM = {36: GRIDS["M36"], 9: GRIDS["M09"], 3: GRIDS["M03"], 1: GRIDS["M01"]}


def grid_for_km(km: int) -> Ease2Grid:
    """The global grid of a nominal cell size in km (36, 9, 3 or 1)."""
    if km not in GRID_BY_KM:
        raise ValueError(f"no global EASE-Grid 2.0 grid of {km} km; known: {sorted(GRID_BY_KM)}")
    return GRID_BY_KM[km]


@functools.lru_cache(maxsize=2)
def _transformer(inverse: bool = False) -> pyproj.Transformer:
    source, target = (CRS, "EPSG:4326") if inverse else ("EPSG:4326", CRS)
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def lonlat_to_xy(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Projected EASE-Grid 2.0 coordinates (m) of WGS 84 longitudes and latitudes."""
    x, y = _transformer().transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.asarray(x), np.asarray(y)


def xy_to_rowcol(grid: Ease2Grid, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the cells containing projected points (may fall outside the grid)."""
    col = np.floor((np.asarray(x) - X_MIN) / grid.cell_m).astype(np.int64)
    row = np.floor((Y_MAX - np.asarray(y)) / grid.cell_m).astype(np.int64)
    return row, col


def lonlat_to_rowcol(grid: Ease2Grid, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the cells containing WGS 84 points."""
    return xy_to_rowcol(grid, *lonlat_to_xy(lon, lat))


def rowcol_to_xy(grid: Ease2Grid, row: np.ndarray, col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Projected coordinates of cell centres."""
    x = X_MIN + (np.asarray(col, dtype=np.float64) + 0.5) * grid.cell_m
    y = Y_MAX - (np.asarray(row, dtype=np.float64) + 0.5) * grid.cell_m
    return x, y


def rowcol_to_lonlat(grid: Ease2Grid, row: np.ndarray, col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS 84 longitude and latitude of cell centres."""
    lon, lat = _transformer(inverse=True).transform(*rowcol_to_xy(grid, row, col))
    return np.asarray(lon), np.asarray(lat)
