"""Range-Doppler geocoding (soilsat.sar.geocoding) on demo products and real geolocation grids: local incidence,
layover and shadow, blocks of rows against the whole grid, the interpolated zero-Doppler time, orbits."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import DemoProduct
from soilsat.sar import geocoding, terrain
from soilsat.sar.dem import Dem
from soilsat.sar.orbit import Orbit, annotation_orbit
from soilsat.sar.reference import whole_grid
from soilsat.sar.safe import open_product


@pytest.fixture(scope="module")
def world(s1_demo_world):
    """The tiny demo world: its root, region and Sentinel-1 product records (conftest)."""
    return s1_demo_world


@pytest.fixture(scope="module")
def product(s1_demo_product: DemoProduct) -> DemoProduct:
    """The first demo product of each orbit direction (conftest)."""
    return s1_demo_product


def _geometry(product: DemoProduct, heights: np.ndarray) -> geocoding.Geometry:
    model = geocoding.RangeDopplerModel.from_annotation(product.annotation, annotation_orbit(product.annotation))
    return whole_grid.grid_geometry(model, product.grid, heights)


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
    np.testing.assert_allclose(
        away_slope.local_incidence_angle[inner], away_slope.incidence_angle[inner] + alpha, atol=0.15
    )
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
    ds = whole_grid.terrain_correct(
        product.images,
        product.annotation,
        annotation_orbit(product.annotation),
        Dem(50.0 + ridge, grid.transform, grid.crs),
        grid,
    )
    mask = ds["mask"].values
    assert np.all(mask[geo.layover] == terrain.MASK_LAYOVER)
    assert np.all(mask[geo.shadow & ~geo.layover] == terrain.MASK_SHADOW)
    assert np.all(mask[~(geo.shadow | geo.layover)] == terrain.MASK_VALID)


# --------------------------------------------------------------------------- blocks of grid rows


def demo_model(world):
    """The first product's range-Doppler model and the world's heights with a steep block (layover, shadow)."""
    root, region, records = world
    with open_product(root / "archive" / records[0]["path"]) as product:
        ann = product.annotation("VV")
    heights = region.truth["elevation"].values.astype(float)
    heights[60:70, 80:90] += 400.0  # a steep block: layover and shadow near block edges
    return geocoding.RangeDopplerModel.from_annotation(ann, annotation_orbit(ann)), heights


def test_geometry_in_grid_blocks_equals_the_whole(world):
    region = world[1]
    model, heights = demo_model(world)
    whole = whole_grid.grid_geometry(model, region.grid, heights)
    blocks = whole_grid.grid_geometry(model, region.grid, heights, rows=32, halo=32)
    np.testing.assert_array_equal(blocks.line, whole.line)
    np.testing.assert_array_equal(blocks.pixel, whole.pixel)
    np.testing.assert_allclose(blocks.local_incidence_angle, whole.local_incidence_angle, atol=1e-4)
    assert whole.layover.any() and whole.shadow.any()
    np.testing.assert_array_equal(blocks.layover, whole.layover)
    np.testing.assert_array_equal(blocks.shadow, whole.shadow)


def test_eof_orbit_and_annotation_orbit_agree(product):
    ann = product.annotation
    o = ann.orbit
    lagrange = Orbit.from_state_vectors(
        o["time"].to_numpy("datetime64[ns]"),
        o[["x", "y", "z"]].to_numpy(),
        o[["vx", "vy", "vz"]].to_numpy(),
        method="lagrange",
        degree=3,
    )
    model_a = geocoding.RangeDopplerModel.from_annotation(ann, annotation_orbit(ann))
    model_b = geocoding.RangeDopplerModel.from_annotation(ann, lagrange)
    la, pa = whole_grid.grid_to_image(model_a, product.grid, product.dem)
    lb, pb = whole_grid.grid_to_image(model_b, product.grid, product.dem)
    assert np.abs(la - lb).max() < 0.01 and np.abs(pa - pb).max() < 0.01


def test_terrain_correction_with_an_eof_orbit_file(product, tmp_path, caplog):
    import datetime as dt
    import logging

    import pandas as pd

    from soilsat.demo import orbit as demo_orbit
    from soilsat.sar.orbit import product_orbit
    from test_sar_orbit import write_eof

    ann = product.annotation
    # the demo orbit itself, as a precise orbit file would give it: 10 s vectors over ten minutes
    centre = pd.Timestamp(ann.first_line_time)
    region_lon, region_lat = 8.95, 55.95
    dense = demo_orbit.pass_orbit(
        region_lon,
        region_lat,
        centre.normalize(),
        product.direction,
        height=float(np.round(product.dem.mean(), 3)),
        step_s=10.0,
        half_span_s=300.0,
    )
    start = pd.Timestamp(dense.datetimes(dense.time[0])).to_pydatetime()
    stop = pd.Timestamp(dense.datetimes(dense.time[-1])).to_pydatetime()
    eof = write_eof(
        tmp_path / "S1A_OPER_AUX_POEORB_OPOD_20200501T120000_V1_V2.EOF", dense, dt.datetime(2020, 5, 1), start, stop
    )
    first, last = pd.Timestamp(ann.first_line_time).to_pydatetime(), pd.Timestamp(ann.last_line_time).to_pydatetime()
    orbit = product_orbit(ann, first, last, "S1A", [eof])
    assert orbit.source == eof.name and orbit.method == "lagrange"
    model_eof = geocoding.RangeDopplerModel.from_annotation(ann, orbit)
    model_ann = geocoding.RangeDopplerModel.from_annotation(ann, annotation_orbit(ann))
    le, pe = whole_grid.grid_to_image(model_eof, product.grid, product.dem)
    la, pa = whole_grid.grid_to_image(model_ann, product.grid, product.dem)
    assert np.abs(le - la).max() < 0.01 and np.abs(pe - pa).max() < 0.01
    # no covering file: the annotation orbit, with a warning
    with caplog.at_level(logging.WARNING, logger="soilsat.sar.orbit"):
        fallback = product_orbit(ann, first - dt.timedelta(hours=1), last - dt.timedelta(hours=1), "S1A", [eof])
    assert fallback.source == "annotation" and "using the annotation orbit" in caplog.text


@pytest.mark.parametrize(
    "parts",
    [
        ("s1", "S1A_IW_GRDH_1SDV_20150203T043109_20150203T043134_004454_00574F_6D00.zip"),
        ("s1", "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"),
    ],
    ids=["ipf-002.70", "ipf-003.40"],
)
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
    model = geocoding.RangeDopplerModel.from_annotation(ann, annotation_orbit(ann))
    epsg = utm_epsg(float(g["longitude"].mean()), float(g["latitude"].mean()))
    for k in range(0, len(g), 7):
        row = g.iloc[k]
        x, y = StudyGrid("p", epsg, 0, 0, 1, 1).to_grid_crs(row["longitude"], row["latitude"])
        grid = StudyGrid("p", epsg, float(x) - 5.0, float(y) + 5.0, 1, 1, 10.0)
        line, pixel = whole_grid.grid_to_image(model, grid, np.array([[row["height"]]]))
        assert abs(line[0, 0] - row["line"] - errors.line[k]) < 1e-3
        assert abs(pixel[0, 0] - row["pixel"] - errors.pixel[k]) < 1e-3
        assert np.hypot(line[0, 0] - row["line"], pixel[0, 0] - row["pixel"]) < 1.0


# --------------------------------------------------------------------------- interpolated zero-Doppler time

S1B_SAFE = "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"


def _geometry_error(model, grid, heights) -> tuple[float, float]:
    """Largest |line| and |pixel| difference between the interpolated and the exactly solved geometry."""
    exact = whole_grid.grid_geometry(model, grid, heights)
    fast = whole_grid.grid_geometry(model, grid, heights, levels=geocoding.height_levels(heights))
    ok = np.isfinite(exact.line)
    # the interpolated geometry skips the ground far beyond the image (geocoding.OUTSIDE_MARGIN), and only that
    line, pixel = exact.line, exact.pixel
    with np.errstate(invalid="ignore"):
        beyond = np.maximum.reduce(
            [-line, line - (model.number_of_lines - 1), -pixel, pixel - (model.number_of_samples - 1)]
        )
    skipped = ok & ~np.isfinite(fast.line)
    assert np.all(beyond[skipped] > geocoding.OUTSIDE_MARGIN - 64)
    assert np.all(np.isfinite(fast.line)[ok & (beyond < geocoding.OUTSIDE_MARGIN)])
    ok &= np.isfinite(fast.line)
    for cosine in ("cos_incidence", "cos_local_incidence"):
        np.testing.assert_allclose(getattr(fast, cosine)[ok], getattr(exact, cosine)[ok], atol=1e-9)
    return float(np.abs(fast.line - exact.line)[ok].max()), float(np.abs(fast.pixel - exact.pixel)[ok].max())


def test_interpolated_time_matches_the_exact_solve_on_the_demo(world):
    region = world[1]
    model, heights = demo_model(world)
    heights[5:8, 5:8] = np.nan
    assert max(_geometry_error(model, region.grid, heights)) < 0.01
    levels = geocoding.height_levels(heights)
    exact = whole_grid.grid_geometry(model, region.grid, heights)
    fast = whole_grid.grid_geometry(model, region.grid, heights, rows=32, halo=32, levels=levels)
    np.testing.assert_array_equal(fast.layover, exact.layover)
    np.testing.assert_array_equal(fast.shadow, exact.shadow)


@pytest.mark.parametrize("relief", [40.0, 2000.0])
def test_interpolated_time_matches_the_exact_solve_across_a_full_footprint(relief):
    """Strips of a 10 m grid across the whole real S1B footprint (the benchmark's geometry), gentle and steep
    terrain."""
    import pyproj

    from conftest import real_fixture
    from soilsat.grid import StudyGrid, utm_epsg

    with open_product(real_fixture("s1", S1B_SAFE)) as product:
        ann = product.annotation("VV")
    model = geocoding.RangeDopplerModel.from_annotation(ann, annotation_orbit(ann))
    lon, lat = ann.geolocation["longitude"].to_numpy(), ann.geolocation["latitude"].to_numpy()
    epsg = utm_epsg(float(lon.mean()), float(lat.mean()))
    x, y = pyproj.Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    width, height = int((max(x) - min(x)) / 10), int((max(y) - min(y)) / 10)
    for row in (0, height // 2, height - 48):
        grid = StudyGrid("strip", epsg, float(min(x)), float(max(y)) - row * 10.0, width, 48, 10.0)
        yy, xx = np.mgrid[row : row + 48, 0:width] * 10.0
        heights = (
            300 + relief * np.sin(xx / 3000.0) * np.cos(yy / 4000.0) + 0.3 * relief * np.sin(xx / 900.0 + yy / 700.0)
        )
        line_err, pixel_err = _geometry_error(model, grid, heights)
        assert line_err < 0.01 and pixel_err < 0.01, (row, line_err, pixel_err)


# --------------------------------------------------------------------------- SNAP's range polynomial interpolation


def snap_range_index(conv: geocoding.RangeConversion, t: float, slant: float, width: int, exact: bool = False) -> float:
    """SNAP's SARGeocoding.computeRangeIndex for GRD, step by step: the ground-to-slant coefficients of the records
    around the time interpolated linearly (the last two beyond the last), the ground range found by bisection to
    0.1 m of slant range from the earlier record's origin (`exact`: bisected to the end instead)."""
    idx = 0
    for i in range(len(conv.times)):
        if t >= conv.times[i]:
            idx = i
    if idx == len(conv.times) - 1:
        idx -= 1
    mu = (t - conv.times[idx]) / (conv.times[idx + 1] - conv.times[idx])
    coef = conv.grsr[idx] + (conv.grsr[idx + 1] - conv.grsr[idx]) * mu
    gr0 = conv.gr0[idx]

    def slant_of(ground: float) -> float:
        return float(np.polynomial.polynomial.polyval(ground - gr0, coef))

    lower, upper = gr0, gr0 + width * conv.spacing
    while upper - lower > (1e-7 if exact else 0.1):
        mid = 0.5 * (lower + upper)
        s = slant_of(mid)
        if abs(s - slant) < 0.1 and not exact:
            return (mid - gr0) / conv.spacing
        lower, upper = (mid, upper) if s < slant else (lower, mid)
    if exact:
        return (0.5 * (lower + upper) - gr0) / conv.spacing
    raise AssertionError("no ground range")


def test_interpolated_range_polynomials_reproduce_snap():
    """range_polynomial "interpolated" converts as SNAP does, to its 0.1 m bisection; ESA's nearest polynomial,
    the default, differs from it by up to 3.7 pixels midway between records on this product (S1B, 2021)."""
    from conftest import real_fixture

    with open_product(real_fixture("s1", S1B_SAFE)) as p:
        ann = p.annotation("VV")
    orbit = annotation_orbit(ann)
    nearest = geocoding.RangeDopplerModel.from_annotation(ann, orbit)
    snap = geocoding.RangeDopplerModel.from_annotation(ann, orbit, "interpolated")
    conv = geocoding.RangeConversion(ann)
    rng = np.random.default_rng(1)
    lines = rng.uniform(0, ann.number_of_lines - 1, 60)
    pixels = rng.uniform(0, ann.number_of_samples - 1, 60)
    slant = conv.slant_range(lines, pixels)
    t = snap.t_first + lines * snap.azimuth_time_interval
    ours = geocoding.times_to_image(snap, t, slant)[1]
    esa = geocoding.times_to_image(nearest, t, slant)[1]
    width = ann.number_of_samples
    reference = np.array(
        [snap_range_index(conv, li * conv.azimuth_time_interval, s, width) for li, s in zip(lines, slant)]
    )
    exact = np.array(
        [snap_range_index(conv, li * conv.azimuth_time_interval, s, width, True) for li, s in zip(lines, slant)]
    )
    assert np.max(np.abs(ours - exact)) < 0.01  # the per-line polynomials, taken at the nearest line (half a line)
    assert np.max(np.abs(ours - reference)) < 0.035  # SNAP stops within 0.1 m of slant range (0.3 m of ground)
    assert 1.0 < np.max(np.abs(esa - exact)) < 5.0  # 3.7 pixels on this product, midway between records
    with pytest.raises(ValueError, match="expected 'nearest' or 'interpolated'"):
        geocoding.RangeDopplerModel.from_annotation(ann, orbit, "cubic")
