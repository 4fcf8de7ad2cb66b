"""Maps: what the map models are fitted on (every probe or sample) and which dates are mapped."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.extract.covariates import EVI_MEAN, STATIC
from soilsat.extract.samples import S2_BANDS
from soilsat.models.simonsen.inputs import InputSettings
from soilsat.models.simonsen.inputs import features as model_inputs
from soilsat.models.simonsen.random_forest import training_rows

log = logging.getLogger(__name__)

# The organic-carbon map: Zhang's climate and terrain (Table 1) at the centre pixel and the mean of the yearly EVI.
SOC_FEATURES: tuple[str, ...] = (*STATIC, EVI_MEAN)
CLAY_FEATURES: tuple[str, ...] = (*S2_BANDS, "lon", "lat")


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


def ssm_features(dataset: xr.Dataset, inputs: InputSettings) -> list[str]:
    """The soil-moisture map's inputs: the full variant's, without TS_max (measured at the probes only)."""
    return [name for name in model_inputs(dataset, "full", inputs) if name != "ts_max"]


def probe_training(table: pd.DataFrame, features: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Features and soil moisture of every observed probe-day."""
    rows = training_rows(table, features)
    return rows[list(features)].to_numpy(), rows["ssm"].to_numpy()


def clay_features(samples: xr.Dataset, with_coordinates: bool = True) -> np.ndarray:
    """Median bare-soil spectra (plus coordinates) of every sample."""
    spectra = np.stack([samples[b].median("observation", skipna=True).values for b in S2_BANDS], axis=1)
    if with_coordinates:
        spectra = np.concatenate([spectra, samples["lon"].values[:, None], samples["lat"].values[:, None]], axis=1)
    return spectra


def clay_samples(samples: xr.Dataset, with_coordinates: bool = True) -> np.ndarray:
    """Which samples the clay map is fitted on: those with every input and a clay value."""
    return np.isfinite(clay_features(samples, with_coordinates)).all(axis=1) & np.isfinite(samples["clay"].values)


def clay_training(samples: xr.Dataset, with_coordinates: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Median bare-soil spectra (plus coordinates) and clay of every sample."""
    ok = clay_samples(samples, with_coordinates)
    return clay_features(samples, with_coordinates)[ok], samples["clay"].values[ok]


def soc_features(windows: xr.Dataset) -> np.ndarray:
    """Centre-pixel climate and terrain covariates and the mean of the yearly mean EVI of every sample."""
    centre = windows["windows"].isel(wy=windows.sizes["wy"] // 2, wx=windows.sizes["wx"] // 2)
    columns = [centre.sel(covariate=c).values for c in SOC_FEATURES[:-1]]
    columns.append(windows["phenology"].sel(metric=EVI_MEAN).mean("year", skipna=True).values)
    return np.stack(columns, axis=1)


def soc_stack(covariates: xr.Dataset) -> np.ndarray:
    """The (feature, y, x) stack of SOC_FEATURES on a region's covariate grid (soilsat.extract.covariates)."""
    static = covariates["static"].sel(covariate=list(SOC_FEATURES[:-1])).values
    evi = covariates["phenology"].sel(metric=EVI_MEAN).mean("year", skipna=True).values
    return np.concatenate([static, evi[None]]).astype(np.float32)


def soc_samples(windows: xr.Dataset) -> np.ndarray:
    """Which samples the organic-carbon map is fitted on: those with every input and an organic-carbon value."""
    return np.isfinite(soc_features(windows)).all(axis=1) & np.isfinite(windows["oc"].values)


def soc_training(windows: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Centre-pixel static covariates and mean EVI, and organic carbon, of every sample."""
    ok = soc_samples(windows)
    return soc_features(windows)[ok], windows["oc"].values[ok]
