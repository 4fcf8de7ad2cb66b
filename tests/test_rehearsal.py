"""Rehearsals: every study file runs end to end offline, and its overlay can change nothing but the listed keys."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from snakemake.utils import validate

from conftest import ROOT, run_workflow
from soilsat.cf_netcdf import open_dataset
from soilsat.errors import ConfigError
from soilsat.rehearsal import allowed, check_overlay, differences

SCHEMA = str(ROOT / "rules" / "schemas" / "config.schema.yaml")
METHODS = {"tziolas2020_published": "tziolas2020"}  # a study's method, where the study is a variant of its paper
STUDIES = ["simonsen2021", "tsagkatakis2021", "tziolas2020", "tziolas2020_published", "zhang2022"]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def merged(*configs: dict) -> dict:
    """Configs merged as Snakemake merges several --configfile: mappings deeply, anything else replaced."""
    out: dict = {}
    for config in configs:
        out = _update(out, config)
    return out


def _update(base: dict, new: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in new.items():
        out[key] = _update(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def filled(config: dict) -> dict:
    config = copy.deepcopy(config)
    validate(config, SCHEMA)
    return config


@pytest.mark.parametrize("study", STUDIES)
def test_overlay_changes_only_the_rehearsal_keys(study):
    file = load(ROOT / "studies" / f"{study}.yaml")
    rehearsal = filled(merged(file, load(ROOT / "studies" / "rehearsals" / f"{study}.yaml")))
    changed = list(differences(filled(file), rehearsal))
    assert changed and all(allowed(key) for key in changed), changed
    assert {key.split(".")[0].split("[")[0] for key in changed} <= {
        "study",
        "provider",
        "demo",
        "rehearsal",
        "regions",
        "period",
        "train",
    }
    check_overlay(filled(file), rehearsal)
    assert rehearsal["study"] == f"{study}-rehearsal" and rehearsal["provider"] == "demo"
    assert rehearsal["rehearsal"]["study_file"] == f"studies/{study}.yaml"
    # the world follows the study: same regions, centres, climates and networks, same period start
    for ours, theirs in zip(rehearsal["regions"], filled(file)["regions"]):
        assert {k: v for k, v in ours.items() if k != "size_m"} == {k: v for k, v in theirs.items() if k != "size_m"}
    assert rehearsal["period"]["start"] == file["period"]["start"]


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        (("sentinel1", "polarisations"), ["VV", "VH"], "sentinel1.polarisations"),
        (("train", "lstm", "units"), 8, "train.lstm.units"),
        (("regions",), None, "regions[0].lon"),
        (("period", "start"), "2016-10-01", "period.start"),
    ],
)
def test_an_overlay_that_changes_a_study_key_is_refused_naming_it(key, value, named):
    file = filled(load(ROOT / "studies" / "simonsen2021.yaml"))
    rehearsal = filled(
        merged(
            load(ROOT / "studies" / "simonsen2021.yaml"), load(ROOT / "studies" / "rehearsals" / "simonsen2021.yaml")
        )
    )
    if key == ("regions",):
        rehearsal["regions"][0]["lon"] += 0.5
    else:
        node = rehearsal
        for part in key[:-1]:
            node = node[part]
        node[key[-1]] = value
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        check_overlay(file, rehearsal)


def test_a_bad_overlay_stops_the_workflow_before_any_job(tmp_path):
    overlay = load(ROOT / "studies" / "rehearsals" / "zhang2022.yaml")
    overlay["rehearsal"]["study_file"] = str(ROOT / "studies" / "zhang2022.yaml")
    overlay["extract"] = {"windows": {"size": 3}}
    path = tmp_path / "overlay.yaml"
    path.write_text(yaml.safe_dump(overlay))
    proc = run_workflow(
        tmp_path, "-n", "--configfile", str(ROOT / "studies" / "zhang2022.yaml"), str(path), check=False
    )
    assert proc.returncode != 0
    assert "changes config keys a rehearsal must keep as the study file has them: extract.windows.size" in (
        proc.stdout + proc.stderr
    )
    assert not (tmp_path / "results").exists()


def test_an_unknown_study_name_is_refused():
    proc = subprocess.run(["make", "-s", "rehearse", "STUDY=simonsen2012"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "no study named 'simonsen2012'" in proc.stdout + proc.stderr
    assert "simonsen2021" in proc.stdout + proc.stderr


# Each rehearsal at a tiny scale: smaller regions, a shorter period, fewer epochs, repeats and trees than its
# overlay (all overlay keys), so that make test runs all four end to end in a few minutes.
TINY = {
    "simonsen2021": {
        "size_m": 800,
        "days": 45,
        "train": {"lstm": {"epochs": 2, "repeats": 2}, "random_forest": {"n_estimators": 20}},
    },
    "tziolas2020": {
        "size_m": 1200,
        "days": 120,
        "train": {"tziolas": {"epochs": 5, "ann": {"epochs": 5}, "random_forest": {"n_estimators": [20]}}},
    },
    "zhang2022": {
        "size_m": 1500,
        "days": 30,
        "train": {"zhang": {"repeats": 2, "epochs": 3, "random_forest": {"n_estimators": 20}}},
    },
    "tsagkatakis2021": {"size_m": 6000, "days": 29, "train": {"tsagkatakis": {"epochs": 3}}},
    "tziolas2020_published": {
        "size_m": 1200,
        "days": 75,
        "train": {"tziolas": {"epochs": 5, "ann": {"epochs": 5}, "random_forest": {"n_estimators": [20]}}},
        "demo": {"lucas_samples": 45},
    },
}


def tiny_overlay(study: str, folder: Path) -> Path:
    """The study's rehearsal overlay made tiny, written into `folder`."""
    overlay = load(ROOT / "studies" / "rehearsals" / f"{study}.yaml")
    file = load(ROOT / "studies" / f"{study}.yaml")
    scale = TINY[study]
    overlay["rehearsal"]["study_file"] = str(ROOT / "studies" / f"{study}.yaml")
    overlay["regions"] = [dict(region, size_m=scale["size_m"]) for region in overlay["regions"]]
    end = pd.Timestamp(file["period"]["start"]) + pd.Timedelta(days=scale["days"])
    overlay["period"] = {"end": f"{end:%Y-%m-%d}"}
    overlay["train"] = merged(overlay.get("train", {}), scale["train"])
    overlay["demo"] = merged(overlay.get("demo", {}), scale.get("demo", {}))
    path = folder / f"{study}-tiny.yaml"
    path.write_text(yaml.safe_dump(overlay, sort_keys=False))
    return path


@pytest.fixture(scope="module", params=STUDIES)
def tiny_rehearsal(request, tmp_path_factory) -> tuple[str, Path]:
    study = request.param
    workdir = tmp_path_factory.mktemp(f"rehearsal-{study}")
    overlay = tiny_overlay(study, workdir)
    run_workflow(workdir, "--configfile", str(ROOT / "studies" / f"{study}.yaml"), str(overlay))
    return study, workdir


@pytest.mark.e2e
def test_every_study_rehearses_end_to_end(tiny_rehearsal):
    study, workdir = tiny_rehearsal
    results = workdir / "results" / f"{study}-rehearsal"
    method = METHODS.get(study, study)
    table = (results / "tables" / f"paper_{method}.md").read_text()
    assert "a rehearsal of" in table and "on synthetic data" in table
    paper = pd.read_csv(results / "tables" / f"paper_{method}.csv")
    measured = paper.dropna(subset=["this run"])
    assert len(measured) >= 2, paper
    # the study's own outputs exist, and nothing of another study's method was made
    expected = {
        "simonsen2021": "metrics.csv",
        "tziolas2020": "figures/tziolas/observed_vs_predicted.png",
        "tziolas2020_published": "figures/tziolas/observed_vs_predicted.png",
        "zhang2022": "figures/zhang/repeats.png",
        "tsagkatakis2021": "figures/tsagkatakis/scatter.png",
    }
    assert (results / expected[study]).stat().st_size > 0
    others = {k: v for k, v in expected.items() if v != expected[study]}
    assert not any((results / path).exists() for path in others.values())
    log = "".join(p.read_text() for p in (workdir / "logs" / f"{study}-rehearsal").rglob("*.log"))
    if study == "tsagkatakis2021":  # SMAP files in their genuine layouts, the paper's network
        assert "sigma0 from smap_l2_sm_sp; fine grid of 1000 m" in log and "51617 trainable parameters" in log
        assert "validation held out by location" in log
        patches = open_dataset(results / "datasets" / "patches.nc")
        assert all(patches.attrs[f"{s}_products"] for s in ("smap_l1c_tb", "smap_l2_sm", "smap_l2_sm_sp"))
        assert not (workdir / "results" / f"{study}-rehearsal" / "index").exists()  # no Sentinel-1 processed
    if study == "zhang2022":  # MODIS files in their genuine layout, Table 1 on the 90 m grid
        assert "10 static, 10 years x 12 phenology metrics from mcd12q2" in log and "covariates at 90 m" in log
        covariates = open_dataset(results / "covariates" / "xuancheng.nc")
        assert covariates.attrs["mcd12q2_products"] and covariates.attrs["mod09ga_products"]
        assert list(covariates["year"].values) == list(range(2002, 2012))


@pytest.mark.e2e
def test_simonsen_rehearsal_is_the_thesis(tiny_rehearsal):
    study, workdir = tiny_rehearsal
    if study != "simonsen2021":
        pytest.skip("the thesis' checks")
    results = workdir / "results" / f"{study}-rehearsal"
    logs = workdir / "logs" / f"{study}-rehearsal" / "train"
    full = (logs / "lstm_full.log").read_text()
    inputs = full.split("inputs: ")[1].splitlines()[0].split(", ")
    onehot = [name for name in inputs if name.startswith("landcover_")]
    assert inputs == [
        "ts_max",
        "sigma0_vv",
        "ndvi",
        "ndwi",
        "precipitation",
        "dry_days",
        "tmin",
        "tmean",
        "tmax",
        "elevation",
        "slope",
        "aspect_x",
        "aspect_y",
        *onehot,
        "base_saturation",
        "clay",
        "silt",
        "sand",
        "organic_carbon",
    ]
    assert onehot and "sigma0_vh" not in full
    minimum = (logs / "lstm_minimum.log").read_text().split("inputs: ")[1].splitlines()[0].split(", ")
    assert minimum == inputs[:9] + onehot
    forest = (logs / "random_forest_minimum.log").read_text().split("inputs ")[1].splitlines()[0].split(", ")
    assert forest == minimum
    metrics = pd.read_csv(results / "metrics.csv")
    common = metrics[(metrics["rows"] == "common") & (metrics["scope"] == "all") & (metrics["level"] == "all")]
    assert {"csm", "ecv_sm", "lstm", "random_forest"} <= set(common["model"])
    assert common["n"].nunique() == 1


@pytest.mark.e2e
def test_published_tziolas_rehearsal_reads_point_chips_over_three_zones(tiny_rehearsal):
    study, workdir = tiny_rehearsal
    if study != "tziolas2020_published":
        pytest.skip("the published-scale Tziolas checks")
    results = workdir / "results" / f"{study}-rehearsal"
    samples = open_dataset(results / "datasets" / "samples.nc").load()
    zones = {int((lon + 180) // 6) + 1 for lon in samples["lon"].values}
    assert zones >= {31, 32, 34}, zones  # the study's regions: Beauce, the Po plain, Zazari
    points = pd.read_csv(results / "chips" / "points.csv", dtype={"point_id": str})
    assert set(points["epsg"]) == {32631, 32632, 32634}  # each point's chip in its own zone
    assert set(samples["sample"].values) <= set(points["point_id"])  # the samples come from the chips
    # every Sentinel-1 observation is paired with its Sentinel-2 one within the study's day
    paired = samples["s1_time"].notnull().values
    gap = np.abs(samples["s1_time"].values[paired] - samples["time"].values[paired])
    assert paired.sum() > 0 and (gap <= np.timedelta64(1, "D")).all(), gap.max()
    # the chips crossed a (loopback) wire, and the run says what they cost
    costs = pd.read_csv(results / "tables" / "chip_costs.csv").set_index("source")
    assert list(costs.index) == ["sentinel1", "sentinel2", "all"]
    assert (costs["bytes_read"] > 0).all() and (costs["point_observations"] > 0).all(), costs
