"""GRD border noise removal as SNAP's Remove-GRD-Border-Noise does it (microwave-toolbox ``RemoveGRDBorderNoiseOp``).

GRD products of IPF versions before 2.90 carry leading and trailing samples and lines that are
not zero but hold very low, noise-like values (ESA MPC-0243, "Masking no-value pixels on GRD
products"). SNAP's operator, which implements that note, works in two steps on the co-polarised
band (HH or VV) and masks every band where the co-pol pixel fails:

1. **Border depth from the edge profile.** For each image side, the strip of ``borderLimit``
   rows (top, bottom) or columns (left, right) is cut into ``borderLimit``-square tiles; the
   profile is the mean over tiles of each tile's per-row (per-column) mean of the non-zero
   values (zeros count in the denominator). The border lies at the largest jump of the profile,
   ``argmax |p[i+1] - p[i]|``, if that jump exceeds ten times the mean jump; otherwise the side
   has no border zone. The zone is then rows ``y < top``, ``y > H - L + bottom``, columns
   ``x < left``, ``x > W - L + floor(0.8 right)`` (the right zone reaches deeper, as in SNAP).
2. **The pixel test** inside the zones: a pixel is no-value when its amplitude ``DN < 30`` or
   its noise-removed amplitude ``sqrt(max(DN^2 - noise(x), 0)) < trimThreshold``. The threshold
   is on amplitude. ``noise(x)`` is the co-pol's middle noise range vector (the ``count // 2``-th)
   over range, linear between its pixels and extrapolated beyond them, times a scale: for
   IPF <= 2.50 (microwave-toolbox 13; s1tbx tested < 2.50) ``K_noise * DN0^2`` (``K_noise * DN0`` before
   2.34), with ``K_noise`` 75088.7 for IW and 56065.87 for EW and ``DN0`` the first value of the
   first calibration vector's DN LUT; 1 later; and 0 when the annotation says thermal noise was
   already removed. The scale applies to border removal only; thermal noise removal uses the
   annotated noise as it is, as SNAP's does. Pixels outside the zones, pixels inside that pass
   (isolated bright ones included) and zeros are left as they are.

From IPF 2.90 the processor sets these samples to 0 itself and the operator copies its input;
:func:`needs_border_removal` tells the engine so.

Deliberate differences from SNAP, named:

* the top and left zones include the profile's peak row (column): SNAP tests ``y < top`` with
  ``top`` the index before the jump, which leaves the last no-value row untested;
* strips are cut to the image when it is smaller than ``borderLimit`` (SNAP reads outside it);
* the co-pol band is the product's, selected for the chain or not (SNAP fails without it);
* in soilsat's graph ThermalNoiseRemoval runs first (Filipponi 2019): SNAP's operator then gets
  the noise-removed intensity, finds the thermal noise marked as removed and compares that
  intensity with the amplitude thresholds. soilsat tests the product's co-pol amplitude with the
  noise handling above, which is what the operator does on an L1 product and what MPC-0243 means.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

MIN_DN = 30
MASKED_FROM_IPF = (2, 90)  # products of this IPF version and later come with masked borders
NOISE_SCALED_UP_TO_IPF = (2, 50)  # SNAP: version <= 2.50 scales the noise vector for border removal
NOISE_SQUARED_FROM_IPF = (2, 34)  # SNAP: version < 2.34 scales by K_noise * DN0, later by K_noise * DN0^2
K_NOISE = {"IW": 75088.7, "EW": 56065.87}
PEAK_RATIO = 10.0  # the largest jump of a profile must exceed this many times the mean jump
RIGHT_DEPTH = 0.8  # SNAP's right zone: W - L + floor(0.8 * peak)
SIDES = ("top", "bottom", "left", "right")


def _version(ipf: tuple[int, ...]) -> tuple[int, int]:
    """(major, minor) of an IPF version tuple such as (3, 40) or (2, 70)."""
    return (ipf[0], ipf[1] if len(ipf) > 1 else 0)


def needs_border_removal(ipf: tuple[int, ...]) -> bool:
    """Whether a product of this IPF version still has unmasked border noise (IPF < 2.90)."""
    return _version(ipf) < MASKED_FROM_IPF


def noise_scale(ipf: tuple[int, ...], mode: str, dn0: float) -> float:
    """SNAP's scaling of the noise vector for border removal: K_noise * DN0^2 up to IPF 2.50 (K_noise * DN0
    before 2.34), 1 later; ValueError for a mode other than IW or EW that needs it (SNAP refuses those)."""
    version = _version(ipf)
    if version > NOISE_SCALED_UP_TO_IPF:
        return 1.0
    key = next((k for k in K_NOISE if k in mode.upper()), None)
    if key is None:
        raise ValueError(f"GRD border noise of {mode} products of IPF <= 2.50 cannot be removed (SNAP: IW and EW only)")
    return K_NOISE[key] * (dn0 if version < NOISE_SQUARED_FROM_IPF else dn0 * dn0)


def noise_lut(
    pixels: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray, width: int, scale: float
) -> np.ndarray:
    """A noise vector on every image column (float64): linear between its pixels, extrapolated linearly beyond
    the first and last (as SNAP's computeNoiseLUT walks it), times `scale`."""
    px = np.asarray(pixels, dtype=float)
    lut = np.asarray(values, dtype=float)
    x = np.arange(width, dtype=float)
    k = np.clip(np.searchsorted(px, x, side="right") - 1, 0, len(px) - 2)
    mu = (x - px[k]) / (px[k + 1] - px[k])
    return (lut[k] + (lut[k + 1] - lut[k]) * mu) * scale


class EdgeProfile:
    """SNAP's border profile of one side, accumulated block by block: per offset from the edge (rows for top
    and bottom, columns for left and right) the mean over borderLimit-square tiles of the tile's mean of the
    non-zero values."""

    def __init__(self, limit: int, along: int):
        self.limit = limit
        self.n_tiles = max(-(-along // limit), 1)  # tiles along the side
        self.sums = np.zeros((self.n_tiles, limit))
        self.sizes = np.zeros(self.n_tiles)

    def add(self, strip: np.ndarray, first: int) -> None:
        """Add a piece of the strip: (offset from the edge, position along the side) values, whose first
        position along the side is `first`."""
        values = np.where(strip != 0, strip, 0).astype(float)
        along = first + np.arange(values.shape[1])
        tiles = along // self.limit
        for t in np.unique(tiles):
            sel = tiles == t
            self.sums[t, : values.shape[0]] += values[:, sel].sum(axis=1)

    def set_sizes(self, along: int) -> None:
        """The size of each tile along the side (the last one may be short)."""
        starts = np.arange(self.n_tiles) * self.limit
        self.sizes = np.minimum(starts + self.limit, along) - starts

    def profile(self) -> np.ndarray:
        """The averaged profile (offset from the strip's first row or column)."""
        return (self.sums / self.sizes[:, None]).sum(axis=0) / self.n_tiles


def peak_position(profile: np.ndarray) -> int:
    """SNAP's getPeakPosition: the index of the largest |p[i+1] - p[i]| when it exceeds PEAK_RATIO times the mean
    of them, else -1."""
    jumps = np.abs(np.diff(np.asarray(profile, dtype=float)))
    if jumps.size == 0:
        return -1
    mean = jumps.mean()
    peak = int(np.argmax(jumps))
    return peak if mean > 0.0 and jumps[peak] / mean > PEAK_RATIO else -1


@dataclasses.dataclass(frozen=True)
class Zones:
    """How deep each side's test zone reaches: rows from the top and bottom, columns from the left and right."""

    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    @classmethod
    def from_peaks(cls, limits: tuple[int, int], top: int, bottom: int, left: int, right: int) -> Zones:
        """The zones of each side's profile peak (-1: no border) in strips `limits` rows and columns deep (see the
        module notes)."""
        rows, cols = limits
        return cls(
            top=top + 1 if top >= 0 else 0,
            bottom=rows - 1 - bottom if bottom >= 0 else 0,
            left=left + 1 if left >= 0 else 0,
            right=cols - 1 - int(right * RIGHT_DEPTH) if right >= 0 else 0,
        )

    def mask(self, rows: tuple[int, int], cols: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
        """Which pixels of image rows x cols lie in a zone of an image of `shape` (lines, samples)."""
        y = np.arange(*rows)[:, None]
        x = np.arange(*cols)[None, :]
        return (y < self.top) | (y >= shape[0] - self.bottom) | (x < self.left) | (x >= shape[1] - self.right)

    def touches(self, rows: tuple[int, int], cols: tuple[int, int], shape: tuple[int, int]) -> bool:
        """Whether image rows x cols reach into any zone."""
        return (
            rows[0] < self.top
            or rows[1] > shape[0] - self.bottom
            or cols[0] < self.left
            or cols[1] > shape[1] - self.right
        )


def no_value(dn: np.ndarray, noise: np.ndarray, trim_threshold: float) -> np.ndarray:
    """SNAP's pixel test: DN below MIN_DN, or the noise-removed amplitude sqrt(max(DN^2 - noise, 0)) below the
    threshold; zeros (already no data) are not flagged. `noise` broadcasts over the rows (one value a column)."""
    dn = np.asarray(dn)
    amplitude = np.sqrt(np.maximum(dn.astype(np.float64) ** 2 - noise, 0.0))
    return (dn != 0) & ((amplitude < trim_threshold) | (dn < MIN_DN))


def border_mask(
    dn: np.ndarray,
    rows: tuple[int, int],
    cols: tuple[int, int],
    shape: tuple[int, int],
    zones: Zones,
    noise: np.ndarray,
    trim_threshold: float,
) -> np.ndarray:
    """True where co-pol amplitudes `dn` of image rows x cols are border noise; `noise` holds the border noise
    LUT of those columns."""
    if not zones.touches(rows, cols, shape):
        return np.zeros(dn.shape, dtype=bool)
    return zones.mask(rows, cols, shape) & no_value(dn, noise[None, :], trim_threshold)
