"""MODIS land cover dynamics (MCD12Q2, collection 6.1): yearly vegetation phenology, 500 m sinusoidal, HDF4-EOS.

One file per tile and year (grid MCD12Q2, 2400 x 2400 pixels). NumCycles counts the vegetation cycles with
a peak in the product year; every other field has two layers (Num_Modes), cycle 1 and cycle 2 (the two
cycles of largest EVI2 amplitude). The seven dates (Greenup, MidGreenup, Maturity, Peak, Senescence,
MidGreendown, Dormancy: EVI2 crossing 15/50/90 % of the segment amplitude, the maximum, and back) are days
since 1970-01-01, valid 11138..32766, _FillValue 32767; EVI_Minimum and EVI_Amplitude are EVI2 x 10000,
EVI_Area the sum of daily EVI2 x 10; QA_Overall rates the cycle 0 (best) .. 3 (poor) and QA_Detailed
packs two bits per date. Zhang et al. (2022, Table 1) use the ten metrics of cycle 1 and NumCycles, with
the dates as day of the product year.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.errors import ProductError
from soilsat.extract.phenology import ZHANG_NAMES
from soilsat.nasa import modis_file
from soilsat.nasa.hdfeos import core_value, grids, open_hdf4, physical, read_field
from soilsat.nasa.modis_grid import check_sinusoidal, coords, grid_attrs

KIND = "mcd12q2"
SHORT_NAME = "MCD12Q2"
GRID = "MCD12Q2"
DATE_FIELDS = ("Greenup", "MidGreenup", "Maturity", "Peak", "Senescence", "MidGreendown", "Dormancy")
EVI_FIELDS = ("EVI_Minimum", "EVI_Amplitude", "EVI_Area")
CYCLE_FIELDS = DATE_FIELDS + EVI_FIELDS + ("QA_Overall", "QA_Detailed")
EPOCH = pd.Timestamp("1970-01-01")


def day_of_year(days_since_1970: np.ndarray, year: int) -> np.ndarray:
    """Day of the product year (1 = 1 January) of dates in days since 1970-01-01 (below 1 or above 365 when a
    cycle starts or ends in a neighbouring year)."""
    return np.asarray(days_since_1970, dtype=np.float64) - (pd.Timestamp(year=year, month=1, day=1) - EPOCH).days + 1


def product_year(sd, path: str | os.PathLike) -> int:
    """The product year, from RANGEBEGINNINGDATE of CoreMetadata.0."""
    return pd.Timestamp(core_value(sd, "RANGEBEGINNINGDATE", path)).year


def read_phenology(path: str | os.PathLike, cycle: int = 1) -> xr.Dataset:
    """The eleven phenology variables of Zhang et al. (2022) for one cycle on (y, x), NaN where filled: dates as
    day of the product year, EVI2 metrics in EVI2 units (area: EVI2 x days), num-cycles; plus QA_Overall."""
    if cycle not in (1, 2):
        raise ValueError(f"MCD12Q2 has cycles 1 and 2, not {cycle}")
    sd = open_hdf4(path)
    try:
        short = core_value(sd, "SHORTNAME", path)
        if short != SHORT_NAME:
            raise ProductError(path, f"a {short} file, not {SHORT_NAME}")
        grid = grids(sd, path).get(GRID)
        if grid is None:
            raise ProductError(path, f"StructMetadata.0 has no grid {GRID}")
        check_sinusoidal(grid, path)
        year = product_year(sd, path)
        data = {}
        for name in CYCLE_FIELDS[:-1]:
            raw, attrs = read_field(sd, name, path)
            if raw.ndim != 3 or raw.shape[0] != 2:
                raise ProductError(
                    path, f"field {name!r} has shape {raw.shape}, expected 2 cycles of {grid.ydim} x {grid.xdim} pixels"
                )
            values = physical(raw[cycle - 1], attrs)
            if name in DATE_FIELDS:
                values = day_of_year(values, year)
            data[ZHANG_NAMES.get(name, name)] = (("y", "x"), values)
        raw, attrs = read_field(sd, "NumCycles", path)
        data["num-cycles"] = (("y", "x"), physical(raw, attrs))
    finally:
        sd.end()
    placement = grid_attrs(grid)
    dataset = xr.Dataset(
        data, coords=coords(grid), attrs={"short_name": SHORT_NAME, "year": year, "cycle": cycle, **placement}
    )
    for var in dataset.data_vars:
        dataset[var].attrs.update(placement)
    return dataset


def describe(path: str | os.PathLike) -> dict:
    """Short name, version, period, tile and grids, fields with their fill values."""
    return modis_file.describe(path)
