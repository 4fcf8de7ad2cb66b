"""The real provider (`provider: cdse`) source by source, against the loopback server and user files."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin

sys.path.insert(0, str(Path(__file__).parent))

from conftest import real_fixture  # noqa: E402
from loopback import DOWNLOAD_PATH, serve  # noqa: E402
from test_cdse import PASSWORD, USER, safe_zip, settings_for  # noqa: E402

from soilsat.acquire.dem import egm2008_undulation, tile_name, tiles_for, to_ellipsoidal  # noqa: E402
from soilsat.acquire.orbits import parse_eof_name, pick_orbit  # noqa: E402
from soilsat.acquire.provider import CATALOG_COLUMNS, get_provider, item_filename  # noqa: E402
from soilsat.acquire.tables import read_weather  # noqa: E402
from soilsat.errors import ConfigError, ProductError  # noqa: E402

RETRIES = {"max_tries": 3, "base_delay_s": 0.001, "max_delay_s": 0.01, "timeout_s": 5}
REGION = {"name": "skjern", "lon": 8.99, "lat": 55.95, "size_m": 2000}


@pytest.fixture()
def server(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("CDSE_USERNAME", USER)
    monkeypatch.setenv("CDSE_PASSWORD", PASSWORD)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("user-cache")))  # the token cache of the test
    with serve() as state:
        state.users[USER] = PASSWORD
        yield state


def settings(url: str, tmp: Path, **sections) -> dict:
    base = {
        "regions": [REGION], "grid": {"margin_m": 500, "resolution": 10},
        "cdse": settings_for(url), "orbits": {"types": ["AUX_POEORB", "AUX_RESORB"], "margin_s": 60, "source": "cdse",
                   "asf_url": f"{url}/asf", "retries": RETRIES},
        "weather": {"url": f"{url}/v1/archive", "model": "era5_land", "cache_dir": str(tmp / "cache" / "weather"),
                    "retries": RETRIES},
        "dem": {"url": f"{url}/dem", "glo90_url": f"{url}/dem90", "margin_m": 0, "geoid_grid": None,
                "cache_dir": str(tmp / "cache" / "dem"), "retries": RETRIES},
        "ismn": {"archive": None, "networks": None, "stations": None, "depth_to": 0.05},
        "landcover": {"path": None}, "soil": {"path": None, "bands": None},
        "lucas": {"path": None, "coordinates": None, "points": None, "year": None, "land_cover_prefixes": [], "clip_to_regions": True},
    }
    for key, value in sections.items():
        base[key] = base[key] | value
    return base


def test_sentinel1_search_and_fetch(server, tmp_path):
    data = safe_zip("S1A_IW_GRDH_1SDV_20200105T171500_20200105T171525_030000_036000_ABCD")
    product = {"Id": "abc-1", "Name": "S1A_IW_GRDH_1SDV_20200105T171500_20200105T171525_030000_036000_ABCD.SAFE",
               "ContentLength": len(data), "Footprint": "geography'SRID=4326;POLYGON ((8 55, 10 55, 10 57, 8 57, 8 55))'",
               "Checksum": [{"Algorithm": "MD5", "Value": hashlib.md5(data).hexdigest()}],
               "ContentDate": {"Start": "2020-01-05T17:15:00.000000Z", "End": "2020-01-05T17:15:25.000000Z"},
               "Attributes": [{"Name": "productType", "Value": "IW_GRDH_1S"},
                              {"Name": "orbitDirection", "Value": "ASCENDING"},
                              {"Name": "relativeOrbitNumber", "Value": 117}, {"Name": "orbitNumber", "Value": 30000},
                              {"Name": "platformShortName", "Value": "SENTINEL-1"},
                              {"Name": "platformSerialIdentifier", "Value": "A"}]}
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


def test_orbit_file_is_chosen_by_cover_and_production():
    names = ["S1A_OPER_AUX_POEORB_OPOD_20200125T120000_V20200104T225942_20200106T005942.EOF",
             "S1A_OPER_AUX_POEORB_OPOD_20200126T120000_V20200104T225942_20200106T005942.EOF",
             "S1A_OPER_AUX_POEORB_OPOD_20200126T120000_V20200105T225942_20200107T005942.EOF",
             "S1B_OPER_AUX_POEORB_OPOD_20200127T120000_V20200104T225942_20200106T005942.EOF",
             "S1A_OPER_AUX_RESORB_OPOD_20200105T190000_V20200105T160000_20200105T200000.EOF"]
    start, stop = "2020-01-05T17:15:00Z", "2020-01-05T17:15:25Z"
    assert pick_orbit(names, "S1A", start, stop, 60) == names[1]
    assert pick_orbit(names[4:], "S1A", start, stop, 60) == names[4]
    assert pick_orbit(names[4:], "S1A", "2020-01-05T19:59:30Z", "2020-01-05T19:59:55Z", 60) is None
    assert parse_eof_name(names[0])["stop"] == dt.datetime(2020, 1, 6, 0, 59, 42)


def test_orbit_fetch_delivers_the_eof(server, tmp_path):
    eof_name = "S1A_OPER_AUX_POEORB_OPOD_20200126T120000_V20200104T225942_20200106T005942.EOF"
    eof = b'<?xml version="1.0"?>\n<Earth_Explorer_File><Data_Block type="xml"/></Earth_Explorer_File>\n'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(eof_name, eof)
    data = buf.getvalue()
    orbit = {"Id": "orb-1", "Name": eof_name, "ContentLength": len(data), "Footprint": None, "Attributes": [],
             "Checksum": [{"Algorithm": "MD5", "Value": hashlib.md5(data).hexdigest()}],
             "ContentDate": {"Start": "2020-01-04T22:59:42.000000Z", "End": "2020-01-06T00:59:42.000000Z"}}
    server.catalogue = lambda params: ({"value": [orbit], "@odata.count": 1} if "AUX_POEORB" in params["$filter"]
                                       else {"value": [], "@odata.count": 0})
    server.files[f"{DOWNLOAD_PATH}/Products(orb-1)/$value"] = data
    provider = get_provider("cdse", {}, settings(server.url, tmp_path))
    item = {"name": "S1A_IW_GRDH_1SDV_20200105T171500_20200105T171525_030000_036000_ABCD",
            "sensing_start": "2020-01-05T17:15:00.000000Z", "sensing_stop": "2020-01-05T17:15:25.000000Z"}
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
    keys = [f"AUX_POEORB/S1A_OPER_AUX_POEORB_OPOD_202001{d:02d}T080000_V202001{d - 21:02d}T225942_202001{d - 19:02d}T005942.EOF"
            for d in range(23, 31)] + ["AUX_POEORB/S1B_OPER_AUX_POEORB_OPOD_20200125T080000_V20200104T225942_20200106T005942.EOF"]
    eof = b'<?xml version="1.0"?>\n<Earth_Explorer_File><Data_Block type="xml"/></Earth_Explorer_File>\n'
    for key in keys:
        server.files[f"/asf/{key}"] = eof

    def listing(params: dict) -> tuple[bytes, str]:
        chosen = [k for k in keys if k.startswith(params["prefix"])]
        first = params.get("continuation-token") != "page2"
        page = chosen[:4] if first else chosen[4:]
        more = first and len(chosen) > 4
        body = ('<?xml version="1.0"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                + "".join(f"<Contents><Key>{k}</Key></Contents>" for k in page)
                + f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>"
                + ("<NextContinuationToken>page2</NextContinuationToken>" if more else "") + "</ListBucketResult>")
        return body.encode(), "application/xml"

    server.routes["/asf/"] = listing
    conf = settings(server.url, tmp_path, orbits={"source": "asf"})
    provider = get_provider("cdse", {}, conf)
    item = {"name": "S1A_IW_GRDH_1SDV_20200105T171500_20200105T171525_030000_036000_ABCD",
            "sensing_start": "2020-01-05T17:15:00.000000Z", "sensing_stop": "2020-01-05T17:15:25.000000Z"}
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
            keys.append(f"AUX_POEORB/{platform}_OPER_AUX_POEORB_OPOD_{produced:{stamp}}_V{start:{stamp}}_"
                        f"{start + dt.timedelta(hours=26):{stamp}}.EOF")
    keys.append("AUX_RESORB/S1A_OPER_AUX_RESORB_OPOD_20231001T063418_V20231001T023127_20231001T054857.EOF")
    keys.sort()
    eof = b'<?xml version="1.0"?>\n<Earth_Explorer_File><Data_Block type="xml"/></Earth_Explorer_File>\n'
    for key in keys:
        server.files[f"/asf/{key}"] = eof

    def listing(params: dict) -> tuple[bytes, str]:
        chosen = [k for k in keys if k.startswith(params["prefix"])]
        after = int(params.get("continuation-token", "0"))
        page = chosen[after:after + 250]
        more = after + 250 < len(chosen)
        body = ('<?xml version="1.0"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                + "".join(f"<Contents><Key>{k}</Key></Contents>" for k in page)
                + f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>"
                + (f"<NextContinuationToken>{after + 250}</NextContinuationToken>" if more else "")
                + "</ListBucketResult>")
        return body.encode(), "application/xml"

    server.routes["/asf/"] = listing
    provider = get_provider("cdse", {}, settings(server.url, tmp_path, orbits={"source": "asf"}))
    item = {"name": "S1A_IW_GRDH_1SDV_20160405T171500_20160405T171525_010000_00ED00_ABCD",
            "sensing_start": "2016-04-05T17:15:00.000000Z", "sensing_stop": "2016-04-05T17:15:25.000000Z"}
    got = provider.fetch_orbit(item, tmp_path / "orbits" / "x.EOF")
    assert got == "S1A_OPER_AUX_POEORB_OPOD_20210302T003500_V20160404T225944_20160406T005944.EOF"
    assert (tmp_path / "orbits" / "x.EOF").read_bytes() == eof
    listed = [dict(parse_qsl(r["path"].split("?", 1)[1])) for r in server.requests if r["path"].startswith("/asf/?")]
    assert [(q["prefix"], q.get("continuation-token")) for q in listed] == [
        ("AUX_POEORB/S1A_OPER_AUX_POEORB_OPOD_", None), ("AUX_POEORB/S1A_OPER_AUX_POEORB_OPOD_", "250")]


def test_weather_from_open_meteo_with_cached_answer(server, tmp_path):
    answer = {"latitude": 55.95, "longitude": 9.0, "elevation": 31.0,
              "daily": {"time": ["2020-01-01", "2020-01-02", "2020-01-03"], "precipitation_sum": [0.0, 4.2, None],
                        "temperature_2m_min": [-1.5, 0.5, 1.0], "temperature_2m_mean": [1.0, 2.5, 3.0],
                        "temperature_2m_max": [3.0, 4.0, 5.0]}}
    server.files["/v1/archive"] = json.dumps(answer).encode()
    server.fault("/v1/archive", "429")
    conf = settings(server.url, tmp_path)
    provider = get_provider("cdse", {}, conf)
    catalog = provider.search("weather", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 3))
    item = catalog.iloc[0].to_dict()
    assert item_filename(item) == "weather_skjern.csv"
    assert "daily=precipitation_sum%2Ctemperature_2m_min" in item["href"] and "models=era5_land" in item["href"]
    provider.fetch(item, tmp_path / "weather" / "weather_skjern.csv")
    table = read_weather(tmp_path / "weather" / "weather_skjern.csv")
    assert table.index.strftime("%Y-%m-%d").tolist() == ["2020-01-01", "2020-01-02", "2020-01-03"]
    assert table["precipitation"].tolist()[:2] == [0.0, 4.2] and np.isnan(table["precipitation"].iloc[2])
    assert table["tmin"].tolist() == [-1.5, 0.5, 1.0] and table.attrs["latitude"] == 55.95
    n = len(server.requests)
    provider.fetch(item, tmp_path / "again.csv")  # served from the raw-response cache
    assert len(server.requests) == n and len(list((tmp_path / "cache" / "weather").glob("*.json"))) == 1


def test_open_meteo_says_why_it_refused_a_query(server, tmp_path):
    reason = "Parameter 'start_date' is out of allowed range from 1940-01-01 to 2026-12-20"
    server.routes["/v1/archive"] = lambda params: (400, json.dumps({"error": True, "reason": reason}).encode(),
                                                   "application/json")
    provider = get_provider("cdse", {}, settings(server.url, tmp_path))
    item = provider.search("weather", ["skjern"], dt.date(1900, 1, 1), dt.date(1900, 1, 3)).iloc[0].to_dict()
    with pytest.raises(ProductError) as err:
        provider.fetch(item, tmp_path / "weather" / "weather_skjern.csv")
    assert str(err.value) == f"{server.url}/v1/archive: Open-Meteo refused the query (HTTP 400): {reason}"
    assert [r["path"].split("?")[0] for r in server.requests] == ["/v1/archive"]  # a 400 is not retried
    assert not (tmp_path / "weather").exists() and not list((tmp_path / "cache").rglob("*.json"))


def _tile(path: Path, lat: int, lon: int, value: float, n: int = 60) -> None:
    profile = dict(driver="GTiff", width=n, height=n, count=1, dtype="float32", crs="EPSG:4326",
                   transform=from_origin(lon, lat + 1, 1 / n, 1 / n), nodata=-32767.0)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((1, n, n), value, dtype=np.float32))


def test_dem_tiles_are_mosaicked_clipped_and_made_ellipsoidal(server, tmp_path):
    assert tile_name(55, 8) == "Copernicus_DSM_COG_10_N55_00_E008_00_DEM"
    assert tile_name(-1, -71) == "Copernicus_DSM_COG_10_S01_00_W071_00_DEM"
    bounds = (8.98, 55.94, 9.01, 55.96)
    assert tiles_for(bounds) == [tile_name(55, 8), tile_name(55, 9)]
    for lon, value in ((8, 10.0), (9, 20.0)):
        _tile(tmp_path / "t.tif", 55, lon, value)
        name = tile_name(55, lon)
        server.files[f"/dem/{name}/{name}.tif"] = (tmp_path / "t.tif").read_bytes()
    geoid = tmp_path / "geoid.tif"
    with rasterio.open(geoid, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(7, 58, 1, 1)) as dst:
        dst.write(np.full((1, 4, 4), 40.0, dtype=np.float32))
    provider = get_provider("cdse", {}, settings(server.url, tmp_path, dem={"geoid_grid": str(geoid)}))
    item = provider.search("dem", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)).iloc[0].to_dict()
    provider.fetch(item, tmp_path / "dem" / "dem_skjern.tif")
    with rasterio.open(tmp_path / "dem" / "dem_skjern.tif") as src:
        h = src.read(1)
        west, south, east, north = src.bounds
        assert src.tags()["VERTICAL_DATUM"] == "WGS84 ellipsoid"
    assert west < 8.99 - 0.01 and east > 8.99 + 0.01 and south < 55.95 < north
    assert set(np.unique(h)) == {50.0, 60.0}  # 10 and 20 m above EGM2008 plus a 40 m undulation


def test_glo30_cells_over_armenia_come_from_glo90(server, tmp_path, caplog):
    region = {"name": "lori", "lon": 44.5, "lat": 42.0, "size_m": 2000}  # N41 (missing in GLO-30) and N42
    for lat, arc, n, value in ((41, 3, 200, 1500.0), (42, 1, 600, 1600.0)):  # 3 to 1 in spacing, as GLO-90 to 30
        _tile(tmp_path / "t.tif", lat, 44, value, n=n)
        name = tile_name(lat, 44, arc_seconds=arc)
        server.files[f"/dem{'90' if arc == 3 else ''}/{name}/{name}.tif"] = (tmp_path / "t.tif").read_bytes()
    conf = settings(server.url, tmp_path)
    conf["regions"] = [region]
    provider = get_provider("cdse", {}, conf)
    item = provider.search("dem", ["lori"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)).iloc[0].to_dict()
    assert item["href"].split() == [f"{server.url}/dem90/{tile_name(41, 44, 3)}/{tile_name(41, 44, 3)}.tif",
                                    f"{server.url}/dem/{tile_name(42, 44)}/{tile_name(42, 44)}.tif"]
    caplog.set_level("INFO", logger="soilsat")
    provider.fetch(item, tmp_path / "dem" / "dem_lori.tif")
    with rasterio.open(tmp_path / "dem" / "dem_lori.tif") as src:
        h, tags, res = src.read(1), src.tags(), src.res
        rows, cols = np.mgrid[0:src.height, 0:src.width]
        _, lat = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    assert res == pytest.approx((1 / 600, 1 / 600))  # the GLO-30 tile's spacing
    lat = np.asarray(lat).reshape(h.shape)
    assert set(np.unique(h[lat < 41.99])) == {1500.0} and set(np.unique(h[lat > 42.01])) == {1600.0}
    assert tags["SOURCE"] == "Copernicus DEM GLO-30, GLO-90 where GLO-30 has no tile"
    assert tags["TILES"] == f"{tile_name(41, 44, 3)}.tif {tile_name(42, 44)}.tif"
    assert f"GLO-30 has no tile for {tile_name(41, 44, 3)}.tif; GLO-90 fills them on GLO-30's spacing" in caplog.text


@pytest.mark.parametrize("lat,lon,expected", [
    (37.0, 241.0, -26.151), (37.0, -119.0, -26.151),  # NGA's EGM2008 check values (output.dat), on grid nodes
    (90.0, 0.0, 14.899), (-90.0, 359.983333, -30.150), (-90.0, 0.0, -30.150),
    (0.0, 0.0, 17.226), (20.0, 50.0, -30.7048),  # GeographicLib's GeoidEval (egm2008-1)
])
def test_packaged_egm2008_grid_gives_the_published_undulations(lat, lon, expected):
    assert float(egm2008_undulation(np.array([lon]), np.array([lat]))[0]) == pytest.approx(expected, abs=0.002)


def test_packaged_egm2008_grid_between_nodes_and_across_the_meridian():
    step = 1 / 24
    nodes = egm2008_undulation(np.array([8.0, 8.0 + step, 8.0, 8.0 + step]), np.array([56.0, 56.0, 56.0 - step, 56.0 - step]))
    centre = egm2008_undulation(np.array([8.0 + step / 2]), np.array([56.0 - step / 2]))[0]
    assert centre == pytest.approx(nodes.mean(), abs=1e-9)  # bilinear
    west, east = egm2008_undulation(np.array([-0.01, 359.99]), np.array([41.5, 41.5]))
    assert west == east and 45 < west < 55  # Spain, either side of the prime meridian
    with pytest.raises(ValueError, match="latitudes must lie within"):
        egm2008_undulation(np.array([0.0]), np.array([91.0]))


def test_dem_made_ellipsoidal_with_the_packaged_egm2008_by_default(server, tmp_path):
    """The default dem.geoid_grid (egm2008) adds EGM2008's undulation at every pixel: about 40 m in Denmark."""
    import yaml

    schema = yaml.safe_load((Path(__file__).parents[1] / "rules" / "schemas" / "config.schema.yaml").read_text())
    default = schema["properties"]["dem"]["properties"]["geoid_grid"]["default"]
    assert default == "egm2008"
    for lon in (8, 9):
        _tile(tmp_path / "t.tif", 55, lon, 10.0)
        name = tile_name(55, lon)
        server.files[f"/dem/{name}/{name}.tif"] = (tmp_path / "t.tif").read_bytes()
    provider = get_provider("cdse", {}, settings(server.url, tmp_path, dem={"geoid_grid": default}))
    item = provider.search("dem", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)).iloc[0].to_dict()
    provider.fetch(item, tmp_path / "dem" / "dem_skjern.tif")
    with rasterio.open(tmp_path / "dem" / "dem_skjern.tif") as src:
        h = src.read(1)
        tags = src.tags()
        rows, cols = np.mgrid[0:src.height, 0:src.width]
        lon, lat = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    assert tags["VERTICAL_DATUM"] == "WGS84 ellipsoid" and "EGM2008" in tags["GEOID"]
    expected = 10.0 + egm2008_undulation(np.asarray(lon), np.asarray(lat)).reshape(h.shape)
    np.testing.assert_allclose(h, expected, atol=1e-4)
    assert 38 < h.mean() - 10 < 43


def test_dem_geoid_grid_must_cover():
    heights = np.zeros((2, 2), dtype=np.float32)
    with pytest.raises(ProductError, match="geoid grid not found"):
        to_ellipsoidal(heights, from_origin(0, 1, 0.5, 0.5), "EPSG:4326", "/nonexistent/egm08.tif")


def test_ismn_archive_is_restricted_to_configured_networks(tmp_path):
    archive = real_fixture("ismn", "Data_seperate_files_header_20170810_20180809.zip")
    conf = settings("http://127.0.0.1:9", tmp_path, ismn={"archive": str(archive), "networks": ["COSMOS"],
                                                            "stations": ["ARM-1"], "depth_to": 0.3})
    provider = get_provider("cdse", {}, conf)
    item = provider.search("ismn", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)).iloc[0].to_dict()
    assert item["checksum"] == hashlib.md5(archive.read_bytes()).hexdigest()
    out = tmp_path / "ismn" / item_filename(item)
    provider.fetch(item, out)
    names = zipfile.ZipFile(out).namelist()
    assert any("ARM-1" in n for n in names) and not any("Barrow" in n for n in names)
    probes = pd.read_csv(out.with_name(out.stem + "_probes.csv"))
    assert set(probes["station"]) == {"ARM-1"} and (probes["depth_to"] <= 0.3).all()


def test_missing_user_files_name_the_key_and_the_expected_file(tmp_path):
    provider = get_provider("cdse", {}, settings("http://127.0.0.1:9", tmp_path,
                                                 landcover={"path": str(tmp_path / "clc.tif")}))
    with pytest.raises(ConfigError, match=r"config key landcover.path: .*clc.tif not found; expected CORINE Land Cover 2018"):
        provider.search("landcover", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2))
    with pytest.raises(ConfigError, match="config key ismn.archive is not set: download an ISMN download"):
        provider.search("ismn", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2))


def test_landcover_and_soil_are_clipped_to_the_aoi(tmp_path):
    clc = tmp_path / "clc.tif"
    with rasterio.open(clc, "w", driver="GTiff", width=400, height=400, count=1, dtype="uint8", crs="EPSG:4326",
                       transform=from_origin(8.5, 56.5, 0.0025, 0.0025)) as dst:
        dst.write(np.arange(400 * 400).reshape(1, 400, 400).astype(np.uint8) % 40 + 200)
    soil = tmp_path / "hwsd.tif"
    with rasterio.open(soil, "w", driver="GTiff", width=40, height=40, count=5, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(8.5, 56.5, 0.025, 0.025)) as dst:
        dst.write(np.stack([np.full((40, 40), v, np.float32) for v in (20, 30, 50, 1.2, 60)]))
    provider = get_provider("cdse", {}, settings("http://127.0.0.1:9", tmp_path, landcover={"path": str(clc)},
                                                 soil={"path": str(soil), "bands": ["clay", "silt", "sand",
                                                                                    "organic_carbon", "base_saturation"]}))
    for kind in ("landcover", "soil"):
        item = provider.search(kind, ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)).iloc[0].to_dict()
        provider.fetch(item, tmp_path / kind / item_filename(item))
    with rasterio.open(tmp_path / "landcover" / "landcover_skjern.tif") as src:
        w, s, e, n = src.bounds
        assert src.width < 400 and w <= 8.99 - 0.0237 and e >= 8.99 + 0.0237 and s <= 55.95 - 0.0135 <= n
        assert src.read(1).min() >= 200
    with rasterio.open(tmp_path / "soil" / "soil_skjern.tif") as src:
        assert list(src.descriptions) == ["clay", "silt", "sand", "organic_carbon", "base_saturation"]
        assert src.read(1)[0, 0] == 20 and src.read(5)[0, 0] == 60


def test_soil_raster_without_band_names_is_refused(tmp_path):
    soil = tmp_path / "hwsd.tif"
    with rasterio.open(soil, "w", driver="GTiff", width=40, height=40, count=2, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(8.5, 56.5, 0.025, 0.025)) as dst:
        dst.write(np.zeros((2, 40, 40), np.float32))
    provider = get_provider("cdse", {}, settings("http://127.0.0.1:9", tmp_path, soil={"path": str(soil)}))
    item = provider.search("soil", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)).iloc[0].to_dict()
    with pytest.raises(ProductError, match="soil raster lacks band.s. clay, silt, sand, organic_carbon, base_saturation"):
        provider.fetch(item, tmp_path / "soil" / "soil_skjern.tif")
    assert not (tmp_path / "soil" / "soil_skjern.tif").exists()


def test_lucas_releases_become_one_table(tmp_path):
    rows = {"POINTID": [1, 2, 3], "Clay": [20, 35, 10], "Silt": [40, 40, 30], "Sand": [40, 25, 60],
            "OC": [12.0, 30.5, 8.0], "LC1": ["B11", "C21", "B16"]}
    coords = {"TH_LAT": [55.951, 55.949, 48.0], "TH_LONG": [8.991, 8.989, 2.0]}
    pd.DataFrame(rows | coords).to_excel(tmp_path / "lucas2009.xlsx", index=False)
    conf = {"path": str(tmp_path / "lucas2009.xlsx"), "year": 2009, "land_cover_prefixes": ["B"]}
    provider = get_provider("cdse", {}, settings("http://127.0.0.1:9", tmp_path, lucas=conf))
    item = provider.search("lucas", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)).iloc[0].to_dict()
    provider.fetch(item, tmp_path / "lucas" / "lucas.csv")
    table = pd.read_csv(tmp_path / "lucas" / "lucas.csv")
    assert list(table.columns) == ["point_id", "lat", "lon", "year", "clay", "silt", "sand", "oc"]
    assert table["point_id"].tolist() == [1] and table["year"].tolist() == [2009]  # cropland inside the AOI
    # 2015: the table without coordinates, joined with the point coordinates.
    pd.DataFrame(rows | {"SURVEY_DATE": ["02-06-15"] * 3}).to_csv(tmp_path / "lucas2015.csv", index=False)
    pd.DataFrame({"POINT_ID": [1, 2, 3]} | coords).to_csv(tmp_path / "grid2015.csv", index=False)
    conf = {"path": str(tmp_path / "lucas2015.csv"), "coordinates": str(tmp_path / "grid2015.csv")}
    provider = get_provider("cdse", {}, settings("http://127.0.0.1:9", tmp_path, lucas=conf))
    provider.fetch(item, tmp_path / "lucas15.csv")
    table = pd.read_csv(tmp_path / "lucas15.csv")
    assert table["point_id"].tolist() == [1, 2] and table["year"].tolist() == [2015, 2015]
    assert table["oc"].tolist() == [12.0, 30.5]


def test_demo_provider_still_served_by_get_provider(tmp_path):
    pd.DataFrame([{"source": "dem", "name": "dem_a.tif", "path": "dem/dem_a.tif", "md5": "x", "regions": "a"}]).to_csv(
        tmp_path / "index.csv", index=False)
    catalog = get_provider("demo", {"archive": str(tmp_path)}).search("dem", ["a"], dt.date(2020, 1, 1),
                                                                       dt.date(2020, 1, 2))
    assert item_filename(catalog.iloc[0].to_dict()) == "dem_a.tif"
    with pytest.raises(ValueError, match="unknown provider 'nope'"):
        get_provider("nope", {})


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
            images = [f"GRANULE/{pid.granule}/IMG_DATA/R{r}m/{pid.stem}_{b}_{r}m" for r, b in ((10, "B04"), (20, "B12"))]
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
    return {"Id": pid, "Name": f"{name}.SAFE", "ContentLength": len(data), "_collection": "SENTINEL-2",
            "Footprint": "geography'SRID=4326;POLYGON ((8.3 55.4, 10 55.4, 10 56.4, 8.3 56.4, 8.3 55.4))'",
            "Checksum": [{"Algorithm": "MD5", "Value": hashlib.md5(data).hexdigest()}],
            "ContentDate": {"Start": f"{start:%Y-%m-%dT%H:%M:%S}.024000Z", "End": f"{start:%Y-%m-%dT%H:%M:%S}.024000Z"},
            "Attributes": [{"Name": "productType", "Value": f"S2MSI{level[1:]}"}, {"Name": "cloudCover", "Value": cloud_cover},
                           {"Name": "tileId", "Value": name.split("_")[5][1:]}, {"Name": "processingBaseline", "Value": "05.00"},
                           {"Name": "orbitDirection", "Value": "DESCENDING"}, {"Name": "relativeOrbitNumber", "Value": int(name.split("_")[4][1:])},
                           {"Name": "orbitNumber", "Value": 24000}, {"Name": "platformShortName", "Value": "SENTINEL-2"},
                           {"Name": "platformSerialIdentifier", "Value": "A"}]}


@pytest.mark.parametrize("level", ["L2A", "L1C"])
def test_sentinel2_search_with_cloud_filter_and_fetch(server, tmp_path, level):
    from urllib.parse import parse_qsl

    from loopback import attribute_catalogue

    from soilsat.acquire.archives import safe_extract
    from soilsat.optical.safe import read_metadata

    products, zips = [], {}
    for k, (lvl, day, cloud) in enumerate([("L2A", "2020-05-02", 12.5), ("L2A", "2020-05-07", 55.0),
                                           ("L2A", "2020-05-12", 29.9), ("L1C", "2020-05-02", 12.5),
                                           ("L1C", "2020-05-17", 80.0)]):
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
    assert (row["tile"], row["processing_baseline"], row["orbit_direction"], row["relative_orbit"]) == \
        (row["name"].split("_")[5][1:], "05.00", "DESCENDING", int(row["name"].split("_")[4][1:]))
    assert row["footprint_wkt"].startswith("POLYGON ((8.3 55.4") and row["regions"] == "skjern"
    assert row["checksum"] == hashlib.md5(zips[row["name"]]).hexdigest() and int(row["size"]) == len(zips[row["name"]])
    query = next(dict(parse_qsl(r["path"].split("?", 1)[1]))["$filter"] for r in server.requests if "Products?" in r["path"])
    assert "Collection/Name eq 'SENTINEL-2'" in query and f"Value eq 'S2MSI{level[1:]}'" in query
    assert "att/Name eq 'cloudCover' and att/OData.CSC.DoubleAttribute/Value le 30.00" in query and "Intersects" in query
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
