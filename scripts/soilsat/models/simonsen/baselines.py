"""Soil-moisture baselines: day-of-year climatology and sigma0 change detection, both leave-one-probe-out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.errors import ConfigError
from soilsat.models.simonsen.inputs import InputSettings
from soilsat.models.simonsen.protocol import MEAN, tidy_predictions
from soilsat.models.simonsen.sequences import from_dataset
from soilsat.settings import Settings


@dataclass(frozen=True)
class ClimatologySettings(Settings):
    """The day-of-year climatology (config train.climatology)."""

    window_days: int


@dataclass(frozen=True)
class ChangeDetectionSettings(Settings):
    """Change detection between sigma0 percentiles (config train.change_detection)."""

    low_percentile: float
    high_percentile: float


BaselineSettings = ClimatologySettings | ChangeDetectionSettings
BASELINES: dict[str, type[ClimatologySettings] | type[ChangeDetectionSettings]] = {
    "climatology": ClimatologySettings,
    "change_detection": ChangeDetectionSettings,
}


def _check_probes(n: int) -> None:
    """Leave-one-probe-out needs at least three probes."""
    if n < 3:
        raise ConfigError(f"leave-one-probe-out needs at least 3 probes, the dataset has {n}")


def climatology(target: np.ndarray, day_of_year: np.ndarray, window_days: int) -> np.ndarray:
    """Predictions (probe, time): mean target of the other probes on the same day of year (+- window, circular)."""
    n_probes = target.shape[0]
    _check_probes(n_probes)
    doy = np.asarray(day_of_year)
    out = np.full(target.shape, np.nan)
    for p in range(n_probes):
        others = np.delete(target, p, axis=0)
        table = pd.DataFrame(others.T).assign(doy=doy).melt("doy").dropna()
        means = table.groupby("doy")["value"].mean()
        days = np.arange(1, 367)
        smoothed = pd.Series(means.reindex(days).to_numpy(), index=days)
        if window_days:
            padded = pd.concat([smoothed.iloc[-window_days:], smoothed, smoothed.iloc[:window_days]])
            rolling = padded.rolling(2 * window_days + 1, center=True, min_periods=1)
            smoothed = rolling.mean().iloc[window_days:-window_days]
        fallback = float(np.nanmean(others)) if np.isfinite(others).any() else np.nan
        out[p] = smoothed.reindex(doy).fillna(fallback).to_numpy()
    return out


def change_detection(
    sigma0_db: np.ndarray, target: np.ndarray, low_percentile: float, high_percentile: float
) -> np.ndarray:
    """Predictions (probe, time) from sigma0 scaled between the pixel's own percentiles (the Copernicus SSM idea).

    The relative wetness (sigma0 - dry) / (wet - dry), clipped to [0, 1], is mapped to soil moisture with
    the residual and saturated values (10th and 90th percentiles of soil moisture) of the other probes, so
    the test probe's own observations never enter its prediction.
    """
    n_probes = sigma0_db.shape[0]
    _check_probes(n_probes)
    with np.errstate(invalid="ignore"):
        dry = np.nanpercentile(sigma0_db, low_percentile, axis=1, keepdims=True)
        wet = np.nanpercentile(sigma0_db, high_percentile, axis=1, keepdims=True)
        wetness = np.clip((sigma0_db - dry) / np.where(wet > dry, wet - dry, np.nan), 0.0, 1.0)
    out = np.full(target.shape, np.nan)
    for p in range(n_probes):
        others = np.delete(target, p, axis=0)
        low, high = np.nanpercentile(others, low_percentile), np.nanpercentile(others, high_percentile)
        out[p] = low + wetness[p] * (high - low)
    return out


def baseline_settings(model: str, section: Mapping[str, Any]) -> BaselineSettings:
    """The settings of the baseline named `model` from its config section (train.<model>)."""
    if model not in BASELINES:
        raise ConfigError(f"unknown baseline {model!r}; choose climatology or change_detection")
    return BASELINES[model].from_config(section)


def run_baseline(dataset: xr.Dataset, settings: BaselineSettings, polarisation: str) -> pd.DataFrame:
    """Tidy predictions of the climatology or change-detection baseline over every probe-day.

    Change detection scales the sigma0 of `polarisation` (in dB) between the probe's own extremes."""
    scale = InputSettings(polarisations=(polarisation,), sigma0_scale="db", incidence_angle=False)
    seq = from_dataset(dataset, "minimum", scale)
    if isinstance(settings, ClimatologySettings):
        model = "climatology"
        doy = pd.DatetimeIndex(seq.times).day_of_year.to_numpy()
        predicted = climatology(seq.target, doy, settings.window_days)
    else:
        model = "change_detection"
        sigma0 = seq.inputs[:, :, seq.features.index(f"sigma0_{polarisation.lower()}_db")]
        predicted = change_detection(sigma0, seq.target, settings.low_percentile, settings.high_percentile)
    probe = np.arange(len(seq.probes))
    return tidy_predictions(seq, probe, np.full(len(probe), MEAN), predicted, model, "default")
