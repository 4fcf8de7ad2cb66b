"""soilsat's datasets as CF-1.10 NetCDF: labels, coordinate attributes, dimension order, fill values; and back.

In memory a dataset is indexed by names: probes, samples, features. CF-1.10 wants every
coordinate variable numeric, monotonic and without a fill value, so a dataset is stored
with each string-valued dimension coordinate `d` as a label variable `d` on a dimension
`d_index` (CF section 6.1), those dimensions listed in the global attribute
`label_dimensions`, the time, vertical and horizontal dimensions of every variable last
(section 2.4), and the coordinates soilsat uses described by their standard and long
names where the dataset does not describe them. `open_dataset` and `read_dataset` give back
the dataset as it was in memory; plain xarray reads the labels as coordinates along `d_index`
and the variables with T, Z, Y, X last.
"""

from __future__ import annotations

import os
from typing import cast

import numpy as np
import xarray as xr

CONVENTIONS = "CF-1.10"
LABELS = "label_dimensions"
LABEL_SUFFIX = "_index"
ORDER = "dimension_order"  # a variable's dimensions in memory, where the file puts T, Z, Y, X last
# sigma0 in decibels: UDUNITS spells the decibel of a dimensionless ratio as a tenth of a common logarithm
DECIBEL = "0.1 lg(re 1)"

COORDINATE_ATTRS: dict[str, dict[str, str]] = {
    "time": {"standard_name": "time", "long_name": "time", "axis": "T"},
    "lat": {"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north"},
    "lon": {"standard_name": "longitude", "long_name": "longitude", "units": "degrees_east"},
    "row": {"long_name": "row of the pixel on the region's study grid (0 at the top)", "units": "1"},
    "col": {"long_name": "column of the pixel on the region's study grid (0 at the left)", "units": "1"},
    "region": {"long_name": "region of the study (its study grid)"},
    "probe": {"long_name": "probe site"},
    "feature": {"long_name": "daily variable the observed mask refers to"},
    "sample": {"long_name": "sample point identifier"},
    "observation": {"long_name": "observation number of the sample (bare-soil days in time order)", "units": "1"},
    "year": {"long_name": "calendar year of the phenology", "units": "1"},
    "metric": {"long_name": "phenology metric"},
    "covariate": {"long_name": "static covariate"},
    "wy": {"long_name": "window row offset from the sample's pixel", "units": "1"},
    "wx": {"long_name": "window column offset from the sample's pixel", "units": "1"},
}
# The CF axis of a dimension, from its coordinate's attributes; the order variables' dimensions end in.
_AXIS_OF = {
    "time": "T",
    "latitude": "Y",
    "longitude": "X",
    "projection_y_coordinate": "Y",
    "projection_x_coordinate": "X",
    "height": "Z",
    "depth": "Z",
}
_AXIS_ORDER = "TZYX"


def _axis(dataset: xr.Dataset, dim: str) -> str | None:
    """T, Z, Y or X for a dimension whose coordinate says so (axis or standard_name), else None."""
    if dim not in dataset.coords:
        return None
    attrs = dataset[dim].attrs
    return attrs.get("axis") or _AXIS_OF.get(attrs.get("standard_name", ""))


def _is_text(variable: xr.DataArray) -> bool:
    """Whether a variable holds strings."""
    return variable.dtype.kind in "OUS"


def cf_encoded(dataset: xr.Dataset) -> xr.Dataset:
    """The dataset as write_netcdf stores it: coordinates described, labels on index dimensions, T/Z/Y/X last."""
    out = dataset.copy()
    for name, attrs in COORDINATE_ATTRS.items():
        if name in out.coords:
            out[name].attrs = {**attrs, **out[name].attrs}
    for var_name, variable in list(out.data_vars.items()):
        axes = {d: _axis(out, str(d)) for d in variable.dims}
        order = [d for d in variable.dims if axes[d] is None]
        order += sorted((d for d in variable.dims if axes[d]), key=lambda d: _AXIS_ORDER.index(cast(str, axes[d])))
        if tuple(order) != variable.dims:
            out[var_name] = variable.transpose(*order)
            out[var_name].attrs[ORDER] = " ".join(str(d) for d in variable.dims)
    labelled = [str(d) for d in out.dims if d in out.coords and _is_text(out[d])]
    if labelled:
        out = out.swap_dims({d: f"{d}{LABEL_SUFFIX}" for d in labelled})
        out.attrs[LABELS] = " ".join(labelled)
    return out


def encoding(dataset: xr.Dataset) -> dict[str, dict[str, object]]:
    """NetCDF encoding: NaN as the _FillValue of every float variable, none for integers, strings and coordinate
    variables (CF forbids missing values in those); datetimes in seconds since 1970."""
    out: dict[str, dict[str, object]] = {}
    for name, variable in {**dataset.data_vars, **dataset.coords}.items():
        coordinate = name in dataset.dims
        if np.issubdtype(variable.dtype, np.floating):
            out[str(name)] = {"_FillValue": None if coordinate else variable.dtype.type(np.nan)}
        elif np.issubdtype(variable.dtype, np.datetime64):
            out[str(name)] = {
                "units": "seconds since 1970-01-01 00:00:00",
                "dtype": "float64",
                "_FillValue": None if coordinate else np.nan,
            }
    return out


def write_netcdf(dataset: xr.Dataset, path: str | os.PathLike, encodings: dict | None = None) -> None:
    """Write a dataset as CF-1.10 NetCDF (see the module's docstring); `encodings` add to each variable's encoding."""
    stored = cf_encoded(dataset)
    merged = encoding(stored)
    for name, extra in (encodings or {}).items():
        merged[name] = {**merged.get(name, {}), **extra}
    stored.to_netcdf(path, engine="netcdf4", encoding=merged)


def open_dataset(path: str | os.PathLike) -> xr.Dataset:
    """A dataset stored by write_netcdf, opened lazily, as it was in memory: labels as dimension coordinates and
    every variable's dimensions in their order."""
    opened = xr.open_dataset(path, engine="netcdf4")
    dataset = opened
    labelled = dataset.attrs.pop(LABELS, "").split()
    if labelled:
        dataset = dataset.swap_dims({f"{d}{LABEL_SUFFIX}": d for d in labelled})
    for name, variable in list(dataset.data_vars.items()):
        if ORDER in variable.attrs:
            dataset[name] = variable.transpose(*variable.attrs.pop(ORDER).split())
    if dataset is not opened:
        dataset.set_close(opened.close)  # closing the decoded dataset closes the file
    return dataset


def read_dataset(path: str | os.PathLike) -> xr.Dataset:
    """A dataset stored by write_netcdf, loaded into memory as it was (see open_dataset)."""
    with open_dataset(path) as dataset:
        return dataset.load()
