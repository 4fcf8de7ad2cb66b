"""A MODIS field as a georeferenced array: its grid's transform on the sinusoidal projection, and onto a study grid."""

from __future__ import annotations

import os

import numpy as np
import xarray as xr
from affine import Affine

from soilsat.errors import ProductError
from soilsat.grid import StudyGrid
from soilsat.nasa import sinusoidal
from soilsat.nasa.hdfeos import EosGrid
from soilsat.nasa.regrid import onto_study_grid

SINUSOIDAL_PROJECTION = "GCTP_SNSOID"


def check_sinusoidal(grid: EosGrid, path: str | os.PathLike) -> None:
    """ProductError unless the grid is on MODIS's sinusoidal projection of the 6371007.181 m sphere."""
    if grid.projection != SINUSOIDAL_PROJECTION:
        raise ProductError(path, f"grid {grid.name} is on {grid.projection}, not the MODIS sinusoidal projection")
    if grid.proj_params and abs(grid.proj_params[0] - sinusoidal.SPHERE_RADIUS) > 1.0:
        raise ProductError(
            path, f"grid {grid.name} has sphere radius {grid.proj_params[0]}, not {sinusoidal.SPHERE_RADIUS} m"
        )


def coords(grid: EosGrid) -> dict[str, tuple]:
    """Pixel-centre x and y coordinates (sinusoidal metres) of a grid."""
    t = grid.transform
    return {"x": ("x", t.c + (np.arange(grid.xdim) + 0.5) * t.a), "y": ("y", t.f + (np.arange(grid.ydim) + 0.5) * t.e)}


def grid_attrs(grid: EosGrid) -> dict:
    """The attributes that place a field: CRS, transform (GDAL order) and the tile of its centre."""
    t = grid.transform
    h, v = sinusoidal.tile_of_xy(t.c + t.a * grid.xdim / 2, t.f + t.e * grid.ydim / 2)
    return {"crs": sinusoidal.CRS, "transform": [t.a, t.b, t.c, t.d, t.e, t.f], "tile": sinusoidal.tile_name(h, v)}


def to_study_grid(values: xr.DataArray, study: StudyGrid) -> np.ndarray:
    """A (y, x) field whose attrs carry `transform` (as grid_attrs gives) on the study grid (nearest pixel)."""
    transform = Affine(*values.attrs["transform"][:6])
    return onto_study_grid(values.values, transform, sinusoidal.CRS, study)
