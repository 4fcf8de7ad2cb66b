"""L-band brightness temperatures of the demo world's truth, as the SMAP radiometer sees them.

The tau-omega model over a rough soil whose permittivity comes from the truth's soil moisture (Topp et al.
1980), under vegetation of the truth's cover: the demo SMAP products (soilsat.demo.smap) average it over their
EASE-Grid 2.0 cells.
"""

from __future__ import annotations

import numpy as np

# Topp et al. (1980): volumetric water content (m3/m3) as a cubic in the apparent relative permittivity.
TOPP_COEFFICIENTS = (-5.3e-2, 2.92e-2, -5.5e-4, 4.3e-6)
SMAP_INCIDENCE_DEG = 40.0


def topp_permittivity(soil_moisture: np.ndarray) -> np.ndarray:
    """Relative permittivity of a soil at a volumetric water content, by inverting Topp's cubic."""
    permittivity = np.linspace(1.0, 40.0, 3901)
    water = np.polynomial.polynomial.polyval(permittivity, TOPP_COEFFICIENTS)
    return np.interp(soil_moisture, water, permittivity)


def fresnel_emissivity(permittivity: np.ndarray, incidence_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical emissivity of a smooth surface of real relative permittivity."""
    cos_i = np.cos(np.radians(incidence_deg))
    root = np.sqrt(permittivity - np.sin(np.radians(incidence_deg)) ** 2)
    r_h = ((cos_i - root) / (cos_i + root)) ** 2
    r_v = ((permittivity * cos_i - root) / (permittivity * cos_i + root)) ** 2
    return 1.0 - r_h, 1.0 - r_v


def brightness_temperatures(
    soil_moisture: np.ndarray,
    temperature_k: float,
    fcover: np.ndarray,
    tau_full_cover: float = 0.5,
    albedo: float = 0.05,
    roughness_h: float = 0.2,
    incidence_deg: float = SMAP_INCIDENCE_DEG,
) -> tuple[np.ndarray, np.ndarray]:
    """H and V brightness temperatures (K) of rough soil under vegetation of a cover fraction (tau-omega model)."""
    cos_i = np.cos(np.radians(incidence_deg))
    transmissivity = np.exp(-tau_full_cover * fcover / cos_i)
    # Surface roughness scales the smooth reflectivity by exp(-h cos^2) (Choudhury et al. 1979).
    rough = np.exp(-roughness_h * cos_i**2)
    out = []
    for smooth in fresnel_emissivity(topp_permittivity(soil_moisture), incidence_deg):
        emissivity = 1.0 - (1.0 - smooth) * rough
        canopy = (1.0 - albedo) * (1.0 - transmissivity) * (1.0 + (1.0 - emissivity) * transmissivity)
        out.append(temperature_k * (emissivity * transmissivity + canopy))
    return out[0], out[1]
