"""Report captions: every rules/report/*.rst renders through Jinja and docutils without a warning, for the demo,
the tiny test world and each study file (a stray |word| or a broken table shows as red text in the report)."""

from __future__ import annotations

import io
from pathlib import Path

import docutils.core
import jinja2
import pytest
import yaml
from snakemake.utils import validate

from conftest import ROOT

CAPTIONS = sorted((ROOT / "rules" / "report").glob("*.rst"))
CONFIGS = [ROOT / "config.yaml", ROOT / "tests" / "configs" / "tiny.yaml", *sorted((ROOT / "studies").glob("*.yaml"))]


class Anything(str):
    """A stand-in for a rule's input, output or wildcards: any attribute or item is a path-like name."""

    def __new__(cls, name: str = "value") -> Anything:
        return super().__new__(cls, name)

    def __getattr__(self, name: str) -> Anything:
        return Anything(f"{self}/{name}")

    def __getitem__(self, key: object) -> Anything:  # type: ignore[override]  # names, not characters
        return Anything(f"{self}/{key}")

    def __iter__(self):  # type: ignore[override]  # a list of two names, as a rule's inputs
        return iter([Anything(f"{self}/0"), Anything(f"{self}/1")])


class Job:
    """What a caption sees as `snakemake`: the validated config and stand-ins for the rest."""

    def __init__(self, config: dict):
        self.config = config
        self.input, self.output, self.wildcards, self.params = (Anything(n) for n in ("in", "out", "w", "p"))


def validated(path: Path) -> dict:
    """A config file filled with the schema's defaults."""
    config = yaml.safe_load(path.read_text())
    validate(config, str(ROOT / "rules" / "schemas" / "config.schema.yaml"))
    return config


def docutils_warnings(text: str) -> str:
    """docutils' warnings and errors on a reStructuredText text."""
    stream = io.StringIO()
    docutils.core.publish_string(text, writer="null", settings_overrides={"warning_stream": stream, "report_level": 2})
    return stream.getvalue()


@pytest.mark.parametrize("config_path", CONFIGS, ids=lambda p: p.stem)
def test_every_caption_renders_without_a_docutils_warning(config_path):
    job = Job(validated(config_path))
    problems = {}
    for caption in CAPTIONS:
        text = jinja2.Template(caption.read_text()).render(snakemake=job)
        found = docutils_warnings(text)
        if found:
            problems[caption.name] = found
    assert problems == {}


def test_a_stray_substitution_is_caught():
    assert "Undefined substitution" in docutils_warnings("scores |error| / spread")
