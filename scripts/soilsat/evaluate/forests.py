"""A random forest's members as an ensemble: the spread of its trees, and its held-out predictions under given folds.

The spread of the trees' predictions is the scale of the forest's conformal intervals; it is summed tree by
tree so that a map chunk never holds every tree's prediction at once.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from soilsat.models.forest import ForestSettings, fit_forest


def tree_spread(forest: RandomForestRegressor, x: np.ndarray) -> np.ndarray:
    """Standard deviation of the trees' predictions of each row."""
    x = np.asarray(x, dtype=np.float32)
    total = np.zeros(len(x))
    squares = np.zeros(len(x))
    for tree in forest.estimators_:
        values = tree.predict(x)
        total += values
        squares += values**2
    n = len(forest.estimators_)
    mean = total / n
    return np.sqrt(np.maximum(squares / n - mean**2, 0.0))


def held_out(
    x: np.ndarray, y: np.ndarray, folds: np.ndarray, settings: ForestSettings, seed: int, threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's prediction and tree spread from a forest fitted on the other folds."""
    predicted = np.full(len(y), np.nan)
    spread = np.full(len(y), np.nan)
    for fold in np.unique(folds):
        test = folds == fold
        forest = fit_forest(x[~test], y[~test], settings, seed, threads)
        predicted[test] = forest.predict(x[test])
        spread[test] = tree_spread(forest, x[test])
    return predicted, spread
