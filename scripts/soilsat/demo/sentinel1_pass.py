"""One Sentinel-1 IW GRD pass of the demo orbit over a region: crop geometry, geolocation, LUTs and the image.

A pass is a small crop of a GRD scene around one region's study grid (plus about 1 km on each side), in
zero-Doppler / ground-range geometry from the demo orbit. The image is formed so that geocoding it with its
own annotation lands on the truth: each pixel is located on the DEM, given the water-cloud sigma0 of the truth
soil moisture and vegetation there, speckled, offset by the thermal noise of the noise LUT and scaled by the
calibration LUT. How the pass is written as a SAFE product is :mod:`soilsat.demo.sentinel1_safe`.

Regions of a climate with ``terrain_backscatter`` (the hilly ``upland``) are imaged with the terrain's
radiometry: each image pixel's located surface patch, from its neighbours' positions on the DEM, has a
true area and a local incidence angle; its surface backscatter is the water-cloud gamma0 at the local
incidence (sigma0 per unit surface area over the cosine of the local incidence), and its beta0 is that
gamma0 times the patch's area projected normal to the look direction over the pixel's area in the slant
plane (Small 2011). The truth then holds that gamma0 on the study grid. The gentle regions keep the
ellipsoid radiometry (their slopes of a degree or two change sigma0 by about 0.1 dB), so their products
are what they were.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyproj
from scipy import ndimage

from soilsat.demo import orbit as orb
from soilsat.demo.backscatter import water_cloud, water_sigma0
from soilsat.demo.world import CLIMATES, RegionWorld
from soilsat.grid import StudyGrid

POLARISATIONS = ("VV", "VH")
PIXEL_SPACING = 10.0
MARGIN_M = 1000.0
BORDER_LINES = 24
BORDER_SAMPLES = 36
BETA_NOUGHT = 4.73e02
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
    area_ratio: np.ndarray | None = None  # per image pixel: illuminated area / slant-plane area (terrain radiometry)
    local_incidence: np.ndarray | None = None  # per image pixel, degrees (terrain radiometry)
    grid_local_incidence: np.ndarray | None = None  # on the study grid, degrees (terrain radiometry)

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


def _dem_sampler(grid: StudyGrid, dem: np.ndarray) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]:
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


def _ground_range_curve(
    orbit: orb.Orbit, t: float, ranges: np.ndarray, height: float, lon0: float, lat0: float
) -> np.ndarray:
    """Ground range (m, along the ellipsoid at a height) of slant ranges at one azimuth time, from the first."""
    lon, lat = orb.ground_point(orbit, np.full(ranges.shape, t), ranges, height, lon0, lat0, iterations=10)
    p = orb.geodetic_to_ecef(lon, lat, height)
    step = np.linalg.norm(np.diff(p, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(step)])


def _bilinear_lut(
    lines: np.ndarray, pixels: np.ndarray, values: np.ndarray, n_lines: int, n_samples: int
) -> np.ndarray:
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
    srgr_fits: list[np.ndarray] = []
    grsr_fits: list[np.ndarray] = []
    for t in conversion_times:
        g = _ground_range_curve(orbit, float(t), ranges, terrain_height, lon_c, lat_c)
        srgr_fits.append(_poly_fit(ranges - range_near, g, POLY_DEGREE))
        grsr_fits.append(_poly_fit(g, ranges - range_near, POLY_DEGREE))
        grsr_fits[-1][0] += range_near
    srgr, grsr = np.array(srgr_fits), np.array(grsr_fits)

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
        at_height.append(
            [_bilinear_lut(coarse_lines, coarse_pixels, v, n_lines, n_samples) for v in (clon, clat, crow, ccol, cinc)]
        )
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
    nearest = landcover[
        np.clip(np.rint(row).astype(int), 0, grid.height - 1), np.clip(np.rint(col).astype(int), 0, grid.width - 1)
    ]
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
        nesz_db = (
            NESZ_DB[pol] + 1.2 * np.cos(2 * np.pi * ground_abs / 45.0e3) + 0.002 * lut_lines[:, None] / max(n_lines, 1)
        )
        noise_range_lut[pol] = sigma_lut**2 * 10 ** (nesz_db / 10)
    noise_az_lines = np.unique(np.concatenate([np.arange(0, n_lines, NOISE_AZIMUTH_LINE_STEP), [n_lines - 1]]))
    burst_angle = 2 * np.pi * (t_lines[noise_az_lines] - orbit.ascending_node_time) / BURST_CYCLE_S
    noise_az_lut = 1.0 + 0.05 * np.cos(burst_angle)

    a_sigma2 = _bilinear_lut(lut_lines, lut_pixels, sigma_lut, n_lines, n_samples) ** 2
    az = np.interp(np.arange(n_lines), noise_az_lines, noise_az_lut)[:, None]
    noise_power = {
        pol: _bilinear_lut(lut_lines, lut_pixels, noise_range_lut[pol], n_lines, n_samples) * az
        for pol in POLARISATIONS
    }

    # Incidence on the study grid, for the truth rasters.
    glon_grid, glat_grid = grid.lonlat()
    gxyz = orb.geodetic_to_ecef(glon_grid, glat_grid, dem)
    gt, _ = orb.zero_doppler(orbit, gxyz, t0=0.0)
    grid_incidence = orb.incidence_angle(orbit, gt, glon_grid, glat_grid, dem)

    terrain: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    if CLIMATES[region.spec.climate].get("terrain_backscatter", False):
        ratio, local = terrain_radiometry(orbit, t_lines, lon, lat, h, slant)
        terrain = (ratio, local, grid_local_incidence(orbit, gt, gxyz))

    # Platform heading: azimuth of the ground velocity at the centre, degrees from north.
    pos, vel = orbit.interpolate(0.0)
    east = np.array([-math.sin(math.radians(lon_c)), math.cos(math.radians(lon_c)), 0.0])
    north = np.cross(orb.ellipsoid_normal(lon_c, lat_c), east)
    heading = math.degrees(math.atan2(float(vel @ east), float(vel @ north)))

    return PassGeometry(
        region=region.spec.name,
        direction=direction,
        reference_date=pd.Timestamp(reference_date),
        orbit=orbit,
        t_first=t_first,
        dt=dt,
        n_lines=n_lines,
        n_samples=n_samples,
        range_near=range_near,
        terrain_height=terrain_height,
        conversion_times=conversion_times,
        srgr=srgr,
        grsr=grsr,
        lon=lon,
        lat=lat,
        height=h,
        incidence=incidence,
        row=row,
        col=col,
        inside=inside,
        water=water,
        lut_lines=lut_lines,
        lut_pixels=lut_pixels,
        sigma_lut=sigma_lut,
        beta_lut=beta_lut,
        gamma_lut=gamma_lut,
        noise_range_lut=noise_range_lut,
        noise_az_lines=noise_az_lines,
        noise_az_lut=noise_az_lut,
        a_sigma2=a_sigma2,
        noise_power=noise_power,
        grid_incidence=grid_incidence,
        heading=heading,
        area_ratio=terrain[0] if terrain else None,
        local_incidence=terrain[1] if terrain else None,
        grid_local_incidence=terrain[2] if terrain else None,
    )


def _cosine_to_look(points: np.ndarray, normal: np.ndarray, satellite: np.ndarray) -> np.ndarray:
    """Cosine between unit surface normals and the look vectors from the points to the satellite."""
    look = satellite - points
    look /= np.linalg.norm(look, axis=-1, keepdims=True)
    return np.einsum("...i,...i->...", normal, look)


def terrain_radiometry(
    orbit: orb.Orbit, t_lines: np.ndarray, lon: np.ndarray, lat: np.ndarray, h: np.ndarray, slant: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per image pixel: the located surface patch's area projected normal to the look direction over the pixel's
    slant-plane area (azimuth spacing x slant range step), and its local incidence angle (degrees).

    The patch spans the steps to the neighbouring pixels' located points (central differences); its normal
    is turned up. A patch facing away from the radar is dark (ratio 0)."""
    points = orb.geodetic_to_ecef(lon, lat, h)
    along_line = np.gradient(points, axis=0)
    along_pixel = np.gradient(points, axis=1)
    normal = np.cross(along_pixel, along_line)
    up = orb.ellipsoid_normal(lon, lat)
    normal *= np.sign(np.einsum("...i,...i->...", normal, up))[..., None]
    area = np.linalg.norm(normal, axis=-1)
    normal /= area[..., None]
    satellite, _ = orbit.interpolate(np.broadcast_to(t_lines[:, None], lon.shape))
    cosine = _cosine_to_look(points, normal, satellite)
    slant_area = PIXEL_SPACING * np.gradient(slant, axis=1)
    ratio = area * np.maximum(cosine, 0.0) / slant_area
    return ratio, np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def grid_local_incidence(orbit: orb.Orbit, t: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Local incidence angle (degrees) of the study grid's pixels: between the DEM surface normal (from the
    neighbouring pixels' points) and the look vector at each pixel's zero-Doppler time."""
    east = np.gradient(points, axis=1)
    north = -np.gradient(points, axis=0)  # rows run south
    normal = np.cross(east, north)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    satellite, _ = orbit.interpolate(t)
    return np.degrees(np.arccos(np.clip(_cosine_to_look(points, normal, satellite), -1.0, 1.0)))


def slant_range_of(
    conversion_times: np.ndarray, grsr: np.ndarray, t: np.ndarray, ground_range: np.ndarray
) -> np.ndarray:
    """Slant range (m) of ground ranges at times t: GRSR polynomials interpolated linearly in azimuth time."""
    per_entry = np.stack([_poly_eval(c, ground_range) for c in grsr])  # (entry, pixel)
    k = np.clip(np.searchsorted(conversion_times, t, side="right") - 1, 0, len(conversion_times) - 2)
    w = ((t - conversion_times[k]) / (conversion_times[k + 1] - conversion_times[k]))[:, None]
    return per_entry[k] * (1 - w) + per_entry[k + 1] * w


def geolocation_grid_indices(n_lines: int, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Lines and pixels of the geolocation grid (first and last included)."""
    lines = np.unique(np.round(np.linspace(0, n_lines - 1, GEOLOCATION_LINES)).astype(int))
    pixels = np.unique(np.round(np.linspace(0, n_samples - 1, GEOLOCATION_PIXELS)).astype(int))
    return lines, pixels


def truth_gamma0(region: RegionWorld, day: pd.Timestamp, local_incidence: np.ndarray) -> dict[str, np.ndarray]:
    """Noise-free linear gamma0 VV and VH of one day on the study grid: the water-cloud sigma0 per unit surface
    area at the local incidence over its cosine (the backscatter terrain flattening recovers)."""
    cos_local = np.cos(np.radians(local_incidence))
    sigma = truth_sigma0(region, day, local_incidence)
    return {pol: (v / cos_local).astype(np.float32) for pol, v in sigma.items()}


def truth_sigma0(region: RegionWorld, day: pd.Timestamp, incidence: np.ndarray) -> dict[str, np.ndarray]:
    """Noise-free linear sigma0 VV and VH of one day on the study grid."""
    sm = region.soil_moisture(day)
    fc = region.fcover(day)
    water = region.truth["landcover"].values == 512
    return {
        pol: np.where(water, water_sigma0(pol), water_cloud(sm, fc, incidence, pol)).astype(np.float32)
        for pol in POLARISATIONS
    }


def form_image(
    g: PassGeometry,
    region: RegionWorld,
    day: pd.Timestamp,
    truth: dict[str, np.ndarray],
    rng: np.random.Generator,
    looks: float,
) -> dict[str, np.ndarray]:
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
        signal = sigma0 * g.a_sigma2
        if g.area_ratio is not None and g.local_incidence is not None:
            # terrain radiometry: beta0 = gamma0 x illuminated area / slant-plane area (DN^2 = beta0 x A_beta^2)
            local = np.minimum(g.local_incidence, 89.0)
            gamma0 = water_cloud(sm, fc, local, pol) / np.cos(np.radians(local))
            beta0 = np.where(g.water, water_sigma0(pol) / np.sin(np.radians(g.incidence)), gamma0 * g.area_ratio)
            signal = np.where(g.inside, beta0 * BETA_NOUGHT**2, signal)
        # Speckle multiplies the whole received power, backscatter and thermal noise alike.
        power = (signal + g.noise_power[pol]) * rng.gamma(looks, 1.0 / looks, size=sigma0.shape)
        dn = np.clip(np.rint(np.sqrt(power)), 1, 65535).astype(np.uint16)
        dn[:BORDER_LINES] = 0
        dn[-BORDER_LINES:] = 0
        dn[:, :BORDER_SAMPLES] = 0
        dn[:, -BORDER_SAMPLES:] = 0
        out[pol] = dn
    return out
