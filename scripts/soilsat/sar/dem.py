"""The external DEM of Terrain-Correction: read once, handed on as one typed object, taken onto the grid by rows.

Heights must be metres above the WGS 84 ellipsoid (the chain's externalDEMApplyEGM is false);
a DEM written by soilsat says so in its VERTICAL_DATUM tag, which :func:`read_dem` keeps.
A DEM already on the study grid is sliced; any other is resampled bilinearly by our own kernel
(:func:`resample_rows`), which agrees with GDAL's bilinear warp to float32 rounding.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import TYPE_CHECKING

import numba
import numpy as np
import pyproj
import rasterio
import rasterio.warp
import rasterio.windows
from affine import Affine
from rasterio.errors import RasterioError

from soilsat.errors import ProductError
from soilsat.grid import StudyGrid
from soilsat.sar.lattice import LATTICE_STEP, axis_lattice, lerp, node_centres

if TYPE_CHECKING:
    import xarray as xr


@dataclasses.dataclass(frozen=True, eq=False)  # holds an array: compared by identity
class Dem:
    """Heights (2-D, metres, NaN no data) with their georeferencing and, when known, their vertical datum."""

    heights: np.ndarray
    transform: Affine
    crs: object  # anything pyproj.CRS.from_user_input reads: a string, a pyproj or a rasterio CRS
    vertical_datum: str | None = None

    def __post_init__(self) -> None:
        if self.heights.ndim != 2:
            raise ValueError(f"DEM must be a 2-D array, got shape {self.heights.shape}")
        if self.crs is None:
            raise ValueError("DEM has no CRS")

    def lies_on(self, grid: StudyGrid) -> bool:
        """Whether the DEM already lies on the study grid, pixel for pixel."""
        return (
            self.heights.shape == grid.shape
            and pyproj.CRS.from_user_input(self.crs) == pyproj.CRS.from_user_input(grid.crs)
            and self.transform.almost_equals(grid.transform, precision=1e-6)
        )


def declared_nodata(path: str | os.PathLike) -> float | None:
    """The no-data value a DEM file declares (None when it declares none; ProductError when unreadable)."""
    try:
        with rasterio.open(path) as src:
            return src.nodata
    except RasterioError as exc:
        raise ProductError(path, f"DEM unreadable ({exc})") from None


def read_dem(path: str | os.PathLike, nodata: float) -> Dem:
    """The DEM of a file (float32); `nodata` and the file's own no-data become NaN."""
    try:
        with rasterio.open(path) as src:
            heights = src.read(1).astype(np.float32)
            transform, crs, own, datum = src.transform, src.crs, src.nodata, src.tags().get("VERTICAL_DATUM")
    except RasterioError as exc:
        raise ProductError(path, f"DEM unreadable ({exc})") from None
    if crs is None:
        raise ProductError(path, "DEM has no CRS")
    for value in (nodata, own):
        if value is not None and np.isfinite(value):
            heights[heights == value] = np.nan
    return Dem(heights, transform, crs, datum)


def dem_from_dataarray(dem: xr.DataArray) -> Dem:
    """The DEM of an xarray DataArray with rioxarray georeferencing (float64; its no-data becomes NaN)."""
    import rioxarray  # noqa: F401  (registers the .rio accessor; xarray stays unimported in the jobs)

    array = np.asarray(dem.values, dtype=float)
    rio = dem.rio  # rioxarray's accessor
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if rio.nodata is not None and np.isfinite(rio.nodata):
        array = np.where(array == rio.nodata, np.nan, array)
    return Dem(array, rio.transform(), rio.crs)


def height_span(dem: Dem, grid: StudyGrid) -> tuple[float, float] | None:
    """The lowest and highest DEM height over the grid's bounds (one DEM pixel wider); None where none."""
    left, bottom, right, top = rasterio.warp.transform_bounds(grid.crs, dem.crs, *grid.bounds)
    win = rasterio.windows.from_bounds(left, bottom, right, top, dem.transform)
    r0, c0 = max(int(np.floor(win.row_off)) - 1, 0), max(int(np.floor(win.col_off)) - 1, 0)
    r1 = min(int(np.ceil(win.row_off + win.height)) + 1, dem.heights.shape[0])
    c1 = min(int(np.ceil(win.col_off + win.width)) + 1, dem.heights.shape[1])
    part = dem.heights[r0:r1, c0:c1]
    if part.size == 0 or not np.isfinite(part).any():
        return None
    return float(np.nanmin(part)), float(np.nanmax(part))


def grid_rows(dem: Dem, grid: StudyGrid, r0: int, r1: int) -> np.ndarray:
    """DEM heights (NaN no data) on grid rows r0:r1: sliced when the DEM is the grid (its dtype), else resampled."""
    if dem.lies_on(grid):
        return dem.heights[r0:r1].copy()
    return resample_rows(dem, grid, r0, r1)


def heights_on_grid(dem: Dem, grid: StudyGrid) -> np.ndarray:
    """DEM heights (float64, NaN no data) on the whole study grid."""
    return grid_rows(dem, grid, 0, grid.height).astype(float)


def resample_rows(dem: Dem, grid: StudyGrid, r0: int, r1: int, step: int = LATTICE_STEP) -> np.ndarray:
    """DEM heights (float32) bilinearly interpolated at the pixel centres of grid rows r0:r1.

    The DEM pixel position of every grid pixel comes from pyproj on a lattice of every `step`-th
    pixel (exact when both are in one CRS) and bilinearly in between, as GDAL's warper approximates
    its transformer; the height from the four DEM pixel centres around it, weighted over those
    with a height. No height outside the DEM or inside a DEM pixel without one, as in GDAL.
    Our own, not rasterio.warp.reproject: on a block of 768 x 28,883 pixels of a 10 m grid from a
    30 m DEM it is 4 times faster (0.19 s against 0.74 s) and agrees with it to float32 rounding."""
    rows, kr, wr = axis_lattice(grid.height, r0, r1, step)
    cols, kc, wc = axis_lattice(grid.width, 0, grid.width, step)
    xx, yy = node_centres(grid, rows, cols)
    if pyproj.CRS.from_user_input(dem.crs) != pyproj.CRS.from_user_input(grid.crs):
        xx, yy = (
            np.asarray(v, dtype=float)
            for v in pyproj.Transformer.from_crs(grid.crs, dem.crs, always_xy=True).transform(xx, yy)
        )
    inverse = ~dem.transform
    uv = np.stack(
        [
            inverse.a * xx + inverse.b * yy + inverse.c,  # DEM column (pixel edges at integers)
            inverse.d * xx + inverse.e * yy + inverse.f,
        ],
        axis=-1,
    )  # DEM row
    out = np.empty((r1 - r0, grid.width), np.float32)
    _sample_heights(np.ascontiguousarray(dem.heights, dtype=np.float32), uv, kr, wr, kc, wc, out)
    return out


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _sample_heights(dem, uv, kr, wr, kc, wc, out):
    """Bilinear DEM heights at lattice-interpolated DEM positions (uv: column, row); see resample_rows."""
    n, m = dem.shape
    for i in numba.prange(out.shape[0]):
        a, s = kr[i], wr[i]
        for j in range(out.shape[1]):
            b, t = kc[j], wc[j]
            x, y = lerp(uv, a, s, b, t, 0), lerp(uv, a, s, b, t, 1)
            if not (x >= 0.0 and x <= m and y >= 0.0 and y <= n) or not np.isfinite(
                dem[min(int(y), n - 1), min(int(x), m - 1)]
            ):
                out[i, j] = np.nan  # outside the DEM, or in a DEM pixel without height
                continue
            x, y = x - 0.5, y - 0.5  # to pixel-centre coordinates
            c0, q0 = int(math.floor(x)), int(math.floor(y))
            fx, fy = x - c0, y - q0
            total = 0.0
            weight = 0.0
            for dq in range(2):
                q = q0 + dq
                if q < 0 or q >= n:
                    continue
                wy = fy if dq else 1.0 - fy
                for dc in range(2):
                    c = c0 + dc
                    if c < 0 or c >= m:
                        continue
                    w = wy * (fx if dc else 1.0 - fx)
                    h = dem[q, c]
                    if w > 0.0 and np.isfinite(h):
                        total += w * h
                        weight += w
            out[i, j] = total / weight if weight > 0.0 else np.nan
