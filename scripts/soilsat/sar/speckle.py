"""Speckle filtering: the improved Lee sigma filter as SNAP's Speckle-Filter operator applies it.

Lee, Wen, Ainsworth, Chen & Chen (2009), "Improved sigma filter for speckle filtering of
SAR imagery", IEEE TGRS 47(1), as implemented by SNAP (microwave toolbox, ``LeeSigma``),
on linear intensity:

1. Point targets. ``z98`` is the 98th percentile of the valid pixels (SNAP's rank rule:
   the value at 0-based index ``floor(0.98 n) - 1`` of the sorted values). A pixel above
   ``z98`` whose ``target x target`` neighbourhood holds more than ``POINT_TARGET_K`` (5)
   pixels above ``z98`` is the seed of a point-target cluster; the seed and every pixel
   above ``z98`` in its neighbourhood are returned unfiltered.
2. A-priori mean: the MMSE (Lee) estimate in the ``target x target`` window with the
   speckle coefficient of variation ``1 / sqrt(looks)``.
3. Sigma range ``[I1, I2] x`` a-priori mean, from SNAP's tables for ``looks`` and ``sigma``.
4. Output: the MMSE estimate over the pixels of the ``window x window`` window that lie in
   the sigma range, with the revised coefficient ``eta`` of the tables (the centre pixel
   itself when none lie in the range).

Pixels closer than ``window // 2`` to the image edge get SNAP's edge rule: the MMSE
estimate over the valid pixels of the clipped window with ``1 / sqrt(looks)``.
Variances are sample variances (``n - 1``), as SNAP computes them. NaN is no data: it is
never used, and it stays NaN in the output; valid pixels never become NaN.

Two deliberate differences from SNAP, both to make the result independent of how the
image is tiled: ``z98`` is computed once over the whole image (SNAP takes it per tile),
and point-target clusters are marked symmetrically (SNAP marks them in raster order within
a tile, so a cluster pixel above-left of the seed may be filtered before it is marked).

On 1-look intensity the result is about 1.3 % below the input mean on homogeneous areas
(under 1 % from 2 looks): a property of the algorithm (the sigma range is centred on a
noisy 3x3 prior), which findpeaks' transcription shares.

Written here rather than taken from a library: the only Python peer (findpeaks'
``lee_sigma_filter``) makes one Python call per pixel, about 10^4 times slower, handles
neither NaN nor SNAP's edge rule, and uses population variances. The numba kernels run
over row blocks (views with halos, no copies), so the memory beyond input and output is
a few row-sized arrays per thread; the 98th percentile is an exact radix selection, not
a sort; the window sums run along row chunks, one pass per window offset, in the form
LLVM vectorises.
"""

from __future__ import annotations

import math
import operator

import numba
import numpy as np

POINT_TARGET_K = 5  # a seed needs more than this many pixels above z98 in its target window
Z98_FRACTION = 0.98
BLOCK_ROWS = 1024  # output rows per parallel block (the block itself is a view: no copy)
CHUNK = 512  # columns per pass of the window sums (their accumulators stay in L1 cache)

# SNAP's intensity tables (Lee et al. 2009, Table I): looks -> sigma -> (I1, I2, eta).
SIGMA_TABLE: dict[int, dict[float, tuple[float, float, float]]] = {
    1: {
        0.5: (0.436, 1.920, 0.4057),
        0.6: (0.343, 2.210, 0.4954),
        0.7: (0.254, 2.582, 0.5911),
        0.8: (0.168, 3.094, 0.6966),
        0.9: (0.084, 3.941, 0.8191),
    },
    2: {
        0.5: (0.582, 1.584, 0.2763),
        0.6: (0.501, 1.755, 0.3388),
        0.7: (0.418, 1.972, 0.4062),
        0.8: (0.327, 2.260, 0.4810),
        0.9: (0.221, 2.744, 0.5699),
    },
    3: {
        0.5: (0.652, 1.458, 0.2222),
        0.6: (0.580, 1.586, 0.2736),
        0.7: (0.505, 1.751, 0.3280),
        0.8: (0.419, 1.965, 0.3892),
        0.9: (0.313, 2.320, 0.4624),
    },
    4: {
        0.5: (0.694, 1.385, 0.1921),
        0.6: (0.630, 1.495, 0.2348),
        0.7: (0.560, 1.627, 0.2825),
        0.8: (0.480, 1.804, 0.3354),
        0.9: (0.378, 2.094, 0.3991),
    },
}
SIGMAS = (0.5, 0.6, 0.7, 0.8, 0.9)


def sigma_parameters(looks: int, sigma: float) -> tuple[float, float, float]:
    """(I1, I2, eta) of SNAP's table for `looks` and `sigma`; ValueError when not tabulated."""
    try:
        looks_i = operator.index(looks)
    except TypeError:
        raise ValueError(f"lee_sigma: looks must be an integer in 1..4 (SNAP's tables), got {looks!r}") from None
    if isinstance(looks, bool) or looks_i not in SIGMA_TABLE:
        raise ValueError(f"lee_sigma: looks must be an integer in 1..4 (SNAP's tables), got {looks!r}")
    number = isinstance(sigma, (int, float, np.floating)) and not isinstance(sigma, bool)
    key = next((s for s in SIGMAS if number and abs(float(sigma) - s) < 1e-6), None)
    if key is None:
        allowed = ", ".join(map(str, SIGMAS))
        raise ValueError(f"lee_sigma: sigma must be one of {allowed} (SNAP's tables), got {sigma!r}")
    return SIGMA_TABLE[looks_i][key]


def _check_windows(window: int, target: int) -> tuple[int, int]:
    """The window and target sizes as ints; ValueError unless odd, >= 3 and target < window."""
    sizes = {}
    for name, value in (("window", window), ("target", target)):
        try:
            size = operator.index(value)
        except TypeError:
            size = None
        if size is None or isinstance(value, bool) or size < 3 or size % 2 == 0:
            raise ValueError(
                f"lee_sigma: {name} must be an odd integer >= 3 (SNAP: window 5..17, target 3 or 5), got {value!r}"
            )
        sizes[name] = size
    if sizes["target"] >= sizes["window"]:
        raise ValueError(f"lee_sigma: target ({target}) must be smaller than window ({window})")
    return sizes["window"], sizes["target"]


def filter_halo(window: int, target: int) -> int:
    """Rows (and columns) of input beyond a block that the filter reads for the block's output: the sigma
    window's half, and the target windows of point-target seeds up to a target half away."""
    return max(window // 2, 2 * (target // 2))


@numba.njit(cache=True, error_model="numpy", inline="always")
def _mmse(v, n, s, q, cv2):
    """Lee's MMSE estimate of centre value v from n samples with sum s and sum of squares q."""
    mean = s / n
    var = (q - s * mean) / (n - 1.0) if n > 1.0 else 0.0
    if var <= 0.0:
        return mean
    var_x = (var - mean * mean * cv2) / (1.0 + cv2)
    if var_x <= 0.0:
        return mean
    b = var_x / var
    return mean + b * (v - mean)


def mmse_estimate(value: float, samples: np.ndarray, cv2: float) -> float:
    """Lee's MMSE estimate of `value` from the finite `samples` (speckle variance coefficient cv2)."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("mmse_estimate: no finite samples")
    return float(_mmse(float(value), float(x.size), float(x.sum()), float((x * x).sum()), float(cv2)))


@numba.njit(cache=True, error_model="numpy", parallel=True)
def _key_histogram(bits, shift, prefix, prefix_shift, nchunks):
    """Histogram of ((key >> shift) & 0xFFFF) over non-NaN pixels whose key >> prefix_shift == prefix.

    `bits` is the image viewed as uint32 and key its order-preserving unsigned form
    (sign bit flipped for positives, all bits for negatives); prefix < 0 selects every pixel.
    """
    rows, cols = bits.shape
    hist = np.zeros((nchunks, 65536), dtype=np.int64)
    for c in numba.prange(nchunks):
        r0 = c * rows // nchunks
        r1 = (c + 1) * rows // nchunks
        for r in range(r0, r1):
            for j in range(cols):
                b = bits[r, j]
                if (b & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000):
                    continue  # NaN: no data
                key = (~b) if (b & np.uint32(0x80000000)) else (b | np.uint32(0x80000000))
                if prefix >= 0 and (key >> prefix_shift) != prefix:
                    continue
                hist[c, (key >> shift) & np.uint32(0xFFFF)] += 1
    return hist.sum(axis=0)


def percentile_rank_value(image: np.ndarray, fraction: float = Z98_FRACTION) -> float:
    """SNAP's percentile of the non-NaN pixels: sorted value at index floor(fraction n) - 1 (NaN if none).

    Exact, without sorting or copying the image: a two-pass radix selection on the
    float32 bit patterns (high 16 bits, then low 16 bits within the chosen bucket).
    """
    img = np.ascontiguousarray(image, dtype=np.float32)
    if img.ndim != 2:
        img = img.reshape(1, -1)
    bits = img.view(np.uint32)
    nchunks = max(1, min(img.shape[0], 4 * numba.get_num_threads()))
    high = _key_histogram(bits, 16, -1, 0, nchunks)
    n = int(high.sum())
    if n == 0:
        return float("nan")
    rank = max(int(math.floor(fraction * n)) - 1, 0)
    cum = np.cumsum(high)
    hb = int(np.searchsorted(cum, rank, side="right"))
    rank -= int(cum[hb - 1]) if hb > 0 else 0
    low = _key_histogram(bits, 0, hb, 16, nchunks)
    lb = int(np.searchsorted(np.cumsum(low), rank, side="right"))
    key = np.uint32((hb << 16) | lb)
    raw = (key & np.uint32(0x7FFFFFFF)) if key & np.uint32(0x80000000) else ~key
    return float(np.array([raw], dtype=np.uint32).view(np.float32)[0])


@numba.njit(cache=True, error_model="numpy")
def _is_seed(src, ly, gy, x, height, half, th, z98, cluster_k):
    """Whether (ly, x) seeds a point target: interior, above z98, > cluster_k such pixels in its target window."""
    width = src.shape[1]
    if gy < half or gy >= height - half or x < half or x >= width - half or not src[ly, x] > z98:
        return False
    count = 0
    for yy in range(ly - th, ly + th + 1):
        for xx in range(x - th, x + th + 1):
            if src[yy, xx] > z98:
                count += 1
    return count > cluster_k


@numba.njit(cache=True, error_model="numpy")
def _is_point_target(src, ly, gy, x, height, half, th, z98, cluster_k):
    """Whether (ly, x) is kept as a point target: above z98 and in the target window of a seed."""
    width = src.shape[1]
    if not src[ly, x] > z98:
        return False
    for dy in range(-th, th + 1):
        for xx in range(max(x - th, 0), min(x + th + 1, width)):
            if _is_seed(src, ly + dy, gy + dy, xx, height, half, th, z98, cluster_k):
                return True
    return False


@numba.njit(cache=True, error_model="numpy")
def _edge_estimate(src, ly, x, half, cv2):
    """SNAP's edge rule: MMSE over the valid pixels of the clipped window around (ly, x)."""
    n = 0.0
    s = 0.0
    q = 0.0
    for yy in range(max(ly - half, 0), min(ly + half + 1, src.shape[0])):
        for xx in range(max(x - half, 0), min(x + half + 1, src.shape[1])):
            w = src[yy, xx]
            if w == w:
                n += 1.0
                s += w
                q += w * w
    return _mmse(np.float64(src[ly, x]), n, s, q, cv2)


@numba.njit(cache=True, error_model="numpy")
def _window_sums(src, ly, c0, c1, h, lo, hi, n, s, q):
    """Count, sum and sum of squares over the (2h+1)^2 window of each pixel ly, c0..c1-1, of the pixels in [lo, hi].

    One pass per window offset along a chunk of the row, with accumulators that stay in
    L1 cache: the form LLVM vectorises (NaN fails both comparisons, so it is never used).
    """
    m = c1 - c0
    f0 = np.float32(0.0)
    f1 = np.float32(1.0)
    n[:m] = f0
    s[:m] = f0
    q[:m] = f0
    for dy in range(-h, h + 1):
        for dx in range(-h, h + 1):
            line = src[ly + dy, c0 + dx : c1 + dx]
            for k in range(m):
                w = line[k]
                inside = (w >= lo[k]) & (w <= hi[k])
                n[k] += f1 if inside else f0
                s[k] += w if inside else f0
                q[k] += w * w if inside else f0


@numba.njit(cache=True, error_model="numpy")
def _mmse_chunk(v, n, s, q, cv2, est):
    """_mmse for each element of a chunk, in float32 and without branches, so that LLVM vectorises it.

    Entries with n == 0 give the centre value v.
    """
    f0 = np.float32(0.0)
    f1 = np.float32(1.0)
    c = np.float32(cv2)
    c1 = np.float32(1.0 + cv2)
    for k in range(v.shape[0]):
        nk = n[k]
        mean = s[k] / max(nk, f1)
        var = (q[k] - s[k] * mean) / max(nk - f1, f1)
        var = var if nk > f1 else f0
        var_x = max((var - mean * mean * c) / c1, f0)
        b = var_x / var if var > f0 else f0
        e = mean + b * (v[k] - mean)
        est[k] = e if nk > f0 else v[k]


@numba.njit(cache=True, error_model="numpy", parallel=True)
def _filter_block(src, out, off, gy0, height, z98, cluster_k, half, th, cv2, i1, i2, eta2):
    """Filter output rows gy0..gy0+out.shape[0] of the image; src holds them from its row off, with halos."""
    rows, width = out.shape
    chunk = CHUNK
    inf = np.float32(np.inf)
    for i in numba.prange(rows):
        ly = off + i
        gy = gy0 + i
        # point targets of this row: above z98 and within the target window of a seed
        pt = np.zeros(width, dtype=np.bool_)
        for x in range(width):
            if src[ly, x] > z98:
                pt[x] = _is_point_target(src, ly, gy, x, height, half, th, z98, cluster_k)
        if gy < half or gy >= height - half:
            for x in range(width):
                v = src[ly, x]
                out[i, x] = v if (v != v or pt[x]) else _edge_estimate(src, ly, x, half, cv2)
            continue
        for x in range(width):
            if half <= x < width - half:
                continue  # interior columns: below
            v = src[ly, x]
            out[i, x] = v if (v != v or pt[x]) else _edge_estimate(src, ly, x, half, cv2)
        lo = np.empty(chunk, dtype=np.float32)
        hi = np.empty(chunk, dtype=np.float32)
        n = np.empty(chunk, dtype=np.float32)
        s = np.empty(chunk, dtype=np.float32)
        q = np.empty(chunk, dtype=np.float32)
        est = np.empty(chunk, dtype=np.float32)
        for c0 in range(half, width - half, chunk):
            c1 = min(c0 + chunk, width - half)
            m = c1 - c0
            v = src[ly, c0:c1]
            # a-priori mean: MMSE over the valid pixels of the target window
            lo[:] = -inf
            hi[:] = inf
            _window_sums(src, ly, c0, c1, th, lo, hi, n, s, q)
            _mmse_chunk(v, n[:m], s[:m], q[:m], cv2, est[:m])
            for k in range(m):
                lo[k] = np.float32(i1) * est[k]
                hi[k] = np.float32(i2) * est[k]
            # MMSE over the pixels of the window in the sigma range, with the revised eta
            _window_sums(src, ly, c0, c1, half, lo, hi, n, s, q)
            _mmse_chunk(v, n[:m], s[:m], q[:m], eta2, est[:m])
            for k in range(m):
                out[i, c0 + k] = v[k] if (pt[c0 + k] or v[k] != v[k]) else est[k]


def lee_sigma(
    image: np.ndarray,
    looks: int = 1,
    window: int = 7,
    target: int = 3,
    sigma: float = 0.9,
    *,
    block_rows: int = BLOCK_ROWS,
) -> np.ndarray:
    """SNAP's improved Lee sigma filter of a linear-intensity image (float32, NaN = no data)."""
    i1, i2, eta = sigma_parameters(looks, sigma)
    window, target = _check_windows(window, target)
    img = np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f"lee_sigma: image must be 2-D, got shape {img.shape}")
    if operator.index(block_rows) < 1:
        raise ValueError(f"lee_sigma: block_rows must be >= 1, got {block_rows!r}")
    img = np.ascontiguousarray(img, dtype=np.float32)
    out = np.empty_like(img)
    if img.size == 0:
        return out
    z98 = percentile_rank_value(img)
    if np.isnan(z98):
        out[...] = img  # no valid pixel: nothing to filter
        return out
    height = img.shape[0]
    half, th = window // 2, target // 2
    halo = filter_halo(window, target)
    cv2 = 1.0 / int(looks)
    for r0 in range(0, height, block_rows):
        r1 = min(r0 + block_rows, height)
        s0, s1 = max(r0 - halo, 0), min(r1 + halo, height)
        src = img[s0:s1]
        _filter_block(
            src, out[r0:r1], r0 - s0, r0, height, np.float32(z98), POINT_TARGET_K, half, th, cv2, i1, i2, eta * eta
        )
    return out


def enl(image: np.ndarray) -> float:
    """Equivalent number of looks of the finite pixels: mean^2 / variance."""
    x = np.asarray(image, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2:
        raise ValueError("enl: need at least 2 finite pixels")
    var = float(x.var())
    if var == 0.0:
        raise ValueError("enl: the image is constant (zero variance)")
    return float(x.mean() ** 2 / var)
