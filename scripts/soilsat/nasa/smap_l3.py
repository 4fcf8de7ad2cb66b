"""SMAP L3 daily radiometer soil moisture (SPL3SMP_E 9 km, SPL3SMP 36 km) on the global EASE-Grid 2.0.

A day's file holds two composites of the half-orbit retrievals, the 6 AM descending passes in group
Soil_Moisture_Retrieval_Data_AM and the 6 PM ascending ones in Soil_Moisture_Retrieval_Data_PM, whose
variables carry the suffix _pm (soil_moisture_pm, ...). Each is a (row, column) array of the whole
global grid (1624 x 3856 cells at 9 km): soil_moisture (float32 m3/m3, _FillValue -9999),
retrieval_qual_flag (uint16, bit 0 = 0: recommended quality), tb_h_corrected, tb_v_corrected,
tb_time_seconds, latitude and longitude (-9999 without a retrieval) and EASE_row_index and
EASE_column_index (uint16, _FillValue 65534). A spatial subset keeps the index arrays, which place it
on the grid; without them the cells' latitude and longitude do.
"""

from __future__ import annotations

import os

import numpy as np
import xarray as xr

from soilsat.errors import ProductError
from soilsat.grid import StudyGrid
from soilsat.nasa import ease2
from soilsat.nasa.h5file import dataset, group, open_h5, read, read_physical, variables
from soilsat.nasa.regrid import ease2_window_to_study_grid
from soilsat.nasa.smap_flags import recommended_of
from soilsat.nasa.smap_metadata import identity
from soilsat.nasa.smap_time import to_datetime
from soilsat.nasa.smap_window import locate

KIND = "smap_l3_sm"
GRID_OF = {"SPL3SMP_E": "M09", "SPL3SMP": "M36"}
GROUPS = {"AM": "Soil_Moisture_Retrieval_Data_AM", "PM": "Soil_Moisture_Retrieval_Data_PM"}
SUFFIX = {"AM": "", "PM": "_pm"}
FLOAT_VARIABLES = (
    "soil_moisture",
    "soil_moisture_error",
    "tb_h_corrected",
    "tb_v_corrected",
    "surface_temperature",
    "vegetation_water_content",
)


def names(suffix: str) -> tuple[str, str, str, str]:
    """The latitude, longitude, EASE row and column index datasets of a pass's group."""
    return (f"latitude{suffix}", f"longitude{suffix}", f"EASE_row_index{suffix}", f"EASE_column_index{suffix}")


def read_sm(path: str | os.PathLike, overpass: str = "AM") -> xr.Dataset:
    """One pass's composite on (y, x) with row/col coordinates of the global grid: soil moisture and the
    brightness temperatures used (NaN where filled), retrieval_qual_flag, its `recommended` mask, time."""
    if overpass not in GROUPS:
        raise ValueError(f"unknown SMAP pass {overpass!r}; expected 'AM' or 'PM'")
    with open_h5(path) as f:
        ident = identity(f, path)
        if ident.short_name not in GRID_OF:
            raise ProductError(
                path, f"a {ident.short_name} file, not SMAP L3 radiometer soil moisture ({' or '.join(GRID_OF)})"
            )
        grid = ease2.GRIDS[GRID_OF[ident.short_name]]
        g, suffix = group(f, GROUPS[overpass], path), SUFFIX[overpass]
        row0, col0 = locate(g, names(suffix), grid, path)
        dims = ("y", "x")
        data = {name: (dims, read_physical(g[name + suffix], path)) for name in FLOAT_VARIABLES if name + suffix in g}
        if "soil_moisture" not in data:
            raise ProductError(path, f"{g.name} has no dataset 'soil_moisture{suffix}'")
        flag_ds = dataset(g, f"retrieval_qual_flag{suffix}", path)
        flags = read(flag_ds, path)
        data["retrieval_qual_flag"] = (dims, flags)
        data["recommended"] = (dims, recommended_of(flag_ds, flags))
        data["time"] = (dims, to_datetime(read_physical(dataset(g, f"tb_time_seconds{suffix}", path), path)))
        lat = read_physical(dataset(g, f"latitude{suffix}", path), path)
        lon = read_physical(dataset(g, f"longitude{suffix}", path), path)
    ny, nx = lat.shape
    coords = {
        "row": ("y", row0 + np.arange(ny)),
        "col": ("x", col0 + np.arange(nx)),
        "lat": (dims, lat),
        "lon": (dims, lon),
    }
    attrs = {
        "short_name": ident.short_name,
        "version": ident.version,
        "crid": ident.crid,
        "overpass": overpass,
        "grid": grid.name,
        "start": str(ident.start),
        "end": str(ident.end),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def to_study_grid(values: xr.DataArray, grid_name: str, study: StudyGrid) -> np.ndarray:
    """A (y, x) field with row/col coordinates on the study grid."""
    return ease2_window_to_study_grid(
        ease2.GRIDS[grid_name], int(values["row"][0]), int(values["col"][0]), values.values, study
    )


def describe(path: str | os.PathLike) -> dict:
    """Short name, version, release, day, grid window per pass and variables with their fill values."""
    with open_h5(path) as f:
        ident = identity(f, path)
        grid = ease2.GRIDS[GRID_OF.get(ident.short_name, "M09")]
        listed: dict[str, dict]
        windows, listed = {}, {}
        for overpass, name in GROUPS.items():
            if name not in f:
                continue
            g = f[name]
            row0, col0 = locate(g, names(SUFFIX[overpass]), grid, path)
            ny, nx = g[f"latitude{SUFFIX[overpass]}"].shape
            windows[overpass] = {"rows": [row0, row0 + ny - 1], "columns": [col0, col0 + nx - 1]}
            listed |= {f"{name}/{k}": v for k, v in variables(g).items()}
    return {
        "product": ident.short_name,
        "version": ident.version,
        "crid": ident.crid,
        "date": f"{ident.start:%Y-%m-%d}",
        "start": str(ident.start),
        "end": str(ident.end),
        "grid": {"name": f"EASE-Grid 2.0 global {grid.name}", **windows},
        "variables": listed,
    }
