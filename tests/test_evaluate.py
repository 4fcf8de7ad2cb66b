"""Metrics and the tidy metrics table."""

import numpy as np
import pandas as pd
import pytest

from soilsat.evaluate.metrics import metrics_table, scores


def test_scores_by_hand():
    observed = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    predicted = np.array([2.0, 2.0, 4.0, 4.0, 9.0])
    s = scores(observed, predicted)
    assert s["n"] == 4 and s["mae"] == pytest.approx(0.5) and s["bias"] == pytest.approx(0.5)
    assert s["rmse"] == pytest.approx(np.sqrt(0.5)) and s["ubrmse"] == pytest.approx(0.5)
    assert s["r2"] == pytest.approx(1 - 2.0 / 5.0)
    assert s["rpiq"] == pytest.approx((3.25 - 1.75) / np.sqrt(0.5))
    assert s["r"] == pytest.approx(np.corrcoef([1, 2, 3, 4], [2, 2, 4, 4])[0, 1])


def test_metrics_table_scores_the_repeat_mean_and_each_repeat():
    rows = []
    for repeat, offset in (("0", 0.1), ("1", -0.1), ("mean", 0.0)):
        for probe, region, lc in (("a", "x", 211), ("b", "y", 311)):
            rows += [
                dict(
                    model="lstm",
                    variant="full",
                    repeat=repeat,
                    probe=probe,
                    time=t,
                    region=region,
                    landcover=lc,
                    observed=float(t),
                    predicted=t + offset + (0.5 if probe == "b" else 0),
                )
                for t in range(4)
            ]
    table = metrics_table(pd.DataFrame(rows))
    assert list(table.columns[:4]) == ["model", "variant", "level", "group"]
    overall = table[table.level == "all"].iloc[0]
    assert overall["n"] == 8 and overall["mae"] == pytest.approx(0.25)
    probe_b = table[(table.level == "probe") & (table.group == "b")].iloc[0]
    assert probe_b["bias"] == pytest.approx(0.5)
    repeats = table[table.level == "repeat"].set_index("group")
    assert repeats.loc["0", "bias"] == pytest.approx(0.35) and repeats.loc["1", "bias"] == pytest.approx(0.15)
    assert set(table.level) == {"all", "region", "landcover", "probe", "repeat"}


def test_empty_scores_are_missing_not_zero():
    s = scores(np.array([np.nan]), np.array([1.0]))
    assert s["n"] == 0 and np.isnan(s["mae"])
