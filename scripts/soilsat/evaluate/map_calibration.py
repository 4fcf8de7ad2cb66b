"""Calibrating a map's random forest on held-out data: conformal intervals and the area of applicability.

The map forest is cross-validated under blocked folds (whole spatial blocks, regions or networks held out,
soilsat.evaluate.blocks) and under random folds. The blocked held-out predictions calibrate the interval
bands of every map pixel (soilsat.evaluate.conformal) and give the AOA threshold (training points' DI to the
other folds, soilsat.evaluate.applicability); the random ones show how much a random protocol flatters. The
predictors are weighted by the full forest's impurity-based importances (scikit-learn), where Meyer and Pebesma
take caret's permutation importance. The calibration is stored as a small NetCDF the map rules read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.ensemble import RandomForestRegressor

from soilsat.cf_netcdf import CONVENTIONS, read_dataset, write_netcdf
from soilsat.evaluate import applicability, conformal
from soilsat.evaluate.applicability import Applicability
from soilsat.evaluate.blocks import BlockSettings, blocked_folds, random_folds
from soilsat.evaluate.conformal import ConformalSettings
from soilsat.evaluate.forests import held_out, tree_spread
from soilsat.evaluate.metrics import scores
from soilsat.extract.probes import to_table
from soilsat.io import atomic_path
from soilsat.models.forest import ForestSettings, fit_forest
from soilsat.models.maps import (
    CLAY_FEATURES,
    SOC_FEATURES,
    clay_samples,
    clay_training,
    soc_samples,
    soc_training,
    ssm_features,
)
from soilsat.models.simonsen.inputs import InputSettings
from soilsat.models.simonsen.random_forest import training_rows

log = logging.getLogger(__name__)

BLOCKED = "blocked"
RANDOM = "random"


@dataclass(frozen=True)
class MapCalibration:
    """What a map rule needs for its interval and AOA bands."""

    features: tuple[str, ...]
    applicability: Applicability
    floor: float
    quantile: float
    level: float


@dataclass(frozen=True)
class TrainingSet:
    """The rows a map forest is fitted on, its inputs' names and where each row lies (region, lat, lon, probe)."""

    x: np.ndarray
    y: np.ndarray
    features: tuple[str, ...]
    where: pd.DataFrame


def training_set(quantity: str, dataset: xr.Dataset, inputs: InputSettings) -> TrainingSet:
    """The training rows of the ssm, clay or soc map forest, as the map rules fit it (soilsat.models.maps)."""
    if quantity == "ssm":
        features = ssm_features(dataset, inputs)
        rows = training_rows(to_table(dataset), features)
        where = rows[["probe", "region", "lat", "lon"]].reset_index(drop=True)
        return TrainingSet(rows[features].to_numpy(), rows["ssm"].to_numpy(), tuple(features), where)
    if quantity == "clay":
        x, y = clay_training(dataset)
        ok, names = clay_samples(dataset), CLAY_FEATURES
    elif quantity == "soc":
        x, y = soc_training(dataset)
        ok, names = soc_samples(dataset), SOC_FEATURES
    else:
        raise ValueError(f"no map of {quantity!r}; the maps are ssm, clay and soc")
    where = pd.DataFrame(
        {
            "probe": dataset["sample"].values[ok].astype(str),
            "region": dataset["region"].values[ok].astype(str),
            "lat": dataset["lat"].values[ok],
            "lon": dataset["lon"].values[ok],
        }
    )
    return TrainingSet(x, y, tuple(names), where)


@dataclass(frozen=True)
class CalibrationResult:
    """The calibration and its evidence: held-out rows, scores per protocol, coverage per level."""

    calibration: MapCalibration
    held_out: pd.DataFrame
    protocols: pd.DataFrame
    coverage: pd.DataFrame


def calibrate_forest(
    x: np.ndarray,
    y: np.ndarray,
    features: Sequence[str],
    blocks: np.ndarray,
    forest: ForestSettings,
    blocking: BlockSettings,
    intervals: ConformalSettings,
    max_points: int,
    seed: int,
    threads: int,
) -> CalibrationResult:
    """Cross-validate the map forest (blocked and random folds) and calibrate its intervals and AOA.

    Where every row falls in one block (one region, blocks larger than the study area) the blocked folds fall back
    to the random ones, which the protocols table says (column blocks) and the log warns of.
    """
    random = random_folds(len(y), min(blocking.folds, len(y)), seed)
    n_blocks = len(np.unique(blocks))
    if n_blocks < 2:
        log.warning(
            "every training row lies in one %s: blocked cross-validation falls back to random folds "
            "(a smaller validate.blocked_cv.block_m, or another validate.blocked_cv.by, gives blocks)",
            blocking.by,
        )
        blocked = random
    else:
        blocked = blocked_folds(blocks, blocking.folds, seed)
    predicted, spread = held_out(x, y, blocked, forest, seed, threads)
    random_predicted, _ = held_out(x, y, random, forest, seed, threads)
    levels = sorted({*intervals.levels, intervals.map_level})
    floor, quantiles = conformal.calibrate(y, predicted, spread, levels)
    model = fit_forest(x, y, forest, seed, threads)
    aoa = applicability.fit(x, model.feature_importances_, blocked, max_points, seed)
    training_di = applicability.training_dissimilarity(aoa, blocked)
    table = pd.DataFrame(
        {
            "block": blocks,
            "fold": blocked,
            "observed": y,
            "predicted": predicted,
            "spread": spread,
            "random_fold": random,
            "random_predicted": random_predicted,
            "dissimilarity_index": training_di,
            "inside_aoa": training_di <= aoa.threshold,
        }
    )
    protocols = pd.DataFrame(
        [
            {"protocol": RANDOM, "folds": len(np.unique(random)), "blocks": n_blocks} | scores(y, random_predicted),
            {"protocol": BLOCKED, "folds": len(np.unique(blocked)), "blocks": n_blocks} | scores(y, predicted),
        ]
    )
    coverage = conformal.held_out_coverage(y, predicted, spread, blocked, levels)
    calibration = MapCalibration(tuple(features), aoa, floor, quantiles[intervals.map_level], intervals.map_level)
    return CalibrationResult(calibration, table, protocols, coverage)


def write_calibration(calibration: MapCalibration, path: str | os.PathLike) -> None:
    """Store a calibration as CF NetCDF: the AOA's arrays as variables, the scalars as attributes."""
    app = calibration.applicability
    dataset = xr.Dataset(
        {
            "centre": ("feature", app.centre, {"long_name": "mean of the feature over the training data"}),
            "scale": ("feature", app.scale, {"long_name": "standard deviation of the feature over the training data"}),
            "weight": ("feature", app.weights, {"long_name": "importance weight of the feature", "units": "1"}),
            "reference": (
                ("point", "feature"),
                app.reference,
                {"long_name": "training points in the scaled, weighted feature space"},
            ),
        },
        coords={"feature": list(calibration.features)},
        attrs={
            "Conventions": CONVENTIONS,
            "title": "soilsat map calibration: conformal interval and area of applicability",
            "history": "written by soilsat's calibrate_map rule",
            "mean_distance": app.mean_distance,
            "threshold": app.threshold,
            "floor": calibration.floor,
            "quantile": calibration.quantile,
            "level": calibration.level,
        },
    )
    with atomic_path(path) as tmp:
        write_netcdf(dataset, tmp)


def read_calibration(path: str | os.PathLike) -> MapCalibration:
    """A calibration stored by write_calibration."""
    dataset = read_dataset(path)
    app = Applicability(
        dataset["centre"].values,
        dataset["scale"].values,
        dataset["weight"].values,
        dataset["reference"].values,
        float(dataset.attrs["mean_distance"]),
        float(dataset.attrs["threshold"]),
    )
    return MapCalibration(
        tuple(str(f) for f in dataset["feature"].values),
        app,
        float(dataset.attrs["floor"]),
        float(dataset.attrs["quantile"]),
        float(dataset.attrs["level"]),
    )


def uncertainty_bands(
    model: RandomForestRegressor,
    stack: np.ndarray,
    predicted: np.ndarray,
    calibration: MapCalibration,
    workers: int = 1,
    rows_per_chunk: int = 64,
) -> np.ndarray:
    """Lower and upper interval bounds, DI and AOA (1 inside, 0 outside) of every mapped pixel of a (feature, y, x)
    stack, as a (4, y, x) array, NaN where the map has no value."""
    n_features, height, width = stack.shape
    if n_features != len(calibration.features):
        raise ValueError(f"{n_features} map features for a calibration of {len(calibration.features)}")
    out = np.full((4, height, width), np.nan, np.float32)
    for r0 in range(0, height, rows_per_chunk):
        block = stack[:, r0 : r0 + rows_per_chunk].reshape(n_features, -1).T
        value = predicted[r0 : r0 + rows_per_chunk].reshape(-1)
        ok = np.isfinite(block).all(axis=1) & np.isfinite(value)
        if not ok.any():
            continue
        rows = out[:, r0 : r0 + rows_per_chunk].reshape(4, -1)
        scaling = conformal.scale(tree_spread(model, block[ok]), calibration.floor, int(ok.sum()))
        if np.isfinite(calibration.quantile):  # too few held-out rows for the level leave the bands empty
            rows[0, ok], rows[1, ok] = conformal.interval(value[ok], scaling, calibration.quantile)
        di = applicability.dissimilarity(calibration.applicability, block[ok], workers)
        rows[2, ok] = di
        rows[3, ok] = (di <= calibration.applicability.threshold).astype(np.float32)
        out[:, r0 : r0 + rows_per_chunk] = rows.reshape(4, -1, width)
    return out


def band_metadata(quantity: str, units: str, long_name: str, level: float) -> tuple[list[str], list[dict[str, str]]]:
    """Names and tags (units, long_name) of a map's value band and its four uncertainty bands, in band order."""
    percent = f"{100 * level:g} %"
    names = [quantity, f"{quantity}_lower", f"{quantity}_upper", "dissimilarity_index", "area_of_applicability"]
    tags = [
        {"units": units, "long_name": long_name},
        {"units": units, "long_name": f"lower bound of the {percent} conformal prediction interval of {quantity}"},
        {"units": units, "long_name": f"upper bound of the {percent} conformal prediction interval of {quantity}"},
        {"units": "1", "long_name": "dissimilarity index to the training data (Meyer and Pebesma 2021)"},
        {"units": "1", "long_name": "inside the area of applicability (1) or outside (0), DI against the CV threshold"},
    ]
    return names, tags
