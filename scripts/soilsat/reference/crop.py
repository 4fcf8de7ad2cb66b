"""A lat/lon window of a gridded NetCDF product, copied verbatim: same format, dimensions, variables,
types, attributes, fill values and compression, with raw (unscaled) values, so that the product's
own reader reads the crop as it reads the original.
"""

from __future__ import annotations

import datetime as dt
import os

import netCDF4
import numpy as np

from soilsat.errors import ProductError
from soilsat.reference.ncfile import attributes, open_netcdf, read

LAT, LON = "lat", "lon"


def _window_size(dimension: netCDF4.Dimension, windows: dict[str, slice]) -> int:
    if dimension.name in windows:
        return len(range(*windows[dimension.name].indices(len(dimension))))
    return len(dimension)


def _storage(variable: netCDF4.Variable, shape: tuple[int, ...], unlimited: set[str]) -> dict:
    """createVariable keywords that store a variable as the original does, chunks clipped to the new shape."""
    filters = variable.filters() or {}
    options: dict[str, bool | int | tuple[int, ...]] = {
        "zlib": bool(filters.get("zlib")),
        "shuffle": bool(filters.get("shuffle")),
        "fletcher32": bool(filters.get("fletcher32")),
    }
    if options["zlib"]:
        options["complevel"] = int(filters.get("complevel") or 4)
    chunking = variable.chunking()
    if chunking == "contiguous" or chunking is None:
        if not options["zlib"] and not any(d in unlimited for d in variable.dimensions):
            options["contiguous"] = True
    else:
        options["chunksizes"] = tuple(
            c if d in unlimited else max(1, min(c, n)) for c, d, n in zip(chunking, variable.dimensions, shape)
        )
    return options


def copy_window(source: str | os.PathLike, destination: str | os.PathLike, lat: slice, lon: slice) -> None:
    """Write the `lat` x `lon` window of every variable of `source` into a new file `destination`."""
    windows = {LAT: lat, LON: lon}
    with open_netcdf(source) as src:
        missing = [name for name in (LAT, LON) if name not in src.dimensions]
        if missing:
            raise ProductError(source, f"no {' or '.join(missing)} dimension to crop along")
        history = (
            f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d} -- soilsat: cropped to lat {lat.start}:{lat.stop}, "
            f"lon {lon.start}:{lon.stop} of the original grid"
        )
        with netCDF4.Dataset(destination, "w", format=src.data_model) as dst:
            dst.set_auto_maskandscale(False)
            global_attrs = attributes(src)
            global_attrs["history"] = "\n".join(filter(None, [history, str(global_attrs.get("history", ""))]))
            dst.setncatts(global_attrs)
            unlimited = {name for name, d in src.dimensions.items() if d.isunlimited()}
            for name, dimension in src.dimensions.items():
                dst.createDimension(name, None if name in unlimited else _window_size(dimension, windows))
            for name, variable in src.variables.items():
                shape = tuple(_window_size(src.dimensions[d], windows) for d in variable.dimensions)
                var_attrs = attributes(variable)
                fill = var_attrs.pop("_FillValue", None)
                out = dst.createVariable(
                    name,
                    variable.datatype,
                    variable.dimensions,
                    fill_value=fill,
                    **_storage(variable, shape, unlimited),
                )
                out.set_auto_maskandscale(False)
                out.setncatts(var_attrs)
                index = tuple(windows.get(d, slice(None)) for d in variable.dimensions) or (Ellipsis,)
                values = read(variable, source, index)
                if variable.dimensions:
                    out[tuple(slice(0, n) for n in np.shape(values))] = values
                else:
                    out.assignValue(values)
