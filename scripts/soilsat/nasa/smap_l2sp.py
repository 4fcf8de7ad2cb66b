"""SMAP/Sentinel-1 L2 active-passive soil moisture (SPL2SMAP_S): one Sentinel-1 scene, 1 km and 3 km.

Each granule pairs one Sentinel-1 IW scene with the SMAP radiometer passes over it (Das et al. 2019) and
holds, on the EASE-Grid 2.0 M01 and M03 grids, the groups Soil_Moisture_Retrieval_Data_1km and
Soil_Moisture_Retrieval_Data_3km: (row, column) arrays of the scene's cell rectangle whose names end in
_1km / _3km. Retrievals with the 6 AM (descending) SMAP pass have plain names (soil_moisture_1km), those
with the 6 PM (ascending) pass the infix _apm (soil_moisture_apm_1km). Per cell: soil_moisture and
soil_moisture_std_dev (float32 cm3/cm3, _FillValue -9999), retrieval_qual_flag (uint16, _FillValue 65534;
bit 0 = 0: retrieval recommended), the Sentinel-1 backscatter the product carries, sigma0_vv_aggregated and
sigma0_vh_aggregated (linear, aggregated from the scene to the cell) and sigma0_incidence_angle (degrees),
tb_v_disaggregated (K), spacecraft_overpass_time_seconds, latitude and longitude, EASE_row_index and
EASE_column_index. This is the baseline Tsagkatakis et al. (2021) score against the probes.
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

KIND = "smap_l2_sm_sp"
SHORT_NAME = "SPL2SMAP_S"
GROUPS = {1: "Soil_Moisture_Retrieval_Data_1km", 3: "Soil_Moisture_Retrieval_Data_3km"}
INFIX = {"AM": "", "PM": "_apm"}
FLOAT_VARIABLES = (
    "soil_moisture",
    "soil_moisture_std_dev",
    "sigma0_vv_aggregated",
    "sigma0_vh_aggregated",
    "sigma0_incidence_angle",
)
OPTIONAL_VARIABLES = ("tb_v_disaggregated", "surface_temperature", "vegetation_water_content")


def variable_name(name: str, km: int, overpass: str) -> str:
    """The product's name of a variable at a resolution and pass, e.g. soil_moisture_apm_1km."""
    return f"{name}{INFIX[overpass]}_{km}km"


def read_sm(path: str | os.PathLike, km: int = 1, overpass: str = "AM") -> xr.Dataset:
    """One resolution (1 or 3 km) and SMAP pass on (y, x) with the global grid's row/col coordinates: soil moisture,
    its standard deviation, sigma0 VV and VH (linear), incidence, retrieval_qual_flag and `recommended`, time."""
    if km not in GROUPS:
        raise ValueError(f"SPL2SMAP_S has 1 km and 3 km groups, not {km} km")
    if overpass not in INFIX:
        raise ValueError(f"unknown SMAP pass {overpass!r}; expected 'AM' or 'PM'")
    with open_h5(path) as f:
        ident = identity(f, path)
        if ident.short_name != SHORT_NAME:
            raise ProductError(path, f"a {ident.short_name} file, not {SHORT_NAME}")
        grid = ease2.grid_for_km(km)
        g = group(f, GROUPS[km], path)
        names = (f"latitude_{km}km", f"longitude_{km}km", f"EASE_row_index_{km}km", f"EASE_column_index_{km}km")
        row0, col0 = locate(g, names, grid, path)
        dims = ("y", "x")
        data = {
            name: (dims, read_physical(dataset(g, variable_name(name, km, overpass), path), path))
            for name in FLOAT_VARIABLES
        }
        data |= {
            name: (dims, read_physical(g[variable_name(name, km, overpass)], path))
            for name in OPTIONAL_VARIABLES
            if variable_name(name, km, overpass) in g
        }
        flag_ds = dataset(g, variable_name("retrieval_qual_flag", km, overpass), path)
        flags = read(flag_ds, path)
        data["retrieval_qual_flag"] = (dims, flags)
        data["recommended"] = (dims, recommended_of(flag_ds, flags))
        seconds = read_physical(dataset(g, variable_name("spacecraft_overpass_time_seconds", km, overpass), path), path)
        data["time"] = (dims, to_datetime(seconds))
        lat = read_physical(dataset(g, names[0], path), path)
        lon = read_physical(dataset(g, names[1], path), path)
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
    """Short name, version, release, scene time, grid window per resolution and variables with their fill values."""
    with open_h5(path) as f:
        ident = identity(f, path)
        listed: dict[str, dict]
        windows, listed = {}, {}
        for km, name in GROUPS.items():
            g = group(f, name, path)
            grid = ease2.grid_for_km(km)
            names = (f"latitude_{km}km", f"longitude_{km}km", f"EASE_row_index_{km}km", f"EASE_column_index_{km}km")
            row0, col0 = locate(g, names, grid, path)
            ny, nx = g[names[0]].shape
            windows[f"{km}km"] = {
                "name": f"EASE-Grid 2.0 global {grid.name}",
                "rows": [row0, row0 + ny - 1],
                "columns": [col0, col0 + nx - 1],
            }
            listed |= {f"{name}/{k}": v for k, v in variables(g).items()}
    return {
        "product": ident.short_name,
        "version": ident.version,
        "crid": ident.crid,
        "start": str(ident.start),
        "end": str(ident.end),
        "grid": windows,
        "variables": listed,
    }
