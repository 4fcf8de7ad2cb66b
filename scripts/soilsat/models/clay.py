"""Tziolas et al. (2020) protocol for topsoil clay on the bare-soil sample series.

Kennard-Stone 80/20 split on the mean Sentinel-2 spectra; the multi-input CNN bagged on subsets of the
calibration set and its ablations (without SAR, without SAR and coordinates); a random forest on median
spectra with and without coordinates tuned by the paper's grid search; the ANN baseline. Inputs and the
target are scaled to [-1, 1] with ranges of the calibration samples only; missing observations (padding,
an optical date without a Sentinel-1 pair) become 0, the centre of the scaled range.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import xarray as xr
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import GridSearchCV, KFold

from soilsat.errors import ConfigError, ProductError
from soilsat.extract.samples import S2_BANDS
from soilsat.models.scaling import from_unit_range, range_stats, to_unit_range
from soilsat.models.splits import bags, kennard_stone_split
from soilsat.models.tziolas import CnnSettings, MedianAnn, MultiInputCnn, train_model

log = logging.getLogger(__name__)

RADAR_BANDS = ("VV", "VH")
# CNN variants of the paper (Fig 9 and Appendix B): which inputs each one sees.
CNN_VARIANTS: dict[str, tuple[bool, bool]] = {
    "default": (True, True),
    "without_SAR": (False, True),
    "without_SAR_and_coordinates": (False, False),
}
# Random-forest variants: median spectra with and without the coordinates.
RF_VARIANTS: dict[str, bool] = {"default": True, "without_coordinates": False}


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
        raise ConfigError(f"config key train.tziolas.observations must be at least 8 (three 2x poolings), got {observations}")
    series = np.stack([dataset[c].transpose("sample", "observation").values.astype(np.float32) for c in channels], axis=1)
    available = series.shape[2]
    if available > observations:
        log.warning("%s: samples have up to %d observations; the CNN reads the first %d", source, available, observations)
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
    return ClayData(samples=dataset["sample"].values.astype(str)[usable], series=series[usable], channels=channels,
                    coords=coords[usable], target=values[usable], region=np.asarray(region).astype(str)[usable])


def mean_spectra(data: ClayData) -> np.ndarray:
    """Mean Sentinel-2 reflectance over each sample's observations, (sample, band)."""
    return np.nanmean(data.series[:, : len(S2_BANDS)], axis=2)


def median_features(data: ClayData, coordinates: bool) -> np.ndarray:
    """Median Sentinel-2 reflectance over each sample's observations, plus lat/lon when asked."""
    medians = np.nanmedian(data.series[:, : len(S2_BANDS)], axis=2)
    return np.concatenate([medians, data.coords], axis=1) if coordinates else medians


def calibration_split(data: ClayData, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Kennard-Stone calibration and test indices on the mean spectra."""
    return kennard_stone_split(mean_spectra(data), fraction)


def fit_ranges(values: np.ndarray, train: np.ndarray, axis: int = 1) -> Ranges:
    """Range of every column (`axis`) over the training rows only (all other axes pooled)."""
    subset = np.moveaxis(np.asarray(values, dtype=float)[np.asarray(train)], axis, 0)
    if subset.shape[1] == 0:
        raise ValueError("empty training set: no sample to fit the scaling ranges on")
    lows, highs = [], []
    for column in subset:
        try:
            low, high = range_stats(column)
        except ValueError:  # a channel never observed in training (no SAR pair at all)
            low, high = 0.0, 0.0
        lows.append(low)
        highs.append(high)
    return Ranges(np.array(lows), np.array(highs))


def scale(values: np.ndarray, ranges: Ranges, axis: int = 1) -> np.ndarray:
    """Map every column onto [-1, 1] with fitted ranges; missing values become 0."""
    moved = np.moveaxis(np.asarray(values, dtype=float), axis, 0)
    out = np.stack([to_unit_range(c, lo, hi) for c, lo, hi in zip(moved, ranges.low, ranges.high)])
    return np.nan_to_num(np.moveaxis(out, 0, axis), nan=0.0).astype(np.float32)


def cnn_inputs(data: ClayData, train: np.ndarray, sar: bool, coordinates: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Scaled spectral series (fewer channels without SAR) and coordinates, ranges from `train` only."""
    keep = [i for i, c in enumerate(data.channels) if sar or c not in RADAR_BANDS]
    series = data.series[:, keep]
    spectral = scale(series, fit_ranges(series, train, axis=1), axis=1)
    coords = scale(data.coords, fit_ranges(data.coords, train, axis=1), axis=1) if coordinates else None
    return spectral, coords


def epoch_logger(label: str, epochs: int, logger: logging.Logger = log):
    """A progress callback logging about ten epochs of a training run."""
    every = max(1, epochs // 10)

    def report(epoch: int, mse: float) -> None:
        if epoch % every == 0 or epoch == epochs:
            logger.info("%s: epoch %d/%d, training MSE (scaled) %.4f", label, epoch, epochs, mse)

    return report


def member_seed(seed: int, *keys: int) -> int:
    """A torch seed that depends only on the seed and the member's keys."""
    return int(np.random.default_rng([seed, *keys]).integers(2**31 - 1))


def last_layer_activations(model: MultiInputCnn, spectral: np.ndarray, samples: Sequence[str]) -> pd.DataFrame:
    """Mean ReLU activation of every filter of the last convolution layer, per sample (tidy)."""
    with torch.no_grad():
        maps = model.spectral[:8](torch.tensor(spectral).unsqueeze(1))
    values = maps.mean(dim=(2, 3)).numpy()
    n_samples, n_filters = values.shape
    return pd.DataFrame({"sample": np.repeat(np.asarray(samples), n_filters),
                         "filter": np.tile(np.arange(n_filters), n_samples),
                         "activation": values.ravel()})


def prediction_rows(data: ClayData, test: np.ndarray, predicted: np.ndarray, model: str, variant: str) -> pd.DataFrame:
    """The tidy predictions of one model variant on the test samples."""
    return pd.DataFrame({"model": model, "variant": variant, "sample": data.samples[test], "region": data.region[test],
                         "observed": data.target[test], "predicted": np.asarray(predicted, dtype=float)})


def target_ranges(data: ClayData, calibration: np.ndarray) -> tuple[float, float]:
    """Range of the target over the calibration samples (for the tanh output)."""
    if len(calibration) == 0:
        raise ValueError("empty training set: the calibration split holds no sample")
    return range_stats(data.target[calibration])


def run_cnn(data: ClayData, calibration: np.ndarray, test: np.ndarray, settings: CnnSettings, seed: int,
            variants: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bagged CNN of each variant: test predictions, and last-layer activations (default variant, first bag)."""
    unknown = [v for v in variants if v not in CNN_VARIANTS]
    if unknown:
        raise ConfigError(f"config key train.tziolas.variants: unknown {unknown}; choose from {list(CNN_VARIANTS)}")
    low, high = target_ranges(data, calibration)
    y = torch.tensor(to_unit_range(data.target, low, high), dtype=torch.float32)
    frames, activations = [], pd.DataFrame(columns=["sample", "filter", "activation"])
    for v, variant in enumerate(variants):
        sar, coordinates = CNN_VARIANTS[variant]
        spectral, coords = cnn_inputs(data, calibration, sar, coordinates)
        x = torch.tensor(spectral)
        c = None if coords is None else torch.tensor(coords)
        outputs = []
        for b, bag in enumerate(bags(calibration, settings.bags, settings.bag_fraction, seed)):
            torch.manual_seed(member_seed(seed, v, b))
            model = MultiInputCnn(spectral.shape[1], spectral.shape[2], coordinates)
            label = f"CNN {variant} bag {b + 1}/{settings.bags} ({len(bag)} samples, {spectral.shape[1]} channels)"
            train_model(model, x[bag], None if c is None else c[bag], y[bag], settings, member_seed(seed, v, b, 1),
                        epoch_logger(label, settings.epochs))
            with torch.no_grad():
                outputs.append(model(x[test], None if c is None else c[test]).numpy())
            if b == 0 and v == 0:
                activations = last_layer_activations(model, spectral[calibration], data.samples[calibration])
        predicted = from_unit_range(np.mean(outputs, axis=0), low, high)
        frames.append(prediction_rows(data, test, predicted, "cnn", variant))
    return pd.concat(frames, ignore_index=True), activations


def run_ann(data: ClayData, calibration: np.ndarray, test: np.ndarray, settings: CnnSettings, seed: int,
            coordinates: bool = True) -> pd.DataFrame:
    """The ANN baseline on scaled median spectra (and coordinates): test predictions."""
    low, high = target_ranges(data, calibration)
    features = median_features(data, coordinates)
    x = torch.tensor(scale(features, fit_ranges(features, calibration, axis=1), axis=1))
    y = torch.tensor(to_unit_range(data.target, low, high), dtype=torch.float32)
    torch.manual_seed(member_seed(seed, 0, 0))
    model = MedianAnn(features.shape[1])
    train_model(model, x[calibration], None, y[calibration], settings, member_seed(seed, 0, 0, 1),
                epoch_logger(f"ANN ({len(calibration)} samples, {features.shape[1]} inputs)", settings.epochs))
    with torch.no_grad():
        predicted = from_unit_range(model(x[test]).numpy(), low, high)
    return prediction_rows(data, test, predicted, "ann", "default")


def forest_grid(grid: Mapping[str, Sequence[int]], n_features: int) -> dict[str, list[int]]:
    """The paper's grid for scikit-learn, features per split capped at the number of features."""
    for key in ("max_features", "min_samples_leaf", "n_estimators"):
        if not grid.get(key):
            raise ConfigError(f"config key train.tziolas.random_forest.{key} must list at least one value")
    return {"max_features": sorted({min(int(m), n_features) for m in grid["max_features"]}),
            "min_samples_leaf": sorted(int(m) for m in grid["min_samples_leaf"]),
            "n_estimators": sorted(int(m) for m in grid["n_estimators"])}


def search_forest(x: np.ndarray, y: np.ndarray, grid: Mapping[str, Sequence[int]], folds: int, seed: int,
                  threads: int = 1) -> GridSearchCV:
    """Grid search with k-fold CV (MSE) over the training samples; refits the best forest on all of them."""
    if len(y) < folds:
        raise ValueError(f"empty or too small training set: {len(y)} samples for {folds}-fold grid search")
    # Threads go to the grid points, not the trees: a forest predicting with n_jobs > 1 sums its trees in
    # thread completion order, so scores (and the ranks of near ties) would change in the last bits run to run.
    search = GridSearchCV(RandomForestRegressor(random_state=seed, n_jobs=1), forest_grid(grid, x.shape[1]),
                          cv=KFold(folds, shuffle=True, random_state=seed), scoring="neg_mean_squared_error",
                          n_jobs=threads)
    return search.fit(x, y)


def search_table(search: GridSearchCV, variant: str) -> pd.DataFrame:
    """Every grid point with its cross-validated RMSE and whether it was chosen."""
    results = search.cv_results_
    table = pd.DataFrame(list(results["params"]))
    table.insert(0, "variant", variant)
    table["cv_rmse"] = np.sqrt(-results["mean_test_score"])
    table["rank"] = results["rank_test_score"]
    table["best"] = table.index == search.best_index_
    return table


def run_forest(data: ClayData, calibration: np.ndarray, test: np.ndarray, grid: Mapping[str, Sequence[int]],
               folds: int, seed: int, threads: int = 1,
               variants: Sequence[str] = tuple(RF_VARIANTS)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grid-searched forests on median spectra with and without coordinates: test predictions and the searches."""
    frames, searches = [], []
    for variant in variants:
        x = median_features(data, RF_VARIANTS[variant])
        search = search_forest(x[calibration], data.target[calibration], grid, folds, seed, threads)
        log.info("RF %s: best of %d grid points %s, CV RMSE %.3f", variant, len(search.cv_results_["params"]),
                 search.best_params_, float(np.sqrt(-search.best_score_)))
        frames.append(prediction_rows(data, test, search.predict(x[test]), "rf", variant))
        searches.append(search_table(search, variant))
    return pd.concat(frames, ignore_index=True), pd.concat(searches, ignore_index=True)
