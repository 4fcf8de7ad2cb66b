"""The Lee sigma speckle filter (soilsat.sar.speckle) on synthetic gamma speckle and hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from soilsat.sar.speckle import (
    POINT_TARGET_K,
    SIGMA_TABLE,
    enl,
    lee_sigma,
    mmse_estimate,
    percentile_rank_value,
    sigma_parameters,
)

SIGMA0 = 0.05  # a typical linear sigma0 of farmland


def speckled(shape: tuple[int, int], looks: int, mean: float | np.ndarray = SIGMA0, seed: int = 0) -> np.ndarray:
    """Gamma speckle of `looks` looks (unit mean) times `mean`, as float32."""
    rng = np.random.default_rng(seed)
    return (np.asarray(mean) * rng.gamma(looks, 1.0 / looks, shape)).astype(np.float32)


def reference_lee_sigma(img: np.ndarray, looks: int, window: int, target: int, sigma: float) -> np.ndarray:
    """Pixel-by-pixel transcription of the algorithm (slow, float64): what lee_sigma must reproduce."""
    i1, i2, eta = sigma_parameters(looks, sigma)
    h, w = img.shape
    half, th = window // 2, target // 2
    valid = img[np.isfinite(img)]
    z98 = np.sort(valid)[max(int(np.floor(0.98 * valid.size)) - 1, 0)]

    def mmse(v, samples, cv2):
        samples = samples[np.isfinite(samples)]
        mean = samples.mean()
        var = samples.var(ddof=1) if samples.size > 1 else 0.0
        var_x = max((var - mean * mean * cv2) / (1 + cv2), 0.0) if var > 0 else 0.0
        b = var_x / var if var > 0 else 0.0
        return (1 - b) * mean + b * v

    def interior(y, x):
        return half <= y < h - half and half <= x < w - half

    def seed(y, x):
        box = img[y - th : y + th + 1, x - th : x + th + 1]
        return interior(y, x) and img[y, x] > z98 and np.count_nonzero(box > z98) > POINT_TARGET_K

    out = np.full_like(img, np.nan, dtype=np.float64)
    for y in range(h):
        for x in range(w):
            v = float(img[y, x])
            if np.isnan(v):
                continue
            neighbours = [
                (yy, xx)
                for yy in range(y - th, y + th + 1)
                for xx in range(x - th, x + th + 1)
                if 0 <= yy < h and 0 <= xx < w
            ]
            if v > z98 and any(seed(yy, xx) for yy, xx in neighbours):
                out[y, x] = v
            elif not interior(y, x):
                box = img[max(y - half, 0) : y + half + 1, max(x - half, 0) : x + half + 1].astype(np.float64)
                out[y, x] = mmse(v, box.ravel(), 1.0 / looks)
            else:
                prior = mmse(v, img[y - th : y + th + 1, x - th : x + th + 1].astype(np.float64).ravel(), 1.0 / looks)
                box = img[y - half : y + half + 1, x - half : x + half + 1].astype(np.float64).ravel()
                inside = box[(box >= np.float32(i1 * prior)) & (box <= np.float32(i2 * prior))]
                out[y, x] = v if inside.size == 0 else mmse(v, inside, eta * eta)
    return out


def transition_width(profile: np.ndarray) -> float:
    """Distance in pixels between the 10 % and 90 % crossings of a rising step profile."""
    lo, hi = profile[:10].mean(), profile[-10:].mean()
    x = np.arange(profile.size, dtype=float)

    def crossing(level: float) -> float:
        k = int(np.argmax(profile >= level))
        return x[k - 1] + (level - profile[k - 1]) / (profile[k] - profile[k - 1])

    return crossing(lo + 0.9 * (hi - lo)) - crossing(lo + 0.1 * (hi - lo))


def test_sigma_parameters_are_snaps_tables():
    assert sigma_parameters(1, 0.9) == (0.084, 3.941, 0.8191)
    assert sigma_parameters(4, 0.5) == (0.694, 1.385, 0.1921)
    assert sigma_parameters(np.int64(2), np.float32(0.7)) == (0.418, 1.972, 0.4062)
    for looks, table in SIGMA_TABLE.items():
        for i1, i2, eta in table.values():
            assert 0 < i1 < 1 < i2 and 0 < eta < 1 / np.sqrt(looks)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 6}, r"window must be an odd integer >= 3 .* got 6"),
        ({"window": 1}, r"window must be an odd integer >= 3 .* got 1"),
        ({"window": 7.0}, r"window must be an odd integer >= 3 .* got 7.0"),
        ({"target": 4}, r"target must be an odd integer >= 3 .* got 4"),
        ({"target": 7}, r"target \(7\) must be smaller than window \(7\)"),
        ({"window": 5, "target": 5}, r"target \(5\) must be smaller than window \(5\)"),
        ({"sigma": 0.85}, r"sigma must be one of 0.5, 0.6, 0.7, 0.8, 0.9 .* got 0.85"),
        ({"sigma": 1.0}, r"sigma must be one of 0.5, 0.6, 0.7, 0.8, 0.9 .* got 1.0"),
        ({"looks": 0}, r"looks must be an integer in 1..4 .* got 0"),
        ({"looks": 5}, r"looks must be an integer in 1..4 .* got 5"),
        ({"looks": 4.4}, r"looks must be an integer in 1..4 .* got 4.4"),
        ({"block_rows": 0}, r"block_rows must be >= 1, got 0"),
    ],
)
def test_invalid_parameters_name_the_parameter_and_allowed_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lee_sigma(np.ones((16, 16), np.float32), **kwargs)


def test_image_must_be_2d():
    with pytest.raises(ValueError, match=r"image must be 2-D, got shape \(2, 8, 8\)"):
        lee_sigma(np.ones((2, 8, 8), np.float32))


def test_mmse_step_by_hand():
    # samples 1, 2, 3, 4: mean 2.5, sample variance 5/3; with cv2 = 0.25:
    # var_x = (5/3 - 6.25 * 0.25) / 1.25 = 1/12, b = (1/12) / (5/3) = 0.05, estimate of 4: 2.5 + 0.05 * 1.5
    assert mmse_estimate(4.0, np.array([1.0, 2.0, 3.0, 4.0]), 0.25) == pytest.approx(2.575, abs=1e-12)
    # variance of the samples below the speckle's: the estimate is the mean
    assert mmse_estimate(4.0, np.array([1.0, 1.1, 0.9, np.nan]), 0.25) == pytest.approx(1.0, abs=1e-12)
    assert mmse_estimate(7.0, np.array([3.0]), 0.25) == 3.0


@pytest.mark.parametrize(("sigma", "expected"), [(0.5, 3.0), (0.7, 3.5)])
def test_filter_step_by_hand(sigma, expected):
    # 7x7 of ones, centre 4, corner 3; looks 4. z98 = sorted[floor(0.98 * 49) - 1] = sorted[47] = 3,
    # so the centre (one pixel above z98 in its 3x3) is no point target.
    # prior: 3x3 = eight 1 and one 4: mean 4/3, sample variance 1, cv2 = 1/4:
    #   var_x = (1 - 16/9 / 4) / 1.25 = 4/9, b = 4/9, prior = 4/3 + 4/9 * 8/3 = 2.51852
    # sigma 0.5 (I1 0.694, I2 1.385): range [1.748, 3.488] holds only the 3 -> estimate 3
    # sigma 0.7 (I1 0.560, I2 1.627): range [1.410, 4.098] holds 3 and 4: mean 3.5, sample variance 0.5,
    #   eta^2 = 0.2825^2: var_x = (0.5 - 12.25 * 0.0798) / 1.0798 < 0 -> b = 0 -> estimate 3.5
    img = np.ones((7, 7), np.float32)
    img[3, 3] = 4.0
    img[0, 0] = 3.0
    out = lee_sigma(img, looks=4, sigma=sigma)
    assert out[3, 3] == pytest.approx(expected, rel=1e-6)


def test_matches_pixel_by_pixel_reference_with_nan_edges_and_point_targets():
    img = speckled((40, 36), looks=1, seed=3)
    img[20:23, 10:13] = 30 * SIGMA0  # a 3x3 cluster above z98: point targets
    img[5, 30] = 500 * SIGMA0  # an isolated bright pixel
    img[1:3, 12:15] = 40 * SIGMA0  # a cluster too close to the top edge to seed
    img[30:34, 0:5] = np.nan
    img[12, 18] = np.nan
    for looks, window, target, sigma in [(1, 7, 3, 0.9), (3, 9, 5, 0.7), (2, 5, 3, 0.5)]:
        ours = lee_sigma(img, looks=looks, window=window, target=target, sigma=sigma)
        ref = reference_lee_sigma(img, looks, window, target, sigma)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(img))
        np.testing.assert_allclose(ours, ref, rtol=2e-5, atol=0)


def test_row_blocks_do_not_change_the_result():
    img = speckled((203, 150), looks=1, seed=4)
    for r in (62, 63, 64, 65, 66):  # clusters straddling the block boundary of 64 rows
        img[r, 40:43] = img[r, 100] = 25 * SIGMA0
    img[120:130, 30:60] = np.nan
    whole = lee_sigma(img, block_rows=10_000)
    for block_rows in (1, 7, 64):
        np.testing.assert_array_equal(lee_sigma(img, block_rows=block_rows), whole)


@pytest.mark.parametrize("looks", [2, 3, 4])
def test_homogeneous_area_mean_kept_and_enl_raised(looks):
    img = speckled((512, 512), looks=looks, seed=looks)
    out = lee_sigma(img, looks=looks)
    assert out.dtype == np.float32 and out.shape == img.shape
    assert out.mean() / img.mean() == pytest.approx(1.0, abs=0.01)
    assert enl(out) >= 3 * enl(img)


def test_single_look_mean_bias_is_snaps():
    # SNAP's algorithm biases 1-look intensity low by about 1.3 % (findpeaks' transcription too):
    # the sigma range is centred on a prior that is itself a noisy 3x3 estimate.
    img = speckled((512, 512), looks=1, seed=11)
    out = lee_sigma(img, looks=1)
    ratio = out.mean() / img.mean()
    assert 0.98 < ratio < 1.0
    assert enl(out) >= 3 * enl(img)


@pytest.mark.parametrize(("looks", "brightness"), [(1, 1000.0), (4, 50.0)])
def test_isolated_point_targets_kept(looks, brightness):
    img = speckled((256, 256), looks=looks, seed=5)
    rows, cols = np.meshgrid(np.arange(20, 240, 22), np.arange(20, 240, 22), indexing="ij")
    img[rows, cols] = brightness * SIGMA0
    out = lee_sigma(img, looks=looks)
    np.testing.assert_allclose(out[rows, cols], img[rows, cols], rtol=0.01)


def test_point_target_cluster_kept_unfiltered():
    img = speckled((128, 128), looks=1, seed=6)
    cluster = 20 * SIGMA0 * (1 + 0.1 * np.arange(9, dtype=np.float32).reshape(3, 3))
    img[60:63, 60:63] = cluster
    out = lee_sigma(img, looks=1)
    np.testing.assert_array_equal(out[60:63, 60:63], cluster)
    # the same pixels, but too few of them above z98 to be a cluster (K = 5): filtered
    img[60:63, 60:63] = speckled((3, 3), looks=1, seed=7)
    img[61, 60:63] = cluster[1]
    assert not np.array_equal(lee_sigma(img, looks=1)[61, 60:63], cluster[1])


def step_image(looks: int, contrast: float, seed: int = 8) -> np.ndarray:
    """512 x 128 speckled image: SIGMA0 left of column 64, contrast * SIGMA0 from it."""
    means = np.where(np.arange(128) < 64, SIGMA0, contrast * SIGMA0).astype(np.float32)
    return speckled((512, 128), looks=looks, mean=means[None, :], seed=seed)


@pytest.mark.parametrize(("looks", "contrast"), [(4, 4.0), (4, 8.0), (2, 8.0), (1, 32.0)])
def test_step_edge_stays_sharp(looks, contrast):
    # 10-90 % width of the row-averaged profile; the unfiltered step measures 0.8 px, a 7x7 boxcar 5.6 px
    out = lee_sigma(step_image(looks, contrast), looks=looks)
    assert 0 < transition_width(out[8:-8].mean(axis=0)) <= 3.0


def test_single_look_step_edge_sharper_than_boxcar():
    # at 1 look and 9 dB the sigma range [0.084, 3.941] x prior spans both sides: the edge
    # spreads to about 3-4 px, still well under the 7x7 mean filter's spread
    img = step_image(1, 8.0)
    ours = transition_width(lee_sigma(img, looks=1)[8:-8].mean(axis=0))
    boxcar = transition_width(uniform_filter(img, size=7, mode="nearest")[8:-8].mean(axis=0))
    assert boxcar > 5.0
    assert ours < 0.75 * boxcar


def test_nan_is_no_data():
    img = speckled((96, 80), looks=4, seed=9)
    img[:, :5] = np.nan  # a no-value border
    img[40:50, 30:45] = np.nan  # a hole
    img[70, 70] = np.nan
    out = lee_sigma(img, looks=4)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(img))
    valid = np.isfinite(img)
    # beside the holes the filter still smooths: values near the mean, none negative
    assert (out[valid] > 0).all()
    assert enl(out[valid]) >= 3 * enl(img[valid])


def test_all_nan_and_empty_images():
    img = np.full((9, 9), np.nan, np.float32)
    assert np.isnan(lee_sigma(img)).all()
    assert lee_sigma(np.zeros((0, 5), np.float32)).shape == (0, 5)


def test_image_smaller_than_window_uses_edge_rule():
    img = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    # every pixel is an edge pixel: MMSE over the 4 values (mean 2.5, sample variance 5/3, cv2 = 1/4)
    np.testing.assert_allclose(lee_sigma(img, looks=4), 2.5 + 0.05 * (img - 2.5), rtol=1e-6)


def test_percentile_rank_value_is_snaps_rank():
    rng = np.random.default_rng(10)
    img = rng.normal(0.0, 1.0, (300, 77)).astype(np.float32)
    img[rng.random(img.shape) < 0.1] = np.nan
    valid = np.sort(img[np.isfinite(img)])
    assert percentile_rank_value(img) == valid[int(np.floor(0.98 * valid.size)) - 1]
    assert percentile_rank_value(img, 0.5) == valid[int(np.floor(0.5 * valid.size)) - 1]
    assert np.isnan(percentile_rank_value(np.full((3, 3), np.nan, np.float32)))


def test_enl_of_gamma_speckle():
    assert enl(speckled((400, 400), looks=4, seed=12)) == pytest.approx(4.0, rel=0.03)
    with pytest.raises(ValueError, match="constant"):
        enl(np.ones((4, 4)))
    with pytest.raises(ValueError, match="at least 2 finite"):
        enl(np.array([1.0, np.nan]))
