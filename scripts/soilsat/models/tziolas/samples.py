"""The Tziolas et al. (2020) bare-soil sample series as arrays, and the scaled inputs each model variant reads.

Network inputs are scaled to [-1, 1] with ranges of the calibration samples only. A missing value (padding
past a sample's last observation, an optical date without a Sentinel-1 pair) is never a number: the networks
read it as value 0 with observed mask 0, and the forest reads NaN, which scikit-learn's trees (since 1.4) send
down the side each split learned for missing values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import xarray as xr

from soilsat.errors import ConfigError, ProductError
from soilsat.extract.samples import S2_BANDS
from soilsat.models.scaling import range_stats, to_unit_range

log = logging.getLogger(__name__)

RADAR_BANDS = ("VV", "VH")


class CnnInputs(NamedTuple):
    """What a CNN variant reads besides the Sentinel-2 series."""

    sar: bool
    coordinates: bool


class TableInputs(NamedTuple):
    """What an RF or ANN variant reads: median spectra or every date's S1 + S2 values, and the coordinates."""

    per_date: bool
    coordinates: bool


# CNN variants of the paper: the full model (Fig 9C), without coordinates (Fig 9F), and the ablations of
# Appendix B. A variant's position here keys its random seeds, so new variants go at the end.
CNN_VARIANTS: dict[str, CnnInputs] = {
    "default": CnnInputs(sar=True, coordinates=True),
    "without_coordinates": CnnInputs(sar=True, coordinates=False),
    "without_SAR": CnnInputs(sar=False, coordinates=True),
    "without_SAR_and_coordinates": CnnInputs(sar=False, coordinates=False),
}
# RF and ANN variants: median spectra with and without coordinates (Fig 9) and the per-date values (Appendix A).
TABLE_VARIANTS: dict[str, TableInputs] = {
    "median": TableInputs(per_date=False, coordinates=True),
    "median_without_coordinates": TableInputs(per_date=False, coordinates=False),
    "per_date": TableInputs(per_date=True, coordinates=True),
}


@dataclass(frozen=True)
class ClayData:
    """The sample series as arrays: (sample, channel, observation) with NaN where missing."""

    samples: np.ndarray
    series: np.ndarray
    channels: tuple[str, ...]
    coords: np.ndarray
    target: np.ndarray
    region: np.ndarray


@dataclass(frozen=True)
class Ranges:
    """Per-column [low, high] ranges fitted on calibration samples."""

    low: np.ndarray
    high: np.ndarray


def clay_data(dataset: xr.Dataset, observations: int, target: str = "clay", source: str = "samples.nc") -> ClayData:
    """Series of the 10 bands + VV + VH over the first `observations` bare-soil dates of every usable sample."""
    channels = (*S2_BANDS, *RADAR_BANDS)
    missing = [v for v in (*channels, target, "lat", "lon") if v not in dataset.variables]
    if missing:
        raise ProductError(source, f"sample dataset lacks variables {missing}")
    if observations < 8:
        raise ConfigError(
            f"config key train.tziolas.observations must be at least 8 (three 2x poolings), got {observations}"
        )
    series: np.ndarray = np.stack(
        [dataset[c].transpose("sample", "observation").values.astype(np.float32) for c in channels], axis=1
    )
    available = series.shape[2]
    if available > observations:
        log.warning(
            "%s: samples have up to %d observations; the models read the first %d", source, available, observations
        )
        series = series[:, :, :observations]
    elif available < observations:
        pad = np.full(series.shape[:2] + (observations - available,), np.nan, dtype=np.float32)
        series = np.concatenate([series, pad], axis=2)
    values = dataset[target].values.astype(float)
    usable = np.isfinite(values) & np.isfinite(series[:, : len(S2_BANDS)]).all(axis=1).any(axis=1)
    if not usable.any():
        raise ProductError(source, f"no sample has both a {target} value and a bare-soil observation")
    if (~usable).any():
        log.info("%d samples without %s or bare-soil observation left out", int((~usable).sum()), target)
    region = dataset["region"].values if "region" in dataset.variables else np.full(len(values), "")
    coords = np.stack([dataset["lat"].values, dataset["lon"].values], axis=1).astype(float)
    return ClayData(
        samples=dataset["sample"].values.astype(str)[usable],
        series=series[usable],
        channels=channels,
        coords=coords[usable],
        target=values[usable],
        region=np.asarray(region).astype(str)[usable],
    )


def mean_spectra(data: ClayData) -> np.ndarray:
    """Mean Sentinel-2 reflectance over each sample's observations, (sample, band)."""
    return np.nanmean(data.series[:, : len(S2_BANDS)], axis=2)


def table_features(data: ClayData, inputs: TableInputs) -> np.ndarray:
    """Median S2 bands, or every channel at every observation (NaN where missing), then lat/lon if asked."""
    if inputs.per_date:
        table = data.series.reshape(len(data.series), -1).astype(float)
    else:
        table = np.nanmedian(data.series[:, : len(S2_BANDS)], axis=2).astype(float)
    return np.concatenate([table, data.coords], axis=1) if inputs.coordinates else table


def fit_ranges(values: np.ndarray, train: np.ndarray, axis: int = 1) -> Ranges:
    """Range of every column (`axis`) over the training rows only (all other axes pooled)."""
    subset = np.moveaxis(np.asarray(values, dtype=float)[np.asarray(train)], axis, 0)
    if subset.shape[1] == 0:
        raise ValueError("empty training set: no sample to fit the scaling ranges on")
    lows, highs = [], []
    for column in subset:
        try:
            low, high = range_stats(column)
        except ValueError:  # a channel never observed in training (no SAR pair at all): masked everywhere
            low, high = 0.0, 0.0
        lows.append(low)
        highs.append(high)
    return Ranges(np.array(lows), np.array(highs))


def scale(values: np.ndarray, ranges: Ranges, axis: int = 1) -> np.ndarray:
    """Map every column onto [-1, 1] with fitted ranges; missing values stay NaN."""
    moved = np.moveaxis(np.asarray(values, dtype=float), axis, 0)
    out = np.stack([to_unit_range(c, lo, hi) for c, lo, hi in zip(moved, ranges.low, ranges.high)])
    return np.moveaxis(out, 0, axis).astype(np.float32)


def mask_planes(scaled: np.ndarray) -> np.ndarray:
    """Values (0 where missing) and their 0/1 observed mask as two planes on axis 1."""
    observed = np.isfinite(scaled)
    return np.stack([np.where(observed, scaled, 0.0), observed], axis=1).astype(np.float32)


def scaled_series(data: ClayData, train: np.ndarray, sar: bool = True) -> np.ndarray:
    """Series scaled per channel with training ranges (pooled over observations), NaN where missing."""
    keep = [i for i, c in enumerate(data.channels) if sar or c not in RADAR_BANDS]
    series = data.series[:, keep]
    return scale(series, fit_ranges(series, train, axis=1), axis=1)


def scaled_coords(data: ClayData, train: np.ndarray) -> np.ndarray:
    """Latitude and longitude scaled with training ranges."""
    return scale(data.coords, fit_ranges(data.coords, train, axis=1), axis=1)


def cnn_inputs(data: ClayData, train: np.ndarray, inputs: CnnInputs) -> tuple[np.ndarray, np.ndarray | None]:
    """Value and mask planes of the series (sample, 2, channel, observation) and the coordinates, or None."""
    spectral = mask_planes(scaled_series(data, train, inputs.sar))
    return spectral, scaled_coords(data, train) if inputs.coordinates else None


def ann_inputs(data: ClayData, train: np.ndarray, inputs: TableInputs) -> np.ndarray:
    """Scaled median features (sample, feature), or per-date value and mask planes (sample, 2, feature)."""
    if not inputs.per_date:
        table = table_features(data, inputs)
        return scale(table, fit_ranges(table, train, axis=1), axis=1)
    parts = [scaled_series(data, train).reshape(len(data.series), -1)]
    if inputs.coordinates:
        parts.append(scaled_coords(data, train))
    return mask_planes(np.concatenate(parts, axis=1))
