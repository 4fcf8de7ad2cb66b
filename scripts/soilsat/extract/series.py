"""Rules on daily series: interpolation windows, dry-day counts, pixel sampling of rasters."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import rasterio

log = logging.getLogger(__name__)


def interpolate_within(series: pd.Series, window_days: int) -> pd.Series:
    """Linear interpolation of a daily series, kept only within `window_days` of an observation."""
    observed = series.dropna()
    if observed.empty:
        return series.astype(float)
    days = (series.index - series.index[0]).days.to_numpy()
    obs_days = (observed.index - series.index[0]).days.to_numpy()
    values = np.interp(days, obs_days, observed.to_numpy(), left=np.nan, right=np.nan)
    nearest = np.min(np.abs(days[:, None] - obs_days[None, :]), axis=1)
    values[nearest > window_days] = np.nan
    return pd.Series(values, index=series.index, name=series.name)


def consecutive_dry_days(precipitation: np.ndarray, threshold_mm: float = 0.1) -> np.ndarray:
    """Number of consecutive days up to each day with precipitation below the threshold."""
    out = np.zeros(len(precipitation), dtype=float)
    count = 0.0
    for i, p in enumerate(precipitation):
        if np.isnan(p):
            count = np.nan
        elif p < threshold_mm:
            count = 1.0 if np.isnan(count) else count + 1.0
        else:
            count = 0.0
        out[i] = count
    return out


def window_statistic(data: np.ndarray, row: int, col: int, radius_px: int, statistic: str) -> np.ndarray:
    """Per-band value at a pixel, or the mean or median of the valid pixels within a radius of it."""
    if radius_px == 0 or statistic == "pixel":
        return data[:, row, col]
    r0, r1 = max(row - radius_px, 0), min(row + radius_px + 1, data.shape[1])
    c0, c1 = max(col - radius_px, 0), min(col + radius_px + 1, data.shape[2])
    rr, cc = np.mgrid[r0:r1, c0:c1]
    inside = (rr - row) ** 2 + (cc - col) ** 2 <= radius_px**2
    values = data[:, r0:r1, c0:c1][:, inside]
    reducers: dict[str, Callable[..., np.ndarray]] = {"mean": np.nanmean, "median": np.nanmedian}
    reduce = reducers[statistic]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return reduce(values, axis=1)


def sample_rasters(
    index: pd.DataFrame,
    pixels: pd.DataFrame,
    bands: Sequence[str],
    radius_px: int = 0,
    statistic: str = "pixel",
) -> pd.DataFrame:
    """Values of `bands` at the pixels (columns probe, region, row, col) of each indexed raster's own region.

    `index` is a raster index (soilsat.extract.rasters); one row per probe and raster; `statistic` "mean" or
    "median" reduces the pixels within `radius_px`.
    """
    frames = []
    for raster in index.itertuples(index=False):
        here = pixels[pixels["region"] == raster.region]
        if here.empty:
            continue
        with rasterio.open(raster.path) as src:
            names = list(src.descriptions)
            missing = [b for b in bands if b not in names]
            if missing:
                raise ValueError(f"{raster.path}: raster lacks bands {missing}")
            data = src.read([names.index(b) + 1 for b in bands])
        values = np.array(
            [window_statistic(data, r, c, radius_px, statistic) for r, c in zip(here["row"], here["col"])]
        )
        frame = pd.DataFrame(values.reshape(len(here), len(bands)), columns=list(bands))
        frame.insert(0, "probe", here["probe"].to_numpy())
        frame.insert(1, "time", pd.Timestamp(raster.time).normalize())
        frame.insert(2, "product", raster.product)
        if isinstance(raster.orbit_direction, str):
            frame["orbit_direction"] = raster.orbit_direction
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["probe", "time", "product", *bands])
    return pd.concat(frames, ignore_index=True)


def zscore_outliers(values: pd.Series, max_z: float) -> pd.Series:
    """Values with |z| above `max_z` (z over the series' own observations) set to missing."""
    observed = values.dropna()
    if len(observed) < 3 or observed.std(ddof=0) == 0:
        return values
    z = (values - observed.mean()) / observed.std(ddof=0)
    return values.where(~(z.abs() > max_z))
