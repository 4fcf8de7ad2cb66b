"""The geolocation check (soilsat.sar.geolocation_check): our orbit and range-Doppler solution against ESA's
geolocation grids of real and demo products, and its command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import DemoProduct, real_fixture
from soilsat import cli
from soilsat.errors import ProductError
from soilsat.sar.geolocation_check import check_product, point_errors
from soilsat.sar.safe import open_product

S1A_ZIP = ("s1", "S1A_IW_GRDH_1SDV_20150203T043109_20150203T043134_004454_00574F_6D00.zip")
S1B_SAFE = ("s1", "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE")


@pytest.fixture(scope="module")
def product(s1_demo_product: DemoProduct) -> DemoProduct:
    """The first demo product of each orbit direction (conftest)."""
    return s1_demo_product


def test_geolocation_check_on_a_demo_product(product):
    records = list(check_product(product.path))
    assert [r["annotation"][:13] for r in records] == ["s1a-iw-grd-vv", "s1a-iw-grd-vh"]
    for r in records:
        assert r["range_max_m"] < 0.01 and r["azimuth_max_lines"] < 0.01 and r["max_px"] < 0.05


@pytest.mark.parametrize("fixture", [S1A_ZIP, S1B_SAFE], ids=["ipf-002.70-zip", "ipf-003.40-safe"])
@pytest.mark.parametrize("method", ["polynomial", "lagrange"])
def test_geolocation_grid_of_real_products(fixture, method):
    path = real_fixture(*fixture)
    with open_product(path) as product:
        pols = product.available_polarisations
        assert pols
        for pol in pols:
            errors = point_errors(product.annotation(pol), method)
            assert errors.range_m.size == 210
            assert np.abs(errors.range_m).max() < 0.1, f"{pol}: slant range off by {np.abs(errors.range_m).max():.3f} m"
            worst = np.abs(errors.azimuth_lines).max()
            assert worst < 0.1, f"{pol}: azimuth off by {worst:.3f} lines"
            # ESA's polynomials and its grid disagree by up to about half a pixel: reported, loosely bounded here
            assert np.hypot(errors.line, errors.pixel).max() < 1.0


def test_cli_geolocation_check_prints_one_line_per_annotation(capsys):
    path = real_fixture(*S1A_ZIP)
    assert cli.main(["s1", "geolocation-check", str(path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["annotation"][:13] for r in records] == ["s1a-iw-grd-vv", "s1a-iw-grd-vh"]
    for r in records:
        assert set(r) == {"product", "annotation", "points", "azimuth_max_lines", "range_max_m", "max_px", "rms_px"}
        assert r["product"] == S1A_ZIP[1][:-4]
        assert r["points"] == 210
        assert r["range_max_m"] < 0.1 and r["azimuth_max_lines"] < 0.1
        assert 0 < r["rms_px"] <= r["max_px"] < 1.0


def test_cli_geolocation_check_names_a_missing_annotation(capsys):
    path = real_fixture(*S1B_SAFE)  # the manifest lists a VH annotation the folder lacks
    assert cli.main(["s1", "geolocation-check", str(path)]) == 1
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert [r["annotation"] for r in records] == ["s1b-iw-grd-vv-20211223t051122-20211223t051147-030148-039993-001.xml"]
    assert "annotation/s1b-iw-grd-vh-20211223t051122-20211223t051147-030148-039993-002.xml" in captured.err
    assert "missing" in captured.err
    assert cli.main(["s1", "geolocation-check", str(path), "--polarisation", "vv"]) == 0


def test_check_product_of_a_missing_path(tmp_path):
    with pytest.raises(ProductError, match="no such file or folder"):
        list(check_product(tmp_path / "S1A_nothing.zip"))
