"""Per-station and pooled agreement of matched pairs, on raw values and on anomalies, as QA4SM tabulates it."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from soilsat.evaluate.agreement import COLUMNS, IntervalSettings, agreement
from soilsat.evaluate.anomalies import AnomalySettings, anomalies
from soilsat.evaluate.anomalies import method as anomaly_method

RAW = "raw"
ANOMALY = "anomaly"
POOLED = "all stations"


def key_seed(seed: int, *key: object) -> int:
    """A seed of its own for every table row, stable across runs and orderings."""
    return (seed + zlib.crc32("/".join(str(k) for k in key).encode())) % 2**32


def series_anomalies(table: pd.DataFrame, keys: Sequence[str], column: str, settings: AnomalySettings) -> pd.Series:
    """The anomalies of `column` in each series of the table (one per `keys`, indexed by time), aligned to it."""
    out = pd.Series(np.nan, index=table.index)
    for _, group in table.groupby(list(keys), sort=False):
        series = pd.Series(group[column].to_numpy(float), index=pd.DatetimeIndex(group["time"]))
        out.loc[group.index] = anomalies(series, settings).to_numpy()
    return out


def anomaly_methods(table: pd.DataFrame, keys: Sequence[str], column: str, settings: AnomalySettings) -> pd.DataFrame:
    """The anomaly reference each series of the table gets (keys, anomaly_method)."""
    rows = []
    for key, group in table.groupby(list(keys), sort=True):
        series = pd.Series(group[column].to_numpy(float), index=pd.DatetimeIndex(group["time"]))
        rows.append(
            dict(zip(keys, key if isinstance(key, tuple) else (key,)))
            | {"anomaly_method": anomaly_method(series, settings)}
        )
    return pd.DataFrame(rows, columns=[*keys, "anomaly_method"])


def scored(pairs: pd.DataFrame, keys: Sequence[str], settings: IntervalSettings, seed: int) -> pd.DataFrame:
    """Every metric of agreement.COLUMNS per group of `keys` of a pairs table (observed, predicted)."""
    rows = []
    for key, group in pairs.groupby(list(keys), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        values = agreement(group["observed"].to_numpy(), group["predicted"].to_numpy(), settings, key_seed(seed, *key))
        rows.append(dict(zip(keys, key)) | values)
    return pd.DataFrame(rows, columns=[*keys, *COLUMNS])


def station_and_pooled(pairs: pd.DataFrame, keys: Sequence[str], settings: IntervalSettings, seed: int) -> pd.DataFrame:
    """Scores per station (probe) and over all stations pooled (probe = 'all stations') for each group of keys."""
    stations = scored(pairs, [*keys, "probe"], settings, seed)
    pooled = scored(pairs, list(keys), settings, seed).assign(probe=POOLED)
    return pd.concat([stations, pooled[stations.columns]], ignore_index=True)
