"""The demo's ancillary files: weather CSVs, the DEM, land cover, LUCAS samples, and the HWSD-like soil raster
(30 arc-second cells, one dominant soil per mapping unit, a systematic error)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.enums import Resampling

from soilsat.acquire.tables import read_lucas, read_weather
from soilsat.demo import ancillary
from soilsat.demo.world import RegionSpec, RegionWorld, WorldSpec, make_world
from soilsat.extract.static import on_grid
from soilsat.grid import StudyGrid

SPEC = WorldSpec(
    regions=(RegionSpec("skjern", 8.95, 55.95, 4000, "humid"), RegionSpec("duero", -5.35, 41.3, 4000, "semiarid")),
    start=dt.date(2020, 4, 1),
    end=dt.date(2020, 4, 5),
    probes_per_region=2,
    lucas_samples=4,
)
BANDS = ["clay", "silt", "sand", "organic_carbon", "base_saturation"]
ONE_REGION = WorldSpec(
    regions=(RegionSpec("t", 8.95, 55.95, 1500, "humid"),),
    start=dt.date(2020, 1, 1),
    end=dt.date(2020, 2, 29),
    probes_per_region=3,
    lucas_samples=10,
)


@pytest.fixture(scope="module")
def world() -> list[RegionWorld]:
    return make_world(SPEC)


@pytest.fixture(scope="module")
def one_region() -> list[RegionWorld]:
    return make_world(ONE_REGION)


@pytest.fixture(scope="module")
def rasters(world, tmp_path_factory):
    """The written soil rasters, by region name."""
    folder = tmp_path_factory.mktemp("soil")
    entries = ancillary.write_soil(world, folder)
    return {e["region"]: folder / e["path"] for e in entries}


def cell_means(region: RegionWorld, soil: StudyGrid, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of a study-grid field over each soil cell, and whether the cell lies wholly inside the study grid."""
    rows, cols = ancillary.pixel_cells(region.grid, soil)
    index = (rows * soil.width + cols).ravel()
    count = np.bincount(index, minlength=soil.width * soil.height)
    total = np.bincount(index, values.astype(np.float64).ravel(), minlength=soil.width * soil.height)
    lon, lat = np.meshgrid(
        soil.x0 + np.arange(soil.width + 1) * soil.resolution, soil.y0 - np.arange(soil.height + 1) * soil.resolution
    )
    corner_in = region.grid.contains(*region.grid.to_grid_crs(lon, lat))
    interior = corner_in[:-1, :-1] & corner_in[1:, :-1] & corner_in[:-1, 1:] & corner_in[1:, 1:]
    return (total / np.maximum(count, 1)).reshape(soil.shape), interior


def test_cells_are_hwsd_30_arc_seconds_in_wgs84_covering_the_grid(world, rasters):
    for region in world:
        with rasterio.open(rasters[region.spec.name]) as src:
            assert src.crs.to_epsg() == 4326 and src.res == pytest.approx((1 / 120, 1 / 120))
            assert list(src.descriptions) == BANDS
            # HWSD's global lattice: cell edges on whole multiples of 30 arc-seconds.
            assert src.bounds.left * 120 == pytest.approx(round(src.bounds.left * 120), abs=1e-6)
            assert src.bounds.top * 120 == pytest.approx(round(src.bounds.top * 120), abs=1e-6)
            west, south, east, north = region.grid.lonlat_bounds()
            assert src.bounds.left < west - 1 / 120 and src.bounds.right > east + 1 / 120
            assert src.bounds.bottom < south - 1 / 120 and src.bounds.top > north + 1 / 120
            clay, silt, sand, oc, bs = src.read().astype(np.float64)
        # About 1 km: 926 m north-south, 926 m x cos(latitude) east-west.
        assert 0.9e3 < 6_371_000 * np.radians(1 / 120) < 0.95e3
        assert 0.5e3 < 6_371_000 * np.radians(1 / 120) * np.cos(np.radians(region.spec.lat)) < 0.95e3
        np.testing.assert_allclose(clay + silt + sand, 100.0, atol=1e-4)
        for band in (clay, silt, sand):
            assert np.all((band >= 0) & (band <= 100))
        assert np.all((oc > 0.1) & (oc < 10)) and np.all((bs >= 5) & (bs <= 100))
        # The extraction reads it onto the whole study grid.
        on_study = on_grid(rasters[region.spec.name], region.grid, Resampling.bilinear)
        assert np.isfinite(on_study).all()


def test_values_are_constant_within_a_mapping_unit_and_come_from_the_soil_table(world, rasters):
    table_clay = {t.clay + ancillary.CLAY_BIAS for t in ancillary.SOIL_TYPES.values()}
    for region in world:
        soil = ancillary.soil_map(region)
        with rasterio.open(rasters[region.spec.name]) as src:
            bands = src.read().astype(np.float64)
        np.testing.assert_array_equal(bands, soil.bands().astype(np.float32))
        units = np.unique(soil.units)
        assert 2 <= len(units) <= ancillary.SOIL_UNITS_MAX and len(soil.soils) == len(units)
        for k in units:
            values = bands[:, soil.units == k]
            assert np.ptp(values, axis=1).max() == 0.0  # one set of attributes per unit
            clay, silt, sand, oc, _ = values[:, 0]
            dominant = ancillary.SOIL_TYPES[soil.soils[k]]
            expected = (
                dominant.clay + ancillary.CLAY_BIAS,
                dominant.silt,
                dominant.sand - ancillary.CLAY_BIAS,
                dominant.organic_carbon,
            )
            assert (clay, silt, sand, oc) == pytest.approx(expected)
        assert set(np.unique(bands[0])) <= table_clay
        # Units are a few contiguous groups of cells: most neighbours share their unit.
        same = np.mean(soil.units[:, 1:] == soil.units[:, :-1]), np.mean(soil.units[1:] == soil.units[:-1])
        assert min(same) > 0.6


def test_clay_departs_from_the_truth_by_the_documented_systematic_error(world, rasters):
    errors = []
    for region in world:
        soil = ancillary.soil_map(region)
        truth, interior = cell_means(region, soil.grid, region.truth["clay"].values)
        assert interior.sum() >= 15
        with rasterio.open(rasters[region.spec.name]) as src:
            clay = src.read(1).astype(np.float64)
        error = (clay - truth)[interior]
        # Per region: the bias plus the quantisation to the dominant soil, within a few points.
        assert abs(error.mean() - ancillary.CLAY_BIAS) < 2.5
        errors.append(error)
    error = np.concatenate(errors)
    mean, rmse = error.mean(), np.sqrt(np.mean(error**2))
    # The module docstring: mean error about +3 (the bias), RMSE 4-6 percentage points at 30 arc-seconds.
    assert 2.0 < mean < 4.5 and 4.0 < rmse < 7.0
    assert rmse > 1.2 * abs(mean)  # the unit values miss the within-unit variation too


def test_soil_raster_is_reproducible(world, tmp_path):
    first = ancillary.write_soil(world, tmp_path / "a")
    again = ancillary.write_soil(world, tmp_path / "b")
    assert [e["md5"] for e in first] == [e["md5"] for e in again]


def test_weather_csv(one_region, tmp_path):
    entries = ancillary.write_weather(one_region, tmp_path)
    assert [e["source"] for e in entries] == ["weather"] and entries[0]["region"] == "t"
    w = read_weather(tmp_path / entries[0]["path"])
    truth = one_region[0].truth
    assert len(w) == truth.sizes["time"]
    np.testing.assert_allclose(w["precipitation"], truth["precipitation"].values, atol=0.051)
    np.testing.assert_allclose(w["tmax"], truth["tmax"].values, atol=0.051)
    assert w.attrs["station_id"] and abs(w.attrs["latitude"] - 55.95) < 1e-6


def test_dem(one_region, tmp_path):
    (entry,) = ancillary.write_dem(one_region, tmp_path)
    grid = one_region[0].grid
    with rasterio.open(tmp_path / entry["path"]) as src:
        assert src.crs.to_epsg() == grid.epsg and src.res == (30.0, 30.0)
        left, bottom, right, top = grid.bounds
        b = src.bounds
        assert b.left <= left - 1000 and b.right >= right + 1000
        assert b.bottom <= bottom - 1000 and b.top >= top + 1000
        assert b.left > left - 1030 and b.top < top + 1030
        assert "ellipsoid" in src.tags()["VERTICAL_DATUM"]
        dem = src.read(1)
        assert np.isfinite(dem).all()
        # an inside pixel equals the mean of the 3x3 truth pixels it covers
        row, col = src.index(grid.x_coords()[100] + 0.0, grid.y_coords()[100])
        x0, y0 = src.xy(row, col, offset="ul")
        c0 = int(round((x0 - grid.x0) / 10))
        r0 = int(round((grid.y0 - y0) / 10))
        block = one_region[0].truth["elevation"].values[r0 : r0 + 3, c0 : c0 + 3]
        assert dem[row, col] == pytest.approx(float(block.mean()), abs=1e-3)


def test_landcover(one_region, tmp_path):
    (entry,) = ancillary.write_landcover(one_region, tmp_path)
    grid = one_region[0].grid
    with rasterio.open(tmp_path / entry["path"]) as src:
        assert src.crs.to_epsg() == grid.epsg and src.transform == grid.transform
        assert src.nodata == 0 and src.dtypes[0] == "int16"
        np.testing.assert_array_equal(src.read(1), one_region[0].truth["landcover"].values)


def test_soil(one_region, tmp_path):
    (entry,) = ancillary.write_soil(one_region, tmp_path)
    west, south, east, north = one_region[0].grid.lonlat_bounds()
    with rasterio.open(tmp_path / entry["path"]) as src:
        assert src.res == pytest.approx((1 / 120, 1 / 120)) and src.crs.to_epsg() == 4326  # HWSD's 30 arc-seconds
        assert list(src.descriptions) == ["clay", "silt", "sand", "organic_carbon", "base_saturation"]
        assert src.bounds.left <= west and src.bounds.top >= north
        clay, silt, sand, oc, bs = src.read()
        np.testing.assert_allclose(clay + silt + sand, 100, atol=1e-3)
        truth_clay = one_region[0].truth["clay"].values
        assert abs(np.nanmean(clay) - truth_clay.mean() - ancillary.CLAY_BIAS) < 3.0  # see tests/test_demo_ancillary.py
        assert np.all((bs >= 5) & (bs <= 100))
        assert 0.1 < np.nanmean(oc) < 10


def test_lucas(one_region, tmp_path):
    (entry,) = ancillary.write_lucas(one_region, tmp_path / "lucas.csv")
    assert entry["source"] == "lucas" and entry["path"] == "lucas.csv"
    (in_dir,) = ancillary.write_lucas(one_region, tmp_path / "archive")
    assert in_dir["path"] == "lucas/LUCAS_TOPSOIL_2018_demo.csv" and in_dir["md5"] == entry["md5"]
    raw = pd.read_csv(tmp_path / "lucas.csv")
    assert {"POINTID", "TH_LAT", "TH_LONG", "SURVEY_DATE", "LC", "OC", "Clay", "Silt", "Sand"} <= set(raw.columns)
    assert raw["LC"].str.match(r"B1\d").all()
    table = read_lucas(tmp_path / "lucas.csv")
    s = one_region[0].samples
    assert list(table["point_id"]) == list(s["point_id"])
    np.testing.assert_allclose(table["clay"], s["clay"])
    assert (table["year"] == 2018).all()
