"""The Tziolas et al. (2020) random-forest baseline: a grid search per variant, then one forest per bag.

The forest reads missing values as NaN, which scikit-learn's trees (since 1.4) send down the side each
split learned for missing values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import GridSearchCV, KFold

from soilsat.errors import ConfigError
from soilsat.models.seeding import member_seed
from soilsat.models.tziolas.protocol import RF_KEY, check_variants, member_rows, prediction_rows
from soilsat.models.tziolas.samples import TABLE_VARIANTS, ClayData, table_features
from soilsat.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ForestGrid(Settings):
    """Variants of the random forest and the grid searched for each (config train.tziolas.random_forest)."""

    variants: tuple[str, ...]
    max_features: tuple[int, ...]
    min_samples_leaf: tuple[int, ...]
    n_estimators: tuple[int, ...]
    cv_folds: int


def forest_grid(grid: ForestGrid, n_features: int) -> dict[str, list[int]]:
    """The paper's grid for scikit-learn, features per split capped at the number of features."""
    for key in ("max_features", "min_samples_leaf", "n_estimators"):
        if not getattr(grid, key):
            raise ConfigError(f"config key train.tziolas.random_forest.{key} must list at least one value")
    return {
        "max_features": sorted({min(int(m), n_features) for m in grid.max_features}),
        "min_samples_leaf": sorted(int(m) for m in grid.min_samples_leaf),
        "n_estimators": sorted(int(m) for m in grid.n_estimators),
    }


def search_forest(x: np.ndarray, y: np.ndarray, grid: ForestGrid, seed: int, threads: int) -> GridSearchCV:
    """Grid search with k-fold CV (MSE) over the training samples; the bags refit the chosen point themselves."""
    folds = grid.cv_folds
    if len(y) < folds:
        raise ValueError(f"empty or too small training set: {len(y)} samples for {folds}-fold grid search")
    # Threads go to the grid points, not the trees: a forest predicting with n_jobs > 1 sums its trees in
    # thread completion order, so scores (and the ranks of near ties) would change in the last bits run to run.
    search = GridSearchCV(
        RandomForestRegressor(random_state=seed, n_jobs=1),
        forest_grid(grid, x.shape[1]),
        cv=KFold(folds, shuffle=True, random_state=seed),
        scoring="neg_mean_squared_error",
        n_jobs=threads,
        refit=False,
    )
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


def fit_forest(
    x: np.ndarray, y: np.ndarray, params: Mapping[str, int], seed: int, threads: int
) -> RandomForestRegressor:
    """A forest with the chosen hyper-parameters, fitted on `threads` and set to predict on one."""
    forest = RandomForestRegressor(random_state=seed, n_jobs=threads, **params).fit(x, y)
    return forest.set_params(n_jobs=1)  # one thread sums the trees in a fixed order (see search_forest)


def bagged_forest(
    x: np.ndarray,
    y: np.ndarray,
    members: Sequence[np.ndarray],
    test: np.ndarray,
    params: Mapping[str, int],
    seed: int,
    key: Sequence[int],
    threads: int,
    bag_outputs: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Mean test prediction of one forest per bag, all with the same hyper-parameters; each bag's own test
    prediction is appended to `bag_outputs` where given."""
    if len(members) == 0:
        raise ConfigError("config key train.tziolas.bags must be at least 1")
    outputs = [
        fit_forest(x[bag], y[bag], params, member_seed(seed, *key, b), threads).predict(x[test])
        for b, bag in enumerate(members)
    ]
    if bag_outputs is not None:
        bag_outputs.extend(outputs)
    return np.mean(outputs, axis=0)


def run_forest(
    data: ClayData,
    calibration: np.ndarray,
    test: np.ndarray,
    members: Sequence[np.ndarray],
    grid: ForestGrid,
    seed: int,
    threads: int,
    variants: Sequence[str],
    bag_predictions: list[pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bagged forests of each variant: test predictions and every grid point searched; each bag's test
    predictions are appended to `bag_predictions` where given (member_rows).

    The grid search runs once per variant on the whole calibration set, as the paper reports one chosen
    set of hyper-parameters per RF model (§2.3.3); each bag then fits a forest with that set. A search per
    bag would cost the number of bags times more and could give the bags of one model different settings.
    """
    check_variants(variants, TABLE_VARIANTS, "train.tziolas.random_forest.variants")
    frames, searches = [], []
    for variant in variants:
        x = table_features(data, TABLE_VARIANTS[variant])
        search = search_forest(x[calibration], data.target[calibration], grid, seed, threads)
        log.info(
            "RF %s (%d features): best of %d grid points %s, CV RMSE %.3f",
            variant,
            x.shape[1],
            len(search.cv_results_["params"]),
            search.best_params_,
            float(np.sqrt(-search.best_score_)),
        )
        outputs: list[np.ndarray] = []
        predicted = bagged_forest(
            x,
            data.target,
            members,
            test,
            search.best_params_,
            seed,
            (RF_KEY, list(TABLE_VARIANTS).index(variant)),
            threads,
            outputs,
        )
        frames.append(prediction_rows(data, test, predicted, "rf", variant))
        if bag_predictions is not None:
            bag_predictions.append(member_rows(data, test, outputs, "rf", variant))
        searches.append(search_table(search, variant))
    return pd.concat(frames, ignore_index=True), pd.concat(searches, ignore_index=True)
