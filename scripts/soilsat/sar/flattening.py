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
from collections.abc import Sequence
from pathlib import Path

import numba
import numpy as np

from soilsat.sar.geocoding import Geometry

THRESHOLD = 0.05  # SNAP's threshold: an image pixel's area must exceed this share of a flat pixel's aGamma
LAG_ROWS = 256  # grid rows between the facets last added and the rows sampled: the layover reach (the sweeps' 128)
# rounded up to a row of the output COG's 256-pixel tiles, so that the blocks written end on tile boundaries
MAX_SUBFACETS = 8  # per axis: a facet spanning more image pixels than this (a slope near grazing) is split no further
# image pixels a (sub-)facet may span before it is split: with bilinear weights over two pixels, facets this far
# apart still leave no image pixel between them without area (a flat 10 m grid spans about 1.2 pixels)
FACET_SPAN = 1.5
BAND_COLUMNS = 1024  # grid columns a thread adds at a time (bands two apart reach image samples far apart)


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
        scatter(geo, float(r0), float(c0), n, self.gamma, self.sigma)

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
def _derivatives(line, pixel, i, j):
    """The image position's derivatives along the grid's columns (ru, cu) and rows (rv, cv) at pixel (i, j)."""
    rows, cols = line.shape
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
    return ru, cu, rv, cv


@numba.njit(cache=True, error_model="numpy")
def _lit(line, pixel, cos_local, area, shadow, i, j):
    """Whether the facet of grid pixel (i, j) adds area: a position, an area, lit and facing the radar."""
    return (
        np.isfinite(line[i, j])
        and np.isfinite(pixel[i, j])
        and np.isfinite(area[i, j])
        and not shadow[i, j]
        and cos_local[i, j] > 0.0
    )


@numba.njit(cache=True, error_model="numpy")
def _scatter_columns(line, pixel, cos_local, area, shadow, r_off, c_off, n, gamma, sigma, j0, j1):
    """Add the lit facets of grid columns j0:j1, row by row, each split into k x k sub-facets placed by the local
    derivatives of its position (k is n, or more where the facet spans more than FACET_SPAN image pixels, up to
    MAX_SUBFACETS): its gamma-projected area (and ground area, when sigma has rows) to the image pixels around."""
    keep_sigma = sigma.shape[0] > 0
    for i in range(line.shape[0]):
        for j in range(j0, j1):
            if not _lit(line, pixel, cos_local, area, shadow, i, j):
                continue
            r, c, a = line[i, j], pixel[i, j], area[i, j]
            ru, cu, rv, cv = _derivatives(line, pixel, i, j)
            span = max(abs(ru) + abs(rv), abs(cu) + abs(cv))
            k = min(max(n, int(math.ceil(span / FACET_SPAN - 1e-9))), MAX_SUBFACETS)
            inv = 1.0 / (k * k)
            ag, asg = a * cos_local[i, j] * inv, a * inv
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
def _band_samples(line, pixel, cos_local, area, shadow, width, extent):
    """Per band of `width` grid columns, the lowest and highest image sample its lit facets' areas reach (the
    sub-facets' spread and the bilinear weights' next pixel included); inf, -inf for a band without any."""
    rows, cols = line.shape
    for b in numba.prange(extent.shape[0]):
        lo, hi = np.inf, -np.inf
        for i in range(rows):
            for j in range(b * width, min((b + 1) * width, cols)):
                if not _lit(line, pixel, cos_local, area, shadow, i, j):
                    continue
                ru, cu, rv, cv = _derivatives(line, pixel, i, j)
                spread = 0.5 * (abs(cu) + abs(cv))
                lo = min(lo, pixel[i, j] - spread)
                hi = max(hi, pixel[i, j] + spread + 1.0)
        extent[b, 0], extent[b, 1] = lo, hi


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _scatter_bands(line, pixel, cos_local, area, shadow, r_off, c_off, n, gamma, sigma, width):
    """_scatter_columns over bands of `width` grid columns: the even bands in parallel, then the odd ones."""
    bands = (line.shape[1] + width - 1) // width
    for phase in range(2):
        for h in numba.prange((bands - phase + 1) // 2):
            b = 2 * h + phase
            _scatter_columns(
                line,
                pixel,
                cos_local,
                area,
                shadow,
                r_off,
                c_off,
                n,
                gamma,
                sigma,
                b * width,
                min((b + 1) * width, line.shape[1]),
            )


def _apart(extent: np.ndarray) -> bool:
    """Whether no two of the sample ranges (lowest, highest) share an image sample."""
    used = extent[np.isfinite(extent[:, 0])]
    used = used[np.argsort(used[:, 0])]
    return bool(np.all(used[1:, 0] > used[:-1, 1] + 1.0))


def scatter(geo: Geometry, r_off: float, c_off: float, n: int, gamma: np.ndarray, sigma: np.ndarray) -> None:
    """Add the facets of a block of grid rows to the areas (image pixel (0, 0) at image position r_off, c_off).

    Bands of BAND_COLUMNS grid columns are added in two phases, the even bands side by side on the job's
    threads, then the odd ones, where no two bands of a phase reach the same image sample (checked on the
    block's positions: true of any block whose rows do not span more image samples than a band); otherwise
    the columns go row by row on one thread. A pixel's sum has the same order whatever the thread count."""
    args = (geo.line, geo.pixel, geo.cos_local_incidence, geo.surface_area, geo.passive_shadow)
    cols = geo.line.shape[1]
    bands = -(-cols // BAND_COLUMNS)
    extent = np.empty((bands, 2))
    _band_samples(*args, BAND_COLUMNS, extent)
    if _apart(extent[0::2]) and _apart(extent[1::2]):
        _scatter_bands(*args, r_off, c_off, int(n), gamma, sigma, BAND_COLUMNS)
    else:
        _scatter_columns(*args, r_off, c_off, int(n), gamma, sigma, 0, cols)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _flattened(images, offset, gamma, line, pixel, cos_incidence, valid, a_beta, srgr, out):
    """Bilinear samples of each image / (gamma / (a_beta * srgr)) at image positions into out[k] (the images and
    gamma share the window starting at `offset`; srgr per window column); NaN where not valid, outside the
    window, or next to a pixel whose area is at most THRESHOLD * a_beta / tan(incidence). The four pixels'
    weights over their areas are found once for all images."""
    n, m = gamma.shape
    for i in numba.prange(line.shape[0]):
        for j in range(line.shape[1]):
            r, c = line[i, j] - offset[0], pixel[i, j] - offset[1]
            if not (valid[i, j] and r >= -0.5 and r <= n - 0.5 and c >= -0.5 and c <= m - 0.5):
                for k in range(len(images)):
                    out[k, i, j] = np.nan
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
            a00, a01, a10, a11 = gamma[r0, c0], gamma[r0, c1], gamma[r1, c0], gamma[r1, c1]
            if not (a00 > floor and a01 > floor and a10 > floor and a11 > floor):
                for k in range(len(images)):
                    out[k, i, j] = np.nan
                continue
            w00 = (1.0 - wr) * (1.0 - wc) * norm / a00
            w01 = (1.0 - wr) * wc * norm / a01
            w10 = wr * (1.0 - wc) * norm / a10
            w11 = wr * wc * norm / a11
            for k in range(len(images)):
                image = images[k]
                out[k, i, j] = w00 * image[r0, c0] + w01 * image[r0, c1] + w10 * image[r1, c0] + w11 * image[r1, c1]


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
        self,
        images: Sequence[np.ndarray],
        window: tuple[int, int, int, int],
        geo: Geometry,
        valid: np.ndarray,
        out: np.ndarray,
    ) -> None:
        """gamma0 (float32 `out[k]`) of each beta0 image window (the areas' window) at the block's positions."""
        if window != self.areas.window:
            raise ValueError(f"image window {window} is not the areas' {self.areas.window}")
        if len(images) != out.shape[0]:
            raise ValueError(f"{len(images)} images for {out.shape[0]} output bands")
        _flattened(
            tuple(images),
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
