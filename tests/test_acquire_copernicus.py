"""The real provider (`provider: cdse`) for Sentinel-1 and Sentinel-2: catalog search and verified fetches against
the loopback CDSE."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from cdse_account import REGION, account_server, safe_zip, settings
from loopback import DOWNLOAD_PATH
from soilsat.acquire.catalog import CATALOG_COLUMNS
from soilsat.acquire.factory import get_provider


@pytest.fixture()
def server(monkeypatch, tmp_path_factory):
    with account_server(monkeypatch, tmp_path_factory) as state:
        yield state


def test_sentinel1_search_and_fetch(server, tmp_path):
    data = safe_zip("S1A_IW_GRDH_1SDV_20200105T171500_20200105T171525_030000_036000_ABCD")
    product = {
        "Id": "abc-1",
        "Name": "S1A_IW_GRDH_1SDV_20200105T171500_20200105T171525_030000_036000_ABCD.SAFE",
        "ContentLength": len(data),
        "Footprint": "geography'SRID=4326;POLYGON ((8 55, 10 55, 10 57, 8 57, 8 55))'",
        "Checksum": [{"Algorithm": "MD5", "Value": hashlib.md5(data).hexdigest()}],
        "ContentDate": {"Start": "2020-01-05T17:15:00.000000Z", "End": "2020-01-05T17:15:25.000000Z"},
        "Attributes": [
            {"Name": "productType", "Value": "IW_GRDH_1S"},
            {"Name": "orbitDirection", "Value": "ASCENDING"},
            {"Name": "relativeOrbitNumber", "Value": 117},
            {"Name": "orbitNumber", "Value": 30000},
            {"Name": "platformShortName", "Value": "SENTINEL-1"},
            {"Name": "platformSerialIdentifier", "Value": "A"},
        ],
    }
    server.catalogue = lambda params: {"value": [product], "@odata.count": 1}
    server.files[f"{DOWNLOAD_PATH}/Products(abc-1)/$value"] = data
    provider = get_provider("cdse", {}, settings(server.url, tmp_path))
    catalog = provider.search("sentinel1", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 31), "IW_GRDH_1S")
    assert list(catalog.columns) == CATALOG_COLUMNS and len(catalog) == 1
    row = catalog.iloc[0]
    assert row["footprint_wkt"] == "POLYGON ((8 55, 10 55, 10 57, 8 57, 8 55))"
    assert (row["orbit_direction"], row["relative_orbit"], row["regions"]) == ("ASCENDING", 117, "skjern")
    query = next(r["path"] for r in server.requests if "Products?" in r["path"])
    assert "Intersects" in query and "IW_GRDH_1S" in query
    out = tmp_path / "sentinel1" / f"{row['name']}.zip"
    provider.fetch({k: str(v) for k, v in row.items()}, out)
    assert out.read_bytes() == data


def _s2_safe_zip(level: str, day: str, cloud_cover: float) -> tuple[str, bytes]:
    """A zipped Sentinel-2 SAFE in ESA's layout (demo MTD and manifest writers), placeholder image files."""
    import tempfile

    from soilsat.demo import sentinel2 as s2
    from soilsat.grid import region_grid

    grid = region_grid(REGION["name"], REGION["lon"], REGION["lat"], REGION["size_m"], 500)
    tile = s2.demo_tile(grid, REGION["lon"], REGION["lat"])
    pid = s2.product_id(level, "S2A", pd.Timestamp(day), REGION["lon"], tile.name)
    with tempfile.TemporaryDirectory() as tmp:
        safe = Path(tmp) / f"{pid.name}.SAFE"
        granule = safe / "GRANULE" / pid.granule
        if level == "L2A":
            images = [
                f"GRANULE/{pid.granule}/IMG_DATA/R{r}m/{pid.stem}_{b}_{r}m" for r, b in ((10, "B04"), (20, "B12"))
            ]
        else:
            images = [f"GRANULE/{pid.granule}/IMG_DATA/{pid.stem}_{b}" for b in ("B04", "B12")]
        for image in images:
            (safe / f"{image}.jp2").parent.mkdir(parents=True, exist_ok=True)
            (safe / f"{image}.jp2").write_bytes(b"\x00\x00\x00\x0cjP  " + bytes(64))
        (granule / "MTD_TL.xml").write_bytes(s2.tile_mtd(pid, tile, cloud_cover, []))
        mtd = "MTD_MSIL2A.xml" if level == "L2A" else "MTD_MSIL1C.xml"
        (safe / mtd).write_bytes(s2.product_mtd(pid, images, tile, cloud_cover, 0.0))
        (safe / "manifest.safe").write_bytes(s2.manifest(safe, pid))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for f in sorted(p for p in safe.rglob("*") if p.is_file()):
                z.write(f, f.relative_to(safe.parent).as_posix())
    return pid.name, buf.getvalue()


def _s2_product(pid: str, name: str, data: bytes, level: str, cloud_cover: float) -> dict:
    """An OData product as the CDSE catalogue describes a Sentinel-2 product (Attributes expanded)."""
    start = dt.datetime.strptime(name.split("_")[2], "%Y%m%dT%H%M%S")
    return {
        "Id": pid,
        "Name": f"{name}.SAFE",
        "ContentLength": len(data),
        "_collection": "SENTINEL-2",
        "Footprint": "geography'SRID=4326;POLYGON ((8.3 55.4, 10 55.4, 10 56.4, 8.3 56.4, 8.3 55.4))'",
        "Checksum": [{"Algorithm": "MD5", "Value": hashlib.md5(data).hexdigest()}],
        "ContentDate": {"Start": f"{start:%Y-%m-%dT%H:%M:%S}.024000Z", "End": f"{start:%Y-%m-%dT%H:%M:%S}.024000Z"},
        "Attributes": [
            {"Name": "productType", "Value": f"S2MSI{level[1:]}"},
            {"Name": "cloudCover", "Value": cloud_cover},
            {"Name": "tileId", "Value": name.split("_")[5][1:]},
            {"Name": "processingBaseline", "Value": "05.00"},
            {"Name": "orbitDirection", "Value": "DESCENDING"},
            {"Name": "relativeOrbitNumber", "Value": int(name.split("_")[4][1:])},
            {"Name": "orbitNumber", "Value": 24000},
            {"Name": "platformShortName", "Value": "SENTINEL-2"},
            {"Name": "platformSerialIdentifier", "Value": "A"},
        ],
    }


@pytest.mark.parametrize("level", ["L2A", "L1C"])
def test_sentinel2_search_with_cloud_filter_and_fetch(server, tmp_path, level):
    from urllib.parse import parse_qsl

    from loopback import attribute_catalogue
    from soilsat.acquire.archives import safe_extract
    from soilsat.optical.safe import read_metadata

    products, zips = [], {}
    for k, (lvl, day, cloud) in enumerate(
        [
            ("L2A", "2020-05-02", 12.5),
            ("L2A", "2020-05-07", 55.0),
            ("L2A", "2020-05-12", 29.9),
            ("L1C", "2020-05-02", 12.5),
            ("L1C", "2020-05-17", 80.0),
        ]
    ):
        name, data = _s2_safe_zip(lvl, day, cloud)
        products.append(_s2_product(f"s2-{k}", name, data, lvl, cloud))
        server.files[f"{DOWNLOAD_PATH}/Products(s2-{k})/$value"] = data
        zips[name] = data
    server.catalogue = attribute_catalogue(products)
    provider = get_provider("cdse", {}, settings(server.url, tmp_path, cdse={"cloud_cover_max": 30}))
    catalog = provider.search("sentinel2", ["skjern"], dt.date(2020, 5, 1), dt.date(2020, 5, 31), f"S2MSI{level[1:]}")
    assert list(catalog.columns) == CATALOG_COLUMNS
    # the cloud-cover filter went to the catalogue and came back applied: 55 % and 80 % are left out
    expected = [12.5, 29.9] if level == "L2A" else [12.5]
    assert catalog["cloud_cover"].astype(float).tolist() == expected
    assert set(catalog["product_type"]) == {f"S2MSI{level[1:]}"} and set(catalog["platform"]) == {"S2A"}
    assert all(name.startswith(f"S2A_MSIL{level[1:]}_") for name in catalog["name"])
    row = catalog.iloc[0]
    assert (row["tile"], row["processing_baseline"], row["orbit_direction"], row["relative_orbit"]) == (
        row["name"].split("_")[5][1:],
        "05.00",
        "DESCENDING",
        int(row["name"].split("_")[4][1:]),
    )
    assert row["footprint_wkt"].startswith("POLYGON ((8.3 55.4") and row["regions"] == "skjern"
    assert row["checksum"] == hashlib.md5(zips[row["name"]]).hexdigest() and int(row["size"]) == len(zips[row["name"]])
    query = next(
        dict(parse_qsl(r["path"].split("?", 1)[1]))["$filter"] for r in server.requests if "Products?" in r["path"]
    )
    assert "Collection/Name eq 'SENTINEL-2'" in query and f"Value eq 'S2MSI{level[1:]}'" in query
    assert "att/Name eq 'cloudCover' and att/OData.CSC.DoubleAttribute/Value le 30.00" in query
    assert "Intersects" in query
    out = tmp_path / "sentinel2" / f"{row['name']}.zip"
    provider.fetch({k: str(v) for k, v in row.items()}, out)
    assert out.read_bytes() == zips[row["name"]]
    written = safe_extract(out, tmp_path / "safe")
    safe = tmp_path / "safe" / f"{row['name']}.SAFE"
    assert (safe / "manifest.safe").is_file() and (safe / f"MTD_MSIL{level[1:]}.xml").is_file()
    assert len(written) == 5  # manifest, product and tile MTD, two bands
    product = read_metadata(safe)
    assert product.level == level and product.tile == row["tile"] and product.baseline == "05.00"
    assert product.sensing_time.startswith(row["sensing_start"][:19])
    assert {b for b, _ in product.band_files} == {"B04", "B12"}
