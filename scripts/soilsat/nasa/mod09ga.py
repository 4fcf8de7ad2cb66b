"""MODIS daily surface reflectance (MOD09GA, collection 6.1), HDF4-EOS, and the EVI of Zhang et al. (2022) §2.3.3.

A file holds one day of one tile on two grids: MODIS_Grid_500m_2D (2400 x 2400) with sur_refl_b01_1 (red,
620-670 nm), sur_refl_b02_1 (NIR, 841-876 nm), sur_refl_b03_1 (blue, 459-479 nm), ... as int16 reflectance
x 10000 (scale_factor 0.0001, _FillValue -28672, valid -100..16000), and MODIS_Grid_1km_2D (1200 x 1200) with
the bit-packed state QA state_1km_1: bits 0-1 cloud state (00 clear, 01 cloudy, 10 mixed, 11 not set),
bit 2 cloud shadow, bit 10 internal cloud algorithm flag. A 500 m pixel is cloud-free when the 1 km cell
it lies in is clear (00), without shadow and without the internal cloud flag; those are the pixels whose
EVI = 2.5 (NIR - red) / (NIR + 6 red - 7.5 blue + 1) enters the yearly mean.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.errors import ProductError
from soilsat.nasa import modis_file
from soilsat.nasa.hdfeos import EosGrid, core_value, grids, open_hdf4, physical, read_field
from soilsat.nasa.modis_grid import check_sinusoidal, coords, grid_attrs

KIND = "mod09ga"
SHORT_NAMES = ("MOD09GA", "MYD09GA")
GRID_500M = "MODIS_Grid_500m_2D"
GRID_1KM = "MODIS_Grid_1km_2D"
BANDS = {"red": "sur_refl_b01_1", "nir": "sur_refl_b02_1", "blue": "sur_refl_b03_1"}
STATE = "state_1km_1"
CLOUD_STATE_MASK = 0b11
CLOUD_SHADOW_BIT = 1 << 2
INTERNAL_CLOUD_BIT = 1 << 10
EVI_G, EVI_C1, EVI_C2, EVI_L = 2.5, 6.0, 7.5, 1.0


def cloud_free(state: np.ndarray, fill: int | None = None) -> np.ndarray:
    """Where the state QA says clear: cloud state 00, no cloud shadow, no internal cloud flag (and not fill)."""
    state = np.asarray(state).astype(np.int64)
    clear = ((state & CLOUD_STATE_MASK) == 0) & ((state & CLOUD_SHADOW_BIT) == 0) & ((state & INTERNAL_CLOUD_BIT) == 0)
    return clear if fill is None else clear & (state != fill)


def evi(red: np.ndarray, nir: np.ndarray, blue: np.ndarray) -> np.ndarray:
    """The enhanced vegetation index (Huete et al. 2002) of surface reflectances."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return EVI_G * (nir - red) / (nir + EVI_C1 * red - EVI_C2 * blue + EVI_L)


def _grid(all_grids: dict[str, EosGrid], name: str, path: str | os.PathLike) -> EosGrid:
    if name not in all_grids:
        raise ProductError(path, f"StructMetadata.0 has no grid {name} (grids: {sorted(all_grids)})")
    check_sinusoidal(all_grids[name], path)
    return all_grids[name]


def state_on_500m(state: np.ndarray, fine: EosGrid, coarse: EosGrid) -> np.ndarray:
    """The 1 km state of the cell each 500 m pixel centre falls in (-1 outside the 1 km grid)."""
    f, c = fine.transform, coarse.transform
    cols = np.floor((f.c + (np.arange(fine.xdim) + 0.5) * f.a - c.c) / c.a).astype(np.int64)
    rows = np.floor((f.f + (np.arange(fine.ydim) + 0.5) * f.e - c.f) / c.e).astype(np.int64)
    inside = (rows[:, None] >= 0) & (rows[:, None] < coarse.ydim) & (cols[None, :] >= 0) & (cols[None, :] < coarse.xdim)
    out = state[np.clip(rows, 0, coarse.ydim - 1)][:, np.clip(cols, 0, coarse.xdim - 1)].astype(np.int64)
    return np.where(inside, out, -1)


def read_reflectance(path: str | os.PathLike) -> xr.Dataset:
    """Red, NIR and blue surface reflectance on the 500 m grid (NaN where filled or out of range), the 1 km state
    QA laid on it, `cloud_free` and `evi` (NaN where cloudy or filled); attrs date, tile, crs, transform."""
    sd = open_hdf4(path)
    try:
        short = core_value(sd, "SHORTNAME", path)
        if short not in SHORT_NAMES:
            raise ProductError(path, f"a {short} file, not {' or '.join(SHORT_NAMES)}")
        all_grids = grids(sd, path)
        fine, coarse = _grid(all_grids, GRID_500M, path), _grid(all_grids, GRID_1KM, path)
        day = pd.Timestamp(core_value(sd, "RANGEBEGINNINGDATE", path))
        bands = {}
        for band, field in BANDS.items():
            raw, attrs = read_field(sd, field, path)
            if raw.shape != (fine.ydim, fine.xdim):
                raise ProductError(path, f"field {field!r} has shape {raw.shape}, the grid {fine.ydim} x {fine.xdim}")
            bands[band] = physical(raw, attrs)
        state, state_attrs = read_field(sd, STATE, path)
    finally:
        sd.end()
    fill = state_attrs.get("_FillValue")
    laid = state_on_500m(state, fine, coarse)
    clear = cloud_free(laid, None if fill is None else int(fill)) & (laid >= 0)
    index = evi(bands["red"], bands["nir"], bands["blue"])
    dims = ("y", "x")
    placement = grid_attrs(fine)
    data: dict[str, tuple] = {band: (dims, values) for band, values in bands.items()}
    data |= {
        "state_1km": (dims, laid),
        "cloud_free": (dims, clear),
        "evi": (dims, np.where(clear & np.isfinite(index), index, np.nan), placement),
    }
    return xr.Dataset(data, coords=coords(fine), attrs={"short_name": short, "date": f"{day:%Y-%m-%d}", **placement})


def yearly_mean_evi(paths: Sequence[str | os.PathLike]) -> xr.Dataset:
    """The mean of every cloud-free daily EVI of the files (one tile window, one year) and the number of days
    that entered it, per pixel; ProductError when the files cover different windows or years."""
    if not paths:
        raise ValueError("no MOD09GA files to average")
    total = count = None
    first = None
    for path in paths:
        day = read_reflectance(path)
        if first is None:
            first = day
            total, count = np.zeros(day["evi"].shape), np.zeros(day["evi"].shape, dtype=np.int64)
        elif day.attrs["transform"] != first.attrs["transform"] or day["evi"].shape != first["evi"].shape:
            raise ProductError(path, f"covers another window than {paths[0]}; average one tile window at a time")
        elif day.attrs["date"][:4] != first.attrs["date"][:4]:
            raise ProductError(
                path,
                f"is of {day.attrs['date'][:4]}, {paths[0]} of {first.attrs['date'][:4]}: average one year at a time",
            )
        valid = np.isfinite(day["evi"].values)
        total += np.where(valid, day["evi"].values, 0.0)
        count += valid
    if first is None or total is None or count is None:  # not reached: paths is not empty
        raise ValueError("no MOD09GA files to average")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    placement = {k: first.attrs[k] for k in ("crs", "transform", "tile")}
    return xr.Dataset(
        {"evi-mean": (("y", "x"), mean, placement), "days": (("y", "x"), count)},
        coords={"x": first["x"], "y": first["y"]},
        attrs={"year": int(first.attrs["date"][:4]), **placement},
    )


def describe(path: str | os.PathLike) -> dict:
    """Short name, version, period, tile and grids, fields with their fill values."""
    return modis_file.describe(path)
