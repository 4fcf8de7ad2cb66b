"""Spectral indices of Sentinel-2 reflectance and the bare-soil rule of Tziolas et al. (2020).

All functions take reflectance arrays (0..1, any shape, broadcastable) and return float32;
a normalised difference is NaN where both inputs sum to zero or either is NaN.
"""

from __future__ import annotations

import numpy as np


def normalized_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b), NaN where a + b is zero."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    s = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s != 0, (a - b) / s, np.nan).astype(np.float32)


def ndvi(nir: np.ndarray, red: np.ndarray) -> np.ndarray:
    """Normalised difference vegetation index (NIR - red) / (NIR + red); S2: B8A (or B08) and B04."""
    return normalized_difference(nir, red)


def ndwi(nir: np.ndarray, swir: np.ndarray) -> np.ndarray:
    """Normalised difference water index (NIR - SWIR) / (NIR + SWIR).

    Simonsen (2021) uses B8A and B12; Gao's (1996) NDWI is the same with B11 as `swir`.
    """
    return normalized_difference(nir, swir)


def nbr2(swir1: np.ndarray, swir2: np.ndarray) -> np.ndarray:
    """Normalised burn ratio 2 (SWIR1 - SWIR2) / (SWIR1 + SWIR2); S2: B11 and B12."""
    return normalized_difference(swir1, swir2)


def evi(
    nir: np.ndarray, red: np.ndarray, blue: np.ndarray, G: float = 2.5, C1: float = 6.0, C2: float = 7.5, L: float = 1.0
) -> np.ndarray:
    """Enhanced vegetation index G (NIR - red) / (NIR + C1 red - C2 blue + L); NaN at a zero denominator."""
    nir = np.asarray(nir, dtype=np.float32)
    red = np.asarray(red, dtype=np.float32)
    blue = np.asarray(blue, dtype=np.float32)
    den = nir + C1 * red - C2 * blue + L
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, G * (nir - red) / den, np.nan).astype(np.float32)


def bare_soil_mask(
    ndvi: np.ndarray,
    nbr2: np.ndarray,
    b2: np.ndarray,
    b3: np.ndarray,
    b4: np.ndarray,
    ndvi_max: float = 0.25,
    nbr2_max: float = 0.075,
) -> np.ndarray:
    """Tziolas (2020) bare soil: NDVI < ndvi_max, NBR2 < nbr2_max, B3 > B2 and B4 > B3 (False on NaN)."""
    with np.errstate(invalid="ignore"):
        return (
            (np.asarray(ndvi) < ndvi_max)
            & (np.asarray(nbr2) < nbr2_max)
            & (np.asarray(b3) > np.asarray(b2))
            & (np.asarray(b4) > np.asarray(b3))
        )
