"""CMR granule search against a loopback CMR: recorded answers followed page by page with CMR-Search-After, and
the catalog rows of a granule."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
import requests

from conftest import real_fixture
from loopback_earthdata import serve_earthdata
from soilsat.acquire import cmr
from soilsat.acquire.download import RetryPolicy


def recorded_cmr(folder: str) -> list[tuple[dict, dict]]:
    """Recorded CMR answers (body, headers) of a fixture folder, in request order."""
    base = real_fixture("cmr", *folder.split("/"))
    index = json.loads((base / "index.json").read_text())
    pages = []
    for entry in index:
        if "granules" not in entry["uri"]:
            continue
        headers = {k: v[0] for k, v in entry["headers"].items() if k.startswith("CMR-")}
        pages.append((json.loads((base / entry["body_file"]).read_text()), headers))
    return pages


@pytest.fixture()
def earthdata():
    with serve_earthdata() as state:
        yield state


def test_recorded_cmr_pages_are_followed_with_search_after(earthdata):
    earthdata.recorded = recorded_cmr("nasa_python_cmr/TestMultipleQueries.test_results_unparsed_format")
    query = cmr.GranuleQuery("MOD02QKM", "6.1", None, dt.datetime(2000, 2, 24), dt.datetime(2000, 2, 25))
    policy = RetryPolicy(
        max_tries=2, base_delay_s=0.001, max_delay_s=120.0, timeout_s=60.0, quota_wait_s=None, quota_tries=0
    )
    got = list(
        itertools.islice(cmr.search(requests.Session(), f"{earthdata.cmr.url}/search", query, policy, 2, 2_000_000), 20)
    )
    expected = [item["meta"]["concept-id"] for body, _ in earthdata.recorded for item in body["items"]]
    assert [item["meta"]["concept-id"] for item in got] == expected and len(got) == 20
    sent = [r["headers"].get("CMR-Search-After") for r in earthdata.requests if r["server"] == "cmr"]
    assert sent == [None] + [h["CMR-Search-After"] for _, h in earthdata.recorded[:9]]
    assert sent[1] == '["laads",951351000000,1462754407]'
    rows = cmr.catalog_rows(got[0], "modis_l1b", [".hdf"])
    assert rows == [
        {
            "name": "MOD02QKM.A2000055.0005.061.2017171194850.hdf",
            "source": "modis_l1b",
            "product_type": "MOD02QKM",
            "platform": "Terra",
            "sensing_start": "2000-02-24T00:05:00.000Z",
            "sensing_stop": "2000-02-24T00:10:00.000Z",
            "orbit_direction": "",
            "relative_orbit": None,
            "absolute_orbit": None,
            "tile": "",
            "processing_baseline": "6.1",
            "cloud_cover": None,
            "footprint_wkt": "POLYGON((146.932438 76.50228,-145.553577 66.835767,-94.815506 70.509885,"
            "9.997243 84.145132,146.932438 76.50228))",
            "size": 27984421,
            "checksum": "f354ac721cb0f66e1da78b420e734c6a",
            "href": "https://data.laadsdaac.earthdatacloud.nasa.gov/prod-lads/MOD02QKM/"
            "MOD02QKM.A2000055.0005.061.2017171194850.hdf",
        }
    ]
