"""Inputs the user downloads (ISMN, CORINE, HWSD, LUCAS): named in the config, listed, and delivered restricted,
clipped or normalised; LUCAS point shapefiles in their own CRS."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import shapefile
from rasterio.transform import from_origin

from cdse_account import settings
from conftest import real_fixture
from soilsat.acquire.catalog import item_filename
from soilsat.acquire.factory import get_provider
from soilsat.errors import ConfigError, ProductError


def test_ismn_archive_is_restricted_to_configured_networks(tmp_path):
    archive = real_fixture("ismn", "Data_seperate_files_header_20170810_20180809.zip")
    conf = settings(
        "http://127.0.0.1:9",
        tmp_path,
        ismn={"archive": str(archive), "networks": ["COSMOS"], "stations": ["ARM-1"], "depth_to": 0.3},
    )
    provider = get_provider("cdse", {}, conf)
    item = provider.search("ismn", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)).iloc[0].to_dict()
    assert item["checksum"] == hashlib.md5(archive.read_bytes()).hexdigest()
    out = tmp_path / "ismn" / item_filename(item)
    provider.fetch(item, out)
    names = zipfile.ZipFile(out).namelist()
    assert any("ARM-1" in n for n in names) and not any("Barrow" in n for n in names)
    probes = pd.read_csv(out.with_name(out.stem + "_probes.csv"))
    assert set(probes["station"]) == {"ARM-1"} and (probes["depth_to"] <= 0.3).all()


def test_missing_user_files_name_the_key_and_the_expected_file(tmp_path):
    provider = get_provider(
        "cdse", {}, settings("http://127.0.0.1:9", tmp_path, landcover={"path": str(tmp_path / "clc.tif")})
    )
    expected = r"config key landcover.path: .*clc.tif not found; expected CORINE Land Cover 2018"
    with pytest.raises(ConfigError, match=expected):
        provider.search("landcover", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2))
    with pytest.raises(ConfigError, match="config key ismn.archive is not set: download an ISMN download"):
        provider.search("ismn", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2))


def test_landcover_and_soil_are_clipped_to_the_aoi(tmp_path):
    clc = tmp_path / "clc.tif"
    with rasterio.open(
        clc,
        "w",
        driver="GTiff",
        width=400,
        height=400,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=from_origin(8.5, 56.5, 0.0025, 0.0025),
    ) as dst:
        dst.write(np.arange(400 * 400).reshape(1, 400, 400).astype(np.uint8) % 40 + 200)
    soil = tmp_path / "hwsd.tif"
    with rasterio.open(
        soil,
        "w",
        driver="GTiff",
        width=40,
        height=40,
        count=5,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(8.5, 56.5, 0.025, 0.025),
    ) as dst:
        dst.write(np.stack([np.full((40, 40), v, np.float32) for v in (20, 30, 50, 1.2, 60)]))
    bands = ["clay", "silt", "sand", "organic_carbon", "base_saturation"]
    provider = get_provider(
        "cdse",
        {},
        settings(
            "http://127.0.0.1:9", tmp_path, landcover={"path": str(clc)}, soil={"path": str(soil), "bands": bands}
        ),
    )
    for kind in ("landcover", "soil"):
        item = provider.search(kind, ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)).iloc[0].to_dict()
        provider.fetch(item, tmp_path / kind / item_filename(item))
    with rasterio.open(tmp_path / "landcover" / "landcover_skjern.tif") as src:
        w, s, e, n = src.bounds
        assert src.width < 400 and w <= 8.99 - 0.0237 and e >= 8.99 + 0.0237 and s <= 55.95 - 0.0135 <= n
        assert src.read(1).min() >= 200
    with rasterio.open(tmp_path / "soil" / "soil_skjern.tif") as src:
        assert list(src.descriptions) == ["clay", "silt", "sand", "organic_carbon", "base_saturation"]
        assert src.read(1)[0, 0] == 20 and src.read(5)[0, 0] == 60


def test_soil_raster_without_band_names_is_refused(tmp_path):
    soil = tmp_path / "hwsd.tif"
    with rasterio.open(
        soil,
        "w",
        driver="GTiff",
        width=40,
        height=40,
        count=2,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(8.5, 56.5, 0.025, 0.025),
    ) as dst:
        dst.write(np.zeros((2, 40, 40), np.float32))
    provider = get_provider("cdse", {}, settings("http://127.0.0.1:9", tmp_path, soil={"path": str(soil)}))
    item = provider.search("soil", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)).iloc[0].to_dict()
    lacking = "soil raster lacks band.s. clay, silt, sand, organic_carbon, base_saturation"
    with pytest.raises(ProductError, match=lacking):
        provider.fetch(item, tmp_path / "soil" / "soil_skjern.tif")
    assert not (tmp_path / "soil" / "soil_skjern.tif").exists()


def test_lucas_releases_become_one_table(tmp_path):
    rows = {
        "POINTID": [1, 2, 3],
        "Clay": [20, 35, 10],
        "Silt": [40, 40, 30],
        "Sand": [40, 25, 60],
        "OC": [12.0, 30.5, 8.0],
        "LC1": ["B11", "C21", "B16"],
    }
    coords = {"TH_LAT": [55.951, 55.949, 48.0], "TH_LONG": [8.991, 8.989, 2.0]}
    pd.DataFrame(rows | coords).to_excel(tmp_path / "lucas2009.xlsx", index=False)
    conf = {"path": str(tmp_path / "lucas2009.xlsx"), "year": 2009, "land_cover_prefixes": ["B"]}
    provider = get_provider("cdse", {}, settings("http://127.0.0.1:9", tmp_path, lucas=conf))
    item = provider.search("lucas", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)).iloc[0].to_dict()
    provider.fetch(item, tmp_path / "lucas" / "lucas.csv")
    table = pd.read_csv(tmp_path / "lucas" / "lucas.csv")
    assert list(table.columns) == ["point_id", "lat", "lon", "year", "clay", "silt", "sand", "oc"]
    assert table["point_id"].tolist() == [1] and table["year"].tolist() == [2009]  # cropland inside the AOI
    # 2015: the table without coordinates, joined with the point coordinates.
    pd.DataFrame(rows | {"SURVEY_DATE": ["02-06-15"] * 3}).to_csv(tmp_path / "lucas2015.csv", index=False)
    pd.DataFrame({"POINT_ID": [1, 2, 3]} | coords).to_csv(tmp_path / "grid2015.csv", index=False)
    conf = {"path": str(tmp_path / "lucas2015.csv"), "coordinates": str(tmp_path / "grid2015.csv")}
    provider = get_provider("cdse", {}, settings("http://127.0.0.1:9", tmp_path, lucas=conf))
    provider.fetch(item, tmp_path / "lucas15.csv")
    table = pd.read_csv(tmp_path / "lucas15.csv")
    assert table["point_id"].tolist() == [1, 2] and table["year"].tolist() == [2015, 2015]
    assert table["oc"].tolist() == [12.0, 30.5]


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
    pd.DataFrame(
        {
            "POINTID": ids,
            "Clay": [20 + i for i in ids],
            "Silt": [40] * len(ids),
            "Sand": [40 - i for i in ids],
            "OC": [10.0 + i for i in ids],
            "LC1": ["B11"] * len(ids),
            "SURVEY_DATE": ["02-06-15"] * len(ids),
        }
    ).to_csv(csv, index=False)
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
    table = fetch_lucas(
        tmp_path, {"path": str(write_table(tmp_path / "t.csv", [1, 4])), "points": str(shp), "clip_to_regions": False}
    )
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
    with pytest.raises(
        ProductError, match=re.escape(f"{shp}: lacks a point id field (POINT_ID or POINTID); fields: ['NAME']")
    ):
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
