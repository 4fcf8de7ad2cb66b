"""Terrain-Flattening: gamma0 by area-based flattening (Small 2011), as SNAP's Terrain-Flattening does it.

SNAP's operator (microwave-toolbox ``TerrainFlatteningOp``) projects every DEM facet into the
radar image and adds the facet's illuminated area, its area projected onto the plane normal to
the look direction (the gamma projection), to the image pixels around the facet's position
with bilinear weights; facets in shadow add nothing. An image pixel's accumulated area ``A`` then
normalises its beta0: ``gamma0 = beta0 * A_beta / A``, where ``A_beta`` is the pixel's area in
the slant plane (azimuth spacing times ground range spacing times the slant-to-ground range
ratio ``d(slant range) / d(ground range)``; for GRD the ground spacing is the annotated range
spacing). Pixels whose area is at most ``THRESHOLD`` times ``A_beta_ground / tan(incidence)``
are no data, as in SNAP.

Here the facets are the study grid's pixels at their DEM heights: each pixel's geometry
(:mod:`soilsat.sar.geocoding`) gives its image position, its DEM surface area (the parallelogram
its tangents span) and local incidence angle; the gamma-projected area is the surface area times
the cosine of the local incidence angle (the projection of a plane facet onto the plane normal
to the look vector), the same quantity SNAP gets from Heron's formula on the projected corners.
Each facet is split into ``n x n`` sub-facets (SNAP's oversampling, see :func:`subfacets`), placed
by the local derivatives of its image position, and into more where it spans more than FACET_SPAN
image pixels (slopes facing away from the radar are stretched in range), so that no image pixel
behind it is left without area. Shadow is the
geometry's own (passive: behind a nearer slope along the zero-Doppler plane; active: facing away),
where SNAP compares elevation angles along DEM rows.

The image's areas accumulate in float32 files in the temporary folder, mapped for the run
(:class:`AreaImage`). Terrain-Correction then samples ``beta0 / (A / A_beta)`` bilinearly over
the four image pixels around each grid pixel, as it samples SNAP's flattened image; the builtin
engine does it a few blocks of grid rows behind the facets (:data:`LAG_ROWS`), so that every
facet that lands on those pixels has been added.

Deliberate differences from SNAP: the DEM is the study grid's (no ``additionalOverlap``: the
whole grid's DEM is projected, so no tile edge lacks facets, but image pixels at the grid's own
edge lack the facets beyond it); the sub-facet count is an integer (SNAP resamples its DEM by a
real factor) and grows where a facet spans more than an image pixel (SNAP's fixed factor leaves
image pixels without area there, which then have no gamma0).
"""

from __future__ import annotations

import math
import mmap
from pathlib import Path

import numba
import numpy as np

from soilsat.sar.geocoding import Geometry

THRESHOLD = 0.05  # SNAP's threshold: an image pixel's area must exceed this share of a flat pixel's aGamma
LAG_ROWS = 128  # grid rows between the facets last added and the rows sampled (the layover reach, as the sweeps')
MAX_SUBFACETS = 8  # per axis: a facet spanning more image pixels than this (a slope near grazing) is split no further
# image pixels a (sub-)facet may span before it is split: with bilinear weights over two pixels, facets this far
# apart still leave no image pixel between them without area (a flat 10 m grid spans about 1.2 pixels)
FACET_SPAN = 1.5


def subfacets(grid_spacing: float, range_spacing: float, azimuth_spacing: float, multiple: float) -> int:
    """Sub-facets per grid pixel and axis: SNAP's overSamplingFactor for an external DEM,
    ceil(DEM pixel / smaller image spacing) * oversamplingMultiple, rounded up to an integer."""
    factor = math.ceil(grid_spacing / min(range_spacing, azimuth_spacing) - 1e-9) * multiple
    return max(1, math.ceil(factor - 1e-9))


class AreaImage:
    """The illuminated (gamma) area, and optionally the ground (sigma) area, accumulated per image pixel of a
    window, in float32 scratch files mapped for the run."""

    def __init__(self, folder: Path, window: tuple[int, int, int, int], with_sigma: bool):
        self.window = window
        r0, r1, c0, c1 = window
        shape = (r1 - r0, c1 - c0)
        self._files, self._maps, arrays = [], [], []
        for name in ("gamma_area", "sigma_area") if with_sigma else ("gamma_area",):
            path = folder / f"{name}.f32"
            f = open(path, "w+b")
            f.truncate(max(shape[0] * shape[1] * 4, 1))  # sparse: zeros until written
            m = mmap.mmap(f.fileno(), 0)
            self._files.append(f)
            self._maps.append(m)
            arrays.append(np.frombuffer(m, dtype=np.float32)[: shape[0] * shape[1]].reshape(shape))
        self.gamma = arrays[0]
        self.sigma = arrays[1] if with_sigma else np.zeros((0, 0), np.float32)

    def add(self, geo: Geometry, n: int) -> None:
        """Add the facets of a block of grid rows (n x n sub-facets each)."""
        r0, _, c0, _ = self.window
        _scatter(
            geo.line,
            geo.pixel,
            geo.cos_local_incidence,
            geo.surface_area,
            geo.passive_shadow,
            float(r0),
            float(c0),
            int(n),
            self.gamma,
            self.sigma,
        )

    def release(self) -> None:
        """Give back the mapped pages (they stay in the file; touching them again reads them back)."""
        for m in self._maps:
            m.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        """Unmap and close the files."""
        del self.gamma, self.sigma
        for m in self._maps:
            m.close()
        for f in self._files:
            f.close()


@numba.njit(cache=True, error_model="numpy")
def _splat(acc, r, c, value):
    """Add value to the four pixels around image position (r, c) of acc with bilinear weights."""
    n, m = acc.shape
    i0, j0 = math.floor(r), math.floor(c)
    wr, wc = r - i0, c - j0
    for di in range(2):
        i = i0 + di
        if i < 0 or i >= n:
            continue
        wi = wr if di else 1.0 - wr
        for dj in range(2):
            j = j0 + dj
            if j < 0 or j >= m:
                continue
            acc[i, j] += value * wi * (wc if dj else 1.0 - wc)


@numba.njit(cache=True, error_model="numpy")
def _scatter(line, pixel, cos_local, area, shadow, r_off, c_off, n, gamma, sigma):
    """Add each lit facet's gamma-projected area (and ground area, when sigma has rows) to the image pixels
    around its position, split into k x k sub-facets placed by the local derivatives of the position: k is n, or
    more where the facet spans more than FACET_SPAN image pixels (up to MAX_SUBFACETS)."""
    rows, cols = line.shape
    keep_sigma = sigma.shape[0] > 0
    for i in range(rows):
        for j in range(cols):
            r, c, cl, a = line[i, j], pixel[i, j], cos_local[i, j], area[i, j]
            if not (np.isfinite(r) and np.isfinite(c) and np.isfinite(a)) or shadow[i, j] or not cl > 0.0:
                continue
            # derivatives of the image position along the grid's columns (u) and rows (v)
            ja, jb = max(j - 1, 0), min(j + 1, cols - 1)
            ia, ib = max(i - 1, 0), min(i + 1, rows - 1)
            ru = (line[i, jb] - line[i, ja]) / max(jb - ja, 1)
            cu = (pixel[i, jb] - pixel[i, ja]) / max(jb - ja, 1)
            rv = (line[ib, j] - line[ia, j]) / max(ib - ia, 1)
            cv = (pixel[ib, j] - pixel[ia, j]) / max(ib - ia, 1)
            if not (np.isfinite(ru) and np.isfinite(cu)):
                ru, cu = 0.0, 0.0
            if not (np.isfinite(rv) and np.isfinite(cv)):
                rv, cv = 0.0, 0.0
            span = max(abs(ru) + abs(rv), abs(cu) + abs(cv))
            k = min(max(n, int(math.ceil(span / FACET_SPAN - 1e-9))), MAX_SUBFACETS)
            inv = 1.0 / (k * k)
            ag, asg = a * cl * inv, a * inv
            if k == 1:
                _splat(gamma, r - r_off, c - c_off, ag)
                if keep_sigma:
                    _splat(sigma, r - r_off, c - c_off, asg)
                continue
            for a_ in range(k):
                v = (a_ + 0.5) / k - 0.5
                for b_ in range(k):
                    u = (b_ + 0.5) / k - 0.5
                    rr = r + u * ru + v * rv - r_off
                    cc = c + u * cu + v * cv - c_off
                    _splat(gamma, rr, cc, ag)
                    if keep_sigma:
                        _splat(sigma, rr, cc, asg)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _flattened(image, offset, gamma, line, pixel, cos_incidence, valid, a_beta, srgr, out):
    """Bilinear samples of image / (gamma / (a_beta * srgr)) at image positions (image and gamma share the window
    starting at `offset`; srgr per window column); NaN where not valid, outside the image, or next to a pixel
    whose area is at most THRESHOLD * a_beta / tan(incidence)."""
    n, m = image.shape
    for i in numba.prange(line.shape[0]):
        for j in range(line.shape[1]):
            r, c = line[i, j] - offset[0], pixel[i, j] - offset[1]
            if not (valid[i, j] and r >= -0.5 and r <= n - 0.5 and c >= -0.5 and c <= m - 0.5):
                out[i, j] = np.nan
                continue
            r = min(max(r, 0.0), n - 1.0)
            c = min(max(c, 0.0), m - 1.0)
            r0 = min(int(r), max(n - 2, 0))
            c0 = min(int(c), max(m - 2, 0))
            r1, c1 = min(r0 + 1, n - 1), min(c0 + 1, m - 1)
            wr, wc = r - r0, c - c0
            ci = cos_incidence[i, j]
            floor = THRESHOLD * a_beta * ci / math.sqrt(max(1.0 - ci * ci, 1e-12))
            norm = a_beta * srgr[min(max(int(c + 0.5), 0), m - 1)]
            total = 0.0
            bad = False
            for di in range(2):
                ri = r0 if di == 0 else r1
                w_r = 1.0 - wr if di == 0 else wr
                for dj in range(2):
                    cj = c0 if dj == 0 else c1
                    area = gamma[ri, cj]
                    if not area > floor:
                        bad = True
                    else:
                        total += w_r * (1.0 - wc if dj == 0 else wc) * image[ri, cj] * norm / area
            out[i, j] = np.nan if bad else total


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _area_layers(gamma, sigma, a_off, line, pixel, valid, out_area, out_ratio):
    """Bilinear samples of the gamma area (m2) and of the gamma-to-sigma area ratio at image positions."""
    n, m = gamma.shape
    for i in numba.prange(line.shape[0]):
        for j in range(line.shape[1]):
            r, c = line[i, j] - a_off[0], pixel[i, j] - a_off[1]
            if not (valid[i, j] and r >= -0.5 and r <= n - 0.5 and c >= -0.5 and c <= m - 0.5):
                out_area[i, j] = np.nan
                out_ratio[i, j] = np.nan
                continue
            r = min(max(r, 0.0), n - 1.0)
            c = min(max(c, 0.0), m - 1.0)
            r0 = min(int(r), max(n - 2, 0))
            c0 = min(int(c), max(m - 2, 0))
            r1, c1 = min(r0 + 1, n - 1), min(c0 + 1, m - 1)
            wr, wc = r - r0, c - c0
            area, ratio = 0.0, 0.0
            for di in range(2):
                ri = r0 if di == 0 else r1
                w_r = 1.0 - wr if di == 0 else wr
                for dj in range(2):
                    cj = c0 if dj == 0 else c1
                    w = w_r * (1.0 - wc if dj == 0 else wc)
                    area += w * gamma[ri, cj]
                    ratio += w * (gamma[ri, cj] / sigma[ri, cj] if sigma[ri, cj] > 0.0 else np.nan)
            out_area[i, j] = area
            out_ratio[i, j] = ratio


class Flattening:
    """Terrain flattening over an image window: the accumulated areas and what normalises them."""

    def __init__(
        self,
        areas: AreaImage,
        n: int,
        range_spacing: float,
        azimuth_spacing: float,
        srgr: np.ndarray,
    ):
        self.areas, self.n = areas, n
        self.a_beta = float(range_spacing) * float(azimuth_spacing)  # SNAP's aBeta (ground range spacing)
        self.srgr = np.ascontiguousarray(srgr, dtype=float)  # d(slant)/d(ground) per window column

    @property
    def area_layers(self) -> bool:
        """Whether the ground area is kept, for the scattering area and gamma-to-sigma ratio layers."""
        return self.areas.sigma.shape[0] > 0

    def add(self, geo: Geometry) -> None:
        """Add the facets of a block of grid rows."""
        self.areas.add(geo, self.n)

    def sample(
        self, image: np.ndarray, window: tuple[int, int, int, int], geo: Geometry, valid: np.ndarray, out: np.ndarray
    ) -> None:
        """gamma0 (float32 `out`) of a beta0 image window (the areas' window) at the block's positions."""
        if window != self.areas.window:
            raise ValueError(f"image window {window} is not the areas' {self.areas.window}")
        _flattened(
            image,
            np.array(window[0::2], np.int64),
            self.areas.gamma,
            geo.line,
            geo.pixel,
            geo.cos_incidence,
            valid,
            self.a_beta,
            self.srgr,
            out,
        )

    def sample_area_layers(self, geo: Geometry, valid: np.ndarray, out_area: np.ndarray, out_ratio: np.ndarray) -> None:
        """The scattering area (m2) and gamma-to-sigma ratio at the block's positions."""
        _area_layers(
            self.areas.gamma,
            self.areas.sigma,
            np.array(self.areas.window[0::2], np.int64),
            geo.line,
            geo.pixel,
            valid,
            out_area,
            out_ratio,
        )
