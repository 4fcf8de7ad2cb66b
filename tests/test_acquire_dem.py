"""The Copernicus DEM: tiles of an AOI mosaicked and clipped, GLO-90 where GLO-30 has none, heights made
ellipsoidal with EGM2008 or a geoid grid."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from cdse_account import account_server, settings
from soilsat.acquire.dem import egm2008_undulation, tile_name, tiles_for, to_ellipsoidal
from soilsat.acquire.factory import get_provider
from soilsat.errors import ProductError


@pytest.fixture()
def server(monkeypatch, tmp_path_factory):
    with account_server(monkeypatch, tmp_path_factory) as state:
        yield state


def _tile(path: Path, lat: int, lon: int, value: float, n: int = 60) -> None:
    profile = {
        "driver": "GTiff",
        "width": n,
        "height": n,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": from_origin(lon, lat + 1, 1 / n, 1 / n),
        "nodata": -32767.0,
    }
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
    with rasterio.open(
        geoid,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(7, 58, 1, 1),
    ) as dst:
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
    assert item["href"].split() == [
        f"{server.url}/dem90/{tile_name(41, 44, 3)}/{tile_name(41, 44, 3)}.tif",
        f"{server.url}/dem/{tile_name(42, 44)}/{tile_name(42, 44)}.tif",
    ]
    caplog.set_level("INFO", logger="soilsat")
    provider.fetch(item, tmp_path / "dem" / "dem_lori.tif")
    with rasterio.open(tmp_path / "dem" / "dem_lori.tif") as src:
        h, tags, res = src.read(1), src.tags(), src.res
        rows, cols = np.mgrid[0 : src.height, 0 : src.width]
        _, lat = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    assert res == pytest.approx((1 / 600, 1 / 600))  # the GLO-30 tile's spacing
    lat = np.asarray(lat).reshape(h.shape)
    assert set(np.unique(h[lat < 41.99])) == {1500.0} and set(np.unique(h[lat > 42.01])) == {1600.0}
    assert tags["SOURCE"] == "Copernicus DEM GLO-30, GLO-90 where GLO-30 has no tile"
    assert tags["TILES"] == f"{tile_name(41, 44, 3)}.tif {tile_name(42, 44)}.tif"
    assert f"GLO-30 has no tile for {tile_name(41, 44, 3)}.tif; GLO-90 fills them on GLO-30's spacing" in caplog.text


@pytest.mark.parametrize(
    "lat,lon,expected",
    [
        (37.0, 241.0, -26.151),
        (37.0, -119.0, -26.151),  # NGA's EGM2008 check values (output.dat), on grid nodes
        (90.0, 0.0, 14.899),
        (-90.0, 359.983333, -30.150),
        (-90.0, 0.0, -30.150),
        (0.0, 0.0, 17.226),
        (20.0, 50.0, -30.7048),  # GeographicLib's GeoidEval (egm2008-1)
    ],
)
def test_packaged_egm2008_grid_gives_the_published_undulations(lat, lon, expected):
    assert float(egm2008_undulation(np.array([lon]), np.array([lat]))[0]) == pytest.approx(expected, abs=0.002)


def test_packaged_egm2008_grid_between_nodes_and_across_the_meridian():
    step = 1 / 24
    nodes = egm2008_undulation(
        np.array([8.0, 8.0 + step, 8.0, 8.0 + step]), np.array([56.0, 56.0, 56.0 - step, 56.0 - step])
    )
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
        rows, cols = np.mgrid[0 : src.height, 0 : src.width]
        lon, lat = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    assert tags["VERTICAL_DATUM"] == "WGS84 ellipsoid" and "EGM2008" in tags["GEOID"]
    expected = 10.0 + egm2008_undulation(np.asarray(lon), np.asarray(lat)).reshape(h.shape)
    np.testing.assert_allclose(h, expected, atol=1e-4)
    assert 38 < h.mean() - 10 < 43


def test_dem_geoid_grid_must_cover():
    heights = np.zeros((2, 2), dtype=np.float32)
    with pytest.raises(ProductError, match="geoid grid not found"):
        to_ellipsoidal(heights, from_origin(0, 1, 0.5, 0.5), "EPSG:4326", "/nonexistent/egm08.tif")
