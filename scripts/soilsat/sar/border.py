"""GRD border noise removal: masking the low "no-value" samples at the image edges (Remove-GRD-Border-Noise).

GRD products of IPF versions before 2.90 carry leading and trailing samples and lines that
are not zero but hold very low, noise-like values (ESA MPC-0243, "Masking no-value pixels on
GRD products"). They are found by thresholding the thermal-noise-removed power, scanning
inward from each image edge:

* a pixel holds signal when its amplitude is at least ``MIN_DN`` (30) and its power after
  noise removal, DN^2 - s * noise, exceeds ``trim_threshold`` (DN^2 units);
* along every line, the pixels from the left (right) edge up to the first signal pixel are
  no-value; along every column, likewise from the top (bottom) edge. The search stops
  ``border_limit`` pixels from the edge: deeper pixels are never trimmed;
* for IPF < 2.50 the annotated noise must be scaled before it is compared with DN^2: the
  vectors of those products are expressed before the product's DN scaling, so they are
  multiplied by the square of the calibration ``dn`` LUT value (``s``; 1 from IPF 2.50).

From IPF 2.90 the processor sets these samples to 0 itself; :func:`needs_border_removal`
tells the engine so, which then only logs it.

Written here (vectorised numpy, no library does it): the first-signal search is an argmax
along an axis of a boolean array limited to ``border_limit`` pixels, so a block of lines
costs two passes over its outer ``border_limit`` columns.
"""

from __future__ import annotations

import numpy as np

MIN_DN = 30
MASKED_FROM_IPF = (2, 90)  # products of this IPF version and later come with masked borders
NOISE_SCALED_FROM_IPF = (2, 50)  # noise vectors carry the product's DN scaling from this version


def _version(ipf: tuple[int, ...]) -> tuple[int, int]:
    """(major, minor) of an IPF version tuple such as (3, 40) or (2, 70)."""
    return (ipf[0], ipf[1] if len(ipf) > 1 else 0)


def needs_border_removal(ipf: tuple[int, ...]) -> bool:
    """Whether a product of this IPF version still has unmasked border noise (IPF < 2.90)."""
    return _version(ipf) < MASKED_FROM_IPF


def noise_scale(ipf: tuple[int, ...], dn_lut: np.ndarray) -> float:
    """The factor bringing annotated noise to DN^2 units: 1 from IPF 2.50, else the squared DN LUT value."""
    if _version(ipf) >= NOISE_SCALED_FROM_IPF:
        return 1.0
    return float(np.nanmean(np.asarray(dn_lut, dtype=float)) ** 2)


def signal(dn: np.ndarray, noise: np.ndarray, trim_threshold: float, scale: float = 1.0) -> np.ndarray:
    """Whether each pixel holds signal: DN >= MIN_DN and DN^2 - scale * noise > trim_threshold."""
    dn = np.asarray(dn)
    power = dn.astype(np.float64) ** 2 - scale * np.asarray(noise, dtype=np.float64)
    return (dn >= MIN_DN) & (power > trim_threshold)


def _depth(good: np.ndarray) -> np.ndarray:
    """Per row of a boolean array scanned from column 0: how many leading pixels lack signal."""
    if good.shape[1] == 0:
        return np.zeros(good.shape[0], dtype=np.int64)
    first = np.argmax(good, axis=1)
    return np.where(good.any(axis=1), first, good.shape[1]).astype(np.int64)


def side_depths(good: np.ndarray, border_limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Per line of a block: the no-value run at its left and at its right edge (each at most border_limit)."""
    lim = min(int(border_limit), good.shape[1])
    return _depth(good[:, :lim]), _depth(good[:, ::-1][:, :lim])


def edge_depths(good_top: np.ndarray, good_bottom: np.ndarray, border_limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the no-value run from the top edge (rows of `good_top`, top first) and from the
    bottom edge (rows of `good_bottom`, in image order), each at most border_limit."""
    top = _depth(np.asarray(good_top)[: int(border_limit)].T)
    bottom = _depth(np.asarray(good_bottom)[::-1][: int(border_limit)].T)
    return top, bottom


def border_mask(
    shape: tuple[int, int],
    row0: int,
    n_lines: int,
    left: np.ndarray,
    right: np.ndarray,
    top: np.ndarray,
    bottom: np.ndarray,
) -> np.ndarray:
    """True where a block of full-width lines (first line `row0` of an image of `n_lines`) is border noise.

    `left`/`right` hold each block line's run from the left/right edge; `top`/`bottom` each
    column's run from the top/bottom image edge.
    """
    rows = np.arange(row0, row0 + shape[0])[:, None]
    cols = np.arange(shape[1])[None, :]
    mask = (cols < left[:, None]) | (cols >= shape[1] - right[:, None])
    mask |= rows < top[None, :]
    mask |= rows >= n_lines - bottom[None, :]
    return mask
