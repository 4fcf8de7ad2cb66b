"""`soilsat inspect` on real ESA/ISMN products, on demo products and on things it cannot read."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import real_fixture

S1_SAFE = ("s1", "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE")
S1_ZIP = ("s1", "S1A_IW_GRDH_1SDV_20150203T043109_20150203T043134_004454_00574F_6D00.zip")


def inspect(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "soilsat.cli", "inspect", str(path)], capture_output=True, text=True)


def test_inspect_real_s1_safe_folder():
    proc = inspect(real_fixture(*S1_SAFE))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["kind"] == "sentinel1"
    assert info["mission"] == "S1B"
    assert info["mode"] == "IW"
    assert info["ipf_version"] == "003.40"
    assert "VV" in info["polarisations"]
    assert info["sensing_start"].startswith("2021-12-23T05:11:22")
    assert info["orbit_direction"] == "DESCENDING"
    assert info["absolute_orbit"] == 30148


def test_inspect_real_s1_zip_pre_ipf29():
    proc = inspect(real_fixture(*S1_ZIP))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["mission"] == "S1A"
    assert info["ipf_version"] == "002.70"
    assert sorted(info["polarisations"]) == ["VH", "VV"]
    assert info["absolute_orbit"] == 4454


@pytest.mark.parametrize("name", ["Data_seperate_files_header_20170810_20180809.zip", "Data_SMOSMANIA_header_values.zip"])
def test_inspect_real_ismn(name):
    proc = inspect(real_fixture("ismn", name))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["kind"] == "ismn"
    assert info["networks"]


def test_inspect_rejects_other_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    proc = inspect(text)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "notes.txt" in proc.stderr

    proc = inspect(tmp_path / "missing.SAFE")
    assert proc.returncode == 1 and "no such file" in proc.stderr
