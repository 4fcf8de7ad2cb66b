"""The builtin chain's geometry and terrain correction on a whole study grid at once, in memory.

What tests compare the block-streamed engine against, bit for bit, and what the sarsen benchmark
times: geometry gathered from :func:`soilsat.sar.geocoding.geometry_blocks`, terrain correction of
whole images held in memory, and the engine's chain gathered into an xarray Dataset.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from soilsat.grid import StudyGrid
from soilsat.sar.dem import Dem, heights_on_grid
from soilsat.sar.engine import BLOCK_LINES, ChainSpec, stream_chain
from soilsat.sar.geocoding import LAYOVER_HALO_ROWS, Geometry, RangeDopplerModel, geometry_blocks
from soilsat.sar.orbit import Orbit
from soilsat.sar.safe import Annotation
from soilsat.sar.terrain import MASK_LAYOVER, MASK_NODATA, MASK_SHADOW, MASK_VALID, band_attrs, sample_image

if TYPE_CHECKING:
    import xarray as xr


def grid_geometry(
    model: RangeDopplerModel,
    grid: StudyGrid,
    heights: np.ndarray,
    rows: int | None = None,
    halo: int = LAYOVER_HALO_ROWS,
    levels: np.ndarray | None = None,
) -> Geometry:
    """The geometry of every pixel of a study grid at `heights` (on the grid, metres above the ellipsoid),
    computed in blocks of `rows` grid rows (None: one block) and gathered into whole-grid arrays."""
    shape = grid.shape
    if np.shape(heights) != shape:
        raise ValueError(f"heights of shape {np.shape(heights)} for a study grid of shape {shape}")
    out = Geometry(
        np.full(shape, np.nan, np.float32),
        np.full(shape, np.nan),
        np.full(shape, np.nan),
        np.full(shape, np.nan),
        np.full(shape, np.nan),
        np.zeros(shape, bool),
        np.zeros(shape, bool),
    )
    dem = Dem(np.asarray(heights), grid.transform, grid.crs)
    for g0, g1, geo in geometry_blocks(model, grid, dem, rows or grid.height, halo, levels):
        for field in dataclasses.fields(Geometry):
            getattr(out, field.name)[g0:g1] = getattr(geo, field.name)
    return out


def grid_to_image(model: RangeDopplerModel, grid: StudyGrid, heights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image (line, pixel) of every grid pixel centre at its height (on the grid), the zero-Doppler time solved
    exactly per pixel."""
    geo = grid_geometry(model, grid, heights)
    return geo.line, geo.pixel


def terrain_correct(
    images: Mapping[str, np.ndarray],
    annotation: Annotation,
    orbit: Orbit,
    dem: Dem,
    grid: StudyGrid,
    offset: tuple[int, int] = (0, 0),
) -> xr.Dataset:
    """Terrain-corrected images (linear sigma0 in image geometry, keyed by polarisation) on a study grid.

    Returns ``sigma0_<POL>`` (float32, NaN no data), ``local_incidence_angle`` and ``incidence_angle``
    (ellipsoid; degrees) and ``mask`` (0 no data, 1 valid, 2 layover, 3 shadow) on the grid's y/x
    pixel centres. `offset` is the (line, pixel) of element [0, 0] when the images are windows.
    The DEM's heights must be ellipsoidal (metres above WGS 84).
    """
    import xarray as xr

    model = RangeDopplerModel.from_annotation(annotation, orbit)
    heights = heights_on_grid(dem, grid)
    geo = grid_geometry(model, grid, heights)
    inside = geo.inside(model.number_of_lines, model.number_of_samples)
    valid = inside & np.isfinite(heights)
    variables = {}
    for pol, image in images.items():
        sampled = sample_image(image, geo.line, geo.pixel, offset)
        sampled[~valid] = np.nan
        variables[f"sigma0_{pol.upper()}"] = sampled
        valid &= np.isfinite(sampled)
    mask = np.where(valid, MASK_VALID, MASK_NODATA).astype(np.uint8)
    mask[valid & geo.shadow] = MASK_SHADOW
    mask[valid & geo.layover] = MASK_LAYOVER
    nan_out = ~(inside & np.isfinite(heights))
    coords = {"y": grid.y_coords(), "x": grid.x_coords()}
    ds = xr.Dataset(
        {
            name: (("y", "x"), arr, {"units": "1", "long_name": f"sigma0 {name[7:]} (linear)"})
            for name, arr in variables.items()
        },
        coords=coords,
        attrs={
            "crs": grid.crs,
            "region": grid.region,
            "geocoding": f"range-Doppler terrain correction, orbit: {orbit.source}",
        },
    )
    ds["local_incidence_angle"] = (
        ("y", "x"),
        np.where(nan_out, np.nan, geo.local_incidence_angle).astype(np.float32),
        {"units": "degree", "long_name": "local incidence angle (DEM surface)"},
    )
    ds["incidence_angle"] = (
        ("y", "x"),
        np.where(nan_out, np.nan, geo.incidence_angle).astype(np.float32),
        {"units": "degree", "long_name": "ellipsoid incidence angle"},
    )
    ds["mask"] = (
        ("y", "x"),
        mask,
        {
            "long_name": "no data (0), valid (1), layover (2), shadow (3)",
            "flag_values": np.array([0, 1, 2, 3], dtype=np.uint8),
            "flag_meanings": "no_data valid layover shadow",
        },
    )
    return ds


def run_chain(
    spec: ChainSpec, grid: StudyGrid, orbit_files: Sequence[str | os.PathLike] = (), block_lines: int = BLOCK_LINES
) -> xr.Dataset:
    """Execute a chain on the study grid into memory: sigma0 bands, incidence angles and mask (see terrain_correct)."""
    import xarray as xr

    attrs = band_attrs(spec.polarisations)
    bands = {name: np.empty(grid.shape, dtype=np.uint8 if name == "mask" else np.float32) for name in attrs}

    def keep(g0: int, g1: int, stack: np.ndarray) -> None:
        for name, values in zip(attrs, stack):
            bands[name][g0:g1] = values

    tags = stream_chain(spec, grid, keep, orbit_files, block_lines)
    coords = {"y": grid.y_coords(), "x": grid.x_coords()}
    return xr.Dataset({name: (("y", "x"), bands[name], attrs[name]) for name in attrs}, coords=coords, attrs=tags)
