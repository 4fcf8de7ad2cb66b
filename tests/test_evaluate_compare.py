"""The comparison table scores every model and product on the same probe-days (soilsat.evaluate.compare)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soilsat.evaluate.compare import common_rows, comparison_metrics

DAYS = pd.date_range("2020-04-01", periods=10, freq="D")
PROBES = {"a": 211, "b": 211, "c": 312}  # probe -> CORINE land cover


def rows(model: str, variant: str, probes: dict, days, predicted, repeat: str = "mean") -> pd.DataFrame:
    """Tidy predictions of one model on the given probes and days."""
    table = pd.DataFrame(
        [
            {
                "model": model,
                "variant": variant,
                "repeat": repeat,
                "probe": p,
                "time": d,
                "region": "r",
                "landcover": lc,
            }
            for p, lc in probes.items()
            for d in days
        ]
    )
    table["observed"] = np.tile(np.linspace(0.1, 0.3, len(days)), len(probes))
    table["predicted"] = table["observed"] + predicted
    return table


@pytest.fixture()
def predictions() -> pd.DataFrame:
    lstm = [rows("lstm", "full", PROBES, DAYS, 0.02, repeat=str(k)) for k in range(2)]
    lstm[1]["predicted"] += 0.02  # repeat 1 is worse
    mean = pd.concat(lstm).groupby(["probe", "time"], as_index=False)["predicted"].mean()
    lstm_mean = rows("lstm", "full", PROBES, DAYS, 0.0).drop(columns="predicted").merge(mean, on=["probe", "time"])
    forest = rows("random_forest", "full", PROBES, DAYS[::2], -0.01)  # only on sigma0 days
    product = rows("csm", "default", PROBES, DAYS[:6], 0.1)  # a product that stops early
    farmed = {p: lc for p, lc in PROBES.items() if lc == 211}
    agriculture = rows("lstm", "agriculture", farmed, DAYS, 0.005)
    table = pd.concat([*lstm, lstm_mean, forest, product, agriculture], ignore_index=True)
    table.loc[(table["probe"] == "b") & (table["time"] == DAYS[0]), "observed"] = np.nan  # no observation
    return table


def test_every_model_is_scored_on_identical_probe_days(predictions):
    metrics, common = comparison_metrics(predictions)
    for scope, group in common.groupby("scope"):
        days = {key: set(zip(g["probe"], g["time"])) for key, g in group.groupby(["model", "variant"])}
        assert len(set(map(frozenset, days.values()))) == 1, f"scope {scope}: models scored on different rows"
    # sigma0 days (every second) before the product stops (6 days), with an observation: 3 days x 3 probes - 1
    everywhere = common[common["scope"] == "all"]
    assert set(everywhere["model"] + " " + everywhere["variant"]) == {"lstm full", "random_forest full", "csm default"}
    assert len(everywhere) == 3 * (3 * 3 - 1)
    farmed = common[common["scope"] == "agriculture"]
    assert set(farmed["probe"]) == {"a", "b"} and len(farmed) == 4 * (3 * 2 - 1)
    n = metrics[(metrics["rows"] == "common") & (metrics["level"] == "all")].groupby("scope")["n"].unique()
    assert n["all"].tolist() == [8] and n["agriculture"].tolist() == [5]


def test_own_rows_and_repeat_spread_sit_beside(predictions):
    metrics, _ = comparison_metrics(predictions)
    overall = metrics[(metrics["level"] == "all") & (metrics["model"] == "lstm") & (metrics["variant"] == "full")]
    common = overall[(overall["rows"] == "common") & (overall["scope"] == "all")].iloc[0]
    own = overall[overall["rows"] == "own"].iloc[0]
    assert own["n"] == 3 * 10 - 1  # every observed day of its own
    assert common["mae"] == pytest.approx(0.03)  # the repeat-averaged prediction: +0.02 and +0.04 averaged
    assert common["mae_repeat_mean"] == pytest.approx(0.03)  # repeats score 0.02 and 0.04
    assert common["mae_repeat_sd"] == pytest.approx(np.std([0.02, 0.04], ddof=1))
    forest = metrics[(metrics["model"] == "random_forest") & (metrics["level"] == "all")]
    assert forest["mae_repeat_mean"].isna().all()  # no repeats, no spread


def test_a_model_missing_a_probe_day_removes_it_for_all(predictions):
    before = common_rows(predictions)
    dropped = predictions.drop(
        predictions[
            (predictions["model"] == "csm") & (predictions["probe"] == "c") & (predictions["time"] == DAYS[2])
        ].index
    )
    after = common_rows(dropped)
    lost = set(zip(before["probe"], before["time"])) - set(zip(after["probe"], after["time"]))
    assert lost == {("c", DAYS[2])}


def test_summary_puts_the_repeat_spread_beside_the_averaged_score(predictions):
    from soilsat.figures.tables import comparison_summary, to_markdown

    summary = comparison_summary(comparison_metrics(predictions)[0])
    assert summary.index.get_level_values("scope").tolist()[:3] == ["all"] * 3
    lstm = summary.loc[("all", "LSTM full")]
    assert lstm["n"] == 8 and lstm["MAE"] == pytest.approx(0.03)
    assert lstm["MAE of single repeats (mean ± sd)"] == f"0.0300 ± {np.std([0.02, 0.04], ddof=1):.4f}"
    assert lstm["n, own rows"] == 29
    assert "| all / CSM | 8 | 0.1000 |" in to_markdown(summary)
