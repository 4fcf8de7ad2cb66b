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
Calibration                sigma0 = (DN^2 - noise) / A_sigma^2 (or beta0 with outputBetaBand), the LUT
                           bilinear over line and pixel
Speckle-Filter             :func:`soilsat.sar.speckle.lee_sigma` (windowSize, targetWindowSizeStr,
                           sigmaStr, numLooksStr)
Terrain-Flattening         :mod:`soilsat.sar.flattening` on Terrain-Correction's DEM (oversamplingMultiple;
                           outputSimulatedImage and outputSigma0 ask for the CEOS-ARD area layers)
Subset                     its geoRegion must cover the study grid (only the window the grid needs is read anyway)
Terrain-Correction         range-Doppler geocoding (:mod:`soilsat.sar.geocoding`) on the external DEM
                           (:mod:`soilsat.sar.dem`), bilinear sampling and the output bands
                           (:mod:`soilsat.sar.terrain`), onto the study grid (pixelSpacingInMeter,
                           mapProjection and the pixel-centre standardGridOriginX/Y must match it)
=========================  ==================================================================

The engine orchestrates those operators; what each computes lives in the module named beside it.
Memory stays bounded by blocks on both sides. First the image window the grid needs is
found from exact positions on a coarse lattice of grid pixels at the DEM's lowest and
highest height (plus the filter's halo, and out to an image edge when border noise must be
searched there). That window is read, calibrated and filtered in blocks of lines (each
filtered with a halo of lines on each side) into a float32 scratch file per polarisation,
mapped later one band of lines at a time. Then the grid goes by blocks of grid rows: DEM heights,
geometry (the float64 planes of the range-Doppler kernel), sampling and the output bands
exist for one block, which is handed on (run_graph writes it into a tiled file that becomes
the COG; :func:`soilsat.sar.reference.whole_grid.run_chain` keeps it in memory for small grids).
One deviation from a whole-image filter: the Lee sigma point-target threshold (98th
percentile) is taken per block of lines, as SNAP takes it per tile. With Terrain-Flattening,
each block's DEM facets are added to the image's illuminated areas as its geometry is computed,
and the bands of a grid row are sampled LAG_ROWS grid rows later, once every facet that can land
on its image pixels has been added.

Settings no SNAP operator has (the range polynomial choice) come from the graph's soilsat
applicationData (:func:`soilsat.sar.graph.read_application`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import mmap
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numba
import numpy as np
import pyproj
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from soilsat import COPERNICUS_ATTRIBUTION
from soilsat.cog_stream import cog_writer
from soilsat.errors import ConfigError, ProductError
from soilsat.grid import StudyGrid
from soilsat.heap import reused_heap
from soilsat.remote_files import is_remote
from soilsat.sar import border, geocoding, graph, terrain
from soilsat.sar.bands import band_attrs
from soilsat.sar.calibration import NoisePower, sigma0_window
from soilsat.sar.dem import height_span, read_dem
from soilsat.sar.flattening import LAG_ROWS, AreaImage, Flattening, subfacets
from soilsat.sar.orbit import Orbit, annotation_orbit, product_orbit, read_eof, select_eof
from soilsat.sar.safe import Annotation, PolarisationData, S1Product, open_product
from soilsat.sar.speckle import filter_halo, lee_sigma

log = logging.getLogger(__name__)

BLOCK_LINES = 1024  # image lines calibrated and filtered at a time
GRID_BLOCK_ROWS = 512  # grid rows whose geometry, heights and bands exist at a time


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
    radiometry: str = "sigma0"  # gamma0 with a Terrain-Flattening node (Calibration.outputBetaBand)
    oversampling_multiple: float = 1.0  # Terrain-Flattening.oversamplingMultiple
    additional_overlap: float = 0.1  # Terrain-Flattening.additionalOverlap (kept, not needed: see flattening)
    noise_layers: bool = False  # ThermalNoiseRemoval.outputNoise: the noise power layers
    area_layers: bool = False  # Terrain-Flattening.outputSimulatedImage and outputSigma0: the area layers
    range_polynomial: str = "nearest"  # applicationData rangePolynomial

    @property
    def lut(self) -> str:
        """The calibration LUT Calibration applies: beta0 ahead of Terrain-Flattening, else sigma0."""
        return "beta_nought" if self.radiometry == "gamma0" else "sigma_nought"


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
            raise ConfigError(
                f"{where}: the builtin engine resamples bilinearly only ({name}={p('Terrain-Correction', name)})"
            )
    if p("Terrain-Correction", "demName") != "External DEM":
        raise ConfigError(f"{where}: the builtin engine needs demName 'External DEM' with an externalDEMFile")
    if p("Terrain-Correction", "externalDEMApplyEGM", bool):
        raise ConfigError(f"{where}: the builtin engine needs ellipsoidal DEM heights (externalDEMApplyEGM false)")
    flattened = "Terrain-Flattening" in by
    wanted = ("outputBetaBand", "outputSigmaBand") if flattened else ("outputSigmaBand", "outputBetaBand")
    if not p("Calibration", wanted[0], bool) or p("Calibration", wanted[1], bool):
        raise ConfigError(
            f"{where}: the chain calibrates to {'beta0 ahead of Terrain-Flattening' if flattened else 'sigma0'} "
            f"(Calibration {wanted[0]} true, {wanted[1]} false)"
        )
    pols = tuple(s.strip().upper() for s in p("Calibration", "selectedPolarisations").split(",") if s.strip())
    if not pols:
        raise ConfigError(f"{where}: node Calibration selects no polarisation")
    flattening = _flattening_settings(by, where) if flattened else {}
    application = graph.read_application(xml, where)
    noise_layers = (
        p("ThermalNoiseRemoval", "outputNoise", bool)
        if "outputNoise" in by["ThermalNoiseRemoval"].parameters
        else False
    )
    return ChainSpec(
        radiometry="gamma0" if flattened else "sigma0",
        oversampling_multiple=float(flattening.get("oversamplingMultiple", 1.0)),
        additional_overlap=float(flattening.get("additionalOverlap", 0.1)),
        noise_layers=bool(noise_layers),
        area_layers=bool(flattening.get("layers", False)),
        range_polynomial=application.get("rangePolynomial", "nearest"),
        graph=where,
        graph_hash=graph.graph_hash(xml),
        product=Path(p("Read", "file")),
        polarisations=pols,
        geo_region=p("Subset", "geoRegion") if "Subset" in by else None,
        orbit_type=p("Apply-Orbit-File", "orbitType"),
        continue_on_fail=p("Apply-Orbit-File", "continueOnFail", bool),
        border_limit=p("Remove-GRD-Border-Noise", "borderLimit", int),
        trim_threshold=p("Remove-GRD-Border-Noise", "trimThreshold", float),
        looks=p("Speckle-Filter", "numLooksStr", int),
        window=p("Speckle-Filter", "windowSize", graph.window_size),
        target=p("Speckle-Filter", "targetWindowSizeStr", graph.window_size),
        sigma=p("Speckle-Filter", "sigmaStr", float),
        dem=Path(p("Terrain-Correction", "externalDEMFile")),
        dem_nodata=p("Terrain-Correction", "externalDEMNoDataValue", float),
        pixel_spacing=p("Terrain-Correction", "pixelSpacingInMeter", float),
        map_projection=p("Terrain-Correction", "mapProjection"),
        aligned=p("Terrain-Correction", "alignToStandardGrid", bool),
        grid_origin=(
            p("Terrain-Correction", "standardGridOriginX", float),
            p("Terrain-Correction", "standardGridOriginY", float),
        ),
    )


def _flattening_settings(by: dict[str, graph.Node], where: str) -> dict[str, float]:
    """Terrain-Flattening's settings, checked against what the builtin engine runs (ConfigError otherwise)."""
    tf, tc = by["Terrain-Flattening"], by["Terrain-Correction"]

    def p(name: str, kind=str):
        return graph.parameter(tf, name, where, kind)

    if p("demName") != "External DEM" or p("externalDEMFile") != graph.parameter(tc, "externalDEMFile", where):
        raise ConfigError(f"{where}: the builtin engine flattens on Terrain-Correction's external DEM file")
    if p("externalDEMApplyEGM", bool) or p("demResamplingMethod") != "BILINEAR_INTERPOLATION":
        raise ConfigError(f"{where}: Terrain-Flattening needs ellipsoidal heights resampled bilinearly")
    simulated, sigma = p("outputSimulatedImage", bool), p("outputSigma0", bool)
    if simulated != sigma:
        raise ConfigError(f"{where}: Terrain-Flattening's outputSimulatedImage and outputSigma0 go together")
    return {
        "oversamplingMultiple": p("oversamplingMultiple", float),
        "additionalOverlap": p("additionalOverlap", float),
        "layers": float(simulated),
    }


def read_chain(path: str | os.PathLike) -> ChainSpec:
    """The chain settings of a graph file."""
    nodes, xml = graph.read_graph(path)
    return chain_spec(nodes, xml, str(path))


def check_grid(spec: ChainSpec, grid: StudyGrid) -> None:
    """ConfigError unless the graph's Terrain-Correction output is the study grid (and Subset covers it)."""
    if abs(spec.pixel_spacing - grid.resolution) > 1e-9:
        raise ConfigError(
            f"{spec.graph}: pixelSpacingInMeter {spec.pixel_spacing} is not the grid's {grid.resolution} m"
        )
    try:
        same = pyproj.CRS.from_user_input(spec.map_projection) == pyproj.CRS.from_user_input(grid.crs)
    except pyproj.exceptions.CRSError:
        raise ConfigError(f"{spec.graph}: mapProjection is not a CRS pyproj understands") from None
    if not same:
        raise ConfigError(f"{spec.graph}: mapProjection is not the study grid's CRS {grid.crs}")
    centre = graph.grid_origin(grid)
    offsets = [(o - c) / grid.resolution for o, c in zip(spec.grid_origin, centre)]
    if not spec.aligned or any(abs(f - round(f)) > 1e-6 for f in offsets):
        raise ConfigError(
            f"{spec.graph}: Terrain-Correction must align to the standard grid whose origin is a pixel "
            f"centre of the study grid (alignToStandardGrid true, standardGridOriginX/Y {centre[0]!r}, "
            f"{centre[1]!r}), not {spec.aligned} at {spec.grid_origin[0]!r}, {spec.grid_origin[1]!r}"
        )
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
        "product": m.name,
        "mission": m.mission,
        "orbit_direction": m.orbit_direction,
        "relative_orbit": m.relative_orbit,
        "absolute_orbit": m.absolute_orbit,
        "sensing_start": m.sensing_start.isoformat(),
        "ipf_version": m.ipf_version,
        "attribution": COPERNICUS_ATTRIBUTION,
    }


def set_threads(threads: int) -> None:
    """Let the numba kernels (geocoding, terrain correction, Lee sigma) use the job's threads."""
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def chain_orbit(
    product: S1Product,
    annotation: Annotation,
    orbit_files: Sequence[str | os.PathLike],
    orbit_type: str,
    continue_on_fail: bool,
) -> Orbit:
    """Apply-Orbit-File: the EOF orbit of `orbit_type` covering the product; with no file given, the annotation
    orbit (or fail without continueOnFail); a file given that does not apply fails, as SNAP does with it."""
    m = product.manifest
    kind = next((k for k, name in graph.ORBIT_TYPES.items() if name == orbit_type), None)
    if not orbit_files:
        if not continue_on_fail:
            raise ProductError(
                product.path,
                f"Apply-Orbit-File asks for {orbit_type} with continueOnFail false, and no orbit file was given",
            )
        log.warning("no precise orbit file given for %s: using the annotation orbit", m.name)
        return annotation_orbit(annotation)
    eofs = [read_eof(f) for f in orbit_files]
    chosen = select_eof([e for e in eofs if e.kind == kind], m.sensing_start, m.sensing_stop, m.mission)
    if chosen is None:
        given = ", ".join(
            f"{Path(e.path).name} ({e.kind}, {e.mission}, valid {e.validity_start.isoformat()} to "
            f"{e.validity_stop.isoformat()})"
            for e in eofs
        )
        raise ProductError(
            product.path,
            f"Apply-Orbit-File asks for {orbit_type}, but no orbit file given covers "
            f"{m.mission} {m.sensing_start.isoformat()} to {m.sensing_stop.isoformat()}: "
            f"{given}; the precise orbit was not applied",
        )
    return product_orbit(annotation, m.sensing_start, m.sensing_stop, m.mission, [chosen.path])


LOCAL_ADVICE = "truncated or corrupt download? Download the product again"
REMOTE_ADVICE = "read from the archive by byte ranges: its answer follows, if it gave one"


class Measurement:
    """Windowed reads of one polarisation's measurement GeoTIFF (ProductError naming it when unreadable)."""

    def __init__(self, product: S1Product, data: PolarisationData):
        self.where = product.describe(data.measurement or "")
        ann = data.annotation
        path = product.measurement_path(data.polarisation)
        self.advice = REMOTE_ADVICE if is_remote(path) else LOCAL_ADVICE
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)  # GRD measurements carry GCPs only
                self.src = rasterio.open(path)
        except RasterioError as exc:
            raise ProductError(self.where, f"measurement unreadable ({exc}); {self.advice}") from None
        if (self.src.height, self.src.width) != (ann.number_of_lines, ann.number_of_samples):
            self.src.close()
            raise ProductError(
                self.where,
                f"measurement is {self.src.height} x {self.src.width} but the annotation "
                f"says {ann.number_of_lines} x {ann.number_of_samples}; the product is "
                "damaged: download it again",
            )

    def read(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """The DN of image rows r0:r1, columns c0:c1."""
        try:
            return self.src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
        except RasterioError as exc:
            raise ProductError(
                self.where, f"measurement unreadable at lines {r0}-{r1} ({exc}); {self.advice}"
            ) from None

    def close(self) -> None:
        """Close the GeoTIFF."""
        self.src.close()


# --------------------------------------------------------------------------- the radiometric chain on a block


@dataclasses.dataclass(frozen=True)
class BorderPlan:
    """Remove-GRD-Border-Noise over a product (:mod:`soilsat.sar.border`): its zones, the co-pol whose amplitude
    is tested and the border noise LUT over every image column; inactive from IPF 2.90."""

    active: bool
    zones: border.Zones
    copol: str
    noise: np.ndarray  # per image column (DN^2)
    threshold: float


def co_polarisation(product: S1Product) -> str:
    """The co-polarised channel of a product (VV or HH), whose amplitude decides the border noise of every band."""
    for pol in product.polarisations:
        if pol in ("VV", "HH"):
            return pol
    raise ProductError(product.path, "Remove-GRD-Border-Noise needs a VV or HH band; the product has none")


def _strip_profiles(
    meas: Measurement, shape: tuple[int, int], limit: int, sides: Sequence[str], block_lines: int
) -> dict[str, np.ndarray]:
    """The edge profiles of the sides asked for (top, bottom, left, right), read from the co-pol amplitude."""
    n_lines, n_samples = shape
    profiles = {}
    for side in sides:
        if side in ("top", "bottom"):
            lim = min(limit, n_lines)
            r0 = 0 if side == "top" else n_lines - lim
            acc = border.EdgeProfile(lim, n_samples)
            acc.add(meas.read(r0, r0 + lim, 0, n_samples), 0)
            acc.set_sizes(n_samples)
        else:
            lim = min(limit, n_samples)
            c0 = 0 if side == "left" else n_samples - lim
            acc = border.EdgeProfile(lim, n_lines)
            for b0 in range(0, n_lines, block_lines):
                b1 = min(b0 + block_lines, n_lines)
                acc.add(meas.read(b0, b1, c0, c0 + lim).T, b0)
            acc.set_sizes(n_lines)
        profiles[side] = acc.profile()
    return profiles


def plan_border(
    spec: ChainSpec,
    product: S1Product,
    window: tuple[int, int, int, int],
    block_lines: int = BLOCK_LINES,
) -> BorderPlan:
    """The border-noise plan of a product for an image window: the depth of each side the window reaches into,
    from the co-pol's edge profile, and the co-pol's border noise LUT (inactive from IPF 2.90)."""
    ipf = product.manifest.ipf_tuple
    empty = np.zeros(0)
    copol = co_polarisation(product)
    if not border.needs_border_removal(ipf):
        return BorderPlan(False, border.Zones(), copol, empty, spec.trim_threshold)
    data = product.polarisation(copol)
    ann = data.annotation
    shape = (ann.number_of_lines, ann.number_of_samples)
    lim = spec.border_limit
    r0, r1, c0, c1 = window
    sides = [
        side
        for side, near in (
            ("top", r0 < lim),
            ("bottom", r1 > shape[0] - lim),
            ("left", c0 < lim),
            ("right", c1 > shape[1] - lim),
        )
        if near
    ]
    meas = Measurement(product, data)
    try:
        profiles = _strip_profiles(meas, shape, lim, sides, block_lines)
    finally:
        meas.close()
    peaks = {side: border.peak_position(profiles[side]) if side in profiles else -1 for side in border.SIDES}
    zones = border.Zones.from_peaks((min(lim, shape[0]), min(lim, shape[1])), **peaks)
    if ann.thermal_noise_removed or not data.noise.range_vectors:
        noise = np.zeros(shape[1])
    else:
        try:
            scale = border.noise_scale(ipf, product.manifest.mode, float(data.calibration.vectors[0].dn[0]))
        except ValueError as exc:
            raise ProductError(product.path, str(exc)) from None
        vectors = data.noise.range_vectors
        middle = vectors[len(vectors) // 2]
        noise = border.noise_lut(middle.pixel, middle.lut, shape[1], scale)
    log.info(
        "border noise zones (rows from top/bottom, columns from left/right): %d/%d, %d/%d",
        zones.top,
        zones.bottom,
        zones.left,
        zones.right,
    )
    return BorderPlan(True, zones, copol, noise, spec.trim_threshold)


def calibrate_block(
    spec: ChainSpec,
    data: PolarisationData,
    meas: Measurement,
    copol: Measurement | None,
    plan: BorderPlan,
    rows: tuple[int, int],
    cols: tuple[int, int],
) -> np.ndarray:
    """Thermal noise removal, border noise removal and calibration (to sigma0 or beta0, as the graph says) of image
    rows x cols: linear values, NaN no-value."""
    (r0, r1), (c0, c1) = rows, cols
    dn = meas.read(r0, r1, c0, c1)
    out, _ = sigma0_window(data, dn, r0, c0, lut=spec.lut)
    ann = data.annotation
    shape = (ann.number_of_lines, ann.number_of_samples)
    if plan.active and plan.zones.touches(rows, cols, shape):
        co_dn = dn if copol is None else copol.read(r0, r1, c0, c1)
        out[border.border_mask(co_dn, rows, cols, shape, plan.zones, plan.noise[c0:c1], plan.threshold)] = np.nan
    return out


# --------------------------------------------------------------------------- the whole chain


class FilteredImage:
    """One polarisation's filtered sigma0 (or beta0) over the image window, as float32 rows in a scratch file.

    The file is written with plain writes, then mapped whole for reading; after each block of grid
    rows every mapped page is released, so what the process holds of it is what one block samples."""

    def __init__(self, path: Path, window: tuple[int, int, int, int]):
        self.path, self.window = path, window  # window: r0, r1, c0, c1 of the image
        r0, r1, c0, c1 = window
        self._file = open(path, "rb")
        self._map = mmap.mmap(self._file.fileno(), 0, prot=mmap.PROT_READ)
        self.rows = np.frombuffer(self._map, dtype=np.float32).reshape(r1 - r0, c1 - c0)

    def sample_into(self, line: np.ndarray, pixel: np.ndarray, valid: np.ndarray, out: np.ndarray) -> None:
        """Bilinear samples (float32) at image positions into `out` where `valid` (NaN elsewhere); the mapping is
        released afterwards."""
        r0, r1, c0, c1 = self.window
        terrain.sample_valid(self.rows, line, pixel, valid, (r0, c0), out)
        self.release()

    def release(self) -> None:
        """Give back every mapped page: a block of grid rows samples a slanted band of each image line, which the
        next block hardly touches, and the kernel maps whole folios around each page touched, so the pages two
        blocks share are read back from the page cache rather than held."""
        self._map.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        """Unmap and close the scratch file."""
        del self.rows
        self._map.close()
        self._file.close()


def filter_window(
    spec: ChainSpec,
    product: S1Product,
    data: PolarisationData,
    plan: BorderPlan,
    window: tuple[int, int, int, int],
    block_lines: int,
    path: Path,
) -> FilteredImage:
    """Calibrate and Lee-sigma-filter one polarisation over the window, block by block of lines, into `path`."""
    r0, r1, c0, c1 = window
    halo = filter_halo(spec.window, spec.target)
    meas = Measurement(product, data)
    copol = None
    if plan.active and data.polarisation != plan.copol:
        copol = Measurement(product, product.polarisation(plan.copol))
    try:
        with open(path, "wb") as f:
            for b0 in range(r0, r1, block_lines):
                b1 = min(b0 + block_lines, r1)
                s0, s1 = max(b0 - 1 - halo, r0), min(b1 + 1 + halo, r1)
                cal = calibrate_block(spec, data, meas, copol, plan, (s0, s1), (c0, c1))
                filtered = lee_sigma(cal, looks=spec.looks, window=spec.window, target=spec.target, sigma=spec.sigma)
                del cal
                np.ascontiguousarray(filtered[b0 - s0 : b1 - s0], dtype=np.float32).tofile(f)
                del filtered
    finally:
        meas.close()
        if copol is not None:
            copol.close()
    return FilteredImage(path, window)


BlockSink = Callable[[int, int, np.ndarray], None]


def srgr_ratio(annotation: Annotation, window: tuple[int, int, int, int]) -> np.ndarray:
    """d(slant range)/d(ground range) per window column at the window's middle line, as SNAP's Terrain-Flattening
    takes it (a forward difference of one pixel on the ground-to-slant polynomial); it changes by about 1e-5 along
    a scene's lines."""
    r0, r1, c0, c1 = window
    conv = geocoding.RangeConversion(annotation)
    line = np.full(c1 - c0, 0.5 * (r0 + r1 - 1))
    cols = np.arange(c0, c1, dtype=float)
    return (conv.slant_range(line, cols + 1.0) - conv.slant_range(line, cols)) / annotation.range_pixel_spacing


def stream_chain(
    spec: ChainSpec,
    grid: StudyGrid,
    sink: BlockSink,
    orbit_files: Sequence[str | os.PathLike] = (),
    block_lines: int = BLOCK_LINES,
    grid_rows: int = GRID_BLOCK_ROWS,
    source: S1Product | None = None,
) -> dict[str, object]:
    """Execute a chain on the study grid, handing `sink(g0, g1, stack)` each block of grid rows (block_bands' stack,
    valid until the next block); returns the attributes. `source`, when given, is the product read instead of the
    graph's Read.file (a remote SAFE whose measurements are read by ranges: soilsat.sar.remote_safe); the caller
    closes it.

    The filtered image window goes to a scratch file per polarisation (float32, in the temporary
    folder); the grid's geometry, heights and bands exist for one block of grid rows at a time.
    With Terrain-Flattening the blocks handed on lag LAG_ROWS grid rows behind the geometry.
    """
    check_grid(spec, grid)
    with contextlib.ExitStack() as stack:
        product = source if source is not None else stack.enter_context(open_product(spec.product))
        datas = {pol: product.polarisation(pol) for pol in spec.polarisations}
        ann = datas[spec.polarisations[0]].annotation
        size = (ann.number_of_lines, ann.number_of_samples)
        for pol, d in datas.items():
            if (d.annotation.number_of_lines, d.annotation.number_of_samples) != size:
                raise ProductError(product.describe(d.measurement or ""), f"polarisation {pol} differs in image size")
        orbit = chain_orbit(product, ann, orbit_files, spec.orbit_type, spec.continue_on_fail)
        dem = read_dem(spec.dem, spec.dem_nodata)
        model = geocoding.RangeDopplerModel.from_annotation(ann, orbit, spec.range_polynomial)
        span = height_span(dem, grid)
        halo = filter_halo(spec.window, spec.target) + terrain.SAMPLING_HALO  # what the filter reads, and sampling
        window = geocoding.image_window(model, grid, span, halo)
        levels = geocoding.height_levels(np.array(span)) if span else None
        if not border.needs_border_removal(product.manifest.ipf_tuple):
            log.info(
                "IPF %s masks GRD borders itself (>= 2.90): Remove-GRD-Border-Noise leaves %s as it is",
                product.manifest.ipf_version,
                product.name,
            )
        elif window is not None:
            log.info(
                "IPF %s: removing GRD border noise (borderLimit %d, trimThreshold %g)",
                product.manifest.ipf_version,
                spec.border_limit,
                spec.trim_threshold,
            )
        images: dict[str, FilteredImage | None] = dict.fromkeys(spec.polarisations)
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soilsat-s1-")))
        flattening = None
        noise = None
        if window is not None:
            log.info("image window lines %d-%d, samples %d-%d of %d x %d", *window, *size)
            plan = plan_border(spec, product, window, block_lines)
            for pol, data in datas.items():
                image = filter_window(spec, product, data, plan, window, block_lines, scratch / f"{pol}.f32")
                images[pol] = image
                stack.callback(image.close)
            if spec.radiometry == "gamma0":
                areas = AreaImage(scratch, window, spec.area_layers)
                stack.callback(areas.close)
                n = subfacets(
                    grid.resolution, ann.range_pixel_spacing, ann.azimuth_pixel_spacing, spec.oversampling_multiple
                )
                flattening = Flattening(
                    areas, n, ann.range_pixel_spacing, ann.azimuth_pixel_spacing, srgr_ratio(ann, window)
                )
                log.info("terrain flattening: %d x %d sub-facets per grid pixel", n, n)
            if spec.noise_layers:
                noise = {pol: NoisePower(data, window) for pol, data in datas.items()}
        any_height = False
        blocks = geocoding.geometry_blocks(model, grid, dem, grid_rows, geocoding.LAYOVER_HALO_ROWS, levels)

        def bands(geo: geocoding.Geometry) -> np.ndarray:
            return terrain.block_bands(geo, images, size[0], size[1], flattening, noise)

        carried: tuple[int, int, geocoding.Geometry] | None = None
        for g0, g1, geo in blocks:
            any_height = any_height or bool(np.isfinite(geo.heights).any())
            if flattening is None:
                sink(g0, g1, bands(geo))
                continue
            flattening.add(geo)
            if carried is not None:
                sink(carried[0], carried[1], bands(carried[2]))
            cut = g1 if g1 == grid.height else max(g1 - LAG_ROWS, g0)
            if cut > g0:
                sink(g0, cut, bands(geo.rows(0, cut - g0)))
            carried = (cut, g1, geo.rows(cut - g0, g1 - g0).copy()) if cut < g1 else None
            flattening.areas.release()
        if carried is not None:
            sink(carried[0], carried[1], bands(carried[2]))
        if not any_height:
            raise ProductError(
                spec.dem,
                f"DEM does not cover the study grid of region {grid.region} (no height at any "
                "grid pixel); supply a DEM covering the region's AOI plus the grid margin",
            )
        return {
            **product_tags(product),
            "crs": grid.crs,
            "region": grid.region,
            "engine": "builtin",
            "graph_hash": spec.graph_hash,
            "orbit": orbit.source,
            "image_window": " ".join(str(v) for v in window) if window else "none",
            "radiometry": spec.radiometry,
            **({"range_polynomial": spec.range_polynomial} if spec.range_polynomial != "nearest" else {}),
        }


@dataclasses.dataclass(frozen=True)
class GraphOutput:
    """What a graph run leaves in memory beside its COG: how many grid pixels its mask band calls valid, of how
    many, and the output's attributes (a footprint-wide mask would hold 0.6 GB for that one number)."""

    valid_pixels: int
    grid_pixels: int
    attrs: dict

    @classmethod
    def of_mask(cls, mask: np.ndarray, attrs: dict) -> GraphOutput:
        """The output of a run whose mask band (0 no data, 1 valid, 2 layover, 3 shadow) is at hand."""
        return cls(int(np.count_nonzero(mask == terrain.MASK_VALID)), int(mask.size), attrs)

    @property
    def valid_fraction(self) -> float:
        """Share of the study grid with valid backscatter."""
        return self.valid_pixels / self.grid_pixels if self.grid_pixels else 0.0


def run_graph(
    graph_path: str | os.PathLike,
    grid: StudyGrid,
    output: str | os.PathLike,
    orbit_files: Sequence[str | os.PathLike] = (),
    tags: dict | None = None,
    block_lines: int = BLOCK_LINES,
) -> GraphOutput:
    """Execute a graph file with the builtin engine, writing the result block by block as one COG at `output`
    (atomically), with large arrays served from a heap that keeps freed memory (soilsat.heap); returns the count
    of valid pixels and the output's attributes (the bands are in the COG).

    Plain arrays, not xarray: a Sentinel-1 job then never imports xarray and dask, which cost it about
    0.6 s of its 2.5 s.
    """
    spec = read_chain(graph_path)
    log.info(
        "builtin engine: %s (graph %s), Lee sigma %dx%d/%dx%d sigma %.1f looks %d",
        spec.product.name,
        spec.graph_hash,
        spec.window,
        spec.window,
        spec.target,
        spec.target,
        spec.sigma,
        spec.looks,
    )
    attrs = band_attrs(spec.polarisations, spec.radiometry, spec.noise_layers or spec.area_layers)
    with (
        reused_heap(),
        cog_writer(
            output,
            grid,
            list(attrs),
            list(attrs.values()),
            threads=numba.get_num_threads(),
            categorical=[name == "mask" for name in attrs],
        ) as dst,
    ):
        mask_band = list(attrs).index("mask")
        valid = 0

        def write(g0: int, g1: int, stack: np.ndarray) -> None:
            nonlocal valid
            valid += int(np.count_nonzero(stack[mask_band] == terrain.MASK_VALID))
            dst.write(g0, stack)

        out_attrs = stream_chain(spec, grid, write, orbit_files, block_lines)
        merged = {k: v for k, v in out_attrs.items() if isinstance(v, (str, int, float))}
        merged.update(tags or {})
        dst.update_tags(**{k: str(v) for k, v in merged.items()})
    return GraphOutput(valid, grid.height * grid.width, out_attrs)
