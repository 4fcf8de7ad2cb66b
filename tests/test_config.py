"""A bad configuration fails before any job runs, with a message naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_workflow


def write_config(tmp_path, change) -> None:
    config = yaml.safe_load((ROOT / "tests" / "configs" / "tiny.yaml").read_text())
    change(config)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda c: c["regions"][0].pop("lat"), "'lat' is a required property"),
        (lambda c: c["grid"].update(resolution="ten"), "resolution"),
        (lambda c: c["demo"].update(preset="huge"), "preset"),
        (lambda c: c["period"].update(start="2020-06-01", end="2020-05-01"), "period.end"),
        (lambda c: c.update(sentinal1={"polarisations": ["VV"]}), "sentinal1"),
        (lambda c: c["regions"].append(dict(c["regions"][0])), "duplicate region names"),
        (
            lambda c: c.update(chips={"enabled": True, "sentinel1": {"items_file": "s1.geojson"}}),
            "chips.sentinel1.collection and chips.sentinel1.items_file: set exactly one",
        ),
    ],
    ids=[
        "missing-key",
        "wrong-type",
        "unknown-preset",
        "end-before-start",
        "misspelt-key",
        "duplicate-region",
        "chips-two-sources",
    ],
)
def test_bad_config_fails_before_any_job(tmp_path, change, expected):
    write_config(tmp_path, change)
    proc = run_workflow(tmp_path, "--dry-run", check=False)
    assert proc.returncode != 0
    assert expected in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "resources").exists()


def test_defaults_fill_missing_sections(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"study": "minimal"}))
    proc = run_workflow(tmp_path, "--dry-run", check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "demo_world" in proc.stdout


def test_every_schema_key_has_type_description_default():
    schema = yaml.safe_load((ROOT / "rules" / "schemas" / "config.schema.yaml").read_text())

    def walk(node, path):
        for key, sub in node.get("properties", {}).items():
            where = f"{path}.{key}".lstrip(".")
            assert "type" in sub, f"{where} has no type"
            assert sub.get("description"), f"{where} has no description"
            assert "default" in sub, f"{where} has no default"
            walk(sub, where)
            if "items" in sub:
                walk(sub["items"], where + "[]")

    walk(schema, "")


def test_workflow_lints_clean_and_is_snakefmt_formatted():
    """`snakemake --lint` finds nothing and `snakefmt --check` would change no file (issue 2)."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "snakefmt").exists():
        pytest.skip(f"snakefmt not found in {bin_dir}")
    lint = subprocess.run(
        [str(bin_dir / "snakemake"), "--lint", "--workflow-profile", "none"], capture_output=True, text=True, cwd=ROOT
    )
    assert "Congratulations, your workflow is in a good condition!" in lint.stdout + lint.stderr, lint.stdout[-3000:]
    fmt = subprocess.run([str(bin_dir / "snakefmt"), "--check", "."], capture_output=True, text=True, cwd=ROOT)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
