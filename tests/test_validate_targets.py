"""`rule all` asks for each study's validation section (issue 24): a dry run of every study schedules its rules."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import ROOT
from test_studies import STUDIES, dry_run

# The validation rules of each method; triple collocation where the study has an independent product, AOA figures
# where it writes maps, the protocol comparison where the paper names a protocol of a map forest.
RULES = {
    "simonsen2021": {
        "validate_probes",
        "figure_validation_strata",
        "figure_triple_collocation",
        "calibrate_map",
        "interval_coverage",
        "figure_coverage",
        "validation_protocols",
        "figure_protocols",
        "figure_aoa_ssm",
        "qa4sm_export",
    },
    "tziolas2020": {
        "validate_samples",
        "figure_validation_strata",
        "calibrate_map",
        "interval_coverage",
        "figure_coverage",
        "validation_protocols",
        "figure_protocols",
        "figure_aoa",
    },
    "tsagkatakis2021": {
        "validate_probes",
        "figure_validation_strata",
        "figure_triple_collocation",
        "interval_coverage",
        "figure_coverage",
        "qa4sm_export",
    },
}
RULES["zhang2022"] = RULES["tziolas2020"]
VALIDATION_RULES = set().union(*RULES.values())


def scheduled(stdout: str) -> set[str]:
    """The rules a dry run's plan holds."""
    return set(re.findall(r"^(?:local)?rule (\w+):", stdout, flags=re.MULTILINE))


@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.stem)
def test_every_study_builds_its_validation_section(study, tmp_path):
    proc = dry_run(tmp_path, study)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    methods = yaml.safe_load(study.read_text())["methods"]  # tziolas2020_published runs the tziolas2020 method
    assert scheduled(proc.stdout) & VALIDATION_RULES == set().union(*(RULES[m] for m in methods))


def test_the_tiny_world_validates_all_four_methods(tmp_path):
    proc = dry_run(tmp_path, ROOT / "tests" / "configs" / "tiny.yaml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert scheduled(proc.stdout) >= VALIDATION_RULES
    for method in RULES:
        assert f"results/tiny/figures/validation/{method}/coverage.png" in proc.stdout, method
    assert "results/tiny/qa4sm/simonsen2021.nc" in proc.stdout


def test_targets_follow_each_methods_data():
    from soilsat.evaluate.targets import validation_targets

    products = {"simonsen2021": [], "tsagkatakis2021": ["spl2smap_s"]}
    targets = validation_targets(["simonsen2021", "tsagkatakis2021", "zhang2022"], "r", ["a", "b"], products)
    assert "r/figures/validation/simonsen2021/triple_collocation.png" not in targets  # no independent product
    assert "r/figures/validation/tsagkatakis2021/triple_collocation.png" in targets
    assert {"r/qa4sm/simonsen2021.nc", "r/qa4sm/tsagkatakis2021.nc"} <= set(targets)
    assert {"r/figures/validation/aoa_ssm_a", "r/figures/validation/aoa_soc_b.png"} <= set(targets)
    assert "r/validation/tsagkatakis2021/protocols.csv" not in targets  # no map, so no map forest to compare
    assert len([t for t in targets if "/aoa_" in t]) == 4  # two mapping methods in two regions
    assert "r/validation/zhang2022/scores.csv" in targets and "r/qa4sm/zhang2022.nc" not in targets
    assert len(targets) == len(set(targets))
