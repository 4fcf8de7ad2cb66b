"""Sentinel-1 chips by range reads: a demo SAFE served over HTTP (measurement TIFFs by ranges) and as a CDSE-like COG
product on S3, against the whole-product route (the local zip, same engine) on the same chip, with the bytes that
crossed the wire and the faults of real archives."""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.errors import NotGeoreferencedWarning

from loopback_stac import moto_s3, serve_stac
from soilsat import remote_files
from soilsat.chips import chip_grid, chip_shape
from soilsat.errors import ConfigError, ProductError
from soilsat.remote_faults import WholeFileAnswer
from soilsat.remote_files import S3Archive
from soilsat.sar import engine, graph
from soilsat.sar.chip_reads import s1_chip, s1_chips
from soilsat.sar.reference.whole_grid import run_chain
from soilsat.transfers import CHUNK_BYTES
from test_sar_graph import sentinel1_settings

SHAPE = chip_shape(5, [30.0], 10.0)  # 11 x 11 pixels
POINTS = [("centre", 8.95, 55.95), ("east", 8.957, 55.952)]
COG_PREFIX = "Sentinel-1/SAR/IW_GRDH_1S-COG/2020/04/03"


@pytest.fixture(scope="module")
def product(s1_demo_world) -> tuple[Path, str, dict[str, bytes]]:
    """The first demo product: its zip, name and files by path in the SAFE folder."""
    root, _, records = s1_demo_world
    path = root / "archive" / records[0]["path"]
    with zipfile.ZipFile(path) as z:
        files = {
            i.filename.split(".SAFE/", 1)[1]: z.read(i)
            for i in z.infolist()
            if not i.is_dir() and ".SAFE/" in i.filename
        }
    return path, records[0]["name"], files


def _spec(world, product_path: Path, chip, out: Path) -> engine.ChainSpec:
    """The chain's settings for the product on a chip (the shipped config's sentinel1 section)."""
    root = world[0]
    xml = graph.build_graph(product_path, out / "snap.tif", chip, root / "dem" / "dem_t.tif", sentinel1_settings())
    path = out / f"{chip.region}.graph.xml"
    graph.write_graph(path, xml)
    return engine.read_chain(path)


def _serve_safe(api, name: str, files: dict[str, bytes]) -> str:
    """Serve every file of the SAFE folder by ranges; the folder's href."""
    for rel, data in files.items():
        api.add_file(f"/s1/{name}.SAFE/{rel}", data)
    return f"{api.url}/s1/{name}.SAFE"


def _cog(tiff: bytes) -> bytes:
    """A measurement TIFF as a COG (tiles of 64 pixels, DEFLATE), its GCPs kept."""
    with (
        rasterio.MemoryFile(tiff) as src_mem,
        src_mem.open() as src,
        rasterio.MemoryFile() as mem,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # GCPs are set just after creation
        with mem.open(
            driver="COG",
            width=src.width,
            height=src.height,
            count=1,
            dtype=src.dtypes[0],
            blocksize=64,
            compress="DEFLATE",
        ) as dst:
            dst.write(src.read(1), 1)
            dst.gcps = src.gcps
        return mem.read()


def _upload_cog_safe(s3, name: str, files: dict[str, bytes]) -> tuple[str, dict[str, int]]:
    """The product on S3 as CDSE's COG products are (measurements as COGs); its href and each file's size."""
    sizes = {}
    for rel, data in files.items():
        body = _cog(data) if rel.startswith("measurement/") else data
        s3.client.upload_fileobj(io.BytesIO(body), "eodata", f"{COG_PREFIX}/{name}_COG.SAFE/{rel}")
        sizes[rel] = len(body)
    return f"s3://eodata/{COG_PREFIX}/{name}_COG.SAFE", sizes


def _assert_same(remote: xr.Dataset, local: xr.Dataset) -> None:
    """Every band of the remote chip equals the whole-product one (NaN where it is NaN)."""
    assert set(remote.data_vars) == set(local.data_vars)
    for band in local.data_vars:
        np.testing.assert_array_equal(remote[band].values, local[band].values, err_msg=band)
    assert remote.attrs["image_window"] == local.attrs["image_window"]


def _measurements(name: str, files: dict[str, bytes]) -> dict[str, int]:
    """The served paths of the measurement files and their sizes."""
    return {f"/s1/{name}.SAFE/{rel}": len(data) for rel, data in files.items() if rel.startswith("measurement/")}


def test_chips_from_range_reads_equal_the_whole_product_route(s1_demo_world, product, tmp_path):
    zip_path, name, files = product
    chips = [chip_grid(point, lon, lat, SHAPE) for point, lon, lat in POINTS]
    specs = [_spec(s1_demo_world, zip_path, chip, tmp_path) for chip in chips]
    local = [run_chain(spec, chip) for spec, chip in zip(specs, chips)]
    with serve_stac() as api:
        href = _serve_safe(api, name, files)
        remote = s1_chips(href, list(zip(specs, chips)))
        sent = dict(api.sent)
    for r, loc in zip(remote, local):
        _assert_same(r, loc)
        assert np.isfinite(r["sigma0_VV"].values).all() and (r["mask"].values == 1).all()
    measurements = _measurements(name, files)
    metadata = {p: n for p, n in sent.items() if p not in measurements}
    assert all(p.endswith((".xml", ".safe")) for p in metadata)  # the XMLs whole, nothing else
    assert remote[0].attrs["bytes_metadata"] == sum(metadata.values()) and remote[1].attrs["bytes_metadata"] == 0
    assert sum(r.attrs["bytes_measurement"] for r in remote) == sum(sent.get(p, 0) for p in measurements)
    assert sum(r.attrs["bytes_read"] for r in remote) == sum(sent.values())
    # each chip reads the measurements' rows its image window spans, the TIFF's header and tags, and no more
    with rasterio.MemoryFile(next(iter(files[p.split(".SAFE/")[1]] for p in measurements))) as mem:
        with mem.open() as src:
            row_bytes = 2 * src.width  # uint16 DN, rows stored whole
    for r in remote:
        r0, r1, _, _ = (int(v) for v in r.attrs["image_window"].split())
        assert 0 < r.attrs["bytes_measurement"] <= len(measurements) * ((r1 - r0) * row_bytes + 4 * CHUNK_BYTES)
    whole = sum(measurements.values())
    print(f"HTTP SAFE: measurement bytes per chip {[r.attrs['bytes_measurement'] for r in remote]} of {whole}")
    assert remote[0].attrs["bytes_measurement"] / whole < 0.2


def test_a_chip_of_a_cog_product_on_s3_equals_the_whole_product_route(s1_demo_world, product, tmp_path):
    zip_path, name, files = product
    chip = chip_grid("centre", 8.95, 55.95, SHAPE)
    spec = _spec(s1_demo_world, zip_path, chip, tmp_path)
    local = run_chain(spec, chip)
    with moto_s3() as s3:
        href, sizes = _upload_cog_safe(s3, name, files)
        archive = S3Archive(s3.endpoint, https=False, region="us-east-1")
        remote = s1_chip(spec, href, chip, s3=archive, environ=s3.keys)
    _assert_same(remote, local)
    assert remote.attrs["product"] == f"{name}_COG"
    cogs = sum(n for rel, n in sizes.items() if rel.startswith("measurement/"))
    print(f"COG on S3: measurement bytes {remote.attrs['bytes_measurement']} of {cogs}")
    assert 0 < remote.attrs["bytes_measurement"] < 0.25 * cogs
    xmls = sum(n for rel, n in sizes.items() if rel.endswith(".xml"))
    assert remote.attrs["bytes_metadata"] == xmls + sizes["manifest.safe"]


def test_keys_the_archive_refuses_are_named_without_their_values(s1_demo_world, product, tmp_path):
    zip_path, name, files = product
    chip = chip_grid("centre", 8.95, 55.95, SHAPE)
    spec = _spec(s1_demo_world, zip_path, chip, tmp_path)
    with moto_s3() as s3:
        href, _ = _upload_cog_safe(s3, name, files)
        archive = S3Archive(s3.endpoint, https=False, region="us-east-1")
        refused = {"CDSE_S3_ACCESS_KEY": s3.keys["CDSE_S3_ACCESS_KEY"], "CDSE_S3_SECRET_KEY": "expired-secret"}
        with pytest.raises(ProductError) as caught:
            s1_chip(spec, href, chip, s3=archive, environ=refused)
        unknown = {"CDSE_S3_ACCESS_KEY": "AKIAEXPIREDKEY000000", "CDSE_S3_SECRET_KEY": "expired-secret"}
        with pytest.raises(ProductError, match="manifest.safe: the archive answered HTTP 403 InvalidAccessKeyId"):
            s1_chip(spec, href, chip, s3=archive, environ=unknown)
        with pytest.raises(ConfigError, match="set CDSE_S3_SECRET_KEY"):
            s1_chip(spec, href, chip, s3=archive, environ={"CDSE_S3_ACCESS_KEY": "x"})
    message = str(caught.value)
    assert message.startswith(f"{href}/manifest.safe: the archive answered HTTP 403 SignatureDoesNotMatch")
    assert "check that CDSE_S3_ACCESS_KEY and CDSE_S3_SECRET_KEY" in message and "expired-secret" not in message


def test_a_whole_file_answer_to_a_range_request_is_refused(s1_demo_world, product, tmp_path):
    zip_path, name, files = product
    chip = chip_grid("centre", 8.95, 55.95, SHAPE)
    spec = _spec(s1_demo_world, zip_path, chip, tmp_path)
    with serve_stac() as api:
        href = _serve_safe(api, name, files)
        vv = next(p for p in _measurements(name, files) if "-vv-" in p)
        api.fault(vv, *["full"] * 8)
        with pytest.raises(
            WholeFileAnswer, match=f"{name}.SAFE/measurement/s1a-iw-grd-vv-.*: answered .*HTTP 200, not 206"
        ):
            s1_chip(spec, href, chip)


def test_a_503_mid_read_is_retried_and_a_lasting_one_names_the_file(s1_demo_world, product, tmp_path, monkeypatch):
    monkeypatch.setitem(remote_files.COMMON_OPTIONS, "GDAL_HTTP_RETRY_DELAY", "0.1")
    zip_path, name, files = product
    chip = chip_grid("centre", 8.95, 55.95, SHAPE)
    spec = _spec(s1_demo_world, zip_path, chip, tmp_path)
    local = run_chain(spec, chip)
    vh = next(p for p in _measurements(name, files) if "-vh-" in p)
    with serve_stac() as api:
        href = _serve_safe(api, name, files)
        api.fault(vh, "ok", "503")  # the first range answered, the next one busy once
        api.fault(f"/s1/{name}.SAFE/manifest.safe", "503")
        remote = s1_chip(spec, href, chip)
        assert not api.faults[vh] and not api.faults[f"/s1/{name}.SAFE/manifest.safe"]
    _assert_same(remote, local)
    with serve_stac() as api:
        href = _serve_safe(api, name, files)
        api.fault(vh, "ok", *["503"] * 8)
        with pytest.raises(ProductError, match=f"{name}.SAFE/measurement/s1a-iw-grd-vh-.*HTTP 503"):
            s1_chip(spec, href, chip)
    with serve_stac() as api:
        href = _serve_safe(api, name, files)
        calibration = next(p for p in api.files if "/calibration-" in p and "-vh-" in p)
        api.fault(calibration, *["503"] * 8)
        with pytest.raises(ProductError, match=f"{calibration.rsplit('/', 1)[1]}: the archive answered HTTP 503"):
            s1_chip(spec, href, chip)
