"""NASA Earthdata against loopback CMR, Earthdata Login, DAAC and bucket servers: the catalog of a search, paging,
the token and redirect flows, and the faults (401, 429, 5xx, a dropped connection, a bad checksum)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging

import pytest
import yaml

from conftest import ROOT
from loopback_earthdata import serve_earthdata
from soilsat.acquire.catalog import CATALOG_COLUMNS
from soilsat.acquire.download import TransferError
from soilsat.acquire.earthdata import EarthdataClient, EarthdataProvider, checksum_verifier
from soilsat.acquire.earthdata_login import EarthdataCredentials
from soilsat.errors import ConfigError, ProductError
from test_acquire_cmr import recorded_cmr

USER, PASSWORD, TOKEN = "tester", "Edl-pa55word-for-tests", "edl-token-abc123"
REGIONS = [
    {"name": "kansas", "lon": -96.6, "lat": 39.1, "size_m": 5000},
    {"name": "iowa", "lon": -93.6, "lat": 42.0, "size_m": 5000},
]
FILE_PATH = "/DP4/SMAP/SPL3SMP_E.006/2020.09.01/SMAP_L3_SM_P_E_20200901_R19240_001.h5"


def schema_defaults(node: dict) -> dict:
    """The defaults of a schema section, filled in recursively as the workflow's validation does."""
    out = dict(node.get("default") or {})
    for key, sub in (node.get("properties") or {}).items():
        if sub.get("type") == "object" and "properties" in sub:
            out[key] = schema_defaults(sub) | out.get(key, {})
        elif key not in out and "default" in sub:
            out[key] = sub["default"]
    return out


def settings_for(state, **extra) -> dict:
    """The earthdata section with the schema's defaults, pointed at the loopback servers, with tiny backoffs."""
    schema = yaml.safe_load((ROOT / "rules" / "schemas" / "config.schema.yaml").read_text())
    settings = schema_defaults(schema["properties"]["earthdata"])
    return (
        settings
        | {
            "cmr_url": f"{state.cmr.url}/search",
            "login_url": state.edl.url,
            "token_domains": [state.daac.url.removeprefix("http://")],
            "retries": {
                "max_tries": 4,
                "base_delay_s": 0.001,
                "max_delay_s": 0.01,
                "timeout_s": 5,
                "quota_wait_s": None,
                "quota_tries": 0,
            },
        }
        | extra
    )


def granule(
    name: str,
    start: str,
    url: str,
    data: bytes,
    algorithm: str = "MD5",
    short_name: str = "SPL3SMP_E",
    version: str = "006",
    provider: str = "NSIDC_CPRD",
) -> dict:
    """A UMM-JSON item as CMR answers it: the data file, its metadata sidecar, size and checksum."""
    value = hashlib.new(algorithm.lower().replace("-", ""), data).hexdigest()
    return {
        "meta": {"concept-id": f"G{abs(hash(name)) % 10**9}-{provider}", "provider-id": provider},
        "umm": {
            "GranuleUR": name,
            "CollectionReference": {"ShortName": short_name, "Version": version},
            "TemporalExtent": {
                "RangeDateTime": {
                    "BeginningDateTime": f"{start}T00:00:00.000Z",
                    "EndingDateTime": f"{start}T23:59:59.999Z",
                }
            },
            "SpatialExtent": {
                "HorizontalSpatialDomain": {
                    "Geometry": {
                        "BoundingRectangles": [
                            {
                                "WestBoundingCoordinate": -180.0,
                                "SouthBoundingCoordinate": -85.04,
                                "EastBoundingCoordinate": 180.0,
                                "NorthBoundingCoordinate": 85.04,
                            }
                        ]
                    }
                }
            },
            "Platforms": [{"ShortName": "SMAP"}],
            "RelatedUrls": [
                {"URL": url, "Type": "GET DATA"},
                {"URL": url + ".iso.xml", "Type": "GET DATA"},
                {"URL": "s3://bucket/" + url.rsplit("/", 1)[-1], "Type": "GET DATA VIA DIRECT ACCESS"},
            ],
            "DataGranule": {
                "ArchiveAndDistributionInformation": [
                    {
                        "Name": url.rsplit("/", 1)[-1],
                        "SizeInBytes": len(data),
                        "Checksum": {"Value": value, "Algorithm": algorithm},
                    },
                    {"Name": url.rsplit("/", 1)[-1] + ".iso.xml", "SizeInBytes": 100},
                ]
            },
        },
    }


@pytest.fixture()
def earthdata():
    with serve_earthdata() as state:
        state.users[USER] = PASSWORD
        state.tokens.add(TOKEN)
        yield state


def test_a_search_without_hits_gives_an_empty_catalog(earthdata):
    earthdata.recorded = recorded_cmr("nsidc_earthaccess/TestResults.test_no_results")[:1]
    client = EarthdataClient(settings_for(earthdata))
    catalog = client.search("smap_l3_sm", "SPL3SMP_E", REGIONS[:1], dt.date(2024, 4, 30), dt.date(2024, 5, 31))
    assert list(catalog.columns) == CATALOG_COLUMNS and catalog.empty
    assert len([r for r in earthdata.requests if r["server"] == "cmr"]) == 1


def test_search_pages_through_synthetic_granules_for_each_region(earthdata):
    days = [f"2020-09-{d:02d}" for d in range(1, 6)]
    for day in days:
        name = f"SMAP_L3_SM_P_E_{day.replace('-', '')}_R19240_001.h5"
        earthdata.granules.append(granule(name, day, earthdata.file_url(f"/smap/{name}"), day.encode()))
    earthdata.granules.append(
        granule("other.h5", "2020-09-02", earthdata.file_url("/smap/other.h5"), b"x", short_name="SPL1CTB_E")
    )
    client = EarthdataClient(settings_for(earthdata, page_size=2))
    catalog = client.search("smap_l3_sm", "SPL3SMP_E", REGIONS, dt.date(2020, 9, 1), dt.date(2020, 9, 4))
    assert list(catalog["name"]) == [f"SMAP_L3_SM_P_E_2020090{d}_R19240_001.h5" for d in range(1, 5)]
    assert set(catalog["regions"]) == {"kansas;iowa"} and set(catalog["processing_baseline"]) == {"R19240"}
    assert catalog["checksum"].iloc[0] == hashlib.md5(b"2020-09-01").hexdigest() and catalog["size"].iloc[0] == 10
    asked = [r for r in earthdata.requests if r["server"] == "cmr"]
    assert len(asked) == 4  # two regions, two pages each (4 granules, page_size 2)
    params = dict(p.split("=", 1) for p in asked[0]["path"].split("?", 1)[1].split("&"))
    assert params["short_name"] == "SPL3SMP_E" and params["version"] == "006" and params["provider"] == "NSIDC_CPRD"
    assert params["temporal%5B%5D"] == "2020-09-01T00%3A00%3A00Z%2C2020-09-04T23%3A59%3A59Z"
    west, south, east, north = (float(v) for v in params["bounding_box%5B%5D"].replace("%2C", ",").split(","))
    assert west < -96.6 < east and south < 39.1 < north and east - west < 0.1
    assert asked[1]["headers"]["CMR-Search-After"] == '["loopback", 2]'


def test_a_search_wider_than_max_results_stops(earthdata):
    for day in ("2020-09-01", "2020-09-02", "2020-09-03"):
        earthdata.granules.append(granule(f"g{day}.h5", day, earthdata.file_url(f"/g{day}.h5"), b"x"))
    client = EarthdataClient(settings_for(earthdata, max_results=2))
    with pytest.raises(TransferError) as err:
        client.search("smap_l3_sm", "SPL3SMP_E", REGIONS[:1], dt.date(2020, 9, 1), dt.date(2020, 9, 30))
    assert str(err.value) == (
        "CMR search for SPL3SMP_E version 006 of NSIDC_CPRD: 3 granules match, more than "
        "earthdata.max_results (2); narrow the period or the regions"
    )


def _item(earthdata, data: bytes, checksum: str | None = None) -> dict:
    earthdata.files[FILE_PATH] = data
    return {
        "name": FILE_PATH.rsplit("/", 1)[-1],
        "source": "smap_l3_sm",
        "size": str(len(data)),
        "checksum": checksum if checksum is not None else hashlib.md5(data).hexdigest(),
        "href": earthdata.file_url(FILE_PATH),
    }


def test_token_goes_to_the_daac_only_and_sha256_is_checked(earthdata, tmp_path):
    data = b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 40
    item = _item(earthdata, data, "sha256:" + hashlib.sha256(data).hexdigest())
    client = EarthdataClient(settings_for(earthdata), credentials=EarthdataCredentials(token=TOKEN, source="env"))
    client.download(item, tmp_path / item["name"])
    assert (tmp_path / item["name"]).read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == [item["name"]]
    by_server = {s: [r for r in earthdata.requests if r["server"] == s] for s in ("daac", "bucket", "edl")}
    assert by_server["daac"][0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert by_server["bucket"] and all("Authorization" not in r["headers"] for r in by_server["bucket"])
    assert by_server["edl"] == []


def test_password_follows_the_redirect_flow_and_reaches_login_only(earthdata, tmp_path):
    data = b"granule-bytes" * 100
    item = _item(earthdata, data)
    client = EarthdataClient(settings_for(earthdata), credentials=EarthdataCredentials(USER, PASSWORD, source="env"))
    client.download(item, tmp_path / "first.h5")
    client.download(item, tmp_path / "second.h5")
    assert (tmp_path / "first.h5").read_bytes() == data and (tmp_path / "second.h5").read_bytes() == data
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    edl = [r for r in earthdata.requests if r["server"] == "edl"]
    assert len(edl) == 1 and edl[0]["headers"]["Authorization"] == basic  # the second download used the cookie
    elsewhere = [r for r in earthdata.requests if r["server"] != "edl"]
    assert all("Authorization" not in r["headers"] for r in elsewhere)
    assert [r["path"].split("?")[0] for r in elsewhere if r["server"] == "daac"] == [
        FILE_PATH,
        "/login",
        FILE_PATH,
        FILE_PATH,
    ]


def test_download_survives_429_500_and_a_dropped_connection(earthdata, tmp_path, caplog):
    data = bytes(range(256)) * 64
    item = _item(earthdata, data)
    earthdata.fault(FILE_PATH, "429", "500")
    earthdata.fault(f"/bucket{FILE_PATH}", "drop")
    client = EarthdataClient(settings_for(earthdata), credentials=EarthdataCredentials(token=TOKEN, source="env"))
    with caplog.at_level(logging.DEBUG):
        client.download(item, tmp_path / item["name"])
    assert (tmp_path / item["name"]).read_bytes() == data
    ranges = [r["headers"].get("Range") for r in earthdata.requests if r["server"] == "bucket"]
    assert ranges == [None, f"bytes={len(data) // 2}-"]
    assert "HTTP 429" in caplog.text and "HTTP 500" in caplog.text and "connection dropped" in caplog.text
    assert TOKEN not in caplog.text


def test_wrong_password_is_a_clear_error_and_leaves_nothing(earthdata, tmp_path):
    item = _item(earthdata, b"data" * 10)
    client = EarthdataClient(
        settings_for(earthdata),
        credentials=EarthdataCredentials(USER, "wrong", source="EARTHDATA_USERNAME/EARTHDATA_PASSWORD"),
    )
    with pytest.raises(TransferError) as err:
        client.download(item, tmp_path / item["name"])
    assert str(err.value) == (
        f"{item['name']}: Earthdata Login refused the username and password from "
        "EARTHDATA_USERNAME/EARTHDATA_PASSWORD: Invalid user credentials"
    )
    assert list(tmp_path.iterdir()) == []
    assert len([r for r in earthdata.requests if r["server"] == "edl"]) == 2  # one fresh login tried after the 401


def test_refused_token_is_a_clear_error(earthdata, tmp_path):
    item = _item(earthdata, b"data" * 10)
    client = EarthdataClient(
        settings_for(earthdata), credentials=EarthdataCredentials(token="expired", source="EARTHDATA_TOKEN")
    )
    with pytest.raises(TransferError) as err:
        client.download(item, tmp_path / item["name"])
    assert str(err.value) == (
        "Earthdata Login refused the token from EARTHDATA_TOKEN (HTTP 401): it may have "
        "expired (tokens last 60 days); generate a new one on your profile at "
        f"{earthdata.edl.url}"
    )
    assert list(tmp_path.iterdir()) == []


def test_bad_checksum_leaves_nothing(earthdata, tmp_path):
    data = b"data" * 100
    item = _item(earthdata, data, "0" * 32)
    client = EarthdataClient(settings_for(earthdata), credentials=EarthdataCredentials(token=TOKEN, source="env"))
    with pytest.raises(ProductError) as err:
        client.download(item, tmp_path / item["name"])
    assert str(err.value) == (
        f"{tmp_path / item['name']}: checksum mismatch: catalogue says MD5 {'0' * 32}, "
        f"download has {hashlib.md5(data).hexdigest()}"
    )
    item = _item(earthdata, data, "sha256:" + "1" * 64)
    with pytest.raises(
        ProductError,
        match=f"checksum mismatch: catalogue says SHA256 {'1' * 64}, download has {hashlib.sha256(data).hexdigest()}$",
    ):
        client.download(item, tmp_path / item["name"])
    assert list(tmp_path.iterdir()) == []


def test_checksum_verifier_kinds(tmp_path, caplog):
    part = tmp_path / "f.part"
    part.write_bytes(b"abc")
    md5 = "900150983cd24fb0d6963f7d28e17f72"
    assert checksum_verifier(md5, tmp_path / "f") == (md5, None)
    md5, verify = checksum_verifier("adler32:024d0127", tmp_path / "f")
    assert md5 is None and verify(part) is None  # zlib.adler32(b"abc") == 0x024d0127
    with caplog.at_level(logging.WARNING):
        assert checksum_verifier("sm3:abcd", tmp_path / "f") == (None, None)
    assert "CMR gives a sm3 checksum, which soilsat cannot compute; checking the size only" in caplog.text
    assert checksum_verifier("", tmp_path / "f") == (None, None)


def test_provider_rejects_unknown_sources_and_regions(earthdata):
    settings = {"earthdata": settings_for(earthdata), "regions": REGIONS, "grid": {"margin_m": 250}}
    provider = EarthdataProvider(settings)
    with pytest.raises(ConfigError, match=r"^unknown Earthdata source 'smap'; known: \['mcd12q2', 'mod09ga', "):
        provider.search("smap", ["kansas"], dt.date(2020, 9, 1), dt.date(2020, 9, 2))
    with pytest.raises(ConfigError, match=r"^config key regions: no region named \['texas'\]$"):
        provider.search("mcd12q2", ["texas"], dt.date(2020, 9, 1), dt.date(2020, 9, 2))
    with pytest.raises(ConfigError, match=r"^config key earthdata.collections: no collection 'MOD13A2'"):
        provider.search("mod09ga", ["kansas"], dt.date(2020, 9, 1), dt.date(2020, 9, 2), product_type="MOD13A2")
