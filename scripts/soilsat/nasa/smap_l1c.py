"""SMAP enhanced L1C brightness temperatures (SPL1CTB_E): half-orbit, 9 km EASE-Grid 2.0.

The Backus-Gilbert interpolated brightness temperatures of one half-orbit are listed cell by cell in the
group Global_Projection (the polar groups hold the same on the polar grids): cell_row and cell_column
place each cell on the global M09 grid, cell_lat and cell_lon give its centre, and for each polarisation
(h, v) and look (fore, aft: the conical scan sees each cell from the front and the back) there is
cell_tb_<pol>_<look> in kelvin (float32, _FillValue -9999), cell_tb_qual_flag_<pol>_<look> (uint16, bit 0:
quality, 0 = good) and cell_tb_time_seconds_<look>. Descending half-orbits are the 6 AM pass, ascending
ones the 6 PM pass (soilsat.nasa.smap_metadata). The non-enhanced SPL1CTB (36 km) has the same layout.
"""

from __future__ import annotations

import os

import numpy as np
import xarray as xr

from soilsat.errors import ProductError
from soilsat.grid import StudyGrid
from soilsat.nasa import ease2
from soilsat.nasa.h5file import dataset, fill_value, group, open_h5, read, read_physical, variables
from soilsat.nasa.regrid import ease2_cells_to_study_grid
from soilsat.nasa.smap_flags import recommended_of
from soilsat.nasa.smap_metadata import identity
from soilsat.nasa.smap_time import to_datetime

KIND = "smap_l1c_tb"
GRID_OF = {"SPL1CTB_E": "M09", "SPL1CTB": "M36"}
PROJECTION = "Global_Projection"
POLARISATIONS = ("h", "v")
LOOKS = ("fore", "aft")


def read_tb(path: str | os.PathLike) -> xr.Dataset:
    """The cells of a half-orbit: tb_<pol>_<look> (K, NaN where filled), their quality flags and `good` masks,
    times, and row/col/lat/lon coordinates along `cell`; attrs short_name, version, crid, overpass, grid."""
    with open_h5(path) as f:
        ident = identity(f, path)
        if ident.short_name not in GRID_OF:
            raise ProductError(
                path, f"a {ident.short_name} file, not SMAP L1C brightness temperatures ({' or '.join(GRID_OF)})"
            )
        g = group(f, PROJECTION, path)
        row_ds, col_ds = dataset(g, "cell_row", path), dataset(g, "cell_column", path)
        rows, cols = read(row_ds, path).astype(np.int64), read(col_ds, path).astype(np.int64)
        placed = (rows != fill_value(row_ds)) & (cols != fill_value(col_ds))
        data: dict[str, tuple] = {}
        for look in LOOKS:
            for pol in POLARISATIONS:
                tb = dataset(g, f"cell_tb_{pol}_{look}", path)
                flag = dataset(g, f"cell_tb_qual_flag_{pol}_{look}", path)
                flags = read(flag, path)
                data[f"tb_{pol}_{look}"] = ("cell", read_physical(tb, path)[placed], {"units": "K"})
                data[f"tb_qual_flag_{pol}_{look}"] = ("cell", flags[placed])
                data[f"good_{pol}_{look}"] = ("cell", recommended_of(flag, flags)[placed])
            seconds = read_physical(dataset(g, f"cell_tb_time_seconds_{look}", path), path)
            data[f"time_{look}"] = ("cell", to_datetime(seconds)[placed])
        lat = read_physical(dataset(g, "cell_lat", path), path)[placed]
        lon = read_physical(dataset(g, "cell_lon", path), path)[placed]
    coords = {"row": ("cell", rows[placed]), "col": ("cell", cols[placed]), "lat": ("cell", lat), "lon": ("cell", lon)}
    attrs = {
        "short_name": ident.short_name,
        "version": ident.version,
        "crid": ident.crid,
        "overpass": ident.overpass or "",
        "grid": GRID_OF[ident.short_name],
        "start": str(ident.start),
        "end": str(ident.end),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def brightness_temperature(tb: xr.Dataset, pol: str) -> xr.DataArray:
    """The mean of the fore and aft looks of one polarisation over the looks of good quality (NaN if none)."""
    if pol not in POLARISATIONS:
        raise ValueError(f"unknown polarisation {pol!r}; expected 'h' or 'v'")
    looks = [tb[f"tb_{pol}_{look}"].where(tb[f"good_{pol}_{look}"]) for look in LOOKS]
    return xr.concat(looks, "look").mean("look", skipna=True).rename(f"tb_{pol}")


def to_study_grid(values: xr.DataArray, grid_name: str, study: StudyGrid) -> np.ndarray:
    """One value per cell (on `cell`, with row/col coordinates) on the study grid."""
    return ease2_cells_to_study_grid(
        ease2.GRIDS[grid_name], values["row"].values, values["col"].values, values.values, study
    )


def describe(path: str | os.PathLike) -> dict:
    """Short name, version, release, period, pass, grid cells and variables with their fill values."""
    with open_h5(path) as f:
        ident = identity(f, path)
        g = group(f, PROJECTION, path)
        rows = read(dataset(g, "cell_row", path), path)
        cols = read(dataset(g, "cell_column", path), path)
        fill = fill_value(g["cell_row"])
        listed = variables(g)
    placed = rows != fill
    grid = GRID_OF.get(ident.short_name, "M09")
    return {
        "product": ident.short_name,
        "version": ident.version,
        "crid": ident.crid,
        "start": str(ident.start),
        "end": str(ident.end),
        "overpass": ident.overpass,
        "grid": {
            "name": f"EASE-Grid 2.0 global {grid}",
            "cells": int(placed.sum()),
            "rows": [int(rows[placed].min()), int(rows[placed].max())] if placed.any() else [],
            "columns": [int(cols[placed].min()), int(cols[placed].max())] if placed.any() else [],
        },
        "variables": {f"{PROJECTION}/{k}": v for k, v in listed.items()},
    }
