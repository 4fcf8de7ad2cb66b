"""Regular latitude/longitude grids of cell centres: cell extents, windows over bounds, cells of points."""

from __future__ import annotations

import numpy as np


def extent(lat: np.ndarray, lon: np.ndarray, cell: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the cells whose centres are `lat` x `lon`, `cell` degrees wide."""
    half = cell / 2.0
    return (float(np.min(lon)) - half, float(np.min(lat)) - half, float(np.max(lon)) + half, float(np.max(lat)) + half)


def window(centres: np.ndarray, low: float, high: float, cell: float) -> slice:
    """The slice of the cells whose extent overlaps [low, high]; an empty slice when none does."""
    centres = np.asarray(centres, dtype=float)
    half = cell / 2.0
    inside = np.flatnonzero((centres + half > low) & (centres - half < high))
    if inside.size == 0:
        return slice(0, 0)
    return slice(int(inside[0]), int(inside[-1]) + 1)


def cell_index(centres: np.ndarray, values: np.ndarray, cell: float, descending: bool = False) -> np.ndarray:
    """Index of the cell containing each value, -1 outside the grid (`descending` orders a one-cell axis)."""
    centres = np.asarray(centres, dtype=float)
    values = np.asarray(values, dtype=float)
    if len(centres) > 1:
        step = cell if centres[-1] > centres[0] else -cell
    else:
        step = -cell if descending else cell
    with np.errstate(invalid="ignore"):
        index = np.floor((values - (centres[0] - step / 2.0)) / step)
    inside = np.isfinite(index) & (index >= 0) & (index < len(centres))
    return np.where(inside, index, -1).astype(int)
