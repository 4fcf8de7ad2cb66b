"""The demo's coarse soil-moisture product: L-band brightness temperatures and a retrieval, from the truth.

Stands in for the SMAP radiometer and its soil-moisture product that Tsagkatakis et al. (2021) fuse
with Sentinel-1. Brightness temperatures follow the tau-omega model over a rough soil whose
permittivity comes from the truth's soil moisture (Topp et al. 1980). Like a real radiometer product
it does not see the truth of its own pixel alone, nor see it right:

- footprint: each pixel is a Gaussian-weighted mean of the truth (an antenna pattern) centred on the
  pixel, of full width at half maximum `footprint_fwhm_px` product pixels (SMAP's 39 x 47 km footprint
  on its 36 km grid: about 1.2; the demo default 1.5). Neighbouring pixels then share truth: for a truth
  without spatial correlation their correlation is exp(-d^2 / (4 sigma^2)) at a distance d, 0.54 for
  adjacent pixels at FWHM 1.5. The pattern is cut at the region's edge and renormalised there (the
  truth ends at the grid). FWHM 0 gives the plain block mean of the pixel.
- bias: an additive offset, m3/m3 (default a dry -0.03): radiometer retrievals read drier than
  probes at 5 cm, the emitting layer being thinner and drying faster, and errors in the soil
  temperature and roughness parameters shift a retrieval by a near-constant amount.
- seasonal error: a yearly cycle of amplitude `seasonal_error`, driest at the vegetation peak
  (mid-July), wettest in mid-January: the vegetation optical depth from a climatology lags and
  damps the real canopy.
- random error: white noise of `retrieval_sd` per pixel and day, as SMAP's 0.04 m3/m3 target.

The retrieval is clipped to 0.02-0.6 m3/m3. The brightness temperatures see the same footprint and
carry `radiometer_noise_k` of white noise, without bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.cf_netcdf import CONVENTIONS
from soilsat.grid import cf_grid_mapping
from soilsat.settings import Settings

# Topp et al. (1980): volumetric water content (m3/m3) as a cubic in the apparent relative permittivity.
TOPP_COEFFICIENTS = (-5.3e-2, 2.92e-2, -5.5e-4, 4.3e-6)
SMAP_INCIDENCE_DEG = 40.0
VEGETATION_PEAK_DOY = 196  # mid-July, the demo world's vegetation peak
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


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


def block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    """Means of `factor` x `factor` blocks over the last two axes; rows and columns past the whole blocks dropped."""
    ny, nx = values.shape[-2] // factor, values.shape[-1] // factor
    cropped = values[..., : ny * factor, : nx * factor]
    return cropped.reshape(*values.shape[:-2], ny, factor, nx, factor).mean(axis=(-3, -1))


def footprint_weights(n_fine: int, factor: int, fwhm_px: float) -> np.ndarray:
    """Weights (coarse, fine) along one axis of the fine pixels in each whole block's footprint; rows sum to 1.

    A Gaussian of `fwhm_px` coarse pixels centred on the block, cut at the grid's ends; 0 gives the block mean.
    """
    count = n_fine // factor
    fine = np.arange(n_fine) + 0.5
    centres = (np.arange(count) + 0.5) * factor
    if fwhm_px == 0:
        weights = (np.abs(fine[None, :] - centres[:, None]) < factor / 2).astype(np.float64)
    else:
        sigma = fwhm_px * factor / FWHM_PER_SIGMA
        weights = np.exp(-0.5 * ((fine[None, :] - centres[:, None]) / sigma) ** 2)
    return weights / weights.sum(axis=1, keepdims=True)


def footprint_mean(values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A separable footprint's weighted mean of a (y, x) field: one value per coarse pixel."""
    return rows @ values @ cols.T


def seasonal_offset(days: pd.DatetimeIndex, amplitude: float) -> np.ndarray:
    """The seasonal retrieval error (m3/m3) of each day: -amplitude at the vegetation peak, +amplitude in winter."""
    phase = 2.0 * np.pi * (days.day_of_year.to_numpy() - VEGETATION_PEAK_DOY) / 365.25
    return -amplitude * np.cos(phase)


@dataclass(frozen=True)
class CoarseProductSettings(Settings):
    """Resolution and errors of the coarse product (config demo.coarse_product)."""

    resolution_m: float
    retrieval_sd: float
    radiometer_noise_k: float
    footprint_fwhm_px: float
    bias: float
    seasonal_error: float


def coarse_product(truth: xr.Dataset, settings: CoarseProductSettings, seed: int) -> xr.Dataset:
    """Daily brightness temperatures and soil-moisture retrieval of one region on the settings' coarse grid."""
    native = float(abs(truth["x"].values[1] - truth["x"].values[0]))
    factor = int(round(settings.resolution_m / native))
    if factor < 1 or abs(factor * native - settings.resolution_m) > 1e-6 * settings.resolution_m:
        raise ValueError(
            f"coarse product resolution {settings.resolution_m} m is not a whole multiple of the "
            f"{native:g} m study grid"
        )
    if min(truth.sizes["y"], truth.sizes["x"]) < factor:
        raise ValueError(f"coarse product resolution {settings.resolution_m} m is larger than the region's grid")
    if settings.footprint_fwhm_px < 0:
        raise ValueError(f"coarse product footprint FWHM {settings.footprint_fwhm_px:g} is negative")
    rng = np.random.default_rng(seed)
    noise_k = settings.radiometer_noise_k
    parcel = truth["parcel"].values
    days = pd.DatetimeIndex(truth["time"].values)
    rows = footprint_weights(truth.sizes["y"], factor, settings.footprint_fwhm_px)
    cols = footprint_weights(truth.sizes["x"], factor, settings.footprint_fwhm_px)
    systematic = settings.bias + seasonal_offset(days, settings.seasonal_error)
    fields = {name: [] for name in ("tb_h", "tb_v", "sm")}
    for i in range(len(days)):
        sm = truth["sm"].values[i].astype(np.float64)
        fcover = truth["parcel_fcover"].values[i][parcel]
        tb_h, tb_v = brightness_temperatures(sm, float(truth["tmean"].values[i]) + 273.15, fcover)
        coarse_sm = footprint_mean(sm, rows, cols)
        shape = coarse_sm.shape
        fields["tb_h"].append(footprint_mean(tb_h, rows, cols) + rng.normal(0.0, noise_k, shape))
        fields["tb_v"].append(footprint_mean(tb_v, rows, cols) + rng.normal(0.0, noise_k, shape))
        retrieval = coarse_sm + systematic[i] + rng.normal(0.0, settings.retrieval_sd, shape)
        fields["sm"].append(np.clip(retrieval, 0.02, 0.6))
    x = _block_centres(truth["x"].values, factor)
    y = _block_centres(truth["y"].values, factor)
    attrs = {
        "tb_h": {"units": "K", "long_name": "L-band brightness temperature, horizontal polarisation, 40 deg incidence"},
        "tb_v": {"units": "K", "long_name": "L-band brightness temperature, vertical polarisation, 40 deg incidence"},
        "sm": {"units": "m3 m-3", "long_name": "coarse surface soil-moisture retrieval"},
    }
    dataset = xr.Dataset(
        {
            name: (
                ("time", "y", "x"),
                np.stack(values).astype(np.float32),
                attrs[name] | {"grid_mapping": "spatial_ref"},
            )
            for name, values in fields.items()
        },
        coords={
            "time": days,
            "y": (
                "y",
                y,
                {
                    "units": "m",
                    "standard_name": "projection_y_coordinate",
                    "axis": "Y",
                    "long_name": "footprint centre northing",
                },
            ),
            "x": (
                "x",
                x,
                {
                    "units": "m",
                    "standard_name": "projection_x_coordinate",
                    "axis": "X",
                    "long_name": "footprint centre easting",
                },
            ),
        },
        attrs={
            "title": f"soilsat demo coarse soil-moisture product, region {truth.attrs.get('region', '')}",
            "Conventions": CONVENTIONS,
            "history": "generated by the soilsat demo world from its truth",
            "crs": truth.attrs["crs"],
            "resolution_m": float(settings.resolution_m),
            "comment": "Synthetic stand-in for a radiometer product: tau-omega brightness temperatures and a "
            f"retrieval over a Gaussian footprint of FWHM {settings.footprint_fwhm_px:g} pixels, with a "
            f"bias of {settings.bias:g} m3/m3, a seasonal error of amplitude "
            f"{settings.seasonal_error:g} m3/m3 and {settings.retrieval_sd:g} m3/m3 random error, all "
            "from the demo truth",
        },
    )
    dataset["spatial_ref"] = xr.DataArray(np.int32(0), attrs=cf_grid_mapping(truth.attrs["crs"]))
    return dataset


def _block_centres(centres: np.ndarray, factor: int) -> np.ndarray:
    """Centre coordinate of each whole block of `factor` pixel centres."""
    count = len(centres) // factor
    return centres[: count * factor].reshape(count, factor).mean(axis=1)
