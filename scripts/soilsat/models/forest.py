"""Random forests of the protocols and maps: their settings, fitted reproducibly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from soilsat.settings import Settings


@dataclass(frozen=True)
class ForestSettings(Settings):
    """Size of a random forest (config train.random_forest and train.zhang.random_forest)."""

    n_estimators: int
    min_samples_leaf: int


def fit_forest(x: np.ndarray, y: np.ndarray, settings: ForestSettings, seed: int, n_jobs: int) -> RandomForestRegressor:
    """A random forest fitted on every training row on `n_jobs` threads, set to predict on one."""
    if len(y) == 0:
        raise ValueError("no training rows to fit the random forest on")
    forest = RandomForestRegressor(
        n_estimators=settings.n_estimators, min_samples_leaf=settings.min_samples_leaf, random_state=seed, n_jobs=n_jobs
    )
    # predicting with one thread: with more, the trees are summed in completion order (not bit-reproducible)
    return forest.fit(x, y).set_params(n_jobs=1)
