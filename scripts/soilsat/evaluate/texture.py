"""USDA soil texture classes from sand, silt and clay percentages (the texture triangle's boundaries)."""

from __future__ import annotations

import numpy as np

UNKNOWN = "unknown"


def texture_class(sand: float, silt: float, clay: float) -> str:
    """The USDA texture class of one soil; 'unknown' where a fraction is missing or they sum to nothing."""
    values = np.array([sand, silt, clay], dtype=float)
    if not np.isfinite(values).all() or values.sum() <= 0:
        return UNKNOWN
    sand, silt, clay = 100.0 * values / values.sum()
    if silt + 1.5 * clay < 15:
        return "sand"
    if silt + 2 * clay < 30:
        return "loamy sand"
    if clay >= 40:
        if silt >= 40:
            return "silty clay"
        return "clay" if sand <= 45 else "sandy clay"
    if clay >= 35 and sand > 45:
        return "sandy clay"
    if clay >= 27:
        return "silty clay loam" if sand <= 20 else ("clay loam" if sand <= 45 else "sandy clay loam")
    if clay >= 20 and silt < 28 and sand > 45:
        return "sandy clay loam"
    if silt >= 80 and clay < 12:
        return "silt"
    if silt >= 50:
        return "silt loam"
    if clay >= 7 and silt >= 28 and sand <= 52:
        return "loam"
    return "sandy loam"


def texture_classes(sand: np.ndarray, silt: np.ndarray, clay: np.ndarray) -> np.ndarray:
    """The USDA texture class of each soil."""
    return np.array([texture_class(a, b, c) for a, b, c in zip(sand, silt, clay)], dtype=object).astype(str)
