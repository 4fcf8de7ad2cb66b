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
    # the chips read their own items; the region route's catalogues stay for the clay maps of the three regions
    "tziolas2020_published": {"sentinel1", "sentinel2", "lucas"},
    "zhang2022": {"dem", "climate", "mcd12q2", "mod09ga", "lucas"},
    "tsagkatakis2021": {"ismn", "smap_l1c_tb", "smap_l2_sm", "smap_l2_sm_sp"},
}


def dry_run(workdir: Path, study: Path) -> subprocess.CompletedProcess:
    """`snakemake -n --configfile study` in a scratch folder, with no CDSE credentials in the environment."""
    shutil.copy(ROOT / "config.yaml", workdir / "config.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDSE_", "EARTHDATA_"))}
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


def test_the_studies_are_there():
    """The four papers, and Tziolas (2020) at its published scale on chips."""
    assert [p.stem for p in STUDIES] == [
        "simonsen2021",
        "tsagkatakis2021",
        "tziolas2020",
        "tziolas2020_published",
        "zhang2022",
    ]


@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.stem)
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


def test_nasa_studies_search_their_products_over_the_papers_years(tmp_path):
    """Zhang's MODIS granules are searched over the ten phenology years 2002-2011, Tsagkatakis' SMAP over September
    2020; neither study reads Sentinel-1 or -2."""
    from soilsat.acquire.sources import method_sources, search_period

    zhang = yaml.safe_load((ROOT / "studies" / "zhang2022.yaml").read_text())
    filled = schema_filled(zhang)
    assert search_period(filled, "mcd12q2") == {"start": "2002-01-01", "end": "2011-12-31"}
    assert search_period(filled, "lucas") == {"start": "2011-01-01", "end": "2011-12-31"}
    assert "sentinel2" not in method_sources(filled)
    tsagkatakis = schema_filled(yaml.safe_load((ROOT / "studies" / "tsagkatakis2021.yaml").read_text()))
    assert search_period(tsagkatakis, "smap_l1c_tb") == {"start": "2020-09-01", "end": "2020-09-30"}
    assert not {"sentinel1", "sentinel2"} & set(method_sources(tsagkatakis))


def test_a_period_before_the_product_is_refused_naming_the_key():
    from soilsat.acquire.sources import check_inputs
    from soilsat.errors import ConfigError

    study = schema_filled(yaml.safe_load((ROOT / "studies" / "tsagkatakis2021.yaml").read_text()))
    study["period"] = {"start": "2014-09-01", "end": "2014-09-30"}
    with pytest.raises(ConfigError, match="config key period.start: the study reads smap_l1c_tb from 2014-09-01"):
        check_inputs(study)
    zhang = schema_filled(yaml.safe_load((ROOT / "studies" / "zhang2022.yaml").read_text()))
    zhang["extract"]["windows"]["last_year"] = 2005
    with pytest.raises(ConfigError, match="extract.windows.last_year/years: the study reads mcd12q2 from 1996-01-01"):
        check_inputs(zhang)


def schema_filled(config: dict) -> dict:
    """A study config with the schema's defaults filled in."""
    from snakemake.utils import validate

    validate(config, str(ROOT / "rules" / "schemas" / "config.schema.yaml"))
    return config
