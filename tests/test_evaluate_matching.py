"""Matching as a study says: the ISMN filter on hourly values, collocation at the Sentinel-1 passes, minimum pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soilsat.errors import ConfigError
from soilsat.evaluate.matching import (
    MatchingSettings,
    acquisition_pairs,
    check_matching,
    collocate,
    enough_pairs,
    hourly_sites,
)


def sensor(probe: str, name: str, variable: str, depth_to: float) -> dict:
    """One row of read_ismn's probe table."""
    return dict(
        probe=probe,
        network="N",
        station=probe,
        sensor=name,
        variable=variable,
        lat=55.0,
        lon=9.0,
        depth_from=0.0,
        depth_to=depth_to,
        climate="Cfb",
        landcover=211,
        clay=10.0,
        silt=20.0,
        sand=70.0,
    )


def test_hourly_sites_keep_good_surface_values_of_unfrozen_hours_and_average_sensors():
    probes = pd.DataFrame(
        [
            sensor("p1", "A", "soil_moisture", 0.05),
            sensor("p1", "B", "soil_moisture", 0.05),
            sensor("p1", "deep", "soil_moisture", 0.20),
            sensor("p1", "T", "soil_temperature", 0.05),
        ]
    )
    hours = pd.date_range("2020-01-01", periods=4, freq="h")
    rows = []
    for sensor_name, depth, values, flags in [
        ("A", 0.05, [0.20, 0.22, 0.24, 0.26], ["G", "G", "D01", "G"]),
        ("B", 0.05, [0.30, 0.32, 0.34, 0.36], ["G"] * 4),
        ("deep", 0.20, [0.50] * 4, ["G"] * 4),
    ]:
        rows += [("p1", "soil_moisture", sensor_name, depth, t, v, f) for t, v, f in zip(hours, values, flags)]
    rows += [("p1", "soil_temperature", "T", 0.05, t, v, "G") for t, v in zip(hours, [5.0, 4.0, 3.0, -0.5])]
    hourly = pd.DataFrame(rows, columns=["probe", "variable", "sensor", "depth_to", "time", "value", "flag"])
    hourly["depth_from"] = 0.0
    table = hourly_sites(hourly, probes)
    assert list(table["time"]) == list(hours[:3])  # the last hour is frozen
    assert table["observed"].to_numpy() == pytest.approx([0.25, 0.27, 0.34])  # flag D01 of A left out; deep ignored


def test_collocate_takes_the_nearest_value_within_the_window():
    series = pd.Series(
        [0.1, 0.2, 0.3], index=pd.to_datetime(["2020-04-01 05:00", "2020-04-01 06:00", "2020-04-02 09:00"])
    )
    passes = pd.DatetimeIndex(["2020-04-01 06:21", "2020-04-02 06:21"])
    matched = collocate(passes, series, window_hours=1.0)
    assert matched.iloc[0] == 0.2 and np.isnan(matched.iloc[1])  # 09:00 is beyond an hour
    assert collocate(passes, series, window_hours=3.0).iloc[1] == 0.3


def test_acquisition_pairs_meet_each_models_prediction_of_the_day():
    observed = pd.DataFrame(
        {"probe": "p1", "time": pd.date_range("2020-04-01", periods=72, freq="h"), "observed": np.arange(72) / 100}
    )
    predicted = pd.DataFrame(
        {
            "name": ["m", "m", "m", "other"],
            "probe": "p1",
            "time": pd.to_datetime(["2020-04-01", "2020-04-02", "2020-04-03", "2020-04-02"]),
            "predicted": [0.1, 0.2, 0.3, 0.9],
        }
    )
    acquisitions = pd.DataFrame(
        {
            "region": ["r", "r", "elsewhere"],
            "time": pd.to_datetime(["2020-04-02 06:20", "2020-04-03 17:40", "2020-04-01 06:00"]),
        }
    )
    pairs = acquisition_pairs(observed, predicted, acquisitions, pd.Series({"p1": "r"}), 1.0)
    m = pairs[pairs["name"] == "m"]
    assert list(m["observed"]) == pytest.approx([0.30, 0.66])  # 06:00 on day 2, 18:00 on day 3
    assert list(m["predicted"]) == [0.2, 0.3]
    assert list(pairs.loc[pairs["name"] == "other", "predicted"]) == [0.9]


def test_stations_below_the_minimum_are_listed_and_left_out():
    pairs = pd.DataFrame(
        {
            "name": "m",
            "probe": ["a"] * 5 + ["b"] * 2 + ["c"] * 3,
            "observed": [0.1] * 9 + [np.nan],
            "predicted": 0.2,
        }
    )
    kept, short = enough_pairs(pairs, ["name", "probe"], 3)
    assert set(kept["probe"]) == {"a"}
    assert short.set_index("probe")["n"].to_dict() == {"b": 2, "c": 2}


def test_an_unknown_matching_is_refused():
    check_matching(MatchingSettings("sentinel1", 1.0, 10))
    with pytest.raises(ConfigError, match="validate.matching"):
        check_matching(MatchingSettings("hourly", 1.0, 10))
