"""Every study config validates and dry-runs up to its search checkpoints without network or credentials."""

from __future__ import annotations

import json
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


def dry_run(workdir: Path, study: Path, *args: str) -> subprocess.CompletedProcess:
    """`snakemake -n [args] --configfile study` in a scratch folder, with no CDSE credentials in the environment."""
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
        *args,
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


def test_published_chips_fetch_the_orbit_file_of_each_sentinel1_product_they_read(tmp_path):
    """Once a batch's Sentinel-1 requests are known, its chip job waits for the precise orbit file of each product it
    reads, fetched by the region route's fetch_orbit rule into the provider's orbits folder."""
    study = ROOT / "studies" / "tziolas2020_published.yaml"
    results, resources = tmp_path / "results" / "tziolas2020_published", tmp_path / "resources" / "cdse"
    products = [
        "S1A_IW_GRDH_1SDV_20170412T053223_20170412T053248_016124_01AB3C_1D2E",
        "S1B_IW_GRDH_1SDV_20170418T053141_20170418T053206_005203_0091C1_7A0F",
    ]
    made = [  # every file upstream of batch 0's Sentinel-1 chips, in the order the workflow makes them
        (results / "catalog" / "lucas.csv", "name\n"),
        (results / "catalog" / "dem.csv", "name\n"),
        (resources / "tziolas2020_published" / "lucas", "lucas.csv"),  # fetch_ancillary's folders
        (resources / "tziolas2020_published" / "dem", "dem.tif"),
        (results / "chips" / "points.csv", "point_id,lon,lat,epsg,region,batch\np1,1.7,48.2,32631,beauce,0\n"),
        (results / "chips" / "items" / "sentinel1.json", "[]\n"),
        (results / "chips" / "items" / "sentinel2.json", "[]\n"),
        (results / "chips" / "sentinel2" / "batch_0.parquet", ""),
        (results / "chips" / "sentinel2" / "batch_0_costs.csv", ""),
        (results / "chips" / "sentinel1" / "batch_0_requests.json", json.dumps({p: ["p1"] for p in products})),
    ]
    for age, (path, text) in enumerate(reversed(made)):
        if path.suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        else:
            path.mkdir(parents=True)
            (path / text).write_text("")
        os.utime(path, (1.7e9 - 60 * age, 1.7e9 - 60 * age))
    target = "results/tziolas2020_published/chips/sentinel1/batch_0.parquet"
    proc = dry_run(tmp_path, study, target, "--rerun-triggers", "mtime")  # the files made here have no provenance
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    planned = [line.split("output:")[1].strip() for line in proc.stdout.splitlines() if "output:" in line]
    assert sorted(p for p in planned if "/orbits/" in p) == [f"resources/cdse/orbits/{p}.EOF" for p in products]
    assert any(p.startswith("results/tziolas2020_published/chips/sentinel1/batch_0.parquet") for p in planned)
    assert not any("catalog/sentinel1.csv" in p for p in planned)  # the orbits need the product names only
