"""SMAP L2 radiometer soil moisture of one half-orbit (SPL2SMP 36 km, SPL2SMP_E 9 km), EASE-Grid 2.0.

The group Soil_Moisture_Retrieval_Data lists the retrieved cells one by one: EASE_row_index and
EASE_column_index (uint16, _FillValue 65534) place them on the global grid, latitude and longitude give
their centres, soil_moisture (float32 m3/m3, _FillValue -9999, valid 0.02..0.5) the retrieval,
retrieval_qual_flag (uint16; bit 0 = 0: recommended quality) its quality, tb_h_corrected and
tb_v_corrected the brightness temperatures it used and tb_time_seconds the time. SPL2SMP_E is the
auxiliary 9 km target Tsagkatakis et al. (2021) name; the AM/PM pass is the half-orbit's direction.
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

KIND = "smap_l2_sm"
GRID_OF = {"SPL2SMP": "M36", "SPL2SMP_E": "M09"}
GROUP = "Soil_Moisture_Retrieval_Data"
FLOAT_VARIABLES = (
    "soil_moisture",
    "soil_moisture_error",
    "tb_h_corrected",
    "tb_v_corrected",
    "surface_temperature",
    "vegetation_water_content",
)


def read_sm(path: str | os.PathLike) -> xr.Dataset:
    """The cells of a half-orbit along `cell`: soil moisture and the brightness temperatures used (NaN where
    filled), retrieval_qual_flag and its `recommended` mask, time; coordinates row, col, lat, lon."""
    with open_h5(path) as f:
        ident = identity(f, path)
        if ident.short_name not in GRID_OF:
            raise ProductError(
                path, f"a {ident.short_name} file, not SMAP L2 radiometer soil moisture ({' or '.join(GRID_OF)})"
            )
        g = group(f, GROUP, path)
        row_ds, col_ds = dataset(g, "EASE_row_index", path), dataset(g, "EASE_column_index", path)
        rows, cols = read(row_ds, path).astype(np.int64), read(col_ds, path).astype(np.int64)
        placed = (rows != fill_value(row_ds)) & (cols != fill_value(col_ds))
        data = {
            name: ("cell", read_physical(dataset(g, name, path), path)[placed]) for name in FLOAT_VARIABLES if name in g
        }
        flag_ds = dataset(g, "retrieval_qual_flag", path)
        flags = read(flag_ds, path)
        data["retrieval_qual_flag"] = ("cell", flags[placed])
        data["recommended"] = ("cell", recommended_of(flag_ds, flags)[placed])
        data["time"] = ("cell", to_datetime(read_physical(dataset(g, "tb_time_seconds", path), path))[placed])
        lat = read_physical(dataset(g, "latitude", path), path)[placed]
        lon = read_physical(dataset(g, "longitude", path), path)[placed]
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


def to_study_grid(values: xr.DataArray, grid_name: str, study: StudyGrid) -> np.ndarray:
    """One value per cell (on `cell`, with row/col coordinates) on the study grid."""
    return ease2_cells_to_study_grid(
        ease2.GRIDS[grid_name], values["row"].values, values["col"].values, values.values, study
    )


def describe(path: str | os.PathLike) -> dict:
    """Short name, version, release, period, pass, grid cells and variables with their fill values."""
    with open_h5(path) as f:
        ident = identity(f, path)
        g = group(f, GROUP, path)
        rows = read(dataset(g, "EASE_row_index", path), path)
        cols = read(dataset(g, "EASE_column_index", path), path)
        placed = rows != fill_value(g["EASE_row_index"])
        listed = variables(g)
    grid = GRID_OF.get(ident.short_name, "M36")
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
        "variables": {f"{GROUP}/{k}": v for k, v in listed.items()},
    }
