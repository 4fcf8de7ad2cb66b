"""Static covariates on the study grid: terrain, land cover and soil."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
from rasterio.enums import Resampling
from rasterio.warp import reproject

from soilsat.errors import ProductError
from soilsat.grid import StudyGrid

STATIC_BANDS = (
    "elevation",
    "slope",
    "aspect_x",
    "aspect_y",
    "landcover",
    "clay",
    "silt",
    "sand",
    "organic_carbon",
    "base_saturation",
)


def region_file(folder: str | os.PathLike, region: str, suffix: str = ".tif") -> Path:
    """The one file of a region in a folder of per-region files."""
    matches = sorted(
        p for p in Path(folder).glob(f"*{suffix}") if region in p.stem.split("_") or p.stem.endswith(region)
    )
    if len(matches) != 1:
        raise ProductError(
            folder, f"expected one {suffix} file for region {region!r}, found {[m.name for m in matches]}"
        )
    return matches[0]


def on_grid(path: str | os.PathLike, grid: StudyGrid, resampling: Resampling, band: int | None = None) -> np.ndarray:
    """Reproject a raster (all bands, or one) onto the study grid; nodata becomes NaN."""
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise ProductError(path, f"not a readable raster ({' '.join(str(exc).split())[:200]})") from None
    with src:
        bounds = src.bounds
        digits = 4 if src.crs is not None and src.crs.is_geographic else 0
        indexes = [band] if band else list(range(1, src.count + 1))
        out = np.full((len(indexes),) + grid.shape, np.nan, dtype=np.float32)
        for k, i in enumerate(indexes):
            reproject(
                rasterio.band(src, i),
                out[k],
                src_nodata=src.nodata,
                dst_nodata=np.nan,
                dst_transform=grid.transform,
                dst_crs=grid.crs,
                resampling=resampling,
            )
    uncovered = float(np.isnan(out).all(axis=0).mean())
    if uncovered > 0:
        west, south, east, north = grid.bounds
        raise ProductError(
            path,
            f"does not cover the study grid of region {grid.region} ({uncovered:.0%} of it "
            f"uncovered or no data): the raster spans x {bounds.left:.{digits}f}..{bounds.right:.{digits}f}, "
            f"y {bounds.bottom:.{digits}f}..{bounds.top:.{digits}f} in its CRS, the grid x {west:.0f}..{east:.0f}, "
            f"y {south:.0f}..{north:.0f} in {grid.crs}; supply a raster covering the region's AOI "
            "plus the grid margin",
        )
    return out if band is None else out[0]


def band_names(path: str | os.PathLike) -> list[str]:
    """Band descriptions of a raster, lower-case."""
    with rasterio.open(path) as src:
        return [(d or "").lower() for d in src.descriptions]


def slope_aspect(elevation: np.ndarray, resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """Slope in percent and aspect in radians clockwise from north (downslope direction)."""
    dz_drow, dz_dcol = np.gradient(elevation.astype(np.float64), resolution)
    dz_dx = dz_dcol
    dz_dy = -dz_drow  # rows run southwards
    slope = 100.0 * np.hypot(dz_dx, dz_dy)
    aspect = np.mod(np.arctan2(-dz_dx, -dz_dy), 2 * np.pi)
    return slope.astype(np.float32), aspect.astype(np.float32)


def static_layers(dem: Path, landcover: Path, soil: Path, grid: StudyGrid) -> np.ndarray:
    """The (band, y, x) stack of STATIC_BANDS for one region."""
    elevation = on_grid(dem, grid, Resampling.bilinear, band=1)
    slope, aspect = slope_aspect(elevation, grid.resolution)
    classes = on_grid(landcover, grid, Resampling.nearest, band=1)
    names = band_names(soil)
    soil_stack = on_grid(soil, grid, Resampling.bilinear)
    wanted = ["clay", "silt", "sand", "organic_carbon", "base_saturation"]
    missing = [w for w in wanted if w not in names]
    if missing:
        raise ProductError(soil, f"soil raster lacks bands {missing} (it has {names})")
    soil_bands = [soil_stack[names.index(w)] for w in wanted]
    return np.stack([elevation, slope, np.cos(aspect), np.sin(aspect), classes, *soil_bands])
