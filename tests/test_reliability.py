"""Faults, resumption, determinism and memory: a run killed mid-stage resumes to outputs identical to an
uninterrupted run, two runs are identical, every job stays within its declared mem_mb."""

from __future__ import annotations

import filecmp
import io
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from conftest import ROOT, SNAKEMAKE, run_workflow

pytestmark = pytest.mark.e2e
TINY = ROOT / "tests" / "configs" / "tiny.yaml"


def start_workflow(workdir) -> subprocess.Popen:
    cmd = [
        str(SNAKEMAKE),
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        "--configfile",
        str(TINY),
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory) -> tuple:
    """A second run of the tiny demo from scratch, SIGKILLed in its Sentinel-1 stage and resumed.

    Returns (workdir, names of the Sentinel-1 rasters done before the kill). It serves both the
    resumption test and the determinism test, so the suite pays for one more workflow run only.
    """
    workdir = tmp_path_factory.mktemp("killed")
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
    return workdir, done_before


def test_sigkill_in_sentinel1_stage_then_resume_gives_identical_outputs(tiny_run, resumed_run):
    workdir, done_before = resumed_run
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


def _files(results, pattern: str) -> set:
    return {p.relative_to(results) for p in results.rglob(pattern) if "benchmarks" not in p.parts}


def _read_csv_relative(path: Path, run: Path) -> pd.DataFrame:
    """A CSV table with the run folder's absolute path written as <run>."""
    return pd.read_csv(io.StringIO(path.read_text().replace(str(run.resolve()), "<run>").replace(str(run), "<run>")))


def test_two_runs_of_the_tiny_demo_are_identical(tiny_run, resumed_run):
    """Determinism: two runs from scratch (each generating the demo world anew) give byte-identical rasters
    of every stage (Sentinel-1, Sentinel-2, static layers, maps), identical metrics, tables and datasets."""
    ours, theirs = resumed_run[0] / "results" / "tiny", tiny_run / "results" / "tiny"
    rasters = _files(theirs, "*.tif")
    assert rasters == _files(ours, "*.tif")
    stages = {rel.parts[0] for rel in rasters}
    assert {"sentinel1", "sentinel2", "static", "maps"} <= stages, stages
    differ = sorted(str(rel) for rel in rasters if not filecmp.cmp(ours / rel, theirs / rel, shallow=False))
    assert not differ, f"{len(differ)} of {len(rasters)} rasters differ between two runs: {differ[:10]}"
    tables = _files(theirs, "*.csv")
    assert Path("metrics.csv") in tables and tables == _files(ours, "*.csv")
    for rel in sorted(tables):  # catalogs name files inside each run's own folder: compare them relative to it
        pd.testing.assert_frame_equal(
            _read_csv_relative(ours / rel, resumed_run[0]),
            _read_csv_relative(theirs / rel, tiny_run),
            check_exact=True,
            obj=str(rel),
        )
    metrics = pd.read_csv(theirs / "metrics.csv")
    assert len(metrics) > 0 and metrics.select_dtypes("number").notna().any().any()
    datasets = _files(theirs, "*.nc")
    assert datasets and datasets == _files(ours, "*.nc")
    for rel in sorted(datasets):
        with xr.open_dataset(ours / rel) as a, xr.open_dataset(theirs / rel) as b:
            xr.testing.assert_identical(a.load(), b.load())


def snakemake_jobs(workdir) -> dict:
    """benchmark file -> (rule, declared mem_mb) of every job in the Snakemake logs of a run.

    Snakemake logs each job it starts as a block: `rule NAME:` (or localrule/checkpoint), then
    indented `benchmark: PATH` and `resources: ..., mem_mb=N, ...` lines; these are the
    resources the job really ran with, after the config and profile were applied.
    """
    jobs = {}
    for log in sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log")):
        rule = bench = None
        for line in log.read_text().splitlines():
            start = re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):$", line)
            if start:
                rule, bench = start[1], None
            elif rule and line.startswith("    "):
                key, _, value = line.strip().partition(": ")
                if key == "benchmark":
                    bench = value
                elif key == "resources" and bench:
                    resources = dict(item.split("=", 1) for item in value.split(", "))
                    jobs[bench] = (rule, float(resources["mem_mb"]))
            else:
                rule = None
    return jobs


def test_every_job_stays_within_its_declared_memory(tiny_run):
    """Peak RSS (Snakemake's benchmark files, MB) of every job of the tiny run against its rule's mem_mb."""
    jobs = snakemake_jobs(tiny_run)
    benchmarks = sorted((tiny_run / "results" / "tiny" / "benchmarks").rglob("*.tsv"))
    assert len(benchmarks) > 30
    peaks = {}
    for tsv in benchmarks:
        rel = str(tsv.relative_to(tiny_run))
        assert rel in jobs, f"{rel}: no job in the Snakemake log wrote this benchmark"
        rule, mem_mb = jobs[rel]
        max_rss = float(pd.read_csv(tsv, sep="\t")["max_rss"].max())
        assert 10 < max_rss < mem_mb, f"{rule} ({rel}): peak RSS {max_rss:.0f} MB, declared mem_mb={mem_mb:.0f}"
        peaks[rule] = max(peaks.get(rule, 0.0), max_rss)
    assert {"sentinel1_sigma0", "sentinel2_l2a"} <= set(peaks)
    print("peak RSS per rule (MB):", {r: round(v) for r, v in sorted(peaks.items())})


def test_different_seed_changes_the_world(tmp_path):
    import datetime as dt

    from soilsat.demo.world import RegionSpec, WorldSpec, make_world

    region = (RegionSpec("a", 8.95, 55.95, 600, "humid"),)

    def world(seed: int):
        spec = WorldSpec(
            regions=region,
            start=dt.date(2020, 4, 1),
            end=dt.date(2020, 4, 10),
            seed=seed,
            probes_per_region=2,
            lucas_samples=4,
        )
        return make_world(spec)[0]

    a, b, c = world(1), world(1), world(2)
    assert np.array_equal(a.truth["sm"].values, b.truth["sm"].values)
    assert not np.array_equal(a.truth["sm"].values, c.truth["sm"].values)
