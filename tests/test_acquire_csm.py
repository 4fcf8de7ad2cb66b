"""CSM as a real source (provider `cdse`): catalog search from the CLMS manifest and fetches cropped to each region,
against the loopback server.

The files served are the real ones of ../shared/fixtures/real (a CGLS SSM tile crop), so the crops are checked
against what the product itself holds.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from conftest import real_fixture
from loopback import RETRIES, serve
from soilsat.acquire.catalog import CATALOG_COLUMNS, item_filename
from soilsat.acquire.factory import get_provider
from soilsat.errors import ProductError
from soilsat.reference import cgls_ssm

# Two regions in south-west France, inside the real CGLS file (lon -1..3, lat 41..45).
CAUSSE = {"name": "causse", "lon": 2.915, "lat": 44.60, "size_m": 3000}
GERS = {"name": "gers", "lon": 0.6, "lat": 43.7, "size_m": 3000}
CGLS_NAMES = ["c_gls_SSM1km_201706010000_CEURO_S1CSAR_V1.1.1.nc", "c_gls_SSM1km_201706020000_CEURO_S1CSAR_V1.1.1.nc"]


def settings(url: str, tmp: Path, regions=(CAUSSE, GERS), **changes) -> dict:
    base = {
        "regions": list(regions),
        "grid": {"margin_m": 500, "resolution": 10},
        "csm": {
            "manifest_url": f"{url}/download/manifest/ssm_1km_v1_daily_netcdf/manifest_latest.txt",
            "version": None,
            "margin_m": 2000,
            "conversion": "fraction",
            "cache_dir": str(tmp / "cache" / "csm"),
            "retries": RETRIES,
        },
        "ecv_sm": {
            "url": f"{url}/neodc/esacci/soil_moisture/data/daily_files/COMBINED",
            "version": "04.5",
            "margin_m": 0,
            "mask_flagged": True,
            "cache_dir": str(tmp / "cache" / "ecv_sm"),
            "retries": RETRIES,
        },
    }
    for key, value in changes.items():
        base[key] = base[key] | value
    return base


def cgls_path(name: str) -> str:
    """Where the loopback server serves a CGLS file (the manifest gives the full URL, whatever the layout)."""
    return f"/download/netcdf/ssm_1km_v1_daily/{name[13:17]}/{name[13:21]}/{name}"


@pytest.fixture()
def cgls_server():
    """The loopback server with the two real CGLS days and a manifest that also lists another version and files."""
    with serve() as server:
        lines = []
        for name in CGLS_NAMES:
            server.files[cgls_path(name)] = real_fixture("cgls", name).read_bytes()
            lines.append(server.url + cgls_path(name))
        newer = CGLS_NAMES[0].replace("V1.1.1", "V1.2.1")
        server.files[cgls_path(newer)] = real_fixture("cgls", CGLS_NAMES[0]).read_bytes()
        lines += [
            server.url + cgls_path(newer),
            server.url + "/download/netcdf/x/c_gls_SWI1km_201706011200_CEURO.nc",
            server.url + cgls_path(CGLS_NAMES[0]).replace("20170601", "20170801"),
            "",
        ]
        server.files["/download/manifest/ssm_1km_v1_daily_netcdf/manifest_latest.txt"] = "\n".join(lines).encode()
        yield server


def raw(path, name: str) -> np.ndarray:
    with netCDF4.Dataset(path) as nc:
        nc.set_auto_maskandscale(False)
        return np.asarray(nc[name][:])


def test_csm_search_lists_one_row_per_day_and_region_from_the_manifest(cgls_server, tmp_path):
    provider = get_provider("cdse", {}, settings(cgls_server.url, tmp_path))
    catalog = provider.search("csm", ["causse", "gers"], dt.date(2017, 6, 1), dt.date(2017, 6, 30))
    assert list(catalog.columns) == CATALOG_COLUMNS
    assert catalog["name"].tolist() == [
        "c_gls_SSM1km_201706010000_CEURO_S1CSAR_V1.2.1_causse.nc",
        "c_gls_SSM1km_201706020000_CEURO_S1CSAR_V1.1.1_causse.nc",
        "c_gls_SSM1km_201706010000_CEURO_S1CSAR_V1.2.1_gers.nc",
        "c_gls_SSM1km_201706020000_CEURO_S1CSAR_V1.1.1_gers.nc",
    ]
    row = catalog.iloc[1]
    assert (row["source"], row["product_type"], row["tile"], row["processing_baseline"]) == (
        "csm",
        "SSM1km",
        "CEURO",
        "V1.1.1",
    )
    assert (row["sensing_start"], row["sensing_stop"]) == ("2017-06-02T00:00:00Z", "2017-06-02T23:59:59Z")
    assert row["href"] == cgls_server.url + cgls_path(CGLS_NAMES[1])
    pinned = get_provider("cdse", {}, settings(cgls_server.url, tmp_path, csm={"version": "V1.1.1"}))
    catalog = pinned.search("csm", ["causse"], dt.date(2017, 6, 1), dt.date(2017, 6, 30))
    assert catalog["processing_baseline"].tolist() == ["V1.1.1", "V1.1.1"]
    with pytest.raises(ProductError, match=r"manifest_latest.txt: lists no SSM 1km file of version V9.9.9 between"):
        get_provider("cdse", {}, settings(cgls_server.url, tmp_path, csm={"version": "V9.9.9"})).search(
            "csm", ["causse"], dt.date(2017, 6, 1), dt.date(2017, 6, 30)
        )


def test_csm_region_outside_the_tile_gets_no_rows(cgls_server, tmp_path):
    dakar = {"name": "dakar", "lon": -17.4, "lat": 14.7, "size_m": 3000}
    provider = get_provider("cdse", {}, settings(cgls_server.url, tmp_path, regions=(CAUSSE, dakar)))
    catalog = provider.search("csm", ["causse", "dakar"], dt.date(2017, 6, 1), dt.date(2017, 6, 2))
    assert set(catalog["regions"]) == {"causse"} and len(catalog) == 2


def test_csm_fetch_keeps_each_regions_crop_in_the_product_layout(cgls_server, tmp_path):
    conf = settings(cgls_server.url, tmp_path, csm={"version": "V1.1.1"})
    provider = get_provider("cdse", {}, conf)
    catalog = provider.search("csm", ["causse", "gers"], dt.date(2017, 6, 1), dt.date(2017, 6, 1))
    out = tmp_path / "csm"
    cache = Path(conf["csm"]["cache_dir"]) / CGLS_NAMES[0]
    first, second = (catalog.iloc[k].to_dict() for k in range(2))
    provider.fetch(first, out / item_filename(first))
    assert cache.exists()  # kept for the second region
    provider.fetch(second, out / item_filename(second))
    assert not cache.exists() and not list(cache.parent.iterdir())  # every region cropped: the download is gone
    source = real_fixture("cgls", CGLS_NAMES[0])
    crop = out / "c_gls_SSM1km_201706010000_CEURO_S1CSAR_V1.1.1_causse.nc"
    lat, lon = raw(crop, "lat"), raw(crop, "lon")
    rows = np.searchsorted(-raw(source, "lat"), -lat)
    cols = np.searchsorted(raw(source, "lon"), lon)
    np.testing.assert_array_equal(raw(crop, "ssm")[0], raw(source, "ssm")[0][np.ix_(rows, cols)])
    info = cgls_ssm.describe(crop)
    half = (1500 + 500 + 2000) / 111_320
    assert info["extent"]["south"] < 44.60 - half < info["extent"]["south"] + 1 / 112
    assert info["extent"]["north"] > 44.60 + half and info["valid_cells"] > 50
    assert (info["date"], info["version"]) == ("2017-06-01", "V1.1.1")
    with netCDF4.Dataset(crop) as a, netCDF4.Dataset(source) as b:
        assert a.data_model == b.data_model and a.identifier == b.identifier
        assert {k: str(a["ssm"].getncattr(k)) for k in a["ssm"].ncattrs()} == {
            k: str(b["ssm"].getncattr(k)) for k in b["ssm"].ncattrs()
        }


def test_csm_fetch_retries_a_5xx_and_resumes_a_dropped_connection(cgls_server, tmp_path):
    conf = settings(cgls_server.url, tmp_path, regions=(CAUSSE,), csm={"version": "V1.1.1"})
    provider = get_provider("cdse", {}, conf)
    day1, day2 = (
        row.to_dict()
        for _, row in provider.search("csm", ["causse"], dt.date(2017, 6, 1), dt.date(2017, 6, 2)).iterrows()
    )
    cgls_server.fault(cgls_path(CGLS_NAMES[0]), "500")
    cgls_server.fault(cgls_path(CGLS_NAMES[1]), "drop")
    for item in (day1, day2):
        provider.fetch(item, tmp_path / "csm" / item_filename(item))
    asked = [(r["path"], r["headers"].get("Range")) for r in cgls_server.requests if "/netcdf/" in r["path"]]
    size = len(real_fixture("cgls", CGLS_NAMES[1]).read_bytes())
    assert asked == [
        (cgls_path(CGLS_NAMES[0]), None),
        (cgls_path(CGLS_NAMES[0]), None),
        (cgls_path(CGLS_NAMES[1]), None),
        (cgls_path(CGLS_NAMES[1]), f"bytes={size // 2}-"),
    ]
    assert cgls_ssm.describe(tmp_path / "csm" / item_filename(day2))["valid_cells"] == 0  # the all-fill day
    assert not list(Path(conf["csm"]["cache_dir"]).iterdir())


@pytest.mark.parametrize(
    "answer, problem",
    [
        (b"<!DOCTYPE html><html><body>Service under maintenance</body></html>", r"not a NetCDF file \(it starts with"),
        ("truncated", "unreadable NetCDF file, truncated or damaged"),
    ],
    ids=["html-page", "truncated-netcdf"],
)
def test_csm_fetch_of_a_bad_answer_fails_naming_the_file_and_leaves_nothing(cgls_server, tmp_path, answer, problem):
    if answer == "truncated":
        answer = real_fixture("cgls", CGLS_NAMES[0]).read_bytes()[:40000]
    cgls_server.files[cgls_path(CGLS_NAMES[0])] = answer
    conf = settings(cgls_server.url, tmp_path, regions=(CAUSSE,), csm={"version": "V1.1.1"})
    provider = get_provider("cdse", {}, conf)
    item = provider.search("csm", ["causse"], dt.date(2017, 6, 1), dt.date(2017, 6, 1)).iloc[0].to_dict()
    destination = tmp_path / "csm" / item_filename(item)
    with pytest.raises(ProductError, match=rf"{CGLS_NAMES[0]}: {problem}.*downloaded from http://127.0.0.1"):
        provider.fetch(item, destination)
    assert not destination.exists() and not list(Path(conf["csm"]["cache_dir"]).iterdir())
    assert not destination.parent.exists() or not list(destination.parent.iterdir())
