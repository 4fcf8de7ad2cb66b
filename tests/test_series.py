"""Series rules on hand-made data with known answers."""

import numpy as np
import pandas as pd

from soilsat.evaluate.metrics import scores
from soilsat.extract.series import consecutive_dry_days, interpolate_within


def test_interpolation_only_within_window():
    days = pd.date_range("2020-01-01", periods=100, freq="D")
    series = pd.Series(np.nan, index=days)
    series.iloc[0] = 0.0
    series.iloc[10] = 1.0
    series.iloc[90] = 0.5
    out = interpolate_within(series, window_days=30)
    assert out.iloc[5] == 0.5  # halfway between the first two observations
    assert out.iloc[40] == np.interp(40, [10, 90], [1.0, 0.5])  # 30 days from day 10
    assert np.isnan(out.iloc[50])  # 40 days from both observations
    assert out.iloc[60] == np.interp(60, [10, 90], [1.0, 0.5])  # 30 days before day 90
    assert np.isnan(out.iloc[95])  # after the last observation: no extrapolation


def test_dry_days_count_and_reset():
    precipitation = np.array([0.0, 0.05, 0.0, 2.0, 0.0, 0.1, 0.0, np.nan, 0.0])
    assert consecutive_dry_days(precipitation).tolist()[:7] == [1, 2, 3, 0, 1, 0, 1]
    out = consecutive_dry_days(precipitation)
    assert np.isnan(out[7]) and out[8] == 1  # a missing day breaks the count


def test_scores_known_values():
    s = scores(np.array([0.1, 0.2, 0.3, np.nan]), np.array([0.2, 0.3, 0.4, 0.5]))
    assert s["n"] == 3
    assert np.isclose(s["mae"], 0.1) and np.isclose(s["bias"], 0.1) and np.isclose(s["rmse"], 0.1)
    assert np.isclose(s["ubrmse"], 0.0, atol=1e-9) and np.isclose(s["r"], 1.0)
