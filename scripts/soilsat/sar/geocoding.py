"""Range-Doppler geocoding: where each study-grid pixel, at its DEM height, lies in a GRD image and how the radar
sees it.

The one home of SAR geometry. :func:`geometry_blocks` is its entry point: it yields the
:class:`Geometry` of the study grid block by block of rows. For every grid pixel centre, at
its DEM height above the WGS 84 ellipsoid:

1. the ground point in ECEF: its foot on the ellipsoid raised by the height along the
   ellipsoid normal, both solved exactly (pyproj) on a lattice of every 16th pixel and
   interpolated bilinearly in between (well under a millimetre of error over 160 m);
2. its zero-Doppler time by Newton iteration on the interpolated orbit
   (:func:`soilsat.sar.orbit.zero_doppler`), and its slant range; or, given three height
   levels spanning the DEM (the builtin engine), the time solved so on the lattice nodes at
   those heights and interpolated bilinearly across and quadratically in height (errs by
   about 1e-5 line on a full IW footprint), with the slant range exact at that time;
3. image line from the time, image pixel from the slant range through the annotation's
   SRGR polynomial set nearest in azimuth time (as ESA's own geolocation grid does for GRD; to
   0.01 pixel); or, with ``range_polynomial="interpolated"``, through the ground-to-slant
   polynomials interpolated linearly in time between the two neighbouring records, as SNAP does
   (:func:`interpolated_conversion`): midway between records the two differ by a few pixels (up to 3.7 on
   the real S1B product of the tests).

Alongside, per pixel: the ellipsoid incidence angle, the local incidence angle between the
look vector and the DEM surface normal, and layover and shadow. The surface normal is the
cross product of the DEM surface's east and north tangents in ECEF: the ellipsoid foot's step
of one grid pixel (from the lattice, so the map's convergence and scale are taken care of)
plus the neighbouring pixels' height difference along the ellipsoid normal.

Layover and shadow are found along zero-Doppler planes: grid pixels are grouped by image
line, ordered by their ground distance from the sub-satellite track (the geocentric angle
between the satellite and the point's foot on the ellipsoid, through its cosine). A pixel is
in shadow when a pixel nearer the track is seen under a larger off-nadir angle (the ray to it is blocked),
and in layover when a pixel farther from the track has a shorter slant range (both return
in the same range cell). Both carry a tolerance of half a slant-range cell, which keeps
pixels of the same group but slightly different azimuth from flagging one another on
ordinary terrain. A pixel whose surface faces away from the radar (local incidence over
90 degrees) is in active shadow.

With the three height levels, lattice cells whose nodes all map more than 512 image pixels
(about 5 km) beyond one edge of the image get no geometry: nothing there is imaged, and ground
that far out cannot lay over or shadow what is (its shadow would need 5 km of relief).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numba
import numpy as np
import pyproj

from soilsat.grid import StudyGrid
from soilsat.sar.dem import Dem, grid_rows
from soilsat.sar.lattice import LATTICE_STEP, axis_lattice, lerp, node_centres
from soilsat.sar.orbit import Orbit, geodetic_to_ecef, satellite_state, zero_doppler, zero_doppler_point

if TYPE_CHECKING:
    from soilsat.sar.safe import Annotation

_LAYOVER_BIT = 1
_SHADOW_BIT = 2
OUTSIDE_MARGIN = 512  # image pixels (about 5 km) beyond the image whose ground still gets geometry
LAYOVER_HALO_ROWS = 128  # extra grid rows on each side of a block for the layover/shadow sweeps
WINDOW_STEP = 16  # grid pixels between the exact positions that find the image window
WINDOW_MARGIN = 2  # image pixels of slack around them


# --------------------------------------------------------------------------- the sensor model


class RangeConversion:
    """Ground range <-> slant range of GRD pixels along azimuth, from the annotation's
    coordinate-conversion polynomials (SRGR/GRSR). Each image line uses the polynomial set
    nearest in azimuth time, as ESA's geolocation grid does (it is reproduced exactly)."""

    def __init__(self, annotation: Annotation):
        conv = annotation.coordinate_conversion
        if not conv:
            raise ValueError("annotation has no coordinate conversion polynomials")
        t0 = np.datetime64(annotation.first_line_time, "ns")
        self.times = np.array([(c.azimuth_time - t0) / np.timedelta64(1, "s") for c in conv])
        self.azimuth_time_interval = annotation.azimuth_time_interval
        self.spacing = annotation.range_pixel_spacing
        self.sr0 = np.array([c.sr0 for c in conv])
        self.gr0 = np.array([c.gr0 for c in conv])
        n = max(max(c.srgr_coefficients.size, c.grsr_coefficients.size) for c in conv)
        self.srgr = np.zeros((len(conv), n))
        self.grsr = np.zeros((len(conv), n))
        for k, c in enumerate(conv):
            self.srgr[k, : c.srgr_coefficients.size] = c.srgr_coefficients
            self.grsr[k, : c.grsr_coefficients.size] = c.grsr_coefficients
        order = np.argsort(self.times)
        self.times, self.sr0, self.gr0, self.srgr, self.grsr = (
            self.times[order],
            self.sr0[order],
            self.gr0[order],
            self.srgr[order],
            self.grsr[order],
        )
        self._mid = 0.5 * (self.times[1:] + self.times[:-1])

    def _nearest(self, line: np.ndarray) -> np.ndarray:
        return np.searchsorted(self._mid, np.asarray(line, float) * self.azimuth_time_interval)

    @staticmethod
    def _horner(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
        out = np.zeros_like(x)
        for i in range(coef.shape[-1] - 1, -1, -1):
            out = out * x + coef[..., i]
        return out

    def slant_range(self, line: np.ndarray, pixel: np.ndarray) -> np.ndarray:
        """One-way slant range (metres) of image positions."""
        line, pixel = np.broadcast_arrays(np.asarray(line, float), np.asarray(pixel, float))
        k = self._nearest(line)
        return self._horner(self.grsr[k], pixel * self.spacing - self.gr0[k])

    def pixel(self, line: np.ndarray, slant_range: np.ndarray) -> np.ndarray:
        """Image pixel (fractional) of a one-way slant range (metres) on given lines."""
        line, sr = np.broadcast_arrays(np.asarray(line, float), np.asarray(slant_range, float))
        k = self._nearest(line)
        return self._horner(self.srgr[k], sr - self.sr0[k]) / self.spacing


@dataclasses.dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class RangeDopplerModel:
    """What maps a ground point to a GRD image position: the orbit, line timing and SRGR polynomials."""

    orbit: Orbit
    t_first: float  # zero-Doppler time of line 0, s since the orbit epoch
    azimuth_time_interval: float
    number_of_lines: int
    number_of_samples: int
    range_pixel_spacing: float
    azimuth_pixel_spacing: float
    conversion_mid: np.ndarray  # mid-times between polynomial sets, s since line 0
    sr0: np.ndarray
    srgr: np.ndarray  # (sets, coefficients)

    @classmethod
    def from_annotation(
        cls, annotation: Annotation, orbit: Orbit, range_polynomial: str = "nearest"
    ) -> RangeDopplerModel:
        """The model of one product annotation flown on `orbit`; `range_polynomial` "interpolated" converts ranges
        as SNAP does (see :func:`interpolated_conversion`), "nearest" as ESA's geolocation grid does."""
        conv = RangeConversion(annotation)
        t_first = float(orbit.seconds(np.datetime64(annotation.first_line_time, "ns")))
        t_last = t_first + (annotation.number_of_lines - 1) * annotation.azimuth_time_interval
        if not orbit.covers(t_first - 1.0, t_last + 1.0):
            raise ValueError(f"orbit ({orbit.source}) does not cover the image's azimuth times")
        if range_polynomial == "interpolated":
            mid, sr0, srgr = interpolated_conversion(conv, annotation.number_of_lines, annotation.number_of_samples)
        elif range_polynomial == "nearest":
            mid = 0.5 * (conv.times[1:] + conv.times[:-1])  # a line takes the polynomial set nearest in time
            sr0, srgr = conv.sr0, conv.srgr
        else:
            raise ValueError(f"range_polynomial {range_polynomial!r}: expected 'nearest' or 'interpolated'")
        return cls(
            orbit,
            t_first,
            annotation.azimuth_time_interval,
            annotation.number_of_lines,
            annotation.number_of_samples,
            annotation.range_pixel_spacing,
            annotation.azimuth_pixel_spacing,
            np.ascontiguousarray(mid, dtype=float),
            np.ascontiguousarray(sr0, dtype=float),
            np.ascontiguousarray(srgr, dtype=float),
        )

    def kernel_args(self) -> tuple:
        """The arrays the numba kernels take, in their order."""
        return (
            self.t_first,
            self.azimuth_time_interval,
            self.range_pixel_spacing,
            self.conversion_mid,
            self.sr0,
            self.srgr,
            *self.orbit.kernel_args(),
        )


INTERPOLATED_DEGREE = 11  # of the slant-to-ground polynomials refitted per line (0.3 mm from the exact inverse)
INTERPOLATED_NODES = 64  # ground ranges (Chebyshev nodes) each refit goes through


def interpolated_conversion(
    conv: RangeConversion, n_lines: int, n_samples: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SNAP's slant-to-ground range conversion as per-line polynomial sets (mid-times between lines, sr0, srgr).

    SNAP (``SARGeocoding.computeRangeIndex``) interpolates the ground-to-slant (GRSR) coefficients
    linearly in azimuth time between the two records around a line's time (the last two beyond the
    last) and inverts the result by bisection to 0.1 m. Here the interpolated GRSR of each image line
    is inverted exactly at Chebyshev nodes across the swath and refitted as a slant-to-ground
    polynomial of degree INTERPOLATED_DEGREE (to 0.3 mm), so the kernels,
    which take the polynomial set nearest in time, convert as SNAP does: within 0.01 pixel of the exact
    inverse (half a line of time), and within SNAP's own bisection tolerance (0.1 m of slant range)."""
    line_times = np.arange(n_lines) * conv.azimuth_time_interval
    if len(conv.times) == 1:
        k = np.zeros(n_lines, np.int64)
        w = np.zeros(n_lines)
        grsr = np.concatenate([conv.grsr, conv.grsr])
        gr0 = np.concatenate([conv.gr0, conv.gr0])
    else:
        k = np.clip(np.searchsorted(conv.times, line_times, side="right") - 1, 0, len(conv.times) - 2)
        w = (line_times - conv.times[k]) / (conv.times[k + 1] - conv.times[k])
        grsr, gr0 = conv.grsr, conv.gr0
    coef = grsr[k] * (1.0 - w[:, None]) + grsr[k + 1] * w[:, None]  # (line, GRSR coefficient)
    width = n_samples * conv.spacing
    nodes = 0.5 * width * (1.0 - np.cos(np.pi * (np.arange(INTERPOLATED_NODES) + 0.5) / INTERPOLATED_NODES))
    ground = gr0[k][:, None] + nodes[None, :]  # SNAP takes the earlier record's origin
    slant = RangeConversion._horner(coef[:, None, :], ground - gr0[k][:, None])
    sr0 = coef[:, 0]  # the slant range at the ground origin
    scale = float(np.max(slant[:, -1] - sr0)) or 1.0
    srgr = np.empty((n_lines, INTERPOLATED_DEGREE + 1))
    for i in range(n_lines):
        fit = np.polynomial.polynomial.polyfit((slant[i] - sr0[i]) / scale, ground[i] - gr0[k[i]], INTERPOLATED_DEGREE)
        srgr[i] = fit / scale ** np.arange(INTERPOLATED_DEGREE + 1)
    return 0.5 * (line_times[1:] + line_times[:-1]), sr0, srgr


@numba.njit(cache=True, error_model="numpy")
def _image_point(
    px, py, pz, t0, buf, t_first, ati, spacing, mid, sr0, srgr, method, degree, times, pos, vel, coef, centre, scale
):
    """Line, pixel, slant range of one ECEF point; the satellite state at its zero-Doppler time is left in buf."""
    t, r = zero_doppler_point(px, py, pz, t0, buf, method, degree, times, pos, vel, coef, centre, scale)
    line, pixel = _line_pixel(t, r, t_first, ati, spacing, mid, sr0, srgr)
    return line, pixel, r, t


@numba.njit(cache=True, error_model="numpy")
def _line_pixel(t, r, t_first, ati, spacing, mid, sr0, srgr):
    """Image line of a zero-Doppler time and pixel of a slant range (the SRGR set nearest in time)."""
    line = (t - t_first) / ati
    k = np.searchsorted(mid, line * ati)
    x = r - sr0[k]
    g = 0.0
    for i in range(srgr.shape[1] - 1, -1, -1):
        g = g * x + srgr[k, i]
    return line, g / spacing


def points_to_image(model: RangeDopplerModel, xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image (line, pixel) of ECEF points (..., 3), each solved exactly (no lattice)."""
    t_mid = model.t_first + 0.5 * (model.number_of_lines - 1) * model.azimuth_time_interval
    return times_to_image(model, *zero_doppler(model.orbit, xyz, t_mid))


def times_to_image(model: RangeDopplerModel, t: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image (line, pixel) of zero-Doppler times and slant ranges."""
    line = (t - model.t_first) / model.azimuth_time_interval
    k = np.searchsorted(model.conversion_mid, line * model.azimuth_time_interval)
    x = r - model.sr0[k]
    g = np.zeros_like(x)
    for i in range(model.srgr.shape[1] - 1, -1, -1):
        g = g * x + model.srgr[k, i]
    return line, g / model.range_pixel_spacing


@numba.njit(cache=True, error_model="numpy")
def _image_at(
    px, py, pz, t, buf, t_first, ati, spacing, mid, sr0, srgr, method, degree, times, pos, vel, coef, centre, scale
):
    """Line, pixel and slant range of one ECEF point at a given zero-Doppler time; the satellite state is left in
    buf."""
    satellite_state(t, buf, method, degree, times, pos, vel, coef, centre, scale)
    dx, dy, dz = px - buf[0], py - buf[1], pz - buf[2]
    r = math.sqrt(dx * dx + dy * dy + dz * dz)
    line, pixel = _line_pixel(t, r, t_first, ati, spacing, mid, sr0, srgr)
    return line, pixel, r


@numba.njit(cache=True)
def _quadratic(levels, f0, f1, f2, h):
    """The parabola through (levels[i], f_i) at h (Lagrange form)."""
    h0, h1, h2 = levels[0], levels[1], levels[2]
    return (
        f0 * (h - h1) * (h - h2) / ((h0 - h1) * (h0 - h2))
        + f1 * (h - h0) * (h - h2) / ((h1 - h0) * (h1 - h2))
        + f2 * (h - h0) * (h - h1) / ((h2 - h0) * (h2 - h1))
    )


# line, pixel, slant range, cos ellipsoid incidence, cos local incidence, off-nadir angle, ground key, surface area
N_PLANES = 8


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _geometry_kernel(
    kr,
    wr,
    kc,
    wc,
    foot,
    normal,
    east,
    north,
    h,
    first,
    skip,
    t0,
    tlat,
    levels,
    interpolate,
    out,
    t_first,
    ati,
    spacing,
    mid,
    sr0,
    srgr,
    method,
    degree,
    times,
    pos,
    vel,
    coef,
    centre,
    scale,
):
    """Per grid pixel of rows first:first + out.shape[1] of h, the N_PLANES planes of out (see N_PLANES);
    NaN where there is no height or the pixel's lattice cell is in `skip`. The surface area (m2) is that of
    the parallelogram the pixel's tangents span, per pixel: what terrain flattening projects.

    The ellipsoid foot point, normal and the foot's steps of one pixel east and north come
    bilinearly from a lattice (kr/wr, kc/wc: each row's and column's lattice cell and weight);
    the point is the foot raised by the DEM height along the normal, and the DEM surface's
    tangents are the foot's steps plus the height differences of the neighbouring pixels along
    the normal (central differences inside the grid, one-sided at its edges).

    With `interpolate`, the zero-Doppler time is not solved per pixel: it comes bilinearly from
    the lattice's exact times `tlat` at the three heights `levels`, quadratically in height, and
    the satellite state, slant range and pixel follow exactly from it (the range is stationary
    in time at zero Doppler, so a time error enters it only to second order)."""
    n_rows, n_cols = h.shape
    for o in numba.prange(out.shape[1]):
        i = o + first
        buf = np.empty(9)
        tguess = t0
        a, u = kr[i], wr[i]
        i0, i1 = max(i - 1, 0), min(i + 1, n_rows - 1)
        for j in range(n_cols):
            hh = h[i, j]
            b, v = kc[j], wc[j]
            if not np.isfinite(hh) or skip[a, b]:
                for c in range(N_PLANES):
                    out[c, o, j] = np.nan
                continue
            fx, fy, fz = lerp(foot, a, u, b, v, 0), lerp(foot, a, u, b, v, 1), lerp(foot, a, u, b, v, 2)
            nx, ny, nz = lerp(normal, a, u, b, v, 0), lerp(normal, a, u, b, v, 1), lerp(normal, a, u, b, v, 2)
            nn = math.sqrt(nx * nx + ny * ny + nz * nz)
            nx, ny, nz = nx / nn, ny / nn, nz / nn
            px, py, pz = fx + hh * nx, fy + hh * ny, fz + hh * nz
            if interpolate:
                t = _quadratic(
                    levels, lerp(tlat, a, u, b, v, 0), lerp(tlat, a, u, b, v, 1), lerp(tlat, a, u, b, v, 2), hh
                )
                line, pixel, r = _image_at(
                    px,
                    py,
                    pz,
                    t,
                    buf,
                    t_first,
                    ati,
                    spacing,
                    mid,
                    sr0,
                    srgr,
                    method,
                    degree,
                    times,
                    pos,
                    vel,
                    coef,
                    centre,
                    scale,
                )
            else:
                line, pixel, r, t = _image_point(
                    px,
                    py,
                    pz,
                    tguess,
                    buf,
                    t_first,
                    ati,
                    spacing,
                    mid,
                    sr0,
                    srgr,
                    method,
                    degree,
                    times,
                    pos,
                    vel,
                    coef,
                    centre,
                    scale,
                )
                tguess = t  # the neighbour's time is the best start
            lx, ly, lz = (buf[0] - px) / r, (buf[1] - py) / r, (buf[2] - pz) / r
            # DEM surface normal: (east tangent) x (north tangent); the normal turns with the foot
            # (by 1/R per metre), which scales the foot steps of a raised point by (1 + h/R)
            j0, j1 = max(j - 1, 0), min(j + 1, n_cols - 1)
            grow = 1.0 + hh / 6.371e6
            de, dn = h[i, j1] - h[i, j0], h[i0, j] - h[i1, j]
            ex = (j1 - j0) * grow * lerp(east, a, u, b, v, 0) + de * nx
            ey = (j1 - j0) * grow * lerp(east, a, u, b, v, 1) + de * ny
            ez = (j1 - j0) * grow * lerp(east, a, u, b, v, 2) + de * nz
            qx = (i1 - i0) * grow * lerp(north, a, u, b, v, 0) + dn * nx
            qy = (i1 - i0) * grow * lerp(north, a, u, b, v, 1) + dn * ny
            qz = (i1 - i0) * grow * lerp(north, a, u, b, v, 2) + dn * nz
            sx, sy, sz = ey * qz - ez * qy, ez * qx - ex * qz, ex * qy - ey * qx
            sn = math.sqrt(sx * sx + sy * sy + sz * sz)
            s_norm = math.sqrt(buf[0] * buf[0] + buf[1] * buf[1] + buf[2] * buf[2])
            f_norm = math.sqrt(fx * fx + fy * fy + fz * fz)
            out[0, o, j] = line
            out[1, o, j] = pixel
            out[2, o, j] = r
            out[3, o, j] = nx * lx + ny * ly + nz * lz
            out[4, o, j] = (sx * lx + sy * ly + sz * lz) / sn
            # off-nadir angle: between the satellite's geocentric nadir and the ray to the point
            out[5, o, j] = math.acos(min(1.0, max(-1.0, (buf[0] * lx + buf[1] * ly + buf[2] * lz) / s_norm)))
            # ground key: minus the cosine of the geocentric angle between the satellite and the foot
            out[6, o, j] = -(buf[0] * fx + buf[1] * fy + buf[2] * fz) / (s_norm * f_norm)
            # the DEM surface's area around the pixel: the tangents span (j1 - j0) x (i1 - i0) pixels
            out[7, o, j] = sn / ((j1 - j0) * (i1 - i0))


# --------------------------------------------------------------------------- geometry, block by block of grid rows


@dataclasses.dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class Geometry:
    """Image position, incidence cosines and layover/shadow of the grid pixels of a block of rows, at their DEM
    heights (NaN positions and cosines where there is no height or no geometry)."""

    heights: np.ndarray  # DEM heights above the ellipsoid, NaN no data
    line: np.ndarray  # float64
    pixel: np.ndarray
    cos_incidence: np.ndarray  # on the ellipsoid
    cos_local_incidence: np.ndarray  # on the DEM surface
    layover: np.ndarray  # bool
    passive_shadow: np.ndarray  # bool: behind a nearer slope
    surface_area: np.ndarray  # float64: the DEM surface's area of the pixel (m2)

    @property
    def shadow(self) -> np.ndarray:
        """Passive or active shadow (active: the surface faces away from the radar, cos_local_incidence < 0)."""
        with np.errstate(invalid="ignore"):
            return self.passive_shadow | (self.cos_local_incidence < 0.0)

    @property
    def incidence_angle(self) -> np.ndarray:
        """Ellipsoid incidence angle, degrees (float64)."""
        return _degrees(self.cos_incidence)

    @property
    def local_incidence_angle(self) -> np.ndarray:
        """Local incidence angle on the DEM surface, degrees (float64)."""
        return _degrees(self.cos_local_incidence)

    def rows(self, a: int, b: int) -> Geometry:
        """Rows a:b of the block (views)."""
        return Geometry(*(getattr(self, f.name)[a:b] for f in dataclasses.fields(self)))

    def copy(self) -> Geometry:
        """A copy that outlives the block's buffer."""
        return Geometry(*(getattr(self, f.name).copy() for f in dataclasses.fields(self)))

    def inside(self, n_lines: int, n_samples: int, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
        """Whether each pixel falls within an image of that size (whose first element is at `offset`)."""
        line, pixel = self.line - offset[0], self.pixel - offset[1]
        with np.errstate(invalid="ignore"):
            return (line >= -0.5) & (line <= n_lines - 0.5) & (pixel >= -0.5) & (pixel <= n_samples - 0.5)


def _degrees(cosine: np.ndarray) -> np.ndarray:
    """The angle of a cosine in degrees."""
    with np.errstate(invalid="ignore"):
        return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def geometry_blocks(
    model: RangeDopplerModel,
    grid: StudyGrid,
    dem: Dem,
    rows: int,
    halo: int = LAYOVER_HALO_ROWS,
    levels: np.ndarray | None = None,
) -> Iterator[tuple[int, int, Geometry]]:
    """(g0, g1, geometry) of each block of `rows` grid rows g0:g1 in turn, at the heights of `dem`; `levels`
    (three heights spanning the DEM's, height_levels) interpolates the zero-Doppler time (None: exact per pixel).

    The layover/shadow sweeps of a block see `halo` more rows on each side: a zero-Doppler line
    crosses the grid at the track's angle to north (about 10-15 degrees), so 128 rows (1.3 km)
    hold the pixels within about 5 km of range of every pixel of the block. The float64 planes of
    those rows are held in one buffer that rolls on from block to block, so each grid row's
    geometry is computed once. What a block yields are views of that buffer, valid until the next.
    """
    width, height = grid.width, grid.height
    span = min(rows + 2 * halo, height)
    planes = np.empty((N_PLANES, span, width))
    held = np.empty((span, width), np.float32)  # the DEM heights of the rows in `planes`
    lo = hi = 0  # grid rows lo:hi are in planes[:, :hi - lo]
    for g0 in range(0, height, rows):
        g1 = min(g0 + rows, height)
        h0, h1 = max(g0 - halo, 0), min(g1 + halo, height)
        keep = max(hi - h0, 0)
        planes[:, :keep] = planes[:, h0 - lo : hi - lo]
        held[:keep] = held[h0 - lo : hi - lo]
        lo, new = h0, max(hi, h0)
        if new < h1:  # one more row on each side, where there is one, for the surface normals at the edges
            m0, m1 = max(new - 1, 0), min(h1 + 1, height)
            heights = np.asarray(grid_rows(dem, grid, m0, m1), dtype=float)
            _raw_geometry(model, grid, heights, (m0, m1), levels, (new - m0, m1 - h1), planes[:, new - lo : h1 - lo])
            held[new - lo : h1 - lo] = heights[new - m0 : h1 - m0]
        hi = h1
        raw = planes[:, : h1 - lo]
        layover, shadow = layover_shadow(model, grid, raw[0], raw[2], raw[5], raw[6], raw[3])
        core = slice(g0 - lo, g1 - lo)
        yield (
            g0,
            g1,
            Geometry(
                held[core],
                raw[0, core],
                raw[1, core],
                raw[3, core],
                raw[4, core],
                layover[core],
                shadow[core],
                raw[7, core],
            ),
        )


def ellipsoid_lattice(grid: StudyGrid, rows: tuple[int, int], step: int = LATTICE_STEP) -> tuple[np.ndarray, ...]:
    """Each row's and column's lattice cell and weight, then the ECEF foot points on the ellipsoid, unit
    ellipsoid normals and the foot's steps of one pixel east and north on a lattice of every `step`-th
    grid pixel of grid rows r0:r1.

    pyproj runs on the lattice only; bilinear interpolation in between errs by well under a millimetre
    (the ellipsoid's sagitta over 160 m is 0.5 mm, and the map projection is smoother still)."""
    nodes_r, kr, wr = axis_lattice(grid.height, rows[0], rows[1], step)
    nodes_c, kc, wc = axis_lattice(grid.width, 0, grid.width, step)
    xx, yy = node_centres(grid, nodes_r, nodes_c)
    t = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)

    def foot_at(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lon, lat = (np.asarray(v, dtype=float) for v in t.transform(x, y))
        return geodetic_to_ecef(lon, lat, np.zeros_like(lon)), lon, lat

    foot, lon, lat = foot_at(xx, yy)
    half = 0.5 * grid.resolution
    east = foot_at(xx + half, yy)[0] - foot_at(xx - half, yy)[0]  # the foot's step of one pixel east
    north = foot_at(xx, yy + half)[0] - foot_at(xx, yy - half)[0]  # and north (one row up)
    rl, rb = np.radians(lon), np.radians(lat)
    normal = np.stack([np.cos(rb) * np.cos(rl), np.cos(rb) * np.sin(rl), np.sin(rb)], axis=-1)
    return kr, wr, kc, wc, *(np.ascontiguousarray(f) for f in (foot, normal, east, north))


def height_levels(heights: np.ndarray) -> np.ndarray | None:
    """Three heights spanning `heights` (lowest, middle, highest; at least 2 m apart) for the time lattice."""
    finite = heights[np.isfinite(heights)]
    if finite.size == 0:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo < 2.0:
        lo, hi = 0.5 * (lo + hi) - 1.0, 0.5 * (lo + hi) + 1.0
    return np.array([lo, 0.5 * (lo + hi), hi])


def _raw_geometry(
    model: RangeDopplerModel,
    grid: StudyGrid,
    heights: np.ndarray,
    rows: tuple[int, int],
    levels: np.ndarray | None,
    margin: tuple[int, int],
    out: np.ndarray,
) -> None:
    """The per-pixel planes of the numba kernel (N_PLANES, see there) for grid rows r0:r1 into `out`.

    `heights` (float64) are those rows' DEM heights. `levels` (three heights spanning the DEM's)
    interpolates the zero-Doppler time from exact solutions on the lattice nodes at those heights;
    None solves it at every pixel. `margin`: rows at the top and bottom whose heights only serve
    their neighbours' surface normals (no output); `out` is (N_PLANES, rows without the margins, W)."""
    h = np.ascontiguousarray(heights, dtype=float)
    t_mid = model.t_first + 0.5 * (model.number_of_lines - 1) * model.azimuth_time_interval
    lattice = ellipsoid_lattice(grid, rows)
    foot, normal = lattice[4], lattice[5]
    interpolate = levels is not None
    if levels is not None:
        levels = np.ascontiguousarray(levels, dtype=float)
        xyz = foot[:, :, None, :] + levels[None, None, :, None] * normal[:, :, None, :]
        tlat, rlat = zero_doppler(model.orbit, xyz, t_mid)
        tlat = np.ascontiguousarray(tlat)
        skip = far_outside_cells(model, *times_to_image(model, tlat, rlat))
    else:
        tlat, levels = np.zeros((1, 1, 3)), np.zeros(3)
        skip = np.zeros((lattice[0].max() + 1, lattice[2].max() + 1), np.bool_)
    _geometry_kernel(*lattice, h, margin[0], skip, t_mid, tlat, levels, interpolate, out, *model.kernel_args())


def far_outside_cells(
    model: RangeDopplerModel, line: np.ndarray, pixel: np.ndarray, margin: float = OUTSIDE_MARGIN
) -> np.ndarray:
    """Lattice cells whose image positions (line and pixel of its nodes, (rows, cols, levels)) all lie more
    than `margin` image pixels beyond one edge of the image: their pixels need no geometry."""

    def cell(extreme: Callable[..., np.ndarray], a: np.ndarray) -> np.ndarray:
        a = extreme(a, axis=-1)
        return extreme(np.stack([a[:-1, :-1], a[:-1, 1:], a[1:, :-1], a[1:, 1:]]), axis=0)

    with np.errstate(invalid="ignore"):
        return (
            (cell(np.max, line) < -margin)
            | (cell(np.min, line) > model.number_of_lines - 1 + margin)
            | (cell(np.max, pixel) < -margin)
            | (cell(np.min, pixel) > model.number_of_samples - 1 + margin)
        )


def image_window(
    model: RangeDopplerModel, grid: StudyGrid, span: tuple[float, float] | None, halo: int, step: int = WINDOW_STEP
) -> tuple[int, int, int, int] | None:
    """The image window (r0, r1, c0, c1) the grid needs (plus `halo`), from exact positions on a lattice of every
    `step`-th grid pixel (and the last) at the lowest and highest DEM height (`span`); None if none falls in the image.

    An image position moves monotonically with height, so a pixel at any DEM height lies between its
    lattice neighbours' positions at the two extremes; WINDOW_MARGIN covers the curvature in between."""
    if span is None:
        return None
    rows = np.unique(np.r_[np.arange(0, grid.height, step), grid.height - 1])
    cols = np.unique(np.r_[np.arange(0, grid.width, step), grid.width - 1])
    xx, yy = node_centres(grid, rows, cols)
    lon, lat = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(xx, yy)
    xyz = np.stack([geodetic_to_ecef(lon, lat, np.full(lon.shape, h)) for h in span])
    line, pixel = points_to_image(model, xyz)
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


# --------------------------------------------------------------------------- layover and shadow


def layover_shadow(
    model: RangeDopplerModel,
    grid: StudyGrid,
    line: np.ndarray,
    slant_range: np.ndarray,
    off_nadir: np.ndarray,
    ground_angle: np.ndarray,
    cos_incidence: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Layover and shadow flags by sweeps along zero-Doppler planes (see the module notes); the arrays are
    the planes of _raw_geometry."""
    flags = np.zeros(line.shape, dtype=np.uint8)
    # the tolerances need typical values only: medians of every 4th row and column (of all when that is empty)
    for step in (4, 1):
        sub = (slice(None, None, step), slice(None, None, step))
        ok = np.isfinite(line[sub]) & np.isfinite(slant_range[sub])
        if ok.any():
            break
    else:
        return flags.astype(bool), flags.astype(bool)
    width = max(1.0, grid.resolution / model.azimuth_pixel_spacing)  # lines per group: one grid pixel
    sin_inc = float(np.sqrt(1.0 - np.nanmedian(cos_incidence[sub][ok]) ** 2))
    tol_r = 0.5 * model.range_pixel_spacing * sin_inc
    tol_b = tol_r / float(np.nanmedian(slant_range[sub][ok]))
    _layover_shadow_flags(
        np.ascontiguousarray(line).ravel(),
        np.ascontiguousarray(slant_range).ravel(),
        np.ascontiguousarray(off_nadir).ravel(),
        np.ascontiguousarray(ground_angle).ravel(),
        width,
        tol_r,
        tol_b,
        flags.ravel(),
    )
    return (flags & _LAYOVER_BIT) > 0, (flags & _SHADOW_BIT) > 0


@numba.njit(cache=True, error_model="numpy")
def _order_group(order, lo, hi, key):
    """Sort order[lo:hi] by key, stably, in place.

    Grid pixels enter a group in raster order, which already follows the ground range up to runs of a
    few pixels (a zero-Doppler plane crosses the grid's rows at a shallow angle), in one direction or
    the other: reversed when needed, an insertion sort then moves each pixel a few places. Should the
    group be far from ordered, a merge sort takes over."""
    if hi - lo < 2:
        return
    if key[order[lo]] > key[order[hi - 1]]:
        order[lo:hi] = order[lo:hi][::-1].copy()
    budget = 32 * (hi - lo)
    for k in range(lo + 1, hi):
        p = order[k]
        v = key[p]
        m = k - 1
        while m >= lo and key[order[m]] > v:
            order[m + 1] = order[m]
            m -= 1
            budget -= 1
        order[m + 1] = p
        if budget < 0:
            part = order[lo:hi].copy()
            order[lo:hi] = part[np.argsort(key[part], kind="mergesort")]
            return


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _group_of(line, rng, width, group, chunks):
    """Each pixel's zero-Doppler group (line // width), -1 without a position; per chunk of pixels the
    lowest and highest group in it (chunks: (n, 2), the first of an empty chunk above the second)."""
    n = line.shape[0]
    size = (n + chunks.shape[0] - 1) // chunks.shape[0]
    for c in numba.prange(chunks.shape[0]):
        lo, hi = np.iinfo(np.int64).max, np.iinfo(np.int64).min
        for p in range(c * size, min((c + 1) * size, n)):
            if np.isfinite(line[p]) and np.isfinite(rng[p]):
                g = np.int64(np.floor(line[p] / width))
                group[p] = g
                lo, hi = min(lo, g), max(hi, g)  # type: ignore[assignment]  # numba kernel: min/max of int and int64
            else:
                group[p] = -1
        chunks[c, 0], chunks[c, 1] = lo, hi


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _counting_sort(group, lo_group, n_groups, n_chunks):
    """Pixels (with a group) in raster order within each group, and where each group starts: a counting
    sort whose histogram and scatter run over chunks of pixels in parallel."""
    n = group.shape[0]
    size = (n + n_chunks - 1) // n_chunks
    counts = np.zeros((n_chunks, n_groups), np.int64)
    for c in numba.prange(n_chunks):
        for p in range(c * size, min((c + 1) * size, n)):
            if group[p] >= 0:
                counts[c, group[p] - lo_group] += 1
    start = np.zeros(n_groups + 1, np.int64)
    offset = np.empty((n_chunks, n_groups), np.int64)  # where chunk c's pixels of group g go
    total = 0
    for g in range(n_groups):
        start[g] = total
        for c in range(n_chunks):
            offset[c, g] = total
            total += counts[c, g]
    start[n_groups] = total
    order = np.empty(total, np.int64)
    for c in numba.prange(n_chunks):
        fill = offset[c]
        for p in range(c * size, min((c + 1) * size, n)):
            if group[p] >= 0:
                g = group[p] - lo_group
                order[fill[g]] = p
                fill[g] += 1
    return order, start


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _sweep_groups(order, start, gamma, beta, rng, tol_r, tol_b, flags):
    """Per group, in parallel: order by ground angle, then flag shadow (a nearer point seen steeper) and
    layover (a farther point nearer in range)."""
    for g in numba.prange(start.shape[0] - 1):
        i, j = start[g], start[g + 1]
        _order_group(order, i, j, gamma)
        steepest = -np.inf
        for k in range(i, j):
            p = order[k]
            if beta[p] < steepest - tol_b:
                flags[p] |= _SHADOW_BIT
            elif beta[p] > steepest:
                steepest = beta[p]
        nearest = np.inf
        for k in range(j - 1, i - 1, -1):
            p = order[k]
            if rng[p] > nearest + tol_r:
                flags[p] |= _LAYOVER_BIT
            elif rng[p] < nearest:
                nearest = rng[p]


def _layover_shadow_flags(
    line: np.ndarray,
    rng: np.ndarray,
    beta: np.ndarray,
    gamma: np.ndarray,
    width: float,
    tol_r: float,
    tol_b: float,
    flags: np.ndarray,
) -> None:
    """Group the pixels by zero-Doppler plane (a counting sort on line // width), then sweep each group."""
    group = np.empty(line.shape[0], np.int64)
    n_chunks = 4 * numba.get_num_threads()
    chunks = np.empty((n_chunks, 2), np.int64)
    _group_of(line, rng, width, group, chunks)
    lo_group, hi_group = int(chunks[:, 0].min()), int(chunks[:, 1].max())
    if lo_group > hi_group:
        return
    order, start = _counting_sort(group, lo_group, hi_group - lo_group + 1, n_chunks)
    _sweep_groups(order, start, gamma, beta, rng, tol_r, tol_b, flags)
