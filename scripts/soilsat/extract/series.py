"""Rules on daily series: interpolation windows, dry-day counts, pixel sampling of rasters."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence

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


def sample_rasters(
    paths: Iterable[str | os.PathLike],
    pixels: pd.DataFrame,
    bands: Sequence[str],
    time_tag: str,
) -> pd.DataFrame:
    """Values of `bands` at probe pixels (columns probe, row, col) in each raster, one row per probe and raster."""
    frames = []
    for path in paths:
        with rasterio.open(path) as src:
            names = list(src.descriptions)
            missing = [b for b in bands if b not in names]
            if missing:
                raise ValueError(f"{path}: raster lacks bands {missing}")
            data = src.read([names.index(b) + 1 for b in bands])
            tags = src.tags()
        values = data[:, pixels["row"].to_numpy(), pixels["col"].to_numpy()].T
        frame = pd.DataFrame(values, columns=list(bands))
        frame.insert(0, "probe", pixels["probe"].to_numpy())
        frame.insert(1, "time", pd.Timestamp(tags[time_tag]).tz_localize(None).normalize())
        frame.insert(2, "product", tags.get("product", os.path.basename(str(path))))
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["probe", "time", "product", *bands])
    return pd.concat(frames, ignore_index=True)
