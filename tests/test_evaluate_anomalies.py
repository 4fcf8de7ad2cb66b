"""Anomalies against a moving average or, for long records, a climatology (pytesmo)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soilsat.evaluate.anomalies import CLIMATOLOGY, MOVING_AVERAGE, AnomalySettings, anomalies, method, record_years

SETTINGS = AnomalySettings(window_days=35, climatology_min_years=3)


def test_a_short_record_takes_the_35_day_moving_average():
    days = pd.date_range("2020-04-01", periods=120, freq="D")
    trend = pd.Series(0.2 + 0.001 * np.arange(120), index=days)  # a straight line is its own moving average
    assert method(trend, SETTINGS) == MOVING_AVERAGE
    middle = anomalies(trend, SETTINGS).iloc[20:100]
    assert np.abs(middle).max() < 1e-9
    spike = trend.copy()
    spike.iloc[60] += 0.1
    assert anomalies(spike, SETTINGS).iloc[60] == pytest.approx(0.1 * 34 / 35)  # box of 35 days


def test_a_long_record_takes_its_climatology():
    days = pd.date_range("2014-01-01", "2019-12-31", freq="D")
    season = 0.25 + 0.1 * np.sin(2 * np.pi * days.day_of_year / 365.25)
    noise = np.random.default_rng(0).normal(0, 0.01, len(days))
    series = pd.Series(season + noise, index=days)
    assert record_years(series) > 5 and method(series, SETTINGS) == CLIMATOLOGY
    result = anomalies(series, SETTINGS)
    assert result.std() == pytest.approx(0.01, rel=0.25)  # the seasonal cycle is gone, the noise stays


def test_gaps_stay_gaps_and_an_empty_series_gives_nan():
    days = pd.date_range("2020-04-01", periods=60, freq="D")
    series = pd.Series(np.linspace(0.1, 0.3, 60), index=days)
    series.iloc[[5, 30]] = np.nan
    result = anomalies(series, SETTINGS)
    assert result.index.equals(series.index) and result.isna().sum() == 2
    assert anomalies(pd.Series(np.nan, index=days), SETTINGS).isna().all()
