"""Opening one daily NetCDF product file and decoding its time values, with errors that name the file."""

from __future__ import annotations

import os
import re
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd

from soilsat.errors import ProductError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
CLASSIC_SIGNATURES = (b"CDF\x01", b"CDF\x02", b"CDF\x05")

_SINCE = re.compile(r"^\s*(days|hours|minutes|seconds)\s+since\s+(.+?)\s*$")


def is_netcdf(path: str | os.PathLike) -> bool:
    """Whether a file starts with the signature of a NetCDF-4 (HDF5) or classic NetCDF file."""
    with open(path, "rb") as f:
        head = f.read(8)
    return head == HDF5_SIGNATURE or head[:4] in CLASSIC_SIGNATURES


def open_netcdf(path: str | os.PathLike) -> netCDF4.Dataset:
    """The file opened read-only with raw values (no masking or scaling); ProductError when unreadable."""
    path = Path(path)
    if not path.is_file():
        raise ProductError(path, "no such file")
    if not is_netcdf(path):
        with open(path, "rb") as f:
            head = f.read(16)
        raise ProductError(path, f"not a NetCDF file (it starts with {head!r})")
    try:
        nc = netCDF4.Dataset(path, "r")
    except OSError as err:
        raise ProductError(path, f"unreadable NetCDF file, truncated or damaged ({err})") from None
    nc.set_auto_maskandscale(False)
    return nc


def attributes(obj: netCDF4.Dataset | netCDF4.Variable) -> dict:
    """The attributes of a file or variable as a dict."""
    return {name: obj.getncattr(name) for name in obj.ncattrs()}


def read(variable: netCDF4.Variable, path: str | os.PathLike, index: tuple = (Ellipsis,)) -> np.ndarray:
    """Raw values of a variable (all, or those at `index`); ProductError naming file and variable when unreadable."""
    try:
        return np.asarray(variable[index])
    except (OSError, RuntimeError, IndexError) as err:
        raise ProductError(
            path, f"variable {variable.name!r} cannot be read, the file is truncated or damaged ({err})"
        ) from None


def one_day(values: np.ndarray, shape: tuple[int, int], name: str, path: str | os.PathLike) -> np.ndarray:
    """The (lat, lon) field of a variable stored as (time, lat, lon) with one time step, or as (lat, lon)."""
    if values.size != shape[0] * shape[1]:
        raise ProductError(path, f"variable {name!r} holds {values.shape}, expected one day of {shape} cells")
    return values.reshape(shape)


def decode_time(value: float, units: str, path: str | os.PathLike) -> pd.Timestamp:
    """The UTC instant (tz-naive) of a CF time value such as 17317.5 'days since 1970-01-01T12:00:00'."""
    match = _SINCE.match(str(units))
    if not match:
        raise ProductError(path, f"time units {units!r} are not '<unit> since <date>'")
    try:
        origin = pd.Timestamp(match.group(2).replace(" UTC", "").strip())
    except ValueError:
        raise ProductError(path, f"time units {units!r} have an unreadable reference date") from None
    if origin.tzinfo is not None:
        origin = origin.tz_convert("UTC").tz_localize(None)
    return origin + pd.to_timedelta(float(value), unit=match.group(1))
