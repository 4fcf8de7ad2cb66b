"""The covariates of Zhang et al. (2022, Table 1) on a region's covariate grid: climate and terrain (static), and
the yearly phenology and mean EVI (dynamic).

The covariate grid is the region's study grid coarsened to extract.windows.resolution_m (the paper: 90 m, in
the region's UTM zone as the paper's 50N). On it:

- temp, preci: the climate raster (WorldClim 2 BIO1 and BIO12 at 30 arc-seconds) interpolated bilinearly, as
  the paper interpolates its 1 km climate to 90 m (section 2.3.1);
- elev, slp, tri, rough, vrm, tpi, cti, spi: soilsat.extract.terrain on the DEM averaged onto the grid;
- per year: the 11 phenology variables of MCD12Q2 cycle 1 (dates as day of the year) and the mean cloud-free
  EVI of MOD09GA (phenology `mcd12q2`, soilsat.extract.modis_covariates); or the same 11 variables of the
  Sentinel-2 EVI curve and its yearly mean, from each product's EVI averaged over the covariate pixel
  (phenology `sentinel2`, a departure from the paper: another sensor, EVI for MODIS' EVI2).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from rasterio.enums import Resampling

from soilsat.extract.cf import add_provenance
from soilsat.extract.phenology import DATE_FIELDS, ZHANG_NAMES, cycle_metrics, daily_curves
from soilsat.extract.stack import read_named
from soilsat.extract.static import band_names, on_grid
from soilsat.extract.terrain import TERRAIN, terrain_variables
from soilsat.grid import StudyGrid, cf_grid_mapping

log = logging.getLogger(__name__)

CLIMATE = ("temp", "preci")
STATIC = (*CLIMATE, *TERRAIN)
# Table 1 order: the ten metrics of cycle 1 and the number of cycles; the yearly mean EVI apart.
PHENOLOGY = (
    "greenup",
    "mid-greenup",
    "maturity",
    "peak",
    "senescence",
    "mid-greendown",
    "dormancy",
    "num-cycles",
    "evi-amplitude",
    "evi-area",
    "evi-minimum",
)
EVI_MEAN = "evi-mean"
METRICS = (*PHENOLOGY, EVI_MEAN)
STATIC_UNITS = {
    "temp": "degC",
    "preci": "mm",
    "elev": "m",
    "slp": "degree",
    "tri": "m",
    "rough": "m",
    "vrm": "1",
    "tpi": "m",
    "cti": "1",
    "spi": "m",
}
# Sentinel-2 phenology: the moving mean of the daily EVI curve, and the least amplitude of a cycle (MCD12Q2's).
CURVE_WINDOW_DAYS = 31
MIN_AMPLITUDE = 0.1


def static_covariates(dem: str | os.PathLike, climate: str | os.PathLike, grid: StudyGrid) -> np.ndarray:
    """The (10, y, x) stack of STATIC: climate interpolated bilinearly, terrain of the DEM averaged onto the grid."""
    names = band_names(climate)
    missing = [c for c in CLIMATE if c not in names]
    if missing:
        raise ValueError(f"{climate}: climate raster lacks bands {missing} (bands: {names})")
    bands = on_grid(climate, grid, Resampling.bilinear)
    elevation = on_grid(dem, grid, Resampling.average, band=1)
    terrain = terrain_variables(elevation, grid.resolution)
    return np.concatenate([np.stack([bands[names.index(c)] for c in CLIMATE]), terrain]).astype(np.float32)


def block_nanmean(values: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """Mean of the valid values of each factor x factor block (NaN where fewer than half are valid)."""
    cut = values[: shape[0] * factor, : shape[1] * factor].astype(np.float64)
    blocks = cut.reshape(shape[0], factor, shape[1], factor)
    valid = np.isfinite(blocks).sum(axis=(1, 3))
    total = np.nansum(blocks, axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid >= factor * factor / 2, total / valid, np.nan)


def sentinel2_year(times: pd.Series, evi: np.ndarray, year: int) -> np.ndarray:
    """(metric, pixel) of one year from Sentinel-2 EVI observations (obs, pixel): the MCD12Q2 metrics of the
    daily curve (dates as day of the year) and the mean of the valid observations."""
    in_year = (times.dt.year == year).to_numpy()
    n_days = 366 if pd.Timestamp(year=year, month=12, day=31).day_of_year == 366 else 365
    day_index = (times[in_year].dt.day_of_year - 1).to_numpy()
    curves = daily_curves(day_index, evi[in_year], n_days, CURVE_WINDOW_DAYS)
    metrics = cycle_metrics(curves, MIN_AMPLITUDE)
    by_name = {ZHANG_NAMES[name]: metrics[name] + 1 for name in DATE_FIELDS}  # day index -> day of year
    by_name |= {ZHANG_NAMES[k]: metrics[k] for k in ("NumCycles", "EVI_Amplitude", "EVI_Area", "EVI_Minimum")}
    values = evi[in_year]
    count = np.isfinite(values).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.nansum(values, axis=0) / count, np.nan)
    return np.stack([*(by_name[name] for name in PHENOLOGY), mean])


def sentinel2_series(optical: pd.DataFrame, grid: StudyGrid, factor: int, years: Sequence[int]) -> np.ndarray:
    """(year, metric, y, x) from the Sentinel-2 rasters of a region (its rows of the raster index, EVI band)."""
    rows = optical[optical["region"] == grid.region].sort_values("time")
    if rows.empty:
        return np.full((len(years), len(METRICS), *grid.shape), np.nan, dtype=np.float32)
    evi = np.stack([block_nanmean(read_named(path, ["EVI"])[0], factor, grid.shape).ravel() for path in rows["path"]])
    times = pd.to_datetime(rows["time"]).reset_index(drop=True)
    series = [sentinel2_year(times, evi, year).reshape(len(METRICS), *grid.shape) for year in years]
    return np.stack(series).astype(np.float32)


def covariates_dataset(
    static: np.ndarray, dynamic: np.ndarray, grid: StudyGrid, years: Sequence[int], config_hash: str, products: dict
) -> xr.Dataset:
    """The covariates of one region as a CF dataset on its covariate grid."""
    on_grid_attrs = {"grid_mapping": "spatial_ref"}
    coords = {
        "covariate": list(STATIC),
        "year": list(years),
        "metric": list(METRICS),
        "y": ("y", grid.y_coords(), {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y"}),
        "x": ("x", grid.x_coords(), {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X"}),
        "spatial_ref": ((), np.int32(0), cf_grid_mapping(grid.crs)),
    }
    dataset = xr.Dataset(
        {
            "static": (
                ("covariate", "y", "x"),
                static.astype(np.float32),
                {
                    "units": "1",
                    "long_name": "climate and terrain covariates (Zhang 2022, Table 1)",
                    "comment": "units per covariate: " + ", ".join(f"{k} {v}" for k, v in STATIC_UNITS.items()),
                    **on_grid_attrs,
                },
            ),
            "phenology": (
                ("year", "metric", "y", "x"),
                dynamic.astype(np.float32),
                {
                    "units": "1",
                    "long_name": "yearly phenology (MCD12Q2 cycle 1 definitions) and mean EVI",
                    "comment": "dates as day of the year; num-cycles a count; evi-* in EVI (evi-area: EVI x days)",
                    **on_grid_attrs,
                },
            ),
        },
        coords=coords,
        attrs={
            "title": f"soilsat covariates of region {grid.region} (Zhang 2022)",
            "region": grid.region,
            "crs": grid.crs,
            "transform": list(grid.transform)[:6],
            "resolution_m": float(grid.resolution),
        },
    )
    return add_provenance(dataset, config_hash, products)


def grid_of(dataset: xr.Dataset) -> StudyGrid:
    """The covariate grid a covariates dataset lies on."""
    a, _, x0, _, _, y0 = dataset.attrs["transform"][:6]
    return StudyGrid(
        region=str(dataset.attrs["region"]),
        epsg=int(str(dataset.attrs["crs"]).split(":")[1]),
        x0=float(x0),
        y0=float(y0),
        width=dataset.sizes["x"],
        height=dataset.sizes["y"],
        resolution=float(a),
    )
