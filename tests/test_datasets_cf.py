"""The extraction datasets as written: CF attributes, fill values, provenance and Parquet tables matching the NetCDF."""

from __future__ import annotations

import netCDF4
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import soilsat
from compliance import cf_failures
from soilsat.cf_netcdf import DECIBEL, LABELS, read_dataset, write_netcdf
from soilsat.extract.cf import write_dataset
from soilsat.extract.covariates import covariates_dataset, sentinel2_series
from soilsat.extract.insitu import insitu_dataset
from soilsat.extract.points import locate
from soilsat.extract.probes import Sigma0Settings, build_dataset, to_table
from soilsat.extract.rasters import index_rasters, usable
from soilsat.extract.samples import S2_BANDS, bare_soil_observations, sample_dataset, sample_table
from soilsat.extract.static import STATIC_BANDS
from soilsat.extract.windows import covariate_windows, sample_series, window_dataset, window_table, with_grid_xy
from soilsat.grid import coarsened, region_grid
from soilsat.io import write_cog

DAYS = pd.date_range("2020-05-01", "2020-05-10", freq="D")
S2_DAYS = {
    "S2A_A": ("2020-05-02", "0.9000"),
    "S2A_B": ("2020-05-05", "0.7000"),
    "S2A_C": ("2020-05-06", "0.0100"),
    "S2A_D": ("2020-05-09", "0.8000"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Tiny rasters, probes, samples and weather on one 200 m region."""
    root = tmp_path_factory.mktemp("world")
    grid = region_grid("a", 9.0, 56.0, 200, 0)
    rng = np.random.default_rng(3)
    s1 = []
    for k, day in enumerate(("2020-05-02", "2020-05-05", "2020-05-07")):
        bands = np.stack([np.full(grid.shape, v, np.float32) for v in (0.05 + 0.01 * k, 0.01, 38.0, 35.0 + k, 1.0)])
        path = root / f"S1A_{k}.tif"
        write_cog(
            path,
            bands,
            grid,
            ["sigma0_VV", "sigma0_VH", "incidence_angle", "local_incidence_angle", "mask"],
            tags={
                "region": "a",
                "sensing_start": f"{day}T05:40:00",
                "orbit_direction": "DESCENDING",
                "product": path.stem,
            },
        )
        s1.append(str(path))
    s2 = []
    for name, (day, fraction) in S2_DAYS.items():
        reflectance = (0.1 + 0.2 * rng.random((len(S2_BANDS),) + grid.shape)).astype(np.float32)
        indices = np.stack([np.full(grid.shape, v, np.float32) for v in (0.2, 0.1, 0.15, 1.0, 1.0)])
        path = root / f"{name}.tif"
        write_cog(
            path,
            np.concatenate([reflectance, indices]),
            grid,
            [*S2_BANDS, "NDVI", "NDWI", "EVI", "bare", "valid"],
            tags={"region": "a", "sensing_time": f"{day}T10:30:00", "valid_fraction": fraction, "product": name},
        )
        s2.append(str(path))
    static = root / "static_a.tif"
    values = [12.0, 3.0, 0.5, -0.5, 211.0, 20.0, 30.0, 50.0, 14.0, 60.0]
    write_cog(
        static,
        np.stack([np.full(grid.shape, v, np.float32) for v in values]),
        grid,
        list(STATIC_BANDS),
        tags={"region": "a"},
    )
    points = pd.DataFrame({"lon": [9.0, 9.0006], "lat": [56.0, 56.0003]})
    sites = points.assign(probe=["p1", "p2"])
    daily = pd.DataFrame(
        [
            {"probe": p, "time": d, "ssm": 0.2 + 0.01 * i, "ts_max": 10.0}
            for p in ("p1", "p2")
            for i, d in enumerate(DAYS[:6])
        ]
    )
    weather = {
        "a": pd.DataFrame({"precipitation": [0.0, 2.0] * 5, "tmin": 5.0, "tmean": 10.0, "tmax": 15.0}, index=DAYS)
    }
    lucas = points.assign(
        point_id=["L1", "L2"], clay=[20.0, 25.0], silt=[30.0, 35.0], sand=[50.0, 40.0], oc=[12.0, 15.0]
    )
    return {
        "root": root,
        "grids": {"a": grid},
        "s1": s1,
        "s2": s2,
        "static": {"a": str(static)},
        "sites": sites,
        "daily": daily,
        "weather": weather,
        "samples": locate(lucas, {"a": grid}, "point_id"),
    }


SIGMA0 = Sigma0Settings(
    statistic="pixel", buffer_m=0, orbits="merged", max_z=None, outlier_population="probe", outlier_scale="db"
)


@pytest.fixture(scope="module")
def written(world):
    """probes, samples, windows and in-situ datasets written by the shared writer, with their tables; the folder and
    the datasets as they were in memory."""
    w, root = world, world["root"]
    radar, optical = index_rasters(w["s1"], "sentinel1"), index_rasters(w["s2"], "sentinel2")
    probes = build_dataset(
        w["sites"],
        w["daily"],
        w["weather"],
        w["grids"],
        radar,
        optical,
        w["static"],
        "2020-05-01",
        "2020-05-10",
        30,
        0.05,
        SIGMA0,
        config_hash="c0ffee",
    )
    write_dataset(probes, to_table(probes), root / "probes.nc", root / "probes.parquet")
    optical = usable(optical, 0.05)
    s2 = optical["path"]
    observations = bare_soil_observations(w["samples"], optical, radar, pair_days=1, outlier_sd=3)
    samples = sample_dataset(w["samples"], observations, "c0ffee", {"sentinel1": w["s1"], "sentinel2": s2})
    write_dataset(samples, sample_table(samples), root / "samples.nc", root / "samples.parquet")
    cov_grid = coarsened(w["grids"]["a"], 50.0)
    static = np.stack([np.full(cov_grid.shape, float(v), np.float32) for v in range(10)])
    cube = covariates_dataset(
        static, sentinel2_series(optical, cov_grid, 5, [2020]), cov_grid, [2020], "c0ffee", {"sentinel2": s2}
    )
    write_netcdf(cube, root / "covariates.nc")
    located = locate(w["samples"].drop(columns=["region", "row", "col"]), {"a": cov_grid}, "point_id")
    located = with_grid_xy(located, {"a": cov_grid})
    windows = window_dataset(
        located,
        covariate_windows({"a": cube}, located, 3),
        sample_series({"a": cube}, located, [2020]),
        "c0ffee",
        {"sentinel2": s2},
    )
    write_dataset(windows, window_table(windows), root / "windows.nc", root / "windows.parquet")
    insitu = insitu_dataset(w["sites"], w["daily"], w["grids"], "2020-05-01", "2020-05-10", "c0ffee")
    write_dataset(insitu, insitu.to_dataframe().reset_index(), root / "insitu.nc", root / "insitu.parquet")
    return root, {"probes": probes, "samples": samples, "windows": windows, "insitu": insitu}


@pytest.mark.parametrize("name", ["probes", "samples", "windows"])
def test_every_variable_has_cf_attributes_and_float_fill_values(written, name):
    written = written[0]
    data_vars = list(xr.open_dataset(written / f"{name}.nc").data_vars)
    with netCDF4.Dataset(written / f"{name}.nc") as nc:  # the raw file, not xarray's decoded view
        assert nc.getncattr("Conventions") == "CF-1.10"
        for var in data_vars:
            attrs = nc[var].ncattrs()
            assert "units" in attrs and "long_name" in attrs, f"{name}.nc: {var} lacks units or long_name"
            assert nc[var].getncattr("long_name").strip()
            if nc[var].dtype.kind == "f":
                assert "_FillValue" in attrs and np.isnan(nc[var].getncattr("_FillValue")), f"{name}.nc: {var}"
        float_vars = [v for v in data_vars if nc[v].dtype.kind == "f"]
    assert len(float_vars) >= 3  # the check above did look at float variables


@pytest.mark.parametrize(
    "name, sources",
    [("probes", ("sentinel1", "sentinel2")), ("samples", ("sentinel1", "sentinel2")), ("windows", ("sentinel2",))],
)
def test_provenance_attributes(written, name, sources):
    attrs = read_dataset(written[0] / f"{name}.nc").attrs
    assert attrs["config_sha256"] == "c0ffee"
    assert attrs["soilsat_version"] == soilsat.__version__ and attrs["source"] == f"soilsat {soilsat.__version__}"
    assert (
        "sentinel1_products" not in attrs
        if "sentinel1" not in sources
        else attrs["sentinel1_products"] == "S1A_0 S1A_1 S1A_2"
    )
    # the cloudy product (valid fraction 0.01 < 0.05) was dropped and is not named as used
    assert attrs["sentinel2_products"] == "S2A_A S2A_B S2A_D"


def test_probe_table_has_the_rows_and_columns_of_the_netcdf(written):
    written = written[0]
    dataset = read_dataset(written / "probes.nc")
    table = pd.read_parquet(written / "probes.parquet")
    assert len(table) == dataset.sizes["probe"] * dataset.sizes["time"] == 2 * len(DAYS)
    assert set(table.columns) == set(dataset.drop_dims("feature").variables)
    pd.testing.assert_frame_equal(table, to_table(dataset)[table.columns], check_dtype=False)
    assert table["ssm"].isna().sum() == 2 * 4  # days without probe data stay missing in the table too


def test_sample_table_has_the_rows_and_columns_of_the_netcdf(written):
    written = written[0]
    dataset = read_dataset(written / "samples.nc")
    table = pd.read_parquet(written / "samples.parquet")
    assert len(table) == int(dataset["time"].notnull().sum()) == 2 * 3  # 2 samples x 3 usable bare-soil days
    assert set(table.columns) == set(dataset.variables)
    pd.testing.assert_frame_equal(table, sample_table(dataset)[table.columns], check_dtype=False)
    paired = table.dropna(subset=["VV"])
    assert len(paired) == 2 * 2  # S2 on 05-02 and 05-05 have Sentinel-1 within a day, 05-09 has none
    assert (paired["time"] - paired["s1_time"]).abs().max() <= pd.Timedelta(days=1)


def test_window_table_has_the_rows_and_columns_of_the_netcdf(written):
    written = written[0]
    dataset = read_dataset(written / "windows.nc")
    table = pd.read_parquet(written / "windows.parquet")
    assert len(table) == dataset.sizes["sample"] * dataset.sizes["year"] == 2
    expected = {
        "sample",
        "year",
        *dataset["metric"].values,
        *(f"static_{c}" for c in dataset["covariate"].values),
        "oc",
        "clay",
        "silt",
        "sand",
        "lat",
        "lon",
        "region",
        "sample_x",
        "sample_y",
    }
    assert set(table.columns) == expected
    pd.testing.assert_frame_equal(table, window_table(dataset)[table.columns], check_dtype=False)


def test_writer_refuses_a_variable_without_cf_attributes(tmp_path):
    dataset = xr.Dataset({"x": ("n", [1.0, 2.0])}, attrs={"config_sha256": "c0ffee"})
    with pytest.raises(ValueError, match=r"bad.nc: dataset lacks CF units/long_name on \['x'\]"):
        write_dataset(dataset, pd.DataFrame({"x": [1.0, 2.0]}), tmp_path / "bad.nc", tmp_path / "bad.parquet")
    assert not (tmp_path / "bad.nc").exists()


# ------------------------------------------------------------------------------ the field's own validator


@pytest.mark.parametrize("name", ["probes", "samples", "windows", "insitu", "covariates"])
def test_ioos_compliance_checker_finds_no_failure(written, name):
    """The IOOS compliance checker's cf:1.10 suite: no failure of any priority, and no check that could not run."""
    assert cf_failures(written[0] / f"{name}.nc", weight=1) == []


@pytest.mark.parametrize("name", ["probes", "samples", "windows", "insitu"])
def test_read_back_equals_the_dataset_in_memory(written, name):
    folder, datasets = written
    back, memory = read_dataset(folder / f"{name}.nc"), datasets[name]
    xr.testing.assert_equal(back, memory)
    assert {k: v.dims for k, v in back.variables.items()} == {k: v.dims for k, v in memory.variables.items()}
    assert list(back.indexes) == list(memory.indexes)


def test_how_the_probe_dataset_is_stored(written):
    """Labels on index dimensions, T last, coordinates described, no fill value on coordinate variables."""
    with netCDF4.Dataset(written[0] / "probes.nc") as nc:
        assert nc.getncattr(LABELS) == "probe feature"
        assert nc["probe"].dimensions == ("probe_index",) and list(nc["probe"][:]) == ["p1", "p2"]
        assert nc["ssm"].dimensions == ("probe_index", "time")
        assert nc["observed"].dimensions == ("probe_index", "feature_index", "time")
        assert nc["observed"].getncattr("dimension_order") == "probe time feature"
        time = nc["time"]
        assert "_FillValue" not in time.ncattrs() and time.getncattr("standard_name") == "time"
        assert (nc["lat"].getncattr("standard_name"), nc["lon"].getncattr("units")) == ("latitude", "degrees_east")
        assert nc["sigma0_vv_db"].getncattr("units") == DECIBEL == "0.1 lg(re 1)"
        assert nc.getncattr("history") == (
            f"written by soilsat {soilsat.__version__} from the configuration with sha256 c0ffee"
        )
    plain = xr.open_dataset(written[0] / "probes.nc")  # without soilsat: names are still there, under a new dimension
    assert list(plain["probe"].values) == ["p1", "p2"] and plain["probe"].dims == ("probe_index",)
