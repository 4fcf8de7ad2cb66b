"""Sentinel-2 chips by range reads from STAC items: Earth Search-like COGs over HTTP and CDSE-like JP2 on S3, against
the SAFE route on the same chip, with the bytes that crossed the wire and the faults of real archives."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

from conftest import schema_section
from loopback_stac import moto_s3, serve_stac
from soilsat import remote_files
from soilsat.chips import chip_grid, chip_shape
from soilsat.demo.sentinel2 import write_products
from soilsat.demo.world import RegionSpec, WorldSpec, make_world
from soilsat.errors import ConfigError, ProductError
from soilsat.optical.chip_observations import item_bytes, read_observations
from soilsat.optical.chip_reads import WholeFileAnswer, l2a_chip, l2a_chips
from soilsat.optical.process import OpticalSettings, l2a_on_grid
from soilsat.optical.safe import Product, read_band, read_metadata
from soilsat.optical.stac_item import COMMON_NAMES, harmonisation, item_product
from soilsat.remote_files import S3Archive, remote_env
from soilsat.transfers import counting

OPTICAL = OpticalSettings.from_config(schema_section("sentinel2"))
NO_PROBABILITY = dataclasses.replace(OPTICAL, cloud_probability_max=101.0, snow_probability_max=101.0)
SHAPE = chip_shape(5, [30.0], 10.0)  # 11 x 11 pixels
POINTS = [("centre", 8.95, 55.95), ("north_west", 8.941, 55.957)]


@pytest.fixture(scope="module")
def safe(tmp_path_factory) -> tuple[Path, Product]:
    """A demo L2A product (baseline 05.00, offset -1000) as a zip and its metadata."""
    spec = WorldSpec(
        regions=(RegionSpec("t", 8.95, 55.95, 1500, "humid"),),
        start=dt.date(2020, 4, 1),
        end=dt.date(2020, 4, 5),
        probes_per_region=3,
        lucas_samples=10,
    )
    root = tmp_path_factory.mktemp("chipreads")
    rows = write_products(make_world(spec), spec, root / "archive", root / "truth", workers=1)
    row = next(r for r in rows if r["product_type"] == "S2MSI2A")
    path = root / "archive" / row["path"]
    return path, read_metadata(path)


def _jp2_bytes(product: Product, gdal_path: str) -> bytes:
    """The bytes of one file of a zipped SAFE."""
    zip_path, member = gdal_path.removeprefix("/vsizip/").split(".zip/", 1)
    with zipfile.ZipFile(zip_path + ".zip") as z:
        return z.read(member)


def _cog(gdal_path: str, offset: float) -> bytes:
    """A band of the SAFE as a COG, with `offset` added to its numbers (0 stays no data), tiles of 128 pixels."""
    with rasterio.open(gdal_path) as src:
        dn = src.read(1)
        profile = dict(crs=src.crs, transform=src.transform, width=src.width, height=src.height, dtype=dn.dtype)
    shifted = np.where(dn > 0, np.clip(dn.astype(np.int32) + int(offset), 1, None), 0).astype(dn.dtype)
    with rasterio.MemoryFile() as mem:
        with mem.open(driver="COG", count=1, compress="DEFLATE", blocksize=128, **profile) as dst:
            dst.write(shifted, 1)
        return mem.read()


def _item(item_id: str, collection: str, properties: dict, assets: dict) -> dict:
    ring = [[8.9, 55.9], [9.0, 55.9], [9.0, 56.0], [8.9, 56.0], [8.9, 55.9]]
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": collection,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [8.9, 55.9, 9.0, 56.0],
        "properties": {"datetime": "2020-04-02T10:32:40Z", **properties},
        "assets": assets,
        "links": [],
    }


def earth_search_item(api, product: Product, properties: dict, raster_bands: dict | None = None) -> dict:
    """An Earth Search collection-1 item: harmonised COGs (the product's offset applied) at each band's finest
    resolution, named by common names, served by the loopback API."""
    assets = {}
    for band, key in COMMON_NAMES.items():
        resolutions = product.resolutions(band)
        if not resolutions:
            continue
        path = product.band_files[(band, resolutions[0])]
        offset = product.offsets.get(band, 0.0) if band != "SCL" else 0.0
        data = _cog(path, offset)
        href = api.add_file(f"/cogs/{key}.tif", data)
        assets[key] = {"href": href, "type": "image/tiff; application=geotiff; profile=cloud-optimized"}
        assets[key]["file:size"] = len(data)
        if raster_bands is not None and band != "SCL":
            assets[key]["raster:bands"] = [raster_bands]
    return _item("S2A_32UMH_20200402_0_L2A", "sentinel-2-c1-l2a", properties, assets)


def cdse_item(s3, prefix: str, product: Product) -> dict:
    """A CDSE item: the SAFE's JP2 files on S3 under `prefix`, keys like B04_10m, SCL_20m, CLD_20m."""
    assets = {}
    files = {f"{b}_{r}m": p for (b, r), p in product.band_files.items()}
    files.update({"CLD_20m": product.mask_files["MSK_CLDPRB_20m"], "SNW_20m": product.mask_files["MSK_SNWPRB_20m"]})
    for key, path in files.items():
        name = f"{prefix}/{path.rsplit('/', 1)[1]}"
        s3.client.upload_fileobj(io.BytesIO(_jp2_bytes(product, path)), "eodata", name)
        assets[key] = {"href": f"s3://eodata/{name}", "type": "image/jp2"}
    properties = {"processing:version": product.baseline, "product:type": "S2MSI2A"}
    return _item("S2A_MSIL2A_20200402T103240_N0500_R047_T32UMH", "sentinel-2-l2a", properties, assets)


def _assert_same(remote: xr.Dataset, local: xr.Dataset) -> None:
    """Every variable of the remote chip equals the local one (NaN where it is NaN)."""
    assert set(remote.data_vars) == set(local.data_vars)
    for name in local.data_vars:
        np.testing.assert_array_equal(remote[name].values, local[name].values, err_msg=name)


@pytest.mark.parametrize("name, lon, lat", POINTS)
def test_earth_search_cog_chip_equals_the_safe_route(safe, name, lon, lat):
    zip_path, product = safe
    chip = chip_grid(name, lon, lat, SHAPE)
    local = l2a_on_grid(zip_path, chip, NO_PROBABILITY)
    with serve_stac() as api:
        item = earth_search_item(
            api, product, {"earthsearch:boa_offset_applied": True, "s2:processing_baseline": "05.00"}
        )
        remote = l2a_chip(item, chip, NO_PROBABILITY)
        served = sum(api.sent.values())
        whole = sum(len(d) for d in api.files.values())
    _assert_same(remote, local)
    assert np.isfinite(remote["B04"].values).mean() > 0.5  # the chip holds data, not only no data
    assert remote.attrs["stac_item"] == item["id"]
    assert remote.attrs["bytes_read"] == served > 0  # what GDAL reports is what the server sent
    assert served < whole


def test_harmonisation_comes_from_each_items_metadata(safe):
    zip_path, product = safe
    chip = chip_grid("centre", 8.95, 55.95, SHAPE)
    with serve_stac() as api:
        applied = l2a_chip(earth_search_item(api, product, {"earthsearch:boa_offset_applied": True}), chip, OPTICAL)
    with serve_stac() as api:  # the same harmonised numbers taken for a baseline-05.00 product: offset twice
        item = earth_search_item(api, product, {"s2:processing_baseline": "05.00"})
        twice = l2a_chip(item, chip, OPTICAL)
    with serve_stac() as api:  # raster:bands state the scale and a zero offset
        item = earth_search_item(api, product, {}, {"scale": 0.0001, "offset": 0.0})
        scaled = l2a_chip(item, chip, OPTICAL)
    both = np.isfinite(applied["B04"].values) & np.isfinite(twice["B04"].values)
    assert both.mean() > 0.5
    np.testing.assert_allclose(twice["B04"].values[both], applied["B04"].values[both] - 0.1, atol=1e-6)
    _assert_same(scaled, applied)
    assert harmonisation(item, ["red"]) == (10000.0, 0.0, "raster:bands")
    with pytest.raises(ProductError, match="STAC item bare: .*offset is unknown"):
        harmonisation({"id": "bare", "properties": {}, "assets": {"red": {}}}, ["red"])


def test_cdse_jp2_chips_on_s3_equal_the_safe_route(safe):
    zip_path, product = safe
    chips = {name: chip_grid(name, lon, lat, SHAPE) for name, lon, lat in POINTS}
    chip = chips["centre"]
    local = {name: l2a_on_grid(zip_path, c, OPTICAL) for name, c in chips.items()}
    with moto_s3() as s3:
        item = cdse_item(s3, "good", product)
        loaded, _ = item_product(item)
        assert loaded.offsets["B04"] == -1000.0 and set(loaded.mask_files) == {"MSK_CLDPRB_20m", "MSK_SNWPRB_20m"}
        archive = S3Archive(s3.endpoint, https=False, region="us-east-1")
        remote = l2a_chips(item, chips, OPTICAL, s3=archive, environ=s3.keys)  # the JP2s opened once for both
        # keys that S3 refuses: an error naming the item and the asset, and the keys to check (never their values)
        bad = cdse_item(s3, "other", product)
        refused = {"CDSE_S3_ACCESS_KEY": s3.keys["CDSE_S3_ACCESS_KEY"], "CDSE_S3_SECRET_KEY": "expired-secret"}
        with pytest.raises(ProductError) as caught:
            l2a_chips(bad, chips, OPTICAL, s3=archive, environ=refused)
        unknown = {"CDSE_S3_ACCESS_KEY": "AKIAEXPIREDKEY000000", "CDSE_S3_SECRET_KEY": "expired-secret"}
        with pytest.raises(ProductError, match="asset B02_10m: .*403.*the archive refused the S3 keys"):
            l2a_chip(bad, chip, OPTICAL, s3=archive, environ=unknown)
        with pytest.raises(ConfigError, match="set CDSE_S3_SECRET_KEY"):
            l2a_chip(bad, chip, OPTICAL, s3=archive, environ={"CDSE_S3_ACCESS_KEY": "x"})
    for name in chips:
        _assert_same(remote[name], local[name])
    assert remote["centre"].attrs["bytes_read"] > 0
    message = str(caught.value)
    assert message.startswith(f"STAC item {bad['id']} (sentinel-2-l2a), asset ")
    assert "CDSE_S3_ACCESS_KEY and CDSE_S3_SECRET_KEY" in message and "expired-secret" not in message


@pytest.fixture(scope="module")
def large_cog() -> bytes:
    """A 10 m band of 4096 x 4096 pixels (about a third of a Sentinel-2 tile's side) as a COG, tiles of 256."""
    rng = np.random.default_rng(0)
    data = (1000 + rng.normal(0, 300, (4096, 4096))).clip(1, 10000).astype(np.uint16)
    transform = rasterio.Affine(10.0, 0.0, 460000.0, 0.0, -10.0, 6220000.0)
    with rasterio.MemoryFile() as mem:
        with mem.open(
            driver="COG",
            width=4096,
            height=4096,
            count=1,
            dtype="uint16",
            crs="EPSG:32632",
            transform=transform,
            blocksize=256,
        ) as dst:
            dst.write(data, 1)
        return mem.read()


def test_a_chip_of_a_large_cog_costs_well_under_one_percent_of_it(large_cog):
    with serve_stac() as api:
        href = api.add_file("/big/B04.tif", large_cog)
        item = _item("big", "sentinel-2-c1-l2a", {"earthsearch:boa_offset_applied": True}, {"red": {"href": href}})
        product, _ = item_product(item)
        chip = chip_grid("p", 8.95, 55.95, SHAPE)  # UTM 32N, inside the COG
        with remote_env(product.band_files.values(), None), counting() as transfers:
            band = read_band(product, "B04", cover=chip)
        served = api.sent["/big/B04.tif"]
    assert band.shape[0] <= SHAPE.side + 6 and band.shape[1] <= SHAPE.side + 6  # the window and its margin only
    assert transfers.nbytes == served
    assert served / len(large_cog) < 0.01


def test_a_whole_file_answer_to_a_range_request_is_refused(safe):
    _, product = safe
    chip = chip_grid("centre", 8.95, 55.95, SHAPE)
    with serve_stac() as api:
        item = earth_search_item(api, product, {"earthsearch:boa_offset_applied": True})
        api.fault("/cogs/red.tif", "full", "full", "full")
        with pytest.raises(WholeFileAnswer, match=f"STAC item {item['id']} .*red.tif answered .*HTTP 200, not 206"):
            l2a_chip(item, chip, OPTICAL)


def test_a_503_mid_read_is_retried_and_a_lasting_one_names_the_asset(safe, monkeypatch):
    monkeypatch.setitem(remote_files.COMMON_OPTIONS, "GDAL_HTTP_RETRY_DELAY", "0.1")
    zip_path, product = safe
    chip = chip_grid("centre", 8.95, 55.95, SHAPE)
    local = l2a_on_grid(zip_path, chip, NO_PROBABILITY)
    with serve_stac() as api:
        item = earth_search_item(api, product, {"earthsearch:boa_offset_applied": True})
        api.fault("/cogs/nir.tif", "503")
        remote = l2a_chip(item, chip, NO_PROBABILITY)
        assert not api.faults["/cogs/nir.tif"]  # the 503 was answered
    _assert_same(remote, local)
    with serve_stac() as api:
        item = earth_search_item(api, product, {"earthsearch:boa_offset_applied": True})
        api.fault("/cogs/swir16.tif", *["503"] * 4)
        with pytest.raises(
            ProductError, match=f"STAC item {item['id']} \\(sentinel-2-c1-l2a\\), asset swir16: .*HTTP 503"
        ):
            l2a_chip(item, chip, OPTICAL)


def test_observations_pair_points_with_items_and_count_each_ones_bytes(safe):
    _, product = safe
    points = {"centre": (8.95, 55.95), "north_west": (8.941, 55.957), "buenos_aires": (-58.38, -34.6)}
    chips = {n: chip_grid(n, lon, lat, SHAPE) for n, (lon, lat) in points.items()}
    with serve_stac() as api:
        item = earth_search_item(api, product, {"earthsearch:boa_offset_applied": True})
        elsewhere = _item("elsewhere", "sentinel-2-c1-l2a", {}, {})
        elsewhere["geometry"] = {"type": "Point", "coordinates": [20.0, 40.0]}
        observed = read_observations([elsewhere, item], chips, points, OPTICAL)
        served = sum(api.sent.values())
        whole = sum(len(d) for d in api.files.values())
    costs = observed.costs
    assert list(costs["point"]) == ["centre", "north_west"] and set(costs["item"]) == {item["id"]}
    assert observed.chips["buenos_aires"] == {} and set(observed.chips["centre"]) == {item["id"]}
    assert costs["bytes_read"].iloc[0] > 0 and costs["bytes_read"].sum() == served
    summary = observed.summary()
    assert summary["point_observations"] == 2 and summary["bytes_whole_products"] == whole
    assert summary["bytes_ratio"] == pytest.approx(served / whole)
    assert summary["bytes_per_observation"] == served / 2
    assert item_bytes({"assets": {"a": {"file:size": 3}, "b": {"file:size": 4}}}) == 7
    assert item_bytes({"assets": {"a": {"file:size": 3}, "b": {}}}) is None  # unknown, not under-counted


# chips sharing the demo product's files: two overlapping (their blocks shared), one apart
GROUPED = {"centre": (8.95, 55.95), "beside": (8.9505, 55.9502), "north_west": (8.941, 55.957), "east": (8.958, 55.947)}
COST_ATTRS = ("bytes_read", "remote_reads")


def _per_chip_reads(item: dict, chips: dict, settings: OpticalSettings) -> dict[str, xr.Dataset]:
    """Each chip read as before grouping: the item's Product, GDAL environment and files anew for every chip."""
    out = {}
    for name, chip in chips.items():
        product, keys = item_product(item)
        with remote_env(keys, None):
            out[name] = l2a_on_grid(product, chip, settings, windowed=True)
    return out


def test_an_items_chips_read_together_equal_chips_read_one_by_one(safe):
    _, product = safe
    chips = {n: chip_grid(n, lon, lat, SHAPE) for n, (lon, lat) in GROUPED.items()}
    with serve_stac() as api:
        item = earth_search_item(api, product, {"earthsearch:boa_offset_applied": True})
        one_by_one = _per_chip_reads(item, chips, OPTICAL)
    with serve_stac() as api:
        item = earth_search_item(api, product, {"earthsearch:boa_offset_applied": True})
        alone = l2a_chip(item, chips["centre"], OPTICAL)
        first_alone = sum(api.sent.values())
    with serve_stac() as api:
        item = earth_search_item(api, product, {"earthsearch:boa_offset_applied": True})
        together = l2a_chips(item, chips, OPTICAL)
        served = sum(api.sent.values())
    assert list(together) == list(chips)
    for name, chip in together.items():
        assert chip.attrs["stac_item"] == item["id"]
        assert np.isfinite(chip["B04"].values).mean() > 0.5, name
        # bit for bit: every variable, coordinate and attribute but what the read cost
        xr.testing.assert_identical(chip.drop_attrs(deep=False), one_by_one[name].drop_attrs(deep=False))
        kept = {k: v for k, v in chip.attrs.items() if k not in (*COST_ATTRS, "stac_item")}
        assert kept == one_by_one[name].attrs, name
    # each range belongs to the chip that read it, the files' headers to the first: the sum is what was served
    costs = {name: chip.attrs["bytes_read"] for name, chip in together.items()}
    assert sum(costs.values()) == served
    assert costs["centre"] == alone.attrs["bytes_read"] == first_alone  # the first chip costs what it costs alone
    assert costs["beside"] < costs["centre"]  # its blocks and the headers were read already


def test_a_failing_chip_names_the_item_and_asset_and_no_chip_of_the_item_is_returned(safe):
    _, product = safe
    chips = {n: chip_grid(n, lon, lat, SHAPE) for n, (lon, lat) in GROUPED.items()}
    chips["buenos_aires"] = chip_grid("buenos_aires", -58.38, -34.6, SHAPE)  # outside the item's files
    with serve_stac() as api:
        item = earth_search_item(api, product, {"earthsearch:boa_offset_applied": True})
        with pytest.raises(ProductError, match=f"STAC item {item['id']} .*, asset \\w+: does not overlap the grid"):
            l2a_chips(item, chips, OPTICAL)
        points = {**GROUPED, "buenos_aires": (8.95, 55.95)}  # paired with the item: its chip is read from it
        with pytest.raises(ProductError, match=f"STAC item {item['id']} "):
            read_observations([item], chips, points, OPTICAL)


def test_s3_reads_are_counted_as_the_server_sends_them(large_cog):
    # /vsis3/ learns a file's size from a GET of its first chunk, not a HEAD: that chunk counts too
    with serve_stac() as api:
        api.add_file("/eodata/big/B04.tif", large_cog)
        item = _item(
            "s3big", "sentinel-2-l2a", {"processing:version": "05.00"}, {"B04_10m": {"href": "s3://eodata/big/B04.tif"}}
        )
        product, _ = item_product(item)
        archive = S3Archive(api.url.removeprefix("http://"), https=False, region="us-east-1")
        keys = {"CDSE_S3_ACCESS_KEY": "key", "CDSE_S3_SECRET_KEY": "secret"}
        chip = chip_grid("p", 8.95, 55.95, SHAPE)
        with remote_env(product.band_files.values(), archive, keys), counting() as transfers:
            read_band(product, "B04", cover=chip)
        served = api.sent["/eodata/big/B04.tif"]
    assert transfers.nbytes == served > 0
    assert served / len(large_cog) < 0.01
