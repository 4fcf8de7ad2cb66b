"""Split-conformal prediction intervals, scaled by the spread of an ensemble's members, and their coverage.

The score of a held-out observation is its absolute error over the members' standard deviation plus a floor
(a tenth of the median spread, so a pixel where every member agrees still gets a width); the interval at a
level is the prediction plus or minus the scores' conformal quantile times that scale. Without members
(one model) the scale is 1 and the interval is the prediction plus or minus a quantile of absolute errors.
Coverage is measured across groups (probes, spatial blocks or folds): each group's interval is calibrated on
the scores of the other groups only, so the coverage reported is that of data the calibration never saw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from soilsat.settings import Settings

FLOOR_SHARE = 0.1  # of the median member spread


@dataclass(frozen=True)
class ConformalSettings(Settings):
    """Interval levels whose held-out coverage is reported and the level of the map bands (validate.intervals)."""

    levels: tuple[float, ...]
    map_level: float


def scale_floor(spread: np.ndarray) -> float:
    """The floor added to the spread: a tenth of its median, or 0 where there is no spread (scale 1)."""
    finite = np.asarray(spread, dtype=float)
    finite = finite[np.isfinite(finite)]
    median = float(np.median(finite)) if finite.size else 0.0
    return FLOOR_SHARE * median if median > 0 else 0.0


def scale(spread: np.ndarray | None, floor: float, size: int) -> np.ndarray:
    """The score scale of each value: spread plus floor, or 1 without members."""
    if spread is None or floor == 0.0:
        return np.ones(size)
    return np.asarray(spread, dtype=float) + floor


def scores(observed: np.ndarray, predicted: np.ndarray, scaling: np.ndarray) -> np.ndarray:
    """Nonconformity scores: absolute error over the scale."""
    return np.abs(np.asarray(observed, dtype=float) - np.asarray(predicted, dtype=float)) / scaling


def quantile(calibration_scores: np.ndarray, level: float) -> float:
    """The conformal quantile: the ceil((n + 1) level)-th smallest score (infinite when n is too small)."""
    values = np.sort(np.asarray(calibration_scores, dtype=float)[np.isfinite(calibration_scores)])
    rank = math.ceil((len(values) + 1) * level)
    return float(values[rank - 1]) if 0 < rank <= len(values) else math.inf


def interval(predicted: np.ndarray, scaling: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the interval of half-width q times the scale."""
    half = q * np.asarray(scaling, dtype=float)
    return np.asarray(predicted, dtype=float) - half, np.asarray(predicted, dtype=float) + half


def calibrate(
    observed: np.ndarray, predicted: np.ndarray, spread: np.ndarray | None, levels: Sequence[float]
) -> tuple[float, dict[float, float]]:
    """The scale floor and the conformal quantile of each level, from every held-out value."""
    floor = 0.0 if spread is None else scale_floor(spread)
    s = scores(observed, predicted, scale(spread, floor, len(observed)))
    return floor, {level: quantile(s, level) for level in levels}


def held_out_coverage(
    observed: np.ndarray,
    predicted: np.ndarray,
    spread: np.ndarray | None,
    groups: np.ndarray,
    levels: Sequence[float],
) -> pd.DataFrame:
    """Per level: the share of values inside intervals calibrated on the other groups, their mean width, n."""
    observed = np.asarray(observed, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    spread_all = None if spread is None else np.asarray(spread, dtype=float)
    ok = np.isfinite(observed) & np.isfinite(predicted)
    if spread_all is not None:
        ok &= np.isfinite(spread_all)
    groups = np.asarray(groups)[ok]
    observed, predicted = observed[ok], predicted[ok]
    spread_all = None if spread_all is None else spread_all[ok]
    covered = {level: np.zeros(len(observed), bool) for level in levels}
    width = {level: np.full(len(observed), np.nan) for level in levels}
    for group in pd.unique(groups):
        test = groups == group
        train = ~test
        cal_spread = None if spread_all is None else spread_all[train]
        floor, q = calibrate(observed[train], predicted[train], cal_spread, levels)
        test_scale = scale(None if spread_all is None else spread_all[test], floor, int(test.sum()))
        test_scores = scores(observed[test], predicted[test], test_scale)
        for level in levels:
            covered[level][test] = test_scores <= q[level]
            width[level][test] = 2 * q[level] * test_scale
    return pd.DataFrame(
        {
            "level": list(levels),
            "coverage": [float(covered[level].mean()) if len(observed) else np.nan for level in levels],
            "mean_width": [float(np.mean(width[level])) if len(observed) else np.nan for level in levels],
            "n": len(observed),
            "groups": len(pd.unique(groups)),
        }
    )
