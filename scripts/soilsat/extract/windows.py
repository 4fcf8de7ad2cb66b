"""The window dataset of Zhang (2022): static covariate windows and yearly phenology at each sample."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import rasterio
import xarray as xr

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.extract.cf import add_provenance
from soilsat.extract.rasters import values_at
from soilsat.extract.samples import TARGETS
from soilsat.extract.static import STATIC_BANDS
from soilsat.settings import Settings

log = logging.getLogger(__name__)

PHENOLOGY_METRICS = ("greenup", "maturity", "peak", "senescence", "dormancy", "amplitude", "mean_evi")


@dataclass(frozen=True)
class WindowSettings(Settings):
    """The covariate windows (config section extract.windows)."""

    size: int


def covariate_windows(static_paths: Mapping[str, str], samples: pd.DataFrame, size: int) -> xr.DataArray:
    """Static covariates as size x size windows centred on each sample, (sample, covariate, wy, wx)."""
    if size % 2 == 0 or size < 1:
        raise ValueError(f"window size must be an odd positive number, got {size}")
    half = size // 2
    out = np.full((len(samples), len(STATIC_BANDS), size, size), np.nan, dtype=np.float32)
    for region, group in samples.groupby("region"):
        with rasterio.open(static_paths[region]) as src:
            data = src.read().astype(np.float32)
        padded = np.pad(data, ((0, 0), (half, half), (half, half)), constant_values=np.nan)
        for i, (r, c) in zip(group.index, zip(group["row"], group["col"])):
            out[i] = padded[:, r : r + size, c : c + size]
    return xr.DataArray(
        out,
        dims=("sample", "covariate", "wy", "wx"),
        coords={"sample": samples["point_id"].to_numpy(), "covariate": list(STATIC_BANDS)},
    )


def smooth_daily(times: pd.Series, values: np.ndarray, year: int, window_days: int = 31) -> pd.Series:
    """A daily curve for one year: linear interpolation of observations, then a centred moving mean."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    observed = pd.Series(values, index=pd.DatetimeIndex(times)).dropna().sort_index()
    observed = observed.groupby(level=0).mean()
    if len(observed) < 3:
        return pd.Series(np.nan, index=days)
    x = (observed.index - days[0]).days.to_numpy()
    y = np.interp((days - days[0]).days.to_numpy(), x, observed.to_numpy())
    curve = pd.Series(y, index=days).rolling(window_days, center=True, min_periods=1).mean()
    return curve


def phenology(curve: pd.Series) -> dict[str, float]:
    """Greenup, maturity, peak, senescence and dormancy day-of-year and amplitude of a daily curve.

    Dates are where the curve first rises through 15 % and 90 % of its seasonal amplitude before
    the peak, and last falls through 90 % and 15 % after it.
    """
    values = curve.to_numpy()
    if np.isnan(values).all():
        return dict.fromkeys(PHENOLOGY_METRICS[:-1], np.nan)
    low, high = np.nanmin(values), np.nanmax(values)
    amplitude = high - low
    peak = int(np.nanargmax(values))
    doy = curve.index.day_of_year.to_numpy()

    def crossing(level: float, rising: bool) -> float:
        threshold = low + level * amplitude
        if rising:
            before = np.nonzero(values[: peak + 1] >= threshold)[0]
            return float(doy[before[0]]) if len(before) else np.nan
        after = np.nonzero(values[peak:] >= threshold)[0]
        return float(doy[peak + after[-1]]) if len(after) else np.nan

    return {
        "greenup": crossing(0.15, True),
        "maturity": crossing(0.9, True),
        "peak": float(doy[peak]),
        "senescence": crossing(0.9, False),
        "dormancy": crossing(0.15, False),
        "amplitude": float(amplitude),
    }


def yearly_phenology(samples: pd.DataFrame, optical: pd.DataFrame, index: str = "EVI") -> xr.DataArray:
    """Phenology metrics and mean EVI per sample and year, (sample, year, metric)."""
    years = sorted(optical["time"].dt.year.unique())
    out = np.full((len(samples), len(years), len(PHENOLOGY_METRICS)), np.nan, dtype=np.float32)
    for region, group in samples.groupby("region"):
        products = optical[optical["region"] == region].sort_values("time")
        if products.empty:
            continue
        rows, cols = group["row"].to_numpy(), group["col"].to_numpy()
        series = np.stack([values_at(p, [index], rows, cols)[:, 0] for p in products["path"]], axis=1)
        for k, year in enumerate(years):
            in_year = (products["time"].dt.year == year).to_numpy()
            for j, i in enumerate(group.index):
                curve = smooth_daily(products["time"][in_year], series[j, in_year], year)
                metrics = phenology(curve)
                out[i, k, :-1] = [metrics[m] for m in PHENOLOGY_METRICS[:-1]]
                out[i, k, -1] = np.nanmean(series[j, in_year]) if np.isfinite(series[j, in_year]).any() else np.nan
    return xr.DataArray(
        out,
        dims=("sample", "year", "metric"),
        coords={"sample": samples["point_id"].to_numpy(), "year": years, "metric": list(PHENOLOGY_METRICS)},
    )


def window_dataset(
    samples: pd.DataFrame,
    windows: xr.DataArray,
    yearly: xr.DataArray,
    config_hash: str = "",
    products: Mapping[str, Sequence[str]] | None = None,
) -> xr.Dataset:
    """The Zhang 2022 dataset: covariate windows, yearly phenology series and the targets per sample."""
    dataset = xr.Dataset({"windows": windows, "phenology": yearly})
    for name in TARGETS:
        dataset[name] = ("sample", samples[name].to_numpy(dtype=float))
        dataset[name].attrs.update(units=TARGETS[name][0], long_name=TARGETS[name][1])
    for name in ("lat", "lon", "region"):
        dataset.coords[name] = ("sample", samples[name].to_numpy())
    dataset.coords["lat"].attrs.update(units="degrees_north", long_name="latitude")
    dataset.coords["lon"].attrs.update(units="degrees_east", long_name="longitude")
    dataset["windows"].attrs.update(
        units="1",
        long_name="static covariates in a window centred on the sample",
        comment="each covariate in its own units, as in the probe dataset's data dictionary",
    )
    dataset["phenology"].attrs.update(
        units="1",
        long_name="day of year of phenology stages, amplitude and mean of the EVI curve",
        comment="greenup, maturity, peak, senescence, dormancy: day of year; amplitude, mean_evi: EVI (1)",
    )
    dataset.attrs.update(title="soilsat covariate windows and phenology (Zhang 2022)", comment=COPERNICUS_ATTRIBUTION)
    return add_provenance(dataset, config_hash, products or {})


def window_table(dataset: xr.Dataset) -> pd.DataFrame:
    """The window dataset for people: one row per sample and year, centre-pixel covariates and phenology."""
    centre = dataset["windows"].isel(wy=dataset.sizes["wy"] // 2, wx=dataset.sizes["wx"] // 2)
    covariates = centre.to_pandas().add_prefix("static_")
    phenology = (
        dataset["phenology"]
        .to_dataframe()
        .reset_index()
        .pivot_table(index=["sample", "year"], columns="metric", values="phenology", dropna=False)
        .reset_index()
    )
    targets = dataset[["oc", "clay", "silt", "sand"]].to_dataframe()
    return phenology.merge(covariates, left_on="sample", right_index=True).merge(
        targets, left_on="sample", right_index=True
    )
