"""Soil-moisture anomalies as QA4SM takes them: against a 35-day moving average, or a climatology where the record
is long enough (pytesmo's calc_anomaly and calc_climatology)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from pytesmo.time_series.anomaly import calc_anomaly, calc_climatology

from soilsat.settings import Settings

MOVING_AVERAGE = "moving_average"
CLIMATOLOGY = "climatology"


@dataclass(frozen=True)
class AnomalySettings(Settings):
    """Moving-average window and the record a climatology needs (config validate.anomalies)."""

    window_days: int
    climatology_min_years: float


def record_years(series: pd.Series) -> float:
    """Years between the first and last valid value of a time-indexed series."""
    valid = series.dropna()
    if valid.empty:
        return 0.0
    return float((valid.index.max() - valid.index.min()) / pd.Timedelta(days=365.25))


def method(series: pd.Series, settings: AnomalySettings) -> str:
    """The anomaly reference a series gets: its climatology when it spans enough years, else a moving average."""
    return CLIMATOLOGY if record_years(series) >= settings.climatology_min_years else MOVING_AVERAGE


def anomalies(series: pd.Series, settings: AnomalySettings) -> pd.Series:
    """The anomalies of a time-indexed series (NaN where it has no value), by the method of `method`."""
    valid = series.dropna().astype(float)
    if valid.empty:
        return series.astype(float) * float("nan")
    if method(series, settings) == CLIMATOLOGY:
        climatology = calc_climatology(valid, moving_avg_clim=settings.window_days)
        result = calc_anomaly(valid, climatology=climatology)
    else:
        result = calc_anomaly(valid, window_size=settings.window_days)
    return pd.Series(result.to_numpy(dtype=float), index=valid.index).reindex(series.index)
