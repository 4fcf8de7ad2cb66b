"""Faults and resumption: a run killed mid-stage resumes to outputs identical to an uninterrupted run."""

from __future__ import annotations

import filecmp
import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from conftest import ROOT, SNAKEMAKE, run_workflow

pytestmark = pytest.mark.e2e
TINY = ROOT / "tests" / "configs" / "tiny.yaml"


def start_workflow(workdir) -> subprocess.Popen:
    cmd = [str(SNAKEMAKE), "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "--cores", "2",
           "--configfile", str(TINY)]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)


def test_sigkill_in_sentinel1_stage_then_resume_gives_identical_outputs(tiny_run, tmp_path):
    workdir = tmp_path / "killed"
    workdir.mkdir()
    shutil.copy(ROOT / "config.yaml", workdir / "config.yaml")
    proc = start_workflow(workdir)
    sentinel1 = workdir / "results" / "tiny" / "sentinel1"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if sentinel1.exists() and any(sentinel1.rglob("*.tif")):
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the workflow ended before its Sentinel-1 stage could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = sorted(p.name for p in sentinel1.rglob("*.tif"))

    run_workflow(workdir, "--unlock", configfile=TINY)
    run_workflow(workdir, "--rerun-incomplete", configfile=TINY)

    ours, theirs = workdir / "results" / "tiny", tiny_run / "results" / "tiny"
    rasters = sorted(p.relative_to(theirs) for p in theirs.rglob("*.tif") if "benchmarks" not in p.parts)
    assert len(rasters) > 20 and len(done_before) < len(list((theirs / "sentinel1").rglob("*.tif")))
    for rel in rasters:
        assert filecmp.cmp(ours / rel, theirs / rel, shallow=False), f"{rel} differs from the uninterrupted run"
    pd.testing.assert_frame_equal(pd.read_csv(ours / "metrics.csv"), pd.read_csv(theirs / "metrics.csv"))
    with xr.open_dataset(ours / "datasets" / "probes.nc") as a, xr.open_dataset(theirs / "datasets" / "probes.nc") as b:
        xr.testing.assert_identical(a.load(), b.load())
    left_over = [p for p in ours.rglob("*") if p.name.startswith(".") and ".tif." in p.name]
    assert not left_over, f"temporary files left behind: {left_over}"


def test_different_seed_changes_the_world(tmp_path):
    from soilsat.demo.world import RegionSpec, WorldSpec, make_world
    import datetime as dt

    region = (RegionSpec("a", 8.95, 55.95, 600, "humid"),)
    a = make_world(WorldSpec(regions=region, start=dt.date(2020, 4, 1), end=dt.date(2020, 4, 10), seed=1, probes_per_region=2, lucas_samples=4))[0]
    b = make_world(WorldSpec(regions=region, start=dt.date(2020, 4, 1), end=dt.date(2020, 4, 10), seed=1, probes_per_region=2, lucas_samples=4))[0]
    c = make_world(WorldSpec(regions=region, start=dt.date(2020, 4, 1), end=dt.date(2020, 4, 10), seed=2, probes_per_region=2, lucas_samples=4))[0]
    assert np.array_equal(a.truth["sm"].values, b.truth["sm"].values)
    assert not np.array_equal(a.truth["sm"].values, c.truth["sm"].values)
