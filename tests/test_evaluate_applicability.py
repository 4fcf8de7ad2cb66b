"""The dissimilarity index and area of applicability (Meyer and Pebesma 2021) against a hand-computed example."""

from __future__ import annotations

import numpy as np
import pytest

from soilsat.evaluate.applicability import (
    dissimilarity,
    fit,
    hinges,
    mean_distance,
    training_dissimilarity,
    upper_whisker,
)

# Four training points on the corners of a square, in two folds (bottom and top).
SQUARE = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
FOLDS = np.array([0, 0, 1, 1])
# By hand: each predictor has mean 1 and sd (n - 1) 2 / sqrt(3), so the corners sit at +-sqrt(3)/2; the sides are
# sqrt(3) long, the diagonals sqrt(6); every corner's mean distance to the others, and so their mean, is
# (2 sqrt(3) + sqrt(6)) / 3.
MEAN_DISTANCE = (2 * np.sqrt(3) + np.sqrt(6)) / 3


def test_dissimilarity_index_of_a_hand_computed_example():
    app = fit(SQUARE, np.ones(2), FOLDS, max_points=100, seed=0)
    assert app.mean_distance == pytest.approx(MEAN_DISTANCE)
    # each corner's nearest corner of the other fold is one side away: all training DI, and the threshold, are equal
    assert training_dissimilarity(app, FOLDS) == pytest.approx(np.full(4, np.sqrt(3) / MEAN_DISTANCE))
    assert app.threshold == pytest.approx(np.sqrt(3) / MEAN_DISTANCE)  # 0.8787
    centre, far = dissimilarity(app, np.array([[1.0, 1.0], [4.0, 1.0]]))
    assert centre == pytest.approx((np.sqrt(6) / 2) / MEAN_DISTANCE)  # 0.6213: inside the AOA
    # (4, 1) sits at (3 sqrt(3)/2, 0): nearest corner (sqrt(3)/2, +-sqrt(3)/2), sqrt(15)/2 away -> 0.9824, outside
    assert far == pytest.approx((np.sqrt(15) / 2) / MEAN_DISTANCE)
    assert centre <= app.threshold < far


def test_weights_scale_the_predictors():
    app = fit(SQUARE, np.array([1.0, 0.0]), FOLDS, max_points=100, seed=0)
    # only the first predictor counts: corners at +-sqrt(3)/2, mean distance (sqrt(3) + 0 + sqrt(3)) / 3
    assert app.mean_distance == pytest.approx(2 * np.sqrt(3) / 3)
    (di,) = dissimilarity(app, np.array([[2.0, 50.0]]))  # far off in the unweighted predictor only
    assert di == pytest.approx(0.0)
    assert np.isnan(dissimilarity(app, np.array([[np.nan, 1.0]]))[0])


def test_mean_distance_on_a_subset_estimates_the_whole():
    points = np.random.default_rng(2).normal(size=(3000, 3))
    assert mean_distance(points, 1000, seed=1) == pytest.approx(mean_distance(points, 5000, seed=1), rel=0.03)


def test_the_threshold_is_rs_boxplot_upper_whisker():
    assert hinges(np.array([1.0, 2, 3, 4, 100])) == (2.0, 4.0)  # R: fivenum(c(1, 2, 3, 4, 100))
    assert upper_whisker(np.array([1.0, 2, 3, 4, 100])) == 4.0  # 100 is beyond 4 + 1.5 * 2
    assert hinges(np.array([1.0, 2, 3, 4, 5, 50])) == (2.0, 5.0)  # R: fivenum(c(1, 2, 3, 4, 5, 50))
    assert upper_whisker(np.array([1.0, 2, 3, 4, 5, 9])) == 9.0  # 9 <= 5 + 1.5 * 3
