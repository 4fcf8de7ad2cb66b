"""Copernicus Global Land Service Surface Soil Moisture 1 km (SSM1km V1, Sentinel-1; the thesis' CSM).

One daily NetCDF-4 file per tile (CEURO: continental Europe) on a regular 1/112 degree lat/lon grid,
latitudes descending. `ssm` and `ssm_noise` are relative soil moisture in percent of saturation, stored
as uint8 with scale_factor 0.5: raw 0..200 (valid_range) is 0..100 %, 255 is no data, and 241..253 are
flags (ExceedingMin, ExceedingMax, WaterMask, SensitivityMask, SlopeMask) that carry no value.
Files cropped after production keep the global attributes of the whole tile, so the extent is always
taken from the lat/lon coordinates.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.errors import ProductError
from soilsat.reference import latlon
from soilsat.reference.ncfile import attributes, decode_time, one_day, open_netcdf, read

KIND = "csm"
PRODUCT = "CGLS SSM 1km"
PARENT_IDENTIFIER = "urn:cgls:global:ssm_v1_1km"
CELL_DEG = 1.0 / 112.0
VARIABLES = ("ssm", "ssm_noise")
FILL = 255
NO_DATA_FLAG = 255
VALID_FLAG = 0
# Tiles of the product and their extent (west, south, east, north) as the files' own attributes give them.
TILES = {"CEURO": (-11.0, 35.0, 50.0, 72.0)}

NAME = re.compile(r"^c_gls_SSM1km_(?P<stamp>\d{12})_(?P<tile>[A-Z]+)_(?P<sensor>S1CSAR)_(?P<version>V\d+\.\d+\.\d+)")

# Variable attributes of the V1.1.1 files, in their order (the _FillValue is set when the variable is made).
DATA_ATTRIBUTES = {
    name: {
        "Class": "DATA",
        "grid_mapping": "crs",
        "flag_values": np.array([241, 242, 251, 252, 253], dtype=np.uint8),
        "flag_meanings": "ExceedingMin ExceedingMax WaterMask SensitivityMask SlopeMask",
        "long_name": long_name,
        "units": "%",
        "valid_range": np.array([0, 200], dtype=np.uint8),
        "coordinates": "time lat lon",
        "scale_factor": np.float32(0.5),
        "missing_value": np.uint8(FILL),
        "_Unsigned": "true",
    }
    for name, long_name in (("ssm", "Surface Soil Moisture"), ("ssm_noise", "Surface Soil Moisture Noise"))
}
COORDINATE_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "lat": {
        "standard_name": "latitude",
        "long_name": "latitude",
        "units": "degrees_north",
        "axis": "Y",
        "valid_range": np.array([35.0, 72.0]),
    },
    "lon": {
        "standard_name": "longitude",
        "long_name": "longitude",
        "units": "degrees_east",
        "axis": "X",
        "valid_range": np.array([-11.0, 50.0]),
    },
    "time": {
        "standard_name": "time",
        "long_name": "time",
        "axis": "T",
        "units": "days since 1970-01-01T12:00:00",
        "calendar": "standard",
    },
}
CRS_ATTRIBUTES = {
    "grid_mapping_name": "latitude_longitude",
    "long_name": "CRS definition",
    "longitude_of_prime_meridian": 0.0,
    "semi_major_axis": 6378137.0,
    "inverse_flattening": 298.257223563,
    "spatial_ref": 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG",'
    '"7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",'
    '0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]',
    "GeoTransform": "-11 0.008928571428571428 0 72 0 -0.008928571428571428",
}


def global_attributes(day: pd.Timestamp, tile: str, version: str, history: str, baseline: str) -> dict:
    """The global attributes of a daily file of a tile, in the distribution's order (extent: the whole tile)."""
    west, south, east, north = TILES[tile]
    day = pd.Timestamp(day)
    return {
        "Conventions": "CF-1.6",
        "archive_facility": "VITO",
        "copyright": "Copernicus Service information 2019",
        "geospatial_lat_max": north,
        "geospatial_lat_min": south,
        "geospatial_lon_max": east,
        "geospatial_lon_min": west,
        "history": history,
        "identifier": f"{PARENT_IDENTIFIER}:{Path(file_name(day, tile, version)).stem[6:]}",
        "institution": "TU Wien",
        "long_name": "Surface Soil Moisture",
        "model_parameter_baseline": baseline,
        "orbit_type": "LEO",
        "parent_identifier": PARENT_IDENTIFIER,
        "pixel_size": "0.0089285714 degrees",
        "platform": "Sentinel-1 A+B",
        "processing_level": "L2",
        "processing_mode": "Reprocessing",
        "product_version": version,
        "references": "https://land.copernicus.eu/global/products/ssm",
        "region_name": tile,
        "sensor": "CSAR",
        "source": "Derived from EO radar observations",
        "time_coverage_end": f"{day:%Y-%m-%d}T23:59:59Z",
        "time_coverage_start": f"{day:%Y-%m-%d}T00:00:00Z",
        "title": f"Daily Surface Soil Moisture 1km: {tile} {day:%Y-%m-%d}T00:00:00Z",
    }


def file_name(day: pd.Timestamp, tile: str, version: str) -> str:
    """The distribution's name of the daily file of a tile, e.g. c_gls_SSM1km_201706010000_CEURO_S1CSAR_V1.1.1.nc."""
    return f"c_gls_SSM1km_{pd.Timestamp(day):%Y%m%d}0000_{tile}_S1CSAR_{version}.nc"


def parse_name(name: str) -> dict | None:
    """Date, tile and version of a file named as the distribution names them (None for other names)."""
    match = NAME.match(Path(name).name)
    if not match:
        return None
    stamp = match.group("stamp")
    return {
        "date": pd.Timestamp(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"),
        "tile": match.group("tile"),
        "version": match.group("version"),
    }


def layout_problem(nc) -> str | None:
    """What keeps an open file from being a CGLS SSM 1 km file (None when it is one)."""
    attrs = attributes(nc)
    ident = str(attrs.get("parent_identifier", "")) or str(attrs.get("identifier", ""))
    named = "SSM1km" in str(attrs.get("identifier", "")) or "Surface Soil Moisture 1km" in str(attrs.get("title", ""))
    if not (ident.startswith(PARENT_IDENTIFIER) or named):
        found = repr(ident) if ident else "absent"
        title = repr(attrs["title"]) if "title" in attrs else "absent"
        return f"not a CGLS SSM 1km file: parent_identifier is {found}, expected {PARENT_IDENTIFIER!r} (title {title})"
    for name in VARIABLES + ("lat", "lon"):
        if name not in nc.variables:
            return f"CGLS SSM 1km file without variable {name!r} (variables: {', '.join(nc.variables)})"
    for name in VARIABLES:
        dims = nc[name].dimensions
        if dims[-2:] != ("lat", "lon") or len(dims) not in (2, 3):
            return f"variable {name!r} has dimensions {dims}, expected (time, lat, lon)"
    return None


def check(path: str | os.PathLike) -> None:
    """Raise ProductError naming the file when it is not a readable CGLS SSM 1 km file."""
    with open_netcdf(path) as nc:
        problem = layout_problem(nc)
        if problem:
            raise ProductError(path, problem)
        for name in VARIABLES + ("lat", "lon"):
            read(nc[name], path)


def sensing_date(nc, path: str | os.PathLike) -> pd.Timestamp:
    """The day a file holds: its time value, else its time_coverage_start attribute."""
    if "time" in nc.variables and nc["time"].size:
        value = float(read(nc["time"], path).ravel()[0])
        if np.isfinite(value):
            return decode_time(value, nc["time"].getncattr("units"), path).normalize()
    start = attributes(nc).get("time_coverage_start")
    if start:
        return pd.Timestamp(str(start)).tz_localize(None).normalize()
    raise ProductError(path, "no time value and no time_coverage_start attribute: the sensing date is unknown")


def _physical(raw: np.ndarray, attrs: dict) -> np.ndarray:
    """Percent of saturation from raw counts; NaN for no data and for flag codes (outside valid_range)."""
    low, high = (int(v) for v in attrs.get("valid_range", (0, 200)))
    valid = (raw >= low) & (raw <= high)
    scale, offset = np.float32(attrs.get("scale_factor", 1.0)), np.float32(attrs.get("add_offset", 0.0))
    values = raw.astype(np.float32) * scale + offset
    return np.where(valid, values, np.float32(np.nan)).astype(np.float32)


def _flags(raw: np.ndarray, attrs: dict) -> np.ndarray:
    """0 where a value exists, the product's flag code where flagged, 255 where there is no data."""
    codes = np.asarray(attrs.get("flag_values", []), dtype=raw.dtype)
    low, high = (int(v) for v in attrs.get("valid_range", (0, 200)))
    flagged = np.isin(raw, codes)
    return np.where((raw >= low) & (raw <= high), VALID_FLAG, np.where(flagged, raw, NO_DATA_FLAG)).astype(np.uint8)


def open_ssm(path: str | os.PathLike) -> xr.Dataset:
    """One daily file as a Dataset (lat, lon): ssm and ssm_noise in % of saturation (NaN where masked) and
    ssm_flag (0 valid, the product's flag code, 255 no data), with the sensing day as scalar `time`."""
    with open_netcdf(path) as nc:
        problem = layout_problem(nc)
        if problem:
            raise ProductError(path, problem)
        lat = read(nc["lat"], path).astype(np.float64)
        lon = read(nc["lon"], path).astype(np.float64)
        day = sensing_date(nc, path)
        raw = {name: one_day(read(nc[name], path), (lat.size, lon.size), name, path) for name in VARIABLES}
        var_attrs = {name: attributes(nc[name]) for name in VARIABLES}
        file_attrs = attributes(nc)
    flag_attrs = var_attrs["ssm"]
    meanings = ["valid", *str(flag_attrs.get("flag_meanings", "")).split(), "no_data"]
    codes = [VALID_FLAG, *(int(v) for v in flag_attrs.get("flag_values", [])), NO_DATA_FLAG]
    data = {
        name: (
            ("lat", "lon"),
            _physical(raw[name], var_attrs[name]),
            {"units": "% saturation", "long_name": var_attrs[name].get("long_name", name)},
        )
        for name in VARIABLES
    }
    data["ssm_flag"] = (
        ("lat", "lon"),
        _flags(raw["ssm"], flag_attrs),
        {
            "long_name": "why ssm has no value",
            "flag_values": np.array(codes, dtype=np.uint8),
            "flag_meanings": " ".join(meanings),
        },
    )
    return xr.Dataset(
        data,
        coords={
            "lat": ("lat", lat, {"units": "degrees_north"}),
            "lon": ("lon", lon, {"units": "degrees_east"}),
            "time": np.datetime64(day, "ns"),
        },
        attrs={
            "product": PRODUCT,
            "version": str(file_attrs.get("product_version", "")),
            "tile": str(file_attrs.get("region_name", "")),
            "cell_size_deg": CELL_DEG,
            "source": str(path),
        },
    )


def _variable_summary(attrs: dict, dtype: np.dtype) -> dict:
    summary: dict[str, Any] = {
        "units": str(attrs.get("units", "")),
        "long_name": str(attrs.get("long_name", "")),
        "dtype": str(dtype),
        "fill_value": attrs.get("_FillValue", attrs.get("missing_value")),
    }
    for key in ("scale_factor", "valid_range", "flag_values", "flag_meanings"):
        if key in attrs:
            summary[key] = attrs[key]
    return {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in summary.items()}


def describe(path: str | os.PathLike) -> dict:
    """Product, version, tile, date, extent (from the coordinates), shape, variables and counts of one file."""
    ds = open_ssm(path)
    with open_netcdf(path) as nc:
        variables = {name: _variable_summary(attributes(nc[name]), nc[name].dtype) for name in VARIABLES}
    west, south, east, north = latlon.extent(ds["lat"].values, ds["lon"].values, CELL_DEG)
    flags = ds["ssm_flag"].values
    meanings = dict(zip(ds["ssm_flag"].attrs["flag_values"].tolist(), ds["ssm_flag"].attrs["flag_meanings"].split()))
    return {
        "product": PRODUCT,
        "version": ds.attrs["version"],
        "tile": ds.attrs["tile"],
        "date": pd.Timestamp(ds["time"].values).strftime("%Y-%m-%d"),
        "extent": {"west": round(west, 6), "south": round(south, 6), "east": round(east, 6), "north": round(north, 6)},
        "shape": {"lat": ds.sizes["lat"], "lon": ds.sizes["lon"]},
        "cell_size_deg": CELL_DEG,
        "variables": variables,
        "valid_cells": int(np.isfinite(ds["ssm"].values).sum()),
        "flagged_cells": {
            meanings[int(code)]: int((flags == code).sum()) for code in np.unique(flags) if int(code) != VALID_FLAG
        },
    }
