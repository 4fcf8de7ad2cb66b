"""Precise orbit files of Sentinel-1 products, from the CDSE catalogue or ASF's bucket, chosen by cover and
production time."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from urllib.parse import parse_qsl

import pytest

from cdse_account import account_server, settings
from loopback import DOWNLOAD_PATH
from soilsat.acquire.factory import get_provider
from soilsat.acquire.orbits import parse_eof_name, pick_orbit, product_record
from soilsat.errors import ProductError


@pytest.fixture()
def server(monkeypatch, tmp_path_factory):
    with account_server(monkeypatch, tmp_path_factory) as state:
        yield state


def test_orbit_file_is_chosen_by_cover_and_production():
    names = [
        "S1A_OPER_AUX_POEORB_OPOD_20200125T120000_V20200104T225942_20200106T005942.EOF",
        "S1A_OPER_AUX_POEORB_OPOD_20200126T120000_V20200104T225942_20200106T005942.EOF",
        "S1A_OPER_AUX_POEORB_OPOD_20200126T120000_V20200105T225942_20200107T005942.EOF",
        "S1B_OPER_AUX_POEORB_OPOD_20200127T120000_V20200104T225942_20200106T005942.EOF",
        "S1A_OPER_AUX_RESORB_OPOD_20200105T190000_V20200105T160000_20200105T200000.EOF",
    ]
    start, stop = "2020-01-05T17:15:00Z", "2020-01-05T17:15:25Z"
    assert pick_orbit(names, "S1A", start, stop, 60) == names[1]
    assert pick_orbit(names[4:], "S1A", start, stop, 60) == names[4]
    assert pick_orbit(names[4:], "S1A", "2020-01-05T19:59:30Z", "2020-01-05T19:59:55Z", 60) is None
    assert parse_eof_name(names[0])["stop"] == dt.datetime(2020, 1, 6, 0, 59, 42)


def test_a_products_sensing_times_come_from_its_name():
    name = "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371"
    assert product_record(name) == {
        "name": name,
        "sensing_start": "2021-12-23T05:11:22",
        "sensing_stop": "2021-12-23T05:11:48",  # the name's stop is truncated to the second
    }
    assert product_record(f"{name}_COG.SAFE")["sensing_start"] == "2021-12-23T05:11:22"  # CDSE's COG products
    with pytest.raises(ProductError, match="S2A_MSIL2A_20200401: not a Sentinel-1 product name"):
        product_record("S2A_MSIL2A_20200401")


def test_orbit_fetch_delivers_the_eof(server, tmp_path):
    eof_name = "S1A_OPER_AUX_POEORB_OPOD_20200126T120000_V20200104T225942_20200106T005942.EOF"
    eof = b'<?xml version="1.0"?>\n<Earth_Explorer_File><Data_Block type="xml"/></Earth_Explorer_File>\n'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(eof_name, eof)
    data = buf.getvalue()
    orbit = {
        "Id": "orb-1",
        "Name": eof_name,
        "ContentLength": len(data),
        "Footprint": None,
        "Attributes": [],
        "Checksum": [{"Algorithm": "MD5", "Value": hashlib.md5(data).hexdigest()}],
        "ContentDate": {"Start": "2020-01-04T22:59:42.000000Z", "End": "2020-01-06T00:59:42.000000Z"},
    }
    server.catalogue = lambda params: (
        {"value": [orbit], "@odata.count": 1} if "AUX_POEORB" in params["$filter"] else {"value": [], "@odata.count": 0}
    )
    server.files[f"{DOWNLOAD_PATH}/Products(orb-1)/$value"] = data
    provider = get_provider("cdse", {}, settings(server.url, tmp_path))
    item = {
        "name": "S1A_IW_GRDH_1SDV_20200105T171500_20200105T171525_030000_036000_ABCD",
        "sensing_start": "2020-01-05T17:15:00.000000Z",
        "sensing_stop": "2020-01-05T17:15:25.000000Z",
    }
    got = provider.fetch_orbit(item, tmp_path / "orbits" / f"{item['name']}.EOF")
    assert got == eof_name and (tmp_path / "orbits" / f"{item['name']}.EOF").read_bytes() == eof
    query = next(r["path"] for r in server.requests if "Products?" in r["path"])
    assert "startswith%28Name%2C%27S1A_%27%29" in query
    late = dict(item, sensing_start="2020-01-06T00:59:00Z", sensing_stop="2020-01-06T00:59:25Z")
    with pytest.raises(ProductError, match="no orbit file .AUX_POEORB or AUX_RESORB. covers the product"):
        provider.fetch_orbit(late, tmp_path / "orbits" / "late.EOF")
    assert not (tmp_path / "orbits" / "late.EOF").exists()


def test_orbit_from_the_asf_bucket_without_credentials(server, tmp_path, monkeypatch):
    monkeypatch.delenv("CDSE_USERNAME")
    monkeypatch.delenv("CDSE_PASSWORD")
    keys = [
        f"AUX_POEORB/S1A_OPER_AUX_POEORB_OPOD_202001{d:02d}T080000_"
        f"V202001{d - 21:02d}T225942_202001{d - 19:02d}T005942.EOF"
        for d in range(23, 31)
    ]
    keys += ["AUX_POEORB/S1B_OPER_AUX_POEORB_OPOD_20200125T080000_V20200104T225942_20200106T005942.EOF"]
    eof = b'<?xml version="1.0"?>\n<Earth_Explorer_File><Data_Block type="xml"/></Earth_Explorer_File>\n'
    for key in keys:
        server.files[f"/asf/{key}"] = eof

    def listing(params: dict) -> tuple[bytes, str]:
        chosen = [k for k in keys if k.startswith(params["prefix"])]
        first = params.get("continuation-token") != "page2"
        page = chosen[:4] if first else chosen[4:]
        more = first and len(chosen) > 4
        body = (
            '<?xml version="1.0"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            + "".join(f"<Contents><Key>{k}</Key></Contents>" for k in page)
            + f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>"
            + ("<NextContinuationToken>page2</NextContinuationToken>" if more else "")
            + "</ListBucketResult>"
        )
        return body.encode(), "application/xml"

    server.routes["/asf/"] = listing
    conf = settings(server.url, tmp_path, orbits={"source": "asf"})
    provider = get_provider("cdse", {}, conf)
    item = {
        "name": "S1A_IW_GRDH_1SDV_20200105T171500_20200105T171525_030000_036000_ABCD",
        "sensing_start": "2020-01-05T17:15:00.000000Z",
        "sensing_stop": "2020-01-05T17:15:25.000000Z",
    }
    got = provider.fetch_orbit(item, tmp_path / "orbits" / "x.EOF")
    # Validity 2020-01-04T22:59:42 to 2020-01-06T00:59:42 is produced on the 25th (d - 21 = 4).
    assert got == "S1A_OPER_AUX_POEORB_OPOD_20200125T080000_V20200104T225942_20200106T005942.EOF"
    assert (tmp_path / "orbits" / "x.EOF").read_bytes() == eof
    listed = [r["path"] for r in server.requests if r["path"].startswith("/asf/?")]
    assert any("continuation-token=page2" in p for p in listed)
    assert not any(r["path"] == "/auth/token" for r in server.requests)


def test_asf_fallback_finds_2016_orbits_produced_in_2021(server, tmp_path, monkeypatch):
    """Keys shaped like ASF's bucket: every 2016 POEORB produced in 2021, no RESORB before 2023-10, paged."""
    monkeypatch.delenv("CDSE_USERNAME")
    monkeypatch.delenv("CDSE_PASSWORD")
    stamp = "%Y%m%dT%H%M%S"
    keys = []
    for day in range(400):  # one file a day from 2015-12-01, 26 h of validity each
        start = dt.datetime(2015, 12, 1, 22, 59, 44) + dt.timedelta(days=day)
        produced = dt.datetime(2021, 3, 1, 10, 0, 0) + dt.timedelta(minutes=7 * day)
        for platform in ("S1A", "S1B"):
            keys.append(
                f"AUX_POEORB/{platform}_OPER_AUX_POEORB_OPOD_{produced:{stamp}}_V{start:{stamp}}_"
                f"{start + dt.timedelta(hours=26):{stamp}}.EOF"
            )
    keys.append("AUX_RESORB/S1A_OPER_AUX_RESORB_OPOD_20231001T063418_V20231001T023127_20231001T054857.EOF")
    keys.sort()
    eof = b'<?xml version="1.0"?>\n<Earth_Explorer_File><Data_Block type="xml"/></Earth_Explorer_File>\n'
    for key in keys:
        server.files[f"/asf/{key}"] = eof

    def listing(params: dict) -> tuple[bytes, str]:
        chosen = [k for k in keys if k.startswith(params["prefix"])]
        after = int(params.get("continuation-token", "0"))
        page = chosen[after : after + 250]
        more = after + 250 < len(chosen)
        body = (
            '<?xml version="1.0"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            + "".join(f"<Contents><Key>{k}</Key></Contents>" for k in page)
            + f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>"
            + (f"<NextContinuationToken>{after + 250}</NextContinuationToken>" if more else "")
            + "</ListBucketResult>"
        )
        return body.encode(), "application/xml"

    server.routes["/asf/"] = listing
    provider = get_provider("cdse", {}, settings(server.url, tmp_path, orbits={"source": "asf"}))
    item = {
        "name": "S1A_IW_GRDH_1SDV_20160405T171500_20160405T171525_010000_00ED00_ABCD",
        "sensing_start": "2016-04-05T17:15:00.000000Z",
        "sensing_stop": "2016-04-05T17:15:25.000000Z",
    }
    got = provider.fetch_orbit(item, tmp_path / "orbits" / "x.EOF")
    assert got == "S1A_OPER_AUX_POEORB_OPOD_20210302T003500_V20160404T225944_20160406T005944.EOF"
    assert (tmp_path / "orbits" / "x.EOF").read_bytes() == eof
    listed = [dict(parse_qsl(r["path"].split("?", 1)[1])) for r in server.requests if r["path"].startswith("/asf/?")]
    assert [(q["prefix"], q.get("continuation-token")) for q in listed] == [
        ("AUX_POEORB/S1A_OPER_AUX_POEORB_OPOD_", None),
        ("AUX_POEORB/S1A_OPER_AUX_POEORB_OPOD_", "250"),
    ]
