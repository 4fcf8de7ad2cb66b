"""C-band backscatter of the demo world: a water-cloud model over a moisture-driven bare-soil term."""

from __future__ import annotations

import numpy as np

# Bare soil, in dB: value at the reference moisture and incidence, slope per m3/m3 and per degree.
SOIL_DB_AT_REFERENCE = {"VV": -20.0, "VH": -27.5}
SOIL_REFERENCE_SM = 0.05
SOIL_DB_PER_SM = 12.0 / 0.35
SOIL_DB_PER_DEG = -0.15
REFERENCE_INCIDENCE = 39.0
# Vegetation layer: A (linear backscatter of a full canopy) and B (attenuation), per polarisation.
VEGETATION_A = {"VV": 0.16, "VH": 0.04}
VEGETATION_B = {"VV": 0.50, "VH": 0.60}
# Calm open water, in dB.
WATER_DB = {"VV": -22.0, "VH": -30.0}


def _pol(pol: str) -> str:
    """The polarisation key, upper case, checked."""
    key = pol.upper()
    if key not in SOIL_DB_AT_REFERENCE:
        raise ValueError(f"unknown polarisation {pol!r}; expected 'VV' or 'VH'")
    return key


def bare_soil_db(sm: np.ndarray, incidence_deg: np.ndarray, pol: str) -> np.ndarray:
    """Bare-soil sigma0 (dB): linear in soil moisture, decreasing with incidence angle."""
    key = _pol(pol)
    sm = np.clip(np.asarray(sm, dtype=np.float64), 0.0, 0.6)
    return (
        SOIL_DB_AT_REFERENCE[key]
        + SOIL_DB_PER_SM * (sm - SOIL_REFERENCE_SM)
        + SOIL_DB_PER_DEG * (np.asarray(incidence_deg, dtype=np.float64) - REFERENCE_INCIDENCE)
    )


def water_cloud(sm: np.ndarray, fcover: np.ndarray, incidence_deg: np.ndarray, pol: str) -> np.ndarray:
    """Linear sigma0 of soil under a vegetation layer of cover fcover (water-cloud model)."""
    key = _pol(pol)
    veg = np.clip(np.asarray(fcover, dtype=np.float64), 0.0, 1.0)
    cos_t = np.cos(np.radians(np.asarray(incidence_deg, dtype=np.float64)))
    tau2 = np.exp(-2.0 * VEGETATION_B[key] * veg / cos_t)
    soil = 10.0 ** (bare_soil_db(sm, incidence_deg, key) / 10.0)
    return VEGETATION_A[key] * veg * cos_t * (1.0 - tau2) + tau2 * soil


def water_sigma0(pol: str) -> float:
    """Linear sigma0 of calm open water."""
    return float(10.0 ** (WATER_DB[_pol(pol)] / 10.0))
