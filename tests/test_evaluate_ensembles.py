"""Ensembles' held-out predictions with their members' spread, and the coverage of their intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soilsat.evaluate.ensembles import bagged, coverage_table, repeated, sample_groups, study_ensembles


def repeats_table(rng: np.random.Generator, n: int = 400) -> pd.DataFrame:
    """Two repeats of a model on n probe-days and their mean, as the LSTM and Zhang protocols store them."""
    truth = rng.uniform(0.1, 0.4, n)
    probe = np.array([f"p{i % 8}" for i in range(n)])
    time = np.repeat(pd.date_range("2020-01-01", periods=n // 8), 8)[:n]
    members = [truth + rng.normal(0, 0.03, n) for _ in range(2)]
    frames = [
        pd.DataFrame(
            {
                "model": "lstm",
                "variant": "full",
                "repeat": str(r),
                "probe": probe,
                "time": time,
                "observed": truth + rng.normal(0, 0.03, n),
                "predicted": m,
            }
        )
        for r, m in enumerate(members)
    ]
    table = pd.concat(frames, ignore_index=True)
    table["observed"] = np.tile(frames[0]["observed"], 2)
    mean = frames[0].assign(repeat="mean", predicted=(members[0] + members[1]) / 2)
    return pd.concat([table, mean], ignore_index=True)


def test_repeats_give_the_averaged_rows_their_spread():
    table = repeated(repeats_table(np.random.default_rng(0)), ["model", "variant", "probe", "time"])
    assert len(table) == 400 and (table["repeat"] == "mean").all() and (table["members"] == 2).all()
    assert table["spread"].gt(0).all()


def test_bags_give_the_bag_mean_its_spread():
    predictions = pd.DataFrame(
        {"model": "rf", "variant": "median", "sample": ["s1", "s2"], "observed": [1.0, 2.0], "predicted": [1.5, 2.5]}
    )
    members = pd.DataFrame(
        {
            "model": "rf",
            "variant": "median",
            "sample": ["s1", "s2"] * 3,
            "bag": [0, 0, 1, 1, 2, 2],
            "observed": [1.0, 2.0] * 3,
            "predicted": [1.0, 2.0, 1.5, 2.5, 2.0, 3.0],
        }
    )
    table = bagged(predictions, members, ["model", "variant", "sample"])
    assert list(table["spread"]) == pytest.approx([0.5, 0.5]) and list(table["members"]) == [3, 3]


def test_coverage_per_model_and_the_scaling_it_used():
    rng = np.random.default_rng(1)
    table = study_ensembles("simonsen2021", repeats_table(rng, 800), None, 10, 0)
    coverage = coverage_table(table, ["model", "variant"], "group", [0.5, 0.9])
    assert list(coverage["level"]) == [0.5, 0.9] and (coverage["groups"] == 8).all()
    assert coverage["scaling"].iloc[0] == "member spread (2 members)"
    assert 0.8 <= coverage["coverage"].iloc[1] <= 0.97
    single = coverage_table(table.drop(columns=["spread", "members"]), ["model", "variant"], "group", [0.9])
    assert single["scaling"].iloc[0] == "constant (absolute errors)"


def test_samples_keep_their_group():
    groups = sample_groups(np.array(["a", "b", "a", "c", "b"]), 2, seed=0)
    assert groups[0] == groups[2] and groups[1] == groups[4] and set(groups) <= {0, 1}
