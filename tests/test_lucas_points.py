"""LUCAS 2015: the topsoil CSV without coordinates, joined with a real point shapefile (pyshp)."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pandas as pd
import pyproj
import pytest
import shapefile

sys.path.insert(0, str(Path(__file__).parent))
from test_providers import settings  # noqa: E402

from soilsat.acquire.provider import get_provider  # noqa: E402
from soilsat.errors import ConfigError, ProductError  # noqa: E402

# Known lon/lat of the points; 4 is the ETRS89-LAEA projection centre (10 E, 52 N), which
# EPSG:3035 puts at its false origin x = 4321000, y = 3210000 by definition.
LONLAT = {1: (8.991, 55.951), 2: (8.989, 55.949), 3: (2.0, 48.0), 4: (10.0, 52.0)}
ORIGIN_3035 = (4321000.0, 3210000.0)


def write_points(shp: Path, points: dict, crs: str | None = "EPSG:3035", id_field: str = "POINT_ID") -> Path:
    """A point shapefile of (id -> lon, lat), with coordinates and .prj in `crs`."""
    to_crs = pyproj.Transformer.from_crs("EPSG:4326", crs or "EPSG:4326", always_xy=True)
    with shapefile.Writer(str(shp), shapeType=shapefile.POINT) as writer:
        writer.field(id_field, "N", 10, 0)
        for pid, (lon, lat) in points.items():
            writer.point(*to_crs.transform(lon, lat))
            writer.record(pid)
    if crs:
        shp.with_suffix(".prj").write_text(pyproj.CRS(crs).to_wkt("WKT1_ESRI"))
    return shp


def write_table(csv: Path, ids: list[int]) -> Path:
    """A 2015-style topsoil CSV: POINTID, texture, OC, land cover and survey date, no coordinates."""
    pd.DataFrame({"POINTID": ids, "Clay": [20 + i for i in ids], "Silt": [40] * len(ids),
                  "Sand": [40 - i for i in ids], "OC": [10.0 + i for i in ids], "LC1": ["B11"] * len(ids),
                  "SURVEY_DATE": ["02-06-15"] * len(ids)}).to_csv(csv, index=False)
    return csv


def fetch_lucas(tmp_path: Path, conf: dict) -> pd.DataFrame:
    """The normalised LUCAS table the cdse provider delivers for a `lucas` config section."""
    provider = get_provider("cdse", {}, settings("http://127.0.0.1:9", tmp_path, lucas=conf))
    item = provider.search("lucas", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)).iloc[0].to_dict()
    provider.fetch(item, tmp_path / "out" / "lucas.csv")
    return pd.read_csv(tmp_path / "out" / "lucas.csv")


def test_laea_points_give_the_table_its_lon_lat(tmp_path):
    shp = write_points(tmp_path / "LUCAS_2015_points.shp", LONLAT)
    with shapefile.Reader(str(shp)) as reader:  # the fixture really is in metres of LAEA
        origin = reader.shape(3).points[0]
    assert origin == pytest.approx(ORIGIN_3035, abs=1e-3)
    csv = write_table(tmp_path / "LUCAS_Topsoil_2015.csv", [4, 3, 2, 1])
    table = fetch_lucas(tmp_path, {"path": str(csv), "points": str(shp), "clip_to_regions": False})
    assert list(table.columns) == ["point_id", "lat", "lon", "year", "clay", "silt", "sand", "oc"]
    assert table["point_id"].tolist() == [4, 3, 2, 1] and set(table["year"]) == {2015}
    for _, row in table.iterrows():
        lon, lat = LONLAT[row["point_id"]]
        assert (row["lon"], row["lat"]) == pytest.approx((lon, lat), abs=1e-7)
        assert row["oc"] == 10.0 + row["point_id"]
    # Clipped to the Skjern AOI only the two Danish points stay.
    table = fetch_lucas(tmp_path, {"path": str(csv), "points": str(shp)})
    assert sorted(table["point_id"]) == [1, 2]


def test_points_in_lon_lat_are_taken_as_they_are(tmp_path):
    shp = write_points(tmp_path / "points4326.shp", LONLAT, crs="EPSG:4326", id_field="POINTID")
    table = fetch_lucas(tmp_path, {"path": str(write_table(tmp_path / "t.csv", [1, 4])), "points": str(shp),
                                   "clip_to_regions": False})
    assert table[["lon", "lat"]].to_numpy().tolist() == [list(LONLAT[1]), list(LONLAT[4])]


def test_ids_without_a_point_are_listed(tmp_path):
    shp = write_points(tmp_path / "points.shp", {1: LONLAT[1], 2: LONLAT[2]})
    csv = write_table(tmp_path / "LUCAS_Topsoil_2015.csv", list(range(1, 10)))
    message = f"{shp}: has no point for 7 of the 9 point ids of LUCAS_Topsoil_2015.csv, e.g. 3, 4, 5, 6, 7;"
    with pytest.raises(ProductError, match=re.escape(message)):
        fetch_lucas(tmp_path, {"path": str(csv), "points": str(shp)})
    assert not (tmp_path / "out" / "lucas.csv").exists()


def test_shapefile_without_the_id_field(tmp_path):
    shp = write_points(tmp_path / "points.shp", LONLAT, id_field="NAME")
    with pytest.raises(ProductError, match=re.escape(f"{shp}: lacks a point id field (POINT_ID or POINTID); "
                                                     "fields: ['NAME']")):
        fetch_lucas(tmp_path, {"path": str(write_table(tmp_path / "t.csv", [1])), "points": str(shp)})


def test_unknown_or_missing_crs(tmp_path):
    csv = write_table(tmp_path / "t.csv", [1])
    shp = write_points(tmp_path / "points.shp", LONLAT)
    shp.with_suffix(".prj").write_text('PROJCS["made up",GEOGCS["nowhere"],UNIT["furlong",201.168]]')
    with pytest.raises(ProductError, match=re.escape(f"{shp.with_suffix('.prj')}: unknown CRS")):
        fetch_lucas(tmp_path, {"path": str(csv), "points": str(shp)})
    shp.with_suffix(".prj").unlink()
    with pytest.raises(ProductError, match=re.escape(f"{shp}: has no points.prj beside it")):
        fetch_lucas(tmp_path, {"path": str(csv), "points": str(shp)})


def test_missing_or_broken_shapefile_and_both_coordinate_sources(tmp_path):
    csv = write_table(tmp_path / "t.csv", [1])
    with pytest.raises(ConfigError, match=re.escape(f"config key lucas.points: {tmp_path / 'none.shp'} not found")):
        fetch_lucas(tmp_path, {"path": str(csv), "points": str(tmp_path / "none.shp")})
    shp = write_points(tmp_path / "points.shp", LONLAT)
    shp.with_suffix(".shx").unlink()
    shp.with_suffix(".dbf").unlink()
    with pytest.raises(ProductError, match=re.escape(f"{shp}: not a readable shapefile")):
        fetch_lucas(tmp_path, {"path": str(csv), "points": str(shp)})
    with pytest.raises(ConfigError, match="lucas.coordinates and lucas.points are both set"):
        fetch_lucas(tmp_path, {"path": str(csv), "points": str(shp), "coordinates": str(csv)})
