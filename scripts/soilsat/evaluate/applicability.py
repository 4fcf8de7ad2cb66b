"""The area of applicability of a spatial prediction model (Meyer and Pebesma 2021, Methods Ecol. Evol. 12:1620).

Predictors are standardised by the training data and multiplied by the model's variable importance. The
dissimilarity index (DI) of a new point is its distance to the nearest training point over the mean distance
between training points (the mean over training points of their mean distance to all others). The AOA
threshold is the upper whisker of the training points' own DI - Tukey's: the largest value within 1.5
interquartile ranges (hinges) of the upper hinge - where a training point's DI is its distance to the nearest
training point of another cross-validation fold; a point with a larger DI lies outside the AOA.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

WHISKER = 1.5


@dataclass(frozen=True)
class Applicability:
    """What the DI of new points needs: the training points' scaling and weights, their positions, the threshold."""

    centre: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    reference: np.ndarray  # the training points, standardised and weighted
    mean_distance: float
    threshold: float


def standardised(x: np.ndarray, centre: np.ndarray, scale: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Points in the weighted, standardised predictor space."""
    return (np.asarray(x, dtype=float) - centre) / scale * weights


def mean_distance(points: np.ndarray, max_points: int, seed: int) -> float:
    """Mean over points of their mean distance to every other point (on a random subset above max_points)."""
    n = len(points)
    if n < 2:
        raise ValueError("the area of applicability needs at least two training points")
    if n > max_points:
        points = points[np.random.default_rng(seed).choice(n, max_points, replace=False)]
        n = max_points
    total = 0.0
    for start in range(0, n, 1024):
        total += float(cdist(points[start : start + 1024], points).sum())
    return total / (n * (n - 1))


def nearest_other_fold(points: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each point's distance to the nearest point of another fold (to any other point where all share one fold)."""
    folds = np.asarray(folds)
    distances = np.full(len(points), np.inf)
    if len(np.unique(folds)) < 2:
        tree = cKDTree(points)
        d, _ = tree.query(points, k=2)
        return d[:, 1]
    for fold in np.unique(folds):
        inside = folds == fold
        d, _ = cKDTree(points[~inside]).query(points[inside], k=1)
        distances[inside] = d
    return distances


def hinges(values: np.ndarray) -> tuple[float, float]:
    """Tukey's lower and upper hinges of a sample (R's fivenum)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    n4 = np.floor((n + 3) / 2) / 2
    positions = np.array([n4, n + 1 - n4]) - 1
    lower = 0.5 * (x[int(np.floor(positions[0]))] + x[int(np.ceil(positions[0]))])
    upper = 0.5 * (x[int(np.floor(positions[1]))] + x[int(np.ceil(positions[1]))])
    return float(lower), float(upper)


def upper_whisker(values: np.ndarray) -> float:
    """The largest value not beyond 1.5 hinge spreads above the upper hinge (R's boxplot.stats()$stats[5])."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    lower, upper = hinges(x)
    return float(x[x <= upper + WHISKER * (upper - lower)].max())


def fit(x: np.ndarray, weights: np.ndarray, folds: np.ndarray, max_points: int, seed: int) -> Applicability:
    """The AOA of a model trained on rows x (n, features) with these importance weights and CV folds."""
    x = np.asarray(x, dtype=float)
    centre = x.mean(axis=0)
    spread = x.std(axis=0, ddof=1)
    scale = np.where(spread > 0, spread, 1.0)  # a constant predictor has no importance, so its weight is 0
    weights = np.clip(np.asarray(weights, dtype=float), 0.0, None)
    reference = standardised(x, centre, scale, weights)
    average = mean_distance(reference, max_points, seed)
    training = nearest_other_fold(reference, folds) / average
    return Applicability(centre, scale, weights, reference, average, upper_whisker(training))


def training_dissimilarity(app: Applicability, folds: np.ndarray) -> np.ndarray:
    """The DI of the training points themselves (to the nearest point of another fold)."""
    return nearest_other_fold(app.reference, folds) / app.mean_distance


def dissimilarity(app: Applicability, x: np.ndarray, workers: int = 1) -> np.ndarray:
    """The DI of new points (n, features); NaN where a predictor is missing."""
    x = np.asarray(x, dtype=float)
    out = np.full(len(x), np.nan)
    ok = np.isfinite(x).all(axis=1)
    if ok.any():
        d, _ = cKDTree(app.reference).query(standardised(x[ok], app.centre, app.scale, app.weights), workers=workers)
        out[ok] = d / app.mean_distance
    return out
