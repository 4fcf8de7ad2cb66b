"""Sentinel-2 reflectance of the demo world: surface mixture, atmosphere, clouds, shadows, snow.

Surface (BOA) reflectance of every pixel is a linear mixture of a soil and a green
vegetation endmember weighted by the vegetation cover; the soil darkens with moisture
(most in the SWIR) and with organic carbon, and clay deepens the 2200 nm absorption so
B12 drops relative to B11. Water is dark. Top-of-atmosphere (TOA) reflectance adds a path
radiance (strongest in the blue) to the transmitted surface signal. Clouds, their shadows
and winter snow come from smooth random fields, reproducible per region and date.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import ndimage

from soilsat.optical.indices import normalized_difference

# The 13 MSI bands, in ESA's band_id order (0..12).
BANDS: tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
BAND_INDEX = {b: i for i, b in enumerate(BANDS)}
# Native resolution (m) of each band.
RESOLUTION = {
    "B01": 60,
    "B02": 10,
    "B03": 10,
    "B04": 10,
    "B05": 20,
    "B06": 20,
    "B07": 20,
    "B08": 10,
    "B8A": 20,
    "B09": 60,
    "B10": 60,
    "B11": 20,
    "B12": 20,
}
# Central wavelength and bandwidth (nm) of Sentinel-2A's bands.
WAVELENGTH = {
    "B01": (442.7, 21),
    "B02": (492.4, 66),
    "B03": (559.8, 36),
    "B04": (664.6, 31),
    "B05": (704.1, 15),
    "B06": (740.5, 15),
    "B07": (782.8, 20),
    "B08": (832.8, 106),
    "B8A": (864.7, 21),
    "B09": (945.1, 20),
    "B10": (1373.5, 31),
    "B11": (1613.7, 91),
    "B12": (2202.4, 175),
}
# Exo-atmospheric solar irradiance (W m-2 um-1) per band, as in the L1C metadata.
SOLAR_IRRADIANCE = {
    "B01": 1884.69,
    "B02": 1959.66,
    "B03": 1823.24,
    "B04": 1512.06,
    "B05": 1424.64,
    "B06": 1287.61,
    "B07": 1162.08,
    "B08": 1041.63,
    "B8A": 955.32,
    "B09": 812.92,
    "B10": 367.15,
    "B11": 245.59,
    "B12": 85.25,
}

# Endmember spectra (reflectance, BOA), in BANDS order.
DRY_SOIL = np.array([0.09, 0.11, 0.15, 0.21, 0.235, 0.25, 0.26, 0.265, 0.27, 0.275, 0.0, 0.33, 0.32], dtype=np.float32)
VEGETATION = np.array([0.03, 0.035, 0.08, 0.04, 0.12, 0.32, 0.42, 0.46, 0.47, 0.45, 0.0, 0.22, 0.10], dtype=np.float32)
WATER = np.array(
    [0.06, 0.055, 0.045, 0.03, 0.02, 0.012, 0.01, 0.008, 0.007, 0.005, 0.0, 0.003, 0.002], dtype=np.float32
)
SNOW = np.array([0.92, 0.93, 0.92, 0.90, 0.88, 0.86, 0.84, 0.82, 0.80, 0.70, 0.0, 0.10, 0.06], dtype=np.float32)
CLOUD = np.array([0.62, 0.64, 0.65, 0.66, 0.66, 0.66, 0.65, 0.65, 0.64, 0.55, 0.30, 0.48, 0.38], dtype=np.float32)
# Soil darkening per unit volumetric moisture: exp(-k * sm); strongest in the SWIR.
MOISTURE_K = np.array([1.0, 1.0, 1.0, 1.0, 1.05, 1.1, 1.1, 1.1, 1.1, 1.2, 1.0, 1.55, 1.6], dtype=np.float32)
# Fractional B12 loss per % clay (the Al-OH absorption near 2200 nm).
CLAY_B12 = 0.0018
# Fractional loss of soil brightness per g/kg organic carbon (all bands).
SOC_DARKENING = 0.004
# Atmosphere: path reflectance and total transmission per band (a clear, rural atmosphere).
PATH = np.array([0.10, 0.08, 0.05, 0.03, 0.025, 0.02, 0.018, 0.015, 0.014, 0.01, 0.002, 0.004, 0.002], dtype=np.float32)
TRANSMISSION = np.array(
    [0.80, 0.84, 0.88, 0.91, 0.92, 0.93, 0.94, 0.95, 0.95, 0.60, 0.05, 0.96, 0.95], dtype=np.float32
)
# Fraction of the surface signal left in a cloud shadow (diffuse light only).
SHADOW_FACTOR = 0.35


@dataclasses.dataclass
class Scene:
    """One acquisition over one tile: reflectances (13, y, x) and the truth masks (y, x)."""

    boa: np.ndarray
    toa: np.ndarray
    surface: np.ndarray
    cloud: np.ndarray
    cloud_probability: np.ndarray
    shadow: np.ndarray
    snow: np.ndarray
    snow_probability: np.ndarray


def surface_reflectance(
    fcover: np.ndarray, sm: np.ndarray, clay: np.ndarray, soc: np.ndarray, water: np.ndarray
) -> np.ndarray:
    """Noise-free BOA reflectance (13, y, x) of a soil/vegetation mixture, water dark."""
    sm = np.clip(np.asarray(sm, dtype=np.float32), 0.0, 0.6)
    f = np.clip(np.asarray(fcover, dtype=np.float32), 0.0, 1.0)
    soc_factor = np.clip(1.0 - np.float32(SOC_DARKENING) * np.asarray(soc, dtype=np.float32), 0.5, 1.0)
    clay_factor = np.clip(1.0 - np.float32(CLAY_B12) * np.asarray(clay, dtype=np.float32), 0.6, 1.0)
    water = np.asarray(water, dtype=bool)
    out = np.empty((len(BANDS),) + sm.shape, dtype=np.float32)
    for i in range(len(BANDS)):
        soil = DRY_SOIL[i] * np.exp(-MOISTURE_K[i] * sm) * soc_factor
        if i == BAND_INDEX["B12"]:
            soil *= clay_factor
        out[i] = (1.0 - f) * soil + f * VEGETATION[i]
        out[i][water] = WATER[i]
    return out


def top_of_atmosphere(boa: np.ndarray) -> np.ndarray:
    """TOA reflectance from BOA by a path reflectance plus transmitted surface signal."""
    return (PATH[:, None, None] + TRANSMISSION[:, None, None] * boa).astype(np.float32)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> np.ndarray:
    """A unit-variance Gaussian random field of the given correlation length (pixels)."""
    coarse = (max(4, shape[0] // 4 + 2), max(4, shape[1] // 4 + 2))
    field = ndimage.gaussian_filter(rng.standard_normal(coarse), scale_px / 4.0, mode="wrap")
    field = ndimage.zoom(field, 4, order=1)[: shape[0], : shape[1]]
    return (field - field.mean()) / (field.std() + 1e-12)


def product_cloud_fraction(rng: np.random.Generator, mean: float) -> float:
    """A per-product cloud fraction: U-shaped Beta draw with the requested mean."""
    mean = float(np.clip(mean, 0.0, 1.0))
    if mean <= 0.0 or mean >= 1.0:
        return mean
    k = 0.9  # low concentration: many nearly clear and many nearly overcast scenes
    return float(rng.beta(mean * k, (1.0 - mean) * k))


def snow_fraction(climate: str, day: pd.Timestamp, tmean: float) -> float:
    """Snow-covered share of the tile: only in humid and boreal winters on cold days."""
    winter = {"humid": (11, 12, 1, 2, 3), "boreal": (10, 11, 12, 1, 2, 3, 4)}
    if day.month not in winter.get(climate, ()):
        return 0.0
    return float(np.clip((1.0 - tmean) / 4.0, 0.0, 0.9))


def make_scene(
    surface: np.ndarray,
    water: np.ndarray,
    rng: np.random.Generator,
    cloud_fraction: float,
    snow_cover: float,
    shadow_shift_px: tuple[int, int] = (-25, -15),
) -> Scene:
    """Add clouds, cloud shadows and snow to a surface; return BOA, TOA and truth masks."""
    shape = surface.shape[1:]
    frac = product_cloud_fraction(rng, cloud_fraction)
    field = smooth_noise(rng, shape, 60.0)
    if frac <= 0.0:
        thr = np.inf
    elif frac >= 1.0:
        thr = -np.inf
    else:
        thr = float(np.quantile(field, 1.0 - frac))
    field = field.astype(np.float32)
    alpha = np.clip((field - thr) / 0.5, 0.0, 1.0).astype(np.float32)
    cloud = field > thr
    below = np.clip(thr - field, 0.0, None)
    prob = np.where(cloud, 40.0 + 60.0 * np.sqrt(alpha), 30.0 * np.exp(-below / 0.25))
    prob = np.clip(np.round(prob), 0, 100).astype(np.uint8)
    # Shadows: the cloud opacity cast away from the sun (towards north-west), off-cloud.
    dy, dx = shadow_shift_px
    shade = ndimage.shift(alpha, (dy, dx), order=0, mode="constant", cval=0.0)
    shadow = (shade > 0.0) & ~cloud
    # Snow: a smoother field thresholded to the day's snow cover, never on open water.
    snow = np.zeros(shape, dtype=bool)
    if snow_cover > 0.0:
        sfield = smooth_noise(rng, shape, 40.0)
        snow = (sfield < np.quantile(sfield, snow_cover)) & ~np.asarray(water, dtype=bool)
    dark = np.where(shadow, 1.0 - (1.0 - SHADOW_FACTOR) * np.minimum(shade * 2, 1.0), 1.0).astype(np.float32)
    clear = 1.0 - alpha
    boa = np.empty_like(surface)
    toa = np.empty_like(surface)
    for i in range(len(BANDS)):
        ground = np.where(snow, SNOW[i], surface[i]) * dark
        boa[i] = clear * ground + alpha * CLOUD[i]
        toa[i] = clear * (PATH[i] + TRANSMISSION[i] * ground) + alpha * CLOUD[i]
    boa[BAND_INDEX["B10"]] = 0.0
    snow_prob = np.where(snow & ~cloud, 100, 0).astype(np.uint8)
    return Scene(
        boa=boa,
        toa=toa,
        surface=surface,
        cloud=cloud,
        cloud_probability=prob,
        shadow=shadow,
        snow=snow & ~cloud,
        snow_probability=snow_prob,
    )


def truth_indices(surface: np.ndarray) -> dict[str, np.ndarray]:
    """NDVI (B8A/B4), NDWI (B8A/B12), NBR2 (B11/B12) and the bare-soil rule from BOA."""
    b = {name: surface[i] for i, name in enumerate(BANDS)}
    ndvi = normalized_difference(b["B8A"], b["B04"])
    ndwi = normalized_difference(b["B8A"], b["B12"])
    nbr2 = normalized_difference(b["B11"], b["B12"])
    bare = (ndvi < 0.25) & (nbr2 < 0.075) & (b["B03"] > b["B02"]) & (b["B04"] > b["B03"])
    return {"ndvi_true": ndvi, "ndwi_true": ndwi, "nbr2_true": nbr2, "bare_true": bare.astype(np.float32)}
