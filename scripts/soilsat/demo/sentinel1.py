"""Sentinel-1 IW GRDH dual-polarisation SAFE products of the demo world, with their sigma0 truth.

Each product is a small crop of a GRD scene around one region's study grid (plus about
1 km on each side), in zero-Doppler / ground-range geometry from the demo orbit, with the
manifest, annotation, calibration and noise XMLs in ESA's layout and a uint16 measurement
GeoTIFF with GCPs. The image is formed so that geocoding it with its own annotation lands
on the truth: each pixel is located on the DEM, given the water-cloud sigma0 of the truth
soil moisture and vegetation there, speckled, offset by the thermal noise of the noise LUT
and scaled by the calibration LUT.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.errors
from lxml import etree
from rasterio.control import GroundControlPoint
from scipy import ndimage

from soilsat.demo import orbit as orb
from soilsat.demo.backscatter import water_cloud, water_sigma0
from soilsat.demo.world import RegionWorld, WorldSpec, default_workers, sentinel1_schedule
from soilsat.grid import StudyGrid
from soilsat.io import write_cog

log = logging.getLogger(__name__)

POLARISATIONS = ("VV", "VH")
PLATFORM = "S1A"
IPF_VERSION = "003.40"
RADAR_FREQUENCY = 5.405e9
RANGE_SAMPLING_RATE = 6.434523812571428e07
PIXEL_SPACING = 10.0
MARGIN_M = 1000.0
BORDER_LINES = 24
BORDER_SAMPLES = 36
BETA_NOUGHT = 4.73e02
DN_CONSTANT = 4.0e02
ABSOLUTE_CALIBRATION_CONSTANT = 1.0
NESZ_DB = {"VV": -23.5, "VH": -24.5}
LUT_PIXEL_STEP = 40
LUT_LINE_STEP = 200
NOISE_AZIMUTH_LINE_STEP = 10
BURST_CYCLE_S = 2.758
POLY_DEGREE = 5
GEOLOCATION_LINES = 10
GEOLOCATION_PIXELS = 21
SPECKLE_SEED_STREAM = 1
COARSE_STEP = 16
HEIGHT_STEP = 100.0
# Reference for absolute orbit numbers: S1A's orbit near the start of 2020.
ORBIT_REFERENCE = (pd.Timestamp("2020-01-01"), 30582)
ORBITS_PER_CYCLE = 175
REPEAT_DAYS = 12


@dataclasses.dataclass
class PassGeometry:
    """Everything about a crop that repeats from pass to pass of one relative orbit over one region."""

    region: str
    direction: str
    reference_date: pd.Timestamp
    orbit: orb.Orbit
    t_first: float
    dt: float
    n_lines: int
    n_samples: int
    range_near: float
    terrain_height: float
    conversion_times: np.ndarray
    srgr: np.ndarray
    grsr: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    height: np.ndarray
    incidence: np.ndarray
    row: np.ndarray
    col: np.ndarray
    inside: np.ndarray
    water: np.ndarray
    lut_lines: np.ndarray
    lut_pixels: np.ndarray
    sigma_lut: np.ndarray
    beta_lut: np.ndarray
    gamma_lut: np.ndarray
    noise_range_lut: dict[str, np.ndarray]
    noise_az_lines: np.ndarray
    noise_az_lut: np.ndarray
    a_sigma2: np.ndarray
    noise_power: dict[str, np.ndarray]
    grid_incidence: np.ndarray
    heading: float

    @property
    def t_last(self) -> float:
        """Zero-Doppler time of the last line (s since the orbit epoch)."""
        return self.t_first + (self.n_lines - 1) * self.dt

    def line_times(self) -> np.ndarray:
        """Zero-Doppler time (s since the orbit epoch) of every line."""
        return self.t_first + np.arange(self.n_lines) * self.dt


def _round_us(t: float) -> float:
    """A time in seconds rounded to the microsecond."""
    return round(t * 1e6) / 1e6


def _poly_fit(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    """Coefficients c_i of y = sum c_i x^i, fitted on a scaled axis for conditioning."""
    scale = float(np.max(np.abs(x))) or 1.0
    c = np.polynomial.polynomial.polyfit(x / scale, y, degree)
    return c / scale ** np.arange(degree + 1)


def _poly_eval(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Evaluate sum c_i x^i."""
    return np.polynomial.polynomial.polyval(x, c)


def _dem_sampler(grid: StudyGrid, dem: np.ndarray):
    """A function (lon, lat) -> (height, fractional row, fractional col) on the study grid, edge-extended."""
    to_grid = pyproj.Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)

    def sample(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """DEM height and fractional grid row/column at WGS 84 points."""
        x, y = to_grid.transform(lon, lat)
        row = (grid.y0 - np.asarray(y)) / grid.resolution - 0.5
        col = (np.asarray(x) - grid.x0) / grid.resolution - 0.5
        h = ndimage.map_coordinates(dem, [row.ravel(), col.ravel()], order=1, mode="nearest").reshape(row.shape)
        return h, row, col

    return sample


def _ground_range_curve(orbit: orb.Orbit, t: float, ranges: np.ndarray, height: float,
                        lon0: float, lat0: float) -> np.ndarray:
    """Ground range (m, along the ellipsoid at a height) of slant ranges at one azimuth time, from the first."""
    lon, lat = orb.ground_point(orbit, np.full(ranges.shape, t), ranges, height, lon0, lat0, iterations=10)
    p = orb.geodetic_to_ecef(lon, lat, height)
    step = np.linalg.norm(np.diff(p, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(step)])


def _bilinear_lut(lines: np.ndarray, pixels: np.ndarray, values: np.ndarray, n_lines: int, n_samples: int) -> np.ndarray:
    """A (line, pixel) LUT given on a rectilinear grid, interpolated bilinearly to every pixel."""
    along = np.stack([np.interp(np.arange(n_samples), pixels, v) for v in values])
    line_index = np.arange(n_lines)
    k = np.clip(np.searchsorted(lines, line_index, side="right") - 1, 0, len(lines) - 2)
    w = ((line_index - lines[k]) / (lines[k + 1] - lines[k]))[:, None]
    return along[k] * (1 - w) + along[k + 1] * w


def build_geometry(region: RegionWorld, direction: str, reference_date: pd.Timestamp) -> PassGeometry:
    """The crop geometry, pixel geolocation on the DEM and LUTs of one region's passes in one direction."""
    grid = region.grid
    dem = region.truth["elevation"].values.astype(np.float64)
    terrain_height = float(np.round(dem.mean(), 3))
    lon_c, lat_c = region.spec.lon, region.spec.lat
    orbit = orb.pass_orbit(lon_c, lat_c, reference_date, direction, height=terrain_height)
    orbit = dataclasses.replace(orbit, position=np.round(orbit.position, 6), velocity=np.round(orbit.velocity, 6))
    sample_dem = _dem_sampler(grid, dem)
    to_lonlat = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)

    # Bounding box of the study grid in (azimuth time, slant range).
    xs, ys = grid.x_coords(), grid.y_coords()
    edge_x = np.concatenate([xs, xs, np.full(len(ys), xs[0]), np.full(len(ys), xs[-1])])
    edge_y = np.concatenate([np.full(len(xs), ys[0]), np.full(len(xs), ys[-1]), ys, ys])
    elon, elat = to_lonlat.transform(edge_x, edge_y)
    eh, _, _ = sample_dem(np.asarray(elon), np.asarray(elat))
    et, er = orb.zero_doppler(orbit, orb.geodetic_to_ecef(np.asarray(elon), np.asarray(elat), eh), t0=0.0)

    # Ground speed of the zero-Doppler footprint sets the line spacing (10 m on the ground).
    r_mid = 0.5 * (er.min() + er.max())
    glon, glat = orb.ground_point(orbit, np.array([-0.5, 0.5]), np.full(2, r_mid), terrain_height, lon_c, lat_c)
    pts = orb.geodetic_to_ecef(glon, glat, terrain_height)
    ground_speed = float(np.linalg.norm(pts[1] - pts[0]))
    dt = PIXEL_SPACING / ground_speed
    t_first = _round_us(et.min() - MARGIN_M / ground_speed)
    n_lines = int(math.ceil((et.max() + MARGIN_M / ground_speed - t_first) / dt)) + 1
    t_last = t_first + (n_lines - 1) * dt

    # Range: the first pixel lies MARGIN_M of ground range before the grid's nearest point.
    probe = np.linspace(er.min() - 2.5 * MARGIN_M, er.max() + 2.5 * MARGIN_M, 201)
    g_probe = _ground_range_curve(orbit, 0.5 * (t_first + t_last), probe, terrain_height, lon_c, lat_c)
    g_near = np.interp(er.min(), probe, g_probe) - MARGIN_M
    g_far = np.interp(er.max(), probe, g_probe) + MARGIN_M
    range_near = float(np.round(np.interp(g_near, g_probe, probe), 3))
    n_samples = int(math.ceil((g_far - g_near) / PIXEL_SPACING)) + 1

    # Coordinate conversion polynomials once a second over the crop (ESA: ground range from
    # the first pixel, slant range in metres, slant range of the first pixel fixed).
    conversion_times = np.arange(t_first - 0.5, t_last + 1.5, 1.0)
    ranges = np.linspace(range_near, er.max() + 3 * MARGIN_M, 96)
    srgr, grsr = [], []
    for t in conversion_times:
        g = _ground_range_curve(orbit, float(t), ranges, terrain_height, lon_c, lat_c)
        srgr.append(_poly_fit(ranges - range_near, g, POLY_DEGREE))
        grsr.append(_poly_fit(g, ranges - range_near, POLY_DEGREE))
        grsr[-1][0] += range_near
    srgr, grsr = np.array(srgr), np.array(grsr)

    # Slant range of every pixel: each line interpolates the polynomials of its neighbours in time.
    t_lines = t_first + np.arange(n_lines) * dt
    slant = slant_range_of(conversion_times, grsr, t_lines, np.arange(n_samples) * PIXEL_SPACING)

    # Geolocate every pixel on the DEM (ellipsoidal heights). The mapping from (line, pixel) to the
    # ground is smooth and a pixel's ground point moves linearly with its height along the range
    # circle, so solve exactly on a coarse grid at two heights, interpolate, and iterate the height.
    coarse_lines = np.unique(np.concatenate([np.arange(0, n_lines, COARSE_STEP), [n_lines - 1]]))
    coarse_pixels = np.unique(np.concatenate([np.arange(0, n_samples, COARSE_STEP), [n_samples - 1]]))
    ct = np.broadcast_to(t_lines[coarse_lines][:, None], (len(coarse_lines), len(coarse_pixels)))
    cr = slant[np.ix_(coarse_lines, coarse_pixels)]
    at_height = []
    for hh in (terrain_height, terrain_height + HEIGHT_STEP):
        clon, clat = orb.ground_point(orbit, ct, cr, hh, lon_c, lat_c, iterations=10)
        _, crow, ccol = sample_dem(clon, clat)
        cinc = orb.incidence_angle(orbit, ct, clon, clat, hh)
        at_height.append([_bilinear_lut(coarse_lines, coarse_pixels, v, n_lines, n_samples)
                          for v in (clon, clat, crow, ccol, cinc)])
    base = at_height[0]
    slope = [(b - a) / HEIGHT_STEP for a, b in zip(at_height[0], at_height[1])]
    h = np.full(slant.shape, terrain_height)
    for _ in range(30):
        row = base[2] + (h - terrain_height) * slope[2]
        col = base[3] + (h - terrain_height) * slope[3]
        h_new = ndimage.map_coordinates(dem, [row, col], order=1, mode="nearest")
        converged = np.abs(h_new - h).max() < 1e-4
        h = h_new
        if converged:
            break
    lon, lat, row, col, incidence = (b + (h - terrain_height) * d for b, d in zip(base, slope))
    # The geolocation grid points are solved exactly on the DEM.
    g_lines, g_pixels = geolocation_grid_indices(n_lines, n_samples)
    gt = np.broadcast_to(t_lines[g_lines][:, None], (len(g_lines), len(g_pixels)))
    gr = slant[np.ix_(g_lines, g_pixels)]
    glon, glat = lon[np.ix_(g_lines, g_pixels)], lat[np.ix_(g_lines, g_pixels)]
    gh = np.full(gr.shape, terrain_height)
    for _ in range(30):
        glon, glat = orb.ground_point(orbit, gt, gr, gh, glon, glat, iterations=4)
        gh_new, _, _ = sample_dem(glon, glat)
        converged = np.abs(gh_new - gh).max() < 1e-5
        gh = gh_new
        if converged:
            break
    glon, glat = orb.ground_point(orbit, gt, gr, gh, glon, glat, iterations=4)
    lon[np.ix_(g_lines, g_pixels)], lat[np.ix_(g_lines, g_pixels)], h[np.ix_(g_lines, g_pixels)] = glon, glat, gh
    incidence[np.ix_(g_lines, g_pixels)] = orb.incidence_angle(orbit, gt, glon, glat, gh)
    inside = (row >= -0.5) & (row <= grid.height - 0.5) & (col >= -0.5) & (col <= grid.width - 0.5)
    landcover = region.truth["landcover"].values
    nearest = landcover[np.clip(np.rint(row).astype(int), 0, grid.height - 1), np.clip(np.rint(col).astype(int), 0, grid.width - 1)]
    water = inside & (nearest == 512)

    # Calibration and noise LUTs on a (line, pixel) grid; incidence on the ellipsoid at the terrain height.
    lut_lines = np.unique(np.concatenate([np.arange(0, n_lines, LUT_LINE_STEP), [n_lines - 1]]))
    lut_pixels = np.unique(np.concatenate([np.arange(0, n_samples, LUT_PIXEL_STEP), [n_samples - 1]]))
    lt = np.broadcast_to(t_lines[lut_lines][:, None], (len(lut_lines), len(lut_pixels)))
    lr = slant[np.ix_(lut_lines, lut_pixels)]
    llon, llat = orb.ground_point(orbit, lt, lr, terrain_height, lon_c, lat_c, iterations=10)
    lut_inc = np.radians(orb.incidence_angle(orbit, lt, llon, llat, terrain_height))
    beta_lut = np.full(lut_inc.shape, BETA_NOUGHT)
    sigma_lut = BETA_NOUGHT / np.sqrt(np.sin(lut_inc))
    gamma_lut = BETA_NOUGHT / np.sqrt(np.tan(lut_inc))
    # Thermal noise: a smooth elevation-pattern-like ripple over range, a burst-cycle modulation in azimuth.
    ground_abs = (lut_pixels * PIXEL_SPACING + g_near)[None, :]
    noise_range_lut = {}
    for pol in POLARISATIONS:
        nesz_db = NESZ_DB[pol] + 1.2 * np.cos(2 * np.pi * ground_abs / 45.0e3) + 0.002 * lut_lines[:, None] / max(n_lines, 1)
        noise_range_lut[pol] = sigma_lut**2 * 10 ** (nesz_db / 10)
    noise_az_lines = np.unique(np.concatenate([np.arange(0, n_lines, NOISE_AZIMUTH_LINE_STEP), [n_lines - 1]]))
    noise_az_lut = 1.0 + 0.05 * np.cos(2 * np.pi * (t_lines[noise_az_lines] - orbit.ascending_node_time) / BURST_CYCLE_S)

    a_sigma2 = _bilinear_lut(lut_lines, lut_pixels, sigma_lut, n_lines, n_samples) ** 2
    az = np.interp(np.arange(n_lines), noise_az_lines, noise_az_lut)[:, None]
    noise_power = {pol: _bilinear_lut(lut_lines, lut_pixels, noise_range_lut[pol], n_lines, n_samples) * az
                   for pol in POLARISATIONS}

    # Incidence on the study grid, for the truth rasters.
    glon_grid, glat_grid = grid.lonlat()
    gxyz = orb.geodetic_to_ecef(glon_grid, glat_grid, dem)
    gt, _ = orb.zero_doppler(orbit, gxyz, t0=0.0)
    grid_incidence = orb.incidence_angle(orbit, gt, glon_grid, glat_grid, dem)

    # Platform heading: azimuth of the ground velocity at the centre, degrees from north.
    pos, vel = orbit.interpolate(0.0)
    east = np.array([-math.sin(math.radians(lon_c)), math.cos(math.radians(lon_c)), 0.0])
    north = np.cross(orb.ellipsoid_normal(lon_c, lat_c), east)
    heading = math.degrees(math.atan2(float(vel @ east), float(vel @ north)))

    return PassGeometry(
        region=region.spec.name, direction=direction, reference_date=pd.Timestamp(reference_date),
        orbit=orbit, t_first=t_first, dt=dt, n_lines=n_lines, n_samples=n_samples, range_near=range_near,
        terrain_height=terrain_height, conversion_times=conversion_times, srgr=srgr, grsr=grsr,
        lon=lon, lat=lat, height=h, incidence=incidence, row=row, col=col, inside=inside, water=water,
        lut_lines=lut_lines, lut_pixels=lut_pixels, sigma_lut=sigma_lut, beta_lut=beta_lut,
        gamma_lut=gamma_lut, noise_range_lut=noise_range_lut, noise_az_lines=noise_az_lines,
        noise_az_lut=noise_az_lut, a_sigma2=a_sigma2, noise_power=noise_power,
        grid_incidence=grid_incidence, heading=heading,
    )


def slant_range_of(conversion_times: np.ndarray, grsr: np.ndarray, t: np.ndarray, ground_range: np.ndarray) -> np.ndarray:
    """Slant range (m) of ground ranges at times t: GRSR polynomials interpolated linearly in azimuth time."""
    per_entry = np.stack([_poly_eval(c, ground_range) for c in grsr])  # (entry, pixel)
    k = np.clip(np.searchsorted(conversion_times, t, side="right") - 1, 0, len(conversion_times) - 2)
    w = ((t - conversion_times[k]) / (conversion_times[k + 1] - conversion_times[k]))[:, None]
    return per_entry[k] * (1 - w) + per_entry[k + 1] * w


def truth_sigma0(region: RegionWorld, day: pd.Timestamp, incidence: np.ndarray) -> dict[str, np.ndarray]:
    """Noise-free linear sigma0 VV and VH of one day on the study grid."""
    sm = region.soil_moisture(day)
    fc = region.fcover(day)
    water = region.truth["landcover"].values == 512
    return {pol: np.where(water, water_sigma0(pol), water_cloud(sm, fc, incidence, pol)).astype(np.float32)
            for pol in POLARISATIONS}


def absolute_orbit(relative_orbit: int, when: pd.Timestamp) -> int:
    """The S1A absolute orbit number of a relative orbit near a date (relative = (abs - 73) % 175 + 1)."""
    ref_day, ref_orbit = ORBIT_REFERENCE
    approx = ref_orbit + (pd.Timestamp(when) - ref_day) / pd.Timedelta(days=REPEAT_DAYS) * ORBITS_PER_CYCLE
    base = int(round(approx))
    offset = ((relative_orbit - 1) - (base - 73)) % ORBITS_PER_CYCLE
    if offset > ORBITS_PER_CYCLE // 2:
        offset -= ORBITS_PER_CYCLE
    return base + offset


def _iso(t: np.datetime64) -> str:
    """ISO 8601 time with microseconds and no zone, as in ESA annotations."""
    return str(np.datetime_as_string(np.datetime64(t, "us"), unit="us"))


def _compact(t: np.datetime64) -> str:
    """YYYYMMDDTHHMMSS of a time."""
    return pd.Timestamp(t).strftime("%Y%m%dT%H%M%S")


def _f(x: float) -> str:
    """A double as ESA annotations write it."""
    return f"{x:.15e}"


def _join(values: np.ndarray, fmt: str = "{:.6e}") -> str:
    """Space-separated values of an annotation list."""
    return " ".join(fmt.format(v) for v in np.asarray(values).ravel())


def _el(parent: etree._Element, tag: str, text: object | None = None, **attrib: object) -> etree._Element:
    """Append a child element with optional text and attributes."""
    e = etree.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        e.text = str(text)
    return e


def _tostring(root: etree._Element) -> bytes:
    """Serialise an XML tree with its declaration."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@dataclasses.dataclass
class ProductInfo:
    """Identity and timing of one product."""

    name: str
    stem: dict[str, str]
    index: int
    date: pd.Timestamp
    orbit: orb.Orbit
    geometry: PassGeometry
    absolute_orbit: int
    relative_orbit: int
    datatake: int
    stats: dict[str, tuple[float, float]] = dataclasses.field(default_factory=dict)

    def time(self, t: float | np.ndarray) -> np.ndarray:
        """datetime64 of seconds since this product's orbit epoch."""
        return self.orbit.datetimes(t)


def _ads_header(root: etree._Element, p: ProductInfo, pol: str, image_number: int) -> None:
    """Append the adsHeader shared by the annotation, calibration and noise XMLs."""
    g = p.geometry
    h = _el(root, "adsHeader")
    _el(h, "missionId", PLATFORM)
    _el(h, "productType", "GRD")
    _el(h, "polarisation", pol)
    _el(h, "mode", "IW")
    _el(h, "swath", "IW")
    _el(h, "startTime", _iso(p.time(g.t_first)))
    _el(h, "stopTime", _iso(p.time(g.t_last)))
    _el(h, "absoluteOrbitNumber", p.absolute_orbit)
    _el(h, "missionDataTakeId", p.datatake)
    _el(h, "imageNumber", f"{image_number:03d}")


def annotation_xml(p: ProductInfo, pol: str, image_number: int) -> bytes:
    """The product annotation of one polarisation."""
    g = p.geometry
    root = etree.Element("product")
    _ads_header(root, p, pol, image_number)
    quality = _el(root, "qualityInformation")
    _el(quality, "productQualityIndex", _f(0.0))
    _el(quality, "qualityDataList", count=0)
    general = _el(root, "generalAnnotation")
    info = _el(general, "productInformation")
    _el(info, "pass", g.direction.capitalize())
    _el(info, "timelinessCategory", "NRT-3h")
    _el(info, "platformHeading", _f(g.heading))
    _el(info, "projection", "Ground Range")
    _el(info, "rangeSamplingRate", _f(RANGE_SAMPLING_RATE))
    _el(info, "radarFrequency", _f(RADAR_FREQUENCY))
    _el(info, "azimuthSteeringRate", _f(1.59))
    _el(general, "downlinkInformationList", count=0)
    orbits = _el(general, "orbitList", count=len(p.orbit.time))
    for t, pos, vel in zip(p.orbit.time, p.orbit.position, p.orbit.velocity):
        o = _el(orbits, "orbit")
        _el(o, "time", _iso(p.time(t)))
        _el(o, "frame", "Earth Fixed")
        ep = _el(o, "position")
        for axis, v in zip("xyz", pos):
            _el(ep, axis, _f(v))
        ev = _el(o, "velocity")
        for axis, v in zip("xyz", vel):
            _el(ev, axis, _f(v))
    for tag in ("attitudeList", "rawDataAnalysisList", "replicaInformationList", "noiseList"):
        _el(general, tag, count=0)
    th_list = _el(general, "terrainHeightList", count=2)
    for t in (g.t_first - 1.0, g.t_last + 1.0):
        th = _el(th_list, "terrainHeight")
        _el(th, "azimuthTime", _iso(p.time(t)))
        _el(th, "value", _f(g.terrain_height))
    fm_list = _el(general, "azimuthFmRateList", count=len(g.conversion_times))
    wavelength = orb.SPEED_OF_LIGHT / RADAR_FREQUENCY
    for t in g.conversion_times:
        pos, vel = p.orbit.interpolate(t)
        tau0 = 2 * g.range_near / orb.SPEED_OF_LIGHT
        # Azimuth FM rate -2 V^2 / (lambda R), with R = c tau / 2, as a polynomial in (tau - tau0).
        k0 = -2 * float(vel @ vel) * 0.88 / (wavelength * g.range_near)
        fm = _el(fm_list, "azimuthFmRate")
        _el(fm, "azimuthTime", _iso(p.time(t)))
        _el(fm, "t0", _f(tau0))
        _el(fm, "azimuthFmRatePolynomial", _join([k0, -k0 / tau0, k0 / tau0**2], "{:.15e}"), count=3)

    image = _el(root, "imageAnnotation")
    ii = _el(image, "imageInformation")
    _el(ii, "productFirstLineUtcTime", _iso(p.time(g.t_first)))
    _el(ii, "productLastLineUtcTime", _iso(p.time(g.t_last)))
    _el(ii, "ascendingNodeTime", _iso(p.time(p.orbit.ascending_node_time)))
    _el(ii, "anchorTime", _iso(p.time(g.t_first - 1.0)))
    _el(ii, "productComposition", "Slice")
    _el(ii, "sliceNumber", 1)
    sl = _el(ii, "sliceList", count=1)
    s = _el(sl, "slice")
    _el(s, "sliceNumber", 1)
    _el(s, "sensingStartTime", _iso(p.time(g.t_first - 1.0)))
    _el(s, "sensingStopTime", _iso(p.time(g.t_last + 1.0)))
    _el(ii, "slantRangeTime", _f(2 * g.range_near / orb.SPEED_OF_LIGHT))
    _el(ii, "pixelValue", "Detected")
    _el(ii, "outputPixels", "16 bit Unsigned Integer")
    _el(ii, "rangePixelSpacing", f"{PIXEL_SPACING:.6e}")
    _el(ii, "azimuthPixelSpacing", f"{PIXEL_SPACING:.6e}")
    _el(ii, "azimuthTimeInterval", _f(g.dt))
    _el(ii, "azimuthFrequency", _f(1.0 / g.dt))
    _el(ii, "numberOfSamples", g.n_samples)
    _el(ii, "numberOfLines", g.n_lines)
    _el(ii, "zeroDopMinusAcqTime", _f(0.0))
    _el(ii, "incidenceAngleMidSwath", _f(float(g.incidence[g.n_lines // 2, g.n_samples // 2])))
    stats = _el(ii, "imageStatistics")
    for tag, value in (("outputDataMean", p.stats[pol][0]), ("outputDataStdDev", p.stats[pol][1])):
        e = _el(stats, tag)
        _el(e, "re", f"{value:.6e}")
        _el(e, "im", f"{0.0:.6e}")
    proc = _el(image, "processingInformation")
    for tag, value in [("rawDataAnalysisUsed", "true"), ("orbitDataFileUsed", "true"),
                       ("attitudeDataFileUsed", "false"), ("rxVariationCorrectionApplied", "true"),
                       ("antennaElevationPatternApplied", "true"), ("antennaAzimuthPatternApplied", "true"),
                       ("antennaAzimuthElementPatternApplied", "true"), ("dcMethod", "Data Analysis"),
                       ("dcInputData", "Range Compressed"), ("rangeSpreadingLossCompensationApplied", "true"),
                       ("srgrConversionApplied", "true"), ("detectionPerformed", "true"),
                       ("thermalNoiseCorrectionPerformed", "false")]:
        _el(proc, tag, value)
    for tag, value in [("rfiMitigationPerformed", "Never"), ("rfiMitigationDomain", "TimeAndFrequency"),
                       ("chirpSource", "Nominal"), ("pgSource", "Extracted"), ("rrfSpectrum", "Extended Tapered"),
                       ("applicationLutId", "IW_Default")]:
        _el(proc, tag, value)
    _el(proc, "swathProcParamsList", count=0)
    _el(proc, "inputDimensionsList", count=0)
    _el(proc, "referenceRange", _f(8.0e5))
    _el(proc, "ellipsoidName", "WGS84")
    _el(proc, "ellipsoidSemiMajorAxis", _f(orb.WGS84_A))
    _el(proc, "ellipsoidSemiMinorAxis", _f(orb.WGS84_B))
    _el(proc, "bistaticDelayCorrectionApplied", "true")
    _el(proc, "topsFilterConvention", "Only Echo Lines")
    _el(proc, "orbitSource", "Auxiliary")
    _el(proc, "attitudeSource", "Downlink")
    _el(_el(root, "dopplerCentroid"), "dcEstimateList", count=0)
    _el(_el(root, "antennaPattern"), "antennaPatternList", count=0)

    timing = _el(root, "swathTiming")
    _el(timing, "linesPerBurst", 0)
    _el(timing, "samplesPerBurst", 0)
    _el(timing, "burstList", count=0)

    geo = _el(root, "geolocationGrid")
    lines, pixels = geolocation_grid_indices(g.n_lines, g.n_samples)
    gpl = _el(geo, "geolocationGridPointList", count=len(lines) * len(pixels))
    elevation = orb.look_angle(p.orbit, g.line_times()[lines][:, None], g.lon[np.ix_(lines, pixels)],
                               g.lat[np.ix_(lines, pixels)], g.height[np.ix_(lines, pixels)])
    t_lines = g.line_times()
    for a, line in enumerate(lines):
        for b, pixel in enumerate(pixels):
            gp = _el(gpl, "geolocationGridPoint")
            # Slant range of the grid point from the polynomials, as the image was formed.
            sr = slant_range_of(g.conversion_times, g.grsr, t_lines[line:line + 1], np.array([pixel * PIXEL_SPACING]))[0, 0]
            _el(gp, "azimuthTime", _iso(p.time(t_lines[line])))
            _el(gp, "slantRangeTime", _f(2 * sr / orb.SPEED_OF_LIGHT))
            _el(gp, "line", line)
            _el(gp, "pixel", pixel)
            _el(gp, "latitude", _f(g.lat[line, pixel]))
            _el(gp, "longitude", _f(g.lon[line, pixel]))
            _el(gp, "height", _f(g.height[line, pixel]))
            _el(gp, "incidenceAngle", _f(g.incidence[line, pixel]))
            _el(gp, "elevationAngle", _f(elevation[a, b]))

    cc = _el(root, "coordinateConversion")
    ccl = _el(cc, "coordinateConversionList", count=len(g.conversion_times))
    for t, c_sg, c_gs in zip(g.conversion_times, g.srgr, g.grsr):
        e = _el(ccl, "coordinateConversion")
        _el(e, "azimuthTime", _iso(p.time(t)))
        _el(e, "slantRangeTime", _f(2 * g.range_near / orb.SPEED_OF_LIGHT))
        _el(e, "sr0", _f(g.range_near))
        _el(e, "srgrCoefficients", _join(c_sg, "{:.15e}"), count=len(c_sg))
        _el(e, "gr0", _f(0.0))
        _el(e, "grsrCoefficients", _join(c_gs, "{:.15e}"), count=len(c_gs))

    merging = _el(root, "swathMerging")
    sml = _el(merging, "swathMergeList", count=1)
    sm = _el(sml, "swathMerge")
    _el(sm, "swath", "IW2")
    sbl = _el(sm, "swathBoundsList", count=1)
    sb = _el(sbl, "swathBounds")
    _el(sb, "azimuthTime", _iso(p.time(g.t_first)))
    _el(sb, "firstAzimuthLine", 0)
    _el(sb, "firstRangeSample", 0)
    _el(sb, "lastAzimuthLine", g.n_lines - 1)
    _el(sb, "lastRangeSample", g.n_samples - 1)
    return _tostring(root)


def geolocation_grid_indices(n_lines: int, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Lines and pixels of the geolocation grid (first and last included)."""
    lines = np.unique(np.round(np.linspace(0, n_lines - 1, GEOLOCATION_LINES)).astype(int))
    pixels = np.unique(np.round(np.linspace(0, n_samples - 1, GEOLOCATION_PIXELS)).astype(int))
    return lines, pixels


def calibration_xml(p: ProductInfo, pol: str, image_number: int) -> bytes:
    """The calibration annotation (sigma0, beta0, gamma0 and dn LUTs) of one polarisation."""
    g = p.geometry
    root = etree.Element("calibration")
    _ads_header(root, p, pol, image_number)
    ci = _el(root, "calibrationInformation")
    _el(ci, "absoluteCalibrationConstant", f"{ABSOLUTE_CALIBRATION_CONSTANT:.6e}")
    cvl = _el(root, "calibrationVectorList", count=len(g.lut_lines))
    t_lines = g.line_times()
    n = len(g.lut_pixels)
    for k, line in enumerate(g.lut_lines):
        v = _el(cvl, "calibrationVector")
        _el(v, "azimuthTime", _iso(p.time(t_lines[line])))
        _el(v, "line", line)
        _el(v, "pixel", _join(g.lut_pixels, "{:d}"), count=n)
        _el(v, "sigmaNought", _join(g.sigma_lut[k]), count=n)
        _el(v, "betaNought", _join(g.beta_lut[k]), count=n)
        _el(v, "gamma", _join(g.gamma_lut[k]), count=n)
        _el(v, "dn", _join(np.full(n, DN_CONSTANT)), count=n)
    return _tostring(root)


def noise_xml(p: ProductInfo, pol: str, image_number: int) -> bytes:
    """The thermal-noise annotation in the IPF >= 2.9 layout (range and azimuth vectors)."""
    g = p.geometry
    root = etree.Element("noise")
    _ads_header(root, p, pol, image_number)
    nrl = _el(root, "noiseRangeVectorList", count=len(g.lut_lines))
    t_lines = g.line_times()
    n = len(g.lut_pixels)
    for k, line in enumerate(g.lut_lines):
        v = _el(nrl, "noiseRangeVector")
        _el(v, "azimuthTime", _iso(p.time(t_lines[line])))
        _el(v, "line", line)
        _el(v, "pixel", _join(g.lut_pixels, "{:d}"), count=n)
        _el(v, "noiseRangeLut", _join(g.noise_range_lut[pol][k]), count=n)
    nal = _el(root, "noiseAzimuthVectorList", count=1)
    v = _el(nal, "noiseAzimuthVector")
    _el(v, "swath", "IW2")
    _el(v, "firstAzimuthLine", 0)
    _el(v, "firstRangeSample", 0)
    _el(v, "lastAzimuthLine", g.n_lines - 1)
    _el(v, "lastRangeSample", g.n_samples - 1)
    _el(v, "line", _join(g.noise_az_lines, "{:d}"), count=len(g.noise_az_lines))
    _el(v, "noiseAzimuthLut", _join(g.noise_az_lut), count=len(g.noise_az_lut))
    return _tostring(root)


def measurement_tiff(dn: np.ndarray, p: ProductInfo, pol: str) -> bytes:
    """A uint16 GeoTIFF of the DN with GCPs (lon, lat, height in EPSG:4326) at the geolocation grid."""
    g = p.geometry
    lines, pixels = geolocation_grid_indices(g.n_lines, g.n_samples)
    gcps = [GroundControlPoint(row=float(line), col=float(pixel), x=float(g.lon[line, pixel]),
                               y=float(g.lat[line, pixel]), z=float(g.height[line, pixel]), id=str(i + 1))
            for i, (line, pixel) in enumerate((a, b) for a in lines for b in pixels)]
    with rasterio.MemoryFile() as mem, warnings.catch_warnings():
        # A measurement TIFF is georeferenced by GCPs only, set just after creation.
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with mem.open(driver="GTiff", width=g.n_samples, height=g.n_lines, count=1, dtype="uint16") as dst:
            dst.write(dn, 1)
            dst.gcps = (gcps, rasterio.crs.CRS.from_epsg(4326))
            dst.update_tags(TIFFTAG_IMAGEDESCRIPTION=f"Sentinel-1A IW GRD HR L1 {pol}",
                            TIFFTAG_SOFTWARE=f"Sentinel-1 IPF {IPF_VERSION}")
        return mem.read()


def _footprint(g: PassGeometry) -> list[tuple[float, float]]:
    """(lon, lat) of the image corners: first line near/far, last line far/near."""
    corners = [(0, 0), (0, g.n_samples - 1), (g.n_lines - 1, g.n_samples - 1), (g.n_lines - 1, 0)]
    return [(float(g.lon[a, b]), float(g.lat[a, b])) for a, b in corners]


def manifest_xml(p: ProductInfo, files: dict[str, bytes], repids: dict[str, tuple[str, str, str]]) -> bytes:
    """manifest.safe: package map, metadata (platform, orbit, product, period, footprint) and the data objects."""
    g = p.geometry
    start, stop = p.time(g.t_first), p.time(g.t_last)
    anx = p.time(p.orbit.ascending_node_time)
    ms_since_anx = lambda t: (np.datetime64(t, "ns") - np.datetime64(anx, "ns")).astype(np.int64) / 1e6  # noqa: E731
    footprint = " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in _footprint(g))
    units, meta_objects, data_objects = [], [], []
    for href, (object_id, rep_id, unit_type) in repids.items():
        data = files[href]
        if unit_type == "Metadata Unit":
            units.append(f'      <xfdu:contentUnit unitType="Metadata Unit" repID="{rep_id}">\n'
                         f'        <dataObjectPointer dataObjectID="{object_id}"/>\n      </xfdu:contentUnit>')
            meta_objects.append(f'    <metadataObject ID="{object_id}Annotation" classification="DESCRIPTION" category="DMD">\n'
                                f'      <dataObjectPointer dataObjectID="{object_id}"/>\n    </metadataObject>')
        mime = "application/octet-stream" if href.endswith(".tiff") else "text/xml"
        data_objects.append(
            f'    <dataObject ID="{object_id}" repID="{rep_id}">\n'
            f'      <byteStream mimeType="{mime}" size="{len(data)}">\n'
            f'        <fileLocation locatorType="URL" href="./{href}"/>\n'
            f'        <checksum checksumName="MD5">{hashlib.md5(data).hexdigest()}</checksum>\n'
            f'      </byteStream>\n    </dataObject>')
    for href, (object_id, rep_id, unit_type) in repids.items():
        if unit_type == "Measurement Data Unit":
            dmd = " ".join(f"{prefix}{object_id}Annotation" for prefix in ("product", "noise", "calibration")) + " "
            units.append(f'      <xfdu:contentUnit unitType="Measurement Data Unit" repID="{rep_id}" dmdID="{dmd}">\n'
                         f'        <dataObjectPointer dataObjectID="{object_id}"/>\n      </xfdu:contentUnit>')
    pols = "\n".join(f"            <s1sarl1:transmitterReceiverPolarisation>{pol}</s1sarl1:transmitterReceiverPolarisation>"
                     for pol in POLARISATIONS)
    processed = pd.Timestamp(stop) + pd.Timedelta(minutes=41, seconds=17)
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<xfdu:XFDU xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:gml="http://www.opengis.net/gml" xmlns:xfdu="urn:ccsds:schema:xfdu:1" xmlns:safe="http://www.esa.int/safe/sentinel-1.0" xmlns:s1="http://www.esa.int/safe/sentinel-1.0/sentinel-1" xmlns:s1sar="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar" xmlns:s1sarl1="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1" xmlns:s1sarl2="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-2" xmlns:gx="http://www.google.com/kml/ext/2.2" version="esa/safe/sentinel-1.0/sentinel-1/sar/level-1/grd/standard/iwdp">
  <informationPackageMap>
    <xfdu:contentUnit unitType="SAFE Archive Information Package" textInfo="Sentinel-1 IW Level-1 GRD Product" dmdID="acquisitionPeriod platform generalProductInformation measurementOrbitReference measurementFrameSet" pdiID="processing">
{chr(10).join(units)}
    </xfdu:contentUnit>
  </informationPackageMap>
  <metadataSection>
{chr(10).join(meta_objects)}
    <metadataObject ID="processing" classification="PROVENANCE" category="PDI">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Processing">
        <xmlData>
          <safe:processing name="GRD Post Processing" start="{_iso(processed.to_datetime64())}" stop="{_iso((processed + pd.Timedelta(minutes=6)).to_datetime64())}">
            <safe:facility country="Denmark" name="soilsat demo ground segment" organisation="soilsat" site="demo">
              <safe:software name="Sentinel-1 IPF" version="{IPF_VERSION}"/>
            </safe:facility>
          </safe:processing>
        </xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="platform" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Platform Description">
        <xmlData>
          <safe:platform>
            <safe:nssdcIdentifier>2014-016A</safe:nssdcIdentifier>
            <safe:familyName>SENTINEL-1</safe:familyName>
            <safe:number>A</safe:number>
            <safe:instrument>
              <safe:familyName abbreviation="SAR">Synthetic Aperture Radar</safe:familyName>
              <safe:extension>
                <s1sarl1:instrumentMode>
                  <s1sarl1:mode>IW</s1sarl1:mode>
                  <s1sarl1:swath>IW</s1sarl1:swath>
                </s1sarl1:instrumentMode>
              </safe:extension>
            </safe:instrument>
          </safe:platform>
        </xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="measurementOrbitReference" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Orbit Reference">
        <xmlData>
          <safe:orbitReference>
            <safe:orbitNumber type="start">{p.absolute_orbit}</safe:orbitNumber>
            <safe:orbitNumber type="stop">{p.absolute_orbit}</safe:orbitNumber>
            <safe:relativeOrbitNumber type="start">{p.relative_orbit}</safe:relativeOrbitNumber>
            <safe:relativeOrbitNumber type="stop">{p.relative_orbit}</safe:relativeOrbitNumber>
            <safe:cycleNumber>{(p.absolute_orbit - 73) // ORBITS_PER_CYCLE + 1}</safe:cycleNumber>
            <safe:phaseIdentifier>1</safe:phaseIdentifier>
            <safe:extension>
              <s1:orbitProperties>
                <s1:pass>{g.direction}</s1:pass>
                <s1:ascendingNodeTime>{_iso(anx)}</s1:ascendingNodeTime>
              </s1:orbitProperties>
            </safe:extension>
          </safe:orbitReference>
        </xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="generalProductInformation" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="General Product Information">
        <xmlData>
          <s1sarl1:standAloneProductInformation>
            <s1sarl1:instrumentConfigurationID>6</s1sarl1:instrumentConfigurationID>
            <s1sarl1:missionDataTakeID>{p.datatake}</s1sarl1:missionDataTakeID>
{pols}
            <s1sarl1:productClass>S</s1sarl1:productClass>
            <s1sarl1:productClassDescription>SAR Standard L1 Product</s1sarl1:productClassDescription>
            <s1sarl1:productComposition>Slice</s1sarl1:productComposition>
            <s1sarl1:productType>GRD</s1sarl1:productType>
            <s1sarl1:productTimelinessCategory>NRT-3h</s1sarl1:productTimelinessCategory>
            <s1sarl1:sliceProductFlag>true</s1sarl1:sliceProductFlag>
            <s1sarl1:segmentStartTime>{_iso(p.time(g.t_first - 1.0))}</s1sarl1:segmentStartTime>
            <s1sarl1:sliceNumber>1</s1sarl1:sliceNumber>
            <s1sarl1:totalSlices>1</s1sarl1:totalSlices>
          </s1sarl1:standAloneProductInformation>
        </xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="acquisitionPeriod" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Acquisition Period">
        <xmlData>
          <safe:acquisitionPeriod>
            <safe:startTime>{_iso(start)}</safe:startTime>
            <safe:stopTime>{_iso(stop)}</safe:stopTime>
            <safe:extension>
              <s1:timeANX>
                <s1:startTimeANX>{ms_since_anx(start):.6e}</s1:startTimeANX>
                <s1:stopTimeANX>{ms_since_anx(stop):.6e}</s1:stopTimeANX>
              </s1:timeANX>
            </safe:extension>
          </safe:acquisitionPeriod>
        </xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="measurementFrameSet" classification="DESCRIPTION" category="DMD">
      <metadataWrap mimeType="text/xml" vocabularyName="SAFE" textInfo="Frame Set">
        <xmlData>
          <safe:frameSet>
            <safe:frame>
              <safe:footPrint srsName="http://www.opengis.net/gml/srs/epsg.xml#4326">
                <gml:coordinates>{footprint}</gml:coordinates>
              </safe:footPrint>
            </safe:frame>
          </safe:frameSet>
        </xmlData>
      </metadataWrap>
    </metadataObject>
    <metadataObject ID="s1Level1ProductSchema" classification="SYNTAX" category="REP">
      <metadataReference mimeType="text/xml" vocabularyName="XML Schema" locatorType="URL" href="./support/s1-level-1-product.xsd"/>
    </metadataObject>
    <metadataObject ID="s1Level1NoiseSchema" classification="SYNTAX" category="REP">
      <metadataReference mimeType="text/xml" vocabularyName="XML Schema" locatorType="URL" href="./support/s1-level-1-noise.xsd"/>
    </metadataObject>
    <metadataObject ID="s1Level1CalibrationSchema" classification="SYNTAX" category="REP">
      <metadataReference mimeType="text/xml" vocabularyName="XML Schema" locatorType="URL" href="./support/s1-level-1-calibration.xsd"/>
    </metadataObject>
    <metadataObject ID="s1ObjectTypesSchema" classification="SYNTAX" category="REP">
      <metadataReference mimeType="text/xml" vocabularyName="XML Schema" locatorType="URL" href="./support/s1-object-types.xsd"/>
    </metadataObject>
    <metadataObject ID="s1Level1MeasurementSchema" classification="SYNTAX" category="REP">
      <metadataReference mimeType="text/xml" vocabularyName="SDF" locatorType="URL" href="./support/s1-level-1-measurement.xsd"/>
    </metadataObject>
  </metadataSection>
  <dataObjectSection>
{chr(10).join(data_objects)}
  </dataObjectSection>
</xfdu:XFDU>
"""
    return text.encode("utf-8")


def product_name(start: np.datetime64, stop: np.datetime64, absolute: int, datatake: int) -> str:
    """ESA product name S1A_IW_GRDH_1SDV_<start>_<stop>_<orbit>_<datatake>_<unique id>."""
    prefix = f"{PLATFORM}_IW_GRDH_1SDV_{_compact(start)}_{_compact(stop)}_{absolute:06d}_{datatake:06X}"
    return f"{prefix}_{hashlib.md5(prefix.encode()).hexdigest()[:4].upper()}"


def form_image(g: PassGeometry, region: RegionWorld, day: pd.Timestamp, truth: dict[str, np.ndarray],
               rng: np.random.Generator, looks: float) -> dict[str, np.ndarray]:
    """uint16 DN of both polarisations: water-cloud sigma0 of the truth at each pixel, speckled, noisy, calibrated."""
    coords = [g.row.ravel(), g.col.ravel()]
    sm = ndimage.map_coordinates(region.soil_moisture(day).astype(np.float64), coords, order=1, mode="nearest")
    fc = ndimage.map_coordinates(region.fcover(day).astype(np.float64), coords, order=1, mode="nearest")
    sm, fc = sm.reshape(g.row.shape), fc.reshape(g.row.shape)
    out = {}
    for pol in POLARISATIONS:
        sigma0 = water_cloud(sm, fc, g.incidence, pol)
        sigma0 = np.where(g.water, water_sigma0(pol), sigma0)
        sigma0 = np.where(g.inside, sigma0, float(np.median(truth[pol])))
        # Speckle multiplies the whole received power, backscatter and thermal noise alike.
        power = (sigma0 * g.a_sigma2 + g.noise_power[pol]) * rng.gamma(looks, 1.0 / looks, size=sigma0.shape)
        dn = np.clip(np.rint(np.sqrt(power)), 1, 65535).astype(np.uint16)
        dn[:BORDER_LINES] = 0
        dn[-BORDER_LINES:] = 0
        dn[:, :BORDER_SAMPLES] = 0
        dn[:, -BORDER_SAMPLES:] = 0
        out[pol] = dn
    return out


def write_product(region: RegionWorld, g: PassGeometry, row: pd.Series, index: int, spec: WorldSpec,
                  archive_dir: Path, truth_dir: Path) -> dict:
    """Write one SAFE zip and its truth COG; return its catalogue record."""
    day = pd.Timestamp(row["date"]).normalize()
    shift = (day - g.reference_date.normalize()).days
    orbit = g.orbit.shifted(shift)
    start, stop = orbit.datetimes(g.t_first), orbit.datetimes(g.t_last)
    absolute = absolute_orbit(int(row["relative_orbit"]), pd.Timestamp(start))
    datatake = absolute * 7 + (2 if g.direction == "ASCENDING" else 5)
    name = product_name(start, stop, absolute, datatake)
    stems = {}
    for k, pol in enumerate(POLARISATIONS, start=1):
        stems[pol] = (f"{PLATFORM.lower()}-iw-grd-{pol.lower()}-{_compact(start).lower()}-{_compact(stop).lower()}"
                      f"-{absolute:06d}-{datatake:06x}-{k:03d}")
    info = ProductInfo(name=name, stem=stems, index=index, date=day, orbit=orbit, geometry=g,
                       absolute_orbit=absolute, relative_orbit=int(row["relative_orbit"]), datatake=datatake)

    truth = truth_sigma0(region, day, g.grid_incidence)
    rng = np.random.default_rng([spec.seed, SPECKLE_SEED_STREAM, index])
    dn = form_image(g, region, day, truth, rng, spec.speckle_looks)
    for pol in POLARISATIONS:
        valid = dn[pol][dn[pol] > 0].astype(np.float64)
        info.stats[pol] = (float(valid.mean()), float(valid.std()))

    files: dict[str, bytes] = {}
    repids: dict[str, tuple[str, str, str]] = {}
    for k, pol in reversed(list(enumerate(POLARISATIONS, start=1))):
        stem = stems[pol]
        object_id = stem.replace("-", "")
        entries = [
            (f"annotation/{stem}.xml", f"product{object_id}", "s1Level1ProductSchema", annotation_xml(info, pol, k)),
            (f"annotation/calibration/noise-{stem}.xml", f"noise{object_id}", "s1Level1NoiseSchema", noise_xml(info, pol, k)),
            (f"annotation/calibration/calibration-{stem}.xml", f"calibration{object_id}", "s1Level1CalibrationSchema",
             calibration_xml(info, pol, k)),
        ]
        for href, oid, rep, data in entries:
            files[href] = data
            repids[href] = (oid, rep, "Metadata Unit")
    for k, pol in reversed(list(enumerate(POLARISATIONS, start=1))):
        href = f"measurement/{stems[pol]}.tiff"
        files[href] = measurement_tiff(dn[pol], info, pol)
        repids[href] = (stems[pol].replace("-", ""), "s1Level1MeasurementSchema", "Measurement Data Unit")
    manifest = manifest_xml(info, files, repids)

    zip_path = Path(archive_dir) / "sentinel1" / f"{name}.zip"
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_name(f".{zip_path.name}.part")
    stamp = (day.year, day.month, day.day, 0, 0, 0)  # members dated by the acquisition day: reproducible bytes
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for member, data in [("manifest.safe", manifest), *((href, files[href]) for href in sorted(files))]:
            info = zipfile.ZipInfo(f"{name}.SAFE/{member}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data, compresslevel=1)
    tmp.replace(zip_path)
    data = zip_path.read_bytes()

    write_cog(Path(truth_dir) / "sentinel1" / f"{name}_{region.spec.name}.tif",
              np.stack([truth["VV"], truth["VH"], g.grid_incidence.astype(np.float32)]), region.grid,
              ["sigma0_VV", "sigma0_VH", "incidence_angle"],
              tags={"product": name, "date": day.date().isoformat(), "orbit_direction": g.direction})

    corners = _footprint(g)
    wkt = "POLYGON((" + ",".join(f"{lon:.6f} {lat:.6f}" for lon, lat in corners + corners[:1]) + "))"
    return {
        "source": "sentinel1",
        "name": name,
        "path": f"sentinel1/{name}.zip",
        "product_type": "IW_GRDH_1S",
        "platform": PLATFORM,
        "sensing_start": pd.Timestamp(start).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "sensing_stop": pd.Timestamp(stop).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "orbit_direction": g.direction,
        "relative_orbit": int(row["relative_orbit"]),
        "absolute_orbit": absolute,
        "footprint_wkt": wkt,
        "region": region.spec.name,
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
    }


# What the forked workers of write_products share: read-only, set for the duration of one call.
_JOB_CONTEXT: dict = {}


def _one_product(job: tuple[int, dict]) -> dict:
    """Write one scheduled product in a worker; return its catalogue record."""
    index, row = job
    ctx = _JOB_CONTEXT
    region = ctx["regions"][row["region"]]
    geometry = ctx["geometries"][(row["region"], row["direction"])]
    return write_product(region, geometry, pd.Series(row), index, ctx["spec"], Path(ctx["archive_dir"]),
                         Path(ctx["truth_dir"]))


def write_products(world: list[RegionWorld], spec: WorldSpec, archive_dir: Path, truth_dir: Path,
                   workers: int | None = None) -> list[dict]:
    """Write every scheduled Sentinel-1 product of the demo world; return one catalogue record each.

    `workers` processes (default: up to 2 of the CPUs this process may use) share the products; each
    product draws from its own seeded generator, so the archive does not depend on their number.
    """
    if workers is None:
        workers = default_workers()
    regions = {r.spec.name: r for r in world}
    schedule = sentinel1_schedule(spec)
    geometries: dict[tuple[str, str], PassGeometry] = {}
    for _, row in schedule.iterrows():
        key = (row["region"], row["direction"])
        if key not in geometries:
            geometries[key] = build_geometry(regions[row["region"]], row["direction"], pd.Timestamp(row["date"]))
    jobs = [(int(index), row) for index, row in zip(schedule.index, schedule.to_dict("records"))]
    _JOB_CONTEXT.update(regions=regions, geometries=geometries, spec=spec, archive_dir=str(archive_dir),
                        truth_dir=str(truth_dir))
    records = []
    try:
        if workers > 1 and len(jobs) > 1:
            import concurrent.futures as cf
            import multiprocessing as mp

            with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as ex:
                results = ex.map(_one_product, jobs, chunksize=2)
                for record in results:
                    records.append(record)
                    if len(records) % 10 == 0 or len(records) == len(jobs):
                        log.info("Sentinel-1 products written: %d of %d", len(records), len(jobs))
        else:
            for job in jobs:
                records.append(_one_product(job))
                if len(records) % 10 == 0 or len(records) == len(jobs):
                    log.info("Sentinel-1 products written: %d of %d", len(records), len(jobs))
    finally:
        _JOB_CONTEXT.clear()
    return records
