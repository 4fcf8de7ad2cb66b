"""Agreement of a predicted series with its reference, as QA4SM reports it: pytesmo's metrics with intervals.

Pearson R and Spearman rho come with their p-values and pytesmo's analytical 95 % intervals (Fisher z,
Bonett and Wright 2000); bias (predicted - observed), RMSD and ubRMSD with pytesmo's percentile bootstrap;
the MSE with its decomposition into correlation, bias and variance parts. The bootstrap resamples pairs as
if independent: daily soil moisture is autocorrelated, so its intervals are narrower than they should be.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from pytesmo.metrics import pairwise
from pytesmo.metrics.confidence_intervals import with_analytical_ci, with_bootstrapped_ci
from scipy import stats

from soilsat.settings import Settings

CORRELATIONS = {"r": pairwise.pearson_r, "rho": pairwise.spearman_r}
P_VALUES = {"r": stats.pearsonr, "rho": stats.spearmanr}
DEVIATIONS = {"bias": pairwise.bias, "rmsd": pairwise.rmsd, "ubrmsd": pairwise.ubrmsd}
DECOMPOSITION = ("mse", "mse_corr", "mse_bias", "mse_var")
COLUMNS = (
    "n",
    *(f"{name}{part}" for name in CORRELATIONS for part in ("", "_p", "_lower", "_upper")),
    *(f"{name}{part}" for name in DEVIATIONS for part in ("", "_lower", "_upper")),
    *DECOMPOSITION,
)


@dataclass(frozen=True)
class IntervalSettings(Settings):
    """Confidence level and bootstrap size of the metric intervals (config validate)."""

    confidence: float
    bootstrap_samples: int


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """numpy's global generator seeded for the block and restored after (pytesmo's bootstrap draws from it); numpy's
    warnings on degenerate resamples (a constant series, R of exactly 1) silenced, their results being NaN or inf."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            yield
    finally:
        np.random.set_state(state)


def valid_pairs(observed: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs where both values are finite, as float64 arrays."""
    obs = np.asarray(observed, dtype=np.float64)
    pred = np.asarray(predicted, dtype=np.float64)
    ok = np.isfinite(obs) & np.isfinite(pred)
    return obs[ok], pred[ok]


def correlation(name: str, obs: np.ndarray, pred: np.ndarray, alpha: float) -> dict[str, float]:
    """R or rho with its p-value and analytical interval (NaN where a series is constant or n < 4)."""
    keys = [name, f"{name}_p", f"{name}_lower", f"{name}_upper"]
    if len(obs) < 4 or np.ptp(obs) == 0 or np.ptp(pred) == 0:
        return dict.fromkeys(keys, np.nan)
    value, lower, upper = with_analytical_ci(CORRELATIONS[name], pred, obs, alpha=alpha)
    p = float(P_VALUES[name](pred, obs)[1])
    return dict(zip(keys, (float(value), p, float(lower), float(upper))))


def deviation(name: str, obs: np.ndarray, pred: np.ndarray, alpha: float, samples: int) -> dict[str, float]:
    """Bias, RMSD or ubRMSD with its percentile bootstrap interval (pytesmo's order: predicted, observed)."""
    value, lower, upper = with_bootstrapped_ci(
        DEVIATIONS[name], pred, obs, alpha=alpha, nsamples=samples, minimum_data_length=2
    )
    return {name: float(value), f"{name}_lower": float(lower), f"{name}_upper": float(upper)}


def agreement(observed: np.ndarray, predicted: np.ndarray, settings: IntervalSettings, seed: int) -> dict[str, float]:
    """Every metric of COLUMNS over the valid pairs; NaN (n kept) below two pairs."""
    obs, pred = valid_pairs(observed, predicted)
    n = len(obs)
    if n < 2:
        return dict.fromkeys(COLUMNS, np.nan) | {"n": n}
    alpha = 1.0 - settings.confidence
    row: dict[str, float] = {"n": n}
    with seeded(seed):
        for name in CORRELATIONS:
            row |= correlation(name, obs, pred, alpha)
        for name in DEVIATIONS:
            row |= deviation(name, obs, pred, alpha, settings.bootstrap_samples)
    row |= dict(zip(DECOMPOSITION, (float(v) for v in pairwise.mse_decomposition(pred, obs))))
    return row
