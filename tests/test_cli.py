"""`soilsat inspect` on real ESA/ISMN products, on demo products and on things it cannot read."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from conftest import DATA, real_fixture

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


@pytest.mark.parametrize(
    "name", ["Data_seperate_files_header_20170810_20180809.zip", "Data_SMOSMANIA_header_values.zip"]
)
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


CGLS = "c_gls_SSM1km_201706{day}0000_CEURO_S1CSAR_V1.1.1.nc"
ESACCI = "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20100701000000-fv04.5.nc"


@pytest.mark.parametrize("day, valid_cells", [("01", 27563), ("02", 0)])
def test_inspect_real_cgls_ssm(day, valid_cells):
    proc = inspect(real_fixture("cgls", CGLS.format(day=day)))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert (info["kind"], info["product"], info["version"], info["tile"]) == ("csm", "CGLS SSM 1km", "V1.1.1", "CEURO")
    assert info["date"] == f"2017-06-{day}"
    # the crop's own extent, not the CEURO tile (-11..50 E, 35..72 N) its global attributes still describe
    assert info["extent"] == {"west": -1.0, "south": 41.0, "east": 3.0, "north": 45.0}
    assert info["shape"] == {"lat": 448, "lon": 448} and info["valid_cells"] == valid_cells
    assert sorted(info["variables"]) == ["ssm", "ssm_noise"]
    for variable in info["variables"].values():
        assert (variable["units"], variable["fill_value"], variable["scale_factor"], variable["dtype"]) == (
            "%",
            255,
            0.5,
            "uint8",
        )
        assert variable["valid_range"] == [0, 200] and variable["flag_values"] == [241, 242, 251, 252, 253]


def test_inspect_real_esacci_sm():
    proc = inspect(real_fixture("esacci", ESACCI))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert (info["kind"], info["product"], info["version"], info["date"]) == (
        "ecv_sm",
        "ESA CCI SM COMBINED",
        "04.5",
        "2010-07-01",
    )
    assert info["extent"] == {"west": -180.0, "south": -90.0, "east": 180.0, "north": 90.0}
    assert info["shape"] == {"lat": 720, "lon": 1440} and info["valid_cells"] == 164073
    assert list(info["variables"]) == ["t0", "sm", "sm_uncertainty", "dnflag", "flag", "freqbandID", "mode", "sensor"]
    assert (info["variables"]["sm"]["units"], info["variables"]["sm"]["fill_value"]) == ("m3 m-3", -9999.0)
    assert info["variables"]["flag"]["fill_value"] == 127 and info["variables"]["sensor"]["fill_value"] == 0


def test_inspect_knows_reference_products_by_content_not_name(tmp_path):
    for name, source, kind in (
        ("soil.nc", ("cgls", CGLS.format(day="01")), "csm"),
        ("download.bin", ("esacci", ESACCI), "ecv_sm"),
    ):
        (tmp_path / name).write_bytes(real_fixture(*source).read_bytes())
        proc = inspect(tmp_path / name)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["kind"] == kind
    # a NetCDF-4 file of neither product (a SMAP L3 coordinate subset without SMAP's metadata; SMAP products
    # themselves are described as such since issue 22)
    proc = inspect(real_fixture("smap", "SC_SPL3SMP_009_prefetch.nc4"))
    assert proc.returncode == 1 and proc.stdout == ""
    assert "neither CGLS SSM 1km (csm) nor ESA CCI SM COMBINED (ecv_sm)" in proc.stderr


def test_inspect_ismn_with_and_without_a_wrapper_folder(tmp_path):
    """The ismn package's own test archive wraps its networks in one folder; inspect reports it as the plain one."""
    wrapped = DATA / "ismn" / "Data_seperate_files_20170810_20180809.zip"
    plain = tmp_path / "plain.zip"
    wrapper = "Data_seperate_files_20170810_20180809/"
    with zipfile.ZipFile(wrapped) as zin, zipfile.ZipFile(plain, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != wrapper:
                zout.writestr(info.filename.removeprefix(wrapper), zin.read(info))
    reports = []
    for path in (wrapped, plain):
        proc = inspect(path)
        assert proc.returncode == 0, proc.stderr
        info = json.loads(proc.stdout)
        assert info.pop("path") == str(path) and info.pop("archive") == path.name
        reports.append(info)
    assert reports[0] == reports[1]
    info = reports[0]
    assert info["n_sensors"] == 3 and info["n_stations"] == 3
    statics = {s["station"]: (s["clay"], s["organic_carbon"], s["climate"]) for s in info["sensors"]}
    assert statics == {"ARM-1": (23.0, 1.27, "Cfa"), "Barrow-ARM": (18.0, 3.08, "ET"), "fraye": (4.0, 2.18, "Cfb")}


def test_inspect_describes_an_slc_and_refuses_a_first_format_sentinel2():
    proc = inspect(DATA / "xarray-sentinel" / "S1B_IW_SLC__1SDV_20210401T052622_20210401T052650_026269_032297_EFA4.zip")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert (info["kind"], info["product_type"], info["processed"]) == ("sentinel1", "SLC", False)
    assert info["image_size"]["IW2/VH"] == {"lines": 15130, "samples": 25508}
    old = DATA / "s2reader" / "S2A_OPER_PRD_MSIL1C_PDMC_20160905T104813_R002_V20160905T005712_20160905T010424.SAFE"
    proc = inspect(old)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (
        f"soilsat inspect: {old}/S2A_OPER_MTD_SAFL1C_PDMC_20160905T104813_R002_V20160905T005712_20160905T010424.xml: "
        "a Sentinel-2 product of the first SAFE format (S2A_OPER_PRD_MSIL1C_..., 6 tiles in one product: T53HLA, "
        "T53HMA, T53HNA, T53HNV, T53HPA, T53HPV), which soilsat does not read; use the reprocessed product of each "
        "tile in the compact format from the Copernicus Data Space archive "
        "(S2A_MSIL1C_20160905T005712_N*_R002_T<tile>_*.SAFE)\n"
    )
