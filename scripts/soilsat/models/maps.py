"""Maps: what the map models are fitted on (every probe or sample) and which dates are mapped."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.extract.samples import S2_BANDS
from soilsat.models.simonsen.random_forest import training_rows

log = logging.getLogger(__name__)

SOC_FEATURES = ("elevation", "slope", "aspect_x", "aspect_y", "clay", "silt", "sand", "mean_evi")


def map_dates(times: Sequence[pd.Timestamp], count: int) -> list[pd.Timestamp]:
    """Up to `count` acquisition dates spread evenly over the record."""
    ordered = sorted(pd.Timestamp(t) for t in times)
    if count <= 0 or not ordered:
        return []
    picks = np.unique(np.linspace(0, len(ordered) - 1, min(count, len(ordered))).round().astype(int))
    return [ordered[i] for i in picks]


def mappable_dates(
    radar_times: Sequence[pd.Timestamp], optical_times: Sequence[pd.Timestamp], window_days: int
) -> list[pd.Timestamp]:
    """Sentinel-1 acquisition times with a Sentinel-2 observation within `window_days` (the indices need one)."""
    optical = pd.DatetimeIndex(sorted(pd.Timestamp(t) for t in optical_times))
    window = pd.Timedelta(days=window_days)
    return [pd.Timestamp(t) for t in radar_times if len(optical) and (abs(optical - pd.Timestamp(t)) <= window).any()]


def probe_training(table: pd.DataFrame, features: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Features and soil moisture of every observed probe-day."""
    rows = training_rows(table, features)
    return rows[list(features)].to_numpy(), rows["ssm"].to_numpy()


def clay_training(samples: xr.Dataset, with_coordinates: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Median bare-soil spectra (plus coordinates) and clay of every sample."""
    spectra = np.stack([samples[b].median("observation", skipna=True).values for b in S2_BANDS], axis=1)
    if with_coordinates:
        spectra = np.concatenate([spectra, samples["lon"].values[:, None], samples["lat"].values[:, None]], axis=1)
    ok = np.isfinite(spectra).all(axis=1) & np.isfinite(samples["clay"].values)
    return spectra[ok], samples["clay"].values[ok]


def soc_training(windows: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Centre-pixel static covariates and mean EVI, and organic carbon, of every sample."""
    centre = windows["windows"].isel(wy=windows.sizes["wy"] // 2, wx=windows.sizes["wx"] // 2)
    columns = [centre.sel(covariate=c).values for c in SOC_FEATURES[:-1]]
    columns.append(windows["phenology"].sel(metric="mean_evi").mean("year", skipna=True).values)
    x = np.stack(columns, axis=1)
    ok = np.isfinite(x).all(axis=1) & np.isfinite(windows["oc"].values)
    return x[ok], windows["oc"].values[ok]
