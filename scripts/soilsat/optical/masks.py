"""Clear-sky masks of Sentinel-2 L2A products: SCL classes, cloud/snow probabilities, dilation, AOI fraction.

A pixel is valid when its scene class is not listed as invalid and its cloud and snow
probabilities are below the configured limits (Simonsen 2021: 90 %). Invalid pixels can be
grown by a disk of a few pixels to catch the soft edges of clouds and shadows.
"""

from __future__ import annotations

import numpy as np

from soilsat.grid import StudyGrid

# Sen2Cor's scene classes (SCL values).
SCL_CLASSES = {
    0: "no data",
    1: "saturated or defective",
    2: "cast shadows",
    3: "cloud shadows",
    4: "vegetation",
    5: "not vegetated",
    6: "water",
    7: "unclassified",
    8: "cloud medium probability",
    9: "cloud high probability",
    10: "thin cirrus",
    11: "snow or ice",
}


def clear_mask(
    scl: np.ndarray,
    cloud_probability: np.ndarray | None,
    snow_probability: np.ndarray | None,
    scl_invalid: tuple[int, ...] = (0, 1, 3, 8, 9, 10, 11),
    cloud_probability_max: float = 90,
    snow_probability_max: float = 90,
) -> np.ndarray:
    """True where SCL is not in `scl_invalid` and cloud/snow probabilities (%, None: absent) are below their limits."""
    valid = ~np.isin(np.asarray(scl), np.asarray(scl_invalid, dtype=np.int64))
    if cloud_probability is not None:
        valid &= np.asarray(cloud_probability) < cloud_probability_max
    if snow_probability is not None:
        valid &= np.asarray(snow_probability) < snow_probability_max
    return valid


def disk(radius: int) -> np.ndarray:
    """A boolean disk structuring element of the given radius in pixels (radius 0: one pixel)."""
    r = int(radius)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return (yy * yy + xx * xx) <= r * r


def dilate_invalid(valid: np.ndarray, pixels: int) -> np.ndarray:
    """Shrink the valid area: every invalid pixel also invalidates a disk of `pixels` around it."""
    if pixels < 0:
        raise ValueError(f"dilation must be >= 0 pixels, not {pixels}")
    valid = np.asarray(valid, dtype=bool)
    if pixels == 0:
        return valid.copy()
    # scipy's binary dilation is the well-kept tool; border_value=0 keeps the grid edge valid. It is
    # imported here because scipy.ndimage costs a third of a second per job and dilation is off by default.
    from scipy import ndimage

    return ~ndimage.binary_dilation(~valid, structure=disk(pixels), border_value=0)


def aoi_slices(grid: StudyGrid, margin_m: float) -> tuple[slice, slice]:
    """Rows and columns of the region's AOI inside its study grid (the grid without its margin)."""
    m = int(round(margin_m / grid.resolution))
    if m < 0 or 2 * m >= min(grid.height, grid.width):
        raise ValueError(
            f"a margin of {margin_m} m leaves no AOI in the {grid.height} x {grid.width} grid {grid.region}"
        )
    return slice(m, grid.height - m), slice(m, grid.width - m)


def valid_fraction(valid: np.ndarray, grid: StudyGrid, margin_m: float) -> float:
    """The share of valid pixels over the AOI (the study grid without its margin)."""
    rows, cols = aoi_slices(grid, margin_m)
    return float(np.asarray(valid, dtype=bool)[rows, cols].mean())
