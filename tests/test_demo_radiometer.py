"""The demo's coarse soil-moisture product: its footprint, bias, seasonal and random error against the truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (reads the CF grid mapping)
import xarray as xr

from soilsat.demo import radiometer
from soilsat.demo.radiometer import CoarseProductSettings
from soilsat.demo.world import RegionSpec, WorldSpec, make_world
from synthetic import BLOCK_MEAN, truth

EXACT = dict(footprint_fwhm_px=0.0, bias=0.0, seasonal_error=0.0)


def field_truth(sm: np.ndarray, days: pd.DatetimeIndex, resolution: float = 10.0) -> xr.Dataset:
    """A truth dataset of a given (time, y, x) soil moisture, bare soil at 16.85 degC."""
    ny, nx = sm.shape[1:]
    x = 500_000 + (np.arange(nx) + 0.5) * resolution
    y = 6_200_000 - (np.arange(ny) + 0.5) * resolution
    return xr.Dataset(
        {
            "sm": (("time", "y", "x"), sm.astype(np.float32)),
            "parcel": (("y", "x"), np.zeros((ny, nx), dtype=int)),
            "parcel_fcover": (("time", "parcel_id"), np.zeros((len(days), 1))),
            "tmean": (("time",), np.full(len(days), 16.85)),
        },
        coords={"time": days, "y": y, "x": x, "parcel_id": [0]},
        attrs={"crs": "EPSG:32632", "region": "r"},
    )


@pytest.fixture(scope="module")
def demo_truth() -> xr.Dataset:
    """Two spring months of a small humid region of the demo world."""
    spec = WorldSpec(
        regions=(RegionSpec("t", 8.95, 55.95, 1500, "humid"),),
        start=dt.date(2020, 4, 1),
        end=dt.date(2020, 5, 30),
        margin_m=250.0,
        probes_per_region=2,
        lucas_samples=4,
    )
    return make_world(spec)[0].truth


@pytest.fixture(scope="module")
def white_noise():
    """Products of a truth without spatial correlation (one independent value per 10 m pixel and day)."""
    days = pd.date_range("2020-05-01", periods=150, freq="D")
    sm = np.random.default_rng(3).uniform(0.15, 0.35, (len(days), 96, 96))
    truth = field_truth(sm, days)
    gaussian = radiometer.coarse_product(
        truth, CoarseProductSettings(40.0, 0.0, 0.0, footprint_fwhm_px=1.5, bias=0.0, seasonal_error=0.0), 1
    )
    block = radiometer.coarse_product(truth, CoarseProductSettings(40.0, 0.0, 0.0, **EXACT), 1)
    return gaussian, block


def lag_correlation(values: np.ndarray, lag: int, interior: slice) -> float:
    """Correlation of the anomalies of pixels `lag` columns apart, pooled over days and interior rows."""
    anomaly = values - values.mean(axis=0)
    a = anomaly[:, interior, interior.start : interior.stop - lag].ravel()
    b = anomaly[:, interior, interior.start + lag : interior.stop].ravel()
    return float(np.corrcoef(a, b)[0, 1])


def test_footprint_weights_are_a_gaussian_of_the_given_width_or_the_block():
    gaussian = radiometer.footprint_weights(400, 20, 1.5)
    assert gaussian.shape == (20, 400)
    np.testing.assert_allclose(gaussian.sum(axis=1), 1.0)
    # Pixel 10 is centred at 210 px; its weights are at least half their maximum over 30 px (FWHM 1.5 x 20 px).
    row = gaussian[10]
    assert row[209] == pytest.approx(row[210]) == pytest.approx(row.max())
    assert (row >= row.max() / 2).sum() == 30 and row[209 - 14] == pytest.approx(row[209 + 15])
    assert (row[:170] > 0).all() and row[150] / row[209] < 0.01  # wider than the cell, fading out
    block = radiometer.footprint_weights(10, 4, 0.0)  # the 2 px beyond whole blocks take no weight
    np.testing.assert_array_equal(block, np.kron(np.eye(2), np.full(4, 0.25)) @ np.eye(8, 10))


def test_zero_footprint_gives_the_block_mean():
    days = pd.date_range("2020-05-01", periods=2, freq="D")
    sm = np.random.default_rng(1).uniform(0.1, 0.4, (2, 12, 14))
    product = radiometer.coarse_product(field_truth(sm, days), CoarseProductSettings(40.0, 0.0, 0.0, **EXACT), 1)
    np.testing.assert_allclose(product["sm"].values, radiometer.block_mean(sm, 4), rtol=1e-6)


def test_footprint_correlates_neighbours_as_its_weights_say(white_noise):
    gaussian, block = white_noise
    weights = radiometer.footprint_weights(96, 4, 1.5)
    i = 7  # an interior pixel: the expected correlation of a white-noise truth is the weights' overlap
    for lag in (1, 2):
        a, b = weights[i], weights[i + lag]
        overlap = a @ b / np.sqrt((a @ a) * (b @ b))
        measured = lag_correlation(gaussian["sm"].values, lag, slice(3, 21))
        assert measured == pytest.approx(overlap, abs=0.025)
    # The continuous Gaussian: exp(-d^2 / (4 sigma^2)), 0.54 for adjacent pixels at FWHM 1.5.
    sigma = 1.5 / radiometer.FWHM_PER_SIGMA
    continuous = np.exp(-1 / (4 * sigma**2))
    assert lag_correlation(gaussian["sm"].values, 1, slice(3, 21)) == pytest.approx(continuous, abs=0.03)
    assert lag_correlation(gaussian["sm"].values, 2, slice(3, 21)) < 0.15
    assert abs(lag_correlation(block["sm"].values, 1, slice(3, 21))) < 0.05  # block means share no pixel
    # Averaging over a wider footprint shrinks the white noise further than the block mean does.
    assert gaussian["sm"].values.std() < 0.8 * block["sm"].values.std()


def test_mean_error_against_the_block_mean_is_the_configured_bias(demo_truth):
    reference = radiometer.block_mean(demo_truth["sm"].values.astype(np.float64), 20)
    for bias in (-0.03, 0.05):
        product = radiometer.coarse_product(
            demo_truth, CoarseProductSettings(200.0, 0.04, 1.3, footprint_fwhm_px=1.5, bias=bias, seasonal_error=0.0), 7
        )
        error = product["sm"].values - reference
        assert error.size == 60 * 10 * 10
        assert error.mean() == pytest.approx(bias, abs=0.003)  # noise: 0.04 / sqrt(6000) = 0.0005
        assert error.std() == pytest.approx(0.04, abs=0.006)  # the random error, plus the footprint's departure
    exact = radiometer.coarse_product(
        demo_truth, CoarseProductSettings(200.0, 0.0, 0.0, footprint_fwhm_px=1.5, bias=0.0, seasonal_error=0.0), 7
    )
    departure = exact["sm"].values - reference
    assert abs(departure.mean()) < 0.002 and 0.001 < np.sqrt((departure**2).mean()) < 0.02  # not the block mean


def test_seasonal_error_is_driest_in_july_and_wettest_in_january():
    days = pd.DatetimeIndex(["2020-01-14", "2020-04-14", "2020-07-14", "2020-10-13"])
    truth = field_truth(np.full((4, 8, 8), 0.25), days)
    product = radiometer.coarse_product(
        truth, CoarseProductSettings(40.0, 0.0, 0.0, footprint_fwhm_px=1.5, bias=-0.03, seasonal_error=0.02), 1
    )
    error = product["sm"].values.mean(axis=(1, 2)) - 0.25
    np.testing.assert_allclose(error, -0.03 + radiometer.seasonal_offset(days, 0.02), atol=1e-6)
    assert error[2] == pytest.approx(-0.05, abs=1e-4) and error[0] == pytest.approx(-0.01, abs=2e-4)
    assert abs(error[1] + 0.03) < 0.002 and abs(error[3] + 0.03) < 0.002  # equinoxes: the bias alone
    assert "bias of -0.03 m3/m3" in product.attrs["comment"] and "FWHM 1.5 pixels" in product.attrs["comment"]


def test_product_is_reproducible_and_refuses_a_negative_footprint(demo_truth):
    settings = dict(footprint_fwhm_px=1.5, bias=-0.03, seasonal_error=0.02)
    first = radiometer.coarse_product(demo_truth, CoarseProductSettings(200.0, 0.04, 1.3, **settings), 5)
    again = radiometer.coarse_product(demo_truth, CoarseProductSettings(200.0, 0.04, 1.3, **settings), 5)
    np.testing.assert_array_equal(first["sm"].values, again["sm"].values)
    np.testing.assert_array_equal(first["tb_h"].values, again["tb_h"].values)
    with pytest.raises(ValueError, match="footprint FWHM -1 is negative"):
        radiometer.coarse_product(
            demo_truth, CoarseProductSettings(200.0, 0.04, 1.3, footprint_fwhm_px=-1.0, bias=0.0, seasonal_error=0.0), 5
        )


def test_topp_inversion_and_fresnel_limits():
    sm = np.array([0.05, 0.2, 0.35])
    eps = radiometer.topp_permittivity(sm)
    assert np.polynomial.polynomial.polyval(eps, radiometer.TOPP_COEFFICIENTS) == pytest.approx(sm, abs=1e-4)
    e_h, e_v = radiometer.fresnel_emissivity(np.array([1.0]), 40.0)
    assert e_h[0] == pytest.approx(1.0) and e_v[0] == pytest.approx(1.0)
    e_h, e_v = radiometer.fresnel_emissivity(eps, 40.0)
    assert np.all(np.diff(e_h) < 0) and np.all(e_v > e_h)  # wetter soil emits less; V above H off nadir


def test_brightness_temperatures_fall_with_soil_moisture_and_rise_under_vegetation():
    sm = np.array([0.05, 0.35])
    bare_h, bare_v = radiometer.brightness_temperatures(sm, 290.0, np.zeros(2))
    assert 150 < bare_h[1] < bare_h[0] < 290 and bare_v[0] > bare_h[0]
    # An L-band sensitivity of order 2-3 K per 0.01 m3/m3 over bare soil.
    assert 1.5 < (bare_h[0] - bare_h[1]) / 30 < 4.0
    covered_h, _ = radiometer.brightness_temperatures(sm, 290.0, np.ones(2))
    assert np.all(covered_h > bare_h) and (covered_h[0] - covered_h[1]) < (bare_h[0] - bare_h[1])


def test_coarse_product_is_the_block_mean_without_retrieval_error():
    product = radiometer.coarse_product(truth(), CoarseProductSettings(40.0, 0.0, 0.0, **BLOCK_MEAN), 1)
    assert dict(product.sizes) == {"time": 4, "y": 3, "x": 3}
    expected = radiometer.block_mean(truth()["sm"].values[0].astype(float), 4)
    np.testing.assert_allclose(product["sm"].values[2], expected, rtol=1e-6)
    assert product["x"].values[0] == pytest.approx(500_020.0) and product["y"].values[0] == pytest.approx(6_199_980.0)
    assert product.rio.crs.to_epsg() == 32632 and product.attrs["resolution_m"] == 40.0  # CF grid mapping
    assert product["sm"].attrs["grid_mapping"] == "spatial_ref"
    assert product["tb_h"].attrs["units"] == "K" and np.all(np.diff(product["tb_h"].values[0], axis=1) < 0)
    noisy = radiometer.coarse_product(truth(), CoarseProductSettings(40.0, 0.04, 1.3, **BLOCK_MEAN), 1)
    assert 0.005 < float(np.std(noisy["sm"].values - product["sm"].values)) < 0.08
    again = radiometer.coarse_product(truth(), CoarseProductSettings(40.0, 0.04, 1.3, **BLOCK_MEAN), 1)
    np.testing.assert_array_equal(noisy["sm"].values, again["sm"].values)


def test_coarse_product_refuses_a_resolution_off_the_grid():
    with pytest.raises(ValueError, match="not a whole multiple of the 10 m study grid"):
        radiometer.coarse_product(truth(), CoarseProductSettings(35.0, 0.0, 0.0, **BLOCK_MEAN), 1)
