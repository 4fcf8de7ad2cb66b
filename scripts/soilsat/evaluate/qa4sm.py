"""The predicted series at the probes as a QA4SM user-data upload: a CF NetCDF4 image stack, and back.

QA4SM (qa4sm.eu) takes a NetCDF4 stack with three-dimensional float variables on (time, y, x), two-dimensional
latitude and longitude coordinate variables in degrees (WGS84), a numeric time with `<unit> since <date>`, and
names of letters, digits and underscores of at most 30 characters. The probes lie along x (y has length 1), so
every probe is one "grid cell" QA4SM extracts a series from; the coordinate x numbers them and the global
attribute `location_names` names them in that order. Daily values are stamped at 12:00 UTC, the middle of the day
whose mean they estimate.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from soilsat import __version__
from soilsat.io import atomic_path

MAX_NAME = 30
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
NOON = pd.Timedelta(hours=12)
TIME_UNITS = "days since 1970-01-01 00:00:00"
VALID_RANGE = (0.0, 1.0)


def variable_name(model: str) -> str:
    """The QA4SM name of a model's soil-moisture variable (letters, digits, underscores, at most 30 characters)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", f"ssm_{model}")[:MAX_NAME]
    if not NAME.match(name):
        raise ValueError(f"{model!r} gives no valid QA4SM variable name")
    return name


def qa4sm_stack(
    predictions: pd.DataFrame, sites: pd.DataFrame, descriptions: Mapping[str, str], attrs: Mapping[str, str]
) -> xr.Dataset:
    """The stack of every model's daily prediction (columns model, probe, time, predicted) at the sites
    (probe, lat, lon); `descriptions` gives each model's long name."""
    sites = sites.drop_duplicates("probe").sort_values("probe").reset_index(drop=True)
    days = pd.DatetimeIndex(sorted(pd.to_datetime(predictions["time"]).dt.normalize().unique()))
    data_vars = {}
    for model, group in predictions.groupby("model", sort=True):
        table = group.assign(time=pd.to_datetime(group["time"]).dt.normalize()).pivot_table(
            index="time", columns="probe", values="predicted", aggfunc="mean"
        )
        table = table.reindex(index=days, columns=sites["probe"])
        name = variable_name(str(model))
        data_vars[name] = (
            ("time", "y", "x"),
            table.to_numpy(dtype=np.float32)[:, None, :],
            {
                "long_name": descriptions.get(str(model), f"soil moisture {model}")[:MAX_NAME],
                "units": "m3 m-3",
                "valid_range": np.array(VALID_RANGE, dtype=np.float32),
                "coordinates": "lat lon",
            },
        )
    n = len(sites)
    coords = {
        "time": ("time", (days + NOON).to_numpy(), {"standard_name": "time", "long_name": "time", "axis": "T"}),
        "lat": (
            ("y", "x"),
            sites["lat"].to_numpy(float)[None, :],
            {
                "standard_name": "latitude",
                "long_name": "latitude",
                "units": "degrees_north",
                "valid_range": np.array([-90.0, 90.0]),
            },
        ),
        "lon": (
            ("y", "x"),
            sites["lon"].to_numpy(float)[None, :],
            {
                "standard_name": "longitude",
                "long_name": "longitude",
                "units": "degrees_east",
                "valid_range": np.array([-180.0, 180.0]),
            },
        ),
        "y": ("y", np.zeros(1, dtype=np.int32), {"long_name": "row of the stack (one)", "units": "1"}),
        "x": (
            "x",
            np.arange(n, dtype=np.int32),
            {"long_name": "probe number along the stack", "units": "1"},
        ),
    }
    names = ";".join(str(p) for p in sites["probe"])
    # no clock time: two runs of the same study write the same file
    history = f"written by soilsat {__version__} for a QA4SM user-data upload"
    return xr.Dataset(
        data_vars, coords, attrs={"Conventions": "CF-1.10", "history": history, **attrs, "location_names": names}
    )


def write_qa4sm(stack: xr.Dataset, path: str | os.PathLike) -> None:
    """Write the stack as NetCDF4, atomically: NaN fill for the data, days since 1970 for time."""
    encoding: dict[str, dict[str, object]] = {
        str(name): {"_FillValue": np.float32(np.nan), "zlib": True, "complevel": 4} for name in stack.data_vars
    }
    encoding["time"] = {"units": TIME_UNITS, "calendar": "proleptic_gregorian", "dtype": "float64", "_FillValue": None}
    for name in ("lat", "lon", "x", "y"):
        encoding[name] = {"_FillValue": None}
    with atomic_path(path) as tmp:
        stack.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding)


def read_qa4sm(path: str | os.PathLike) -> pd.DataFrame:
    """The stack back as a table: variable, probe, lat, lon, time (the day), predicted."""
    with xr.open_dataset(path, engine="netcdf4") as stack:
        names = stack.attrs["location_names"].split(";")
        probes = np.asarray(names)[stack["x"].values]
        days = pd.DatetimeIndex(stack["time"].values).normalize()
        frames = []
        for name, variable in stack.data_vars.items():
            values = variable.values[:, 0, :]
            frames.append(
                pd.DataFrame(
                    {
                        "variable": str(name),
                        "probe": np.tile(probes, len(days)),
                        "lat": np.tile(stack["lat"].values[0], len(days)),
                        "lon": np.tile(stack["lon"].values[0], len(days)),
                        "time": np.repeat(days, len(probes)),
                        "predicted": values.ravel().astype(float),
                    }
                )
            )
    table = pd.concat(frames, ignore_index=True)
    return table[np.isfinite(table["predicted"])].reset_index(drop=True)
