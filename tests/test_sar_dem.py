"""The DEM (soilsat.sar.dem): reading it, and resampling it onto the study grid from another CRS as GDAL's bilinear
warp does."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from conftest import DemoProduct
from soilsat.sar.dem import Dem, dem_from_dataarray, heights_on_grid, read_dem, resample_rows


@pytest.fixture(scope="module")
def world(s1_demo_world):
    """The tiny demo world: its root, region and Sentinel-1 product records (conftest)."""
    return s1_demo_world


@pytest.fixture(scope="module")
def product(s1_demo_product: DemoProduct) -> DemoProduct:
    """The first demo product of each orbit direction (conftest)."""
    return s1_demo_product


def test_read_dem_keeps_the_vertical_datum_and_makes_no_data_nan(world, tmp_path):
    import rasterio

    root, region, _ = world
    dem = read_dem(root / "dem" / "dem_t.tif", -32768.0)
    assert dem.heights.dtype == np.float32 and np.isfinite(dem.heights).all()
    assert dem.vertical_datum == "WGS 84 ellipsoid" and not dem.lies_on(region.grid)  # 30 m, wider than the grid
    with rasterio.open(root / "dem" / "dem_t.tif") as src:
        profile, heights = src.profile, src.read(1)
    heights[:3, :4] = 7.0
    with rasterio.open(tmp_path / "d.tif", "w", **profile) as dst:
        dst.write(heights, 1)
    edited = read_dem(tmp_path / "d.tif", 7.0)  # the graph's externalDEMNoDataValue
    assert np.isnan(edited.heights[:3, :4]).all() and np.isfinite(edited.heights[3:, 4:]).all()
    assert edited.vertical_datum is None


def test_dem_in_another_crs_is_resampled(product):
    import rasterio.warp
    import rioxarray  # noqa: F401

    grid = product.grid
    dst_transform, width, height = rasterio.warp.calculate_default_transform(
        grid.crs, "EPSG:4326", grid.width, grid.height, *grid.bounds
    )
    geographic = np.full((height, width), np.nan)
    rasterio.warp.reproject(
        product.dem,
        geographic,
        src_transform=grid.transform,
        src_crs=grid.crs,
        dst_transform=dst_transform,
        dst_crs="EPSG:4326",
        resampling=rasterio.warp.Resampling.bilinear,
    )
    da = xr.DataArray(geographic, dims=("y", "x")).rio.write_crs("EPSG:4326").rio.write_transform(dst_transform)
    back = heights_on_grid(dem_from_dataarray(da), grid)
    inner = (slice(3, -3), slice(3, -3))
    assert np.nanmax(np.abs(back[inner] - product.dem[inner])) < 2.0
    assert heights_on_grid(Dem(product.dem, grid.transform, grid.crs), grid) is not None


@pytest.mark.parametrize("dem_crs", ["EPSG:32632", "EPSG:4326"])
def test_dem_rows_agree_with_gdal_bilinear(dem_crs):
    """Our DEM resampling equals rasterio.warp.reproject's bilinear one, voids included, in the grid's CRS and in
    geographic coordinates (the Copernicus DEM's)."""
    import rasterio.warp
    from affine import Affine

    from soilsat.grid import StudyGrid

    grid = StudyGrid("g", 32632, 500000.0, 5600000.0, 300, 90, 10.0)
    if dem_crs == "EPSG:32632":
        transform, shape, void = Affine(30.0, 0, 499_000.0, 0, -30.0, 5_601_000.0), (100, 180), 40
    else:  # about 1 arc second, as GLO-30
        transform, shape, void = Affine(1 / 3600, 0, 8.99, 0, -1 / 3600, 50.57), (120, 220), 78
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    z = (300 + 40 * np.sin(cols / 7.0) * np.cos(rows / 9.0)).astype(np.float32)
    z[void : void + 3, 60:64] = np.nan
    ref = np.full(grid.shape, np.nan, np.float32)
    rasterio.warp.reproject(
        z,
        ref,
        src_transform=transform,
        src_crs=dem_crs,
        dst_transform=grid.transform,
        dst_crs=grid.crs,
        src_nodata=np.nan,
        dst_nodata=np.nan,
        resampling=rasterio.warp.Resampling.bilinear,
    )
    ours = resample_rows(Dem(z, transform, dem_crs), grid, 10, 80)
    assert ours.shape == (70, 300) and ours.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref[10:80]))
    assert 20 < np.isnan(ours).sum() < 0.05 * ours.size  # the void is there, the rest has heights
    # GDAL's approximate transformer places pixels within 0.125 px: about 0.3 m on these slopes
    tolerance = 1e-4 if dem_crs == "EPSG:32632" else 0.5
    np.testing.assert_allclose(ours[np.isfinite(ours)], ref[10:80][np.isfinite(ours)], atol=tolerance)
