"""A chip's DEM read by byte ranges from a GLO-30 COG tile on a loopback server: the window over the chip and its
margin only, heights made ellipsoidal as the acquire stage makes them, every byte counted, a missing tile named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject, transform_bounds
from rasterio.windows import from_bounds

from conftest import schema_section
from loopback_stac import serve_stac
from soilsat.acquire.dem import NODATA, tile_name, to_ellipsoidal
from soilsat.chips import centre_pixel, chip_grid, chip_shape
from soilsat.errors import ProductError
from soilsat.extract.chip_dem import read_chip_dem
from soilsat.extract.chip_points import point_chips
from soilsat.extract.chip_radar import chip_chain, radar_point_values
from soilsat.sar.reference.whole_grid import run_chain
from test_chip_values import POINTS, grd  # noqa: F401  (grd: the demo GRD fixture)
from test_chip_values import SHAPE as POINT_SHAPE
from test_sar_graph import sentinel1_settings

SHAPE = chip_shape(5, [30.0], 10.0)  # 11 x 11 pixels
LAT, LON = 55, 8  # the tile's cell
N = 3600  # GLO-30: 1" pixels


@pytest.fixture(scope="module")
def tile() -> bytes:
    """A GLO-30-like COG of the cell (55, 8): smooth hills with noise, float32, blocks of 512."""
    rows, cols = np.mgrid[0:N, 0:N]
    rng = np.random.default_rng(1)
    heights = 200 + 80 * np.sin(rows / 150.0) * np.cos(cols / 210.0) + rng.normal(0, 2, (N, N))
    return _cog_bytes(heights.astype(np.float32), from_origin(LON, LAT + 1, 1 / N, 1 / N))


def _cog_bytes(heights: np.ndarray, transform, nodata: float | None = None) -> bytes:
    """A float32 COG in lon/lat (blocks of 512, DEFLATE) of the heights, as the tiles' bucket holds them."""
    with rasterio.MemoryFile() as mem:
        with mem.open(
            driver="COG",
            width=heights.shape[1],
            height=heights.shape[0],
            count=1,
            dtype="float32",
            crs="EPSG:4326",
            transform=transform,
            nodata=nodata,
            blocksize=512,
            compress="DEFLATE",
        ) as dst:
            dst.write(heights, 1)
        return mem.read()


def _settings(url: str) -> dict:
    return {**schema_section("dem"), "url": url, "glo90_url": url}


def test_a_chip_dem_is_a_small_window_of_the_tile_made_ellipsoidal(tile, tmp_path):
    name = tile_name(LAT, LON)
    path = f"/glo30/{name}/{name}.tif"
    with serve_stac() as server:
        server.add_file(path, tile)
        settings = _settings(f"{server.url}/glo30")
        chip = chip_grid("p1", 8.5, 55.5, SHAPE)
        dem = read_chip_dem(settings, chip, tmp_path)
        served = server.sent[path]
    assert dem.tiles == (f"{server.url}{path}",)
    assert dem.bytes_read == served > 0
    assert served / len(tile) < 0.05
    margin = float(settings["margin_m"])
    with rasterio.open(dem.path) as src:
        heights, transform, crs = src.read(1), src.transform, src.crs
        assert src.tags()["VERTICAL_DATUM"] == "WGS84 ellipsoid"
        left, bottom, right, top = transform_bounds(crs, chip.crs, *src.bounds)
    c0, c1, c2, c3 = chip.bounds
    assert left <= c0 - margin and bottom <= c1 - margin and right >= c2 + margin and top >= c3 + margin
    assert heights.shape[0] < 200 and heights.shape[1] < 200  # about 2 km of 1" pixels, not the tile
    with rasterio.MemoryFile(tile) as mem, mem.open() as src:
        window = from_bounds(*rasterio.transform.array_bounds(*heights.shape, transform), src.transform)
        orthometric = src.read(1, window=window.round_offsets().round_lengths())
    expected = to_ellipsoidal(orthometric, transform, crs, "egm2008")
    np.testing.assert_allclose(heights, expected, atol=1e-3)
    assert np.all(np.abs(heights - orthometric) > 30)  # EGM2008 undulation over Denmark is about 40 m


def test_a_chip_over_a_cell_without_a_tile_names_its_url(tile, tmp_path):
    with serve_stac() as server:
        name = tile_name(LAT, LON)
        server.add_file(f"/glo30/{name}/{name}.tif", tile)
        settings = _settings(f"{server.url}/glo30")
        chip = chip_grid("sea", 7.5, 55.5, SHAPE)  # cell (55, 7): no tile
        with pytest.raises(ProductError) as raised:
            read_chip_dem(settings, chip, tmp_path)
    missing = tile_name(55, 7)
    assert raised.value.path == f"{server.url}/glo30/{missing}/{missing}.tif"
    assert "no Copernicus DEM tile" in str(raised.value)


def _cell_tile(dem: Path, lat: int, lon: int, n: int = N) -> bytes:
    """A GLO-30-like COG of a cell holding a DEM file's heights (bilinear), no data elsewhere."""
    heights = np.full((n, n), NODATA, dtype=np.float32)
    transform = from_origin(lon, lat + 1, 1 / n, 1 / n)
    with rasterio.open(dem) as src:
        reproject(
            rasterio.band(src, 1),
            heights,
            dst_transform=transform,
            dst_crs="EPSG:4326",
            dst_nodata=NODATA,
            resampling=Resampling.bilinear,
        )
    return _cog_bytes(heights, transform, NODATA)


def test_chip_radar_reads_the_dem_of_a_point_outside_every_study_dem_file(s1_demo_world, grd, tmp_path):  # noqa: F811
    root = s1_demo_world[0]
    zip_path, record, files = grd
    settings = sentinel1_settings()
    name = tile_name(LAT, LON)
    tile_path = f"/glo30/{name}/{name}.tif"
    with serve_stac() as api:
        api.add_file(tile_path, _cell_tile(root / "dem" / "dem_t.tif", LAT, LON))
        for rel, data in files.items():
            api.add_file(f"/s1/{record['name']}.SAFE/{rel}", data)
        item = {
            "id": record["name"],
            "geometry": {"type": "Polygon", "coordinates": [[[8.9, 55.9], [9.0, 55.9], [9.0, 56.0], [8.9, 55.9]]]},
            "properties": {"datetime": record["sensing_start"]},
            "assets": {"safe": {"href": f"{api.url}/s1/{record['name']}.SAFE", "file:size": zip_path.stat().st_size}},
        }
        dem_settings = _settings(f"{api.url}/glo30")
        with pytest.raises(ValueError, match="none of the 0 DEM files"):
            radar_point_values([item], {record["name"]: ["centre"]}, POINTS, POINT_SHAPE, settings, [])
        values, costs = radar_point_values(
            [item], {record["name"]: ["centre"]}, POINTS, POINT_SHAPE, settings, [], dem_settings=dem_settings
        )
        dem_bytes = api.sent[tile_path]
        served = sum(api.sent.values())
        chip = point_chips(POINTS, POINT_SHAPE)["centre"]
        local_dem = read_chip_dem(dem_settings, chip, tmp_path)  # the same window again, for the local run
    assert dem_bytes > 0 and costs["bytes_read"].sum() == served  # the DEM's ranges join the point's cost
    local = run_chain(chip_chain(str(zip_path), chip, local_dem.path, settings), chip)
    row, col = centre_pixel(POINT_SHAPE)
    assert values["VV"].iloc[0] == local["sigma0_VV"].values[row, col] > 0
    assert values["VH"].iloc[0] == local["sigma0_VH"].values[row, col] > 0
