"""Shared fixtures: paths of the project, the real-data fixtures, a runner for the workflow and the Sentinel-1
demo world."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "fixtures" / "real"
DATA = ROOT / "tests" / "data"  # small public test files kept in the project (sources in its README.md)
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def writable_copy(src: Path, dst: Path) -> Path:
    """A copy of a read-only fixture folder (shared/ has no write bits) that a test may alter."""
    shutil.copytree(src, dst)
    for p in dst.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    dst.chmod(0o755)
    return dst


def real_fixture(*parts: str) -> Path:
    """A file of ../shared/fixtures/real, or skip the test when the folder is absent."""
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not found at {path} (see ../shared/fixtures/README.md)")
    return path


def run_workflow(
    workdir: Path, *args: str, configfile: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """Run the project's Snakefile with `workdir` as working directory."""
    cmd = [str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "--cores", "2"]
    if configfile:
        cmd += ["--configfile", str(configfile)]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
    proc = subprocess.run(cmd + list(args), capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A complete workflow run on the tiny demo world; returns its working directory.

    SOILSAT_TINY_RUN=<folder> reuses a finished run of tests/configs/tiny.yaml made with the
    current code (to iterate on one e2e test without paying for the run again); the tests only
    read it.
    """
    reuse = os.environ.get("SOILSAT_TINY_RUN")
    if reuse:
        workdir = Path(reuse)
        if not (workdir / "results" / "tiny" / "metrics.csv").is_file():
            pytest.fail(f"SOILSAT_TINY_RUN={reuse}: not a finished run of tests/configs/tiny.yaml")
        return workdir
    workdir = tmp_path_factory.mktemp("tiny")
    shutil.copy(ROOT / "config.yaml", workdir / "config.yaml")
    run_workflow(workdir, configfile=ROOT / "tests" / "configs" / "tiny.yaml")
    return workdir


@pytest.fixture(scope="session")
def s1_demo_world(tmp_path_factory):
    """The tiny demo world of the Sentinel-1 tests: (root, region, product records), with the zipped products under
    root/archive, their sigma0 truth under root/truth and the region's DEM under root/dem."""
    from datetime import date

    from soilsat.demo.ancillary import write_dem
    from soilsat.demo.sentinel1 import write_products
    from soilsat.demo.world import RegionSpec, WorldSpec, make_world

    root = tmp_path_factory.mktemp("s1_demo")
    spec = WorldSpec(
        regions=(RegionSpec("t", 8.95, 55.95, 1500, "humid"),),
        start=date(2020, 4, 1),
        end=date(2020, 4, 20),
        probes_per_region=3,
        lucas_samples=10,
    )
    regions = make_world(spec)
    records = write_products(regions, spec, root / "archive", root / "truth")
    write_dem(regions, root / "dem")
    return root, regions[0], records


@dataclasses.dataclass
class DemoProduct:
    """One demo Sentinel-1 product loaded for the geometry tests: its images (calibrated, whole), truth and world."""

    path: Path
    annotation: object
    images: dict
    truth: dict
    grid: object
    dem: np.ndarray
    parcel: np.ndarray
    direction: str


@pytest.fixture(scope="session", params=["ASCENDING", "DESCENDING"])
def s1_demo_product(s1_demo_world, request) -> DemoProduct:
    """The first demo product of each orbit direction, its images calibrated with noise removal."""
    from soilsat.io import read_bands
    from soilsat.sar.reference.simple_chain import read_sigma0_window
    from soilsat.sar.safe import open_product

    root, region, records = s1_demo_world
    rec = next(r for r in records if r["orbit_direction"] == request.param)
    path = root / "archive" / rec["path"]
    with open_product(path) as product:
        ann = product.annotation("VV")
        window = (0, ann.number_of_lines, 0, ann.number_of_samples)
        images = {pol: read_sigma0_window(product, product.polarisation(pol), window) for pol in ("VV", "VH")}
    truth = read_bands(root / "truth" / "sentinel1" / f"{rec['name']}_t.tif")
    return DemoProduct(
        path,
        ann,
        images,
        truth,
        region.grid,
        region.truth["elevation"].values.astype(float),
        region.truth["parcel"].values,
        request.param,
    )


@functools.cache
def _schema_defaults_json() -> str:
    """The configuration the schema gives when every key is left out, as JSON (read once)."""
    from snakemake.utils import validate

    config: dict = {}
    validate(config, str(ROOT / "rules" / "schemas" / "config.schema.yaml"))
    return json.dumps(config)


def schema_defaults() -> dict:
    """A fresh copy of the configuration the schema gives when every key is left out."""
    return json.loads(_schema_defaults_json())


def schema_section(path: str) -> dict:
    """The schema's defaults of one config section, e.g. `train.lstm`."""
    section = schema_defaults()
    for key in path.split("."):
        section = section[key]
    return section
