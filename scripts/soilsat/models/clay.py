"""Tziolas et al. (2020) protocol for topsoil clay on the bare-soil sample series.

Kennard-Stone 80/20 split on the mean Sentinel-2 spectra; bootstrap aggregation without replacement for
every algorithm (§2.3.4): the multi-input CNN, the random forest and the ANN each train one model per bag
of the calibration set, the same bags for all three, and predict the test set with the mean over bags.
Each algorithm runs the paper's variants: the CNN with and without coordinates and SAR (Fig 9C/9F,
Appendix B); the RF and the ANN on median Sentinel-2 spectra with and without coordinates (Fig 9A/9B/9D/
9E) and on the Sentinel-1 + Sentinel-2 values of every observation date with coordinates (Appendix A).

Network inputs and the target are scaled to [-1, 1] with ranges of the calibration samples only. A missing
value (padding past a sample's last observation, an optical date without a Sentinel-1 pair) is never a
number: the networks read it as value 0 with observed mask 0, and the forest reads NaN, which
scikit-learn's trees (since 1.4) send down the side each split learned for missing values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import xarray as xr
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import GridSearchCV, KFold
from torch import nn

from soilsat.errors import ConfigError, ProductError
from soilsat.extract.samples import S2_BANDS
from soilsat.models.scaling import from_unit_range, range_stats, to_unit_range
from soilsat.models.splits import kennard_stone_split
from soilsat.models.tziolas import Ann, MultiInputCnn, NetworkSettings, train_model

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
# Seed keys of the three algorithms, so that their members never share a torch or forest seed.
CNN_KEY, ANN_KEY, RF_KEY = 0, 1, 2


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
        raise ConfigError("config key train.tziolas.observations must be at least 8 (three 2x poolings), "
                          f"got {observations}")
    series = np.stack([dataset[c].transpose("sample", "observation").values.astype(np.float32) for c in channels],
                      axis=1)
    available = series.shape[2]
    if available > observations:
        log.warning("%s: samples have up to %d observations; the models read the first %d", source, available,
                    observations)
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


def table_features(data: ClayData, inputs: TableInputs) -> np.ndarray:
    """Median S2 bands, or every channel at every observation (NaN where missing), then lat/lon if asked."""
    if inputs.per_date:
        table = data.series.reshape(len(data.series), -1).astype(float)
    else:
        table = np.nanmedian(data.series[:, : len(S2_BANDS)], axis=2).astype(float)
    return np.concatenate([table, data.coords], axis=1) if inputs.coordinates else table


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


def check_variants(variants: Sequence[str], known: Mapping[str, object], key: str) -> None:
    """Raise ConfigError naming the config key when a variant is not one of the known ones."""
    unknown = [v for v in variants if v not in known]
    if unknown:
        raise ConfigError(f"config key {key}: unknown {unknown}; choose from {list(known)}")


def last_layer_activations(model: MultiInputCnn, spectral: np.ndarray, samples: Sequence[str]) -> pd.DataFrame:
    """Mean ReLU activation of every filter of the last convolution layer over the observed positions, per sample."""
    with torch.no_grad():
        maps, observed = model.last_maps(torch.tensor(spectral))
    positions = observed.sum(dim=(2, 3)) * maps.shape[2]
    values = (maps.sum(dim=(2, 3)) / positions).numpy()
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


def bagged_networks(build: Callable[[], nn.Module], x: np.ndarray, coords: np.ndarray | None, y: np.ndarray,
                    members: Sequence[np.ndarray], test: np.ndarray, settings: NetworkSettings, seed: int,
                    key: Sequence[int], label: str) -> tuple[np.ndarray, list[nn.Module]]:
    """One network per bag (seeds from `seed` and `key`): the mean test prediction (scaled) and the networks."""
    if len(members) == 0:
        raise ConfigError("config key train.tziolas.bags must be at least 1")
    x_t = torch.tensor(x)
    c_t = None if coords is None else torch.tensor(coords)
    y_t = torch.tensor(y, dtype=torch.float32)
    outputs, models = [], []
    for b, bag in enumerate(members):
        torch.manual_seed(member_seed(seed, *key, b))
        model = build()
        progress = epoch_logger(f"{label} bag {b + 1}/{len(members)} ({len(bag)} samples)", settings.epochs)
        train_model(model, x_t[bag], None if c_t is None else c_t[bag], y_t[bag], settings,
                    member_seed(seed, *key, b, 1), progress)
        with torch.no_grad():
            outputs.append(model(x_t[test], None if c_t is None else c_t[test]).numpy())
        models.append(model)
    return np.mean(outputs, axis=0), models


def run_cnn(data: ClayData, calibration: np.ndarray, test: np.ndarray, members: Sequence[np.ndarray],
            settings: NetworkSettings, seed: int, variants: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bagged CNN of each variant: test predictions, and last-layer activations (first variant, first bag)."""
    check_variants(variants, CNN_VARIANTS, "train.tziolas.variants")
    low, high = target_ranges(data, calibration)
    y = to_unit_range(data.target, low, high)
    frames, activations = [], pd.DataFrame(columns=["sample", "filter", "activation"])
    for variant in variants:
        inputs = CNN_VARIANTS[variant]
        spectral, coords = cnn_inputs(data, calibration, inputs)
        n_channels, n_observations = spectral.shape[2:]
        scaled, models = bagged_networks(
            partial(MultiInputCnn, n_channels, n_observations, inputs.coordinates), spectral, coords, y, members, test,
            settings, seed, (CNN_KEY, list(CNN_VARIANTS).index(variant)), f"CNN {variant} ({n_channels} channels)")
        if variant == variants[0]:
            activations = last_layer_activations(models[0], spectral[calibration], data.samples[calibration])
        frames.append(prediction_rows(data, test, from_unit_range(scaled, low, high), "cnn", variant))
    return pd.concat(frames, ignore_index=True), activations


def run_ann(data: ClayData, calibration: np.ndarray, test: np.ndarray, members: Sequence[np.ndarray],
            settings: NetworkSettings, seed: int, variants: Sequence[str] = tuple(TABLE_VARIANTS)) -> pd.DataFrame:
    """Bagged ANN of each variant on median spectra or per-date values: test predictions."""
    check_variants(variants, TABLE_VARIANTS, "train.tziolas.ann.variants")
    low, high = target_ranges(data, calibration)
    y = to_unit_range(data.target, low, high)
    frames = []
    for variant in variants:
        inputs = TABLE_VARIANTS[variant]
        x = ann_inputs(data, calibration, inputs)
        n_inputs = x.shape[-1]
        scaled, _ = bagged_networks(partial(Ann, n_inputs, masked=inputs.per_date), x, None, y, members, test, settings,
                                    seed, (ANN_KEY, list(TABLE_VARIANTS).index(variant)),
                                    f"ANN {variant} ({n_inputs} inputs)")
        frames.append(prediction_rows(data, test, from_unit_range(scaled, low, high), "ann", variant))
    return pd.concat(frames, ignore_index=True)


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
    """Grid search with k-fold CV (MSE) over the training samples; the bags refit the chosen point themselves."""
    if len(y) < folds:
        raise ValueError(f"empty or too small training set: {len(y)} samples for {folds}-fold grid search")
    # Threads go to the grid points, not the trees: a forest predicting with n_jobs > 1 sums its trees in
    # thread completion order, so scores (and the ranks of near ties) would change in the last bits run to run.
    search = GridSearchCV(RandomForestRegressor(random_state=seed, n_jobs=1), forest_grid(grid, x.shape[1]),
                          cv=KFold(folds, shuffle=True, random_state=seed), scoring="neg_mean_squared_error",
                          n_jobs=threads, refit=False)
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


def fit_forest(x: np.ndarray, y: np.ndarray, params: Mapping[str, int], seed: int, threads: int = 1
               ) -> RandomForestRegressor:
    """A forest with the chosen hyper-parameters, fitted on `threads` and set to predict on one."""
    forest = RandomForestRegressor(random_state=seed, n_jobs=threads, **params).fit(x, y)
    return forest.set_params(n_jobs=1)  # one thread sums the trees in a fixed order (see search_forest)


def bagged_forest(x: np.ndarray, y: np.ndarray, members: Sequence[np.ndarray], test: np.ndarray,
                  params: Mapping[str, int], seed: int, key: Sequence[int], threads: int = 1) -> np.ndarray:
    """Mean test prediction of one forest per bag, all with the same hyper-parameters."""
    if len(members) == 0:
        raise ConfigError("config key train.tziolas.bags must be at least 1")
    return np.mean([fit_forest(x[bag], y[bag], params, member_seed(seed, *key, b), threads).predict(x[test])
                    for b, bag in enumerate(members)], axis=0)


def run_forest(data: ClayData, calibration: np.ndarray, test: np.ndarray, members: Sequence[np.ndarray],
               grid: Mapping[str, Sequence[int]], folds: int, seed: int, threads: int = 1,
               variants: Sequence[str] = tuple(TABLE_VARIANTS)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bagged forests of each variant: test predictions and every grid point searched.

    The grid search runs once per variant on the whole calibration set, as the paper reports one chosen
    set of hyper-parameters per RF model (§2.3.3); each bag then fits a forest with that set. A search per
    bag would cost the number of bags times more and could give the bags of one model different settings.
    """
    check_variants(variants, TABLE_VARIANTS, "train.tziolas.random_forest.variants")
    frames, searches = [], []
    for variant in variants:
        x = table_features(data, TABLE_VARIANTS[variant])
        search = search_forest(x[calibration], data.target[calibration], grid, folds, seed, threads)
        log.info("RF %s (%d features): best of %d grid points %s, CV RMSE %.3f", variant, x.shape[1],
                 len(search.cv_results_["params"]), search.best_params_, float(np.sqrt(-search.best_score_)))
        predicted = bagged_forest(x, data.target, members, test, search.best_params_, seed,
                                  (RF_KEY, list(TABLE_VARIANTS).index(variant)), threads)
        frames.append(prediction_rows(data, test, predicted, "rf", variant))
        searches.append(search_table(search, variant))
    return pd.concat(frames, ignore_index=True), pd.concat(searches, ignore_index=True)
