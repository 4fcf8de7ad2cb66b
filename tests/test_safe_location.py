"""The paths users give for a SAFE product, accepted alike by the readers and by `soilsat inspect`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import DATA
from soilsat import cli
from soilsat.errors import ProductError
from soilsat.optical import safe as s2
from soilsat.sar import safe as s1

SLC = DATA / "xarray-sentinel" / "S1B_IW_SLC__1SDV_20210401T052622_20210401T052650_026269_032297_EFA4.zip"
L2A = DATA / "stactools-sentinel2" / "S2B_MSIL2A_20220413T150759_N0400_R025_T33XWJ_20220414T082126.SAFE"


def _zip_folder(folder: Path, path: Path, prefix: str) -> Path:
    """A zip of a folder's files under `prefix` (e.g. '<name>.SAFE/' as ESA zips it, or one folder deeper)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, prefix + f.relative_to(folder).as_posix())
    return path


@pytest.fixture(scope="module")
def s1_paths(tmp_path_factory) -> dict[str, Path]:
    """The same Sentinel-1 product as users may give it."""
    root = tmp_path_factory.mktemp("s1paths")
    with zipfile.ZipFile(SLC) as z:
        z.extractall(root / "x")
    safe = next((root / "x").iterdir())
    bare = root / safe.name.removesuffix(".SAFE")
    shutil.copytree(safe, bare)
    holder = root / "holder"
    shutil.copytree(safe, holder / safe.name)
    deep = _zip_folder(safe, root / "deep.zip", f"downloads/{safe.name}/")
    return {
        "zip": SLC,
        "folder": safe,
        "without .SAFE": bare,
        "manifest.safe": safe / "manifest.safe",
        "folder holding it": holder,
        "zip one folder deeper": deep,
    }


@pytest.fixture(scope="module")
def s2_paths(tmp_path_factory) -> dict[str, Path]:
    """The same Sentinel-2 product as users may give it."""
    root = tmp_path_factory.mktemp("s2paths")
    bare = root / L2A.name.removesuffix(".SAFE")
    shutil.copytree(L2A, bare)
    return {
        "folder": L2A,
        "without .SAFE": bare,
        "MTD_MSIL2A.xml": L2A / "MTD_MSIL2A.xml",
        "manifest.safe": L2A / "manifest.safe",
        "zip": _zip_folder(L2A, root / "p.zip", f"{L2A.name}/"),
        "zip one folder deeper": _zip_folder(L2A, root / "deep.zip", f"downloads/{L2A.name}/"),
    }


@pytest.mark.parametrize(
    "variant", ["folder", "without .SAFE", "manifest.safe", "folder holding it", "zip one folder deeper"]
)
def test_sentinel1_paths_read_and_inspect_alike(s1_paths, variant):
    expected = s1.summarize(s1_paths["zip"])
    got = s1.summarize(s1_paths[variant])
    assert got == expected
    assert cli.product_kind(s1_paths[variant]) == "sentinel1"
    assert cli.inspect(s1_paths[variant]) == {"kind": "sentinel1", "path": str(s1_paths[variant])} | expected
    with pytest.raises(ProductError, match="Sentinel-1 product of type SLC"):
        s1.open_product(s1_paths[variant]).polarisation("VV")


def test_sentinel1_measurement_one_folder_deeper_in_a_zip(s1_paths):
    product = s1.open_product(s1_paths["zip one folder deeper"])
    assert product.container.gdal_path("measurement/x.tiff") == (
        f"/vsizip/{s1_paths['zip one folder deeper'].resolve()}/downloads/{s1_paths['folder'].name}/measurement/x.tiff"
    )


@pytest.mark.parametrize(
    "variant", ["without .SAFE", "MTD_MSIL2A.xml", "manifest.safe", "zip", "zip one folder deeper"]
)
def test_sentinel2_paths_read_and_inspect_alike(s2_paths, variant):
    expected = s2.summarize(s2_paths["folder"])
    assert expected["level"] == "L2A" and expected["tile"] == "33XWJ" and expected["processing_baseline"] == "04.00"
    assert s2.summarize(s2_paths[variant]) == expected
    assert cli.product_kind(s2_paths[variant]) == "sentinel2"
    assert cli.inspect(s2_paths[variant]) == {"kind": "sentinel2", "path": str(s2_paths[variant])} | expected


def test_band_paths_of_a_zip_one_folder_deeper(s2_paths):
    product = s2.read_metadata(s2_paths["zip one folder deeper"])
    assert product.band_files[("B02", 10)] == (
        f"/vsizip/{s2_paths['zip one folder deeper'].resolve()}/downloads/{L2A.name}/GRANULE/"
        "L2A_T33XWJ_A026649_20220413T150756/IMG_DATA/R10m/T33XWJ_20220413T150759_B02_10m.jp2"
    )


def test_a_zip_holding_a_zip_is_named(tmp_path):
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as z:
        z.write(SLC, SLC.name)
    expected = (
        f"{outer}: holds another zip ({SLC.name}) rather than a SAFE product: give that zip itself (unpack "
        "the outer one)"
    )
    for reader in (s1.summarize, s2.read_metadata, cli.product_kind):
        with pytest.raises(ProductError) as err:
            reader(outer)
        assert str(err.value) == expected


def test_a_folder_holding_two_products_is_named(tmp_path, s2_paths):
    shutil.copytree(L2A, tmp_path / "a" / L2A.name)
    shutil.copytree(L2A, tmp_path / "a" / "copy.SAFE")
    with pytest.raises(ProductError) as err:
        s2.read_metadata(tmp_path / "a")
    assert str(err.value) == f"{tmp_path / 'a'}: holds 2 products ({L2A.name}, copy.SAFE); give the folder of one"


def test_command_line_accepts_a_zip_one_folder_deeper_and_a_bare_manifest(s1_paths):
    for path in (s1_paths["zip one folder deeper"], s1_paths["manifest.safe"]):
        proc = subprocess.run(
            [sys.executable, "-m", "soilsat.cli", "inspect", str(path)], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        info = json.loads(proc.stdout)
        assert (info["kind"], info["product_type"], info["available_images"]) == (
            "sentinel1",
            "SLC",
            ["IW1/VV", "IW1/VH", "IW2/VH"],
        )
        proc = subprocess.run(
            [sys.executable, "-m", "soilsat.cli", "s1", "geolocation-check", str(path)], capture_output=True, text=True
        )
        assert proc.returncode == 1 and proc.stdout == ""
        product = s1_paths["folder"] if path.name == "manifest.safe" else path
        assert proc.stderr == (
            f"soilsat s1: {product}: Sentinel-1 product of type SLC (IW mode, swaths IW1, IW2, "
            "IW3); soilsat processes Level-1 GRD products (GRDF, GRDH or GRDM: one image per "
            "polarisation): use the GRD product of this acquisition\n"
        )
