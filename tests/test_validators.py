"""What soilsat writes, judged by the field's own validators: rio-cogeo (COG) and the IOOS compliance checker (CF)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from compliance import cf_failures, cog_problems
from soilsat.cf_netcdf import open_dataset
from soilsat.cog_stream import cog_writer
from soilsat.demo.archive import open_truth, write_truth
from soilsat.demo.world import RegionSpec, WorldSpec, make_world
from soilsat.errors import ProductError
from soilsat.grid import StudyGrid
from soilsat.io import write_cog, write_dataset_cog
from soilsat.reference.kinds import product_kind as reference_kind

GRID = StudyGrid("t", 32633, 400000.0, 6100000.0, 700, 600, 10.0)


def _stack() -> np.ndarray:
    yy, xx = np.mgrid[0 : GRID.height, 0 : GRID.width]
    stack = np.stack([(0.05 + 0.01 * np.sin(xx / 17.0)).astype(np.float32), ((xx // 50) % 4).astype(np.float32)])
    stack[0, :, :80] = np.nan
    return stack


def test_every_cog_writer_writes_what_rio_cogeo_validates(tmp_path):
    stack = _stack()
    write_cog(tmp_path / "whole.tif", stack, GRID, ["sigma0_VV", "mask"])
    with cog_writer(tmp_path / "blocks.tif", GRID, ["sigma0_VV", "mask"], categorical=[False, True]) as dst:
        for r0 in range(0, GRID.height, 128):
            dst.write(r0, stack[:, r0 : r0 + 128])
    dataset = xr.Dataset({name: (("y", "x"), band) for name, band in zip(("sigma0_VV", "mask"), stack)})
    write_dataset_cog(tmp_path / "dataset.tif", dataset, GRID)
    for name in ("whole", "blocks", "dataset"):
        assert cog_problems(tmp_path / f"{name}.tif") == [], name


def test_the_validator_sees_a_tiff_that_is_not_a_cog(tmp_path):
    """The control: a plain tiled GeoTIFF with overviews added afterwards is not a COG."""
    import rasterio

    path = tmp_path / "plain.tif"
    profile = dict(
        driver="GTiff",
        width=GRID.width,
        height=GRID.height,
        count=1,
        dtype="float32",
        tiled=True,
        blockxsize=256,
        blockysize=256,
        crs=GRID.crs,
        transform=GRID.transform,
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(_stack()[1], 1)
    with rasterio.open(path, "r+") as dst:
        dst.build_overviews([2, 4])
    assert cog_problems(path)


@pytest.fixture(scope="module")
def truth_files(tmp_path_factory) -> Path:
    spec = WorldSpec(
        regions=(RegionSpec("t", 8.95, 55.95, 1500, "humid"),),
        start=dt.date(2020, 4, 1),
        end=dt.date(2020, 4, 20),
        margin_m=250.0,
        probes_per_region=2,
        lucas_samples=4,
    )
    folder = tmp_path_factory.mktemp("truth")
    write_truth(make_world(spec), folder)
    return folder


def test_demo_truth_passes_the_cf_checker(truth_files):
    assert cf_failures(truth_files / "t.nc", weight=1) == []


def test_demo_truth_reads_back_in_its_dimension_order(truth_files):
    """The file puts time last (CF 2.4); the truth opens as the demo world made it, (time, parcel)."""
    with open_truth(truth_files, "t") as truth:
        assert truth["parcel_fcover"].dims == ("time", "parcel_id") and truth["sm"].dims == ("time", "y", "x")
        assert truth["spatial_ref"].attrs["grid_mapping_name"] == "transverse_mercator"
    assert xr.open_dataset(truth_files / "t.nc")["parcel_fcover"].dims == ("parcel_id", "time")


# ------------------------------------------------------------------------------ a whole demo run


def _reference_product(path: Path) -> bool:
    """Whether a NetCDF file is a CGLS SSM or ESA CCI SM file, kept in the genuine product's own layout."""
    try:
        reference_kind(path)
    except ProductError:
        return False
    return True


@pytest.mark.e2e
def test_every_netcdf_of_a_demo_run_passes_the_cf_checker(tiny_run):
    files = sorted(tiny_run.rglob("*.nc"))
    ours = [p for p in files if not _reference_product(p)]
    names = {p.relative_to(tiny_run).as_posix() for p in ours}
    assert {
        "results/tiny/datasets/probes.nc",
        "results/tiny/datasets/samples.nc",
        "results/tiny/datasets/windows.nc",
        "results/tiny/datasets/insitu.nc",
        "results/tiny/datasets/patches.nc",
        "results/tiny/covariates/skjern.nc",
        "results/tiny/models/tsagkatakis_fusion/example.nc",
    } <= names
    assert any(n.startswith("resources/demo/tiny/truth/") for n in names)
    failures = {p.relative_to(tiny_run).as_posix(): cf_failures(p) for p in ours}
    # QA4SM's upload layout is a (time, y, x) stack whose y and x index the probes; the checker cannot type those
    # dimensions and so doubts their order (tests/test_evaluate_qa4sm.py), every other check applies
    for name in [n for n in failures if n.startswith("results/tiny/qa4sm/")]:
        failures[name] = [f for f in failures[name] if not f.startswith("§2.4 Dimensions")]
    assert {name: found for name, found in failures.items() if found} == {}
    for path in ours:  # and each reads back as written
        with open_dataset(path) as dataset:
            assert dataset.sizes


@pytest.mark.e2e
def test_every_cog_of_a_demo_run_passes_rio_cogeo(tiny_run):
    """Every GeoTIFF of the run but the demo's land cover (in the archive and fetched from it), plain like the CORINE
    download it stands for."""
    rasters = [
        p
        for p in sorted(tiny_run.rglob("*.tif"))
        if not (p.parent.name in ("archive", "landcover") and p.name.startswith("landcover_"))
    ]
    assert len(rasters) > 50
    problems = {p.relative_to(tiny_run).as_posix(): cog_problems(p) for p in rasters}
    assert {name: found for name, found in problems.items() if found} == {}
