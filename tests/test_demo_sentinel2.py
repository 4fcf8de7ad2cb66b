"""The demo Sentinel-2 generator: reflectance model, SAFE layout, naming, GDAL readability."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
import rasterio
from lxml import etree

from soilsat.demo import reflectance as rf
from soilsat.demo.sentinel2 import acquisition, demo_tile, mgrs_tile, write_products
from soilsat.demo.world import RegionSpec, WorldSpec, make_world, sentinel2_schedule

NAME = re.compile(r"^S2[AB]_MSIL(2A|1C)_(\d{8})T\d{6}_N0500_R\d{3}_T(\d{2}[A-Z]{3})_\d{8}T\d{6}$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    spec = WorldSpec(
        regions=(RegionSpec("t", 8.95, 55.95, 1500, "humid"),),
        start=dt.date(2020, 4, 1),
        end=dt.date(2020, 4, 30),
        probes_per_region=3,
        lucas_samples=10,
    )
    world = make_world(spec)
    root = tmp_path_factory.mktemp("s2demo")
    rows = write_products(world, spec, root / "archive", root / "truth", workers=1)
    return spec, world, root, rows


def _open(path: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        return rasterio.open(path)


@pytest.mark.parametrize(
    "lon, lat, tile",
    [
        (8.95, 55.95, "32UMH"),
        (10.2, 56.15, "32VNH"),
        (2.35, 48.85, "31UDQ"),
        (-74.0, 40.7, "18TWL"),
        (151.2, -33.87, "56HLH"),
        (-5.35, 41.30, "30TUL"),
    ],
)
def test_mgrs_tile_matches_known_sentinel2_tiles(lon, lat, tile):
    assert mgrs_tile(lon, lat) == tile


def test_catalog_rows_match_schedule_and_files(demo):
    spec, world, root, rows = demo
    sched = sentinel2_schedule(spec)
    assert len(rows) == 2 * len(sched)
    assert {r["product_type"] for r in rows} == {"S2MSI2A", "S2MSI1C"}
    l2a_dates = sorted(r["sensing_start"][:10] for r in rows if r["product_type"] == "S2MSI2A")
    assert l2a_dates == sorted(d.strftime("%Y-%m-%d") for d in sched["date"])
    for r in rows:
        m = NAME.match(r["name"])
        assert m, r["name"]
        assert (m.group(1) == "2A") == (r["product_type"] == "S2MSI2A")
        assert m.group(2) == r["sensing_start"][:10].replace("-", "")
        assert m.group(3) == r["tile"] == "32UMH"
        assert r["name"].startswith(r["platform"])
        path = root / "archive" / r["path"]
        assert path.stat().st_size == r["size"]
        assert hashlib.md5(path.read_bytes()).hexdigest() == r["md5"]
        assert r["footprint_wkt"].startswith("POLYGON((")
        assert 0 <= r["cloud_cover"] <= 100 and r["processing_baseline"] == "05.00"
        assert pd.Timestamp(r["sensing_stop"]) > pd.Timestamp(r["sensing_start"])


def test_zip_layout_as_delivered(demo):
    _, _, root, rows = demo
    l2a = next(r for r in rows if r["product_type"] == "S2MSI2A")
    l1c = next(r for r in rows if r["product_type"] == "S2MSI1C")
    names = zipfile.ZipFile(root / "archive" / l2a["path"]).namelist()
    safe = l2a["name"] + ".SAFE/"
    assert all(n.startswith(safe) for n in names)
    assert safe + "MTD_MSIL2A.xml" in names and safe + "manifest.safe" in names
    for pattern in [
        r"GRANULE/L2A_T32UMH_A\d{6}_\d{8}T\d{6}/IMG_DATA/R10m/T32UMH_\d{8}T\d{6}_B0[2348]_10m\.jp2",
        r"IMG_DATA/R20m/T32UMH_\d{8}T\d{6}_(B0[2-7]|B8A|B1[12]|SCL)_20m\.jp2",
        r"IMG_DATA/R60m/T32UMH_\d{8}T\d{6}_B0[19]_60m\.jp2",
        r"QI_DATA/MSK_CLDPRB_20m\.jp2",
        r"QI_DATA/MSK_SNWPRB_20m\.jp2",
        r"GRANULE/L2A_[^/]+/MTD_TL\.xml",
    ]:
        assert any(re.search(pattern, n) for n in names), pattern
    assert len([n for n in names if "/R10m/" in n]) == 4
    assert len([n for n in names if "/R20m/" in n]) == 10
    names = zipfile.ZipFile(root / "archive" / l1c["path"]).namelist()
    bands = sorted(re.search(r"_(B..)\.jp2$", n).group(1) for n in names if "/IMG_DATA/" in n)
    assert bands == sorted(rf.BANDS)
    assert any(n.endswith("MTD_MSIL1C.xml") for n in names)


def test_metadata_carries_offsets_quantification_and_geocoding(demo):
    _, world, root, rows = demo
    l2a = next(r for r in rows if r["product_type"] == "S2MSI2A")
    with zipfile.ZipFile(root / "archive" / l2a["path"]) as z:
        mtd = etree.fromstring(z.read(f"{l2a['name']}.SAFE/MTD_MSIL2A.xml"))
        tl_name = next(n for n in z.namelist() if n.endswith("MTD_TL.xml"))
        tl = etree.fromstring(z.read(tl_name))
    assert mtd.findtext(".//PROCESSING_BASELINE") == "05.00"
    assert mtd.findtext(".//BOA_QUANTIFICATION_VALUE") == "10000"
    offsets = mtd.findall(".//BOA_ADD_OFFSET")
    assert len(offsets) == 13 and {o.text for o in offsets} == {"-1000"}
    assert mtd.findtext(".//SPACECRAFT_NAME") in ("Sentinel-2A", "Sentinel-2B")
    assert [s.findtext("SPECIAL_VALUE_INDEX") for s in mtd.findall(".//Special_Values")] == ["0", "65535"]
    assert tl.findtext(".//HORIZONTAL_CS_CODE") == f"EPSG:{world[0].grid.epsg}"
    tile = demo_tile(world[0].grid, 8.95, 55.95)
    g10 = tl.find(".//Geoposition[@resolution='10']")
    assert float(g10.findtext("ULX")) == tile.x0 and float(g10.findtext("ULY")) == tile.y0
    # The tile is the study grid plus about 500 m on every side, aligned to 60 m.
    left, bottom, right, top = world[0].grid.bounds
    assert tile.x0 % 60 == 0 and tile.y0 % 60 == 0
    assert 500 <= left - tile.x0 < 560 and 500 <= tile.y0 - top < 560


def test_products_open_with_gdal_sentinel2_driver(demo):
    _, world, root, rows = demo
    tile = demo_tile(world[0].grid, 8.95, 55.95)
    for r in rows[:4]:
        path = root / "archive" / r["path"]
        with _open(str(path)) as ds:
            assert ds.driver == "SENTINEL2"
            subs = ds.subdatasets
        level = "L2A" if r["product_type"] == "S2MSI2A" else "L1C"
        for res in (10, 20, 60):
            sd = next(s for s in subs if s.startswith(f"SENTINEL2_{level}:") and f":{res}m:" in s)
            with _open(sd) as s:
                assert s.shape == tile.shape(res)
                assert s.res == (res, res)
                assert s.crs.to_epsg() == tile.epsg
        # Through the MTD XML path, and band by band: same pixels.
        mtd = f"/vsizip/{path}/{r['name']}.SAFE/MTD_MSI{level}.xml"
        with _open(mtd) as ds:
            sd10 = next(s for s in ds.subdatasets if ":10m:" in s)
        with _open(sd10) as s:
            b4 = s.read(1)
            assert s.descriptions[0].startswith("B4")
        member = next(n for n in zipfile.ZipFile(path).namelist() if re.search(r"_B04(_10m)?\.jp2$", n))
        with rasterio.open(f"/vsizip/{path}/{member}") as b:
            assert b.driver == "JP2OpenJPEG"
            np.testing.assert_array_equal(b.read(1), b4)
            assert b.transform.c == tile.x0 and b.transform.f == tile.y0


def test_truth_rasters_on_study_grid(demo):
    _, world, root, rows = demo
    grid = world[0].grid
    for r in rows:
        truth = root / "truth" / "sentinel2" / f"{r['name']}_t.tif"
        assert truth.exists() == (r["product_type"] == "S2MSI2A")
        if truth.exists():
            with rasterio.open(truth) as t:
                assert t.descriptions == (
                    "cloud",
                    "snow",
                    "shadow",
                    "ndvi_true",
                    "ndwi_true",
                    "nbr2_true",
                    "bare_true",
                    "evi_true",
                )
                assert (t.height, t.width) == grid.shape and t.transform == grid.transform
                cloud = t.read(1)
                assert abs(cloud.mean() * 100 - r["cloud_cover"]) < 25  # the tile is wider than the grid


def test_bare_soil_obeys_tziolas_rule_and_dense_vegetation_does_not(demo):
    spec, world, _, _ = demo
    w = world[0]
    lc = w.truth["landcover"].values
    for day in pd.date_range("2020-04-01", "2020-04-30", freq="5D"):
        surface = rf.surface_reflectance(
            w.fcover(day), w.soil_moisture(day), w.truth["clay"].values, w.truth["soc"].values, lc == 512
        )
        bare = rf.truth_indices(surface)["bare_true"] == 1
        tilled = w.bare(day) & (w.fcover(day) <= 0.05) & (lc != 512)
        dense = w.fcover(day) >= 0.7
        if tilled.any():
            assert bare[tilled].mean() >= 0.95
        if dense.any():
            assert bare[dense].mean() == 0.0


def test_acquisition_is_reproducible(demo):
    spec, world, _, _ = demo
    tile = demo_tile(world[0].grid, 8.95, 55.95)
    day = pd.Timestamp("2020-04-07")
    a = acquisition(world[0], spec, 0, day, tile)
    b = acquisition(world[0], spec, 0, day, tile)
    np.testing.assert_array_equal(a.boa, b.boa)
    assert a.boa.shape == (13,) + tile.shape(10)
