"""Extraction rules on hand-made data with known answers."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from soilsat.extract import phenology
from soilsat.extract.pairing import closest_in_time, drop_outliers
from soilsat.extract.points import locate
from soilsat.extract.probes import probe_days
from soilsat.extract.series import window_statistic, zscore_outliers
from soilsat.extract.static import slope_aspect
from soilsat.extract.terrain import TERRAIN, d8_accumulation, terrain_variables
from soilsat.grid import region_grid


def test_frozen_days_removed_and_sites_kept():
    daily = pd.DataFrame(
        {
            "site": ["a", "a", "a", "b"],
            "probe": ["A", "A", "A", "B"],
            "date": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-01"]),
            "sm": [0.2, 0.3, 0.25, 0.1],
            "ts_max": [1.0, 0.0, -2.0, np.nan],
            "lat": [50.0] * 3 + [51.0],
            "lon": [8.0] * 3 + [9.0],
        }
    )
    sites, days = probe_days(daily)
    assert sites["probe"].tolist() == ["a", "b"]
    assert days["ssm"].iloc[0] == 0.2 and np.isnan(days["ssm"].iloc[1]) and np.isnan(days["ssm"].iloc[2])
    assert days["ssm"].iloc[3] == 0.1  # unknown soil temperature is not taken as frozen


def test_zscore_outliers_removed():
    values = pd.Series([-12.0, -11.5, -12.5, -12.2, -11.8, -3.0, np.nan])
    out = zscore_outliers(values, 2.0)
    assert np.isnan(out.iloc[5])
    assert out.iloc[:5].tolist() == values.iloc[:5].tolist()
    assert np.isnan(out.iloc[6])


def test_buffer_statistics():
    data = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
    assert window_statistic(data, 2, 2, 0, "pixel")[0] == 12
    # radius 1 = the pixel and its 4 edge neighbours
    assert window_statistic(data, 2, 2, 1, "mean")[0] == pytest.approx(np.mean([7, 11, 12, 13, 17]))
    data[0, 1, 2] = np.nan
    assert window_statistic(data, 2, 2, 1, "median")[0] == pytest.approx(np.median([11, 12, 13, 17]))


def test_aspect_and_slope_of_a_plane():
    # A plane rising to the east by 1 m per 10 m pixel: slope 10 %, facing (downslope) west.
    elevation = np.tile(np.arange(6, dtype=float), (6, 1))
    slope, aspect = slope_aspect(elevation, 10.0)
    assert np.allclose(slope, 10.0)
    assert np.allclose(np.cos(aspect), 0.0, atol=1e-6) and np.allclose(np.sin(aspect), -1.0)
    # Rising to the north (rows run south): downslope faces south, aspect pi.
    slope, aspect = slope_aspect(elevation.T[::-1].copy(), 10.0)
    assert np.allclose(np.cos(aspect), -1.0)


def test_points_outside_grid_are_logged(caplog):
    grid = region_grid("a", 9.0, 56.0, 1000, 0)
    points = pd.DataFrame({"probe": ["in", "out"], "lon": [9.0, 12.0], "lat": [56.0, 56.0]})
    with caplog.at_level(logging.WARNING):
        located = locate(points, {"a": grid}, "probe")
    assert located["probe"].tolist() == ["in"]
    assert "out" in caplog.text


def test_closest_acquisition_within_window():
    times = pd.Series(pd.to_datetime(["2020-01-01T17:00", "2020-01-04T06:00", "2020-01-10T17:00"]))
    assert closest_in_time(times, pd.Timestamp("2020-01-04T10:30"), 1) == 1
    assert closest_in_time(times, pd.Timestamp("2020-01-07T10:30"), 1) is None


def test_band_outliers_dropped():
    table = pd.DataFrame({"B02": [0.1] * 20 + [0.9], "B03": [0.2] * 21})
    table.loc[:19, "B02"] += np.linspace(-0.01, 0.01, 20)
    assert len(drop_outliers(table, ["B02", "B03"], 3.0)) == 20


def test_phenology_of_a_symmetric_season_as_mcd12q2_defines_it():
    doy = np.arange(366, dtype=float)
    curve = 0.2 + 0.6 * np.exp(-0.5 * ((doy - 180) / 30.0) ** 2)
    flat = np.full(366, 0.3)
    metrics = phenology.cycle_metrics(np.stack([curve, flat], axis=1), min_amplitude=0.1)
    assert metrics["Peak"][0] == 180 and metrics["EVI_Amplitude"][0] == pytest.approx(0.6, abs=1e-3)
    dates = [metrics[name][0] for name in phenology.DATE_FIELDS]
    assert dates == sorted(dates) and len(set(dates)) == 7
    # 15 % of the amplitude is crossed where exp(-x^2/2) = 0.15: 1.948 sigma from the peak
    assert metrics["Greenup"][0] == pytest.approx(180 - 1.948 * 30, abs=1) and metrics["Dormancy"][0] == pytest.approx(
        180 + 1.948 * 30, abs=1
    )
    assert metrics["EVI_Minimum"][0] == pytest.approx(0.2, abs=1e-3)
    inside = curve[int(metrics["Greenup"][0]) : int(metrics["Dormancy"][0]) + 1]
    assert metrics["EVI_Area"][0] == pytest.approx(inside.sum())
    assert metrics["NumCycles"].tolist() == [1.0, 0.0] and np.isnan(metrics["Greenup"][1])


def test_daily_curves_interpolate_each_pixel_between_its_own_observations():
    days = np.array([10, 40, 70, 100])
    values = np.array([[0.2, np.nan], [0.5, 0.4], [0.8, np.nan], [0.5, 0.4]])
    curves = phenology.daily_curves(days, values, 120, window_days=1)
    assert curves[25, 0] == pytest.approx(0.35) and curves[0, 0] == pytest.approx(0.2) and curves[119, 0] == 0.5
    assert np.isnan(curves[:, 1]).all()  # two observations are too few for a curve
    smooth = phenology.daily_curves(days, values, 120, window_days=31)
    assert smooth[70, 0] < curves[70, 0]  # the moving mean flattens the peak


def test_terrain_of_a_plane_and_a_valley():
    x = np.arange(20) * 90.0
    plane = np.tile(0.1 * x, (20, 1))  # rises 10 % eastwards
    terrain = dict(zip(TERRAIN, terrain_variables(plane, 90.0)))
    inner = (slice(2, -2), slice(2, -2))
    assert terrain["slp"][inner] == pytest.approx(np.degrees(np.arctan(0.1)), rel=1e-5)
    assert terrain["tpi"][inner] == pytest.approx(0.0, abs=1e-3) and terrain["vrm"][inner] == pytest.approx(0, abs=1e-6)
    assert terrain["rough"][inner] == pytest.approx(2 * 9.0) and terrain["tri"][inner] == pytest.approx(6 * 9.0 / 8)
    # every pixel of a row drains west: the accumulated area grows towards the western edge
    accumulation = d8_accumulation(plane)
    assert accumulation[5, 0] == 20 and accumulation[5, -1] == 1
    assert terrain["cti"][5, 1] > terrain["cti"][5, -2] and terrain["spi"][5, 1] > terrain["spi"][5, -2]
    valley = np.abs(np.arange(21) - 10.0)[None, :].repeat(21, axis=0) * 10 + np.arange(21)[:, None] * 0.5
    assert terrain_variables(valley, 90.0)[TERRAIN.index("tpi")][10, 10] < 0  # the valley floor lies low


def test_probe_without_valid_day_is_logged_and_dropped(caplog):
    from soilsat.extract.probes import drop_probes_without_days

    index = pd.MultiIndex.from_product([["p1", "p2"], pd.date_range("2020-01-01", periods=3)], names=["probe", "time"])
    table = pd.DataFrame({"ssm": [0.1, np.nan, 0.2, np.nan, np.nan, np.nan]}, index=index)
    with caplog.at_level(logging.WARNING):
        kept = drop_probes_without_days(table)
    assert kept.index.get_level_values("probe").unique().tolist() == ["p1"]
    assert "p2" in caplog.text and "no valid soil-moisture day" in caplog.text


def test_sample_without_bare_soil_is_logged_and_dropped(tmp_path, caplog):
    from soilsat.extract.samples import S2_BANDS, bare_soil_observations
    from soilsat.io import write_cog

    grid = region_grid("a", 9.0, 56.0, 200, 0)
    bands = np.full((len(S2_BANDS) + 2,) + grid.shape, 0.2, np.float32)
    bands[-2] = 0  # bare
    bands[-2, 5, 5] = 1  # only the first sample's pixel is bare soil
    bands[-1] = 1  # valid
    path = tmp_path / "s2.tif"
    write_cog(path, bands, grid, [*S2_BANDS, "bare", "valid"], tags={"region": "a"})
    samples = pd.DataFrame({"point_id": ["A1", "A2"], "region": "a", "row": [5, 10], "col": [5, 10]})
    optical = pd.DataFrame(
        {"path": [str(path)], "region": ["a"], "time": [pd.Timestamp("2020-05-01")], "product": ["s2"]}
    )
    radar = pd.DataFrame(columns=["path", "region", "time", "product"])
    with caplog.at_level(logging.WARNING):
        observations = bare_soil_observations(samples, optical, radar, pair_days=1, outlier_sd=3)
    assert observations["point_id"].tolist() == ["A1"]
    assert np.isnan(observations["VV"]).all()  # no Sentinel-1 within a day: the gap stays a gap
    assert "A2" in caplog.text and "without any bare-soil observation" in caplog.text


def _tagged_s2(path, valid_fraction: str | None) -> str:
    """A one-band Sentinel-2-like raster with an optional valid_fraction tag."""
    from soilsat.io import write_cog

    grid = region_grid("a", 9.0, 56.0, 100, 0)
    tags = {"region": "a", "sensing_time": "2020-05-01T10:30:00"}
    if valid_fraction is not None:
        tags["valid_fraction"] = valid_fraction
    write_cog(path, np.full((1,) + grid.shape, 0.5, np.float32), grid, ["NDVI"], tags=tags)
    return str(path)


def test_products_under_min_valid_fraction_dropped_and_logged(tmp_path, caplog):
    from soilsat.extract.rasters import index_rasters, read_index, usable

    clear = _tagged_s2(tmp_path / "S2A_clear.tif", "0.8000")
    cloudy = _tagged_s2(tmp_path / "S2A_cloudy.tif", "0.0100")
    edge = _tagged_s2(tmp_path / "S2A_edge.tif", "0.0500")
    index = index_rasters([clear, cloudy, edge], "sentinel2")
    index.to_csv(tmp_path / "index.csv", index=False)
    back = read_index(tmp_path / "index.csv")  # the written index reads back as it was
    columns = ["path", "product", "source", "region", "time", "valid_fraction"]
    pd.testing.assert_frame_equal(back[columns], index[columns])
    assert back["orbit_direction"].isna().all()
    assert index["time"].tolist() == [pd.Timestamp("2020-05-01T10:30:00")] * 3
    with caplog.at_level(logging.INFO, logger="soilsat.extract.rasters"):
        kept = usable(index, 0.05)
    assert kept["path"].tolist() == [clear, edge]  # the threshold itself is kept
    assert (
        "dropped Sentinel-2 product S2A_cloudy: valid fraction 0.010 below sentinel2.min_valid_fraction 0.050"
        in caplog.text
    )
    assert "S2A_clear" not in caplog.text and "S2A_edge" not in caplog.text
    assert "2 of 3 Sentinel-2 products kept" in caplog.text


def test_product_without_valid_fraction_tag_is_an_error_naming_it(tmp_path):
    from soilsat.extract.rasters import index_rasters

    bare = _tagged_s2(tmp_path / "S2A_untagged.tif", None)
    with pytest.raises(ValueError, match="S2A_untagged.tif: Sentinel-2 raster has no valid_fraction tag"):
        index_rasters([bare], "sentinel2")


@pytest.mark.parametrize(
    "rule, script",
    [
        ("extract_probes", "extract_probes"),
        ("extract_samples", "extract_samples"),
        ("covariates", "covariates"),
        ("map_ssm", "map_ssm"),
        ("map_clay", "map_clay"),
    ],
)
def test_every_sentinel2_consumer_honours_min_valid_fraction(rule, script):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    rules = "".join(p.read_text() for p in (root / "rules").glob("*.smk"))
    body = rules[rules.index(f"rule {rule}:") :].split("\nrule ")[0]
    assert 'min_valid_fraction=config["sentinel2"]["min_valid_fraction"]' in body
    source = (root / "scripts" / f"{script}.py").read_text()
    assert "params.min_valid_fraction" in source
    # the one shared filter, not a copy of it
    assert "usable(" in source or "build_dataset(" in source
