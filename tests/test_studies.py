"""Every study config validates and dry-runs up to its search checkpoints without network or credentials."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SNAKEMAKE

STUDIES = sorted((ROOT / "studies").glob("*.yaml"))
# What each study's dry run searches before its checkpoints resolve: the sources of its methods only
# (the Sentinel-1 stage's DEM joins once the Sentinel-1 catalog is known).
SOURCES = {
    "simonsen2021": {"sentinel1", "sentinel2", "ismn", "weather", "dem", "landcover", "soil", "csm", "ecv_sm"},
    "tziolas2020": {"sentinel1", "sentinel2", "lucas"},
    "zhang2022": {"sentinel2", "dem", "landcover", "soil", "lucas"},
}


def dry_run(workdir: Path, study: Path) -> subprocess.CompletedProcess:
    """`snakemake -n --configfile study` in a scratch folder, with no CDSE credentials in the environment."""
    shutil.copy(ROOT / "config.yaml", workdir / "config.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDSE_")}
    env |= {"PYTHONPATH": str(ROOT / "scripts"), "HOME": str(workdir), "NETRC": str(workdir / "no-netrc")}
    cmd = [
        str(SNAKEMAKE),
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "1",
        "-n",
        "--configfile",
        str(study),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def test_the_four_studies_are_there():
    assert [p.stem for p in STUDIES] == ["simonsen2021", "tsagkatakis2021", "tziolas2020", "zhang2022"]


@pytest.mark.parametrize("study", [p for p in STUDIES if p.stem != "tsagkatakis2021"], ids=lambda p: p.stem)
def test_study_dry_runs_to_its_search_checkpoints(study, tmp_path):
    proc = dry_run(tmp_path, study)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    config = yaml.safe_load(study.read_text())
    name = config["study"]
    searched = {
        line.split("catalog/")[1].removesuffix(".csv")
        for line in proc.stdout.splitlines()
        if f"results/{name}/catalog/" in line and "output:" in line
    }
    assert searched == SOURCES[name]
    assert "resources/cdse/" in proc.stdout and "demo_world" not in proc.stdout


def test_study_configs_hold_no_credentials():
    for study in STUDIES:
        text = study.read_text().lower()
        assert "password" not in text and "token" not in text and "cdse_username" not in text, study.name


def test_simonsen_matches_the_paper():
    config = yaml.safe_load((ROOT / "studies" / "simonsen2021.yaml").read_text())
    assert config["period"] == {"start": "2016-09-20", "end": "2019-02-19"}
    assert config["sentinel1"]["polarisations"] == ["VV"]
    assert set(config["ismn"]["networks"]) == {"HOBE", "FMI", "REMEDHUS", "ICOS"}


def test_smap_study_stops_with_a_clear_message(tmp_path):
    proc = dry_run(tmp_path, ROOT / "studies" / "tsagkatakis2021.yaml")
    assert proc.returncode != 0
    assert "config key smap.enabled: SMAP brightness temperatures (Tsagkatakis 2021) are not supported yet" in (
        proc.stdout + proc.stderr
    )
