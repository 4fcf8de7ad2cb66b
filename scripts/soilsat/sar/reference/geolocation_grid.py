"""Reference geocoding of GRD images by the annotation's geolocation grid (no orbit, no DEM needed).

ESA annotates every GRD image with a geolocation grid: about 10 lines x 21 pixels of
image positions with their slant range time, latitude, longitude, terrain height and
incidence angle. This module turns it into a smooth mapping between image coordinates
(line, pixel) and a projected CRS:

* geometry is modelled over (line, slant range), where it is smooth; pixels are reached
  through the annotation's slant/ground-range polynomials, whose ground-range grid steps
  along azimuth (a spline straight over pixel errs by several pixels between node rows);
* the nodes lie at terrain height: a point h metres up is imaged at a slant range about
  h * cos(incidence) shorter than the ellipsoid point below it. The nodes are brought to
  the ellipsoid that way, bicubic splines give x and y through them, and the inverse
  (x, y) -> (line, slant range) is found by Newton iteration from a polynomial guess;
* a point's own height then shifts it in range: from a DEM on the study grid when one
  is given, else interpolated from the node heights (a coarse terrain model, ~20 km).

A geometric approximation, not the range-Doppler geocoding of :mod:`soilsat.sar.geocoding`: no
orbit, no layover/shadow mask, no radiometric terrain flattening; the simple reference chain
(:mod:`soilsat.sar.reference.simple_chain`) geocodes with it. Image coordinates follow the
annotation: line i, pixel j is the centre of array element [i, j].
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj

from soilsat.grid import StudyGrid
from soilsat.sar.geocoding import RangeConversion
from soilsat.sar.orbit import SPEED_OF_LIGHT


def _poly_terms(u: np.ndarray, v: np.ndarray, degree: int) -> np.ndarray:
    return np.stack([u**i * v**j for i in range(degree + 1) for j in range(degree + 1 - i)], axis=-1)


class _Surface:
    """A bicubic interpolating spline over a rectilinear node grid, extended linearly (C1)
    beyond the nodes: FITPACK clamps its arguments to the node range, which would stall
    Newton iterations at the image edges."""

    def __init__(self, lines: np.ndarray, pixels: np.ndarray, values: np.ndarray):
        from scipy.interpolate import RectBivariateSpline  # imported on use: 0.4 s that terrain jobs never need

        kl, kp = min(3, len(lines) - 1), min(3, len(pixels) - 1)
        self._s = RectBivariateSpline(lines, pixels, values, kx=kl, ky=kp, s=0)
        self._lo = (lines[0], pixels[0])
        self._hi = (lines[-1], pixels[-1])

    def ev(self, line: np.ndarray, pixel: np.ndarray, dx: int = 0, dy: int = 0) -> np.ndarray:
        line, pixel = np.asarray(line, float), np.asarray(pixel, float)
        lc = np.clip(line, self._lo[0], self._hi[0])
        pc = np.clip(pixel, self._lo[1], self._hi[1])
        value = self._s.ev(lc, pc, dx=dx, dy=dy)
        if dx or dy:
            return value
        dl, dp = line - lc, pixel - pc
        if np.any(dl):
            value = value + self._s.ev(lc, pc, dx=1) * dl
        if np.any(dp):
            value = value + self._s.ev(lc, pc, dy=1) * dp
        return value


class GeolocationModel:
    """The mapping between image (line, pixel) and a projected CRS given by a geolocation grid.

    Geometry is modelled in (line, slant range), where it is smooth: the GRD ground-range
    pixel grid itself changes along azimuth with the annotation's SRGR polynomials, so
    pixel is reached through :class:`RangeConversion`. The grid nodes lie at terrain
    height; a point h metres up has a slant range shorter by about h * cos(theta) than the
    ellipsoid point below it. Splines of x and y over (line, ellipsoid slant range) are fitted
    through the nodes brought to the ellipsoid that way; a point's image position is then
    the ellipsoid one with its own height's range shift: heights given (a DEM), or
    interpolated from the node heights.
    """

    def __init__(self, geolocation: pd.DataFrame, crs: str, conversion: RangeConversion):
        self.crs = crs
        self.conversion = conversion
        g = geolocation.sort_values(["line", "pixel"]).drop_duplicates(["line", "pixel"])
        t = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        x, y = t.transform(g["longitude"].to_numpy(float), g["latitude"].to_numpy(float))
        self.node_line = g["line"].to_numpy(float)
        self.node_pixel = g["pixel"].to_numpy(float)
        self.node_x = np.asarray(x, float)
        self.node_y = np.asarray(y, float)
        self.node_height = g["height"].to_numpy(float)
        self.node_incidence = g["incidenceAngle"].to_numpy(float)
        self.node_range = g["slantRangeTime"].to_numpy(float) * SPEED_OF_LIGHT / 2.0

        lines = np.unique(self.node_line)
        pixels = np.unique(self.node_pixel)
        if not (len(lines) * len(pixels) == len(g) and len(lines) >= 2 and len(pixels) >= 2):
            raise ValueError(
                f"geolocation grid is not rectilinear in line/pixel ({len(g)} points, {len(lines)} lines, "
                f"{len(pixels)} pixels)"
            )
        shape = (len(lines), len(pixels))
        self._fh = _Surface(lines, pixels, self.node_height.reshape(shape))
        self._finc = _Surface(lines, pixels, self.node_incidence.reshape(shape))

        # Ellipsoid slant range of each node's horizontal position, then each line's nodes
        # resampled (cubic, along range) onto common range columns: a rectilinear grid.
        ell_range = (self.node_range + self.node_height * np.cos(np.radians(self.node_incidence))).reshape(shape)
        columns = ell_range.mean(axis=0)
        if np.any(np.diff(ell_range, axis=1) <= 0):
            raise ValueError("geolocation grid nodes are not in increasing slant range along a line")
        from scipy.interpolate import CubicSpline

        xs = np.empty(shape)
        ys = np.empty(shape)
        for i in range(shape[0]):
            xs[i] = CubicSpline(ell_range[i], self.node_x.reshape(shape)[i])(columns)
            ys[i] = CubicSpline(ell_range[i], self.node_y.reshape(shape)[i])(columns)
        self._fx = _Surface(lines, columns, xs)
        self._fy = _Surface(lines, columns, ys)

        # First guess of the inverse: a least-squares cubic in normalised x, y.
        self._xy0 = np.array([self.node_x.mean(), self.node_y.mean()])
        self._xys = max(np.ptp(self.node_x), np.ptp(self.node_y), 1.0)
        a = _poly_terms(*self._norm(self.node_x, self.node_y), degree=3)
        self._inv_coef, *_ = np.linalg.lstsq(a, np.column_stack([self.node_line, ell_range.ravel()]), rcond=None)

    @classmethod
    def from_annotation(cls, annotation, crs: str, geolocation: pd.DataFrame | None = None) -> GeolocationModel:
        """The model of an annotation (optionally with a subset of its geolocation grid)."""
        geo = annotation.geolocation if geolocation is None else geolocation
        return cls(geo, crs, RangeConversion(annotation))

    def _norm(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(x) - self._xy0[0]) / self._xys, (np.asarray(y) - self._xy0[1]) / self._xys

    def height(self, line: np.ndarray, pixel: np.ndarray) -> np.ndarray:
        """The annotation's terrain height interpolated at image positions."""
        return self._fh.ev(np.asarray(line, float), np.asarray(pixel, float))

    def incidence(self, line: np.ndarray, pixel: np.ndarray) -> np.ndarray:
        """Ellipsoid incidence angle (degrees) at image positions."""
        return self._finc.ev(np.asarray(line, float), np.asarray(pixel, float))

    def forward(
        self, line: np.ndarray, pixel: np.ndarray, height: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Projected (x, y) of image positions, at `height` (default: the annotation's heights)."""
        line, pixel = np.asarray(line, float), np.asarray(pixel, float)
        h = self.height(line, pixel) if height is None else np.asarray(height, float)
        r = self.conversion.slant_range(line, pixel) + h * np.cos(np.radians(self.incidence(line, pixel)))
        return self._fx.ev(line, r), self._fy.ev(line, r)

    def ellipsoid_coords(
        self, x: np.ndarray, y: np.ndarray, iterations: int = 10, tol: float = 1e-5
    ) -> tuple[np.ndarray, np.ndarray]:
        """(line, slant range) of projected points on the ellipsoid (Newton on the splines)."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        shape = np.broadcast(x, y).shape
        x, y = np.broadcast_to(x, shape).ravel(), np.broadcast_to(y, shape).ravel()
        guess = _poly_terms(*self._norm(x, y), degree=3) @ self._inv_coef
        line, rng = guess[:, 0].copy(), guess[:, 1].copy()
        for _ in range(iterations):
            fx, fy = self._fx.ev(line, rng) - x, self._fy.ev(line, rng) - y
            a = self._fx.ev(line, rng, dx=1)
            b = self._fx.ev(line, rng, dy=1)
            c = self._fy.ev(line, rng, dx=1)
            d = self._fy.ev(line, rng, dy=1)
            det = a * d - b * c
            det = np.where(np.abs(det) < 1e-12, 1e-12, det)
            dl = (d * fx - b * fy) / det
            dr = (-c * fx + a * fy) / det
            line -= dl
            rng -= dr
            if np.nanmax(np.abs(np.concatenate([dl, dr])), initial=0.0) < tol:
                break
        return line.reshape(shape), rng.reshape(shape)

    def image_from_ellipsoid(
        self, line: np.ndarray, ell_range: np.ndarray, height: np.ndarray | None = None, iterations: int = 5
    ) -> np.ndarray:
        """Pixel of points given their line and ellipsoid slant range, at `height`
        (default: the annotation's heights, by fixed-point iteration)."""
        line, ell_range = np.asarray(line, float), np.asarray(ell_range, float)
        pixel = self.conversion.pixel(line, ell_range)
        for _ in range(iterations):
            h = self.height(line, pixel) if height is None else height
            pixel = self.conversion.pixel(line, ell_range - h * np.cos(np.radians(self.incidence(line, pixel))))
        return pixel

    def image_coords(
        self, x: np.ndarray, y: np.ndarray, height: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Image (line, pixel) of projected points at `height` metres above the ellipsoid
        (default: the annotation's heights interpolated at the image position)."""
        line, rng = self.ellipsoid_coords(x, y)
        h = None if height is None else np.broadcast_to(np.asarray(height, float), line.shape)
        return line, self.image_from_ellipsoid(line, rng, h)


def grid_to_image(
    model: GeolocationModel, grid: StudyGrid, heights: np.ndarray | None = None, step: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Image (line, pixel) of every pixel centre of a study grid, as (height, width) arrays.

    `heights` is an optional DEM (metres above the ellipsoid) on the grid; without one the
    annotation's node heights are used. The smooth parts of the mapping, (x, y) -> (line,
    ellipsoid slant range) and the height's range shift, are solved on a lattice of every
    `step`-th grid pixel (plus the last row and column) and interpolated bilinearly in
    between (well below 0.01 pixel of error); a DEM's shift and the slant-to-ground range
    conversion (which steps along azimuth) are applied per pixel.
    """
    if model.crs != grid.crs:
        raise ValueError(f"geolocation model is in {model.crs}, the grid in {grid.crs}")
    if heights is not None:
        heights = np.asarray(heights, dtype=float)
        if heights.shape != grid.shape:
            raise ValueError(f"DEM shape {heights.shape} does not match the study grid {grid.shape}")
    rows = np.unique(np.r_[np.arange(0, grid.height, step), grid.height - 1])
    cols = np.unique(np.r_[np.arange(0, grid.width, step), grid.width - 1])
    xx, yy = np.meshgrid(grid.x_coords()[cols], grid.y_coords()[rows])
    line, rng = model.ellipsoid_coords(xx, yy)
    pixel = model.image_from_ellipsoid(line, rng)  # at the annotation's heights
    shift = rng - model.conversion.slant_range(line, pixel)  # h cos(theta), metres of slant range
    cos_inc = np.cos(np.radians(model.incidence(line, pixel)))
    fields = [line, rng, shift, cos_inc]
    if len(rows) != grid.height or len(cols) != grid.width:
        fields = [_upsample(f, rows, cols, grid.shape) for f in fields]
    line, rng, shift, cos_inc = fields
    if heights is not None:
        shift = heights * cos_inc
    return line, model.conversion.pixel(line, rng - shift)


def _upsample(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear interpolation of a lattice (values at rows x cols) onto every pixel of `shape`."""
    along = np.empty((len(rows), shape[1]))
    for i in range(len(rows)):
        along[i] = np.interp(np.arange(shape[1]), cols, values[i])
    r = np.arange(shape[0])
    k = np.clip(np.searchsorted(rows, r, side="right") - 1, 0, len(rows) - 2)
    w = ((r - rows[k]) / (rows[k + 1] - rows[k]))[:, None]
    return along[k] * (1 - w) + along[k + 1] * w


def sample_bilinear(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear samples of `image` at fractional (row, col) array positions.

    Positions more than half a pixel outside the array are NaN; NaN pixels propagate to
    every sample they contribute to.
    """
    image = np.asarray(image)
    rows, cols = np.asarray(rows, float), np.asarray(cols, float)
    n, m = image.shape
    out = np.full(rows.shape, np.nan, dtype=np.float64)
    ok = np.isfinite(rows) & np.isfinite(cols) & (rows >= -0.5) & (rows <= n - 0.5) & (cols >= -0.5) & (cols <= m - 0.5)
    if not ok.any():
        return out.astype(np.float32)
    r = np.clip(rows[ok], 0, n - 1)
    c = np.clip(cols[ok], 0, m - 1)
    r0 = np.minimum(np.floor(r).astype(np.intp), max(n - 2, 0))
    c0 = np.minimum(np.floor(c).astype(np.intp), max(m - 2, 0))
    r1 = np.minimum(r0 + 1, n - 1)
    c1 = np.minimum(c0 + 1, m - 1)
    wr = r - r0
    wc = c - c0
    img = image.astype(np.float64, copy=False)
    out[ok] = (
        img[r0, c0] * (1 - wr) * (1 - wc)
        + img[r0, c1] * (1 - wr) * wc
        + img[r1, c0] * wr * (1 - wc)
        + img[r1, c1] * wr * wc
    )
    return out.astype(np.float32)
