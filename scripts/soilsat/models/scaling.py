"""Scaling statistics fitted on training samples only, applied to any sample."""

from __future__ import annotations

import warnings

import numpy as np


def standard_stats(values: np.ndarray, axis: tuple[int, ...] | int = 0) -> tuple[np.ndarray, np.ndarray]:
    """NaN-aware mean and standard deviation over `axis`; a zero or undefined spread becomes 1."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=axis)
        std = np.nanstd(values, axis=axis)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    return mean, std


def range_stats(values: np.ndarray) -> tuple[float, float]:
    """Minimum and maximum of the finite training targets."""
    finite = np.asarray(values, dtype=float)[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("no finite training target to scale")
    return float(finite.min()), float(finite.max())


def to_unit_range(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map [low, high] linearly onto [-1, 1] (the tanh output range)."""
    span = high - low if high > low else 1.0
    return 2.0 * (np.asarray(values, dtype=float) - low) / span - 1.0


def from_unit_range(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Inverse of to_unit_range."""
    span = high - low if high > low else 1.0
    return (np.asarray(values, dtype=float) + 1.0) / 2.0 * span + low
