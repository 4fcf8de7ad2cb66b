"""The chip route's library: points and batches, item search and product lists, the pairing both routes share, the
Sentinel-1 items each point needs, the DEM of a chip, and the cost summary."""

from __future__ import annotations

import datetime as dt
import json
import logging

import numpy as np
import pandas as pd
import pytest

from conftest import schema_defaults
from loopback import RETRIES
from loopback_stac import serve_stac
from soilsat.acquire.download import RetryPolicy
from soilsat.chips import chip_grid
from soilsat.config import check_chips
from soilsat.errors import ConfigError
from soilsat.extract.chip_costs import cost_summary, read_costs, summary_table
from soilsat.extract.chip_items import item_time, listed_items, read_items, search_point_items, write_items
from soilsat.extract.chip_optical import COST_COLUMNS
from soilsat.extract.chip_points import (
    batch_points,
    chip_points,
    point_chip_shape,
    read_points,
    zone_label,
)
from soilsat.extract.chip_radar import dem_covering, radar_requests, safe_href
from soilsat.extract.pairing import (
    OPTICAL_COLUMNS,
    S2_BANDS,
    closest_in_time,
    closest_positions,
    pair_observations,
    read_point_values,
    usable_chips,
)
from soilsat.grid import region_grid
from soilsat.io import write_cog

# jutland (UTM 32N, inside the region), madrid (30N), buenos_aires (21S)
POINTS = pd.DataFrame(
    {
        "point_id": ["JU1", "MA1", "BA1", "JU2"],
        "lon": [8.95, -3.70, -58.38, 8.951],
        "lat": [55.95, 40.42, -34.60, 55.951],
        "clay": [20.0, 30.0, 40.0, 25.0],
    }
)
SHAPE = point_chip_shape(40.0, 1, 10.0)
APRIL = (dt.date(2020, 4, 1), dt.date(2020, 4, 30))


def _box(lon: float, lat: float, half: float = 0.05) -> dict:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half]]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def _item(item_id: str, when: str, lon: float, lat: float, collection: str = "c", **assets) -> dict:
    return {
        "type": "Feature",
        "id": item_id,
        "collection": collection,
        "geometry": _box(lon, lat),
        "properties": {"datetime": when},
        "assets": assets,
    }


def test_point_chip_shape_widens_the_pixel_by_the_halo_and_the_mask_dilation():
    assert (SHAPE.window, SHAPE.halo, SHAPE.side) == (1, 5, 11)
    assert point_chip_shape(0.0, 0, 10.0).side == 1


def test_points_are_the_lucas_points_each_in_its_utm_zone_in_batches(tmp_path):
    grids = {"skjern": region_grid("skjern", 8.95, 55.95, 1500, 250)}
    points = chip_points(POINTS, grids, SHAPE, points_per_job=3)
    # by zone, 100 km square and id: a job's points share Sentinel-2 tiles, and batches are stable
    assert list(points["point_id"]) == ["MA1", "JU1", "JU2", "BA1"]
    assert list(points["epsg"]) == [32630, 32632, 32632, 32721]
    assert list(points["region"]) == ["utm30n", "skjern", "skjern", "utm21s"]
    assert list(points["batch"]) == [0, 0, 0, 1]
    assert (points["row"] == 5).all() and (points["col"] == 5).all()
    assert list(points["clay"]) == [30.0, 20.0, 25.0, 40.0]  # the samples' other columns travel with them
    points.to_csv(tmp_path / "points.csv", index=False)
    back = read_points(str(tmp_path / "points.csv"))
    pd.testing.assert_frame_equal(back, points, check_dtype=False)
    assert list(batch_points(back, 1)["point_id"]) == ["BA1"]
    with pytest.raises(ValueError, match="chip batch 2 has no points \\(batches 0 to 1\\)"):
        batch_points(back, 2)


def test_a_jobs_points_share_a_100_km_square():
    # ids alternate between two squares about 290 km apart in zone 32N: each batch keeps to one square
    points = pd.DataFrame(
        {"point_id": ["P1", "P2", "P3", "P4"], "lon": [7.0, 11.0, 7.01, 11.01], "lat": [50.0, 50.0, 50.01, 50.01]}
    )
    table = chip_points(points, {}, SHAPE, points_per_job=2)
    assert list(table["point_id"]) == ["P1", "P3", "P2", "P4"]
    assert list(table["batch"]) == [0, 0, 1, 1]


def test_bad_points_are_named():
    with pytest.raises(ValueError, match="point names given twice: JU1"):
        chip_points(pd.concat([POINTS, POINTS.iloc[:1]]), {}, SHAPE, 10)
    with pytest.raises(ValueError, match="points without coordinates: MA1"):
        chip_points(POINTS.assign(lat=[55.95, np.nan, -34.6, 55.951]), {}, SHAPE, 10)
    with pytest.raises(ValueError, match="points_per_job must be at least 1"):
        chip_points(POINTS, {}, SHAPE, 0)
    with pytest.raises(ValueError, match="EPSG:3035 is not a WGS 84 UTM zone"):
        zone_label(3035)


def test_read_points_names_a_file_that_is_not_a_points_table(tmp_path):
    POINTS.to_csv(tmp_path / "lucas.csv", index=False)
    with pytest.raises(ValueError, match="lucas.csv: not a chip points table .*'region'.*rerun rule chip_points"):
        read_points(str(tmp_path / "lucas.csv"))


def test_closest_positions_choose_as_closest_in_time_does():
    rng = np.random.default_rng(3)
    base = pd.Timestamp("2020-04-01")
    times = pd.Series(sorted(base + pd.to_timedelta(rng.integers(0, 40, 25), unit="D")))  # with repeats
    targets = base + pd.to_timedelta(np.arange(-3, 45, 0.5), unit="D")
    found = closest_positions(times.to_numpy(), targets.to_numpy(), 1.5)
    expected = [closest_in_time(times, t, 1.5) for t in targets]
    assert [None if f < 0 else int(f) for f in found] == expected
    assert list(closest_positions(np.array([], dtype="datetime64[ns]"), targets.to_numpy(), 1)) == [-1] * len(targets)


def _optical(rows: list[tuple]) -> pd.DataFrame:
    """Optical rows (point, day of April, bare, valid, reflectance of every band)."""
    records = [
        (p, pd.Timestamp(f"2020-04-{day:02d}T10:30"), f"S2_{day}", *[r] * len(S2_BANDS), bare, valid)
        for p, day, bare, valid, r in rows
    ]
    table = pd.DataFrame(records, columns=list(OPTICAL_COLUMNS))
    return table.astype({b: np.float32 for b in (*S2_BANDS, "bare", "valid")})


def test_pair_observations_pairs_each_point_with_its_closest_sentinel1(caplog):
    optical = _optical(
        [
            ("A", 5, 1, 1, 0.2),
            ("A", 10, 1, 1, 0.21),
            ("A", 15, 0, 1, 0.3),  # not bare: left out
            ("B", 5, 1, 1, 0.22),
            ("B", 10, 1, 0, 0.2),  # not clear: left out
            ("X", 5, 1, 1, 0.2),  # not a point of the study
        ]
    )
    radar = pd.DataFrame(
        {
            "point_id": ["A", "A", "B"],
            "time": pd.to_datetime(["2020-04-04T18:00", "2020-04-12T06:00", "2020-04-08T06:00"]),
            "product": ["S1_4", "S1_12", "S1_8"],
            "VV": np.array([0.1, 0.01, 0.05], dtype=np.float32),
            "VH": np.array([0.02, 0.0, 0.01], dtype=np.float32),
        }
    )
    with caplog.at_level(logging.WARNING):
        table = pair_observations(["A", "B", "C"], optical, radar, pair_days=2, outlier_sd=3)
    assert list(table["point_id"]) == ["A", "B", "A"]  # by time, then in the points' order
    assert list(table["time"].dt.day) == [5, 5, 10]
    np.testing.assert_allclose(table["VV"].to_numpy()[:1], [-10.0], atol=1e-6)
    assert np.isnan(table["VV"].iloc[1])  # B's only Sentinel-1 is 2.8 days away
    np.testing.assert_allclose(table["VV"].iloc[2], -20.0, atol=1e-5)
    assert np.isnan(table["VH"].iloc[2])  # zero backscatter is no value
    assert table["s1_time"].iloc[0] == pd.Timestamp("2020-04-04T18:00") and pd.isna(table["s1_time"].iloc[1])
    assert table["VV"].dtype == np.float32 and table["B04"].dtype == np.float32
    assert "1 samples without any bare-soil observation, excluded: C" in caplog.text


def test_chip_values_below_the_valid_fraction_are_dropped_and_bad_tables_named(tmp_path):
    values = _optical([("A", 5, 1, 1, 0.2), ("A", 6, 1, 1, 0.2)]).assign(valid_fraction=[0.9, 0.1])
    assert list(usable_chips(values, 0.5)["time"].dt.day) == [5]
    values.to_parquet(tmp_path / "batch_0.parquet")
    back = read_point_values([tmp_path / "batch_0.parquet"], [*OPTICAL_COLUMNS, "valid_fraction"])
    pd.testing.assert_frame_equal(back, values)
    with pytest.raises(ValueError, match="batch_0.parquet: not a table of chip values .*'VV'"):
        read_point_values([tmp_path / "batch_0.parquet"], ["point_id", "VV"])
    assert list(read_point_values([], ["point_id"]).columns) == ["point_id"]


def test_items_are_searched_over_the_points_and_kept_when_they_hold_one():
    items = [
        _item("over_jutland", "2020-04-02T10:30:00Z", 8.95, 55.95, "s2"),
        _item("over_the_sea", "2020-04-02T10:30:00Z", 5.0, 55.0, "s2"),
        _item("too_late", "2020-06-02T10:30:00Z", 8.95, 55.95, "s2"),
        _item("other_collection", "2020-04-02T10:30:00Z", 8.95, 55.95, "s1"),
        _item("over_madrid", "2020-04-03T10:30:00Z", -3.70, 40.42, "s2"),
    ]
    with serve_stac() as api:
        api.items = items
        found = search_point_items(
            api.url,
            "s2",
            POINTS,
            *APRIL,
            1,
            RetryPolicy.from_config(RETRIES),
        )
        pages = [r for r in api.requests if r["path"] == "/search"]
    assert [i["id"] for i in found] == ["over_jutland", "over_madrid"]
    assert len(pages) == 2  # one item a page, the next page asked for by its link
    assert pages[0]["body"]["intersects"]["type"] == "MultiPoint"
    assert pages[0]["body"]["datetime"] == "2020-04-01T00:00:00Z/2020-04-30T23:59:59Z"


def test_a_product_list_is_read_filtered_and_named_when_bad(tmp_path):
    items = [
        _item("in", "2020-04-30T23:00:00+02:00", 8.95, 55.95),
        _item("after", "2020-05-01T00:30:00Z", 8.95, 55.95),
        _item("elsewhere", "2020-04-10T00:00:00Z", 20.0, 40.0),
    ]
    path = tmp_path / "list.geojson"
    write_items(path, items)
    assert read_items(path) == items
    found = listed_items(path, POINTS, APRIL[0], APRIL[1])
    assert [i["id"] for i in found] == ["in"]
    assert item_time(items[0]) == pd.Timestamp("2020-04-30T21:00")  # UTC, naive
    (tmp_path / "bad.json").write_text(json.dumps({"type": "Feature"}))
    with pytest.raises(ValueError, match="bad.json: the product list is not a GeoJSON FeatureCollection"):
        listed_items(tmp_path / "bad.json", POINTS, APRIL[0], APRIL[1])
    with pytest.raises(ValueError, match="STAC item x: no datetime or start_datetime"):
        item_time({"id": "x", "properties": {}})


def test_each_point_reads_the_sentinel1_item_closest_to_its_bare_soil_dates():
    items = [
        _item("s1_early", "2020-04-04T18:00:00Z", 8.95, 55.95, product={"href": "http://a/S1A_early.SAFE"}),
        _item("s1_late", "2020-04-11T06:00:00Z", 8.95, 55.95, product={"href": "http://a/S1A_late.SAFE/"}),
        _item("s1_madrid", "2020-04-05T06:00:00Z", -3.70, 40.42, product={"href": "http://a/S1A_madrid.SAFE"}),
    ]
    optical = _optical([("JU1", 5, 1, 1, 0.2), ("JU2", 10, 1, 1, 0.2), ("JU2", 20, 1, 1, 0.2), ("MA1", 5, 0, 1, 0.2)])
    wanted = radar_requests(optical, items, POINTS, pair_days=2)
    assert wanted == {"s1_early": ["JU1"], "s1_late": ["JU2"]}  # MA1 shows no bare soil; JU2's 20th has no pair
    assert safe_href(items[1]) == "http://a/S1A_late.SAFE"
    cdse = {"id": "cdse", "assets": {"vv": {"href": "s3://eodata/S1/x/S1A_IW.SAFE/measurement/s1a-vv.tiff"}}}
    assert safe_href(cdse) == "s3://eodata/S1/x/S1A_IW.SAFE"  # the folder of the files CDSE's items list
    listed = {
        "id": "listed",
        "assets": {
            "safe_manifest": {"href": "s3://eodata/S1/x/S1A_IW.SAFE/manifest.safe"},
            "vh": {"href": "s3://eodata/S1/x/S1A_IW.SAFE/measurement/s1a-vh.tiff"},
        },
    }
    assert safe_href(listed) == "s3://eodata/S1/x/S1A_IW.SAFE"  # manifest.safe is a file in the folder, not it
    assert safe_href({"id": "lower", "assets": {"p": {"href": "http://a/S1A_x.safe/"}}}) == "http://a/S1A_x.safe"
    with pytest.raises(ValueError, match="STAC item bare: no asset is a SAFE folder .*\\['thumbnail'\\]"):
        safe_href({"id": "bare", "assets": {"thumbnail": {"href": "http://a/q.png"}}})


def test_a_chip_takes_the_dem_that_covers_it(tmp_path):
    for name, lon, lat in (("dem_a.tif", 8.95, 55.95), ("dem_b.tif", -3.70, 40.42)):
        grid = region_grid(name, lon, lat, 2000, 0, 30.0)
        write_cog(tmp_path / name, np.zeros((1, *grid.shape), np.float32), grid, ["height"])
    dems = sorted(tmp_path.glob("*.tif"))
    assert dem_covering(chip_grid("MA1", -3.70, 40.42, SHAPE), dems).name == "dem_b.tif"
    assert dem_covering(chip_grid("JU1", 8.95, 55.95, SHAPE), dems).name == "dem_a.tif"
    with pytest.raises(ValueError, match="chip BA1: none of the 2 DEM files \\(dem_a.tif, dem_b.tif\\) covers it"):
        dem_covering(chip_grid("BA1", -58.38, -34.60, SHAPE), dems)


def test_cost_summary_counts_each_items_whole_product_once(tmp_path):
    costs = pd.DataFrame(
        [
            ("sentinel2", "A", "s2_1", "2020-04-05", 100, 3, 10_000),
            ("sentinel2", "B", "s2_1", "2020-04-05", 60, 2, 10_000),
            ("sentinel2", "A", "s2_2", "2020-04-10", 40, 1, 5_000),
            ("sentinel1", "A", "s1_1", "2020-04-05", 500, 4, 100_000),
        ],
        columns=list(COST_COLUMNS),
    )
    costs.iloc[:2].to_csv(tmp_path / "b0.csv", index=False)
    costs.iloc[2:].to_csv(tmp_path / "b1.csv", index=False)
    summary = cost_summary(read_costs([str(tmp_path / "b0.csv"), str(tmp_path / "b1.csv")]))
    assert summary["sentinel2"] == {
        "point_observations": 3,
        "items": 2,
        "bytes_read": 200,
        "bytes_per_observation": 200 / 3,
        "bytes_whole_products": 15_000,
        "bytes_ratio": 200 / 15_000,
    }
    assert summary["all"]["bytes_read"] == 700 and summary["all"]["bytes_whole_products"] == 115_000
    assert summary["all"]["items"] == 3 and summary["all"]["bytes_per_observation"] == 175
    assert list(summary_table(summary)["source"]) == ["sentinel1", "sentinel2", "all"]
    unknown = cost_summary(costs.assign(item_bytes=[10_000, 10_000, None, 100_000]))
    assert unknown["sentinel2"]["bytes_whole_products"] is None and unknown["all"]["bytes_ratio"] is None
    assert unknown["sentinel1"]["bytes_ratio"] == 500 / 100_000
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="bad.csv: not a chip cost table"):
        read_costs([str(tmp_path / "bad.csv")])


def _chips_config(**changes) -> dict:
    config = schema_defaults()
    config["methods"] = ["tziolas2020"]
    config["chips"]["enabled"] = True
    for key, value in changes.items():
        section, name = key.split("__")
        config[section][name] = value
    return config


def test_chip_config_is_checked():
    check_chips(_chips_config())  # the defaults: CDSE's STAC and S3
    check_chips({**schema_defaults(), "methods": ["simonsen2021"]})  # off: nothing to check
    with pytest.raises(ConfigError, match="chips.enabled: .*tziolas2020.*\\['simonsen2021'\\]"):
        check_chips({**_chips_config(), "methods": ["simonsen2021"]})
    config = _chips_config()
    config["chips"]["sentinel1"]["items_file"] = "s1.geojson"
    with pytest.raises(ConfigError, match="chips.sentinel1.collection and chips.sentinel1.items_file: set exactly one"):
        check_chips(config)
    config["chips"]["sentinel1"]["collection"] = None
    check_chips(config)
    with pytest.raises(ConfigError, match="sentinel1.engine: the chip route .*builtin engine, not 'snap'"):
        check_chips(_chips_config(sentinel1__engine="snap"))
