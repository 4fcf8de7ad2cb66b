"""Range-Doppler terrain correction on demo products: geolocation, radiometry, incidence angles, layover/shadow."""

from __future__ import annotations

import dataclasses
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from soilsat.demo.sentinel1 import write_products  # noqa: E402
from soilsat.demo.world import RegionSpec, WorldSpec, make_world  # noqa: E402
from soilsat.io import read_bands  # noqa: E402
from soilsat.sar import terrain  # noqa: E402
from soilsat.sar.geolocation_check import check_product  # noqa: E402
from soilsat.sar.orbit import Orbit, annotation_orbit  # noqa: E402
from soilsat.sar.process import read_sigma0_window  # noqa: E402
from soilsat.sar.safe import open_product  # noqa: E402


@dataclasses.dataclass
class DemoProduct:
    path: Path
    annotation: object
    images: dict
    truth: dict
    grid: object
    dem: np.ndarray
    parcel: np.ndarray
    direction: str


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny demo world with its Sentinel-1 products and truth."""
    root = tmp_path_factory.mktemp("tc_world")
    spec = WorldSpec(regions=(RegionSpec("t", 8.95, 55.95, 1500, "humid"),), start=date(2020, 4, 1),
                     end=date(2020, 4, 20), probes_per_region=3, lucas_samples=10)
    regions = make_world(spec)
    records = write_products(regions, spec, root / "archive", root / "truth")
    return root, regions[0], records


def _load(world, direction: str) -> DemoProduct:
    root, region, records = world
    rec = next(r for r in records if r["orbit_direction"] == direction)
    path = root / "archive" / rec["path"]
    with open_product(path) as product:
        ann = product.annotation("VV")
        window = (0, ann.number_of_lines, 0, ann.number_of_samples)
        images = {pol: read_sigma0_window(product, product.polarisation(pol), window) for pol in ("VV", "VH")}
    truth = read_bands(root / "truth" / "sentinel1" / f"{rec['name']}_t.tif")
    return DemoProduct(path, ann, images, truth, region.grid, region.truth["elevation"].values.astype(float),
                       region.truth["parcel"].values, direction)


@pytest.fixture(scope="module", params=["ASCENDING", "DESCENDING"])
def product(world, request) -> DemoProduct:
    return _load(world, request.param)


@pytest.fixture(scope="module")
def corrected(product) -> xr.Dataset:
    orbit = annotation_orbit(product.annotation)
    return terrain.terrain_correct(product.images, product.annotation, orbit,
                                   (product.dem, product.grid.transform, product.grid.crs), product.grid)


def _xcorr_offset(a: np.ndarray, b: np.ndarray, max_lag: int = 3) -> tuple[float, float]:
    """(row, col) shift of b relative to a at the normalised cross-correlation peak (parabolic sub-pixel)."""
    a = np.nan_to_num(a - np.nanmean(a))
    b = np.nan_to_num(b - np.nanmean(b))
    m, (n0, n1) = max_lag, a.shape
    core = a[m:n0 - m, m:n1 - m]
    c = np.empty((2 * m + 1, 2 * m + 1))
    for i in range(-m, m + 1):
        for j in range(-m, m + 1):
            other = b[m + i:n0 - m + i, m + j:n1 - m + j]
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


def _geometry(product: DemoProduct, heights: np.ndarray) -> terrain.GridGeometry:
    model = terrain.RangeDopplerModel.from_annotation(product.annotation, annotation_orbit(product.annotation))
    return terrain.grid_geometry(model, product.grid, heights)


def _away_from_radar(product: DemoProduct) -> np.ndarray:
    """Unit (east, north) ground direction in which image pixels grow (away from the radar), on flat terrain."""
    geo = _geometry(product, np.full(product.grid.shape, 20.0))
    dpix_dcol = np.nanmean(np.diff(geo.pixel, axis=1))
    dpix_drow = np.nanmean(np.diff(geo.pixel, axis=0))
    d = np.array([dpix_dcol, -dpix_drow])
    return d / np.linalg.norm(d)


def test_local_incidence_on_flat_and_tilted_terrain(product):
    flat = _geometry(product, np.full(product.grid.shape, 35.0))
    np.testing.assert_allclose(flat.local_incidence_angle, flat.incidence_angle, atol=0.01)
    grid = product.grid
    xx, yy = np.meshgrid(grid.x_coords() - grid.x_coords().mean(), grid.y_coords() - grid.y_coords().mean())
    away = _away_from_radar(product)
    along = np.array([-away[1], away[0]])
    alpha = 10.0
    distance_away = xx * away[0] + yy * away[1]
    distance_along = xx * along[0] + yy * along[1]
    slope = np.tan(np.radians(alpha))
    inner = (slice(2, -2), slice(2, -2))
    # rising away from the radar: the slope faces it, the local incidence is smaller by the slope
    facing = _geometry(product, 100.0 + slope * distance_away)
    np.testing.assert_allclose(facing.local_incidence_angle[inner], facing.incidence_angle[inner] - alpha, atol=0.15)
    # rising toward the radar: larger by the slope
    away_slope = _geometry(product, 100.0 - slope * distance_away)
    np.testing.assert_allclose(away_slope.local_incidence_angle[inner], away_slope.incidence_angle[inner] + alpha, atol=0.15)
    # tilted along the track: cos(local) = cos(incidence) cos(slope)
    sideways = _geometry(product, 100.0 + slope * distance_along)
    expected = np.degrees(np.arccos(np.cos(np.radians(sideways.incidence_angle)) * np.cos(np.radians(alpha))))
    np.testing.assert_allclose(sideways.local_incidence_angle[inner], expected[inner], atol=0.15)
    for geo in (flat, facing, away_slope, sideways):
        assert not geo.layover.any() and not geo.shadow.any()


def test_layover_and_shadow_on_a_steep_ridge(product):
    grid = product.grid
    xx, yy = np.meshgrid(grid.x_coords() - grid.x_coords().mean(), grid.y_coords() - grid.y_coords().mean())
    away = _away_from_radar(product)
    d = xx * away[0] + yy * away[1]
    # a ridge across the range direction, 70 degree flanks: steeper than the incidence (layover on the
    # radar side) and than its complement (shadow behind)
    ridge = np.maximum(0.0, 400.0 - np.tan(np.radians(70.0)) * np.abs(d))
    geo = _geometry(product, 50.0 + ridge)
    near_side = (d < -20) & (ridge > 0)
    far_side = (d > 20) & (ridge > 0)
    flat_far = np.abs(d) > 1200
    assert geo.layover[near_side].mean() > 0.9
    assert geo.shadow[far_side].mean() > 0.9
    assert not geo.layover[far_side].any()
    assert not geo.shadow[near_side].any()
    assert not (geo.layover | geo.shadow)[flat_far].any()
    # passive shadow: the flat ground right behind the ridge, within its shadow length
    shadow_length = 400.0 * np.tan(np.radians(np.nanmedian(geo.incidence_angle)))  # from the crest
    behind = (d > 160) & (d < 0.9 * shadow_length) & (ridge == 0)
    beyond = (d > 1.1 * shadow_length) & (d < 1.1 * shadow_length + 200)
    assert geo.shadow[behind].mean() > 0.9
    assert not geo.shadow[beyond].any()
    # and the mask of a full correction says so
    ds = terrain.terrain_correct(product.images, product.annotation, annotation_orbit(product.annotation),
                                 (50.0 + ridge, grid.transform, grid.crs), grid)
    mask = ds["mask"].values
    assert np.all(mask[geo.layover] == terrain.MASK_LAYOVER)
    assert np.all(mask[geo.shadow & ~geo.layover] == terrain.MASK_SHADOW)
    assert np.all(mask[~(geo.shadow | geo.layover)] == terrain.MASK_VALID)


def test_blockwise_grid_to_image_matches_the_whole(product):
    model = terrain.RangeDopplerModel.from_annotation(product.annotation, annotation_orbit(product.annotation))
    line, pixel = terrain.grid_to_image(model, product.grid, product.dem)
    window = (37, 121, 50, 199)
    bl, bp = terrain.grid_to_image(model, product.grid, product.dem[37:121, 50:199], window)
    # the lon/lat lattices of a window and of the whole differ by well under a millimetre
    np.testing.assert_allclose(bl, line[37:121, 50:199], atol=1e-3)
    np.testing.assert_allclose(bp, pixel[37:121, 50:199], atol=1e-3)


def test_image_windows_and_no_data(product, corrected):
    orbit = annotation_orbit(product.annotation)
    grid = product.grid
    r0, c0 = product.annotation.number_of_lines // 2, product.annotation.number_of_samples // 2
    windows = {pol: img[r0:, c0:] for pol, img in product.images.items()}
    dem = product.dem.copy()
    dem[:5, :5] = np.nan
    ds = terrain.terrain_correct(windows, product.annotation, orbit, (dem, grid.transform, grid.crs), grid,
                                 offset=(r0, c0))
    both = np.isfinite(ds["sigma0_VV"].values)
    assert 0.05 < both.mean() < 0.95  # the window covers part of the grid
    model = terrain.RangeDopplerModel.from_annotation(product.annotation, orbit)
    line, pixel = terrain.grid_to_image(model, grid, product.dem)
    interior = both & (line >= r0) & (pixel >= c0)  # within half a pixel of its edge a window clamps
    assert interior.sum() > 0.9 * both.sum()
    np.testing.assert_allclose(ds["sigma0_VV"].values[interior], corrected["sigma0_VV"].values[interior], rtol=1e-5)
    assert np.all(ds["mask"].values[~both] == terrain.MASK_NODATA)
    assert np.all(np.isnan(ds["local_incidence_angle"].values[:5, :5]))


def test_dem_in_another_crs_is_resampled(product):
    import rasterio.warp
    import rioxarray  # noqa: F401

    grid = product.grid
    dst_transform, width, height = rasterio.warp.calculate_default_transform(
        grid.crs, "EPSG:4326", grid.width, grid.height, *grid.bounds)
    geographic = np.full((height, width), np.nan)
    rasterio.warp.reproject(product.dem, geographic, src_transform=grid.transform, src_crs=grid.crs,
                            dst_transform=dst_transform, dst_crs="EPSG:4326", resampling=rasterio.warp.Resampling.bilinear)
    da = xr.DataArray(geographic, dims=("y", "x")).rio.write_crs("EPSG:4326").rio.write_transform(dst_transform)
    back = terrain.dem_on_grid(da, grid)
    inner = (slice(3, -3), slice(3, -3))
    assert np.nanmax(np.abs(back[inner] - product.dem[inner])) < 2.0
    assert terrain.dem_on_grid((product.dem, grid.transform, grid.crs), grid) is not None


def test_geolocation_check_on_a_demo_product(product):
    records = list(check_product(product.path))
    assert [r["annotation"][:13] for r in records] == ["s1a-iw-grd-vv", "s1a-iw-grd-vh"]
    for r in records:
        assert r["range_max_m"] < 0.01 and r["azimuth_max_lines"] < 0.01 and r["max_px"] < 0.05


def test_eof_orbit_and_annotation_orbit_agree(product):
    ann = product.annotation
    o = ann.orbit
    lagrange = Orbit.from_state_vectors(o["time"].to_numpy("datetime64[ns]"), o[["x", "y", "z"]].to_numpy(),
                                        o[["vx", "vy", "vz"]].to_numpy(), method="lagrange", degree=3)
    model_a = terrain.RangeDopplerModel.from_annotation(ann, annotation_orbit(ann))
    model_b = terrain.RangeDopplerModel.from_annotation(ann, lagrange)
    la, pa = terrain.grid_to_image(model_a, product.grid, product.dem)
    lb, pb = terrain.grid_to_image(model_b, product.grid, product.dem)
    assert np.abs(la - lb).max() < 0.01 and np.abs(pa - pb).max() < 0.01


def test_terrain_correction_with_an_eof_orbit_file(product, tmp_path, caplog):
    import datetime as dt
    import logging

    import pandas as pd
    from test_sar_orbit import write_eof

    from soilsat.demo import orbit as demo_orbit
    from soilsat.sar.orbit import product_orbit

    ann = product.annotation
    # the demo orbit itself, as a precise orbit file would give it: 10 s vectors over ten minutes
    centre = pd.Timestamp(ann.first_line_time)
    region_lon, region_lat = 8.95, 55.95
    dense = demo_orbit.pass_orbit(region_lon, region_lat, centre.normalize(), product.direction,
                                  height=float(np.round(product.dem.mean(), 3)), step_s=10.0, half_span_s=300.0)
    start = pd.Timestamp(dense.datetimes(dense.time[0])).to_pydatetime()
    stop = pd.Timestamp(dense.datetimes(dense.time[-1])).to_pydatetime()
    eof = write_eof(tmp_path / "S1A_OPER_AUX_POEORB_OPOD_20200501T120000_V1_V2.EOF", dense, dt.datetime(2020, 5, 1),
                    start, stop)
    first, last = pd.Timestamp(ann.first_line_time).to_pydatetime(), pd.Timestamp(ann.last_line_time).to_pydatetime()
    orbit = product_orbit(ann, first, last, "S1A", [eof])
    assert orbit.source == eof.name and orbit.method == "lagrange"
    model_eof = terrain.RangeDopplerModel.from_annotation(ann, orbit)
    model_ann = terrain.RangeDopplerModel.from_annotation(ann, annotation_orbit(ann))
    le, pe = terrain.grid_to_image(model_eof, product.grid, product.dem)
    la, pa = terrain.grid_to_image(model_ann, product.grid, product.dem)
    assert np.abs(le - la).max() < 0.01 and np.abs(pe - pa).max() < 0.01
    # no covering file: the annotation orbit, with a warning
    with caplog.at_level(logging.WARNING, logger="soilsat.sar.orbit"):
        fallback = product_orbit(ann, first - dt.timedelta(hours=1), last - dt.timedelta(hours=1), "S1A", [eof])
    assert fallback.source == "annotation" and "using the annotation orbit" in caplog.text


@pytest.mark.parametrize("parts", [
    ("s1", "S1A_IW_GRDH_1SDV_20150203T043109_20150203T043134_004454_00574F_6D00.zip"),
    ("s1", "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"),
], ids=["ipf-002.70", "ipf-003.40"])
def test_grid_to_image_on_real_geolocation_grids(parts):
    """Each real geolocation grid point, as the centre of a one-pixel study grid at its height, lands
    where the geolocation check puts it, within a pixel of ESA's line and pixel."""
    from conftest import real_fixture

    from soilsat.grid import StudyGrid, utm_epsg
    from soilsat.sar.geolocation_check import point_errors

    with open_product(real_fixture(*parts)) as p:
        ann = p.annotation("VV")
    g = ann.geolocation
    errors = point_errors(ann)
    model = terrain.RangeDopplerModel.from_annotation(ann, annotation_orbit(ann))
    epsg = utm_epsg(float(g["longitude"].mean()), float(g["latitude"].mean()))
    for k in range(0, len(g), 7):
        row = g.iloc[k]
        x, y = StudyGrid("p", epsg, 0, 0, 1, 1).to_grid_crs(row["longitude"], row["latitude"])
        grid = StudyGrid("p", epsg, float(x) - 5.0, float(y) + 5.0, 1, 1, 10.0)
        line, pixel = terrain.grid_to_image(model, grid, np.array([[row["height"]]]))
        assert abs(line[0, 0] - row["line"] - errors.line[k]) < 1e-3
        assert abs(pixel[0, 0] - row["pixel"] - errors.pixel[k]) < 1e-3
        assert np.hypot(line[0, 0] - row["line"], pixel[0, 0] - row["pixel"]) < 1.0


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
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    z = (300 + 40 * np.sin(cols / 7.0) * np.cos(rows / 9.0)).astype(np.float32)
    z[void:void + 3, 60:64] = np.nan
    ref = np.full(grid.shape, np.nan, np.float32)
    rasterio.warp.reproject(z, ref, src_transform=transform, src_crs=dem_crs, dst_transform=grid.transform,
                            dst_crs=grid.crs, src_nodata=np.nan, dst_nodata=np.nan,
                            resampling=rasterio.warp.Resampling.bilinear)
    ours = terrain.dem_on_rows((z, transform, dem_crs), grid, 10, 80)
    assert ours.shape == (70, 300) and ours.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref[10:80]))
    assert 20 < np.isnan(ours).sum() < 0.05 * ours.size  # the void is there, the rest has heights
    # GDAL's approximate transformer places pixels within 0.125 px: about 0.3 m on these slopes
    tolerance = 1e-4 if dem_crs == "EPSG:32632" else 0.5
    np.testing.assert_allclose(ours[np.isfinite(ours)], ref[10:80][np.isfinite(ours)], atol=tolerance)
