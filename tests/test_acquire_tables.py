"""Readers of tabular inputs: LUCAS topsoil releases and daily weather tables, refused naming the missing column."""

from __future__ import annotations

import pytest

from soilsat.acquire.tables import read_lucas, read_weather
from soilsat.errors import ProductError


def test_lucas_missing_column(tmp_path):
    path = tmp_path / "lucas_bad.csv"
    path.write_text("POINTID,TH_LAT,TH_LONG,SURVEY_DATE,OC,Silt,Sand\nA1,55.9,8.9,04-06-18,12.0,20,70\n")
    with pytest.raises(ProductError) as err:
        read_lucas(path)
    msg = str(err.value)
    assert "lucas_bad.csv" in msg and "clay" in msg and "\n" not in msg


def test_lucas_variants(tmp_path):
    path = tmp_path / "lucas_2009.csv"
    path.write_text("POINT_ID,GPS_LAT,GPS_LONG,clay,silt,sand,OC\n1001,41.3,-5.3,20,30,50,8.5\n1002,,,1,1,1,1\n")
    t = read_lucas(path, year=2009)
    assert list(t.columns) == ["point_id", "lat", "lon", "year", "clay", "silt", "sand", "oc"]
    assert len(t) == 1 and t["year"].iloc[0] == 2009 and t["point_id"].iloc[0] == "1001"
    with pytest.raises(ProductError, match="survey date"):
        read_lucas(path)


def test_weather_missing_column(tmp_path):
    path = tmp_path / "weather_x.csv"
    path.write_text("# station_id: X\ndate,precipitation_mm,tmin_c,tmax_c\n2020-01-01,1.0,-1,4\n")
    with pytest.raises(ProductError, match="weather_x.csv.*tmean"):
        read_weather(path)
