"""The CDSE client against a loopback server: recorded catalogue pages, date splitting, downloads with faults."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from cdse_account import PASSWORD, USER, account_server, item_for, safe_zip, settings_for
from conftest import real_fixture
from loopback import CATALOGUE_PATH, DOWNLOAD_PATH, TOKEN_PATH, recorded_pages, synthetic_catalogue
from soilsat.acquire.archives import check_safe_zip
from soilsat.acquire.catalog import CATALOG_COLUMNS
from soilsat.acquire.cdse import CdseClient
from soilsat.acquire.credentials import Credentials, token_cache_folder
from soilsat.acquire.download import TransferError
from soilsat.errors import ProductError


@pytest.fixture()
def server(monkeypatch, tmp_path_factory):
    with account_server(monkeypatch, tmp_path_factory) as state:
        yield state


def recorded() -> list[dict]:
    folder = real_fixture("cdse")
    return [json.loads((folder / f"odata_s1_page_{i}.json").read_text()) for i in (1, 2, 3)]


def test_recorded_pages_are_paged_with_skip(server):
    pages = recorded()
    server.catalogue = recorded_pages(pages)
    client = CdseClient(settings_for(server.url))
    products = list(client.pages("Collection/Name eq 'SENTINEL-1'"))
    assert [p["Name"] for p in products] == [p["Name"] for page in pages for p in page["value"]]
    asked = [r["path"] for r in server.requests if r["path"].startswith(f"{CATALOGUE_PATH}/Products")]
    skips = [int(dict(parse_qsl(p.split("?", 1)[1]))["$skip"]) for p in asked]
    assert skips == [0, 10, 20, 30]  # @odata.count says 47, the fourth page comes back empty
    assert "%24count=true" in asked[0] and "%24count" not in asked[1]


def test_search_builds_the_catalog_from_recorded_products(server):
    pages = recorded()
    server.catalogue = recorded_pages(pages)
    client = CdseClient(settings_for(server.url))
    catalog = client.search(
        "sentinel1",
        "IW_GRDH_1S",
        [{"name": "a", "lon": 9.0, "lat": 56.0, "size_m": 5000}],
        dt.date(2014, 4, 5),
        dt.date(2014, 4, 13),
    )
    assert list(catalog.columns) == CATALOG_COLUMNS
    assert len(catalog) == 30 and catalog["name"].is_unique
    first = pages[0]["value"][0]
    row = catalog[catalog["name"] == first["Name"].removesuffix(".SAFE")].iloc[0]
    assert row["checksum"] == "23383d85c5231487ce13d1c10aeb8e7b"
    assert row["size"] == first["ContentLength"] and row["platform"] == "S1A" and row["regions"] == "a"
    assert row["href"] == f"{server.url}{DOWNLOAD_PATH}/Products({first['Id']})/$value"
    assert catalog["sensing_start"].is_monotonic_increasing


def _product(i: int, when: dt.datetime) -> dict:
    return {
        "Id": f"id-{i}",
        "Name": f"S1A_IW_GRDH_1SDV_{when:%Y%m%dT%H%M%S}_X{i:03d}.SAFE",
        "ContentLength": 10,
        "Checksum": [{"Algorithm": "MD5", "Value": "0" * 32}],
        "Footprint": None,
        "Attributes": [],
        "ContentDate": {
            "Start": when.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "End": (when + dt.timedelta(seconds=25)).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        },
    }


def test_date_range_is_split_past_the_result_limit(server):
    t0 = dt.datetime(2020, 1, 1)
    products = [_product(i, t0 + dt.timedelta(hours=11 * i)) for i in range(60)]
    server.catalogue = synthetic_catalogue(products)
    client = CdseClient(settings_for(server.url, max_results=25, page_size=7))
    got = list(client.search_window("IW_GRDH_1S", t0, t0 + dt.timedelta(days=30)))
    assert sorted(p["Id"] for p in got) == sorted(p["Id"] for p in products)
    assert len(got) == 60
    # Every window that was paged through held at most max_results products.
    paged = [
        dict(parse_qsl(r["path"].split("?", 1)[1]))
        for r in server.requests
        if "Products" in r["path"] and "%24top=7" in r["path"] and "%24skip=0" in r["path"]
    ]
    assert len(paged) >= 3
    for params in paged:
        assert server.catalogue(params | {"$count": "true", "$top": "1"})["@odata.count"] <= 25


def test_download_survives_429_500_and_a_dropped_connection(server, tmp_path, caplog):
    data = safe_zip()
    item = item_for(server, data)
    path = f"{DOWNLOAD_PATH}/Products(0000-aaaa)/$value"
    server.fault(path, "429", "500", "drop")
    client = CdseClient(settings_for(server.url))
    with caplog.at_level(logging.DEBUG):
        client.download(item, tmp_path / "P.zip", verify=check_safe_zip)
    assert (tmp_path / "P.zip").read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P.zip"]
    ranges = [r["headers"].get("Range") for r in server.requests if r["path"] == path]
    assert ranges[:3] == [None, None, None] and ranges[3] == f"bytes={len(data) // 2}-"
    assert "HTTP 429" in caplog.text and "connection dropped" in caplog.text
    assert PASSWORD not in caplog.text and "access-" not in caplog.text


def test_expired_token_is_refreshed(server, tmp_path):
    data = safe_zip()
    item = item_for(server, data)
    client = CdseClient(settings_for(server.url))
    client.download(item, tmp_path / "first.zip")
    server.expire_tokens()
    client.download(item, tmp_path / "second.zip")
    assert (tmp_path / "second.zip").read_bytes() == data
    grants = [r["body"] for r in server.requests if r["path"] == TOKEN_PATH]
    assert len(grants) == 2 and "grant_type=password" in grants[0] and "grant_type=refresh_token" in grants[1]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes() and b"access-" not in path.read_bytes()


def test_token_is_renewed_before_expiry(server, tmp_path):
    server.token_lifetime_s = 30  # less than the refresh margin: every use needs a new token
    item = item_for(server, safe_zip())
    client = CdseClient(settings_for(server.url))
    client.download(item, tmp_path / "a.zip")
    client.download(item, tmp_path / "b.zip")
    grants = [r["body"] for r in server.requests if r["path"] == TOKEN_PATH]
    assert len(grants) == 2
    downloads = [r for r in server.requests if r["path"].startswith(DOWNLOAD_PATH)]
    assert len(downloads) == 2  # no 401 round trip: the token was renewed before it was used


def test_wrong_checksum_leaves_nothing(server, tmp_path):
    item = item_for(server, safe_zip(), md5="0" * 32)
    with pytest.raises(ProductError, match="checksum mismatch: catalogue says MD5 0{32}"):
        CdseClient(settings_for(server.url)).download(item, tmp_path / "P.zip")
    assert list(tmp_path.iterdir()) == []


def test_zip_with_parent_entries_is_rejected(server, tmp_path):
    item = item_for(server, safe_zip(extra={"../evil.txt": b"x"}))
    with pytest.raises(ProductError, match=r"unsafe zip member '\.\./evil\.txt': a '\.\.' path"):
        CdseClient(settings_for(server.url)).download(item, tmp_path / "P.zip", verify=check_safe_zip)
    assert list(tmp_path.iterdir()) == []
    assert not (tmp_path.parent / "evil.txt").exists()


def test_persistent_server_error_is_a_clear_failure(server, tmp_path):
    item = item_for(server, safe_zip())
    server.fault(f"{DOWNLOAD_PATH}/Products(0000-aaaa)/$value", "500", "500", "500", "500")
    with pytest.raises(TransferError, match=r"Products\(0000-aaaa\)/\$value: HTTP 500 after 4 tries"):
        CdseClient(settings_for(server.url)).download(item, tmp_path / "P.zip")
    assert list(tmp_path.iterdir()) == []


def test_wrong_password_names_the_credentials_not_the_secret(server, tmp_path, monkeypatch):
    monkeypatch.setenv("CDSE_PASSWORD", "wrong-password-xyz")
    item = item_for(server, safe_zip())
    with pytest.raises(TransferError) as err:
        CdseClient(settings_for(server.url)).download(item, tmp_path / "P.zip")
    assert str(err.value) == (
        f"CDSE login failed: {server.url}{TOKEN_PATH}: HTTP 401 Unauthorized: Invalid user "
        "credentials (check CDSE_USERNAME/CDSE_PASSWORD or ~/.netrc)"
    )  # the service's reason
    assert "wrong-password-xyz" not in str(err.value) and USER not in str(err.value)


def test_totp_is_sent_with_the_password_grant(server, tmp_path, monkeypatch):
    monkeypatch.setenv("CDSE_TOTP_SECRET", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
    CdseClient(settings_for(server.url)).download(item_for(server, safe_zip()), tmp_path / "P.zip")
    grant = next(r["body"] for r in server.requests if r["path"] == TOKEN_PATH)
    assert "totp=" in grant and len(grant.split("totp=")[1].split("&")[0]) == 6
    assert Credentials("a", "b", "c").__repr__() == "Credentials()"


def test_retry_after_is_honoured(server, tmp_path, caplog):
    import time

    data = safe_zip()
    item = item_for(server, data)
    path = f"{DOWNLOAD_PATH}/Products(0000-aaaa)/$value"
    server.fault(path, "429:1")
    retries = {
        "max_tries": 4,
        "base_delay_s": 0.001,
        "max_delay_s": 5,
        "timeout_s": 5,
        "quota_wait_s": None,
        "quota_tries": 0,
    }
    client = CdseClient(settings_for(server.url, retries=retries))
    start = time.monotonic()
    with caplog.at_level(logging.WARNING):
        client.download(item, tmp_path / "P.zip", verify=check_safe_zip)
    waited = time.monotonic() - start
    assert waited >= 1.0  # the server asked for a second; the backoff alone would have waited <= 1 ms
    assert (tmp_path / "P.zip").read_bytes() == data
    assert "HTTP 429; retrying in 1.0 s" in caplog.text
    assert [r["path"] for r in server.requests].count(path) == 2


def test_count_is_asked_once_per_search_window(server):
    t0 = dt.datetime(2020, 1, 1)
    products = [_product(i, t0 + dt.timedelta(hours=11 * i)) for i in range(60)]
    server.catalogue = synthetic_catalogue(products)
    client = CdseClient(settings_for(server.url, max_results=25, page_size=7))
    assert len(list(client.search_window("IW_GRDH_1S", t0, t0 + dt.timedelta(days=30)))) == 60
    asked = [dict(parse_qsl(r["path"].split("?", 1)[1])) for r in server.requests if "/Products?" in r["path"]]
    counted = [(q["$filter"]) for q in asked if q.get("$count") == "true"]
    assert len(counted) == len(set(counted))  # each window's $count once
    paged = {q["$filter"] for q in asked if q["$top"] == "7"}
    assert paged and paged <= set(counted) and all(q.get("$count") is None for q in asked if q["$top"] == "7")


def test_a_refused_range_drops_the_part_and_downloads_whole(server, tmp_path, caplog):
    data = safe_zip()
    item = item_for(server, data)
    path = f"{DOWNLOAD_PATH}/Products(0000-aaaa)/$value"
    server.fault(path, "drop")
    server.refuse_range = 416
    with caplog.at_level(logging.WARNING):
        CdseClient(settings_for(server.url)).download(item, tmp_path / "P.zip", verify=check_safe_zip)
    assert (tmp_path / "P.zip").read_bytes() == data and sorted(p.name for p in tmp_path.iterdir()) == ["P.zip"]
    ranges = [r["headers"].get("Range") for r in server.requests if r["path"] == path]
    assert ranges == [None, f"bytes={len(data) // 2}-", None]
    assert (
        f"the server refused a Range request (HTTP 416 Requested Range Not Satisfiable: Range not supported); "
        f"dropping the {len(data) // 2} bytes of P.zip.part and downloading it whole"
    ) in caplog.text


def test_a_429_storm_without_retry_after_is_waited_out(server, tmp_path, caplog, monkeypatch):
    waits = []
    monkeypatch.setattr("soilsat.acquire.download.time.sleep", waits.append)
    data = safe_zip()
    item = item_for(server, data)
    path = f"{DOWNLOAD_PATH}/Products(0000-aaaa)/$value"
    server.fault(path, *["429-quota"] * 10)  # more than max_tries (4): a quota, not a hiccup
    retries = {
        "max_tries": 4,
        "base_delay_s": 0.001,
        "max_delay_s": 0.01,
        "timeout_s": 5,
        "quota_wait_s": 60,
        "quota_tries": 12,
    }
    with caplog.at_level(logging.WARNING):
        CdseClient(settings_for(server.url, retries=retries)).download(item, tmp_path / "P.zip")
    assert (tmp_path / "P.zip").read_bytes() == data
    assert waits == [60] * 10 and [r["path"] for r in server.requests].count(path) == 11
    assert (
        "HTTP 429: Max session number 4 exceeded without Retry-After (a quota); retrying in 60 s (wait 10 of 12)"
        in caplog.text
    )
    server.fault(path, *["429-quota"] * 13)
    with pytest.raises(TransferError) as err:
        CdseClient(settings_for(server.url, retries=retries)).download(item, tmp_path / "Q.zip")
    assert str(err.value) == (
        f"{server.url}{path}: HTTP 429: Max session number 4 exceeded after 13 tries 60 s apart "
        "(a quota of the service; try again later)"
    )


def test_the_catalogue_keeps_its_backoff_on_429(server):
    server.catalogue = lambda params: {"value": [], "@odata.count": 0}
    server.fault(f"{CATALOGUE_PATH}/Products", *["429-quota"] * 4)
    with pytest.raises(TransferError, match=r"HTTP 429: Max session number 4 exceeded after 4 tries$"):
        CdseClient(settings_for(server.url)).count("Collection/Name eq 'SENTINEL-1'")


JOB = """
import sys
from pathlib import Path
sys.path.insert(0, {scripts!r})
from soilsat.acquire.cdse import CdseClient
CdseClient({settings!r}).download({item!r}, Path({target!r}))
"""


def test_four_parallel_fetch_jobs_share_one_login(server, tmp_path):
    data = safe_zip()
    item = item_for(server, data)
    env = dict(os.environ)
    jobs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                JOB.format(
                    scripts=str(Path(__file__).parents[1] / "scripts"),
                    settings=settings_for(server.url),
                    item=item,
                    target=str(tmp_path / f"P{k}.zip"),
                ),
            ],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(4)
    ]
    errors = [job.communicate(timeout=120)[1] for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0, 0, 0], errors
    assert all((tmp_path / f"P{k}.zip").read_bytes() == data for k in range(4))
    grants = [r["body"] for r in server.requests if r["path"] == TOKEN_PATH]
    assert len(grants) == 1 and "grant_type=password" in grants[0]  # one login, one session, for the four
    cache = token_cache_folder(None)
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 2 and files[0].startswith("cdse-token-") and files[0].endswith(".json")
    assert stat.S_IMODE((cache / files[0]).stat().st_mode) == 0o600
    assert PASSWORD not in (cache / files[0]).read_text() and USER not in (cache / files[0]).read_text()
