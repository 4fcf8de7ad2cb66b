"""Strata of stations and samples, and the per-stratum summaries of their metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.evaluate.agreement import IntervalSettings
from soilsat.evaluate.sample_validation import ALL, sample_pairs, sample_scores
from soilsat.evaluate.strata import sample_strata, station_strata, stratum_summary


def ismn_probes() -> pd.DataFrame:
    """read_ismn's probe table of two stations, one with two soil-moisture sensors."""
    rows = []
    for probe, network, climate, cover, clay in (("a", "N1", "Cfb", 211, 10.0), ("b", "N2", "BSk", "unknown", 45.0)):
        for sensor in ("S1", "S2") if probe == "a" else ("S1",):
            rows.append(
                dict(
                    probe=probe,
                    network=network,
                    station=probe,
                    sensor=sensor,
                    variable="soil_moisture",
                    lat=55.0,
                    lon=9.0,
                    depth_from=0.0,
                    depth_to=0.05,
                    climate=climate,
                    landcover=cover,
                    clay=clay,
                    silt=20.0,
                    sand=80.0 - clay,
                )
            )
    return pd.DataFrame(rows)


def test_station_strata_from_the_dataset_and_ismn():
    dataset = xr.Dataset(coords={"probe": ["a", "b", "c"], "region": ("probe", ["r1", "r1", "r2"])})
    table = station_strata(dataset, ismn_probes()).set_index("probe")
    assert table.loc["a", "network"] == "N1" and table.loc["b", "climate"] == "BSk"
    assert table.loc["a", "landcover"] == "211" and table.loc["b", "landcover"] == "unknown"
    assert table.loc["a", "texture"] == "sandy loam" and table.loc["b", "texture"] == "clay"
    assert table.loc["c", "network"] == "unknown" and table.loc["c", "texture"] == "unknown"
    with_corine = dataset.assign(
        landcover=("probe", [311, 211, 231]),
        clay=("probe", [5.0, 5.0, 60.0]),
        silt=("probe", [5.0, 5.0, 20.0]),
        sand=("probe", [90.0, 90.0, 20.0]),
    )
    table = station_strata(with_corine, None).set_index("probe")
    assert list(table["landcover"]) == ["311", "211", "231"] and table.loc["c", "texture"] == "clay"


def test_stratum_summary_gives_medians_and_counts():
    metrics = pd.DataFrame(
        {
            "name": "m",
            "probe": ["a", "b", "c"],
            "region": ["r1", "r1", "r2"],
            "texture": ["loam"] * 3,
            "r": [0.5, 0.7, 0.9],
            "ubrmsd": [0.02, 0.04, 0.03],
        }
    )
    summary = stratum_summary(metrics, ["name"], ["region", "texture"], ["r", "ubrmsd"]).set_index(
        ["stratified_by", "stratum"]
    )
    assert summary.loc[("region", "r1"), "r_median"] == 0.6 and summary.loc[("region", "r1"), "stations"] == 2
    assert summary.loc[("texture", "loam"), "ubrmsd_median"] == 0.03


def test_sample_scores_overall_and_per_stratum():
    rng = np.random.default_rng(0)
    samples = [f"s{i}" for i in range(60)]
    dataset = xr.Dataset(
        {
            "clay": ("sample", rng.uniform(5, 50, 60)),
            "silt": ("sample", np.full(60, 30.0)),
            "sand": ("sample", np.full(60, 40.0)),
        },
        coords={"sample": samples, "region": ("sample", ["r1"] * 30 + ["r2"] * 30)},
    )
    observed = dataset["clay"].values
    predictions = pd.DataFrame(
        {
            "model": "rf",
            "variant": "median",
            "sample": samples,
            "region": "stale",
            "observed": observed,
            "predicted": observed + rng.normal(0, 3, 60),
        }
    )
    pairs = sample_pairs(predictions, sample_strata(dataset))
    assert set(pairs["region"]) == {"r1", "r2"} and np.allclose(pairs["error"], pairs["predicted"] - pairs["observed"])
    scores = sample_scores(pairs, ["region", "texture"], IntervalSettings(0.95, 100), seed=0)
    overall = scores[scores["stratified_by"] == ALL].iloc[0]
    assert (
        overall["name"] == "rf_median"
        and overall["n"] == 60
        and overall["rmsd"] == np.sqrt(np.mean(pairs["error"] ** 2))
    )
    assert set(scores.loc[scores["stratified_by"] == "region", "stratum"]) == {"r1", "r2"}
