"""The MODIS sinusoidal tile grid: 36 x 18 tiles of 10 x 10 degrees at the equator on a sphere.

MODIS land products lie on the sinusoidal projection of a sphere of radius 6371007.181 m. The projection
plane from x = -pi R, y = pi R / 2 is cut into tiles of 1111950.5197665554 m (h 0..35
west to east, v 0..17 north to south), each of 2400 x 2400 pixels at 500 m (463.3 m) or 1200 x 1200 at
1 km (926.6 m); pixel (0, 0) is a tile's north-west corner.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pyproj

SPHERE_RADIUS = 6371007.181
CRS = f"+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R={SPHERE_RADIUS} +units=m +no_defs"
TILE_M = 2 * math.pi * SPHERE_RADIUS / 36
X_MIN = -18 * TILE_M  # -20015109.356 m; the files' metadata round it to -20015109.354
Y_MAX = 9 * TILE_M
TILE_NAME = re.compile(r"h(\d{2})v(\d{2})")


def tile_name(h: int, v: int) -> str:
    """The hXXvYY name of a tile."""
    return f"h{h:02d}v{v:02d}"


def parse_tile(name: str) -> tuple[int, int]:
    """(h, v) of a tile name such as h18v09 (also found inside a file name)."""
    match = TILE_NAME.search(name)
    if not match:
        raise ValueError(f"{name!r} names no MODIS tile (hXXvYY)")
    return int(match.group(1)), int(match.group(2))


def tile_bounds(h: int, v: int) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a tile in projected metres."""
    left, top = X_MIN + h * TILE_M, Y_MAX - v * TILE_M
    return left, top - TILE_M, left + TILE_M, top


def tile_of_xy(x: float, y: float) -> tuple[int, int]:
    """(h, v) of the tile containing a projected point."""
    return int(math.floor((x - X_MIN) / TILE_M)), int(math.floor((Y_MAX - y) / TILE_M))


def lonlat_to_xy(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sinusoidal coordinates of WGS 84 longitudes and latitudes (the sphere takes them as spherical)."""
    transformer = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = transformer.transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.asarray(x), np.asarray(y)


def pixel_window(bounds_xy: tuple[float, float, float, float], pixels_per_tile: int) -> tuple[float, float, int, int]:
    """(x0, y0, width, height) of the smallest block of the MODIS pixel lattice covering projected bounds."""
    size = TILE_M / pixels_per_tile
    left, bottom, right, top = bounds_xy
    col0, col1 = math.floor((left - X_MIN) / size), math.ceil((right - X_MIN) / size)
    row0, row1 = math.floor((Y_MAX - top) / size), math.ceil((Y_MAX - bottom) / size)
    return X_MIN + col0 * size, Y_MAX - row0 * size, col1 - col0, row1 - row0
