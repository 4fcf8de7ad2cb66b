"""Opening a SMAP HDF5 file and reading its datasets and attributes, with errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from soilsat.errors import ProductError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_hdf5(path: str | os.PathLike) -> bool:
    """Whether a file starts with the HDF5 signature."""
    with open(path, "rb") as f:
        return f.read(8) == HDF5_SIGNATURE


def open_h5(path: str | os.PathLike) -> h5py.File:
    """The file opened read-only; ProductError when it is missing, not HDF5 or damaged."""
    path = Path(path)
    if not path.is_file():
        raise ProductError(path, "no such file")
    if not is_hdf5(path):
        with open(path, "rb") as f:
            head = f.read(8)
        raise ProductError(path, f"not an HDF5 file (it starts with {head!r})")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise ProductError(path, f"unreadable HDF5 file, truncated or damaged ({err})") from None


def text(value: object) -> str:
    """An attribute value as text (SMAP writes fixed-length byte strings and variable-length str)."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", "replace").rstrip("\x00")
    return str(value)


def group(file: h5py.File, name: str, path: str | os.PathLike) -> h5py.Group:
    """A group of the file; ProductError listing the groups there are when it is missing."""
    if name not in file or not isinstance(file[name], h5py.Group):
        groups = sorted(k for k in file if isinstance(file[k], h5py.Group))
        raise ProductError(path, f"no group {name!r} (groups: {groups})")
    return file[name]


def dataset(parent: h5py.Group, name: str, path: str | os.PathLike) -> h5py.Dataset:
    """A dataset of a group; ProductError naming group and dataset when it is missing."""
    if name not in parent or not isinstance(parent[name], h5py.Dataset):
        raise ProductError(path, f"{parent.name} has no dataset {name!r}")
    return parent[name]


def read(ds: h5py.Dataset, path: str | os.PathLike, index: tuple = ()) -> np.ndarray:
    """Raw values of a dataset (all, or those at `index`); ProductError when the file is damaged."""
    try:
        return np.asarray(ds[index] if index else ds[()])
    except (OSError, RuntimeError, ValueError) as err:
        raise ProductError(
            path, f"dataset {ds.name} cannot be read, the file is truncated or damaged ({err})"
        ) from None


def fill_value(ds: h5py.Dataset) -> float | int | None:
    """The dataset's _FillValue attribute, or None."""
    if "_FillValue" not in ds.attrs:
        return None
    return np.asarray(ds.attrs["_FillValue"]).reshape(()).item()


def read_physical(ds: h5py.Dataset, path: str | os.PathLike, index: tuple = ()) -> np.ndarray:
    """Float64 values of a dataset with its _FillValue (and values outside valid_min..valid_max) as NaN."""
    values = read(ds, path, index).astype(np.float64)
    fill = fill_value(ds)
    bad = np.zeros(values.shape, dtype=bool) if fill is None else values == fill
    if "valid_min" in ds.attrs:
        bad |= values < float(np.asarray(ds.attrs["valid_min"]).reshape(()))
    if "valid_max" in ds.attrs:
        bad |= values > float(np.asarray(ds.attrs["valid_max"]).reshape(()))
    values[bad] = np.nan
    return values


def variables(parent: h5py.Group) -> dict[str, dict]:
    """Every dataset of a group: dtype, shape, fill value and units (for a product description)."""
    out = {}
    for name, ds in parent.items():
        if isinstance(ds, h5py.Dataset):
            units = text(ds.attrs["units"]) if "units" in ds.attrs else None
            out[name] = {"dtype": str(ds.dtype), "shape": list(ds.shape), "fill_value": fill_value(ds), "units": units}
    return out
