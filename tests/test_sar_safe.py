"""The SAFE reader on ESA's own metadata (../shared/fixtures/real/s1), and its errors."""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA, real_fixture, writable_copy
from soilsat.errors import ProductError
from soilsat.sar import safe

S1B = "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"
S1A = "S1A_IW_GRDH_1SDV_20150203T043109_20150203T043134_004454_00574F_6D00.zip"


@pytest.fixture(scope="module")
def s1b() -> Path:
    return real_fixture("s1", S1B)


@pytest.fixture(scope="module")
def s1a() -> Path:
    return real_fixture("s1", S1A)


def _xml_texts(path: Path, pol: str) -> dict[str, str]:
    """The raw annotation, calibration and noise XML of a polarisation, read independently."""
    kinds = {
        "annotation": r"annotation/s1[ab]-[^/]*-{pol}-[^/]*\.xml$",
        "calibration": r"calibration-s1[ab]-[^/]*-{pol}-",
        "noise": r"noise-s1[ab]-[^/]*-{pol}-",
    }
    out = {}
    if path.is_dir():
        names = {str(p.relative_to(path)): p for p in path.rglob("*.xml")}
        for kind, pattern in kinds.items():
            (name,) = [n for n in names if re.search(pattern.format(pol=pol.lower()), n)]
            out[kind] = names[name].read_text()
    else:
        with zipfile.ZipFile(path) as z:
            for kind, pattern in kinds.items():
                (name,) = [n for n in z.namelist() if re.search(pattern.format(pol=pol.lower()), n)]
                out[kind] = z.read(name).decode()
    return out


def _count(text: str, list_name: str) -> int:
    return int(re.search(rf"<{list_name} count=\"(\d+)\"", text).group(1))


@pytest.mark.parametrize("which,pols", [("s1b", ["VV"]), ("s1a", ["VV", "VH"])])
def test_counts_match_the_xml(which, pols, request):
    path = request.getfixturevalue(which)
    product = safe.open_product(path)
    assert product.available_polarisations == tuple(pols)
    for pol in pols:
        xml = _xml_texts(path, pol)
        data = product.polarisation(pol)
        ann, cal, noise = data.annotation, data.calibration, data.noise
        assert len(ann.orbit) == _count(xml["annotation"], "orbitList")
        assert len(ann.geolocation) == _count(xml["annotation"], "geolocationGridPointList")
        assert len(ann.coordinate_conversion) == _count(xml["annotation"], "coordinateConversionList")
        assert len(cal.vectors) == _count(xml["calibration"], "calibrationVectorList")
        rng_list = "noiseRangeVectorList" if "noiseRangeVectorList" in xml["noise"] else "noiseVectorList"
        assert len(noise.range_vectors) == _count(xml["noise"], rng_list)
        az = _count(xml["noise"], "noiseAzimuthVectorList") if "noiseAzimuthVectorList" in xml["noise"] else 0
        assert len(noise.azimuth_vectors) == az
        for v in cal.vectors:
            assert v.pixel.size == v.sigma_nought.size == v.beta_nought.size == v.gamma.size == v.dn.size
            assert np.all(np.diff(v.pixel) > 0)
        for v in noise.range_vectors:
            assert v.pixel.size == v.lut.size
        assert list(ann.orbit.columns) == ["time", "x", "y", "z", "vx", "vy", "vz"]
        assert list(ann.geolocation.columns) == [
            "azimuthTime",
            "slantRangeTime",
            "line",
            "pixel",
            "latitude",
            "longitude",
            "height",
            "incidenceAngle",
            "elevationAngle",
        ]
        # orbit radius of a ~700 km orbit, speed ~7.5 km/s
        r = np.hypot(np.hypot(ann.orbit.x, ann.orbit.y), ann.orbit.z)
        assert np.all((r > 7.0e6) & (r < 7.1e6))
        assert np.all(np.abs(np.hypot(np.hypot(ann.orbit.vx, ann.orbit.vy), ann.orbit.vz) - 7.5e3) < 200)
        assert ann.geolocation.line.max() == ann.number_of_lines - 1
        assert ann.geolocation.pixel.max() == ann.number_of_samples - 1


def test_s1b_values(s1b):
    product = safe.open_product(s1b)
    m = product.manifest
    assert (m.mission, m.mode, m.product_type, m.product_class, m.ipf_version) == ("S1B", "IW", "GRD", "GRDH", "003.40")
    assert m.ipf_tuple == (3, 40)
    assert m.polarisations == ("VV", "VH")
    assert m.sensing_start == dt.datetime(2021, 12, 23, 5, 11, 22, 594441)
    assert m.sensing_stop == dt.datetime(2021, 12, 23, 5, 11, 47, 593146)
    assert (m.orbit_direction, m.relative_orbit, m.absolute_orbit) == ("DESCENDING", 22, 30148)
    assert len(m.footprint) == 4 and m.footprint[0] == (14.925448, 40.876698)
    assert m.files["VV"].measurement == (
        "measurement/s1b-iw-grd-vv-20211223t051122-20211223t051147-030148-039993-001.tiff"
    )
    ann = product.annotation("VV")
    assert (ann.number_of_lines, ann.number_of_samples) == (16705, 26102)
    assert ann.first_line_time == m.sensing_start and ann.last_line_time == m.sensing_stop
    span = (ann.last_line_time - ann.first_line_time).total_seconds()
    assert span == pytest.approx((ann.number_of_lines - 1) * ann.azimuth_time_interval, abs=1e-3)
    assert ann.pass_direction == "DESCENDING"
    assert ann.radar_frequency == pytest.approx(5.405e9, rel=1e-4)
    assert ann.range_pixel_spacing == ann.azimuth_pixel_spacing == 10.0
    assert ann.orbit.time.iloc[0] == np.datetime64("2021-12-23T05:10:21.029300")
    assert ann.geolocation.azimuthTime.iloc[0] == np.datetime64("2021-12-23T05:11:22.594174")
    assert ann.coordinate_conversion[0].srgr_coefficients.size == 9
    noise = product.noise("VV")
    assert [v.swath for v in noise.azimuth_vectors] == ["IW1", "IW2", "IW3"]
    assert noise.azimuth_vectors[1].first_sample == 8890 and noise.azimuth_vectors[2].last_sample == 26101
    cal = product.calibration("VV")
    assert cal.vectors[1].line == 668 and cal.vectors[0].sigma_nought[0] == pytest.approx(663.8558)


def test_s1a_zip_pre_29_noise(s1a):
    product = safe.open_product(s1a)
    assert product.manifest.ipf_version == "002.70"
    noise = product.noise("VH")
    assert noise.azimuth_vectors == ()
    assert len(noise.range_vectors) == 27 and noise.range_vectors[1].line == 668
    assert product.noise("VV").range_vectors[0].lut[0] == pytest.approx(1694.175)
    with pytest.raises(ProductError, match="measurement file of polarisation VV is missing"):
        product.measurement_path("VV")
    assert product.container.gdal_path("measurement/x.tiff").startswith("/vsizip/")


def test_summarize(s1b, s1a):
    b = safe.summarize(s1b)
    json.dumps(b)
    assert b["mission"] == "S1B" and b["mode"] == "IW" and b["product_type"] == "GRD" and b["product_class"] == "GRDH"
    assert b["ipf_version"] == "003.40"
    assert b["polarisations"] == ["VV", "VH"] and b["available_polarisations"] == ["VV"]
    assert b["sensing_start"] == "2021-12-23T05:11:22.594441" and b["sensing_stop"] == "2021-12-23T05:11:47.593146"
    assert (b["orbit_direction"], b["relative_orbit"], b["absolute_orbit"]) == ("DESCENDING", 22, 30148)
    assert b["image_size"] == {"VV": {"lines": 16705, "samples": 26102}}
    assert b["calibration_vectors"] == {"VV": 27}
    assert b["noise_range_vectors"] == {"VV": 27} and b["noise_azimuth_vectors"] == {"VV": 3}
    assert b["orbit_state_vectors"] == {"VV": 16} and b["geolocation_points"] == {"VV": 210}
    assert b["measurement"]["VV"]["present"] is False

    a = safe.summarize(s1a)
    json.dumps(a)
    assert a["mission"] == "S1A" and a["ipf_version"] == "002.70" and a["product_class"] == "GRDH"
    assert a["available_polarisations"] == ["VV", "VH"]
    assert a["sensing_start"] == "2015-02-03T04:31:09.448219"
    assert (a["orbit_direction"], a["relative_orbit"], a["absolute_orbit"]) == ("DESCENDING", 7, 4454)
    assert a["image_size"] == {"VV": {"lines": 16712, "samples": 25560}, "VH": {"lines": 16712, "samples": 25560}}
    assert a["calibration_vectors"] == {"VV": 27, "VH": 27}
    assert a["noise_range_vectors"] == {"VV": 27, "VH": 27} and a["noise_azimuth_vectors"] == {"VV": 0, "VH": 0}
    assert a["orbit_state_vectors"]["VV"] == 17


# ------------------------------------------------------------------------------ errors


def test_truncated_zip(s1a, tmp_path):
    data = s1a.read_bytes()
    bad = tmp_path / S1A
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProductError) as e:
        safe.summarize(bad)
    assert str(bad) in str(e.value) and "zip" in str(e.value)
    assert "\n" not in str(e.value)


def test_zip_with_corrupt_member(s1a, tmp_path):
    """A zip whose directory is intact but whose member data is damaged."""
    bad = tmp_path / S1A
    data = bytearray(s1a.read_bytes())
    with zipfile.ZipFile(s1a) as z:
        info = z.getinfo(next(n for n in z.namelist() if "calibration-s1a-iw-grd-vv" in n))
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 200
    data[start : start + 400] = b"\0" * 400
    bad.write_bytes(bytes(data))
    with pytest.raises(ProductError) as e:
        safe.open_product(bad).polarisation("VV")
    assert "calibration-s1a-iw-grd-vv" in str(e.value)


def test_missing_calibration(s1b, tmp_path):
    copy = writable_copy(s1b, tmp_path / S1B)
    (cal,) = copy.glob("annotation/calibration/calibration-*.xml")
    cal.unlink()
    product = safe.open_product(copy)
    assert product.available_polarisations == ()
    with pytest.raises(ProductError) as e:
        product.polarisation("VV")
    assert cal.name in str(e.value) and "calibration" in e.value.problem
    with pytest.raises(ProductError, match=cal.name):
        safe.summarize(copy)


def test_xml_that_does_not_parse(s1b, tmp_path):
    copy = writable_copy(s1b, tmp_path / S1B)
    (noise,) = copy.glob("annotation/calibration/noise-*.xml")
    noise.write_bytes(noise.read_bytes()[:5000])
    with pytest.raises(ProductError) as e:
        safe.open_product(copy).polarisation("VV")
    assert noise.name in str(e.value) and "parse" in e.value.problem


def test_wrong_polarisation(s1a, s1b):
    for path in (s1a, s1b):
        with pytest.raises(ProductError) as e:
            safe.open_product(path).polarisation("HH")
        assert "HH" in e.value.problem and "manifest.safe" in e.value.path


def test_not_a_safe(tmp_path):
    (tmp_path / "empty.SAFE").mkdir()
    with pytest.raises(ProductError, match="manifest"):
        safe.open_product(tmp_path / "empty.SAFE")
    z = tmp_path / "other.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("x/readme.txt", "hello")
    with pytest.raises(ProductError, match="manifest"):
        safe.open_product(z)
    with pytest.raises(ProductError, match="no such file"):
        safe.open_product(tmp_path / "nothing.zip")


def test_entities_are_not_expanded(s1b, tmp_path):
    copy = writable_copy(s1b, tmp_path / S1B)
    manifest = copy / "manifest.safe"
    text = manifest.read_text()
    evil = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
    body = text.split("\n", 1)[1].replace("<safe:number>B</safe:number>", "<safe:number>&e;</safe:number>")
    manifest.write_text(evil + body)
    try:
        m = safe.open_product(copy).manifest
    except ProductError:
        return
    assert "root" not in m.mission


# ------------------------------------------------------------------------------ products that are not GRD

# A real IW SLC (xarray-sentinel's test data): the manifest lists IW1..IW3 x VV/VH, the zip holds IW1 VV and VH and
# IW2 VH (the last swath is absent).
SLC = DATA / "xarray-sentinel" / "S1B_IW_SLC__1SDV_20210401T052622_20210401T052650_026269_032297_EFA4.zip"
SLC_REFUSED = (
    "Sentinel-1 product of type SLC (IW mode, swaths IW1, IW2, IW3); soilsat processes Level-1 GRD products "
    "(GRDF, GRDH or GRDM: one image per polarisation): use the GRD product of this acquisition"
)


def _annotation_count(path: Path, swath: str, pol: str, pattern: str) -> int:
    with zipfile.ZipFile(path) as z:
        (name,) = [n for n in z.namelist() if re.search(rf"annotation/s1b-{swath}-slc-{pol}-.*\.xml$", n)]
        return int(re.search(pattern, z.read(name).decode()).group(1))


def test_slc_is_described_swath_by_swath():
    s = safe.summarize(SLC)
    json.dumps(s)
    assert (s["product_type"], s["product_class"], s["mode"], s["processed"]) == ("SLC", "SLC", "IW", False)
    assert s["swaths"] == ["IW1", "IW2", "IW3"]
    assert s["images"] == ["IW1/VV", "IW1/VH", "IW2/VV", "IW2/VH", "IW3/VV", "IW3/VH"]
    assert s["available_images"] == ["IW1/VV", "IW1/VH", "IW2/VH"]
    assert s["available_polarisations"] == ["VV", "VH"]  # the absent last swath hides neither
    assert s["image_size"] == {
        "IW1/VV": {"lines": 13509, "samples": 21632},
        "IW1/VH": {"lines": 13509, "samples": 21632},
        "IW2/VH": {"lines": 15130, "samples": 25508},
    }
    assert s["image_size"]["IW2/VH"]["lines"] == _annotation_count(SLC, "iw2", "vh", r"<numberOfLines>(\d+)<")
    assert s["geolocation_points"] == {"IW1/VV": 210, "IW1/VH": 210, "IW2/VH": 231}
    assert s["geolocation_points"]["IW2/VH"] == _annotation_count(SLC, "iw2", "vh", r'GridPointList count="(\d+)"')
    assert s["calibration_vectors"] == {"IW1/VV": 30, "IW1/VH": 30, "IW2/VH": 30}
    assert s["measurement"]["IW2/VH"] == {
        "file": "s1b-iw2-slc-vh-20210401t052622-20210401t052650-026269-032297-002.tiff",
        "present": True,
    }
    assert s["note"] == (
        "product type SLC: described image by image, not processed; soilsat processes Level-1 GRD "
        "products (GRDF, GRDH or GRDM: one image per polarisation)"
    )


def test_grd_summary_keys_images_by_polarisation(s1b):
    s = safe.summarize(s1b)
    assert (s["swaths"], s["images"], s["available_images"], s["processed"]) == (["IW"], ["VV", "VH"], ["VV"], True)
    assert "note" not in s


def test_slc_is_refused_by_every_processing_entry_point(tmp_path):
    from soilsat.grid import region_grid
    from soilsat.sar import engine, graph
    from soilsat.sar.geolocation_check import check_product
    from soilsat.sar.reference.simple_chain import sigma0_on_grid

    refused = f"{SLC}: {SLC_REFUSED}"
    product = safe.open_product(SLC)
    for call in (
        lambda: product.polarisation("VV"),
        lambda: product.measurement_path("VH"),
        lambda: list(check_product(SLC)),
        lambda: sigma0_on_grid(SLC, region_grid("r", 8.2, 51.1, 200, 0)),
    ):
        with pytest.raises(ProductError) as err:
            call()
        assert str(err.value) == refused
    grid = region_grid("r", 8.2, 51.1, 200, 0)
    spec = engine.ChainSpec(
        graph="slc.graph.xml",
        graph_hash="0",
        product=SLC,
        polarisations=("VV",),
        geo_region=None,
        orbit_type="Sentinel Precise (Auto Download)",
        continue_on_fail=True,
        border_limit=500,
        trim_threshold=0.5,
        looks=1,
        window=7,
        target=3,
        sigma=0.9,
        dem=tmp_path / "absent_dem.tif",
        dem_nodata=-32768.0,
        pixel_spacing=grid.resolution,
        map_projection=grid.crs,
        aligned=True,
        grid_origin=graph.grid_origin(grid),
    )
    with pytest.raises(ProductError) as err:
        engine.stream_chain(spec, grid, lambda *block: None)
    assert str(err.value) == refused
    # the image data themselves are read by key, for a description
    assert product.image("IW2/VH").annotation.number_of_samples == 25508
