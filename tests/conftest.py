"""Shared fixtures: paths of the project, the real-data fixtures and a runner for the workflow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def run_workflow(workdir: Path, *args: str, configfile: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
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
