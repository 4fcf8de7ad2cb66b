"""Matching predictions to in-situ values as a study says: daily means, or the probe's hourly value nearest each
Sentinel-1 acquisition within a window (pytesmo's temporal_collocation); stations with too few pairs left out.

The in-situ values follow QA4SM's ISMN filter: the ISMN flag G (good) only, sensors reaching no deeper than
5 cm, and no frozen soil (hours whose soil temperature at the station is at or below 0 degC; the daily
series already lacks days whose maximum is). Sensors of one site (within 10 m) are averaged hour by hour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pytesmo.temporal_matching import temporal_collocation

from soilsat.acquire.ismn import GOOD_FLAG, SOIL_MOISTURE, SOIL_TEMPERATURE, sites_of
from soilsat.errors import ConfigError
from soilsat.settings import Settings

DAILY = "daily"
SENTINEL1 = "sentinel1"
SURFACE_M = 0.05
PAIR_COLUMNS = ["name", "probe", "time", "observed", "predicted"]


@dataclass(frozen=True)
class MatchingSettings(Settings):
    """How predictions meet in-situ values and how many pairs a station needs (config validate)."""

    matching: str
    window_hours: float
    min_pairs: int


def hourly_sites(hourly: pd.DataFrame, probes: pd.DataFrame) -> pd.DataFrame:
    """Hourly site soil moisture (probe = site id, time, observed): good values at 0-5 cm, frozen hours removed.

    `hourly` and `probes` are the tables of soilsat.acquire.ismn.read_ismn.
    """
    sensors = sites_of(probes)
    sensors = sensors[sensors["depth_to"] <= SURFACE_M + 1e-9]
    sm = hourly[(hourly["variable"] == SOIL_MOISTURE) & (hourly["flag"] == GOOD_FLAG)]
    sm = sm.merge(
        sensors[["probe", "sensor", "depth_from", "depth_to", "site"]], on=["probe", "sensor", "depth_from", "depth_to"]
    )
    temperature = hourly[hourly["variable"] == SOIL_TEMPERATURE].groupby(["probe", "time"])["value"].min()
    frozen = temperature[temperature <= 0.0].index
    sm = sm[~pd.MultiIndex.from_frame(sm[["probe", "time"]]).isin(frozen)]
    table = sm.groupby(["site", "time"], as_index=False)["value"].mean()
    return table.rename(columns={"site": "probe", "value": "observed"})[["probe", "time", "observed"]]


def collocate(reference_times: pd.DatetimeIndex, series: pd.Series, window_hours: float) -> pd.Series:
    """The value of a time-indexed series nearest each reference time within the window (NaN where none)."""
    window = pd.Timedelta(hours=window_hours)
    if series.empty:
        return pd.Series(np.nan, index=reference_times)
    matched = temporal_collocation(reference_times, series.sort_index(), window, method="nearest", dropduplicates=True)
    return matched.reindex(reference_times)


def acquisition_pairs(
    observed: pd.DataFrame,
    predicted: pd.DataFrame,
    acquisitions: pd.DataFrame,
    region_of: pd.Series,
    window_hours: float,
) -> pd.DataFrame:
    """Pairs at every Sentinel-1 acquisition (region, time) over a probe: its hourly value nearest within the
    window, and each model's daily prediction of that day. `observed`: probe, time, observed (hourly);
    `predicted`: name, probe, time (day), predicted; `region_of`: each probe's region."""
    frames = []
    for probe, series in observed.groupby("probe"):
        times = pd.DatetimeIndex(
            sorted(acquisitions.loc[acquisitions["region"] == region_of.get(probe), "time"].unique())
        )
        if times.empty:
            continue
        values = collocate(times, series.set_index("time")["observed"], window_hours)
        frames.append(pd.DataFrame({"probe": probe, "time": times, "observed": values.to_numpy(float)}))
    if not frames:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    at_passes = pd.concat(frames, ignore_index=True).dropna(subset=["observed"])
    at_passes["day"] = at_passes["time"].dt.normalize()
    days = predicted.rename(columns={"time": "day"}).assign(day=lambda t: pd.to_datetime(t["day"]).dt.normalize())
    pairs = at_passes.merge(days[["name", "probe", "day", "predicted"]], on=["probe", "day"])
    return pairs[PAIR_COLUMNS].sort_values(["name", "probe", "time"]).reset_index(drop=True)


def check_matching(settings: MatchingSettings) -> None:
    """Refuse an unknown matching, naming the key."""
    if settings.matching not in (DAILY, SENTINEL1):
        raise ConfigError(f"config key validate.matching: {settings.matching!r}, choose {DAILY} or {SENTINEL1}")


def enough_pairs(pairs: pd.DataFrame, keys: list[str], min_pairs: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pairs of the stations with at least min_pairs valid pairs, and a table of those left out (keys, n)."""
    valid = pairs[np.isfinite(pairs["observed"]) & np.isfinite(pairs["predicted"])]
    counts = valid.groupby(keys).size().rename("n").reset_index()
    short = counts[counts["n"] < min_pairs]
    kept = valid.merge(short[keys], on=keys, how="left", indicator=True)
    kept = kept[kept["_merge"] == "left_only"].drop(columns="_merge")
    return kept.reset_index(drop=True), short.reset_index(drop=True)
