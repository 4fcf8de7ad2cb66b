"""benchmarks/point_scale.py on a handful of points in three UTM zones (nothing timed is asserted): the JSON it
reports, its byte accounting against what the loopback server sent, and the samples the workflow's chain pairs."""

from __future__ import annotations

import json
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

from soilsat.demo.world import RegionSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import point_scale  # noqa: E402  # benchmarks/point_scale.py, on the path just above

REGIONS = (
    RegionSpec("castilla", -3.5, 40.5, 1500.0, "semiarid"),
    RegionSpec("beauce", 1.9, 48.2, 1500.0, "humid"),
    RegionSpec("jutland", 8.95, 55.95, 1500.0, "humid"),
)
KEYS = {
    "points",
    "wall_s",
    "bytes_read",
    "bytes_whole_products",
    "bytes_ratio",
    "scaling_exponent",
    "extrapolated_full_s",
    "machine",
}


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> dict:
    """The benchmark's JSON for 3 and 6 points over a 17-day demo archive of three regions."""
    root = tmp_path_factory.mktemp("point_scale")
    archive = point_scale.build_archive(root, REGIONS, date(2020, 4, 1), date(2020, 4, 17), 2000.0, 256)
    return json.loads(json.dumps(point_scale.benchmark(archive, [3, 6], point_scale.Assumptions())))


def test_the_json_holds_the_issues_keys_per_point_count(result):
    assert KEYS <= set(result)
    assert result["points"] == [3, 6]
    for key in ("wall_s", "bytes_read", "bytes_whole_products", "bytes_ratio", "point_observations"):
        assert len(result[key]) == 2, key
    assert isinstance(result["scaling_exponent"], float) and result["extrapolated_full_s"] > 0
    assert len(result["demo"]["utm_epsg"]) == 3


def test_bytes_read_are_the_bytes_the_server_sent(result):
    assert result["bytes_read"] == result["bytes_served"]
    for run in result["runs"]:
        assert run["bytes_read"] == run["bytes_s2"] + run["bytes_s1"] > 0
        assert run["point_observations"] > 0 and run["bytes_s2"] > 0
    peer = result["runs"][0]
    assert peer["whole_download_bytes"] == peer["bytes_whole_products"]  # the peer downloads what file:size states
    assert sum(run["s1_chips"] for run in result["runs"]) > 0  # the Sentinel-1 half of the chain ran


def test_the_chain_ends_in_samples_paired_with_sentinel1(result):
    for run in result["runs"]:
        assert run["point_observations"] >= run["clear_observations"] >= run["bare_observations"] >= run["samples"]
        assert run["samples_with_s1"] <= run["s1_pairs"] <= run["bare_observations"]
        assert run["s1_products"] <= run["s1_chips"]  # one chip per point and product read
    assert sum(run["samples"] for run in result["runs"]) > 0
    assert sum(run["samples_with_s1"] for run in result["runs"]) > 0  # pair_observations found the chips' VV/VH


def test_chips_cost_a_fraction_of_the_whole_products(result):
    # the demo's products are a few km across, so a few chips are a sizeable share of them; the published study's
    # ratio is priced from an isolated chip's bytes, a file's first answer shared by the points of a job
    assert all(ratio < 0.5 for ratio in result["bytes_ratio"])
    full = result["extrapolation"]
    assert full["published_bytes_ratio"] == round(
        full["published_bytes_read"] / full["published_bytes_whole_products"], 4
    )
    assert 0 < full["published_bytes_ratio"] < full["published_bytes_ratio_unshared"]


def test_sentinel1_chips_are_priced_on_a_whole_product(s1_demo_world, tmp_path):
    root, _, records = s1_demo_world
    with zipfile.ZipFile(root / "archive" / records[0]["path"]) as z:
        z.extractall(tmp_path)
    safe = tmp_path / f"{records[0]['name']}.SAFE"
    points = point_scale.footprint_points(safe, 3)
    assert len(points) == 3 and points["point_id"].is_unique
    got = point_scale.full_size_s1(safe, 3, point_scale.load_settings())
    assert got["product_bytes"] == sum(f.stat().st_size for f in safe.rglob("*") if f.is_file())
    assert got["chips"] == 3 and got["valid_chips"] >= 1
    assert got["bytes_read"] == pytest.approx(3 * got["bytes_measurement_per_chip"] + got["bytes_metadata"])
    assert got["bytes_read"] < got["product_bytes"]
    assert got["bytes_metadata"] > 0 and got["bytes_measurement_per_chip"] > 0
