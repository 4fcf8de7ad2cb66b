"""Conformal intervals: the quantile's definition and the coverage of held-out data on synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from soilsat.evaluate.conformal import calibrate, held_out_coverage, interval, quantile, scale, scale_floor


def heteroscedastic(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observations whose error grows with x, a prediction, and an ensemble spread that knows it roughly."""
    x = rng.uniform(0, 1, n)
    sd = 0.02 + 0.1 * x
    observed = x + rng.normal(0, sd)
    spread = sd * rng.uniform(0.7, 1.3, n)
    return observed, x, spread


def test_quantile_is_the_ceil_n_plus_one_level_th_score():
    scores = np.arange(1.0, 11.0)  # 1..10
    assert quantile(scores, 0.5) == 6.0  # ceil(11 * 0.5) = 6
    assert quantile(scores, 0.9) == 10.0  # ceil(9.9) = 10
    assert math.isinf(quantile(scores, 0.95))  # ceil(10.45) = 11 > n: no finite interval
    assert quantile(np.array([3.0, np.nan, 1.0, 2.0]), 0.5) == 2.0


@pytest.mark.parametrize("with_spread", [True, False])
def test_a_nominal_90_percent_interval_covers_85_to_95_percent_of_1000_held_out_points(with_spread):
    rng = np.random.default_rng(11)
    cal_obs, cal_pred, cal_spread = heteroscedastic(rng, 1000)
    obs, pred, spread = heteroscedastic(rng, 1000)
    floor, q = calibrate(cal_obs, cal_pred, cal_spread if with_spread else None, [0.9])
    lower, upper = interval(pred, scale(spread if with_spread else None, floor, len(pred)), q[0.9])
    coverage = float(np.mean((obs >= lower) & (obs <= upper)))
    assert 0.85 <= coverage <= 0.95, coverage


def test_scaled_intervals_follow_the_spread_where_constant_ones_cannot():
    rng = np.random.default_rng(12)
    obs, pred, spread = heteroscedastic(rng, 4000)
    groups = np.arange(4000) % 10
    scaled = held_out_coverage(obs, pred, spread, groups, [0.9]).iloc[0]
    constant = held_out_coverage(obs, pred, None, groups, [0.9]).iloc[0]
    assert 0.87 <= scaled["coverage"] <= 0.93 and 0.87 <= constant["coverage"] <= 0.93
    assert scaled["mean_width"] < constant["mean_width"]  # adaptive intervals are narrower on average
    low = pred < 0.2
    gaps = []
    for member_spread in (spread, None):
        floor, q = calibrate(obs, pred, member_spread, [0.9])
        lower, upper = interval(pred, scale(member_spread, floor, len(pred)), q[0.9])
        inside = (obs >= lower) & (obs <= upper)
        gaps.append(abs(inside[low].mean() - inside[~low].mean()))
    # where errors are small and where they are large: covered nearly alike when scaled, not when constant
    assert gaps[0] < 0.06 and gaps[1] > 2 * gaps[0]


def test_held_out_coverage_reports_every_level_and_its_groups():
    rng = np.random.default_rng(13)
    obs, pred, spread = heteroscedastic(rng, 600)
    obs[3] = np.nan  # dropped
    table = held_out_coverage(obs, pred, spread, np.arange(600) % 6, [0.5, 0.8, 0.9, 0.95])
    assert list(table["level"]) == [0.5, 0.8, 0.9, 0.95]
    assert (table["n"] == 599).all() and (table["groups"] == 6).all()
    assert table["coverage"].is_monotonic_increasing and table["mean_width"].is_monotonic_increasing
    for level, coverage in zip(table["level"], table["coverage"]):
        assert abs(coverage - level) < 0.06


def test_the_floor_is_a_tenth_of_the_median_spread_or_nothing():
    assert scale_floor(np.array([0.1, 0.2, 0.3, np.nan])) == pytest.approx(0.02)
    assert scale_floor(np.zeros(4)) == 0.0
    assert (scale(np.array([0.1, 0.2]), 0.0, 2) == 1).all()  # no spread: intervals of constant width
