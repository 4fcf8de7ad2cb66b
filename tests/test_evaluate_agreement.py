"""Agreement metrics through pytesmo: hand-computed series, pytesmo's own functions, soilsat's pooled scores."""

from __future__ import annotations

import numpy as np
import pytest
from pytesmo.metrics import pairwise
from scipy import stats

from soilsat.evaluate.agreement import COLUMNS, IntervalSettings, agreement, seeded
from soilsat.evaluate.metrics import scores

SETTINGS = IntervalSettings(confidence=0.95, bootstrap_samples=500)


def test_a_hand_computed_series():
    observed = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    predicted = 2 * observed  # perfectly correlated, biased, twice the spread
    row = agreement(observed, predicted, SETTINGS, seed=0)
    assert row["n"] == 5
    assert row["r"] == pytest.approx(1.0) and row["rho"] == pytest.approx(1.0)
    assert row["bias"] == pytest.approx(3.0)  # predicted - observed
    assert row["rmsd"] == pytest.approx(np.sqrt(11.0))  # mean of 1, 4, 9, 16, 25
    assert row["ubrmsd"] == pytest.approx(np.sqrt(2.0))  # RMSD^2 - bias^2
    # MSE = 2 sx sy (1 - r) + (sx - sy)^2 + (mx - my)^2 with population sd sqrt(2) and 2 sqrt(2)
    assert (row["mse"], row["mse_corr"], row["mse_var"], row["mse_bias"]) == pytest.approx((11.0, 0.0, 2.0, 9.0))


def test_metrics_are_pytesmos_and_agree_with_soilsats_pooled_scores():
    rng = np.random.default_rng(3)
    observed = rng.uniform(0.05, 0.45, 300)
    predicted = 0.8 * observed + 0.05 + rng.normal(0, 0.03, 300)
    row = agreement(observed, predicted, SETTINGS, seed=1)
    assert row["r"] == pytest.approx(pairwise.pearson_r(predicted, observed))
    assert row["rho"] == pytest.approx(pairwise.spearman_r(predicted, observed))
    assert row["r_p"] == pytest.approx(stats.pearsonr(predicted, observed)[1])
    assert row["rho_p"] == pytest.approx(stats.spearmanr(predicted, observed)[1])
    assert row["ubrmsd"] == pytest.approx(pairwise.ubrmsd(predicted, observed))
    assert row["mse"] == pytest.approx(pairwise.msd(predicted, observed))
    assert row["mse"] == pytest.approx(row["mse_corr"] + row["mse_bias"] + row["mse_var"])
    own = scores(observed, predicted)
    assert (row["bias"], row["rmsd"], row["ubrmsd"], row["r"]) == pytest.approx(
        (own["bias"], own["rmse"], own["ubrmse"], own["r"])
    )


def test_correlation_intervals_are_fisher_z_and_bonett_wright():
    rng = np.random.default_rng(4)
    observed = rng.normal(size=80)
    predicted = observed + rng.normal(0, 0.8, 80)
    row = agreement(observed, predicted, SETTINGS, seed=1)
    z = stats.norm.ppf(0.975)
    r, rho, n = row["r"], row["rho"], 80
    assert (row["r_lower"], row["r_upper"]) == pytest.approx(
        (np.tanh(np.arctanh(r) - z / np.sqrt(n - 3)), np.tanh(np.arctanh(r) + z / np.sqrt(n - 3)))
    )
    half = z * np.sqrt(1 + rho**2 / 2) / np.sqrt(n - 3)
    assert (row["rho_lower"], row["rho_upper"]) == pytest.approx(
        (np.tanh(np.arctanh(rho) - half), np.tanh(np.arctanh(rho) + half))
    )


def test_bootstrap_intervals_bracket_the_value_reproducibly_and_leave_numpys_generator_alone():
    rng = np.random.default_rng(5)
    observed = rng.uniform(0.1, 0.4, 120)
    predicted = observed + rng.normal(0.02, 0.04, 120)
    np.random.seed(99)
    before = np.random.get_state()[1].copy()
    first = agreement(observed, predicted, SETTINGS, seed=7)
    assert np.array_equal(np.random.get_state()[1], before)
    assert agreement(observed, predicted, SETTINGS, seed=7) == first
    for name in ("bias", "rmsd", "ubrmsd"):
        assert first[f"{name}_lower"] < first[name] < first[f"{name}_upper"], name
    assert first["bias_lower"] < 0.02 < first["bias_upper"]
    # the bias interval is about the t interval of a mean difference
    width = 2 * stats.t.ppf(0.975, 119) * np.std(predicted - observed, ddof=1) / np.sqrt(120)
    assert first["bias_upper"] - first["bias_lower"] == pytest.approx(width, rel=0.2)


def test_missing_pairs_are_dropped_and_too_few_give_nan():
    row = agreement(np.array([0.1, np.nan, 0.3, 0.2, 0.4]), np.array([0.1, 0.2, np.nan, 0.25, 0.35]), SETTINGS, 0)
    assert row["n"] == 3 and np.isnan(row["r"])  # n < 4: no correlation interval
    assert np.isfinite(row["rmsd"])
    empty = agreement(np.array([0.1]), np.array([0.2]), SETTINGS, 0)
    assert empty["n"] == 1 and all(np.isnan(empty[c]) for c in COLUMNS if c != "n")


def test_seeded_restores_the_state_even_on_error():
    np.random.seed(1)
    state = np.random.get_state()[1].copy()
    with pytest.raises(RuntimeError), seeded(5):
        np.random.random()
        raise RuntimeError
    assert np.array_equal(np.random.get_state()[1], state)
