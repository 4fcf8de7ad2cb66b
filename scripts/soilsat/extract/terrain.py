"""The eight terrain variables of Zhang et al. (2022, Table 1) from a DEM, as Geomorpho90m defines them.

Geomorpho90m (Amatulli et al. 2020) derives its layers from the 90 m MERIT DEM; soilsat derives the same
eight from the study's DEM averaged onto the 90 m covariate grid, each in a 3 x 3 neighbourhood (edge
pixels repeat their neighbours):

- elev: elevation (m);
- slp: slope (degrees), Horn's (1981) finite differences;
- tri: terrain ruggedness index, the mean absolute difference of a pixel to its 8 neighbours (Wilson 2007);
- rough: roughness, the largest minus the smallest elevation of the 3 x 3 window;
- vrm: vector ruggedness measure (Sappington et al. 2007), 1 - |sum of the 9 unit surface normals| / 9;
- tpi: topographic position index, a pixel's elevation minus the mean of its 8 neighbours;
- cti: compound topographic index, ln(a / tan(slope)), a the specific catchment area;
- spi: stream power index, a x tan(slope).

The catchment area routes each pixel's area to its steepest-descent neighbour (D8, O'Callaghan and Mark 1984);
a is the accumulated area over the pixel width, in m. Catchments end at the grid's edge (area from beyond the
covariate grid is not counted), and a slope below MIN_SLOPE_DEG counts as MIN_SLOPE_DEG.
"""

from __future__ import annotations

import numpy as np

TERRAIN = ("elev", "slp", "tri", "rough", "vrm", "tpi", "cti", "spi")
MIN_SLOPE_DEG = 0.1
# The 8 neighbours (row, col offsets) and their distances in pixels.
NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def windows3(z: np.ndarray) -> np.ndarray:
    """(9, y, x) the 3 x 3 neighbourhood of every pixel, row-major from the top-left (edges repeated)."""
    padded = np.pad(z, 1, mode="edge")
    ny, nx = z.shape
    return np.stack([padded[1 + dr : 1 + dr + ny, 1 + dc : 1 + dc + nx] for dr in (-1, 0, 1) for dc in (-1, 0, 1)])


def horn_gradient(z: np.ndarray, resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """dz/dx (east) and dz/dy (north) by Horn's weighted differences."""
    w = windows3(z)
    a, b, c, d, _, f, g, h, i = w
    dz_dx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * resolution)
    dz_dy = ((a + 2 * b + c) - (g + 2 * h + i)) / (8 * resolution)
    return dz_dx, dz_dy


def slope_aspect(z: np.ndarray, resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """Slope (radians) and aspect (radians clockwise from north, the downslope direction)."""
    dz_dx, dz_dy = horn_gradient(z, resolution)
    slope = np.arctan(np.hypot(dz_dx, dz_dy))
    aspect = np.mod(np.arctan2(-dz_dx, -dz_dy), 2 * np.pi)
    return slope, aspect


def vector_ruggedness(slope: np.ndarray, aspect: np.ndarray) -> np.ndarray:
    """Sappington's VRM: 1 - the length of the summed unit normals of the 3 x 3 window over 9."""
    xs = windows3(np.sin(slope) * np.sin(aspect)).sum(axis=0)
    ys = windows3(np.sin(slope) * np.cos(aspect)).sum(axis=0)
    zs = windows3(np.cos(slope)).sum(axis=0)
    return 1.0 - np.sqrt(xs**2 + ys**2 + zs**2) / 9.0


def d8_receivers(z: np.ndarray) -> np.ndarray:
    """The flat index of each pixel's steepest-descent neighbour (-1 for a pit, a flat or an outflow at the edge)."""
    ny, nx = z.shape
    padded = np.pad(z.astype(np.float64), 1, constant_values=np.inf)
    best_drop = np.zeros(z.shape)
    receiver = np.full(z.shape, -1, dtype=np.int64)
    rows, cols = np.mgrid[0:ny, 0:nx]
    for dr, dc in NEIGHBOURS:
        drop = (z - padded[1 + dr : 1 + dr + ny, 1 + dc : 1 + dc + nx]) / np.hypot(dr, dc)
        better = drop > best_drop
        best_drop = np.where(better, drop, best_drop)
        receiver = np.where(better, (rows + dr) * nx + (cols + dc), receiver)
    return receiver


def d8_accumulation(z: np.ndarray) -> np.ndarray:
    """The number of pixels draining through each pixel, itself included (D8)."""
    receiver = d8_receivers(z).ravel()
    area = np.ones(z.size)
    for pixel in np.argsort(-z.ravel(), kind="stable"):
        target = receiver[pixel]
        if target >= 0:
            area[target] += area[pixel]
    return area.reshape(z.shape)


def terrain_variables(z: np.ndarray, resolution: float) -> np.ndarray:
    """The (8, y, x) stack of TERRAIN of an elevation grid (m) of square pixels of `resolution` m."""
    z = z.astype(np.float64)
    slope, aspect = slope_aspect(z, resolution)
    w = windows3(z)
    neighbours = np.delete(w, 4, axis=0)
    tri = np.abs(neighbours - z).mean(axis=0)
    rough = w.max(axis=0) - w.min(axis=0)
    tpi = z - neighbours.mean(axis=0)
    tan_slope = np.tan(np.maximum(slope, np.radians(MIN_SLOPE_DEG)))
    specific_area = d8_accumulation(z) * resolution  # accumulated area (pixels x res^2) over the width res
    cti = np.log(specific_area / tan_slope)
    spi = specific_area * tan_slope
    stack = [z, np.degrees(slope), tri, rough, vector_ruggedness(slope, aspect), tpi, cti, spi]
    return np.stack(stack).astype(np.float32)
