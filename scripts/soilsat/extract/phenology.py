"""Land surface phenology of daily vegetation-index curves, as MODIS MCD12Q2 defines cycle 1 (Zhang et al. 2022,
Table 1), and the daily curves of irregular observations.

On a year's daily curve of each pixel (day, pixel): the amplitude is its maximum minus its minimum; Greenup,
MidGreenup and Maturity are the first days it reaches 15, 50 and 90 % of the amplitude above the minimum
before the peak, Senescence, MidGreendown and Dormancy the last days it does after the peak; EVI_Area is its
sum from Greenup to Dormancy, EVI_Minimum its minimum. A pixel has a cycle (NumCycles 1) when the amplitude
reaches `min_amplitude`, else every metric is missing and NumCycles 0. Dates are day indices of the curve.

A daily curve interpolates a pixel's valid observations linearly (holding the first and last value beyond
them), then takes a centred moving mean of `window_days`; a pixel with fewer than MIN_OBSERVATIONS valid
observations in the year has none.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

DATE_FIELDS = ("Greenup", "MidGreenup", "Maturity", "Peak", "Senescence", "MidGreendown", "Dormancy")
CROSSINGS = (
    ("Greenup", 0.15, "up"),
    ("MidGreenup", 0.5, "up"),
    ("Maturity", 0.9, "up"),
    ("Senescence", 0.9, "down"),
    ("MidGreendown", 0.5, "down"),
    ("Dormancy", 0.15, "down"),
)
MIN_OBSERVATIONS = 3
# Zhang et al. (2022) Table 1 abbreviations of the eleven phenological variables.
ZHANG_NAMES = {
    "Greenup": "greenup",
    "MidGreenup": "mid-greenup",
    "Maturity": "maturity",
    "Peak": "peak",
    "Senescence": "senescence",
    "MidGreendown": "mid-greendown",
    "Dormancy": "dormancy",
    "NumCycles": "num-cycles",
    "EVI_Amplitude": "evi-amplitude",
    "EVI_Area": "evi-area",
    "EVI_Minimum": "evi-minimum",
}


def _first(mask: np.ndarray) -> np.ndarray:
    """Index of the first True along axis 0 (0 where none)."""
    return np.argmax(mask, axis=0)


def _last(mask: np.ndarray) -> np.ndarray:
    """Index of the last True along axis 0."""
    return mask.shape[0] - 1 - np.argmax(mask[::-1], axis=0)


def cycle_metrics(curves: np.ndarray, min_amplitude: float) -> dict[str, np.ndarray]:
    """MCD12Q2 cycle-1 metrics of daily curves (day, pixel): DATE_FIELDS as day indices, EVI_Minimum,
    EVI_Amplitude, EVI_Area and NumCycles; NaN where a pixel has no cycle (or no curve)."""
    has_curve = np.isfinite(curves).all(axis=0)
    filled = np.where(has_curve[None, :], curves, 0.0)
    low, high = filled.min(axis=0), filled.max(axis=0)
    amplitude = high - low
    peak = np.argmax(filled, axis=0)
    index = np.arange(len(curves))[:, None]
    before, after = index <= peak[None, :], index >= peak[None, :]
    days = {"Peak": peak.astype(np.float64)}
    for name, level, side in CROSSINGS:
        above = filled >= (low + level * amplitude)[None, :]
        days[name] = (_first(above & before) if side == "up" else _last(above & after)).astype(np.float64)
    inside = (index >= days["Greenup"][None, :]) & (index <= days["Dormancy"][None, :])
    cycle = has_curve & (amplitude >= min_amplitude)
    metrics = {name: np.where(cycle, days[name], np.nan) for name in DATE_FIELDS}
    metrics |= {
        "EVI_Minimum": np.where(cycle, low, np.nan),
        "EVI_Amplitude": np.where(cycle, amplitude, np.nan),
        "EVI_Area": np.where(cycle, (filled * inside).sum(axis=0), np.nan),
        "NumCycles": np.where(has_curve, cycle.astype(np.float64), np.nan),
    }
    return metrics


def daily_curves(days: np.ndarray, values: np.ndarray, n_days: int, window_days: int) -> np.ndarray:
    """(n_days, pixel) daily curves of observations on day indices `days` (n,) with values (n, pixel)."""
    order = np.argsort(days, kind="stable")
    days, values = np.asarray(days, dtype=np.float64)[order], np.asarray(values, dtype=np.float64)[order]
    n = len(days)
    out = np.full((n_days, values.shape[1]), np.nan)
    valid = np.isfinite(values)
    enough = valid.sum(axis=0) >= MIN_OBSERVATIONS
    if n == 0 or not enough.any():
        return out
    index = np.arange(n)[:, None]
    previous = np.maximum.accumulate(np.where(valid, index, -1), axis=0)  # last valid observation up to k
    following = np.minimum.accumulate(np.where(valid, index, n)[::-1], axis=0)[::-1]  # first valid from k
    grid = np.arange(n_days, dtype=np.float64)
    k_before = np.searchsorted(days, grid, side="right") - 1
    k_after = np.searchsorted(days, grid, side="left")
    before = np.where(k_before[:, None] >= 0, previous[np.clip(k_before, 0, n - 1)], -1)
    after = np.where(k_after[:, None] < n, following[np.clip(k_after, 0, n - 1)], n)
    first_valid, last_valid = following[0], previous[-1]
    before = np.where(before < 0, first_valid[None, :], before)  # hold the first value before it
    after = np.where(after >= n, last_valid[None, :], after)  # and the last after it
    before, after = np.clip(before, 0, n - 1), np.clip(after, 0, n - 1)
    v0 = np.take_along_axis(values, before, axis=0)
    v1 = np.take_along_axis(values, after, axis=0)
    t0, t1 = days[before], days[after]
    weight = np.where(t1 > t0, (grid[:, None] - t0) / np.where(t1 > t0, t1 - t0, 1.0), 0.0)
    curve = v0 + np.clip(weight, 0.0, 1.0) * (v1 - v0)
    smooth = ndimage.uniform_filter1d(curve, size=window_days, axis=0, mode="nearest")
    out[:, enough] = smooth[:, enough]
    return out
