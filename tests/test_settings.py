"""Config reaches code one way: settings dataclasses built from their config section, the schema holds the defaults."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from conftest import ROOT, schema_defaults, schema_section
from soilsat.acquire.download import RetryPolicy
from soilsat.demo.world import RegionSpec, WorldSpec
from soilsat.errors import ConfigError
from soilsat.evaluate.agreement import IntervalSettings
from soilsat.evaluate.anomalies import AnomalySettings
from soilsat.evaluate.blocks import BlockSettings
from soilsat.evaluate.conformal import ConformalSettings
from soilsat.evaluate.matching import MatchingSettings
from soilsat.extract.pairing import SampleSettings
from soilsat.extract.probes import Sigma0Settings
from soilsat.extract.windows import WindowSettings
from soilsat.models.forest import ForestSettings
from soilsat.models.simonsen.baselines import ChangeDetectionSettings, ClimatologySettings
from soilsat.models.simonsen.inputs import InputSettings
from soilsat.models.simonsen.lstm import LstmSettings
from soilsat.models.tsagkatakis.patches import PatchSettings
from soilsat.models.tsagkatakis.protocol import FusionSettings
from soilsat.models.tsagkatakis.scenes import SmapSettings
from soilsat.models.tziolas import protocol as tziolas
from soilsat.models.tziolas.forest import ForestGrid
from soilsat.models.tziolas.networks import NetworkSettings
from soilsat.models.zhang import protocol as zhang
from soilsat.models.zhang.network import CnnLstmSettings
from soilsat.optical.process import OpticalSettings
from soilsat.optical.sen2cor import Sen2CorSettings
from soilsat.sar.snap import SnapSettings
from soilsat.settings import Settings, as_tuples

PACKAGE = ROOT / "scripts" / "soilsat"
# Every settings class and the config sections it is built from (a section may feed several, a class several sections).
SECTIONS: list[tuple[str, type[Settings]]] = [
    ("train.inputs", InputSettings),
    *((f"{source}.retries", RetryPolicy) for source in ("cdse", "orbits", "weather", "dem", "csm", "ecv_sm")),
    ("earthdata.retries", RetryPolicy),
    ("sentinel1.snap", SnapSettings),
    ("train.lstm", LstmSettings),
    ("train.climatology", ClimatologySettings),
    ("train.change_detection", ChangeDetectionSettings),
    ("train.random_forest", ForestSettings),
    ("train.tziolas", tziolas.ProtocolSettings),
    ("train.tziolas", NetworkSettings),
    ("train.tziolas.ann", NetworkSettings),
    ("train.tziolas.random_forest", ForestGrid),
    ("train.zhang", zhang.ProtocolSettings),
    ("train.zhang", CnnLstmSettings),
    ("train.zhang.random_forest", ForestSettings),
    ("train.tsagkatakis", FusionSettings),
    ("train.tsagkatakis", PatchSettings),
    ("smap", SmapSettings),
    ("sentinel2", OpticalSettings),
    ("sentinel2.sen2cor", Sen2CorSettings),
    ("extract.sigma0", Sigma0Settings),
    ("extract.samples", SampleSettings),
    ("extract.windows", WindowSettings),
    ("validate", IntervalSettings),
    ("validate", MatchingSettings),
    ("validate.anomalies", AnomalySettings),
    ("validate.intervals", ConformalSettings),
    ("validate.blocked_cv", BlockSettings),
]
# Settings whose fields are not the keys of one section: they read the section themselves (from_config).
NESTED = {OpticalSettings}


def module_name(path: Path) -> str:
    """The dotted name of a module file of the package."""
    parts = ("soilsat", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def classes() -> list[tuple[str, ast.ClassDef]]:
    """(module, class) of every class defined at the top level of a module of scripts/soilsat."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [(module_name(path), node) for node in tree.body if isinstance(node, ast.ClassDef)]
    return found


def base_names(node: ast.ClassDef) -> set[str]:
    """The names of a class's bases, as written."""
    return {b.id if isinstance(b, ast.Name) else b.attr for b in node.bases if isinstance(b, ast.Name | ast.Attribute)}


@pytest.mark.parametrize(("section", "cls"), SECTIONS, ids=[f"{s}-{c.__name__}" for s, c in SECTIONS])
def test_every_settings_class_builds_from_the_schema_defaults_of_its_section(section, cls):
    defaults = schema_section(section)
    settings = cls.from_config(defaults)
    if cls not in NESTED:
        for field in dataclasses.fields(cls):
            assert getattr(settings, field.name) == as_tuples(defaults[field.name]), (section, field.name)


@pytest.mark.parametrize("cls", sorted({c for _, c in SECTIONS}, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_settings_fields_have_no_default_the_schema_holds_them(cls):
    assert dataclasses.is_dataclass(cls) and issubclass(cls, Settings)
    defaulted = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    ]
    assert defaulted == [], f"{cls.__name__} has defaults for {defaulted}; the schema is where defaults live"


def test_every_settings_class_of_the_package_is_checked_here():
    listed = {f"{c.__module__}.{c.__qualname__}" for _, c in SECTIONS}
    found = {f"{module}.{node.name}" for module, node in classes() if "Settings" in base_names(node)}
    assert found == listed


def test_settings_are_built_one_way():
    others = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        if module == "soilsat.settings":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name == "settings_from_config":
                others.append(f"{module}.{node.name}")
            if isinstance(node, ast.ClassDef) and "Settings" not in base_names(node):
                others += [
                    f"{module}.{node.name}.from_config"
                    for item in node.body
                    if isinstance(item, ast.FunctionDef) and item.name == "from_config"
                ]
    # WorldSpec reads four sections (period, regions, grid, demo) and the demo presets; its test is below.
    assert others == ["soilsat.demo.world.WorldSpec.from_config"]


def test_a_section_without_a_key_names_the_class_and_the_key():
    section = schema_section("train.lstm")
    del section["units"]
    with pytest.raises(ConfigError, match=r"LstmSettings: the config section lacks the keys \['units'\]"):
        LstmSettings.from_config(section)


def test_world_spec_defaults_are_the_schemas_with_the_default_preset():
    config = schema_defaults()
    assert config["demo"]["preset"] == "default"
    from_schema = WorldSpec.from_config(config)
    by_default = WorldSpec(regions=from_schema.regions, start=from_schema.start, end=from_schema.end)
    defaulted = [f.name for f in dataclasses.fields(WorldSpec) if f.default is not dataclasses.MISSING]
    assert defaulted and all(getattr(by_default, name) == getattr(from_schema, name) for name in defaulted)


def test_world_spec_takes_the_demo_keys_set_over_its_preset():
    config = schema_defaults() | {"period": {"start": "2020-04-01", "end": "2020-05-20"}}
    config["demo"] |= {"preset": "tiny", "s2_revisit_days": 7, "seed": 3}
    config["regions"] = [{"name": "a", "lon": 8.95, "lat": 55.95, "size_m": 1500, "climate": "humid"}]
    spec = WorldSpec.from_config(config)
    assert spec.regions == (RegionSpec("a", 8.95, 55.95, 1500, "humid", None),)
    assert (spec.start, spec.end, spec.seed, spec.s2_revisit_days) == (dt.date(2020, 4, 1), dt.date(2020, 5, 20), 3, 7)
    assert (spec.probes_per_region, spec.lucas_samples, spec.cloud_fraction) == (4, 40, 0.2)  # the tiny preset
