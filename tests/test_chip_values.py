"""The chip route's readers on demo products served by range reads: the values at each point's pixel equal the SAFE
route's on the same chip, one row per point-observation, with the bytes the server sent counted per row."""

from __future__ import annotations

import datetime as dt
import logging
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopback_stac import serve_stac
from soilsat.chips import centre_pixel
from soilsat.demo import orbit as demo_orbit
from soilsat.extract.chip_optical import COST_COLUMNS, optical_point_values
from soilsat.extract.chip_points import point_chip_shape, point_chips
from soilsat.extract.chip_radar import chip_chain, radar_point_values
from soilsat.extract.pairing import OPTICAL_COLUMNS, RADAR_COLUMNS, S2_BANDS
from soilsat.optical.process import l2a_on_grid
from soilsat.sar.reference.whole_grid import run_chain
from test_chip_reads import OPTICAL, earth_search_item, safe  # noqa: F401  (safe: the module's demo L2A fixture)
from test_sar_graph import sentinel1_settings
from test_sar_orbit import write_eof

SHAPE = point_chip_shape(40.0, 0, 10.0)  # 9 x 9 pixels
POINTS = pd.DataFrame(
    {"point_id": ["centre", "east", "madrid"], "lon": [8.95, 8.957, -3.70], "lat": [55.95, 55.952, 40.42]}
)


def test_sentinel2_values_are_the_safe_routes_at_each_points_pixel(safe):  # noqa: F811
    zip_path, product = safe
    with serve_stac() as api:
        item = earth_search_item(api, product, {"earthsearch:boa_offset_applied": True})
        values, costs = optical_point_values([item], POINTS, SHAPE, OPTICAL)
        served = sum(api.sent.values())
    assert list(values.columns) == [*OPTICAL_COLUMNS, "valid_fraction"] and list(costs.columns) == list(COST_COLUMNS)
    assert list(values["point_id"]) == ["centre", "east"]  # madrid lies outside the item's footprint
    row, col = centre_pixel(SHAPE)
    chips = point_chips(POINTS, SHAPE)
    for i, point in enumerate(values["point_id"]):
        local = l2a_on_grid(zip_path, chips[point], OPTICAL)
        for name in (*S2_BANDS, "bare", "valid"):
            np.testing.assert_array_equal(values[name].iloc[i], local[name].values[row, col], err_msg=f"{point} {name}")
        assert values["valid_fraction"].iloc[i] == local.attrs["valid_fraction"]
    assert values["time"].iloc[0] == pd.Timestamp(item["properties"]["datetime"]).tz_localize(None)  # the item's time
    assert values[list(S2_BANDS)].dtypes.unique().tolist() == [np.float32]
    # the first chip fetched the headers and tiles; the second, 70 m away, found its tiles in GDAL's cache
    assert costs["bytes_read"].sum() == served and costs["bytes_read"].iloc[0] > 0
    assert (costs["item_bytes"] == sum(a["file:size"] for a in item["assets"].values())).all()
    assert set(costs["source"]) == {"sentinel2"}


@pytest.fixture(scope="module")
def grd(s1_demo_world):
    """The first demo GRD product: its zip, record and SAFE files by path in the folder."""
    root, _, records = s1_demo_world
    path = root / "archive" / records[0]["path"]
    with zipfile.ZipFile(path) as z:
        files = {i.filename.split(".SAFE/", 1)[1]: z.read(i) for i in z.infolist() if ".SAFE/" in i.filename}
    return path, records[0], {rel: data for rel, data in files.items() if rel}


def test_sentinel1_values_are_the_chains_on_each_points_chip(s1_demo_world, grd):
    root = s1_demo_world[0]
    zip_path, record, files = grd
    dem = root / "dem" / "dem_t.tif"
    settings = sentinel1_settings()
    ring = [[8.9, 55.9], [9.0, 55.9], [9.0, 56.0], [8.9, 56.0], [8.9, 55.9]]
    with serve_stac() as api:
        for rel, data in files.items():
            api.add_file(f"/s1/{record['name']}.SAFE/{rel}", data)
        item = {
            "id": record["name"],
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"datetime": record["sensing_start"]},
            "assets": {"safe": {"href": f"{api.url}/s1/{record['name']}.SAFE", "file:size": zip_path.stat().st_size}},
        }
        elsewhere = {**item, "id": "not_wanted"}
        wanted = {record["name"]: ["east", "centre"]}
        values, costs = radar_point_values([elsewhere, item], wanted, POINTS, SHAPE, settings, [dem])
        served = sum(api.sent.values())
    assert list(values.columns) == list(RADAR_COLUMNS) and list(values["point_id"]) == ["east", "centre"]
    assert set(values["product"]) == {record["name"]}
    row, col = centre_pixel(SHAPE)
    chips = point_chips(POINTS, SHAPE)
    for i, point in enumerate(values["point_id"]):
        local = run_chain(chip_chain(str(zip_path), chips[point], dem, settings), chips[point])
        assert values["VV"].iloc[i] == local["sigma0_VV"].values[row, col] > 0
        assert values["VH"].iloc[i] == local["sigma0_VH"].values[row, col] > 0
    assert values["time"].iloc[0] == pd.Timestamp(record["sensing_start"]).tz_localize(None)
    assert costs["bytes_read"].sum() == served and costs["bytes_read"].iloc[0] > costs["bytes_read"].iloc[1]  # XMLs
    assert (costs["item_bytes"] == zip_path.stat().st_size).all()


def pass_eof(record: dict, folder: Path) -> Path:
    """A precise orbit file of the demo product's pass, valid 13 h either side of its sensing start."""
    start = dt.datetime.fromisoformat(record["sensing_start"].rstrip("Z"))
    orbit = demo_orbit.pass_orbit(
        8.95, 55.95, start.date().isoformat(), record["orbit_direction"], step_s=10.0, half_span_s=300.0
    )
    folder.mkdir(parents=True, exist_ok=True)
    name = f"S1A_OPER_AUX_POEORB_OPOD_{start:%Y%m%d}T120000_V{start:%Y%m%d}T000000_{start:%Y%m%d}T235959.EOF"
    return write_eof(
        folder / name,
        orbit,
        start + dt.timedelta(days=20),
        start - dt.timedelta(hours=13),
        start + dt.timedelta(hours=13),
    )


def test_each_items_chips_apply_its_orbit_file(s1_demo_world, grd, tmp_path, caplog):
    root = s1_demo_world[0]
    zip_path, record, files = grd
    dem = root / "dem" / "dem_t.tif"
    settings = sentinel1_settings()
    eof = pass_eof(record, tmp_path / "orbits")
    with serve_stac() as api:
        for rel, data in files.items():
            api.add_file(f"/s1/{record['name']}.SAFE/{rel}", data)
        item = {
            "id": record["name"],
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[8.9, 55.9], [9.0, 55.9], [9.0, 56.0], [8.9, 56.0], [8.9, 55.9]]],
            },
            "properties": {"datetime": record["sensing_start"]},
            "assets": {"safe": {"href": f"{api.url}/s1/{record['name']}.SAFE"}},
        }
        with caplog.at_level(logging.INFO):
            values, _ = radar_point_values(
                [item], {record["name"]: ["centre"]}, POINTS, SHAPE, settings, [dem], orbit_files={item["id"]: [eof]}
            )
    assert f"orbit from {eof.name} (POEORB" in caplog.text
    assert "using the annotation orbit" not in caplog.text
    chip = point_chips(POINTS, SHAPE)["centre"]
    local = run_chain(chip_chain(str(zip_path), chip, dem, settings), chip, [eof])
    assert local.attrs["orbit"] == eof.name
    row, col = centre_pixel(SHAPE)
    assert values["VV"].iloc[0] == local["sigma0_VV"].values[row, col] > 0
