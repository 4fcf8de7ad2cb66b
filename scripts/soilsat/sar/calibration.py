"""Radiometric calibration and thermal-noise removal of Sentinel-1 GRD amplitudes.

The annotation gives the calibration and noise look-up tables as sparse vectors: one vector
per annotated image line, each sampled on its own set of pixels. They are brought onto
image pixels by linear interpolation over pixel within each vector, then linearly over
line between the two vectors bracketing each image line (outside the first/last vector
or sample the nearest value holds). Everything works on a window of lines and samples so
that a large image can be processed block by block.

    sigma0 = (DN^2 - noise) / A_sigma^2, clipped at 0; DN == 0 is no-value (NaN)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np

from soilsat.sar.safe import NoiseAzimuthVector, NoiseRangeVector

LUT_FIELDS = ("sigma_nought", "beta_nought", "gamma", "dn", "lut")


def _as_index(values: np.ndarray | Sequence[int] | range | tuple[int, int]) -> np.ndarray:
    """Line or sample indices of a window: an array/range, or a (start, stop) pair."""
    if isinstance(values, tuple) and len(values) == 2 and all(np.isscalar(v) for v in values):
        return np.arange(int(values[0]), int(values[1]))
    return np.asarray(values, dtype=np.float64)


def separable_lut(
    vectors: Sequence[Any],
    lines: np.ndarray | range | tuple[int, int],
    samples: np.ndarray | range | tuple[int, int],
    field: str = "sigma_nought",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sparse LUT on a window in separable form: each bracketing vector interpolated onto the window's
    samples (n, samples), and per window line the first of its two vectors and the second's weight.

    The LUT at (line i, sample j) is ``per_vector[k[i], j] * (1 - w[i]) + per_vector[k[i] + 1, j] * w[i]``."""
    rows = _as_index(lines)
    cols = _as_index(samples)
    if not len(vectors):
        raise ValueError("no LUT vectors to interpolate")
    vec_lines = np.array([v.line for v in vectors], dtype=np.float64)
    order = np.argsort(vec_lines, kind="stable")
    vec_lines = vec_lines[order]
    # Only the vectors bracketing the window take part.
    lo = max(int(np.searchsorted(vec_lines, rows.min(), side="right")) - 1, 0) if rows.size else 0
    hi = min(int(np.searchsorted(vec_lines, rows.max(), side="left")) + 1, len(vec_lines)) if rows.size else 0
    lo, hi = min(lo, len(vec_lines) - 1), max(hi, lo + 1)
    used = order[lo:hi]
    per_vector = np.stack(
        [
            np.interp(cols, np.asarray(vectors[i].pixel, float), np.asarray(getattr(vectors[i], field), float))
            for i in used
        ]
    )
    used_lines = vec_lines[lo:hi]
    if len(used_lines) == 1:  # one vector holds everywhere
        return np.concatenate([per_vector, per_vector]), np.zeros(rows.size, np.int64), np.zeros(rows.size)
    k = np.clip(np.searchsorted(used_lines, rows, side="right") - 1, 0, len(used_lines) - 2)
    l0, l1 = used_lines[k], used_lines[k + 1]
    w = np.clip((rows - l0) / np.where(l1 > l0, l1 - l0, 1.0), 0.0, 1.0)
    return per_vector, k.astype(np.int64), w


def lut_on_image(
    vectors: Sequence[object],
    lines: np.ndarray | range | tuple[int, int],
    samples: np.ndarray | range | tuple[int, int],
    field: str = "sigma_nought",
) -> np.ndarray:
    """Bilinear interpolation of a sparse LUT onto a window of the image.

    `vectors` hold `.line` (int), `.pixel` (1-D increasing) and the LUT in attribute
    `field` (``sigma_nought``, ``beta_nought``, ``gamma``, ``dn`` for calibration vectors,
    ``lut`` for noise range vectors). `lines` and `samples` are the window's image line and
    sample indices: 1-D arrays (or ranges), or (start, stop) pairs. Returns a float64 array
    of shape (len(lines), len(samples)).
    """
    per_vector, k, w = separable_lut(vectors, lines, samples, field)
    return per_vector[k] * (1.0 - w[:, None]) + per_vector[k + 1] * w[:, None]


def azimuth_profiles(
    azimuth_vectors: Sequence[NoiseAzimuthVector],
    lines: np.ndarray | range | tuple[int, int],
    samples: np.ndarray | range | tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The azimuth noise vectors on a window: each one's LUT at every window line (NaN outside its lines),
    and the window samples start:stop it covers. Later vectors take precedence where blocks overlap."""
    rows = _as_index(lines)
    cols = _as_index(samples)
    profile = np.full((len(azimuth_vectors), rows.size), np.nan)
    start = np.zeros(len(azimuth_vectors), np.int64)
    stop = np.zeros(len(azimuth_vectors), np.int64)
    for n, v in enumerate(azimuth_vectors):
        in_rows = (rows >= v.first_line) & (rows <= v.last_line)
        in_cols = np.flatnonzero((cols >= v.first_sample) & (cols <= v.last_sample))
        if not in_rows.any() or not in_cols.size:
            continue
        profile[n, in_rows] = np.interp(rows[in_rows], np.asarray(v.line, float), np.asarray(v.lut, float))
        start[n], stop[n] = in_cols[0], in_cols[-1] + 1
    return profile, start, stop


def azimuth_noise_on_image(
    azimuth_vectors: Sequence[NoiseAzimuthVector],
    lines: np.ndarray | range | tuple[int, int],
    samples: np.ndarray | range | tuple[int, int],
) -> np.ndarray:
    """The azimuth noise scaling (IPF >= 2.9) on a window: each vector's LUT, interpolated
    over line, fills its own block of lines x samples; pixels outside every block get 1."""
    profile, start, stop = azimuth_profiles(azimuth_vectors, lines, samples)
    out = np.ones((profile.shape[1], _as_index(samples).size))
    for n in range(profile.shape[0]):
        in_rows = np.isfinite(profile[n])
        out[in_rows, start[n] : stop[n]] = profile[n, in_rows, None]
    return out


def noise_on_image(
    range_vectors: Sequence[NoiseRangeVector],
    lines: np.ndarray | range | tuple[int, int],
    samples: np.ndarray | range | tuple[int, int],
    azimuth_vectors: Sequence[NoiseAzimuthVector] = (),
) -> np.ndarray:
    """Thermal noise power (DN^2 units) on a window: the range LUT, times the azimuth LUT of
    each swath block when the product has one (IPF >= 2.9)."""
    noise = lut_on_image(range_vectors, lines, samples, field="lut")
    if azimuth_vectors:
        noise *= azimuth_noise_on_image(azimuth_vectors, lines, samples)
    return noise


def sigma0(dn: np.ndarray, sigma_lut: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
    """Linear sigma0 from GRD amplitudes: (DN^2 - noise) / A^2, clipped at 0; DN 0 -> NaN."""
    dn = np.asarray(dn)
    power = dn.astype(np.float64) ** 2
    if noise is not None:
        power = power - noise
    out = np.maximum(power, 0.0) / np.asarray(sigma_lut, dtype=np.float64) ** 2
    out = out.astype(np.float32)
    out[dn == 0] = np.nan
    return out


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _calibrate(dn, cal, cal_k, cal_w, noise, noise_k, noise_w, az, az_start, az_stop, scale, out, noise_out):
    """sigma0 (and, when noise_out has rows, the noise) of a window from separable LUTs: one pass per line."""
    rows, cols = dn.shape
    keep_noise = noise_out.shape[0] > 0
    for i in numba.prange(rows):
        a, wa = cal_k[i], cal_w[i]
        b, wb = noise_k[i], noise_w[i]
        factor = np.ones(cols)  # the azimuth noise scaling of this line
        for n in range(az.shape[0]):
            if np.isfinite(az[n, i]):
                factor[az_start[n] : az_stop[n]] = az[n, i]
        for j in range(cols):
            lut = cal[a, j] * (1.0 - wa) + cal[a + 1, j] * wa
            nz = (noise[b, j] * (1.0 - wb) + noise[b + 1, j] * wb) * factor[j] * scale
            if keep_noise:
                noise_out[i, j] = nz
            d = dn[i, j]
            if d == 0:
                out[i, j] = np.nan
            else:
                p = float(d) * float(d) - nz
                out[i, j] = max(p, 0.0) / (lut * lut)


def sigma0_window(
    data,
    dn: np.ndarray,
    row0: int,
    col0: int,
    denoise: bool = True,
    noise_scale: float = 1.0,
    with_noise: bool = False,
    lut: str = "sigma_nought",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Linear sigma0 (float32, NaN where DN is 0) of a window of amplitudes whose top-left pixel is image
    (row0, col0), in one compiled pass; with `with_noise`, also the noise power (DN^2) removed from it.
    `lut` "beta_nought" calibrates to beta0 instead (Calibration's outputBetaBand).

    The same values as ``sigma0(dn, lut_on_image(...), noise_on_image(...) * noise_scale)``, without their
    window-sized temporaries. `data` is a :class:`soilsat.sar.safe.PolarisationData`."""
    rows, cols = (row0, row0 + dn.shape[0]), (col0, col0 + dn.shape[1])
    cal, cal_k, cal_w = separable_lut(data.calibration.vectors, rows, cols, lut)
    if denoise and data.noise.range_vectors:
        noise, noise_k, noise_w = separable_lut(data.noise.range_vectors, rows, cols, "lut")
        az, az_start, az_stop = azimuth_profiles(data.noise.azimuth_vectors, rows, cols)
    else:
        noise, noise_k, noise_w = np.zeros((2, dn.shape[1])), np.zeros(dn.shape[0], np.int64), np.zeros(dn.shape[0])
        az, az_start, az_stop = np.zeros((0, dn.shape[0])), np.zeros(0, np.int64), np.zeros(0, np.int64)
    out = np.empty(dn.shape, np.float32)
    noise_out = np.empty(dn.shape if with_noise else (0, 0))
    _calibrate(
        np.ascontiguousarray(dn),
        cal,
        cal_k,
        cal_w,
        noise,
        noise_k,
        noise_w,
        az,
        az_start,
        az_stop,
        float(noise_scale),
        out,
        noise_out,
    )
    return out, (noise_out if with_noise else None)


def calibrate_window(data, dn: np.ndarray, row0: int, col0: int, denoise: bool = True) -> np.ndarray:
    """Linear sigma0 of a window of amplitudes whose top-left pixel is image (row0, col0).

    `data` is a :class:`soilsat.sar.safe.PolarisationData`.
    """
    return sigma0_window(data, dn, row0, col0, denoise)[0]


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _noise_sigma0(
    cal, cal_k, cal_w, noise, noise_k, noise_w, az, az_start, az_stop, line, pixel, r_off, c_off, valid, out
):
    """The noise power calibrated to sigma0 at the window pixel nearest each position (NaN where not valid)."""
    rows, cols = cal_k.shape[0], cal.shape[1]
    for i in numba.prange(line.shape[0]):
        for j in range(line.shape[1]):
            if not valid[i, j]:
                out[i, j] = np.nan
                continue
            r = min(max(int(math.floor(line[i, j] - r_off + 0.5)), 0), rows - 1)
            c = min(max(int(math.floor(pixel[i, j] - c_off + 0.5)), 0), cols - 1)
            a, wa = cal_k[r], cal_w[r]
            b, wb = noise_k[r], noise_w[r]
            factor = 1.0
            for n in range(az.shape[0]):
                if np.isfinite(az[n, r]) and c >= az_start[n] and c < az_stop[n]:
                    factor = az[n, r]
            lut = cal[a, c] * (1.0 - wa) + cal[a + 1, c] * wa
            nz = (noise[b, c] * (1.0 - wb) + noise[b + 1, c] * wb) * factor
            out[i, j] = nz / (lut * lut)


class NoisePower:
    """ThermalNoiseRemoval's noise calibrated to sigma0 (the CEOS-ARD noise power image) over an image window,
    held as separable LUTs and evaluated at any image position."""

    def __init__(self, data, window: tuple[int, int, int, int]):
        r0, r1, c0, c1 = window
        self.offset = (r0, c0)
        rows, cols = (r0, r1), (c0, c1)
        self.cal = separable_lut(data.calibration.vectors, rows, cols, "sigma_nought")
        if data.noise.range_vectors:
            self.noise = separable_lut(data.noise.range_vectors, rows, cols, "lut")
            self.az = azimuth_profiles(data.noise.azimuth_vectors, rows, cols)
        else:
            n = r1 - r0
            self.noise = (np.zeros((2, c1 - c0)), np.zeros(n, np.int64), np.zeros(n))
            self.az = (np.zeros((0, n)), np.zeros(0, np.int64), np.zeros(0, np.int64))

    def sample_into(self, line: np.ndarray, pixel: np.ndarray, valid: np.ndarray, out: np.ndarray) -> None:
        """The noise-equivalent sigma0 (float32 `out`) at the image pixel nearest each position, NaN where not valid."""
        _noise_sigma0(
            *self.cal,
            *self.noise,
            *self.az,
            line,
            pixel,
            float(self.offset[0]),
            float(self.offset[1]),
            valid,
            out,
        )
