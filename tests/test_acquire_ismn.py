"""Reading real ISMN downloads and tabular inputs; errors name the file."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import DATA
from soilsat.acquire.ismn import daily_soil_moisture, read_ismn, summarize
from soilsat.errors import ProductError

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real" / "ismn"
COSMOS = REAL / "Data_seperate_files_header_20170810_20180809.zip"
SMOSMANIA = REAL / "Data_SMOSMANIA_header_values.zip"

needs_fixtures = pytest.mark.skipif(
    not (COSMOS.exists() and SMOSMANIA.exists()), reason="real ISMN fixtures not present"
)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture()
def cosmos(tmp_path):
    # read a copy, so a stray metadata folder would show up beside it
    path = tmp_path / COSMOS.name
    shutil.copy(COSMOS, path)
    return path


@needs_fixtures
def test_cosmos_archive(cosmos):
    before = _md5(cosmos)
    probes, hourly = read_ismn(cosmos, None, None, depth_to=None)
    assert sorted(probes["station"]) == ["ARM-1", "Barrow-ARM"]
    assert set(probes["network"]) == {"COSMOS"}
    depths = dict(zip(probes["station"], zip(probes["depth_from"], probes["depth_to"])))
    assert depths == {"ARM-1": (0.0, 0.19), "Barrow-ARM": (0.0, 0.21)}
    arm = probes.set_index("station").loc["ARM-1"]
    assert arm["lat"] == pytest.approx(36.6054) and arm["lon"] == pytest.approx(-97.4878)
    assert arm["elevation"] == pytest.approx(322.0)
    assert arm["clay"] == 23.0 and arm["sand"] == 36.0 and arm["silt"] == 41.0
    assert arm["organic_carbon"] == pytest.approx(1.27) and arm["landcover_cci"] == 130
    assert arm["climate"] == "Cfa"
    a = hourly[hourly["station"] == "ARM-1"]
    assert a["time"].min() == pd.Timestamp("2017-08-10 00:00")
    assert a["time"].max() == pd.Timestamp("2018-08-09 23:00")
    assert a["value"].iloc[0] == pytest.approx(0.141) and a["flag"].iloc[0] == "G"
    assert {"G", "D03"} <= set(a["flag"])
    # the surface filter drops the 0-0.19 m cosmic-ray probes
    assert read_ismn(cosmos, None, None, depth_to=0.05)[0].empty
    # daily means of good values only
    daily = daily_soil_moisture(hourly, probes, depth_to=0.25)
    assert set(daily["site"]) == {"ARM-1", "Barrow-ARM"}
    day = daily[(daily["site"] == "ARM-1") & (daily["date"] == "2017-08-10")]
    good = a[(a["time"].dt.normalize() == "2017-08-10") & (a["flag"] == "G")]["value"]
    assert day["sm"].iloc[0] == pytest.approx(good.mean())
    # the input is untouched and nothing was written beside it
    assert _md5(cosmos) == before
    assert sorted(p.name for p in cosmos.parent.iterdir()) == [cosmos.name]


@needs_fixtures
def test_station_filter(cosmos):
    probes, hourly = read_ismn(cosmos, ["COSMOS"], ["Barrow-ARM"], depth_to=None)
    assert list(probes["station"]) == ["Barrow-ARM"] and set(hourly["station"]) == {"Barrow-ARM"}
    assert read_ismn(cosmos, ["OTHER"], None, depth_to=None)[0].empty


@needs_fixtures
def test_smosmania_cr_only_line_endings():
    with zipfile.ZipFile(SMOSMANIA) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".stm"))
        raw = zf.read(name)
    assert b"\n" not in raw and raw.count(b"\r") > 100
    probes, hourly = read_ismn(SMOSMANIA, None, None, depth_to=0.05)
    assert list(probes["station"]) == ["Narbonne"]
    # the network comes from the file names, not the wrapper folder of this archive
    assert list(probes["network"]) == ["SMOSMANIA"]
    assert (probes["depth_from"].iloc[0], probes["depth_to"].iloc[0]) == (0.05, 0.05)
    assert probes["sensor"].iloc[0] == "ThetaProbe-ML2X"
    assert hourly["time"].min() == pd.Timestamp("2007-01-01 01:00")
    assert hourly["time"].max() == pd.Timestamp("2007-01-31 23:00")
    assert hourly["value"].iloc[0] == pytest.approx(0.214)
    assert len(hourly) == 741


@needs_fixtures
def test_summarize_real_archives():
    s = summarize(COSMOS)
    json.dumps(s)
    assert s["networks"] == ["COSMOS"] and s["n_stations"] == 2
    assert s["stations"] == {"COSMOS": ["ARM-1", "Barrow-ARM"]}
    assert s["variables"] == ["soil_moisture"]
    assert s["depths"] == [[0.0, 0.19], [0.0, 0.21]]
    assert s["time_from"] == "2017-08-10T00:00:00" and s["time_to"] == "2018-08-09T23:00:00"
    s = summarize(SMOSMANIA)
    json.dumps(s)
    assert s["networks"] == ["SMOSMANIA"] and s["stations"] == {"SMOSMANIA": ["Narbonne"]}
    assert s["depths"] == [[0.05, 0.05]]
    assert s["time_from"] == "2007-01-01T01:00:00" and s["time_to"] == "2007-01-31T23:00:00"


@pytest.mark.parametrize("content", [b"this is not a zip file\n", b"PK\x03\x04 broken", b""])
def test_garbage_file(tmp_path, content):
    bad = tmp_path / "garbage_ismn.zip"
    bad.write_bytes(content)
    with pytest.raises(ProductError) as err:
        read_ismn(bad, None, None)
    assert "garbage_ismn.zip" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ProductError, match="garbage_ismn.zip"):
        summarize(bad)


def test_zip_without_ismn_files(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ProductError, match="other.zip.*ISMN"):
        summarize(path)


def test_missing_archive(tmp_path):
    with pytest.raises(ProductError, match="nothere.zip"):
        read_ismn(tmp_path / "nothere.zip", None, None)


def _hand_made_station():
    """One station with three 0-5 cm sensors: A, B 6 m north of A, C 30 m east of A; and one sensor at 0.3 m."""
    import numpy as np

    lat0, lon0 = 56.0, 9.0
    east_30m = 30.0 / (111_320.0 * np.cos(np.radians(lat0)))
    sensors = {
        "A": (lat0, lon0, 0.05, 0.20),
        "B": (lat0 + 6.0 / 111_320.0, lon0, 0.05, 0.30),
        "C": (lat0, lon0 + east_30m, 0.05, 0.40),
        "D": (lat0, lon0, 0.30, 0.90),
    }
    probes = pd.DataFrame(
        [
            {
                "probe": "NET_ST",
                "network": "NET",
                "station": "ST",
                "sensor": s,
                "variable": "soil_moisture",
                "lat": la,
                "lon": lo,
                "depth_from": 0.0,
                "depth_to": d,
            }
            for s, (la, lo, d, _) in sensors.items()
        ]
    )
    hours = pd.date_range("2020-06-01", periods=24, freq="h")
    hourly = pd.concat(
        [
            pd.DataFrame(
                {
                    "probe": "NET_ST",
                    "network": "NET",
                    "station": "ST",
                    "sensor": s,
                    "variable": "soil_moisture",
                    "depth_from": 0.0,
                    "depth_to": d,
                    "time": hours,
                    "value": v,
                    "flag": "G",
                }
            )
            for s, (_, _, d, v) in sensors.items()
        ],
        ignore_index=True,
    )
    hourly.loc[(hourly["sensor"] == "A") & (hourly.index % 24 == 0), ["value", "flag"]] = [5.0, "D01"]  # a bad hour
    return probes, hourly, sensors


def test_sensors_within_10_m_become_one_site():
    from soilsat.acquire.ismn import sites_of

    probes, _, _ = _hand_made_station()
    sites = sites_of(probes).set_index("sensor")["site"]
    assert sites["A"] == sites["B"] == sites["D"] == "NET_ST-1"  # B is 6 m from A; D is A's position, deeper
    assert sites["C"] == "NET_ST-2"  # 30 m away: a site of its own
    assert sites_of(probes, radius_m=40.0)["site"].unique().tolist() == ["NET_ST"]  # one site keeps the probe id


def test_site_average_of_sensors_within_10_m():
    probes, hourly, sensors = _hand_made_station()
    daily = daily_soil_moisture(hourly, probes).set_index("site")
    assert daily.index.tolist() == ["NET_ST-1", "NET_ST-2"]
    # A (0.20; its one bad-flagged 5.0 left out) and B (0.30) averaged with equal weight; D is below 5 cm
    assert daily.loc["NET_ST-1", "sm"] == pytest.approx(0.25)
    assert daily.loc["NET_ST-1", "n_sensors"] == 2 and daily.loc["NET_ST-1", "n_hours"] == 23 + 24
    assert daily.loc["NET_ST-2", "sm"] == pytest.approx(0.40) and daily.loc["NET_ST-2", "n_sensors"] == 1
    # the site sits at the mean position of its 0-5 cm sensors (D, deeper, is not one of them)
    assert daily.loc["NET_ST-1", "lat"] == pytest.approx((sensors["A"][0] + sensors["B"][0]) / 2, abs=1e-9)
    assert daily.loc["NET_ST-2", "lon"] == pytest.approx(sensors["C"][1], abs=1e-9)


# ------------------------------------------------------------------------------ wrapper folders and old formats

WRAPPED = DATA / "ismn" / "Data_seperate_files_20170810_20180809.zip"  # the ismn package's own test archive
WRAPPER = "Data_seperate_files_20170810_20180809/"
OLD = DATA / "pytesmo"  # ISMN files of the formats before 2014, from pytesmo's tests


def _unwrapped(tmp_path: Path) -> Path:
    """The same download as ISMN's portal delivers it: the wrapper folder's content at the top of the zip."""
    path = tmp_path / "unwrapped.zip"
    with zipfile.ZipFile(WRAPPED) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != WRAPPER:
                zout.writestr(info.filename.removeprefix(WRAPPER), zin.read(info))
    return path


def _without_paths(probes: pd.DataFrame) -> pd.DataFrame:
    return probes.assign(file_path=[Path(p).name for p in probes["file_path"]])


def test_wrapper_folder_reads_as_the_download_without_it(tmp_path):
    probes, hourly = read_ismn(WRAPPED, None, None, depth_to=None)
    plain_probes, plain_hourly = read_ismn(_unwrapped(tmp_path), None, None, depth_to=None)
    # every sensor once, with its own station's static variables (from its own static_variables.csv)
    statics = probes.set_index("station")[
        ["network", "sensor", "clay", "sand", "silt", "organic_carbon", "saturation", "landcover_cci", "climate"]
    ]
    assert statics.to_dict("index") == {
        "ARM-1": {
            "network": "COSMOS",
            "sensor": "Cosmic-ray-Probe",
            "clay": 23.0,
            "sand": 36.0,
            "silt": 41.0,
            "organic_carbon": 1.27,
            "saturation": 0.46,
            "landcover_cci": 130.0,
            "climate": "Cfa",
        },
        "Barrow-ARM": {
            "network": "COSMOS",
            "sensor": "Cosmic-ray-Probe",
            "clay": 18.0,
            "sand": 34.0,
            "silt": 48.0,
            "organic_carbon": 3.08,
            "saturation": 0.55,
            "landcover_cci": 210.0,
            "climate": "ET",
        },
        "fraye": {
            "network": "FR-Aqui",
            "sensor": "ThetaProbe-ML2X",
            "clay": 4.0,
            "sand": 87.0,
            "silt": 9.0,
            "organic_carbon": 2.18,
            "saturation": 0.49,
            "landcover_cci": 70.0,
            "climate": "Cfb",
        },
    }
    assert probes["file_path"].iloc[0] == (
        f"{WRAPPER}COSMOS/ARM-1/COSMOS_COSMOS_ARM-1_sm_0.000000_0.190000_Cosmic-ray-Probe_20170810_20180809.stm"
    )
    # each hour once: the line counts of the three data files
    assert hourly.groupby("station").size().to_dict() == {"ARM-1": 6865, "Barrow-ARM": 7059, "fraye": 52045}
    assert not hourly.duplicated(["station", "time"]).any()
    pd.testing.assert_frame_equal(_without_paths(probes), _without_paths(plain_probes))
    pd.testing.assert_frame_equal(hourly, plain_hourly)
    # so a day needs 12 good hours, not 12 copies of 6
    daily = daily_soil_moisture(hourly, probes, depth_to=0.25)
    assert daily["n_hours"].max() == 24
    pd.testing.assert_frame_equal(daily, daily_soil_moisture(plain_hourly, plain_probes, depth_to=0.25))


def test_wrapper_folder_of_an_extracted_download(tmp_path):
    with zipfile.ZipFile(WRAPPED) as zf:
        zf.extractall(tmp_path / "download")
    probes, hourly = read_ismn(tmp_path / "download", None, None, depth_to=None)
    expected_probes, expected_hourly = read_ismn(WRAPPED, None, None, depth_to=None)
    pd.testing.assert_frame_equal(probes, expected_probes)
    pd.testing.assert_frame_equal(hourly, expected_hourly)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["download"]  # nothing written beside the download


def test_summary_of_a_wrapped_download_equals_the_plain_one(tmp_path):
    wrapped, plain = summarize(WRAPPED), summarize(_unwrapped(tmp_path))
    json.dumps(wrapped)
    assert wrapped.pop("archive") == WRAPPED.name and plain.pop("archive") == "unwrapped.zip"
    assert wrapped == plain
    assert wrapped["n_sensors"] == 3
    assert wrapped["stations"] == {"COSMOS": ["ARM-1", "Barrow-ARM"], "FR-Aqui": ["fraye"]}
    barrow = wrapped["sensors"][1]
    assert barrow == {
        "network": "COSMOS",
        "station": "Barrow-ARM",
        "sensor": "Cosmic-ray-Probe",
        "variable": "soil_moisture",
        "depth_from": 0.0,
        "depth_to": 0.21,
        "lat": 71.3298,
        "lon": -156.6287,
        "elevation": 4.0,
        "clay": 18.0,
        "sand": 34.0,
        "silt": 48.0,
        "organic_carbon": 3.08,
        "saturation": 0.55,
        "landcover": None,
        "landcover_cci": 210.0,
        "climate": "ET",
        "time_from": "2017-08-10T00:00:00",
        "time_to": "2018-08-09T08:00:00",
        "file": "COSMOS_COSMOS_Barrow-ARM_sm_0.000000_0.210000_Cosmic-ray-Probe_20170810_20180809.stm",
    }


def test_data_files_at_different_depths_are_refused(tmp_path):
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(WRAPPED) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            name = info.filename.removeprefix(WRAPPER) if "/COSMOS/" in info.filename else info.filename
            zout.writestr(name, zin.read(info))
    with pytest.raises(ProductError) as err:
        summarize(path)
    assert str(err.value) == (
        f"{path}: ISMN data files at different folder depths (./ and {WRAPPER}); an ISMN "
        "download keeps them as <network>/<station>/<file>.stm, under one folder"
    )


OLD_FORMATS = {
    "format_header_values": (
        "SMOSMANIA_SMOSMANIA_Narbonne_sm_0.050000_0.050000_ThetaProbeML2X_20070101_20120109.stm",
        "the early Header+values format (data lines of date, time, value and ISMN flag, without the provider flag)",
    ),
    "format_ceop_sep": (
        "SMOSMANIA_SMOSMANIA_Narbonne_sm_0.050000_0.050000_ThetaProbeML2X_20100616_20100705.stm",
        "the early CEOP format of separate files (14 columns, without the provider flag)",
    ),
    "format_ceop": (
        "SMOSMANIA_SMOSMANIA_NBN_20100304_20130801.stm",
        "the first CEOP format (all variables of a station in one file)",
    ),
}


@pytest.mark.parametrize("fmt", list(OLD_FORMATS))
@pytest.mark.parametrize("as_zip", [False, True])
def test_old_ismn_formats_are_named_with_the_format_to_download(fmt, as_zip, tmp_path):
    name, described = OLD_FORMATS[fmt]
    member = f"SMOSMANIA/Narbonne/{name}"
    folder = tmp_path / "old"
    (folder / "SMOSMANIA" / "Narbonne").mkdir(parents=True)
    shutil.copy(OLD / fmt / "SMOSMANIA" / name, folder / member)
    path = folder
    if as_zip:
        path = tmp_path / "old.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.write(folder / member, member)
    expected = (
        f"{path}!{member}: ISMN data file in {described}, an old format the ismn package cannot read; "
        "download the data again from the ISMN data portal (ismn.earth) as 'Variables stored in separate "
        "files (Header+values)'"
    )
    for reader in (summarize, lambda p: read_ismn(p, None, None, depth_to=None)):
        with pytest.raises(ProductError) as err:
            reader(path)
        assert str(err.value) == expected
