"""Reference: a Sentinel-1 GRD product to calibrated sigma0 on a study grid by the simplest correct chain.

Thermal noise removal and calibration to sigma0 from the annotation LUTs, then geocoding by
the annotation's geolocation grid (see :mod:`soilsat.sar.reference.geolocation_grid`) with
bilinear sampling. The measurement GeoTIFF is read only in the window the grid needs, plus a
small halo, in blocks of lines.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np
import rasterio
import xarray as xr
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from soilsat.errors import ProductError
from soilsat.grid import StudyGrid
from soilsat.sar.calibration import calibrate_window
from soilsat.sar.reference.geolocation_grid import GeolocationModel, grid_to_image, sample_bilinear
from soilsat.sar.safe import PolarisationData, S1Product, open_product
from soilsat.sar.terrain import SAMPLING_HALO

BLOCK_LINES = 1024  # lines calibrated at a time


def image_window(
    line: np.ndarray, pixel: np.ndarray, lines: int, samples: int, halo: int = SAMPLING_HALO
) -> tuple[int, int, int, int] | None:
    """(row0, row1, col0, col1) of the image needed to sample at (line, pixel), or None."""
    inside = (
        np.isfinite(line)
        & np.isfinite(pixel)
        & (line >= -0.5)
        & (line <= lines - 0.5)
        & (pixel >= -0.5)
        & (pixel <= samples - 0.5)
    )
    if not inside.any():
        return None
    r0 = max(int(np.floor(line[inside].min())) - halo, 0)
    r1 = min(int(np.ceil(line[inside].max())) + halo + 1, lines)
    c0 = max(int(np.floor(pixel[inside].min())) - halo, 0)
    c1 = min(int(np.ceil(pixel[inside].max())) + halo + 1, samples)
    return r0, r1, c0, c1


def read_sigma0_window(
    product: S1Product, data: PolarisationData, window: tuple[int, int, int, int], denoise: bool = True
) -> np.ndarray:
    """Linear sigma0 (float32, NaN no-value) of an image window, from the measurement GeoTIFF."""
    path = product.measurement_path(data.polarisation)
    where = product.describe(data.measurement or "")
    ann = data.annotation
    r0, r1, c0, c1 = window
    try:
        with warnings.catch_warnings():
            # GRD measurements are georeferenced by GCPs only; a bare one is fine here too
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(path)
        with src:
            if (src.height, src.width) != (ann.number_of_lines, ann.number_of_samples):
                raise ProductError(
                    where,
                    f"measurement is {src.height} lines x {src.width} samples but the annotation says "
                    f"{ann.number_of_lines} x {ann.number_of_samples}",
                )
            out = np.empty((r1 - r0, c1 - c0), dtype=np.float32)
            for b0 in range(r0, r1, BLOCK_LINES):
                b1 = min(b0 + BLOCK_LINES, r1)
                dn = src.read(1, window=Window(c0, b0, c1 - c0, b1 - b0))
                out[b0 - r0 : b1 - r0] = calibrate_window(data, dn, b0, c0, denoise=denoise)
    except RasterioError as exc:
        raise ProductError(where, f"measurement unreadable ({exc})") from None
    return out


def sigma0_on_grid(
    safe_path: str | os.PathLike,
    grid: StudyGrid,
    polarisations: Sequence[str] = ("VV", "VH"),
    denoise: bool = True,
    dem: np.ndarray | None = None,
) -> xr.Dataset:
    """Calibrated, noise-removed sigma0 of a GRD product on a study grid.

    Returns variables ``sigma0_<POL>`` (linear, float32, NaN outside the swath or on
    no-value), ``incidence_angle`` (degrees, ellipsoid) and ``mask`` (1 valid, 0 not) on
    the grid's y/x pixel-centre coordinates. `dem` (metres, on the grid) refines the
    geometry; without it the annotation's node heights are used.
    """
    if not polarisations:
        raise ValueError("no polarisations requested")
    with open_product(safe_path) as product:
        pols = [p.upper() for p in polarisations]
        datas = [product.polarisation(p) for p in pols]
        ann = datas[0].annotation
        size = (ann.number_of_lines, ann.number_of_samples)
        for d in datas[1:]:
            if (d.annotation.number_of_lines, d.annotation.number_of_samples) != size:
                raise ProductError(product.describe(d.measurement or ""), "polarisations differ in image size")
        model = GeolocationModel.from_annotation(ann, grid.crs)
        line, pixel = grid_to_image(model, grid, heights=dem)
        window = image_window(line, pixel, ann.number_of_lines, ann.number_of_samples)

        variables: dict[str, np.ndarray] = {}
        inside = (
            (line >= -0.5)
            & (line <= ann.number_of_lines - 0.5)
            & (pixel >= -0.5)
            & (pixel <= ann.number_of_samples - 0.5)
        )
        for pol, data in zip(pols, datas):
            if window is None:
                variables[f"sigma0_{pol}"] = np.full(grid.shape, np.nan, dtype=np.float32)
                continue
            image = read_sigma0_window(product, data, window, denoise=denoise)
            variables[f"sigma0_{pol}"] = sample_bilinear(image, line - window[0], pixel - window[2])
        incidence = np.where(inside, model.incidence(line, pixel), np.nan).astype(np.float32)
        mask = inside.copy()
        for v in variables.values():
            mask &= np.isfinite(v)
        m = product.manifest
        attrs = {
            "product": m.name,
            "mission": m.mission,
            "orbit_direction": m.orbit_direction,
            "relative_orbit": m.relative_orbit,
            "absolute_orbit": m.absolute_orbit,
            "sensing_start": m.sensing_start.isoformat(),
            "ipf_version": m.ipf_version,
            "crs": grid.crs,
            "region": grid.region,
            "geocoding": "annotation geolocation grid" + (" + DEM" if dem is not None else " (node heights)"),
        }
    coords = {"y": grid.y_coords(), "x": grid.x_coords()}
    ds = xr.Dataset(
        {
            name: (("y", "x"), arr, {"units": "1", "long_name": f"sigma0 {name[-2:]} (linear)"})
            for name, arr in variables.items()
        },
        coords=coords,
        attrs=attrs,
    )
    ds["incidence_angle"] = (("y", "x"), incidence, {"units": "degree", "long_name": "ellipsoid incidence angle"})
    ds["mask"] = (("y", "x"), mask.astype(np.uint8), {"long_name": "valid (1) or not (0)"})
    return ds
