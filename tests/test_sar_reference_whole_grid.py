"""Whole-grid terrain correction (soilsat.sar.reference.whole_grid) of demo products: output layout, geolocation
and radiometry against the truth, incidence angles, image windows and no data."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

from conftest import DemoProduct
from soilsat.sar import geocoding, terrain
from soilsat.sar.dem import Dem
from soilsat.sar.orbit import annotation_orbit
from soilsat.sar.reference import whole_grid


@pytest.fixture(scope="module")
def product(s1_demo_product: DemoProduct) -> DemoProduct:
    """The first demo product of each orbit direction (conftest)."""
    return s1_demo_product


@pytest.fixture(scope="module")
def corrected(product) -> xr.Dataset:
    orbit = annotation_orbit(product.annotation)
    return whole_grid.terrain_correct(
        product.images,
        product.annotation,
        orbit,
        Dem(product.dem, product.grid.transform, product.grid.crs),
        product.grid,
    )


def _xcorr_offset(a: np.ndarray, b: np.ndarray, max_lag: int = 3) -> tuple[float, float]:
    """(row, col) shift of b relative to a at the normalised cross-correlation peak (parabolic sub-pixel)."""
    a = np.nan_to_num(a - np.nanmean(a))
    b = np.nan_to_num(b - np.nanmean(b))
    m, (n0, n1) = max_lag, a.shape
    core = a[m : n0 - m, m : n1 - m]
    c = np.empty((2 * m + 1, 2 * m + 1))
    for i in range(-m, m + 1):
        for j in range(-m, m + 1):
            other = b[m + i : n0 - m + i, m + j : n1 - m + j]
            c[i + m, j + m] = (core * other).sum() / np.sqrt((core**2).sum() * (other**2).sum())
    i, j = np.unravel_index(np.argmax(c), c.shape)
    assert 0 < i < 2 * m and 0 < j < 2 * m, "correlation peak at the edge of the search window"
    sub = lambda lo, mid, hi: 0.5 * (lo - hi) / (lo - 2 * mid + hi)  # noqa: E731
    return i - m + sub(c[i - 1, j], c[i, j], c[i + 1, j]), j - m + sub(c[i, j - 1], c[i, j], c[i, j + 1])


def test_output_layout(corrected, product):
    assert set(corrected.data_vars) == {"sigma0_VV", "sigma0_VH", "local_incidence_angle", "incidence_angle", "mask"}
    for name in corrected.data_vars:
        assert corrected[name].shape == product.grid.shape
    np.testing.assert_allclose(corrected.x.values, product.grid.x_coords())
    assert corrected["mask"].dtype == np.uint8
    # the demo product covers the grid with a margin on flat-ish terrain: everything valid
    assert np.all(corrected["mask"].values == terrain.MASK_VALID)


def test_geolocation_against_the_truth(corrected, product):
    sigma = corrected["sigma0_VV"].values.astype(float)
    ours = ndimage.uniform_filter(10 * np.log10(np.maximum(sigma, 1e-6)), 3)
    dy, dx = _xcorr_offset(10 * np.log10(product.truth["sigma0_VV"]), ours)
    assert np.hypot(dy, dx) < 0.5, f"offset ({dy:.2f}, {dx:.2f}) pixels"


def test_radiometry_over_parcels(corrected, product):
    for pol in ("VV", "VH"):
        ours = corrected[f"sigma0_{pol}"].values.astype(float)
        truth = product.truth[f"sigma0_{pol}"].astype(float)
        labels = product.parcel
        # parcel interiors only (two pixels in from any edge), large enough to average speckle out
        interior = ndimage.minimum_filter(labels, 5) == ndimage.maximum_filter(labels, 5)
        ids, counts = np.unique(labels[interior], return_counts=True)
        big = ids[counts >= 100]
        assert big.size >= 5
        mean_ours = ndimage.mean(ours, labels=np.where(interior, labels, -1), index=big)
        mean_truth = ndimage.mean(truth, labels=np.where(interior, labels, -1), index=big)
        diff_db = 10 * np.log10(mean_ours / mean_truth)
        assert np.median(np.abs(diff_db)) <= 0.3, f"{pol}: {np.round(diff_db, 2)}"


def test_incidence_angles_on_the_dem(corrected, product):
    # the ellipsoid incidence equals the truth's (computed by the demo world from its own orbit)
    np.testing.assert_allclose(corrected["incidence_angle"].values, product.truth["incidence_angle"], atol=1e-3)


def test_image_windows_and_no_data(product, corrected):
    orbit = annotation_orbit(product.annotation)
    grid = product.grid
    r0, c0 = product.annotation.number_of_lines // 2, product.annotation.number_of_samples // 2
    windows = {pol: img[r0:, c0:] for pol, img in product.images.items()}
    dem = product.dem.copy()
    dem[:5, :5] = np.nan
    ds = whole_grid.terrain_correct(
        windows, product.annotation, orbit, Dem(dem, grid.transform, grid.crs), grid, offset=(r0, c0)
    )
    both = np.isfinite(ds["sigma0_VV"].values)
    assert 0.05 < both.mean() < 0.95  # the window covers part of the grid
    model = geocoding.RangeDopplerModel.from_annotation(product.annotation, orbit)
    line, pixel = whole_grid.grid_to_image(model, grid, product.dem)
    interior = both & (line >= r0) & (pixel >= c0)  # within half a pixel of its edge a window clamps
    assert interior.sum() > 0.9 * both.sum()
    np.testing.assert_allclose(ds["sigma0_VV"].values[interior], corrected["sigma0_VV"].values[interior], rtol=1e-5)
    assert np.all(ds["mask"].values[~both] == terrain.MASK_NODATA)
    assert np.all(np.isnan(ds["local_incidence_angle"].values[:5, :5]))
