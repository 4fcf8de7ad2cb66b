"""Bad input, stage by stage: every case ends in the message a user reads (the file, what is wrong, what to do).

Cases covered elsewhere, with their message asserted there, and not repeated here:

- a truncated SAFE zip: test_sar_safe.py::test_truncated_zip, test_optical.py::test_truncated_zip_names_the_file
- a missing JP2 band: test_optical.py::test_missing_band_names_the_file
- an MTD without offsets: test_optical.py::test_offsets_by_baseline
- a probe with no valid day: test_extract.py (probes with no valid soil-moisture day)
- a LUCAS file with missing columns: test_acquire_tables.py::test_lucas_missing_column
- a misspelt config key: test_config.py (the misspelt-key case)
- ISMN CR-only line endings: test_acquire_ismn.py::test_smosmania_cr_only_line_endings

Here: unsafe zip members, external entities and entity expansion in ESA's XML, calibration
XMLs without their vectors, measurement TIFFs smaller than their annotation, damaged ISMN
data files, probes outside the AOI and DEMs that do not cover it, and two rule scripts run
end to end on bad input, leaving no output behind.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import stat
import subprocess
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.enums import Resampling

from conftest import ROOT, SNAKEMAKE, real_fixture, writable_copy
from soilsat.acquire import archives
from soilsat.acquire.ismn import read_ismn
from soilsat.acquire.userfiles import clip_raster
from soilsat.errors import ProductError
from soilsat.extract.probes import locate_probes
from soilsat.extract.static import on_grid
from soilsat.grid import region_grid
from soilsat.optical.safe import read_metadata
from soilsat.sar import engine, graph, safe

S1B = "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"
S1A = "S1A_IW_GRDH_1SDV_20150203T043109_20150203T043134_004454_00574F_6D00.zip"
COSMOS = "Data_seperate_files_header_20170810_20180809.zip"
ROME_DEM = "Rome-30m-DEM.tif"


def one_line(err: pytest.ExceptionInfo) -> str:
    """The message of a ProductError, checked to be one line a log shows whole."""
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# ------------------------------------------------------------------------------ unsafe zip members


def _zip_with(path: Path, name: str, data: bytes = b"x", mode: int | None = None) -> Path:
    """A zip holding a harmless member and one member named `name` (with unix mode bits `mode`)."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("P.SAFE/manifest.safe", "<xfdu/>")
        info = zipfile.ZipInfo(name)
        if mode is not None:
            info.external_attr = mode << 16
            info.create_system = 3  # unix
        zf.writestr(info, data)
    return path


ZIP_CASES = {
    "symlink": ("P.SAFE/measurement/link.tiff", b"/etc/passwd", stat.S_IFLNK | 0o777, "a symbolic link"),
    "absolute": ("/etc/cron.d/soilsat", b"* * * * * boom", None, "an absolute path"),
    "drive-letter": ("C:/Windows/evil.dll", b"MZ", None, "an absolute path"),
    "dot-dot": ("P.SAFE/../../escape.txt", b"x", None, "a '..' path"),
}


@pytest.mark.parametrize("case", list(ZIP_CASES))
def test_unsafe_zip_member_is_named(case, tmp_path):
    name, data, mode, reason = ZIP_CASES[case]
    bad = _zip_with(tmp_path / "product.zip", name, data, mode)
    for check in (
        archives.check_members,
        archives.check_safe_zip,
        lambda p: archives.safe_extract(p, tmp_path / "out"),
    ):
        with pytest.raises(ProductError) as err:
            check(bad)
        text = one_line(err)
        assert text == f"{bad}: unsafe zip member {name!r}: {reason}"
    # nothing was extracted: not the harmless member, not the bad one
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.txt").exists()


def test_regular_zip_member_passes(tmp_path):
    """The control: the same archive with a plain member is accepted, so the cases above fail for their member."""
    good = _zip_with(tmp_path / "product.zip", "P.SAFE/measurement/plain.tiff", b"x", stat.S_IFREG | 0o644)
    assert archives.check_members(good) == ["P.SAFE/manifest.safe", "P.SAFE/measurement/plain.tiff"]


# ------------------------------------------------------------------------------ entities in ESA's XML

XXE = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
    + "]>"
)
ATTACKS = {"external-entity": (XXE, "&e;"), "billion-laughs": (LAUGHS, "&lol9;")}


def _inject(path: Path, dtd: str, reference: str, element: str) -> None:
    """Put a DTD after the XML declaration and an entity reference into the text of `element`."""
    text = path.read_text()
    head, rest = text.split("?>", 1)
    rest, n = re.subn(rf"(<{element}>)[^<]*(</{element}>)", rf"\g<1>{reference}\g<2>", rest, count=1)
    assert n == 1, f"no <{element}> in {path.name}"
    path.write_text(f"{head}?>\n{dtd}{rest}")


S1_FILES = {
    "annotation": ("annotation/s1b-*-vv-*.xml", "polarisation"),
    "calibration": ("annotation/calibration/calibration-*.xml", "absoluteCalibrationConstant"),
    "noise": ("annotation/calibration/noise-*.xml", "polarisation"),
    "manifest": ("manifest.safe", "safe:number"),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
@pytest.mark.parametrize("kind", list(S1_FILES))
def test_sentinel1_xml_with_entities_is_refused(kind, attack, tmp_path):
    copy = writable_copy(real_fixture("s1", S1B), tmp_path / S1B)
    pattern, element = S1_FILES[kind]
    (target,) = copy.glob(pattern)
    _inject(target, *ATTACKS[attack], element)
    with pytest.raises(ProductError) as err:
        safe.open_product(copy).polarisation("VV")
    text = one_line(err)
    assert err.value.path == str(target)
    assert err.value.problem.startswith(
        "XML declares a DTD (<!DOCTYPE>, entity declarations: external entities "
        "or entity expansion), which Sentinel-1 metadata never does; refused."
    )
    assert "download the product again" in text and "root:" not in text and "lollol" not in text


def test_sentinel1_entities_in_a_zipped_annotation_are_refused(tmp_path):
    src = real_fixture("s1", S1A)
    bad = tmp_path / S1A
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if re.search(r"/annotation/s1a-iw-grd-vh-[^/]*\.xml$", info.filename):
                member = info.filename
                head, rest = data.decode().split("?>", 1)
                data = f"{head}?>\n{XXE}{rest.replace('<polarisation>VH<', '<polarisation>&e;<', 1)}".encode()
            zout.writestr(info, data)
    product = safe.open_product(bad)
    product.polarisation("VV")  # the other polarisation still reads
    with pytest.raises(ProductError) as err:
        product.polarisation("VH")
    assert one_line(err).startswith(f"{bad}!{member}: XML declares a DTD")


def _mtd(tmp_path: Path, prolog: str = "", reference: str = "2020-04-05T10:30:21.024Z") -> Path:
    """A small Sentinel-2 L2A product metadata file (baseline 04.00, one band), with an optional DTD."""
    safe_dir = tmp_path / "S2A_MSIL2A_20200405T103021_N0400_R108_T32UMF_20200405T120000.SAFE"
    safe_dir.mkdir()
    granule = "GRANULE/L2A_T32UMF_A025000_20200405T103021/IMG_DATA/R10m/T32UMF_20200405T103021_B04_10m"
    offsets = "".join(f'<BOA_ADD_OFFSET band_id="{i}">-1000</BOA_ADD_OFFSET>' for i in range(13))
    text = (
        f"<?xml version='1.0' encoding='UTF-8'?>\n{prolog}"
        '<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">'
        f"<n1:General_Info><Product_Info><PRODUCT_START_TIME>{reference}</PRODUCT_START_TIME>"
        "<PROCESSING_BASELINE>04.00</PROCESSING_BASELINE><Datatake><SPACECRAFT_NAME>Sentinel-2A</SPACECRAFT_NAME>"
        f"</Datatake><Product_Organisation><Granule_List><Granule><IMAGE_FILE>{granule}</IMAGE_FILE></Granule>"
        "</Granule_List></Product_Organisation></Product_Info><Product_Image_Characteristics>"
        "<QUANTIFICATION_VALUES_LIST><BOA_QUANTIFICATION_VALUE>10000</BOA_QUANTIFICATION_VALUE>"
        f"</QUANTIFICATION_VALUES_LIST><BOA_ADD_OFFSET_VALUES_LIST>{offsets}</BOA_ADD_OFFSET_VALUES_LIST>"
        "</Product_Image_Characteristics></n1:General_Info></n1:Level-2A_User_Product>"
    )
    path = safe_dir / "MTD_MSIL2A.xml"
    path.write_text(text)
    return path


def test_sentinel2_metadata_control(tmp_path):
    """The MTD of the cases below, without its DTD, reads: they fail for the DTD alone."""
    product = read_metadata(_mtd(tmp_path))
    assert product.baseline == "04.00" and product.offsets["B04"] == -1000.0 and product.tile == "32UMF"


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_sentinel2_metadata_with_entities_is_refused(attack, tmp_path):
    dtd, reference = ATTACKS[attack]
    mtd = _mtd(tmp_path, prolog=dtd, reference=reference)
    for path in (mtd, mtd.parent):
        with pytest.raises(ProductError) as err:
            read_metadata(path)
        text = one_line(err)
        assert err.value.path == str(mtd)
        assert re.fullmatch(
            r"XML declares a DTD or entities \((DTDForbidden|EntitiesForbidden)[^)]*: external "
            r"entities or entity expansion\), which Sentinel-2 metadata never does; refused\. The "
            r"file is not ESA's: download the product again",
            err.value.problem,
        ), text


class _Answer:
    def __init__(self, content: bytes):
        self.content = content


@pytest.mark.parametrize(
    "body,problem",
    [
        (
            f"<?xml version='1.0'?>{XXE}<ListBucketResult><Key>&e;</Key></ListBucketResult>".encode(),
            "bucket listing declares a DTD or entities (DTDForbidden); refused",
        ),
        (
            f"<?xml version='1.0'?>{LAUGHS}<ListBucketResult><Key>&lol9;</Key></ListBucketResult>".encode(),
            "bucket listing declares a DTD or entities (DTDForbidden); refused",
        ),
        (b"<ListBucketResult><Key>unterminated", "bucket listing is not XML (no element found"),
    ],
)
def test_orbit_bucket_listing_is_parsed_safely(body, problem, monkeypatch):
    from soilsat.acquire import orbits

    monkeypatch.setattr(orbits, "request", lambda *a, **k: _Answer(body))
    with pytest.raises(ProductError) as err:
        orbits.asf_list(None, "https://bucket.example/", "AUX_POEORB/S1A", None)
    text = one_line(err)
    assert text.startswith("https://bucket.example/?prefix=AUX_POEORB/S1A: " + problem)
    assert text.endswith("check settings orbits.asf_url")


def test_orbit_bucket_listing_control(monkeypatch):
    from soilsat.acquire import orbits

    body = (
        b"<ListBucketResult xmlns='http://s3.amazonaws.com/doc/2006-03-01/'><Key>a.EOF</Key><Key>b.EOF</Key>"
        b"<IsTruncated>false</IsTruncated></ListBucketResult>"
    )
    monkeypatch.setattr(orbits, "request", lambda *a, **k: _Answer(body))
    assert orbits.asf_list(None, "https://bucket.example/", "AUX_POEORB/S1A", None) == ["a.EOF", "b.EOF"]


# ------------------------------------------------------------------------------ calibration without vectors


def _edit_calibration(copy: Path, edit) -> Path:
    (cal,) = copy.glob("annotation/calibration/calibration-*.xml")
    cal.write_text(edit(cal.read_text()))
    return cal


CALIBRATION_CASES = {
    "empty-list": (
        lambda t: re.sub(
            r'<calibrationVectorList count="\d+">.*</calibrationVectorList>',
            '<calibrationVectorList count="0"></calibrationVectorList>',
            t,
            flags=re.S,
        ),
        "calibration vectors missing: calibrationVectorList holds no calibrationVector, so sigma0 cannot be "
        "calibrated; download the product again",
    ),
    "count-mismatch": (
        lambda t: re.sub(r"<calibrationVector>.*?</calibrationVector>\s*", "", t, count=2, flags=re.S),
        "calibrationVectorList says count=27 but holds 25 calibrationVector: 2 calibrationVector missing "
        "(truncated or edited file; download the product again)",
    ),
    "no-list": (
        lambda t: re.sub(r"<calibrationVectorList.*</calibrationVectorList>", "", t, flags=re.S),
        "missing element calibrationVectorList",
    ),
    "bad-count": (
        lambda t: re.sub(r'<calibrationVectorList count="\d+">', '<calibrationVectorList count="many">', t),
        "element calibrationVectorList has a non-numeric count='many'",
    ),
}


@pytest.mark.parametrize("case", list(CALIBRATION_CASES))
def test_calibration_without_vectors(case, tmp_path):
    edit, problem = CALIBRATION_CASES[case]
    copy = writable_copy(real_fixture("s1", S1B), tmp_path / S1B)
    cal = _edit_calibration(copy, edit)
    with pytest.raises(ProductError) as err:
        safe.open_product(copy).polarisation("VV")
    assert one_line(err) == f"{cal}: {problem}"


# ------------------------------------------------------------------------------ measurement smaller than annotated


@pytest.fixture(scope="module")
def s1_world(tmp_path_factory):
    """One demo Sentinel-1 product of a small region, with its DEM and the chain's settings."""
    from soilsat.demo.ancillary import write_dem
    from soilsat.demo.sentinel1 import write_products
    from soilsat.demo.world import RegionSpec, WorldSpec, make_world
    from test_sar_graph import sentinel1_settings

    root = tmp_path_factory.mktemp("bad_s1")
    spec = WorldSpec(
        regions=(RegionSpec("t", 8.95, 55.95, 600, "humid"),),
        start=date(2020, 4, 1),
        end=date(2020, 4, 4),
        probes_per_region=2,
        lucas_samples=4,
    )
    world = make_world(spec)
    records = write_products(world, spec, root / "archive", root / "truth")
    write_dem(world, root / "dem")
    return root, world[0], records[0], sentinel1_settings()


def _with_measurement(src: Path, dst: Path, replace) -> str:
    """A copy of a zipped product whose VV measurement TIFF is replaced by `replace(tiff_bytes, tmp)`."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if re.search(r"/measurement/s1[ab]-iw-grd-vv-[^/]*\.tiff$", info.filename):
                member = info.filename
                data = replace(data, dst.parent)
            zout.writestr(info, data)
    return member


def _smaller(data: bytes, tmp: Path) -> bytes:
    """The same measurement with its last 40 lines cut off."""
    full, cut = tmp / "full.tiff", tmp / "cut.tiff"
    full.write_bytes(data)
    with rasterio.open(full) as src:
        profile = src.profile
        profile.update(height=src.height - 40)
        rows = src.read(1)[:-40]
    with rasterio.open(cut, "w", **profile) as dst:
        dst.write(rows, 1)
    return cut.read_bytes()


def _data_cut(data: bytes, tmp: Path) -> bytes:
    """The measurement rewritten with its directory first, then cut short: its size intact, the last lines missing."""
    full, again = tmp / "full.tiff", tmp / "again.tiff"
    full.write_bytes(data)
    with rasterio.open(full) as src:
        profile, rows = src.profile, src.read(1)
    with rasterio.open(again, "w", **profile) as dst:
        dst.write(rows, 1)
    rewritten = again.read_bytes()
    return rewritten[: len(rewritten) // 2]


def _truncated(data: bytes, tmp: Path) -> bytes:
    """The measurement's bytes cut short as an interrupted download leaves them (GDAL put its directory last)."""
    return data[: len(data) // 3]


AGAIN = r"; truncated or corrupt download\? Download the product again"


@pytest.mark.parametrize(
    "case,replace,problem",
    [
        (
            "fewer-lines",
            _smaller,
            r"measurement is (\d+) x (\d+) but the annotation says (\d+) x \2; "
            r"the product is damaged: download it again",
        ),
        ("data-cut", _data_cut, r"measurement unreadable at lines \d+-\d+ \(.*Read failed.*\)" + AGAIN),
        ("truncated-file", _truncated, r"measurement unreadable \(.*TIFFReadDirectory.*\)" + AGAIN),
    ],
)
def test_measurement_smaller_than_annotation_through_the_engine(case, replace, problem, s1_world, tmp_path):
    root, region, record, settings = s1_world
    product = tmp_path / Path(record["path"]).name
    member = _with_measurement(root / "archive" / record["path"], product, replace)
    output = tmp_path / "out" / f"{record['name']}.tif"
    xml = graph.build_graph(product, tmp_path / "out" / ".snap.tif", region.grid, root / "dem" / "dem_t.tif", settings)
    graph_path = tmp_path / "out" / f"{record['name']}.graph.xml"
    graph.write_graph(graph_path, xml)
    with pytest.raises(ProductError) as err:
        engine.run_graph(graph_path, region.grid, output)
    text = one_line(err)
    assert err.value.path == f"{product}!{member}", text
    m = re.fullmatch(problem, err.value.problem)
    assert m, text
    if case == "fewer-lines":
        assert int(m[3]) - int(m[1]) == 40
    assert not output.exists() and not list(output.parent.glob(f".{output.name}.*"))


def test_measurement_control(s1_world, tmp_path):
    """The product rewritten with its measurement unchanged runs: the cases above fail for the measurement."""
    root, region, record, settings = s1_world
    product = tmp_path / Path(record["path"]).name
    _with_measurement(root / "archive" / record["path"], product, lambda data, tmp: data)
    xml = graph.build_graph(product, tmp_path / ".snap.tif", region.grid, root / "dem" / "dem_t.tif", settings)
    graph.write_graph(tmp_path / "g.graph.xml", xml)
    result = engine.run_graph(tmp_path / "g.graph.xml", region.grid, tmp_path / "ok.tif")
    assert (tmp_path / "ok.tif").exists() and result.valid_fraction > 0.5


def test_dem_outside_the_grid_through_the_engine(s1_world, tmp_path):
    root, region, record, settings = s1_world
    dem = real_fixture("dem", ROME_DEM)  # Rome, the region is in Denmark
    output = tmp_path / "out.tif"
    xml = graph.build_graph(root / "archive" / record["path"], tmp_path / ".snap.tif", region.grid, dem, settings)
    graph.write_graph(tmp_path / "g.graph.xml", xml)
    with pytest.raises(ProductError) as err:
        engine.run_graph(tmp_path / "g.graph.xml", region.grid, output)
    # the graph XML names the DEM by its absolute, resolved path, as SNAP needs it
    assert one_line(err) == (
        f"{Path(dem).resolve()}: DEM does not cover the study grid of region t (no height at any grid pixel); "
        "supply a DEM covering the region's AOI plus the grid margin"
    )
    assert not output.exists()


# ------------------------------------------------------------------------------ damaged ISMN data files

STM = "COSMOS/ARM-1/COSMOS_COSMOS_ARM-1_sm_0.000000_0.190000_Cosmic-ray-Probe_20170810_20180809.stm"
ISMN_CASES = {
    "garbage-line": (
        "this is not a measurement line",
        "6 columns instead of 4 or 5 (date, time, value, ISMN flag, provider flag; the provider flag may "
        "be empty): 'this is not a measurement line'",
    ),
    "binary-garbage": (
        "\x00\x01\x02 ###",
        r"2 columns instead of 4 or 5 (date, time, value, ISMN flag, provider "
        r"flag; the provider flag may be empty): '\x00\x01\x02 ###'",
    ),
    "too-few-columns": (
        "2017/08/10 09:30   0.1390",
        "3 columns instead of 4 or 5 (date, time, value, ISMN flag, provider flag; the provider flag "
        "may be empty): '2017/08/10 09:30   0.1390'",
    ),
    "too-many-columns": (
        "2017/08/10 09:30   0.1390 G M 0.2 extra",
        "7 columns instead of 4 or 5 (date, time, value, ISMN flag, provider flag; the provider flag "
        "may be empty): '2017/08/10 09:30   0.1390 G M 0.2 extra'",
    ),
    "no-time": (
        "0.1390 G M 2017/08/10 09:30",
        "no 'YYYY/MM/DD HH:MM' time at its start: '0.1390 G M 2017/08/10 09:30'",
    ),
    "value-not-a-number": ("2017/08/10 09:30   n/a G M", "value 'n/a' is not a number: '2017/08/10 09:30   n/a G M'"),
}


def _ismn_with_line(tmp_path: Path, line: str, at: int = 10) -> Path:
    """A copy of the real COSMOS download with `line` inserted after line `at` of one sensor's data file."""
    src = real_fixture("ismn", COSMOS)
    bad = tmp_path / COSMOS
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == STM:
                lines = data.decode("latin-1").splitlines(keepends=True)
                data = "".join(lines[:at] + [line + "\n"] + lines[at:]).encode("latin-1")
            zout.writestr(info, data)
    return bad


@pytest.mark.parametrize("case", list(ISMN_CASES))
def test_damaged_ismn_file_names_the_file_and_line(case, tmp_path):
    line, problem = ISMN_CASES[case]
    bad = _ismn_with_line(tmp_path, line)
    with pytest.raises(ProductError) as err:
        read_ismn(bad, None, None, depth_to=None)
    assert one_line(err) == (
        f"{bad}!{STM}: line 11: {problem}; the file is damaged, download it again from the ISMN data portal"
    )


def test_ismn_provider_flag_may_be_empty(tmp_path):
    """A line without the provider flag, as real SMOSMANIA files have them, is read as it is."""
    bad = _ismn_with_line(tmp_path, "2017/08/10 09:30   0.1390 G")
    _, hourly = read_ismn(bad, None, None, depth_to=None)
    row = hourly[(hourly["station"] == "ARM-1") & (hourly["time"] == pd.Timestamp("2017-08-10 09:30"))]
    assert row["value"].tolist() == [0.139] and row["flag"].tolist() == ["G"]


def test_ismn_time_that_does_not_exist(tmp_path):
    bad = _ismn_with_line(tmp_path, "2017/13/45 09:30   0.1390 G M")
    with pytest.raises(ProductError) as err:
        read_ismn(bad, None, None, depth_to=None)
    text = one_line(err)
    assert text.startswith(f'{bad}!{STM}: unreadable ISMN data file (ValueError: time data "2017/13/45 09:30"')
    assert text.endswith("download it again from the ISMN data portal")


# ------------------------------------------------------------------------------ probes outside the AOI


def test_probes_outside_the_aoi_are_logged_and_dropped(caplog):
    grids = {"a": region_grid("a", 9.0, 56.0, 1000, 0), "b": region_grid("b", -5.35, 41.3, 1000, 0)}
    sites = pd.DataFrame(
        {
            "probe": ["in-a", "far-away", "in-b", "just-outside"],
            "lon": [9.0, 12.0, -5.35, 9.0],
            "lat": [56.0, 56.0, 41.3, 56.006],
        }
    )
    with caplog.at_level(logging.WARNING, logger="soilsat"):
        located = locate_probes(sites, grids)
    assert located["probe"].tolist() == ["in-a", "in-b"] and located["region"].tolist() == ["a", "b"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "2 points outside every region's study grid, excluded: far-away, just-outside"
    ]


# ------------------------------------------------------------------------------ DEM that does not cover the AOI


def test_dem_that_does_not_cover_the_grid(tmp_path):
    dem = real_fixture("dem", ROME_DEM)  # lon 12.45..12.55, lat 41.95..42.05
    inside = region_grid("rome", 12.50, 42.00, 1500, 250)
    heights = on_grid(dem, inside, Resampling.bilinear, band=1)
    assert np.isfinite(heights).all() and 0 < np.nanmean(heights) < 200  # the control
    for name, lon, lat, share in (("denmark", 9.0, 56.0, "100%"), ("edge", 12.548, 42.00, "4\\d%")):
        grid = region_grid(name, lon, lat, 1500, 250)
        with pytest.raises(ProductError) as err:
            on_grid(dem, grid, Resampling.bilinear, band=1)
        text = one_line(err)
        assert err.value.path == str(dem)
        assert re.fullmatch(
            rf"does not cover the study grid of region {name} \({share} of it uncovered or no data\): "
            r"the raster spans x 12\.4499\.\.12\.5499, y 41\.9501\.\.42\.0501 in its CRS, "
            r"the grid x \d+\.\.\d+, y \d+\.\.\d+ in "
            r"EPSG:326\d\d; supply a raster covering the region's AOI plus the grid margin",
            err.value.problem,
        ), text


def test_user_raster_that_does_not_cover_the_region(tmp_path):
    dem = real_fixture("dem", ROME_DEM)
    out = tmp_path / "dem_rome.tif"
    clip_raster(dem, out, {"name": "rome", "lon": 12.5, "lat": 42.0, "size_m": 1500}, 250)
    assert out.exists()  # the control
    out = tmp_path / "dem_skjern.tif"
    with pytest.raises(ProductError) as err:
        clip_raster(dem, out, {"name": "skjern", "lon": 8.95, "lat": 55.95, "size_m": 1500}, 250)
    assert re.fullmatch(
        re.escape(
            f"{dem}: does not cover region skjern: the raster spans lon 12.4499..12.5499, lat "
            "41.9501..42.0501, the AOI plus 250 m margin lon "
        )
        + r"8\.\d{4}\.\.8\.\d{4}, lat "
        r"55\.\d{4}\.\.55\.\d{4}; supply a file that covers the region",
        one_line(err),
    )
    assert not out.exists() and not list(tmp_path.glob(".dem_skjern*"))


# ---------------------------------------------------------------------- rule scripts end to end: no partial output

HARNESS = """
import json
SETTINGS = json.load(open("settings.json"))

rule static_layers:
    input: dem="anc/dem", landcover="anc/landcover", soil="anc/soil"
    output: "results/static/{region}.tif"
    log: "logs/static_{region}.log"
    params: region=SETTINGS["region"], grid=SETTINGS["grid"]
    script: "%(scripts)s/static_layers.py"

rule sentinel1_sigma0:
    input: product="resources/{product}.zip", dem="anc/dem"
    output: raster="results/sentinel1/{region}/{product}.tif", graph="results/sentinel1/{region}/{product}.graph.xml"
    log: "logs/sentinel1/{region}/{product}.log"
    threads: 1
    resources: mem_mb=2000
    params: region=SETTINGS["region"], grid=SETTINGS["grid"], sentinel1=SETTINGS["sentinel1"]
    script: "%(scripts)s/sentinel1.py"
"""


def _harness(workdir: Path, region: dict, sentinel1: dict | None = None) -> None:
    """A Snakefile whose rules run the project's own rule scripts, with the params the workflow gives them."""
    (workdir / "Snakefile").write_text(HARNESS % {"scripts": ROOT / "scripts"})
    settings = {"region": region, "grid": {"margin_m": 250, "resolution": 10}, "sentinel1": sentinel1 or {}}
    (workdir / "settings.json").write_text(json.dumps(settings))


def _snakemake(workdir: Path, target: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
    return subprocess.run(
        [
            str(SNAKEMAKE),
            "--snakefile",
            str(workdir / "Snakefile"),
            "--directory",
            str(workdir),
            "--cores",
            "1",
            target,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.mark.e2e
def test_static_layers_rule_on_a_dem_outside_the_aoi_leaves_no_output(tmp_path):
    from soilsat.demo.ancillary import write_landcover, write_soil
    from soilsat.demo.world import RegionSpec, WorldSpec, make_world

    region = {"name": "t", "lon": 8.95, "lat": 55.95, "size_m": 600}
    world = make_world(
        WorldSpec(
            regions=(RegionSpec("t", 8.95, 55.95, 600, "humid"),),
            start=date(2020, 4, 1),
            end=date(2020, 4, 3),
            probes_per_region=2,
            lucas_samples=4,
        )
    )
    write_landcover(world, tmp_path / "anc" / "landcover")
    write_soil(world, tmp_path / "anc" / "soil")
    (tmp_path / "anc" / "dem").mkdir(parents=True)
    shutil.copy(real_fixture("dem", ROME_DEM), tmp_path / "anc" / "dem" / "dem_t.tif")  # Rome, not Denmark
    _harness(tmp_path, region)
    proc = _snakemake(tmp_path, "results/static/t.tif")
    assert proc.returncode != 0
    log = (tmp_path / "logs" / "static_t.log").read_text()
    assert re.search(
        r"ERROR soilsat: ProductError: (\S+/)?anc/dem/dem_t\.tif: does not cover the study grid of region t "
        r"\(100% of it uncovered or no data\)",
        log,
    ), log
    assert "supply a raster covering the region's AOI plus the grid margin" in log
    assert not (tmp_path / "results" / "static" / "t.tif").exists()
    assert not [p for p in (tmp_path / "results").rglob("*") if p.is_file()]


@pytest.mark.e2e
def test_sentinel1_rule_on_a_truncated_measurement_leaves_no_output(s1_world, tmp_path):
    root, region, record, settings = s1_world
    name = record["name"]
    (tmp_path / "resources").mkdir()
    member = _with_measurement(root / "archive" / record["path"], tmp_path / "resources" / f"{name}.zip", _data_cut)
    shutil.copytree(root / "dem", tmp_path / "anc" / "dem")
    spec = region.spec
    _harness(tmp_path, {"name": "t", "lon": spec.lon, "lat": spec.lat, "size_m": spec.size_m}, settings)
    proc = _snakemake(tmp_path, f"results/sentinel1/t/{name}.tif")
    assert proc.returncode != 0
    log = (tmp_path / "logs" / "sentinel1" / "t" / f"{name}.log").read_text()
    assert re.search(
        rf"ERROR soilsat: ProductError: \S+/resources/{name}\.zip!{re.escape(member)}: measurement "
        r"unreadable at lines \d+-\d+ \(.*\)" + AGAIN,
        log,
    ), log
    out = tmp_path / "results" / "sentinel1" / "t"
    assert not (out / f"{name}.tif").exists() and not (out / f"{name}.graph.xml").exists()
    assert not [p for p in (tmp_path / "results").rglob("*") if p.is_file()], "partial output left behind"
