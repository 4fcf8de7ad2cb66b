"""Where a 2-D SMAP array lies on its global EASE-Grid 2.0 grid (whole grid, or a subset of it)."""

from __future__ import annotations

import os

import h5py
import numpy as np

from soilsat.errors import ProductError
from soilsat.nasa import ease2
from soilsat.nasa.h5file import dataset, fill_value, read, read_physical


def locate(
    g: h5py.Group, names: tuple[str, str, str, str], grid: ease2.Ease2Grid, path: str | os.PathLike
) -> tuple[int, int]:
    """(row0, col0) of the array's top-left cell: 0, 0 for a whole-grid array, else from the EASE row and column
    index arrays, else from the latitude and longitude, of the first cell that has them.

    `names`: the group's latitude, longitude, EASE row index and EASE column index datasets.
    """
    lat_name, lon_name, row_name, col_name = names
    lat_ds = dataset(g, lat_name, path)
    if lat_ds.shape == (grid.rows, grid.cols):
        return 0, 0
    if row_name in g and col_name in g:
        rows, cols = read(g[row_name], path), read(g[col_name], path)
        placed = np.argwhere((rows != fill_value(g[row_name])) & (cols != fill_value(g[col_name])))
        if len(placed):
            i, j = placed[0]
            return int(rows[i, j]) - int(i), int(cols[i, j]) - int(j)
    lat = read_physical(lat_ds, path)
    lon = read_physical(dataset(g, lon_name, path), path)
    placed = np.argwhere(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90))
    if not len(placed):
        raise ProductError(
            path,
            f"{g.name} is a subset of {lat_ds.shape} cells without any EASE row/column index "
            "or latitude/longitude: it cannot be placed on the grid",
        )
    i, j = placed[0]
    row, col = ease2.lonlat_to_rowcol(grid, lon[i, j], lat[i, j])
    return int(row) - int(i), int(col) - int(j)
