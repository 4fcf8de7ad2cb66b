"""Terrain-Correction's output: the bands of the chain on the study grid, filled block by block.

Each grid pixel samples the filtered images bilinearly (linear sigma0, or beta0 over its
normalised illuminated area for gamma0: :mod:`soilsat.sar.flattening`) at its image position
from :mod:`soilsat.sar.geocoding`, and gets the ellipsoid and local incidence angles and a mask:
0 no data (outside the image, no DEM height or no image value), 1 valid, 2 layover (also where
a pixel is in layover and shadow at once), 3 shadow (passive, or active: facing away from the radar).
The CEOS-ARD layers, when asked for, follow the mask (:mod:`soilsat.sar.bands`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

import numba
import numpy as np

from soilsat.sar.calibration import NoisePower
from soilsat.sar.flattening import Flattening
from soilsat.sar.geocoding import Geometry

MASK_NODATA = 0
MASK_VALID = 1
MASK_LAYOVER = 2
MASK_SHADOW = 3
SAMPLING_HALO = 2  # image pixels to read beyond the positions sampled: the bilinear support and a margin


class ImageSource(Protocol):
    """A filtered image (or a window of one) that samples itself at image positions."""

    rows: np.ndarray  # the window's pixels (float32)
    window: tuple[int, int, int, int]  # r0, r1, c0, c1 of the image

    def sample_into(self, line: np.ndarray, pixel: np.ndarray, valid: np.ndarray, out: np.ndarray) -> None:
        """Bilinear samples (float32) at image positions into `out` where `valid` (NaN elsewhere)."""

    def release(self) -> None:
        """Let go of what the samples held in memory."""


def block_bands(
    geo: Geometry,
    images: Mapping[str, ImageSource | None],
    n_lines: int,
    n_samples: int,
    flattening: Flattening | None = None,
    noise: Mapping[str, NoisePower] | None = None,
) -> np.ndarray:
    """The output bands of one block of grid rows as one float32 stack in band_attrs' order: sampled backscatter
    per polarisation (sigma0, or gamma0 with `flattening`), incidence angles and the mask (as float), then with
    `noise` the noise power of each polarisation and, when `flattening` keeps the ground area, the scattering
    area and gamma-to-sigma ratio."""
    heights = geo.heights
    n_pol = len(images)
    n_extra = (len(noise) if noise else 0) + (2 if flattening is not None and flattening.area_layers else 0)
    out = np.empty((n_pol + 3 + n_extra, *heights.shape), np.float32)
    valid = np.empty(heights.shape, np.bool_)
    row_lines = np.empty((heights.shape[0], 2))
    _valid_pixels(geo.line, geo.pixel, heights, float(n_lines), float(n_samples), valid, row_lines)
    lo, hi = float(np.min(row_lines[:, 0])), float(np.max(row_lines[:, 1]))
    present = [image for image in images.values() if image is not None]
    if flattening is not None and lo <= hi and len(present) == n_pol:
        flattening.sample([image.rows for image in present], present[0].window, geo, valid, out[:n_pol])
        for image in present:
            image.release()
    else:
        for k, maybe in enumerate(images.values()):
            if maybe is None or lo > hi:
                out[k] = np.nan
            else:
                maybe.sample_into(geo.line, geo.pixel, valid, out[k])
    _angles_and_mask(valid, geo.cos_incidence, geo.cos_local_incidence, geo.layover, geo.passive_shadow, n_pol, out)
    k = n_pol + 3
    for source in (noise or {}).values():
        source.sample_into(geo.line, geo.pixel, valid, out[k])
        k += 1
    if flattening is not None and flattening.area_layers:
        flattening.sample_area_layers(geo, valid, out[k], out[k + 1])
    return out


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _valid_pixels(line, pixel, heights, n_lines, n_samples, valid, row_lines):
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
def _angles_and_mask(valid, cos_incidence, cos_local, layover, shadow, n_pol, out):
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
            code = MASK_NODATA
            if ok:
                in_shadow = shadow[i, j] or cos_local[i, j] < 0.0  # passive, or active: facing away (local > 90)
                code = MASK_LAYOVER if layover[i, j] else (MASK_SHADOW if in_shadow else MASK_VALID)
            out[n_pol + 2, i, j] = code


# --------------------------------------------------------------------------- bilinear sampling


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _bilinear(image, rows, cols, valid, r_off, c_off, out):
    """Bilinear samples of image at fractional positions (rows - r_off, cols - c_off); NaN where not `valid`
    (an empty `valid`: everywhere valid), outside the image (beyond half a pixel) or next to NaN."""
    n, m = image.shape
    check = valid.shape[0] > 0
    for i in numba.prange(rows.shape[0]):
        for j in range(rows.shape[1]):
            r, c = rows[i, j] - r_off, cols[i, j] - c_off
            if not ((not check or valid[i, j]) and r >= -0.5 and r <= n - 0.5 and c >= -0.5 and c <= m - 0.5):
                out[i, j] = np.nan
                continue
            r = min(max(r, 0.0), n - 1.0)
            c = min(max(c, 0.0), m - 1.0)
            r0 = min(int(r), max(n - 2, 0))
            c0 = min(int(c), max(m - 2, 0))
            r1 = min(r0 + 1, n - 1)
            c1 = min(c0 + 1, m - 1)
            wr = r - r0
            wc = c - c0
            out[i, j] = (image[r0, c0] * (1 - wc) + image[r0, c1] * wc) * (1 - wr) + (
                image[r1, c0] * (1 - wc) + image[r1, c1] * wc
            ) * wr


def sample_valid(
    image: np.ndarray, line: np.ndarray, pixel: np.ndarray, valid: np.ndarray, offset: tuple[int, int], out: np.ndarray
) -> None:
    """sample_image into `out` (float32, the shape of line) where `valid`, NaN elsewhere."""
    _bilinear(np.asarray(image, dtype=np.float32), line, pixel, valid, float(offset[0]), float(offset[1]), out)


def sample_image(
    image: np.ndarray, line: np.ndarray, pixel: np.ndarray, offset: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """Bilinear samples (float32) of an image (or a window of one starting at `offset`) at image positions."""
    out = np.empty(line.shape, dtype=np.float32)
    _bilinear(
        np.ascontiguousarray(image, dtype=np.float32),
        np.ascontiguousarray(line, dtype=float),
        np.ascontiguousarray(pixel, dtype=float),
        np.zeros((0, 0), np.bool_),
        float(offset[0]),
        float(offset[1]),
        out,
    )
    return out
