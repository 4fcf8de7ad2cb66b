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

from collections.abc import Sequence

import numpy as np

from soilsat.sar.safe import NoiseAzimuthVector, NoiseRangeVector

LUT_FIELDS = ("sigma_nought", "beta_nought", "gamma", "dn", "lut")


def _as_index(values: np.ndarray | Sequence[int] | range | tuple[int, int]) -> np.ndarray:
    """Line or sample indices of a window: an array/range, or a (start, stop) pair."""
    if isinstance(values, tuple) and len(values) == 2 and all(np.isscalar(v) for v in values):
        return np.arange(int(values[0]), int(values[1]))
    return np.asarray(values, dtype=float)


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
    rows = _as_index(lines)
    cols = _as_index(samples)
    if not len(vectors):
        raise ValueError("no LUT vectors to interpolate")
    vec_lines = np.array([v.line for v in vectors], dtype=float)
    order = np.argsort(vec_lines, kind="stable")
    vec_lines = vec_lines[order]
    # Only the vectors bracketing the window take part.
    lo = max(int(np.searchsorted(vec_lines, rows.min(), side="right")) - 1, 0) if rows.size else 0
    hi = min(int(np.searchsorted(vec_lines, rows.max(), side="left")) + 1, len(vec_lines)) if rows.size else 0
    lo, hi = min(lo, len(vec_lines) - 1), max(hi, lo + 1)
    used = order[lo:hi]
    per_vector = np.stack(
        [np.interp(cols, np.asarray(vectors[i].pixel, float), np.asarray(getattr(vectors[i], field), float)) for i in used]
    )
    used_lines = vec_lines[lo:hi]
    if len(used_lines) == 1:
        return np.broadcast_to(per_vector[0], (rows.size, cols.size)).copy()
    k = np.clip(np.searchsorted(used_lines, rows, side="right") - 1, 0, len(used_lines) - 2)
    l0, l1 = used_lines[k], used_lines[k + 1]
    w = np.clip((rows - l0) / np.where(l1 > l0, l1 - l0, 1.0), 0.0, 1.0)[:, None]
    return per_vector[k] * (1.0 - w) + per_vector[k + 1] * w


def azimuth_noise_on_image(
    azimuth_vectors: Sequence[NoiseAzimuthVector],
    lines: np.ndarray | range | tuple[int, int],
    samples: np.ndarray | range | tuple[int, int],
) -> np.ndarray:
    """The azimuth noise scaling (IPF >= 2.9) on a window: each vector's LUT, interpolated
    over line, fills its own block of lines x samples; pixels outside every block get 1."""
    rows = _as_index(lines)
    cols = _as_index(samples)
    out = np.ones((rows.size, cols.size))
    for v in azimuth_vectors:
        in_rows = (rows >= v.first_line) & (rows <= v.last_line)
        in_cols = (cols >= v.first_sample) & (cols <= v.last_sample)
        if not in_rows.any() or not in_cols.any():
            continue
        profile = np.interp(rows[in_rows], np.asarray(v.line, float), np.asarray(v.lut, float))
        out[np.ix_(in_rows, in_cols)] = profile[:, None]
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


def calibrate_window(data, dn: np.ndarray, row0: int, col0: int, denoise: bool = True) -> np.ndarray:
    """Linear sigma0 of a window of amplitudes whose top-left pixel is image (row0, col0).

    `data` is a :class:`soilsat.sar.safe.PolarisationData`.
    """
    lines = np.arange(row0, row0 + dn.shape[0])
    samples = np.arange(col0, col0 + dn.shape[1])
    lut = lut_on_image(data.calibration.vectors, lines, samples, "sigma_nought")
    noise = None
    if denoise and data.noise.range_vectors:
        noise = noise_on_image(data.noise.range_vectors, lines, samples, data.noise.azimuth_vectors)
    return sigma0(dn, lut, noise)
