"""Which reference product a NetCDF file holds, recognised by its content, and the reader of each."""

from __future__ import annotations

import os
from types import ModuleType

import xarray as xr

from soilsat.errors import ProductError
from soilsat.reference import cgls_ssm, esacci_sm
from soilsat.reference.ncfile import open_netcdf

PRODUCTS: dict[str, ModuleType] = {cgls_ssm.KIND: cgls_ssm, esacci_sm.KIND: esacci_sm}


def product_kind(path: str | os.PathLike) -> str:
    """'csm' for a CGLS SSM 1 km file, 'ecv_sm' for an ESA CCI SM COMBINED file; ProductError otherwise."""
    with open_netcdf(path) as nc:
        problems = {kind: module.layout_problem(nc) for kind, module in PRODUCTS.items()}
    kind = next((kind for kind, problem in problems.items() if problem is None), None)
    if kind is None:
        raise ProductError(
            path,
            "a NetCDF (HDF5) file, but neither CGLS SSM 1km (csm) nor ESA CCI SM COMBINED "
            "(ecv_sm): " + "; ".join(problems.values()),
        )
    return kind


def open_product(path: str | os.PathLike, mask_flagged: bool = True) -> xr.Dataset:
    """The reader's Dataset of a file of either product (`mask_flagged` applies to ESA CCI SM)."""
    kind = product_kind(path)
    if kind == esacci_sm.KIND:
        return esacci_sm.open_sm(path, mask_flagged=mask_flagged)
    return cgls_ssm.open_ssm(path)


def describe(path: str | os.PathLike) -> dict:
    """The describe() summary of a file of either product, with its kind."""
    kind = product_kind(path)
    return {"kind": kind} | PRODUCTS[kind].describe(path)
