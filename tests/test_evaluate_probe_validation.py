"""Probe validation: models matched on common probe-days, per-station tables with the stations left out, triple
collocation, and the Tsagkatakis rows as a comparison table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soilsat.evaluate.agreement import IntervalSettings
from soilsat.evaluate.anomalies import AnomalySettings
from soilsat.evaluate.matching import MatchingSettings
from soilsat.evaluate.probe_validation import (
    MEDIAN,
    collocation_table,
    fusion_predictions,
    matched_pairs,
    model_name,
    station_tables,
)
from soilsat.evaluate.stations import ANOMALY, POOLED, RAW

DAYS = pd.date_range("2020-04-01", periods=90, freq="D")
PROBES = {"a-1": ("a", 211), "a-2": ("a", 231), "b-1": ("b", 211), "b-2": ("b", 312), "b-3": ("b", 211)}
INTERVALS = IntervalSettings(0.95, 100)
ANOMALIES = AnomalySettings(35, 3)


@pytest.fixture(scope="module")
def world() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Truth, in-situ values and three models' predictions (a dense model, a sparse one, a product)."""
    rng = np.random.default_rng(0)
    observed, predictions = [], []
    for i, (probe, (region, cover)) in enumerate(PROBES.items()):
        truth = 0.25 + 0.08 * np.sin(np.arange(90) / 9 + i) + rng.normal(0, 0.02, 90)
        in_situ = truth + rng.normal(0, 0.01, 90)
        in_situ[:3] = np.nan
        observed.append(pd.DataFrame({"probe": probe, "time": DAYS, "observed": in_situ}))
        base = dict(probe=probe, time=DAYS, region=region, landcover=cover, observed=in_situ, repeat="mean")
        predictions += [
            pd.DataFrame(base | {"model": "lstm", "variant": "full", "predicted": truth + rng.normal(0, 0.03, 90)}),
            pd.DataFrame(
                base
                | {
                    "model": "random_forest",
                    "variant": "full",
                    "predicted": np.where(np.arange(90) % 3 == 0, truth + rng.normal(0.01, 0.03, 90), np.nan),
                }
            ),
            pd.DataFrame(
                base | {"model": "csm", "variant": "default", "predicted": 1.2 * truth + rng.normal(0, 0.04, 90)}
            ),
        ]
    return pd.concat(observed, ignore_index=True), pd.concat(predictions, ignore_index=True)


def test_model_names():
    assert model_name("lstm", "minimum") == "lstm_minimum" and model_name("csm", "default") == "csm"


def test_pairs_are_the_common_probe_days_raw_and_as_anomalies(world):
    observed, predictions = world
    pairs = matched_pairs(predictions, observed, MatchingSettings("daily", 1.0, 10), ANOMALIES)
    assert set(pairs["kind"]) == {RAW, ANOMALY} and set(pairs["scope"]) == {"all", "agriculture"}
    raw = pairs[(pairs["kind"] == RAW) & (pairs["scope"] == "all")]
    per_model = raw.groupby("name").size()
    assert per_model.nunique() == 1 and per_model.iloc[0] == 5 * 29  # days 3, 6, ..., 87 of the sparse forest
    anomaly = pairs[(pairs["kind"] == ANOMALY) & (pairs["scope"] == "all")]
    assert abs(anomaly["observed"].mean()) < 0.01 and anomaly["observed"].std() < raw["observed"].std()


def test_station_tables_score_every_station_pool_them_and_list_the_short_ones(world):
    observed, predictions = world
    short_of, predictions = observed.copy(), predictions.copy()
    for table in (short_of, predictions):  # probe b-3 observed on its first 20 days only
        table.loc[(table["probe"] == "b-3") & (table["time"] >= DAYS[20]), "observed"] = np.nan
    matching = MatchingSettings("daily", 1.0, 10)
    pairs = matched_pairs(predictions, short_of, matching, ANOMALIES)
    metrics, excluded = station_tables(pairs, short_of, matching, ANOMALIES, INTERVALS, seed=0)
    assert set(excluded["probe"]) == {"b-3"} and (excluded["n"] < 10).all()
    stations = metrics[(metrics["probe"] != POOLED) & (metrics["scope"] == "all") & (metrics["kind"] == RAW)]
    assert set(stations["probe"]) == {"a-1", "a-2", "b-1", "b-2"}
    pooled = metrics[(metrics["probe"] == POOLED) & (metrics["scope"] == "all") & (metrics["kind"] == RAW)]
    assert (pooled.set_index("name")["n"] == stations.groupby("name")["n"].sum()).all()
    lstm = pooled.set_index("name").loc["lstm_full"]
    assert lstm["r_lower"] < lstm["r"] < lstm["r_upper"] and lstm["ubrmsd"] == pytest.approx(0.03, abs=0.01)
    assert (metrics.loc[metrics["kind"] == ANOMALY, "anomaly_reference"] != "").all()
    assert (metrics["matching"] == "daily").all()


def test_triple_collocation_per_station_and_its_median(world):
    observed, predictions = world
    dense = predictions[predictions["model"] != "random_forest"]
    pairs = matched_pairs(dense, observed, MatchingSettings("daily", 1.0, 10), ANOMALIES)
    table = collocation_table(pairs, ["lstm_full"], ["csm"], 50, INTERVALS, seed=0)
    raw = table[(table["kind"] == RAW) & (table["scope"] == "all")]
    stations = raw[raw["probe"] != MEDIAN]
    assert set(stations["probe"]) == set(PROBES) and set(stations["estimate"]) == {"in situ", "lstm_full", "csm"}
    median = raw[raw["probe"] == MEDIAN].set_index("estimate")
    assert (median["stations"] == 5).all()
    assert median.loc["in situ", "err_std"] < median.loc["lstm_full", "err_std"]
    assert collocation_table(pairs, ["lstm_full"], ["csm"], 500, INTERVALS, seed=0).empty


def test_fusion_rows_average_overlapping_patches_of_the_validation_split():
    table = pd.DataFrame(
        {
            "patch": [0, 1, 0, 2],
            "region": "r",
            "time": ["2020-04-03 06:00", "2020-04-03 17:00", "2020-04-03 06:00", "2020-04-03 17:00"],
            "probe": ["p", "p", "q", "q"],
            "split": ["validation", "validation", "training", "validation"],
            "observed": [0.2, 0.2, 0.3, 0.3],
            "model": "tsagkatakis_fusion",
            "variant": "fusion_cnn",
            "predicted": [0.1, 0.3, 0.5, 0.25],
        }
    )
    rows = fusion_predictions(table)
    assert list(rows["probe"]) == ["p", "q"] and list(rows["predicted"]) == pytest.approx([0.2, 0.25])
    assert list(rows["model"]) == ["fusion_cnn", "fusion_cnn"] and (rows["variant"] == "default").all()
