"""SMAP's time stamps: seconds since noon on 1 January 2000 UTC (the products' tb_time_seconds)."""

from __future__ import annotations

import numpy as np
import pandas as pd

EPOCH = pd.Timestamp("2000-01-01T12:00:00")


def to_datetime(seconds: np.ndarray) -> np.ndarray:
    """datetime64[ns] of SMAP seconds (NaN -> NaT)."""
    seconds = np.asarray(seconds, dtype=np.float64)
    ns = np.where(np.isfinite(seconds), np.round(seconds * 1e9), 0).astype("int64")
    out = EPOCH.to_datetime64() + ns.astype("timedelta64[ns]")
    return np.where(np.isfinite(seconds), out, np.datetime64("NaT"))


def to_seconds(when: pd.Timestamp | np.ndarray) -> np.ndarray:
    """SMAP seconds of UTC instants (tz-naive)."""
    delta = pd.to_datetime(np.atleast_1d(when)) - EPOCH
    return np.asarray(delta.total_seconds(), dtype=np.float64).reshape(np.shape(when))
