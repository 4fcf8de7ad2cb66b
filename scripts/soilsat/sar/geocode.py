"""Geocoding of GRD images by the annotation's geolocation grid (no terrain correction).

ESA annotates every GRD image with a geolocation grid: about 10 lines x 21 pixels of
image positions with their latitude, longitude, height and incidence angle. This module
turns it into a smooth mapping between image coordinates (line, pixel) and a projected
CRS: the nodes are brought down to the ellipsoid (undoing the range displacement of
their terrain height), bicubic splines give x(line, pixel) and y(line, pixel) through
these ellipsoid positions, and the inverse (x, y) -> (line, pixel) is found by Newton
iteration on those splines from a polynomial first guess. A point's height then shifts
it in range by h * cot(incidence). Heights come from a DEM on the study grid when one is
given, else from the annotation's node heights (a coarse terrain model, ~20 km spacing).
This is a geometric approximation, not the full range-Doppler terrain correction: no
orbit, no layover/shadow and no radiometric terrain flattening.

Image coordinates follow the annotation: line i, pixel j is the centre of array element
[i, j].
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
from scipy.interpolate import RectBivariateSpline, RegularGridInterpolator

from soilsat.grid import StudyGrid


def _poly_terms(u: np.ndarray, v: np.ndarray, degree: int) -> np.ndarray:
    return np.stack([u**i * v**j for i in range(degree + 1) for j in range(degree + 1 - i)], axis=-1)


class GeolocationModel:
    """The mapping between image (line, pixel) and a projected CRS given by a geolocation grid.

    The grid nodes lie at terrain height, so in hilly scenes their horizontal positions
    carry the terrain's range displacement (a point h metres up appears h * cot(theta)
    metres nearer the sensor). The nodes are first brought to the ellipsoid by undoing
    that displacement along the image's range direction; splines through these ellipsoid
    positions are smooth. A point's image position is the ellipsoid one shifted back by
    its own height: given (a DEM), or interpolated from the node heights.
    """

    def __init__(self, geolocation: pd.DataFrame, crs: str):
        self.crs = crs
        g = geolocation.sort_values(["line", "pixel"]).drop_duplicates(["line", "pixel"])
        t = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        x, y = t.transform(g["longitude"].to_numpy(float), g["latitude"].to_numpy(float))
        self.node_line = g["line"].to_numpy(float)
        self.node_pixel = g["pixel"].to_numpy(float)
        self.node_x = np.asarray(x, float)
        self.node_y = np.asarray(y, float)
        self.node_height = g["height"].to_numpy(float)
        self.node_incidence = g["incidenceAngle"].to_numpy(float)

        lines = np.unique(self.node_line)
        pixels = np.unique(self.node_pixel)
        if not (len(lines) * len(pixels) == len(g) and len(lines) >= 2 and len(pixels) >= 2):
            raise ValueError(
                f"geolocation grid is not rectilinear in line/pixel ({len(g)} points, {len(lines)} lines, {len(pixels)} pixels)"
            )
        shape = (len(lines), len(pixels))
        self._lines, self._pixels = lines, pixels
        kl, kp = min(3, len(lines) - 1), min(3, len(pixels) - 1)

        def spline(values: np.ndarray) -> RectBivariateSpline:
            return RectBivariateSpline(lines, pixels, values.reshape(shape), kx=kl, ky=kp, s=0)

        self._fh = spline(self.node_height)
        self._finc = spline(self.node_incidence)
        cot = 1.0 / np.tan(np.radians(self.node_incidence))
        # Range direction on the ground: first from node differences, then from the splines.
        gx = np.gradient(self.node_x.reshape(shape), pixels, axis=1).ravel()
        gy = np.gradient(self.node_y.reshape(shape), pixels, axis=1).ravel()
        for _ in range(3):
            norm = np.hypot(gx, gy)
            shift = self.node_height * cot / norm  # metres along range -> in units of d(xy)/dpixel
            self.ellipsoid_x = self.node_x + shift * gx
            self.ellipsoid_y = self.node_y + shift * gy
            self._fx = spline(self.ellipsoid_x)
            self._fy = spline(self.ellipsoid_y)
            gx = self._fx.ev(self.node_line, self.node_pixel, dy=1)
            gy = self._fy.ev(self.node_line, self.node_pixel, dy=1)

        # First guess of the inverse: a least-squares cubic in normalised x, y.
        self._xy0 = np.array([self.ellipsoid_x.mean(), self.ellipsoid_y.mean()])
        self._xys = max(np.ptp(self.ellipsoid_x), np.ptp(self.ellipsoid_y), 1.0)
        a = _poly_terms(*self._norm(self.ellipsoid_x, self.ellipsoid_y), degree=3)
        self._inv_coef, *_ = np.linalg.lstsq(a, np.column_stack([self.node_line, self.node_pixel]), rcond=None)

    def _norm(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(x) - self._xy0[0]) / self._xys, (np.asarray(y) - self._xy0[1]) / self._xys

    def height(self, line: np.ndarray, pixel: np.ndarray) -> np.ndarray:
        """The annotation's terrain height interpolated at image positions."""
        return self._fh.ev(np.asarray(line, float), np.asarray(pixel, float))

    def incidence(self, line: np.ndarray, pixel: np.ndarray) -> np.ndarray:
        """Ellipsoid incidence angle (degrees) at image positions."""
        return self._finc.ev(np.asarray(line, float), np.asarray(pixel, float))

    def pixels_per_metre_of_height(self, line: np.ndarray, pixel: np.ndarray) -> np.ndarray:
        """Range displacement, in pixels, of a point one metre above the ellipsoid."""
        line, pixel = np.asarray(line, float), np.asarray(pixel, float)
        step = np.hypot(self._fx.ev(line, pixel, dy=1), self._fy.ev(line, pixel, dy=1))
        return 1.0 / (np.tan(np.radians(self.incidence(line, pixel))) * step)

    def forward(self, line: np.ndarray, pixel: np.ndarray, height: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Projected (x, y) of image positions, at `height` (default: the annotation's heights)."""
        line, pixel = np.asarray(line, float), np.asarray(pixel, float)
        h = self.height(line, pixel) if height is None else np.asarray(height, float)
        shift = h * self.pixels_per_metre_of_height(line, pixel)  # pixels of range displacement
        gx, gy = self._fx.ev(line, pixel, dy=1), self._fy.ev(line, pixel, dy=1)
        return self._fx.ev(line, pixel) - shift * gx, self._fy.ev(line, pixel) - shift * gy

    def ellipsoid_image_coords(self, x: np.ndarray, y: np.ndarray, iterations: int = 10, tol: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
        """Image (line, pixel) of projected points on the ellipsoid (Newton on the splines)."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        shape = np.broadcast(x, y).shape
        x, y = np.broadcast_to(x, shape).ravel(), np.broadcast_to(y, shape).ravel()
        guess = _poly_terms(*self._norm(x, y), degree=3) @ self._inv_coef
        line, pixel = guess[:, 0].copy(), guess[:, 1].copy()
        for _ in range(iterations):
            fx, fy = self._fx.ev(line, pixel) - x, self._fy.ev(line, pixel) - y
            a = self._fx.ev(line, pixel, dx=1)  # dx/dline
            b = self._fx.ev(line, pixel, dy=1)  # dx/dpixel
            c = self._fy.ev(line, pixel, dx=1)
            d = self._fy.ev(line, pixel, dy=1)
            det = a * d - b * c
            det = np.where(np.abs(det) < 1e-12, 1e-12, det)
            dl = (d * fx - b * fy) / det
            dp = (-c * fx + a * fy) / det
            line -= dl
            pixel -= dp
            if np.nanmax(np.abs(np.concatenate([dl, dp])), initial=0.0) < tol:
                break
        return line.reshape(shape), pixel.reshape(shape)

    def image_coords(self, x: np.ndarray, y: np.ndarray, height: np.ndarray | None = None, iterations: int = 6) -> tuple[np.ndarray, np.ndarray]:
        """Image (line, pixel) of projected points at `height` metres (default: the
        annotation's heights, found by fixed-point iteration in image space)."""
        line, pixel0 = self.ellipsoid_image_coords(x, y)
        scale = self.pixels_per_metre_of_height(line, pixel0)
        if height is not None:
            return line, pixel0 - np.asarray(height, float) * scale
        pixel = pixel0.copy()
        for _ in range(iterations):
            pixel = pixel0 - self.height(line, pixel) * scale
        return line, pixel


def grid_to_image(
    model: GeolocationModel, grid: StudyGrid, heights: np.ndarray | None = None, step: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Image (line, pixel) of every pixel centre of a study grid, as (height, width) arrays.

    `heights` is an optional DEM (metres above the ellipsoid) on the grid; without one the
    annotation's node heights are used. The exact inverse is computed on a lattice of
    every `step`-th grid pixel (plus the last row and column) and interpolated linearly in
    between: the mapping is so close to affine over `step` pixels that this costs far
    less than 0.01 image pixel. A DEM's height shift is applied per pixel.
    """
    if heights is not None:
        heights = np.asarray(heights, dtype=float)
        if heights.shape != grid.shape:
            raise ValueError(f"DEM shape {heights.shape} does not match the study grid {grid.shape}")
        line, pixel0 = _grid_lattice(model, grid, step, lambda xx, yy: model.ellipsoid_image_coords(xx, yy))
        scale = model.pixels_per_metre_of_height(line, pixel0)
        return line, pixel0 - heights * scale
    return _grid_lattice(model, grid, step, lambda xx, yy: model.image_coords(xx, yy))


def _grid_lattice(model: GeolocationModel, grid: StudyGrid, step: int, invert) -> tuple[np.ndarray, np.ndarray]:
    if model.crs != grid.crs:
        raise ValueError(f"geolocation model is in {model.crs}, the grid in {grid.crs}")
    rows = np.unique(np.r_[np.arange(0, grid.height, step), grid.height - 1])
    cols = np.unique(np.r_[np.arange(0, grid.width, step), grid.width - 1])
    xs = grid.x_coords()[cols]
    ys = grid.y_coords()[rows]
    xx, yy = np.meshgrid(xs, ys)
    line, pixel = invert(xx, yy)
    if len(rows) == grid.height and len(cols) == grid.width:
        return line, pixel
    rr, cc = np.meshgrid(np.arange(grid.height), np.arange(grid.width), indexing="ij")
    pts = np.column_stack([rr.ravel(), cc.ravel()])
    out = []
    for a in (line, pixel):
        f = RegularGridInterpolator((rows, cols), a, method="linear")
        out.append(f(pts).reshape(grid.shape))
    return out[0], out[1]


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
