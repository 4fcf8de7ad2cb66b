"""STAC Items beside the Sentinel-1 and Sentinel-2 output COGs and the study's Collection (soilsat.stac): validated
offline against the vendored schemas, and opened with pystac and odc-stac as the README shows."""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import rasterio

from soilsat.io import read_bands, write_cog
from soilsat.sar import engine, graph
from soilsat.stac import validation
from soilsat.stac.collection import write_study
from soilsat.stac.items import EXTENSIONS, sentinel1_item, sentinel2_item, write_item
from test_sar_graph import sentinel1_settings

ROOT = Path(__file__).resolve().parents[1]
S2_NAME = "S2A_MSIL2A_20200404T103021_N0214_R108_T32UMG_20200404T131214"


@pytest.fixture(scope="module")
def study(s1_demo_world, tmp_path_factory):
    """A study folder as the workflow leaves it: results/demo/sentinel1/t/<product>.tif with graph and Item (gamma0
    with the CEOS-ARD layers), one Sentinel-2 COG with its Item, and the study's Collection."""
    root, region, records = s1_demo_world
    work = tmp_path_factory.mktemp("stac")
    results = work / "results" / "demo"
    s1 = results / "sentinel1" / "t"
    s1.mkdir(parents=True)
    items = []
    for rec in records:
        product = root / "archive" / rec["path"]
        out = s1 / f"{rec['name']}.tif"
        xml = graph.build_graph(
            product, out.with_suffix(".dim"), region.grid, root / "dem" / "dem_t.tif",
            sentinel1_settings(radiometry="gamma0", ard_layers=True),
        )  # fmt: skip
        g = s1 / f"{rec['name']}.graph.xml"
        graph.write_graph(g, xml)
        engine.run_graph(g, region.grid, out, tags={"region": "t"})
        write_item(sentinel1_item(out, out.with_suffix(".json"), g, product), out.with_suffix(".json"))
        items.append(out.with_suffix(".json"))
    s2 = results / "sentinel2" / "t"
    s2.mkdir(parents=True)
    raster = s2 / f"{S2_NAME}.tif"
    names = ["B02", "B03", "B04", "B8A", "B11", "B12", "NDVI", "bare", "valid"]
    values = np.stack([np.full(region.grid.shape, 0.05 * (k + 1), np.float32) for k in range(len(names))])
    write_cog(
        raster, values, region.grid, names,
        tags={"product": S2_NAME, "sensing_time": "2020-04-04T10:30:21.024Z", "baseline": "02.14", "region": "t",
              "valid_fraction": "0.9731"},
    )  # fmt: skip
    write_item(sentinel2_item(raster, raster.with_suffix(".json")), raster.with_suffix(".json"))
    paths = write_study(
        "demo",
        "the test study",
        {("sentinel1", "t"): items, ("sentinel2", "t"): [raster.with_suffix(".json")]},
        results / "stac",
    )
    return work, results, items, paths


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_sentinel1_item_fills_the_extensions_from_the_product_and_the_graph(study, s1_demo_world):
    _, results, items, _ = study
    item = load(items[0])
    validation.validate(item)
    assert item["stac_extensions"] == [EXTENSIONS[k] for k in ("sar", "sat", "proj", "raster", "eo", "ceos-ard")]
    p = item["properties"]
    rec = s1_demo_world[2][0]
    assert p["sar:instrument_mode"] == "IW" and p["sar:frequency_band"] == "C" and p["sar:product_type"] == "GRD"
    assert p["sar:polarizations"] == ["VV", "VH"] and p["platform"] == "sentinel-1a"
    assert p["sat:orbit_state"] == rec["orbit_direction"].lower() and p["sat:relative_orbit"] == rec["relative_orbit"]
    assert p["sat:absolute_orbit"] == rec["absolute_orbit"]
    assert (p["ceosard:type"], p["ceosard:specification"], p["soilsat:radiometry"]) == ("radar", "NRB", "gamma0")
    assert p["soilsat:speckle_filter"] == "Lee Sigma 7x7, target 3x3, sigma 0.9, looks 1"
    with rasterio.open(items[0].with_suffix(".tif")) as src:
        assert p["proj:epsg"] == src.crs.to_epsg() and p["proj:shape"] == [src.height, src.width]
        assert p["proj:transform"] == list(src.transform)[:6]
        names = list(src.descriptions)
    data = item["assets"]["data"]
    assert [b["name"] for b in data["eo:bands"]] == names and len(data["raster:bands"]) == len(names)
    units = {b["name"]: r.get("unit") for b, r in zip(data["eo:bands"], data["raster:bands"])}
    assert units["scattering_area"] == "m2" and units["incidence_angle"] == "degree"
    assert {"local-incidence-angle", "data-mask", "noise-power", "contributing-area"} <= set(data["roles"])
    assert data["href"] == items[0].with_suffix(".tif").name
    assert item["assets"]["graph"]["href"] == items[0].name.replace(".json", ".graph.xml")
    rels = {link["rel"]: link for link in item["links"]}
    assert rels["ceos-ard-specification"]["type"] == "application/pdf"
    assert rels["derived_from"]["title"] == f"{rec['name']}.zip"
    assert (items[0].parent / rels["derived_from"]["href"]).resolve() == (
        s1_demo_world[0] / "archive" / rec["path"]
    ).resolve()


def test_sentinel2_item(study):
    _, results, _, _ = study
    item = load(results / "sentinel2" / "t" / f"{S2_NAME}.json")
    validation.validate(item)
    p = item["properties"]
    assert p["platform"] == "sentinel-2a" and p["sat:relative_orbit"] == 108 and p["ceosard:type"] == "optical"
    bands = item["assets"]["data"]["eo:bands"]
    assert bands[0] == {"name": "B02", "common_name": "blue", "center_wavelength": 0.49}
    assert bands[-1] == {"name": "valid"}


def test_validation_is_offline_and_names_what_is_wrong(study):
    _, _, items, paths = study
    item = load(items[0])
    bad = copy.deepcopy(item)
    bad["properties"]["sar:frequency_band"] = "Q"
    bad["properties"].pop("datetime")
    found = validation.errors(bad)
    assert any("sar/v1.0.0" in e and "sar:frequency_band" in e for e in found)
    assert any("item.json" in e for e in found)
    bad = copy.deepcopy(item)
    bad["links"] = [link for link in bad["links"] if link["rel"] != "ceos-ard-specification"]
    assert any("ceos-ard/v0.2.0" in e for e in validation.errors(bad))
    bad = copy.deepcopy(item)
    bad["stac_extensions"].append("https://stac-extensions.github.io/file/v2.1.0/schema.json")
    assert any("no vendored schema" in e for e in validation.errors(bad))
    for path in paths:
        validation.validate(load(path))
    # every schema a document refers to is here: none is fetched
    registry = validation.registry()
    for url in [*EXTENSIONS.values(), *validation.CORE.values()]:
        assert registry.contents(url)


def test_the_study_collection_links_every_item(study):
    _, results, items, paths = study
    root, children = load(paths[0]), [load(p) for p in paths[1:]]
    assert root["id"] == "demo" and [c["id"] for c in children] == ["sentinel1-t", "sentinel2-t"]
    linked = {
        (p.parent / link["href"]).resolve()
        for p, c in zip(paths[1:], children)
        for link in c["links"]
        if link["rel"] == "item"
    }
    assert linked == {i.resolve() for i in items} | {(results / "sentinel2" / "t" / f"{S2_NAME}.json").resolve()}
    assert children[0]["summaries"]["soilsat:radiometry"] == ["gamma0"]


def readme_snippet() -> str:
    """The README's Python block that opens a study with odc-stac (the one after its 'tested' marker)."""
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- tested by tests/test_stac.py -->\s*```python\n(.*?)```", text, re.S)
    assert m, "README lacks the STAC snippet"
    return m.group(1)


def test_the_readme_opens_a_study_with_odc_stac(study, monkeypatch):
    work, results, items, _ = study
    code = readme_snippet()
    assert len([line for line in code.splitlines() if line.strip() and not line.startswith("#")]) == 3
    monkeypatch.chdir(work)
    namespace: dict = {}
    # the test study is gamma0 on the grid of region t; the README shows the demo's sigma0 on skjern
    exec(compile(code.replace("skjern", "t").replace("sigma0_VV", "gamma0_VV"), "README.md", "exec"), namespace)
    data = namespace["data"]
    assert data.sizes["time"] == len(items)
    first = sorted(items, key=lambda p: load(p)["properties"]["datetime"])[0]
    expected = read_bands(first.with_suffix(".tif"))
    for band in data.data_vars:
        np.testing.assert_array_equal(data[band].isel(time=0).values, expected[band])
    assert os.getcwd() == str(work)
