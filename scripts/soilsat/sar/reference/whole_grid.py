"""The builtin chain's geometry and terrain correction on a whole study grid at once, in memory.

What tests compare the block-streamed engine against, bit for bit, and what the sarsen benchmark
times: geometry gathered from :func:`soilsat.sar.geocoding.geometry_blocks`, terrain correction of
whole images held in memory, and the engine's chain gathered into an xarray Dataset.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from soilsat.grid import StudyGrid
from soilsat.sar.bands import band_attrs
from soilsat.sar.dem import Dem, heights_on_grid
from soilsat.sar.engine import BLOCK_LINES, ChainSpec, srgr_ratio, stream_chain
from soilsat.sar.flattening import AreaImage, Flattening
from soilsat.sar.geocoding import LAYOVER_HALO_ROWS, Geometry, RangeDopplerModel, geometry_blocks, height_levels
from soilsat.sar.orbit import Orbit
from soilsat.sar.safe import Annotation, S1Product
from soilsat.sar.terrain import MASK_LAYOVER, MASK_NODATA, MASK_SHADOW, MASK_VALID, sample_image

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
        np.full(shape, np.nan),
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


def flatten(
    images: Mapping[str, np.ndarray],
    annotation: Annotation,
    orbit: Orbit,
    dem: Dem,
    grid: StudyGrid,
    oversampling: int = 1,
) -> dict[str, np.ndarray]:
    """Terrain-flattened gamma0 on a study grid of whole beta0 images (linear, image geometry, keyed by polarisation),
    as the builtin engine's Terrain-Flattening and Terrain-Correction compute it, in memory: every grid pixel's
    facet added to the image's areas, then gamma0 sampled (soilsat.sar.flattening). Returns ``gamma0_<POL>``
    (float32, NaN no data) and the ``local_incidence_angle`` (degrees)."""
    model = RangeDopplerModel.from_annotation(annotation, orbit)
    heights = heights_on_grid(dem, grid)
    geo = grid_geometry(model, grid, heights, levels=height_levels(heights))  # the engine's interpolated time
    window = (0, annotation.number_of_lines, 0, annotation.number_of_samples)
    valid = geo.inside(*window[1::2]) & np.isfinite(heights)
    out = {}
    with tempfile.TemporaryDirectory(prefix="soilsat-flatten-") as scratch:
        areas = AreaImage(Path(scratch), window, with_sigma=False)
        try:
            f = Flattening(
                areas,
                oversampling,
                annotation.range_pixel_spacing,
                annotation.azimuth_pixel_spacing,
                srgr_ratio(annotation, window),
            )
            f.add(geo)
            gamma = np.empty((len(images), *grid.shape), np.float32)
            f.sample(
                [np.ascontiguousarray(image, dtype=np.float32) for image in images.values()], window, geo, valid, gamma
            )
            out.update({f"gamma0_{pol.upper()}": band for pol, band in zip(images, gamma)})
        finally:
            areas.close()
    out["local_incidence_angle"] = np.where(valid, geo.local_incidence_angle, np.nan).astype(np.float32)
    return out


def run_chain(
    spec: ChainSpec,
    grid: StudyGrid,
    orbit_files: Sequence[str | os.PathLike] = (),
    block_lines: int = BLOCK_LINES,
    source: S1Product | None = None,
) -> xr.Dataset:
    """Execute a chain on the study grid into memory: backscatter bands, incidence angles, mask and the ARD layers the
    graph asks for (see terrain_correct and soilsat.sar.bands); `source` as stream_chain takes it."""
    import xarray as xr

    attrs = band_attrs(spec.polarisations, spec.radiometry, spec.noise_layers or spec.area_layers)
    bands = {name: np.empty(grid.shape, dtype=np.uint8 if name == "mask" else np.float32) for name in attrs}

    def keep(g0: int, g1: int, stack: np.ndarray) -> None:
        for name, values in zip(attrs, stack):
            bands[name][g0:g1] = values

    tags = stream_chain(spec, grid, keep, orbit_files, block_lines, source=source)
    coords = {"y": grid.y_coords(), "x": grid.x_coords()}
    return xr.Dataset({name: (("y", "x"), bands[name], attrs[name]) for name in attrs}, coords=coords, attrs=tags)
