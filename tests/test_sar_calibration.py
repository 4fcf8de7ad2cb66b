"""Calibration and thermal noise removal (soilsat.sar.calibration): analytic LUTs, and ESA's real LUTs with
synthetic measurement windows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import real_fixture
from soilsat.sar import calibration as cal
from soilsat.sar import safe

S1B = "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"
S1A = "S1A_IW_GRDH_1SDV_20150203T043109_20150203T043134_004454_00574F_6D00.zip"


@dataclasses.dataclass
class _Vec:
    line: int
    pixel: np.ndarray
    lut: np.ndarray


def _db(x):
    return 10 * np.log10(x)


# ------------------------------------------------------------------------- analytic LUTs


def test_lut_is_bilinear_with_per_vector_pixels():
    f = lambda line, p: 3.0 + 0.01 * line + 0.002 * p  # noqa: E731  (bilinear: exact)
    vectors = [
        _Vec(0, np.array([0, 40, 80, 100]), None),
        _Vec(50, np.array([0, 30, 100]), None),
        _Vec(120, np.array([0, 50, 60, 100]), None),
    ]
    vectors = [_Vec(v.line, v.pixel, f(v.line, v.pixel.astype(float))) for v in vectors]
    lines, samples = np.arange(10, 110), np.arange(5, 95)
    out = cal.lut_on_image(vectors, lines, samples, field="lut")
    assert out.shape == (100, 90)
    np.testing.assert_allclose(out, f(lines[:, None], samples[None, :]), rtol=1e-12)
    # a window given as (start, stop) pairs is the same as the explicit ranges
    np.testing.assert_allclose(cal.lut_on_image(vectors, (10, 110), (5, 95), field="lut"), out)
    # outside the first/last vector and sample the edge value holds
    edge = cal.lut_on_image(vectors, [200], [100, 150], field="lut")
    np.testing.assert_allclose(edge, [[f(120, 100), f(120, 100)]])


def test_azimuth_noise_blocks_and_sigma0():
    rng_vectors = [
        _Vec(0, np.array([0, 99]), np.array([100.0, 100.0])),
        _Vec(99, np.array([0, 99]), np.array([100.0, 100.0])),
    ]
    az = [
        safe.NoiseAzimuthVector("IW1", 0, 0, 99, 49, np.array([0, 99]), np.array([1.0, 2.0])),
        safe.NoiseAzimuthVector("IW2", 0, 50, 99, 99, np.array([0, 99]), np.array([3.0, 3.0])),
    ]
    noise = cal.noise_on_image(rng_vectors, (0, 100), (0, 100), az)
    assert noise[0, 0] == 100 and noise[99, 49] == 200 and noise[0, 50] == 300
    assert noise[33, 10] == pytest.approx(100 * (1 + 33 / 99))
    dn = np.array([[0, 10, 20], [30, 5, 1]], dtype=np.uint16)
    s = cal.sigma0(dn, np.full(dn.shape, 10.0), np.full(dn.shape, 50.0))
    assert np.isnan(s[0, 0]) and s.dtype == np.float32
    np.testing.assert_allclose(s[0, 1:], [(100 - 50) / 100, (400 - 50) / 100])
    assert s[1, 1] == 0 and s[1, 2] == 0  # below the noise: clipped at 0, still valid
    np.testing.assert_allclose(cal.sigma0(dn, np.full(dn.shape, 10.0))[0, 2], 4.0)


# ------------------------------------------------------------- round trip on real LUTs


@pytest.mark.parametrize(
    "name,pol,offset", [(S1B, "VV", (7300, 8700)), (S1A, "VH", (12000, 20000)), (S1A, "VV", (150, 60))]
)
def test_calibration_round_trip_on_real_luts(name, pol, offset):
    """DN = sqrt(sigma0 * A^2 + noise), quantised to uint16, calibrates back to sigma0."""
    data = safe.open_product(real_fixture("s1", name)).polarisation(pol)
    r0, c0 = offset
    lines, samples = np.arange(r0, r0 + 300), np.arange(c0, c0 + 300)
    a = cal.lut_on_image(data.calibration.vectors, lines, samples, "sigma_nought")
    noise = cal.noise_on_image(data.noise.range_vectors, lines, samples, data.noise.azimuth_vectors)
    assert np.all(noise > 0) and np.all(a > 0)
    rng = np.random.default_rng(1)
    ll, pp = np.meshgrid(lines, samples, indexing="ij")
    truth_db = -14 + 5 * np.sin(ll / 37.0) * np.cos(pp / 53.0) + rng.normal(0, 0.5, ll.shape)  # -20 .. -8 dB
    truth = 10 ** (truth_db / 10)
    dn = np.clip(np.round(np.sqrt(truth * a**2 + noise)), 1, 65535).astype(np.uint16)
    out = cal.calibrate_window(data, dn, r0, c0)
    assert out.shape == (300, 300) and np.all(np.isfinite(out))
    worst = 0.0
    for i in range(0, 300, 100):
        for j in range(0, 300, 100):
            block = (slice(i, i + 100), slice(j, j + 100))
            worst = max(worst, abs(_db(out[block].mean()) - _db(truth[block].mean())))
    assert worst < 0.05, f"block mean off by {worst:.3f} dB"


@pytest.mark.parametrize("name,pol", [(S1B, "VV"), (S1A, "VH")])
def test_one_pass_calibration_equals_the_lut_arrays(name, pol):
    """sigma0_window (one compiled pass) against sigma0 of the interpolated LUT and noise arrays, on real metadata
    (IPF 3.40 with azimuth noise blocks, IPF 2.70 with range noise only)."""
    data = safe.open_product(real_fixture("s1", name)).polarisation(pol)
    rng = np.random.default_rng(2)
    r0, c0 = 700, 2000
    dn = rng.integers(0, 400, size=(300, 500)).astype(np.uint16)
    rows, cols = (r0, r0 + 300), (c0, c0 + 500)
    lut = cal.lut_on_image(data.calibration.vectors, rows, cols, "sigma_nought")
    noise = cal.noise_on_image(data.noise.range_vectors, rows, cols, data.noise.azimuth_vectors) * 1.7
    fast, fast_noise = cal.sigma0_window(data, dn, r0, c0, noise_scale=1.7, with_noise=True)
    np.testing.assert_array_equal(fast_noise, noise)
    np.testing.assert_array_equal(fast, cal.sigma0(dn, lut, noise))
    assert np.isnan(fast[dn == 0]).all() and (dn == 0).any()
    plain, none = cal.sigma0_window(data, dn, r0, c0, denoise=False)
    assert none is None
    np.testing.assert_array_equal(plain, cal.sigma0(dn, lut))
