"""The demo world's ISMN archive, read back and compared with the truth."""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile

import numpy as np
import pandas as pd
import pytest

from soilsat.acquire.ismn import daily_soil_moisture, read_ismn, summarize
from soilsat.demo.ismn import FROZEN_FLAG, network_name, write_ismn_archive
from soilsat.demo.world import RegionSpec, WorldSpec, make_world

SPEC = WorldSpec(
    regions=(RegionSpec("t", 8.95, 55.95, 1500, "humid"),),
    start=dt.date(2020, 1, 1),
    end=dt.date(2020, 2, 29),
    probes_per_region=3,
    lucas_samples=10,
)
FROZEN_DAYS = slice(10, 14)  # a forced cold spell, 2020-01-11 .. 2020-01-14


@pytest.fixture(scope="module")
def world():
    w = make_world(SPEC)
    ts = w[0].truth["soil_temperature_max"].values.copy()
    ts[FROZEN_DAYS] = -1.5
    w[0].truth["soil_temperature_max"].values[:] = ts
    return w


@pytest.fixture(scope="module")
def archive(world, tmp_path_factory):
    path = tmp_path_factory.mktemp("ismn") / "ismn_demo.zip"
    entry = write_ismn_archive(world, SPEC, path)
    return path, entry


@pytest.fixture(scope="module")
def read(archive):
    return read_ismn(archive[0], None, None, depth_to=0.05)


def test_index_entry(archive):
    path, entry = archive
    assert entry["source"] == "ismn" and entry["name"] == path.name and entry["path"] == path.name
    assert entry["size"] == path.stat().st_size
    assert entry["md5"] == hashlib.md5(path.read_bytes()).hexdigest()


def test_archive_is_deterministic(world, archive, tmp_path):
    again = write_ismn_archive(world, SPEC, tmp_path / "again.zip")
    assert again["md5"] == archive[1]["md5"]


def test_layout_and_line_format(archive):
    with zipfile.ZipFile(archive[0]) as zf:
        names = zf.namelist()
        net = network_name("t")
        stm = [n for n in names if n.endswith(".stm")]
        assert all(n.startswith(f"{net}/") and n.count("/") == 2 for n in stm)
        assert sum("_static_variables.csv" in n for n in names) == 3
        first = zf.read(next(n for n in stm if "_sm_" in n)).decode()
    lines = first.split("\r\n")
    assert lines[0].split()[:3] == [net, net, "t-01"]
    assert len(lines[0].split()) == 9
    date, time, value, flag, orig = lines[1].split()
    assert len(date) == 10 and date[4] == "/" and len(time) == 5 and orig == "M"
    float(value)


def test_ismn_package_reads_stations_and_depths(world, read):
    probes, hourly = read
    truth_probes = world[0].probes
    sm = probes[probes["variable"] == "soil_moisture"]
    assert sorted(sm["station"].unique()) == sorted(truth_probes["probe"])
    expected_sensors = int(truth_probes["sensors"].sum())
    assert len(sm) == expected_sensors
    assert set(zip(sm["depth_from"], sm["depth_to"])) == {(0.0, 0.05)}
    ts = probes[probes["variable"] == "soil_temperature"]
    assert len(ts) == len(truth_probes) and set(ts["depth_to"]) == {0.05}
    # static variables and land cover arrive through the ismn package
    assert sm["clay"].notna().all() and sm["organic_carbon"].gt(0).all()
    lc = dict(zip(truth_probes["probe"], truth_probes["landcover"]))
    assert all(int(r.landcover) == lc[r.station] for r in sm.itertuples())
    assert (sm["climate"] == "Cfb").all()
    # the two sensors of a double site have different names and sit a few metres apart
    double = truth_probes.loc[truth_probes["sensors"] == 2, "probe"].iloc[0]
    pair = sm[sm["station"] == double]
    assert pair["sensor"].nunique() == 2
    assert 0 < abs(pair["lat"].iloc[0] - pair["lat"].iloc[1]) * 111_000 < 10
    assert set(hourly["flag"]) >= {"G"}


def test_values_match_truth(world, read):
    probes, hourly = read
    truth = world[0].truth
    good = hourly[(hourly["variable"] == "soil_moisture") & (hourly["flag"] == "G")]
    rc = world[0].probes.set_index("probe")[["row", "col"]]
    days = pd.DatetimeIndex(truth["time"].values)
    for station, g in good.groupby("station"):
        r, c = rc.loc[station]
        daily_truth = pd.Series(truth["sm"].values[:, r, c], index=days)
        expected = daily_truth.reindex(g["time"].dt.normalize()).to_numpy()
        err = g["value"].to_numpy() - expected
        # Gaussian noise: beyond 4 sigma (plus the 0.004 diurnal cycle) on at most 1 hour in 1000
        assert np.mean(np.abs(err) < 4 * SPEC.probe_noise + 0.004) > 0.999
        assert np.abs(err).max() < 6 * SPEC.probe_noise
        assert abs(err.std() - SPEC.probe_noise) < 0.3 * SPEC.probe_noise


def test_daily_mean_close_to_truth(world, read):
    probes, hourly = read
    daily = daily_soil_moisture(hourly, probes)
    truth = world[0].truth
    rc = world[0].probes.set_index("probe")[["row", "col"]]
    assert sorted(daily["site"].unique()) == sorted(world[0].probes["probe"])
    tol = 2 * SPEC.probe_noise / np.sqrt(24)
    for site, g in daily.groupby("site"):
        r, c = rc.loc[site]
        t = truth["sm"].sel(time=g["date"].to_numpy()).values[:, r, c]
        assert np.mean(np.abs(g["sm"].to_numpy() - t) < tol) > 0.85
    # the double site averages both sensors
    double = world[0].probes.loc[world[0].probes["sensors"] == 2, "probe"].iloc[0]
    assert daily.loc[daily["site"] == double, "n_sensors"].max() == 2
    # soil temperature: daily max close to the truth
    ts_truth = pd.Series(truth["soil_temperature_max"].values, index=pd.DatetimeIndex(truth["time"].values))
    err = daily["ts_max"].to_numpy() - ts_truth.reindex(daily["date"]).to_numpy()
    assert np.nanmax(np.abs(err)) < 0.6


def test_frozen_days_flagged_and_gaps(world, read):
    _, hourly = read
    sm = hourly[hourly["variable"] == "soil_moisture"]
    frozen_dates = pd.DatetimeIndex(world[0].truth["time"].values[FROZEN_DAYS])
    on_frozen = sm["time"].dt.normalize().isin(frozen_dates)
    assert on_frozen.any()
    assert sm.loc[on_frozen, "flag"].str.contains("D01").all()
    assert not sm.loc[~on_frozen, "flag"].str.contains("D01").any()
    assert FROZEN_FLAG.split(",")[0] == "D01"
    # spikes are flagged D06 and stand out
    assert sm["flag"].str.contains("D06").sum() >= 3
    # each sensor has a multi-day gap
    n_hours = len(pd.DatetimeIndex(world[0].truth["time"].values)) * 24
    for _, g in sm.groupby(["station", "sensor"]):
        assert len(g) <= n_hours - 48
        assert g["time"].diff().max() >= pd.Timedelta(days=2)


def test_summarize_demo(archive):
    s = summarize(archive[0])
    assert s["networks"] == [network_name("t")]
    assert s["n_stations"] == 3
    assert s["variables"] == ["soil_moisture", "soil_temperature"]
    assert [0.0, 0.05] in s["depths"] and [0.05, 0.05] in s["depths"]
    assert s["time_from"].startswith("2020-01-01") and s["time_to"].startswith("2020-02-29")
