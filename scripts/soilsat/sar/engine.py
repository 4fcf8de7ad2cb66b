"""The builtin engine: soilsat's own operators execute the Sentinel-1 SNAP graph.

The graph (see :mod:`soilsat.sar.graph`) is parsed, its node chain checked, and each node's
parameters read back; every setting the chain uses comes from the graph, none from here:

=========================  ==================================================================
Apply-Orbit-File           the EOF file of the orbitType covering the product (:func:`soilsat.sar.orbit.product_orbit`);
                           with no file given, the annotation orbit and a warning (continueOnFail), and
                           a file given that does not apply fails the job
ThermalNoiseRemoval        range x azimuth noise LUTs (IPF >= 2.9) or the range LUT alone,
                           subtracted from DN^2, clipped at 0 (:mod:`soilsat.sar.calibration`)
Remove-GRD-Border-Noise    :mod:`soilsat.sar.border` for IPF < 2.90 (borderLimit, trimThreshold)
Calibration                sigma0 = (DN^2 - noise) / A_sigma^2, the LUT bilinear over line and pixel
Speckle-Filter             :func:`soilsat.sar.speckle.lee_sigma` (windowSize, targetWindowSizeStr,
                           sigmaStr, numLooksStr)
Subset                     its geoRegion must cover the study grid (only the window the grid needs is read anyway)
Terrain-Correction         :mod:`soilsat.sar.terrain`, range-Doppler on the external DEM, bilinear,
                           onto the study grid (pixelSpacingInMeter, mapProjection and the pixel-centre
                           standardGridOriginX/Y must match it)
=========================  ==================================================================

Memory stays bounded by blocks on both sides. First the image window the grid needs is
found from exact positions on a coarse lattice of grid pixels at the DEM's lowest and
highest height (plus the filter's halo, and out to an image edge when border noise must be
searched there). That window is read, calibrated and filtered in blocks of lines (each
filtered with a halo of lines on each side) into a float32 scratch file per polarisation,
mapped later one band of lines at a time. Then the grid goes by blocks of grid rows: DEM heights,
geometry (the float64 planes of the range-Doppler kernel), sampling and the output bands
exist for one block, which is handed on (run_graph writes it into a tiled file that becomes
the COG; run_chain keeps it in memory for small grids).
One deviation from a whole-image filter: the Lee sigma point-target threshold (98th
percentile) is taken per block of lines, as SNAP takes it per tile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import mmap
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numba
import numpy as np
import pyproj
import rasterio
import rasterio.warp
import rasterio.windows
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.errors import ConfigError, ProductError
from soilsat.grid import StudyGrid
from soilsat.cog_stream import cog_writer
from soilsat.sar import border, graph, terrain
from soilsat.sar.calibration import noise_on_image, sigma0_window
from soilsat.sar.orbit import annotation_orbit, geodetic_to_ecef, product_orbit, read_eof, select_eof
from soilsat.sar.safe import PolarisationData, S1Product, open_product
from soilsat.sar.speckle import lee_sigma

if TYPE_CHECKING:
    import xarray as xr

log = logging.getLogger(__name__)

BLOCK_LINES = 1024  # image lines calibrated and filtered at a time
GRID_BLOCK_ROWS = 512  # grid rows whose geometry, heights and bands exist at a time
WINDOW_STEP = 16  # grid pixels between the exact positions that find the image window
WINDOW_MARGIN = 2  # image pixels of slack around them
LAYOVER_HALO_ROWS = 128  # extra grid rows on each side of a block for the layover/shadow sweeps
BANDS = ("incidence_angle", "local_incidence_angle", "mask")  # after the sigma0 bands


@dataclasses.dataclass(frozen=True)
class ChainSpec:
    """Everything the builtin engine takes from a graph, by the SNAP node and parameter it comes from."""

    graph: str  # where the graph came from (for messages)
    graph_hash: str
    product: Path  # Read.file
    polarisations: tuple[str, ...]  # Calibration.selectedPolarisations
    geo_region: str | None  # Subset.geoRegion
    orbit_type: str  # Apply-Orbit-File.orbitType
    continue_on_fail: bool  # Apply-Orbit-File.continueOnFail
    border_limit: int  # Remove-GRD-Border-Noise.borderLimit
    trim_threshold: float  # Remove-GRD-Border-Noise.trimThreshold
    looks: int  # Speckle-Filter.numLooksStr
    window: int  # Speckle-Filter.windowSize
    target: int  # Speckle-Filter.targetWindowSizeStr
    sigma: float  # Speckle-Filter.sigmaStr
    dem: Path  # Terrain-Correction.externalDEMFile
    dem_nodata: float  # Terrain-Correction.externalDEMNoDataValue
    pixel_spacing: float  # Terrain-Correction.pixelSpacingInMeter
    map_projection: str  # Terrain-Correction.mapProjection
    aligned: bool  # Terrain-Correction.alignToStandardGrid
    grid_origin: tuple[float, float]  # Terrain-Correction.standardGridOriginX/Y (a pixel centre in SNAP)


def chain_spec(nodes: Sequence[graph.Node], xml: str, where: str = "graph") -> ChainSpec:
    """Read the chain's settings back from a parsed graph (ConfigError naming node and parameter)."""
    by = graph.check_chain(nodes, where)

    def p(op: str, name: str, kind=str):
        return graph.parameter(by[op], name, where, kind)

    speckle_filter = p("Speckle-Filter", "filter")
    if speckle_filter != "Lee Sigma":
        raise ConfigError(f"{where}: the builtin engine runs the Lee Sigma speckle filter only, not {speckle_filter!r}")
    for name in ("demResamplingMethod", "imgResamplingMethod"):
        if p("Terrain-Correction", name) != "BILINEAR_INTERPOLATION":
            raise ConfigError(f"{where}: the builtin engine resamples bilinearly only ({name}={p('Terrain-Correction', name)})")
    if p("Terrain-Correction", "demName") != "External DEM":
        raise ConfigError(f"{where}: the builtin engine needs demName 'External DEM' with an externalDEMFile")
    if p("Terrain-Correction", "externalDEMApplyEGM", bool):
        raise ConfigError(f"{where}: the builtin engine needs ellipsoidal DEM heights (externalDEMApplyEGM false)")
    if not p("Calibration", "outputSigmaBand", bool):
        raise ConfigError(f"{where}: the chain calibrates to sigma0 (Calibration outputSigmaBand true)")
    pols = tuple(s.strip().upper() for s in p("Calibration", "selectedPolarisations").split(",") if s.strip())
    if not pols:
        raise ConfigError(f"{where}: node Calibration selects no polarisation")
    return ChainSpec(
        graph=where, graph_hash=graph.graph_hash(xml), product=Path(p("Read", "file")), polarisations=pols,
        geo_region=p("Subset", "geoRegion") if "Subset" in by else None,
        orbit_type=p("Apply-Orbit-File", "orbitType"), continue_on_fail=p("Apply-Orbit-File", "continueOnFail", bool),
        border_limit=p("Remove-GRD-Border-Noise", "borderLimit", int),
        trim_threshold=p("Remove-GRD-Border-Noise", "trimThreshold", float),
        looks=p("Speckle-Filter", "numLooksStr", int), window=p("Speckle-Filter", "windowSize", graph.window_size),
        target=p("Speckle-Filter", "targetWindowSizeStr", graph.window_size),
        sigma=p("Speckle-Filter", "sigmaStr", float),
        dem=Path(p("Terrain-Correction", "externalDEMFile")),
        dem_nodata=p("Terrain-Correction", "externalDEMNoDataValue", float),
        pixel_spacing=p("Terrain-Correction", "pixelSpacingInMeter", float),
        map_projection=p("Terrain-Correction", "mapProjection"),
        aligned=p("Terrain-Correction", "alignToStandardGrid", bool),
        grid_origin=(p("Terrain-Correction", "standardGridOriginX", float),
                     p("Terrain-Correction", "standardGridOriginY", float)),
    )


def read_chain(path: str | os.PathLike) -> ChainSpec:
    """The chain settings of a graph file."""
    nodes, xml = graph.read_graph(path)
    return chain_spec(nodes, xml, str(path))


def check_grid(spec: ChainSpec, grid: StudyGrid) -> None:
    """ConfigError unless the graph's Terrain-Correction output is the study grid (and Subset covers it)."""
    if abs(spec.pixel_spacing - grid.resolution) > 1e-9:
        raise ConfigError(f"{spec.graph}: pixelSpacingInMeter {spec.pixel_spacing} is not the grid's {grid.resolution} m")
    try:
        same = pyproj.CRS.from_user_input(spec.map_projection) == pyproj.CRS.from_user_input(grid.crs)
    except pyproj.exceptions.CRSError:
        raise ConfigError(f"{spec.graph}: mapProjection is not a CRS pyproj understands") from None
    if not same:
        raise ConfigError(f"{spec.graph}: mapProjection is not the study grid's CRS {grid.crs}")
    centre = graph.grid_origin(grid)
    offsets = [(o - c) / grid.resolution for o, c in zip(spec.grid_origin, centre)]
    if not spec.aligned or any(abs(f - round(f)) > 1e-6 for f in offsets):
        raise ConfigError(f"{spec.graph}: Terrain-Correction must align to the standard grid whose origin is a pixel "
                          f"centre of the study grid (alignToStandardGrid true, standardGridOriginX/Y {centre[0]!r}, "
                          f"{centre[1]!r}), not {spec.aligned} at {spec.grid_origin[0]!r}, {spec.grid_origin[1]!r}")
    if spec.geo_region is not None:
        numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:[eE]-?\d+)?", spec.geo_region)]
        if len(numbers) < 6 or len(numbers) % 2:
            raise ConfigError(f"{spec.graph}: Subset geoRegion is not a WKT polygon: {spec.geo_region!r}")
        lon, lat = np.array(numbers[0::2]), np.array(numbers[1::2])
        w, s, e, n = grid.lonlat_bounds()
        if lon.min() > w or lon.max() < e or lat.min() > s or lat.max() < n:
            raise ConfigError(f"{spec.graph}: Subset geoRegion does not cover the study grid {grid.region}")


# --------------------------------------------------------------------------- inputs


def product_tags(product: S1Product) -> dict[str, object]:
    """The tags every Sentinel-1 output carries about its product (sensing_start in ISO form)."""
    m = product.manifest
    return {
        "product": m.name, "mission": m.mission, "orbit_direction": m.orbit_direction,
        "relative_orbit": m.relative_orbit, "absolute_orbit": m.absolute_orbit,
        "sensing_start": m.sensing_start.isoformat(), "ipf_version": m.ipf_version,
        "attribution": COPERNICUS_ATTRIBUTION,
    }


def dem_nodata(path: str | os.PathLike) -> float | None:
    """The no-data value a DEM file declares (None when it declares none; ProductError when unreadable)."""
    try:
        with rasterio.open(path) as src:
            return src.nodata
    except RasterioError as exc:
        raise ProductError(path, f"DEM unreadable ({exc})") from None


def set_threads(threads: int) -> None:
    """Let the numba kernels (terrain correction, Lee sigma) use the job's threads."""
    import numba

    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def read_dem(path: Path, nodata: float) -> tuple[np.ndarray, object, object]:
    """(heights, transform, crs) of the external DEM; `nodata` and the file's own no-data become NaN."""
    try:
        with rasterio.open(path) as src:
            heights = src.read(1).astype(np.float32)
            transform, crs, own = src.transform, src.crs, src.nodata
    except RasterioError as exc:
        raise ProductError(path, f"DEM unreadable ({exc})") from None
    if crs is None:
        raise ProductError(path, "DEM has no CRS")
    for value in (nodata, own):
        if value is not None and np.isfinite(value):
            heights[heights == value] = np.nan
    return heights, transform, crs


def chain_orbit(product: S1Product, annotation, orbit_files: Sequence[str | os.PathLike], orbit_type: str,
                continue_on_fail: bool):
    """Apply-Orbit-File: the EOF orbit of `orbit_type` covering the product; with no file given, the annotation
    orbit (or fail without continueOnFail); a file given that does not apply fails, as SNAP does with it."""
    m = product.manifest
    kind = next((k for k, name in graph.ORBIT_TYPES.items() if name == orbit_type), None)
    if not orbit_files:
        if not continue_on_fail:
            raise ProductError(product.path, f"Apply-Orbit-File asks for {orbit_type} with continueOnFail false, "
                                             "and no orbit file was given")
        log.warning("no precise orbit file given for %s: using the annotation orbit", m.name)
        return annotation_orbit(annotation)
    eofs = [read_eof(f) for f in orbit_files]
    chosen = select_eof([e for e in eofs if e.kind == kind], m.sensing_start, m.sensing_stop, m.mission)
    if chosen is None:
        given = ", ".join(f"{Path(e.path).name} ({e.kind}, {e.mission}, valid {e.validity_start.isoformat()} to "
                          f"{e.validity_stop.isoformat()})" for e in eofs)
        raise ProductError(product.path, f"Apply-Orbit-File asks for {orbit_type}, but no orbit file given covers "
                                         f"{m.mission} {m.sensing_start.isoformat()} to {m.sensing_stop.isoformat()}: "
                                         f"{given}; the precise orbit was not applied")
    return product_orbit(annotation, m.sensing_start, m.sensing_stop, m.mission, [chosen.path])


class Measurement:
    """Windowed reads of one polarisation's measurement GeoTIFF (ProductError naming it when unreadable)."""

    def __init__(self, product: S1Product, data: PolarisationData):
        self.where = product.describe(data.measurement or "")
        ann = data.annotation
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)  # GRD measurements carry GCPs only
                self.src = rasterio.open(product.measurement_path(data.polarisation))
        except RasterioError as exc:
            raise ProductError(self.where, f"measurement unreadable ({exc}); truncated or corrupt download? "
                                           "Download the product again") from None
        if (self.src.height, self.src.width) != (ann.number_of_lines, ann.number_of_samples):
            self.src.close()
            raise ProductError(self.where, f"measurement is {self.src.height} x {self.src.width} but the annotation "
                                           f"says {ann.number_of_lines} x {ann.number_of_samples}; the product is "
                                           "damaged: download it again")

    def read(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """The DN of image rows r0:r1, columns c0:c1."""
        try:
            return self.src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
        except RasterioError as exc:
            raise ProductError(self.where, f"measurement unreadable at lines {r0}-{r1} ({exc}); truncated or "
                                           "corrupt download? Download the product again") from None

    def close(self) -> None:
        self.src.close()


# --------------------------------------------------------------------------- geometry, block by block of grid rows


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Image position, incidence cosines (float64) and layover/shadow (bool) of every grid pixel of a block."""

    line: np.ndarray
    pixel: np.ndarray
    cos_incidence: np.ndarray  # on the ellipsoid
    cos_local_incidence: np.ndarray  # on the DEM surface
    layover: np.ndarray
    shadow: np.ndarray  # passive: behind a nearer slope (active shadow, facing away, is cos_local_incidence < 0)

    @property
    def any_shadow(self) -> np.ndarray:
        """Passive or active shadow."""
        return self.shadow | (self.cos_local_incidence < 0.0)

    @property
    def incidence_angle(self) -> np.ndarray:
        """Ellipsoid incidence angle, degrees (float32)."""
        return _degrees(self.cos_incidence)

    @property
    def local_incidence_angle(self) -> np.ndarray:
        """Local incidence angle on the DEM surface, degrees (float32)."""
        return _degrees(self.cos_local_incidence)


def _degrees(cosine: np.ndarray) -> np.ndarray:
    """The angle of a cosine in degrees (float32)."""
    with np.errstate(invalid="ignore"):
        return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))).astype(np.float32)


def geometry_blocks(model: terrain.RangeDopplerModel, grid: StudyGrid, heights_of: Callable[[int, int], np.ndarray],
                    rows: int = GRID_BLOCK_ROWS, halo: int = LAYOVER_HALO_ROWS,
                    levels: np.ndarray | None = None) -> Iterator[tuple[int, int, np.ndarray, Geometry]]:
    """(g0, g1, heights, geometry) of each block of grid rows g0:g1 in turn; `heights_of(r0, r1)` gives the
    DEM heights of grid rows r0:r1, and `levels` (three heights spanning the DEM's) interpolates the
    zero-Doppler time (None: exact per pixel).

    The layover/shadow sweeps of a block see `halo` more rows on each side: a zero-Doppler line
    crosses the grid at the track's angle to north (about 10-15 degrees), so 128 rows (1.3 km)
    hold the pixels within about 5 km of range of every pixel of the block. The float64 planes of
    those rows are held in one buffer that rolls on from block to block, so each grid row's
    geometry is computed once. What a block yields are views of that buffer, valid until the next.
    """
    width, height = grid.width, grid.height
    span = min(rows + 2 * halo, height)
    planes = np.empty((terrain.N_PLANES, span, width))
    held = np.empty((span, width), np.float32)  # the DEM heights of the rows in `planes`
    lo = hi = 0  # grid rows lo:hi are in planes[:, :hi - lo]
    for g0 in range(0, height, rows):
        g1 = min(g0 + rows, height)
        h0, h1 = max(g0 - halo, 0), min(g1 + halo, height)
        keep = max(hi - h0, 0)
        planes[:, :keep] = planes[:, h0 - lo:hi - lo]
        held[:keep] = held[h0 - lo:hi - lo]
        lo, new = h0, max(hi, h0)
        if new < h1:  # one more row on each side, where there is one, for the surface normals at the edges
            m0, m1 = max(new - 1, 0), min(h1 + 1, height)
            heights = dem_heights_checked(heights_of(m0, m1), (m1 - m0, width))
            terrain._raw_geometry(model, grid, heights, (m0, m1, 0, width), levels, (new - m0, m1 - h1),
                                  out=planes[:, new - lo:h1 - lo])
            held[new - lo:h1 - lo] = heights[new - m0:h1 - m0]
        hi = h1
        raw = planes[:, :h1 - lo]
        layover, shadow = terrain.layover_shadow(model, grid, raw[0], raw[2], raw[5], raw[6], raw[3])
        core = slice(g0 - lo, g1 - lo)
        yield g0, g1, held[core], Geometry(raw[0, core], raw[1, core], raw[3, core], raw[4, core], layover[core],
                                           shadow[core])


def dem_heights_checked(heights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Heights as float64, ValueError unless of `shape`."""
    if heights.shape != shape:
        raise ValueError(f"DEM rows of shape {heights.shape} where {shape} were asked for")
    return np.asarray(heights, dtype=float)


def grid_geometry(model: terrain.RangeDopplerModel, grid: StudyGrid, heights: np.ndarray,
                  rows: int = GRID_BLOCK_ROWS, halo: int = LAYOVER_HALO_ROWS, levels: np.ndarray | None = None) -> Geometry:
    """terrain.grid_geometry computed in blocks of grid rows (geometry_blocks), gathered into whole-grid arrays."""
    shape = grid.shape
    out = Geometry(np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan),
                   np.zeros(shape, bool), np.zeros(shape, bool))
    for g0, g1, _, geo in geometry_blocks(model, grid, lambda r0, r1: heights[r0:r1], rows, halo, levels):
        for field in dataclasses.fields(Geometry):
            getattr(out, field.name)[g0:g1] = getattr(geo, field.name)
        with np.errstate(invalid="ignore"):
            out.shadow[g0:g1] = geo.any_shadow
    return out


# --------------------------------------------------------------------------- the radiometric chain on a block


@dataclasses.dataclass(frozen=True)
class BorderPlan:
    """Remove-GRD-Border-Noise over a window: which edges it touches and each column's top/bottom runs."""

    active: bool
    left: bool
    right: bool
    top: np.ndarray  # per window column
    bottom: np.ndarray
    scale: float
    limit: int
    threshold: float


def noise_block(data: PolarisationData, r0: int, r1: int, c0: int, c1: int, scale: float) -> np.ndarray:
    """ThermalNoiseRemoval's noise power (DN^2) on image rows r0:r1, columns c0:c1."""
    if not data.noise.range_vectors:
        return np.zeros((r1 - r0, c1 - c0))
    noise = noise_on_image(data.noise.range_vectors, (r0, r1), (c0, c1), data.noise.azimuth_vectors)
    return noise * scale if scale != 1.0 else noise


def plan_border(spec: ChainSpec, product: S1Product, data: PolarisationData, meas: Measurement,
                window: tuple[int, int, int, int]) -> BorderPlan:
    """The border-noise plan of one polarisation over a window (inactive from IPF 2.90, with a log line)."""
    r0, r1, c0, c1 = window
    ann = data.annotation
    ipf = product.manifest.ipf_tuple
    empty = np.zeros(c1 - c0, dtype=np.int64)
    if not border.needs_border_removal(ipf):
        return BorderPlan(False, False, False, empty, empty, 1.0, spec.border_limit, spec.trim_threshold)
    scale = border.noise_scale(ipf, data.calibration.vectors[0].dn)
    lim = spec.border_limit
    top, bottom = empty, empty
    if r0 == 0:
        n = min(lim, r1)
        good = border.signal(meas.read(0, n, c0, c1), noise_block(data, 0, n, c0, c1, scale), spec.trim_threshold)
        top = border.edge_depths(good, good[:0], lim)[0]
    if r1 == ann.number_of_lines:
        n0 = max(r1 - lim, r0)
        good = border.signal(meas.read(n0, r1, c0, c1), noise_block(data, n0, r1, c0, c1, scale), spec.trim_threshold)
        bottom = border.edge_depths(good[:0], good, lim)[1]
    return BorderPlan(True, c0 == 0, c1 == ann.number_of_samples, top, bottom, scale, lim, spec.trim_threshold)


def sigma0_block(data: PolarisationData, meas: Measurement, plan: BorderPlan, rows: tuple[int, int],
                 cols: tuple[int, int], n_lines: int) -> np.ndarray:
    """Thermal noise removal, border noise removal and calibration of image rows x cols: linear sigma0, NaN no-value."""
    (r0, r1), (c0, c1) = rows, cols
    dn = meas.read(r0, r1, c0, c1)
    out, noise = sigma0_window(data, dn, r0, c0, noise_scale=plan.scale, with_noise=plan.active)
    if plan.active:
        good = border.signal(dn, noise, plan.threshold)
        zeros = np.zeros(r1 - r0, dtype=np.int64)
        left, right = border.side_depths(good, plan.limit)
        mask = border.border_mask(dn.shape, r0, n_lines, left if plan.left else zeros, right if plan.right else zeros,
                                  plan.top, plan.bottom)
        out[mask] = np.nan
    return out


# --------------------------------------------------------------------------- the whole chain


def dem_rows(dem: tuple[np.ndarray, object, object], grid: StudyGrid, r0: int, r1: int) -> np.ndarray:
    """DEM heights (float32, NaN no data) on grid rows r0:r1: sliced when the DEM is the grid, else bilinear."""
    if terrain.dem_is_grid(dem, grid):
        return dem[0][r0:r1].copy()
    return terrain.dem_on_rows(dem, grid, r0, r1)


def dem_range(dem: tuple[np.ndarray, object, object], grid: StudyGrid) -> tuple[float, float] | None:
    """The lowest and highest DEM height over the grid's bounds (one DEM pixel wider); None where none."""
    array, transform, crs = dem
    left, bottom, right, top = rasterio.warp.transform_bounds(grid.crs, crs, *grid.bounds)
    win = rasterio.windows.from_bounds(left, bottom, right, top, Affine(*transform[:6]))
    r0, c0 = max(int(np.floor(win.row_off)) - 1, 0), max(int(np.floor(win.col_off)) - 1, 0)
    r1 = min(int(np.ceil(win.row_off + win.height)) + 1, array.shape[0])
    c1 = min(int(np.ceil(win.col_off + win.width)) + 1, array.shape[1])
    part = array[r0:r1, c0:c1]
    if part.size == 0 or not np.isfinite(part).any():
        return None
    return float(np.nanmin(part)), float(np.nanmax(part))


def coarse_window(model: terrain.RangeDopplerModel, grid: StudyGrid, span: tuple[float, float] | None, halo: int,
                  step: int = WINDOW_STEP) -> tuple[int, int, int, int] | None:
    """The image window the grid needs (plus `halo`), from exact positions on a lattice of every `step`-th
    grid pixel (and the last) at the lowest and highest DEM height (`span`); None if none falls in the image.

    An image position moves monotonically with height, so a pixel at any DEM height lies between its
    lattice neighbours' positions at the two extremes; WINDOW_MARGIN covers the curvature in between."""
    if span is None:
        return None
    rows = np.unique(np.r_[np.arange(0, grid.height, step), grid.height - 1])
    cols = np.unique(np.r_[np.arange(0, grid.width, step), grid.width - 1])
    xx, yy = np.meshgrid(grid.x0 + (cols + 0.5) * grid.resolution, grid.y0 - (rows + 0.5) * grid.resolution)
    lon, lat = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(xx, yy)
    xyz = np.stack([geodetic_to_ecef(lon, lat, np.full(lon.shape, h)) for h in span])
    line, pixel = terrain.points_to_image(model, xyz)
    n_lines, n_samples = model.number_of_lines, model.number_of_samples
    m = WINDOW_MARGIN
    with np.errstate(invalid="ignore"):
        near = (line >= -m - 0.5) & (line <= n_lines - 0.5 + m) & (pixel >= -m - 0.5) & (pixel <= n_samples - 0.5 + m)
    if not near.any():
        return None
    r0 = max(int(np.floor(line[near].min())) - m - halo, 0)
    r1 = min(int(np.ceil(line[near].max())) + m + halo + 1, n_lines)
    c0 = max(int(np.floor(pixel[near].min())) - m - halo, 0)
    c1 = min(int(np.ceil(pixel[near].max())) + m + halo + 1, n_samples)
    return (r0, r1, c0, c1) if r0 < r1 and c0 < c1 else None


class FilteredImage:
    """One polarisation's filtered sigma0 over the image window, as float32 rows in a scratch file.

    The file is written with plain writes, then mapped whole for reading; after each block of grid
    rows the pages outside the lines that block sampled are released, so what the process holds of
    it is about the band of lines one block needs, and each page is read in about once (blocks move
    along the image)."""

    def __init__(self, path: Path, window: tuple[int, int, int, int]):
        self.path, self.window = path, window  # window: r0, r1, c0, c1 of the image
        r0, r1, c0, c1 = window
        self._file = open(path, "rb")
        self._map = mmap.mmap(self._file.fileno(), 0, prot=mmap.PROT_READ)
        self.rows = np.frombuffer(self._map, dtype=np.float32).reshape(r1 - r0, c1 - c0)

    def sample_into(self, line: np.ndarray, pixel: np.ndarray, valid: np.ndarray, lines: tuple[float, float],
                    out: np.ndarray) -> None:
        """Bilinear samples (float32) at image positions into `out` where `valid` (NaN elsewhere); `lines` is the
        range of image lines the valid positions span, outside which the mapping is released afterwards."""
        r0, r1, c0, c1 = self.window
        terrain.sample_valid(self.rows, line, pixel, valid, (r0, c0), out)
        row_bytes = (c1 - c0) * 4
        keep0 = (max(int(np.floor(lines[0])) - 1 - r0, 0) * row_bytes) // mmap.PAGESIZE * mmap.PAGESIZE
        keep1 = min(int(np.ceil(lines[1])) + 2 - r0, r1 - r0) * row_bytes
        if keep0 > 0:
            self._map.madvise(mmap.MADV_DONTNEED, 0, keep0)
        size = (r1 - r0) * row_bytes
        keep1 = -(-keep1 // mmap.PAGESIZE) * mmap.PAGESIZE
        if keep1 < size:
            self._map.madvise(mmap.MADV_DONTNEED, keep1, size - keep1)

    def close(self) -> None:
        """Unmap and close the scratch file."""
        del self.rows
        self._map.close()
        self._file.close()


def filter_window(spec: ChainSpec, product: S1Product, data: PolarisationData, window: tuple[int, int, int, int],
                  block_lines: int, path: Path) -> FilteredImage:
    """Calibrate and Lee-sigma-filter one polarisation over the window, block by block of lines, into `path`."""
    r0, r1, c0, c1 = window
    n_lines = data.annotation.number_of_lines
    halo = max(spec.window // 2, 2 * (spec.target // 2))
    meas = Measurement(product, data)
    try:
        plan = plan_border(spec, product, data, meas, window)
        with open(path, "wb") as f:
            for b0 in range(r0, r1, block_lines):
                b1 = min(b0 + block_lines, r1)
                s0, s1 = max(b0 - 1 - halo, r0), min(b1 + 1 + halo, r1)
                cal = sigma0_block(data, meas, plan, (s0, s1), (c0, c1), n_lines)
                filtered = lee_sigma(cal, looks=spec.looks, window=spec.window, target=spec.target, sigma=spec.sigma)
                del cal
                np.ascontiguousarray(filtered[b0 - s0:b1 - s0], dtype=np.float32).tofile(f)
                del filtered
    finally:
        meas.close()
    return FilteredImage(path, window)


def band_attrs(polarisations: Sequence[str]) -> dict[str, dict[str, str]]:
    """Each output band's name and attributes, in band order."""
    attrs = {f"sigma0_{pol}": {"units": "1", "long_name": f"sigma0 {pol} (linear)"} for pol in polarisations}
    attrs["incidence_angle"] = {"units": "degree", "long_name": "ellipsoid incidence angle"}
    attrs["local_incidence_angle"] = {"units": "degree", "long_name": "local incidence angle (DEM surface)"}
    attrs["mask"] = {"long_name": "no data (0), valid (1), layover (2), shadow (3)"}
    return attrs


def block_bands(geo: Geometry, heights: np.ndarray, images: dict[str, FilteredImage | None], n_lines: int,
                n_samples: int) -> np.ndarray:
    """The output bands of one block of grid rows as one float32 stack in band_attrs' order: sampled sigma0
    per polarisation, incidence angles and the mask (as float)."""
    n_pol = len(images)
    out = np.empty((n_pol + 3, *heights.shape), np.float32)
    valid = np.empty(heights.shape, np.bool_)
    row_lines = np.empty((heights.shape[0], 2))
    _valid_pixels(geo.line, geo.pixel, heights, float(n_lines), float(n_samples), valid, row_lines)
    lo, hi = float(np.min(row_lines[:, 0])), float(np.max(row_lines[:, 1]))
    for k, image in enumerate(images.values()):
        if image is None or lo > hi:
            out[k] = np.nan
        else:
            image.sample_into(geo.line, geo.pixel, valid, (lo, hi), out[k])
    _angles_and_mask(valid, geo.cos_incidence, geo.cos_local_incidence, geo.layover, geo.shadow, n_pol, out)
    return out


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _valid_pixels(line, pixel, heights, n_lines, n_samples, valid, row_lines):  # pragma: no cover - compiled
    """Pixels inside the image (half a pixel of slack at its edges) with a DEM height, and per row the lowest
    and highest image line among them (inf, -inf in a row without any)."""
    for i in numba.prange(line.shape[0]):
        lo, hi = np.inf, -np.inf
        for j in range(line.shape[1]):
            r, c = line[i, j], pixel[i, j]
            v = r >= -0.5 and r <= n_lines - 0.5 and c >= -0.5 and c <= n_samples - 0.5 and np.isfinite(heights[i, j])
            valid[i, j] = v
            if v:
                lo, hi = min(lo, r), max(hi, r)
        row_lines[i, 0], row_lines[i, 1] = lo, hi


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _angles_and_mask(valid, cos_incidence, cos_local, layover, shadow, n_pol, out):  # pragma: no cover - compiled
    """Angle bands in degrees (NaN outside `valid`) and the mask band after the n_pol sigma0 bands of out."""
    nan = np.float32(np.nan)
    for i in numba.prange(valid.shape[0]):
        for j in range(valid.shape[1]):
            v = valid[i, j]
            ok = v
            for k in range(n_pol):
                ok = ok and np.isfinite(out[k, i, j])
            if v:
                out[n_pol, i, j] = math.degrees(math.acos(min(1.0, max(-1.0, cos_incidence[i, j]))))
                out[n_pol + 1, i, j] = math.degrees(math.acos(min(1.0, max(-1.0, cos_local[i, j]))))
            else:
                out[n_pol, i, j] = nan
                out[n_pol + 1, i, j] = nan
            code = terrain.MASK_NODATA
            if ok:
                in_shadow = shadow[i, j] or cos_local[i, j] < 0.0  # passive, or active: facing away (local > 90)
                code = terrain.MASK_LAYOVER if layover[i, j] else (terrain.MASK_SHADOW if in_shadow else terrain.MASK_VALID)
            out[n_pol + 2, i, j] = code


BlockSink = Callable[[int, int, np.ndarray], None]


def stream_chain(spec: ChainSpec, grid: StudyGrid, sink: BlockSink, orbit_files: Sequence[str | os.PathLike] = (),
                 block_lines: int = BLOCK_LINES, grid_rows: int = GRID_BLOCK_ROWS) -> dict[str, object]:
    """Execute a chain on the study grid, handing `sink(g0, g1, stack)` each block of grid rows (block_bands' stack,
    valid until the next block); returns the attributes.

    The filtered image window goes to a scratch file per polarisation (float32, in the temporary
    folder); the grid's geometry, heights and bands exist for one block of grid rows at a time.
    """
    check_grid(spec, grid)
    with contextlib.ExitStack() as stack:
        product = stack.enter_context(open_product(spec.product))
        datas = {pol: product.polarisation(pol) for pol in spec.polarisations}
        ann = datas[spec.polarisations[0]].annotation
        for pol, d in datas.items():
            if (d.annotation.number_of_lines, d.annotation.number_of_samples) != (ann.number_of_lines, ann.number_of_samples):
                raise ProductError(product.describe(d.measurement or ""), f"polarisation {pol} differs in image size")
        orbit = chain_orbit(product, ann, orbit_files, spec.orbit_type, spec.continue_on_fail)
        dem = read_dem(spec.dem, spec.dem_nodata)
        model = terrain.RangeDopplerModel.from_annotation(ann, orbit)
        halo = max(spec.window // 2, 2 * (spec.target // 2)) + 2
        span = dem_range(dem, grid)
        window = coarse_window(model, grid, span, halo)
        levels = terrain.height_levels(np.array(span)) if span else None
        if not border.needs_border_removal(product.manifest.ipf_tuple):
            log.info("IPF %s masks GRD borders itself (>= 2.90): Remove-GRD-Border-Noise leaves %s as it is",
                     product.manifest.ipf_version, product.name)
        elif window is not None:
            log.info("IPF %s: removing GRD border noise (borderLimit %d, trimThreshold %g)",
                     product.manifest.ipf_version, spec.border_limit, spec.trim_threshold)
            r0, r1, c0, c1 = window
            lim = spec.border_limit
            window = (0 if r0 < lim else r0, ann.number_of_lines if r1 > ann.number_of_lines - lim else r1,
                      0 if c0 < lim else c0, ann.number_of_samples if c1 > ann.number_of_samples - lim else c1)
        images: dict[str, FilteredImage | None] = dict.fromkeys(spec.polarisations)
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="soilsat-s1-"))
        if window is not None:
            log.info("image window lines %d-%d, samples %d-%d of %d x %d", *window, ann.number_of_lines, ann.number_of_samples)
            for pol, data in datas.items():
                images[pol] = filter_window(spec, product, data, window, block_lines, Path(scratch) / f"{pol}.f32")
                stack.callback(images[pol].close)
        any_height = False
        for g0, g1, heights, geo in geometry_blocks(model, grid, lambda r0, r1: dem_rows(dem, grid, r0, r1),
                                                    grid_rows, LAYOVER_HALO_ROWS, levels):
            any_height = any_height or bool(np.isfinite(heights).any())
            sink(g0, g1, block_bands(geo, heights, images, ann.number_of_lines, ann.number_of_samples))
        if not any_height:
            raise ProductError(spec.dem, f"DEM does not cover the study grid of region {grid.region} (no height at any "
                                         "grid pixel); supply a DEM covering the region's AOI plus the grid margin")
        return {**product_tags(product), "crs": grid.crs, "region": grid.region, "engine": "builtin",
                "graph_hash": spec.graph_hash, "orbit": orbit.source,
                "image_window": " ".join(str(v) for v in window) if window else "none"}


def run_chain(spec: ChainSpec, grid: StudyGrid, orbit_files: Sequence[str | os.PathLike] = (),
              block_lines: int = BLOCK_LINES) -> xr.Dataset:
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


@dataclasses.dataclass(frozen=True)
class GraphOutput:
    """What a graph run leaves in memory beside its COG: the mask band (0 no data, 1 valid, 2 layover,
    3 shadow) and the output's attributes."""

    mask: np.ndarray
    attrs: dict

    @property
    def valid_fraction(self) -> float:
        """Share of the study grid with valid sigma0."""
        return float((self.mask == terrain.MASK_VALID).mean())


def run_graph(graph_path: str | os.PathLike, grid: StudyGrid, output: str | os.PathLike,
              orbit_files: Sequence[str | os.PathLike] = (), tags: dict | None = None,
              block_lines: int = BLOCK_LINES) -> GraphOutput:
    """Execute a graph file with the builtin engine, writing the result block by block as one COG at `output`
    (atomically); returns the mask band and the output's attributes (the other bands are in the COG).

    Plain arrays, not xarray: a Sentinel-1 job then never imports xarray and dask, which cost it about
    0.6 s of its 2.5 s.
    """
    spec = read_chain(graph_path)
    log.info("builtin engine: %s (graph %s), Lee sigma %dx%d/%dx%d sigma %.1f looks %d", spec.product.name,
             spec.graph_hash, spec.window, spec.window, spec.target, spec.target, spec.sigma, spec.looks)
    attrs = band_attrs(spec.polarisations)
    mask = np.empty(grid.shape, dtype=np.uint8)
    with cog_writer(output, grid, list(attrs), list(attrs.values()), threads=numba.get_num_threads(),
                    categorical=[name == "mask" for name in attrs]) as dst:
        def write(g0: int, g1: int, stack: np.ndarray) -> None:
            mask[g0:g1] = stack[-1]
            dst.write(g0, stack)

        out_attrs = stream_chain(spec, grid, write, orbit_files, block_lines)
        merged = {k: v for k, v in out_attrs.items() if isinstance(v, (str, int, float))}
        merged.update(tags or {})
        dst.update_tags(**{k: str(v) for k, v in merged.items()})
    return GraphOutput(mask=mask, attrs=out_attrs)
