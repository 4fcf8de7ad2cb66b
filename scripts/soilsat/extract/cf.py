"""CF metadata, provenance and the NetCDF + Parquet writer shared by the extraction datasets.

The NetCDF is laid out by soilsat.cf_netcdf (read it back with its read_dataset); files pass
the IOOS compliance checker's cf:1.10 suite with no high- or medium-priority failure
(tests/test_datasets_cf.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

import soilsat
from soilsat.cf_netcdf import CONVENTIONS, write_netcdf
from soilsat.io import atomic_path


def product_names(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Product ids of processed rasters (file names without extension)."""
    return sorted(os.path.splitext(os.path.basename(str(p)))[0] for p in paths)


def add_provenance(
    dataset: xr.Dataset, config_hash: str, products: Mapping[str, Sequence[str | os.PathLike]]
) -> xr.Dataset:
    """The dataset with CF conventions, history, soilsat's version, the config hash and each source's product ids."""
    dataset.attrs.update(
        Conventions=CONVENTIONS,
        source=f"soilsat {soilsat.__version__}",
        history=f"written by soilsat {soilsat.__version__} from the configuration with sha256 {config_hash}",
        soilsat_version=soilsat.__version__,
        config_sha256=config_hash,
        **{f"{source}_products": " ".join(product_names(paths)) for source, paths in products.items()},
    )
    return dataset


def missing_cf_attributes(dataset: xr.Dataset) -> list[str]:
    """Names of data variables without `units` and `long_name` (datetimes carry their units in the encoding)."""
    lacking = []
    for name, variable in dataset.data_vars.items():
        has_units = "units" in variable.attrs or np.issubdtype(variable.dtype, np.datetime64)
        if not has_units or "long_name" not in variable.attrs:
            lacking.append(str(name))
    return lacking


def write_dataset(
    dataset: xr.Dataset, table: pd.DataFrame, netcdf: str | os.PathLike, parquet: str | os.PathLike
) -> None:
    """Write a CF-complete dataset as CF-1.10 NetCDF and its tidy table as Parquet, each atomically."""
    lacking = missing_cf_attributes(dataset)
    if lacking or "config_sha256" not in dataset.attrs:
        raise ValueError(f"{netcdf}: dataset lacks CF units/long_name on {lacking} or provenance attributes")
    with atomic_path(netcdf) as tmp:
        write_netcdf(dataset, tmp)
    with atomic_path(parquet) as tmp:
        table.to_parquet(tmp, index=False)
