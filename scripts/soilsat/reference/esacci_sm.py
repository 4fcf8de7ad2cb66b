"""ESA CCI Soil Moisture COMBINED (the thesis' ECV_SM): daily global NetCDF-4 classic files, 0.25 degree.

`sm` is volumetric soil moisture in m3 m-3 (float32, fill -9999) with `sm_uncertainty` (its estimated
standard deviation). `flag` (int8) says why a cell has no trustworthy value: 0 none, bits 1 snow or
temperature below zero, 2 dense vegetation, 4 no convergence, 8 value beyond physical bounds, 16 weight
of the measurement below threshold, 127 no data; `dnflag`, `mode`, `freqbandID` and `sensor` code what
observed the cell (0 is their no-data value) and `t0` when (days since 1970-01-01 UTC).
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

KIND = "ecv_sm"
PRODUCT = "ESA CCI SM COMBINED"
CELL_DEG = 0.25
VALUES = ("sm", "sm_uncertainty")
CODES = ("flag", "dnflag", "freqbandID", "mode", "sensor")
FILL = -9999.0
FLAG_NO_DATA = 127

# The layout of the daily files (as in the v04.5 to v05.2 releases): variables in their order, with
# dtype, fill value and attributes; t0's valid_range is the day +- 12 h and is set per file.
_CODE_LISTS = {
    "dnflag": ([0, 1, 2, 3], "NaN day night day_night_combination"),
    "flag": (
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 17, 18, 19, 20, 21, 22, 23, 127],
        "no_data_inconsistency_detected snow_coverage_or_temperature_below_zero dense_vegetation "
        "combination_of_flag_values_1_and_2 others_no_convergence_in_the_model_thus_no_valid_sm_estimates "
        "combination_of_flag_values_1_and_4 combination_of_flag_values_2_and_4 "
        "combination_of_flag_values_1_and_2_and_4 soil_moisture_value_exceeds_physical_boundary "
        "weight_of_measurement_below_threshold combination_of_flag_values_1_and_16 "
        "combination_of_flag_values_2_and_16 combination_of_flag_values_1_and_2_and_16 "
        "combination_of_flag_values_4_and_16 combination_of_flag_values_1_and_4_and_16 "
        "combination_of_flag_values_2_and_4_and_16 combination_of_flag_values_1_and_2_and_4_and_16 NaN",
    ),
    "freqbandID": (
        [
            0,
            1,
            2,
            3,
            4,
            8,
            9,
            10,
            11,
            16,
            17,
            18,
            19,
            24,
            25,
            26,
            27,
            32,
            33,
            34,
            35,
            64,
            65,
            66,
            67,
            72,
            73,
            74,
            75,
            80,
            81,
            82,
            83,
            128,
            130,
        ],
        "NaN L14 C53 L14+C53 C66 C68 L14+C68 C53+C68 L14+C53+C68 C69 L14+C69 C53+C69 L14+C53+C69 C68+C69 "
        "L14+C68+C69 C53+C68+C69 L14+C53+C68+C69 C73 L14+C73 C53+C73 L14+C53+C73 X107 L14+X107 C53+X107 "
        "L14+C53+X107 C68+X107 L14+C68+X107 C53+C68+X107 L14+C53+C68+X107 C69+X107 L14+C69+X107 "
        "C53+C69+X107 L14+C53+C69+X107 K194 C53+K194",
    ),
    "mode": ([0, 1, 2, 3], "NaN ascending descending ascending_descending_combination"),
    "sensor": (
        [
            0,
            1,
            2,
            4,
            8,
            16,
            24,
            32,
            40,
            48,
            56,
            128,
            130,
            132,
            136,
            256,
            264,
            272,
            280,
            288,
            296,
            304,
            312,
            512,
            544,
            768,
            776,
            784,
            792,
            800,
            808,
            816,
            824,
        ],
        "NaN SMMR SSMI TMI AMSRE WindSat AMSRE+WindSat AMSR2 AMSRE+AMSR2 WindSat+AMSR2 AMSRE+WindSat+AMSR2 "
        "AMIWS SSMI+AMIWS TMI+AMIWS AMSRE+AMIWS ASCATA AMSRE+ASCATA WindSat+ASCATA AMSRE+WindSat+ASCATA "
        "AMSR2+ASCATA AMSRE+AMSR2+ASCATA WindSat+AMSR2+ASCATA AMSRE+WindSat+AMSR2+ASCATA ASCATB AMSR2+ASCATB "
        "ASCATA+ASCATB AMSRE+ASCATA+ASCATB WindSat+ASCATA+ASCATB AMSRE+WindSat+ASCATA+ASCATB "
        "AMSR2+ASCATA+ASCATB AMSRE+AMSR2+ASCATA+ASCATB WindSat+AMSR2+ASCATA+ASCATB "
        "AMSRE+WindSat+AMSR2+ASCATA+ASCATB",
    ),
}
_CODE_NAMES = {
    "dnflag": "Day / Night Flag",
    "flag": "Flag",
    "freqbandID": "Frequency Band Identification",
    "mode": "Satellite  Mode",
    "sensor": "Sensor",
}
_CODE_TYPES: dict[str, type[np.int8 | np.int16]] = {
    "dnflag": np.int8,
    "flag": np.int8,
    "freqbandID": np.int16,
    "mode": np.int8,
    "sensor": np.int16,
}
LAYOUT: dict[str, tuple[type[np.float64 | np.float32 | np.int8 | np.int16], np.generic, dict]] = {
    "t0": (
        np.float64,
        np.float64(FILL),
        {"long_name": "Observation Timestamp", "units": "days since 1970-01-01 00:00:00 UTC"},
    ),
    "sm": (
        np.float32,
        np.float32(FILL),
        {
            "long_name": "Volumetric Soil Moisture",
            "units": "m3 m-3",
            "valid_range": np.array([0.0, 1.0], dtype=np.float32),
        },
    ),
    "sm_uncertainty": (
        np.float32,
        np.float32(FILL),
        {
            "long_name": "Volumetric Soil Moisture Uncertainty",
            "units": "m3 m-3",
            "description": "Uncertainty is the estimated standard deviation of the  observation",
            "valid_range": np.array([0.0, 1.0], dtype=np.float32),
        },
    ),
    **{
        name: (
            _CODE_TYPES[name],
            _CODE_TYPES[name](FLAG_NO_DATA if name == "flag" else 0),
            {
                "long_name": _CODE_NAMES[name],
                "flag_values": np.array(_CODE_LISTS[name][0], dtype=_CODE_TYPES[name]),
                "flag_meanings": _CODE_LISTS[name][1],
            },
        )
        for name in ("dnflag", "flag", "freqbandID", "mode", "sensor")
    },
}
VARIABLES = tuple(LAYOUT)
COORDINATE_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "lat": {
        "units": "degrees_north",
        "_CoordinateAxisType": "Lat",
        "standard_name": "latitude",
        "valid_range": np.array([-90.0, 90.0]),
    },
    "lon": {
        "units": "degrees_east",
        "_CoordinateAxisType": "Lon",
        "standard_name": "longitude",
        "valid_range": np.array([-180.0, 180.0]),
    },
    "time": {
        "units": "days since 1970-01-01 00:00:00 UTC",
        "_CoordinateAxisType": "Time",
        "standard_name": "time",
        "calendar": "standard",
    },
}


def global_attributes(
    day: pd.Timestamp, version: str, history: str, tracking_id: str, start: pd.Timestamp, end: pd.Timestamp
) -> dict:
    """The global attributes of a daily COMBINED file, in the distribution's order, for a record `start`..`end`."""
    return {
        "title": "ESA CCI Surface Soil Moisture COMBINED active+passive Product",
        "institution": "Technische Universität Wien (AUT); Transmissivity B.V. / VanderSat B.V. Noordwijk (NL)",
        "contact": "cci_sm_contact@eodc.eu",
        "source": "merged Level 2 scatterometer (AMI-WS, ASCAT) and radiometer (SMMR, SSM/I, TMI, AMSR-E, WindSat, "
        "AMSR2, SMOS) soil moisture retrievals",
        "platform": "Nimbus 7, DMSP, TRMM, AQUA, Coriolis, GCOM-W1, MIRAS; ERS-1, ERS-2, METOP-A, METOP-B",
        "sensor": "SMMR, SSM/I, TMI, AMSR-E, WindSat, AMSR2, SMOS; AMI-WS, ASCAT-A, ASCAT-B",
        "references": "http://www.esa-soilmoisture-cci.org; Gruber, A., Scanlon, T., van der Schalie, R., Wagner, W., "
        "and Dorigo, W. (2019). Evolution of the ESA CCI Soil Moisture climate data records and their "
        "underlying merging methodology, Earth Syst. Sci. Data, 11, 717-739.",
        "product_version": version,
        "id": file_name(day, version),
        "tracking_id": tracking_id,
        "Conventions": "CF-1.6",
        "standard_name_vocabulary": "NetCDF Climate and Forecast (CF) Metadata Convention",
        "summary": "The data set was produced with funding of the ESA CCI Soil Moisture project.",
        "keywords": "Soil Moisture/Water Content",
        "naming_authority": "TU Wien",
        "keywords_vocabulary": "NASA Global Change Master Directory (GCMD) Science Keywords",
        "cdm_data_type": "Grid",
        "comment": "These data were produced as part of the ESA CCI Soil Moisture project.",
        "history": history,
        "date_created": f"{end:%Y%m%d}T000000Z",
        "creator_name": "Department of Geodesy and Geoinformation, Technische Universität Wien",
        "creator_url": "http://rs.geo.tuwien.ac.at",
        "creator_email": "cci_sm_developer@eodc.eu",
        "project": "Climate Change Initiative - European Space Agency",
        "license": "Data use is free and open for all registered users.",
        "time_coverage_start": f"{start:%Y%m%d}T000000Z",
        "time_coverage_end": f"{end:%Y%m%d}T235959Z",
        "time_coverage_duration": f"P{(end - start).days + 1}D",
        "time_coverage_resolution": "P1D",
        "geospatial_lat_min": "-90.0",
        "geospatial_lat_max": "90.0",
        "geospatial_lon_min": "-180.0",
        "geospatial_lon_max": "180.0",
        "geospatial_vertical_min": "0.0",
        "geospatial_vertical_max": "0.0",
        "geospatial_lat_units": "degrees_north",
        "geospatial_lon_units": "degrees_east",
        "geospatial_lat_resolution": "0.25 degree",
        "geospatial_lon_resolution": "0.25 degree",
        "spatial_resolution": "25km",
    }


NAME = re.compile(
    r"^ESACCI-SOILMOISTURE-L3S-SSMV-(?P<type>COMBINED|ACTIVE|PASSIVE)-(?P<stamp>\d{14})"
    r"-fv(?P<version>\d+\.\d+)"
)


def file_name(day: pd.Timestamp, version: str) -> str:
    """The distribution's name of a day's COMBINED file: ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-<date>000000-fv<v>.nc."""
    return f"ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-{pd.Timestamp(day):%Y%m%d}000000-fv{version}.nc"


def parse_name(name: str) -> dict | None:
    """Date, product type and version of a file named as the distribution names them (None for other names)."""
    match = NAME.match(Path(name).name)
    if not match:
        return None
    stamp = match.group("stamp")
    return {
        "date": pd.Timestamp(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"),
        "type": match.group("type"),
        "version": match.group("version"),
    }


def product_type(attrs: dict) -> str | None:
    """COMBINED, ACTIVE or PASSIVE from a file's title or id attribute (None when it names none)."""
    text = f"{attrs.get('title', '')} {attrs.get('id', '')}".upper()
    return next((kind for kind in ("COMBINED", "ACTIVE", "PASSIVE") if kind in text), None)


def layout_problem(nc) -> str | None:
    """What keeps an open file from being an ESA CCI SM COMBINED daily file (None when it is one)."""
    attrs = attributes(nc)
    title, ident = str(attrs.get("title", "")), str(attrs.get("id", ""))
    if "ESA CCI" not in title.upper() and not ident.startswith("ESACCI-SOILMOISTURE"):
        return (
            f"not an ESA CCI soil moisture file: title {repr(title) if title else 'absent'}, "
            f"id {repr(ident) if ident else 'absent'}"
        )
    kind = product_type(attrs)
    if kind != "COMBINED":
        return (
            f"an ESA CCI SM {kind or 'unknown'} file; only the COMBINED product (volumetric, m3 m-3) is read "
            f"(title {title!r})"
        )
    for name in ("sm", "flag", "lat", "lon"):
        if name not in nc.variables:
            return f"ESA CCI SM file without variable {name!r} (variables: {', '.join(nc.variables)})"
    for name in ("sm", "flag"):
        if nc[name].dimensions[-2:] != ("lat", "lon"):
            return f"variable {name!r} has dimensions {nc[name].dimensions}, expected (time, lat, lon)"
    return None


def check(path: str | os.PathLike) -> None:
    """Raise ProductError naming the file when it is not a readable ESA CCI SM COMBINED file."""
    with open_netcdf(path) as nc:
        problem = layout_problem(nc)
        if problem:
            raise ProductError(path, problem)
        for name in ("lat", "lon", "sm", "flag"):
            read(nc[name], path)


def sensing_date(nc, path: str | os.PathLike) -> pd.Timestamp:
    """The day a file holds: its time value, else the date in its id attribute."""
    if "time" in nc.variables and nc["time"].size:
        value = float(read(nc["time"], path).ravel()[0])
        if np.isfinite(value):
            return decode_time(value, nc["time"].getncattr("units"), path).normalize()
    parsed = parse_name(str(attributes(nc).get("id", "")))
    if parsed:
        return parsed["date"]
    raise ProductError(path, "no time value and no dated id attribute: the sensing date is unknown")


def _masked(raw: np.ndarray, attrs: dict, keep: np.ndarray) -> np.ndarray:
    """Physical values with NaN at the fill value, outside valid_range and where `keep` is false."""
    values = raw.astype(np.float32)
    bad = ~keep | ~np.isfinite(values)
    if "_FillValue" in attrs:
        bad |= values == np.float32(attrs["_FillValue"])
    if "valid_range" in attrs:
        low, high = (float(v) for v in attrs["valid_range"])
        bad |= (values < low) | (values > high)
    return np.where(bad, np.float32(np.nan), values).astype(np.float32)


def _code_attrs(attrs: dict) -> dict:
    """The attributes of a code variable a user needs to read it (meanings, its no-data value)."""
    kept = {k: attrs[k] for k in ("long_name", "flag_values", "flag_meanings") if k in attrs}
    if "_FillValue" in attrs:
        kept["no_data_value"] = attrs["_FillValue"]
    return kept


def open_sm(path: str | os.PathLike, mask_flagged: bool = True) -> xr.Dataset:
    """One daily file as a Dataset (lat, lon): sm and sm_uncertainty in m3 m-3 (NaN at fill values and, with
    `mask_flagged`, wherever flag is not 0), the code variables as stored, t0 as datetime, scalar `time`."""
    with open_netcdf(path) as nc:
        problem = layout_problem(nc)
        if problem:
            raise ProductError(path, problem)
        lat = read(nc["lat"], path).astype(np.float64)
        lon = read(nc["lon"], path).astype(np.float64)
        shape = (lat.size, lon.size)
        day = sensing_date(nc, path)
        present = [name for name in VARIABLES if name in nc.variables]
        raw = {name: one_day(read(nc[name], path), shape, name, path) for name in present}
        var_attrs = {name: attributes(nc[name]) for name in present}
        file_attrs = attributes(nc)
        t0_units = var_attrs.get("t0", {}).get("units", "days since 1970-01-01 00:00:00 UTC")
    keep = raw["flag"] == 0 if mask_flagged else np.ones(shape, dtype=bool)
    data = {
        name: (
            ("lat", "lon"),
            _masked(raw[name], var_attrs[name], keep),
            {"units": "m3 m-3", "long_name": var_attrs[name].get("long_name", name)},
        )
        for name in VALUES
        if name in raw
    }
    for name in CODES:
        if name in raw:
            data[name] = (("lat", "lon"), raw[name], _code_attrs(var_attrs[name]))
    if "t0" in raw:
        t0 = _masked(raw["t0"], var_attrs["t0"], np.ones(shape, dtype=bool)).astype(np.float64)
        valid = np.isfinite(t0)
        origin = np.datetime64(decode_time(0.0, t0_units, path), "ns")
        stamps = origin + np.round(np.where(valid, t0, 0.0) * 86400e9).astype("timedelta64[ns]")
        data["t0"] = (
            ("lat", "lon"),
            np.where(valid, stamps, np.datetime64("NaT")),
            {"long_name": var_attrs["t0"].get("long_name", "Observation Timestamp")},
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
            "cell_size_deg": CELL_DEG,
            "mask_flagged": int(mask_flagged),
            "source": str(path),
        },
    )


def _variable_summary(attrs: dict, dtype: np.dtype) -> dict:
    summary: dict[str, Any] = {
        "units": str(attrs.get("units", "")),
        "long_name": str(attrs.get("long_name", "")),
        "dtype": str(dtype),
        "fill_value": attrs.get("_FillValue"),
    }
    for key in ("valid_range", "flag_values", "flag_meanings"):
        if key in attrs:
            summary[key] = attrs[key]
    return {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in summary.items()}


def describe(path: str | os.PathLike) -> dict:
    """Product, version, date, extent (from the coordinates), shape, variables and counts of one file."""
    ds = open_sm(path)
    with open_netcdf(path) as nc:
        variables = {
            name: _variable_summary(attributes(nc[name]), nc[name].dtype) for name in VARIABLES if name in nc.variables
        }
    west, south, east, north = latlon.extent(ds["lat"].values, ds["lon"].values, CELL_DEG)
    flags = ds["flag"].values
    return {
        "product": PRODUCT,
        "version": ds.attrs["version"],
        "date": pd.Timestamp(ds["time"].values).strftime("%Y-%m-%d"),
        "extent": {"west": round(west, 6), "south": round(south, 6), "east": round(east, 6), "north": round(north, 6)},
        "shape": {"lat": ds.sizes["lat"], "lon": ds.sizes["lon"]},
        "cell_size_deg": CELL_DEG,
        "variables": variables,
        "valid_cells": int(np.isfinite(ds["sm"].values).sum()),
        "flag_counts": {str(int(code)): int((flags == code).sum()) for code in np.unique(flags)},
    }
