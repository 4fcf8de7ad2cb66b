"""The bands of a Sentinel-1 output COG: their names, units and descriptions, and which band holds backscatter.

The first bands hold the backscatter of each polarisation, named after the chain's radiometry
(``sigma0_VV`` or ``gamma0_VV``, linear), then ``incidence_angle``, ``local_incidence_angle`` and
``mask``: this layout is the same whatever the options. With ``sentinel1.ard_layers`` the CEOS-ARD
NRB per-pixel layers follow the mask, named as s1ard names their files (``-np-vv``, ``-lc``,
``-gs``) in soilsat's spelling. The module imports nothing beyond the standard library, so every
stage that reads a Sentinel-1 output can ask it which band to read.
"""

from __future__ import annotations

from collections.abc import Sequence

RADIOMETRIES = ("sigma0", "gamma0")
# CEOS-ARD NRB (Combined SAR 1.0, section 4) per-pixel layers: soilsat's band -> the STAC asset role (ceos-ard / card4l)
ARD_ROLES = {
    "incidence_angle": "ellipsoid-incidence-angle",
    "local_incidence_angle": "local-incidence-angle",
    "mask": "data-mask",
    "scattering_area": "contributing-area",
    "gamma_sigma_ratio": "gamma-sigma-ratio",
    "noise_power": "noise-power",
}


def backscatter_name(radiometry: str, polarisation: str) -> str:
    """The band of one polarisation's backscatter ('gamma0', 'vh' -> 'gamma0_VH')."""
    if radiometry not in RADIOMETRIES:
        raise ValueError(f"unknown radiometry {radiometry!r}; expected one of {RADIOMETRIES}")
    return f"{radiometry}_{polarisation.upper()}"


def backscatter_bands(names: Sequence[str | None], polarisations: Sequence[str]) -> list[str]:
    """The backscatter band of each polarisation among a raster's band names (sigma0_ or gamma0_, whichever it
    has); ValueError when one has neither or both."""
    out = []
    for pol in polarisations:
        found = [backscatter_name(r, pol) for r in RADIOMETRIES if backscatter_name(r, pol) in names]
        if len(found) != 1:
            raise ValueError(f"raster bands {list(names)} hold {len(found)} backscatter bands of {pol.upper()}, not 1")
        out.append(found[0])
    return out


def radiometry_of(names: Sequence[str | None]) -> str:
    """The radiometry of a Sentinel-1 output from its band names (ValueError without a backscatter band)."""
    kinds = {str(n).split("_")[0] for n in names if n and str(n).split("_")[0] in RADIOMETRIES}
    if len(kinds) != 1:
        raise ValueError(f"raster bands {list(names)} are not a Sentinel-1 output of one radiometry")
    return kinds.pop()


def band_attrs(
    polarisations: Sequence[str], radiometry: str = "sigma0", ard_layers: bool = False
) -> dict[str, dict[str, str]]:
    """Each output band's name and attributes (units, long_name, description), in band order; the mask, whose values
    are codes, has no units."""
    attrs: dict[str, dict[str, str]] = {}
    for pol in polarisations:
        name = backscatter_name(radiometry, pol)
        long_name = f"{radiometry} {pol.upper()} (linear)"
        description = (
            f"{pol.upper()} sigma0: the backscatter coefficient normalised by the ellipsoid's area (linear power "
            "ratio), terrain-corrected onto the study grid by the job's SNAP graph"
        )
        if radiometry == "gamma0":
            long_name = f"gamma0 {pol.upper()} (linear, terrain-flattened)"
            description = (
                f"CEOS-ARD NRB backscatter: {pol.upper()} gamma0 (linear power ratio), radiometrically terrain-"
                "flattened by area-based flattening (Small 2011) and terrain-corrected onto the study grid"
            )
        attrs[name] = {"units": "1", "long_name": long_name, "description": description}
    attrs["incidence_angle"] = {
        "units": "degree",
        "long_name": "ellipsoid incidence angle",
        "description": "CEOS-ARD NRB ellipsoid incidence angle image: the angle between the radar line of sight "
        "and the normal of the WGS 84 ellipsoid at the pixel",
    }
    attrs["local_incidence_angle"] = {
        "units": "degree",
        "long_name": "local incidence angle (DEM surface)",
        "description": "CEOS-ARD NRB local incidence angle image: the angle between the radar line of sight and "
        "the normal of the DEM surface at the pixel",
    }
    attrs["mask"] = {
        "long_name": "no data (0), valid (1), layover (2), shadow (3)",
        "description": "CEOS-ARD NRB data mask image (codes, no units): 0 no data, 1 valid, 2 layover, 3 radar "
        "shadow, from the DEM's geometry",
    }
    if ard_layers:
        for pol in polarisations:
            attrs[f"noise_power_{pol.upper()}"] = {
                "units": "1",
                "long_name": f"noise-equivalent sigma0 {pol.upper()} (linear)",
                "description": "CEOS-ARD NRB noise power image: the thermal noise power the chain removed, "
                "calibrated to sigma0 with the same LUT, at the image pixel nearest each grid pixel",
            }
        if radiometry == "gamma0":
            attrs["scattering_area"] = {
                "units": "m2",
                "long_name": "scattering area (local contributing area)",
                "description": "CEOS-ARD NRB scattering area image: the DEM facets' area projected normal to the "
                "look direction (the gamma projection), summed into each image pixel, at the grid pixel",
            }
            attrs["gamma_sigma_ratio"] = {
                "units": "1",
                "long_name": "gamma-to-sigma ratio",
                "description": "CEOS-ARD NRB gamma-to-sigma ratio image: the facets' area in the gamma projection "
                "over their area on the ground, per image pixel; gamma0 times it estimates RTC sigma0",
            }
    return attrs


def ard_role(name: str) -> str | None:
    """The CEOS-ARD asset role of a band (None for backscatter)."""
    return ARD_ROLES.get(name.rsplit("_", 1)[0] if name.startswith("noise_power_") else name)
