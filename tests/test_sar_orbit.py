"""Orbits (soilsat.sar.orbit): EOF files, selection, interpolation accuracy and zero-Doppler."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from soilsat.demo import orbit as demo_orbit  # noqa: E402
from soilsat.errors import ProductError  # noqa: E402
from soilsat.sar import orbit as orb  # noqa: E402

PASS = dict(lon=8.95, lat=55.95, date="2020-04-03", direction="ASCENDING")


def _utc(t: np.datetime64 | dt.datetime) -> str:
    return "UTC=" + pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%S.%f")


def write_eof(
    path: Path,
    orbit: demo_orbit.Orbit,
    created: dt.datetime,
    start: dt.datetime,
    stop: dt.datetime,
    mission: str = "Sentinel-1A",
    kind: str = "POEORB",
    drop: str | None = None,
) -> Path:
    """An Earth Explorer orbit file of the demo orbit's state vectors (optionally without one OSV field)."""
    root = etree.Element("Earth_Explorer_File")
    fixed = etree.SubElement(etree.SubElement(root, "Earth_Explorer_Header"), "Fixed_Header")
    etree.SubElement(fixed, "File_Name").text = path.stem
    etree.SubElement(fixed, "Mission").text = mission
    etree.SubElement(fixed, "File_Type").text = f"AUX_{kind}"
    validity = etree.SubElement(fixed, "Validity_Period")
    etree.SubElement(validity, "Validity_Start").text = _utc(start)
    etree.SubElement(validity, "Validity_Stop").text = _utc(stop)
    source = etree.SubElement(fixed, "Source")
    etree.SubElement(source, "Creation_Date").text = _utc(created)
    block = etree.SubElement(root, "Data_Block", type="xml")
    osvs = etree.SubElement(block, "List_of_OSVs", count=str(len(orbit.time)))
    for t, p, v in zip(orbit.datetimes(orbit.time), orbit.position, orbit.velocity):
        osv = etree.SubElement(osvs, "OSV")
        etree.SubElement(osv, "TAI").text = _utc(t + np.timedelta64(37, "s"))
        etree.SubElement(osv, "UTC").text = _utc(t)
        for name, value in zip(("X", "Y", "Z", "VX", "VY", "VZ"), (*p, *v)):
            if name != drop:
                etree.SubElement(osv, name, unit="m" if len(name) == 1 else "m/s").text = f"{value:.6f}"
        etree.SubElement(osv, "Quality").text = "NOMINAL"
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return path


@pytest.fixture(scope="module")
def analytic():
    """The demo orbit at 10 s (as ESA's files give it) and densely (the analytic reference)."""
    coarse = demo_orbit.pass_orbit(**PASS, step_s=10.0, half_span_s=300.0)
    dense = demo_orbit.pass_orbit(**PASS, step_s=0.5, half_span_s=300.0)
    return coarse, dense


def _as_datetime(t: np.datetime64) -> dt.datetime:
    return pd.Timestamp(t).to_pydatetime()


# --------------------------------------------------------------------------- interpolation


def test_lagrange_degree3_matches_the_analytic_orbit(analytic):
    coarse, dense = analytic
    o = orb.Orbit(coarse.epoch, coarse.time, coarse.position, coarse.velocity, "lagrange", 3, "demo")
    inside = (dense.time > -280) & (dense.time < 280)
    pos, vel, _ = o.state(dense.time[inside])
    assert np.abs(pos - dense.position[inside]).max() < 0.005  # metres
    assert np.abs(vel - dense.velocity[inside]).max() < 1e-4  # m/s
    # at the state vectors themselves Lagrange is exact
    pos0, vel0, _ = o.state(coarse.time)
    np.testing.assert_allclose(pos0, coarse.position, atol=1e-6)
    np.testing.assert_allclose(vel0, coarse.velocity, atol=1e-9)


def test_acceleration_is_the_derivative_of_velocity(analytic):
    coarse, _ = analytic
    for method, degree in (("lagrange", 3), ("polynomial", 7)):
        o = orb.Orbit(coarse.epoch, coarse.time, coarse.position, coarse.velocity, method, degree, "demo")
        t = np.linspace(-200, 200, 41)
        _, v_lo, _ = o.state(t - 0.01)
        _, v_hi, _ = o.state(t + 0.01)
        _, _, acc = o.state(t)
        np.testing.assert_allclose(acc, (v_hi - v_lo) / 0.02, atol=2e-4)


def test_polynomial_fit_on_an_annotation_length_orbit(analytic):
    coarse, dense = analytic
    keep = np.abs(coarse.time) <= 80  # 17 vectors, as an annotation holds
    o = orb.Orbit.from_state_vectors(
        coarse.datetimes(coarse.time[keep]), coarse.position[keep], coarse.velocity[keep], method="polynomial", degree=5
    )
    inside = np.abs(dense.time) < 70
    pos, vel, _ = o.state(o.seconds(dense.datetimes(dense.time[inside])))
    assert np.abs(pos - dense.position[inside]).max() < 0.01
    assert np.abs(vel - dense.velocity[inside]).max() < 1e-3


def test_unknown_method_and_too_few_vectors_are_refused(analytic):
    coarse, _ = analytic
    with pytest.raises(ValueError, match="not one of"):
        orb.Orbit(coarse.epoch, coarse.time, coarse.position, coarse.velocity, "spline", 3)
    with pytest.raises(ValueError, match="too few"):
        orb.Orbit(coarse.epoch, coarse.time[:3], coarse.position[:3], coarse.velocity[:3], "lagrange", 3)


def test_zero_doppler_of_a_ground_point(analytic):
    coarse, _ = analytic
    o = orb.Orbit(coarse.epoch, coarse.time, coarse.position, coarse.velocity, "lagrange", 3, "demo")
    lon, lat, h = np.array([8.9, 9.0, 8.95]), np.array([55.9, 56.0, 55.95]), np.array([0.0, 150.0, 1200.0])
    xyz = orb.geodetic_to_ecef(lon, lat, h)
    t, r = orb.zero_doppler(o, xyz)
    pos, vel, _ = o.state(t)
    doppler = np.einsum("ij,ij->i", xyz - pos, vel) / (np.linalg.norm(vel, axis=1) * r)
    assert np.abs(doppler).max() < 1e-10
    np.testing.assert_allclose(r, np.linalg.norm(xyz - pos, axis=1), rtol=0, atol=1e-6)
    t_ref, r_ref = demo_orbit.zero_doppler(coarse, xyz, t0=0.0)
    np.testing.assert_allclose(t, t_ref, atol=1e-5)
    np.testing.assert_allclose(r, r_ref, atol=0.01)
    # our WGS 84 conversion agrees with the demo world's
    np.testing.assert_allclose(xyz, demo_orbit.geodetic_to_ecef(lon, lat, h), atol=1e-6)


# --------------------------------------------------------------------------- EOF files


def test_read_eof(tmp_path, analytic):
    coarse, _ = analytic
    start, stop = _as_datetime(coarse.datetimes(coarse.time[0])), _as_datetime(coarse.datetimes(coarse.time[-1]))
    path = write_eof(
        tmp_path / "S1A_OPER_AUX_POEORB_OPOD_20200423T121500_V20200402T225942_20200404T005942.EOF",
        coarse,
        dt.datetime(2020, 4, 23, 12, 15),
        start,
        stop,
    )
    eof = orb.read_eof(path)
    assert (eof.mission, eof.kind, eof.created) == ("S1A", "POEORB", dt.datetime(2020, 4, 23, 12, 15))
    assert (eof.validity_start, eof.validity_stop) == (start, stop)
    assert eof.orbit.method == "lagrange" and eof.orbit.degree == 3
    assert eof.orbit.epoch == coarse.datetimes(coarse.time[0])
    np.testing.assert_allclose(eof.orbit.time, coarse.time - coarse.time[0])
    np.testing.assert_allclose(eof.orbit.position, coarse.position, atol=1e-6)
    np.testing.assert_allclose(eof.orbit.velocity, coarse.velocity, atol=1e-6)


def test_read_eof_errors_name_the_file(tmp_path, analytic):
    coarse, _ = analytic
    t0, t1 = _as_datetime(coarse.datetimes(coarse.time[0])), _as_datetime(coarse.datetimes(coarse.time[-1]))
    bad = write_eof(tmp_path / "no_vz.EOF", coarse, dt.datetime(2020, 4, 23), t0, t1, drop="VZ")
    with pytest.raises(ProductError, match=r"no_vz\.EOF: OSV 1 has no VZ"):
        orb.read_eof(bad)
    junk = tmp_path / "junk.EOF"
    junk.write_text("<Earth_Explorer_File><unclosed>")
    with pytest.raises(ProductError, match=r"junk\.EOF: orbit file XML does not parse"):
        orb.read_eof(junk)
    with pytest.raises(ProductError, match=r"absent\.EOF: no such orbit file"):
        orb.read_eof(tmp_path / "absent.EOF")


def _edited_osvs(path: Path, drop_last: int = 0, count: str | None = None) -> Path:
    """The EOF file with its last OSVs removed and/or its declared count replaced, as a cut or an edit leaves it."""
    root = etree.fromstring(path.read_bytes())
    osvs = root.find("Data_Block/List_of_OSVs")
    for osv in list(osvs)[len(osvs) - drop_last :] if drop_last else ():
        osvs.remove(osv)
    if count is not None:
        osvs.set("count", count)
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return path


@pytest.mark.parametrize(
    "drop_last, count, problem",
    [
        (
            2,
            None,
            "List_of_OSVs says count=61 but holds 59 OSV: 2 OSV missing (truncated or edited file; download the "
            "orbit file again)",
        ),
        (
            0,
            "60",
            "List_of_OSVs says count=60 but holds 61 OSV (truncated or edited file; download the orbit file again)",
        ),
        (0, "sixty-one", "List_of_OSVs has a non-numeric count='sixty-one'"),
    ],
)
def test_eof_whose_declared_count_differs_is_refused(tmp_path, analytic, drop_last, count, problem):
    coarse, _ = analytic
    t0, t1 = _as_datetime(coarse.datetimes(coarse.time[0])), _as_datetime(coarse.datetimes(coarse.time[-1]))
    path = write_eof(
        tmp_path / "S1A_OPER_AUX_RESORB_OPOD_20200403T120000_V20200403T000000_20200403T010000.EOF",
        coarse,
        dt.datetime(2020, 4, 3, 12),
        t0,
        t1,
    )
    assert len(coarse.time) == 61 and orb.read_eof(path).orbit.time.size == 61  # the control: count matches
    _edited_osvs(path, drop_last, count)
    with pytest.raises(ProductError) as err:
        orb.read_eof(path)
    assert str(err.value) == f"{path}: {problem}"


def test_select_eof_needs_the_margin_and_prefers_the_newest(tmp_path, analytic):
    coarse, _ = analytic
    t = lambda s: _as_datetime(coarse.datetimes(s))  # noqa: E731
    start, stop = t(-10.0), t(10.0)  # the product
    files = {
        "old": write_eof(tmp_path / "old.EOF", coarse, dt.datetime(2020, 4, 10), t(-300), t(300)),
        "new": write_eof(tmp_path / "new.EOF", coarse, dt.datetime(2020, 4, 23), t(-300), t(300)),
        "short": write_eof(tmp_path / "short.EOF", coarse, dt.datetime(2020, 5, 1), t(-40), t(40)),
        "other": write_eof(
            tmp_path / "other.EOF", coarse, dt.datetime(2020, 5, 2), t(-300), t(300), mission="Sentinel-1B"
        ),
        "resorb": write_eof(tmp_path / "resorb.EOF", coarse, dt.datetime(2020, 4, 3), t(-300), t(300), kind="RESORB"),
    }
    eofs = {k: orb.read_eof(p) for k, p in files.items()}
    chosen = orb.select_eof(eofs.values(), start, stop, mission="S1A", margin_s=60)
    assert chosen.path == files["new"]
    # with a margin the short file does not cover, it is never chosen; without, it is the newest
    assert orb.select_eof([eofs["short"]], start, stop, "S1A", margin_s=60) is None
    assert orb.select_eof(eofs.values(), start, stop, "S1A", margin_s=20).path == files["short"]
    assert orb.select_eof([eofs["other"]], start, stop, "S1A") is None
    assert orb.select_eof([eofs["old"], eofs["resorb"]], start, stop, "S1A").path == files["old"]


def test_product_orbit_uses_the_eof_or_warns(tmp_path, analytic, caplog):
    coarse, _ = analytic
    t = lambda s: _as_datetime(coarse.datetimes(s))  # noqa: E731
    ann = type("Annotation", (), {})()
    keep = np.abs(coarse.time) <= 80
    ann.orbit = pd.DataFrame(
        {
            "time": coarse.datetimes(coarse.time[keep]),
            **{k: coarse.position[keep, i] for i, k in enumerate("xyz")},
            **{f"v{k}": coarse.velocity[keep, i] for i, k in enumerate("xyz")},
        }
    )
    path = write_eof(tmp_path / "full.EOF", coarse, dt.datetime(2020, 4, 23), t(-300), t(300))
    o = orb.product_orbit(ann, t(-10), t(10), "S1A", [path])
    assert o.source == "full.EOF" and o.method == "lagrange"
    with caplog.at_level(logging.WARNING, logger="soilsat.sar.orbit"):
        o = orb.product_orbit(ann, t(-10), t(10), "S1B", [path])
    assert o.source == "annotation" and o.method == "polynomial"
    assert "using the annotation orbit" in caplog.text
