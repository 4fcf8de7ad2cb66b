"""The demo chip archive of a rehearsal on chips: its loopback server answers byte ranges as an archive does, its
items' local hrefs become the server's URLs, and the setting is refused outside a demo run on chips."""

from __future__ import annotations

import pytest
import requests
import yaml
from snakemake.utils import validate

from conftest import ROOT, schema_defaults
from soilsat.config import check_chips
from soilsat.demo.chip_archive import serve_folder, served_hrefs, served_items
from soilsat.errors import ConfigError

SCHEMA = str(ROOT / "rules" / "schemas" / "config.schema.yaml")


def test_the_server_answers_whole_files_ranges_and_404(tmp_path):
    (tmp_path / "a.SAFE").mkdir()
    (tmp_path / "a.SAFE" / "B04.jp2").write_bytes(bytes(range(100)))
    (tmp_path.parent / "outside.txt").write_text("secret")
    with serve_folder(tmp_path) as url:
        whole = requests.get(f"{url}/a.SAFE/B04.jp2", timeout=5)
        part = requests.get(f"{url}/a.SAFE/B04.jp2", headers={"Range": "bytes=10-19"}, timeout=5)
        head = requests.head(f"{url}/a.SAFE/B04.jp2", timeout=5)
        missing = requests.get(f"{url}/a.SAFE/B08.jp2", timeout=5)
        escaped = requests.get(f"{url}/../outside.txt", timeout=5)
    assert whole.status_code == 200 and whole.content == bytes(range(100))
    assert part.status_code == 206 and part.content == bytes(range(10, 20))
    assert part.headers["Content-Range"] == "bytes 10-19/100"
    assert head.status_code == 200 and head.headers["Content-Length"] == "100" and head.content == b""
    assert missing.status_code == 404 and escaped.status_code == 404


def test_local_hrefs_become_the_servers_urls_and_others_are_refused(tmp_path):
    item = {"id": "S2", "assets": {"B04_10m": {"href": str(tmp_path / "S2.SAFE" / "B04.jp2"), "file:size": 3}}}
    (served,) = served_hrefs([item], tmp_path, "http://127.0.0.1:1")
    assert served["assets"]["B04_10m"] == {"href": "http://127.0.0.1:1/S2.SAFE/B04.jp2", "file:size": 3}
    assert item["assets"]["B04_10m"]["href"] == str(tmp_path / "S2.SAFE" / "B04.jp2")  # the input is kept
    with pytest.raises(ValueError, match="S2: asset B04_10m .* is not in the demo chip archive"):
        served_hrefs([item], tmp_path / "elsewhere", "http://127.0.0.1:1")
    with served_items([item], None) as same:  # no demo chip archive: the items as they are
        assert same == [item]


def test_the_demo_chip_archive_needs_a_demo_run_on_chips():
    config = schema_defaults()
    config["demo"]["chip_archive"] = True
    config["provider"] = "cdse"
    with pytest.raises(ConfigError, match="got provider 'cdse'"):
        check_chips(config)
    config["provider"] = "demo"
    with pytest.raises(ConfigError, match="demo.chip_archive.*provider 'demo' and chips.enabled False"):
        check_chips(config)
    config["methods"] = ["tziolas2020"]
    config["chips"]["enabled"] = True
    check_chips(config)


def test_the_published_study_validates_and_reads_cdse():
    study = yaml.safe_load((ROOT / "studies" / "tziolas2020_published.yaml").read_text())
    validate(study, SCHEMA)
    check_chips(study)
    chips = study["chips"]
    assert chips["enabled"] and chips["sentinel2"]["collection"] == "sentinel-2-l2a"
    assert chips["sentinel1"] | {"items_file": None} == {
        "stac_api": "https://stac.dataspace.copernicus.eu/v1",
        "collection": "sentinel-1-grd",
        "items_file": None,
    }
    assert chips["s3"]["endpoint"] == "eodata.dataspace.copernicus.eu"
    assert study["lucas"]["clip_to_regions"] is False and study["lucas"]["year"] == 2009
    assert study["period"] == {"start": "2017-01-01", "end": "2019-12-31"}
    assert study["extract"]["samples"]["sentinel1_pair_days"] == 1
    # the models and their settings are the study's as published
    tziolas = yaml.safe_load((ROOT / "studies" / "tziolas2020.yaml").read_text())
    validate(tziolas, SCHEMA)
    assert study["train"] == tziolas["train"] and study["sentinel2"] == tziolas["sentinel2"]
