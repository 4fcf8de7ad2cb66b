"""Daily weather from Open-Meteo: the query, the cached answer, and the reason of a refused query."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from cdse_account import account_server, settings
from soilsat.acquire.catalog import item_filename
from soilsat.acquire.factory import get_provider
from soilsat.acquire.tables import read_weather
from soilsat.errors import ProductError


@pytest.fixture()
def server(monkeypatch, tmp_path_factory):
    with account_server(monkeypatch, tmp_path_factory) as state:
        yield state


def test_weather_from_open_meteo_with_cached_answer(server, tmp_path):
    answer = {
        "latitude": 55.95,
        "longitude": 9.0,
        "elevation": 31.0,
        "daily": {
            "time": ["2020-01-01", "2020-01-02", "2020-01-03"],
            "precipitation_sum": [0.0, 4.2, None],
            "temperature_2m_min": [-1.5, 0.5, 1.0],
            "temperature_2m_mean": [1.0, 2.5, 3.0],
            "temperature_2m_max": [3.0, 4.0, 5.0],
        },
    }
    server.files["/v1/archive"] = json.dumps(answer).encode()
    server.fault("/v1/archive", "429")
    conf = settings(server.url, tmp_path)
    provider = get_provider("cdse", {}, conf)
    catalog = provider.search("weather", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 3))
    item = catalog.iloc[0].to_dict()
    assert item_filename(item) == "weather_skjern.csv"
    assert "daily=precipitation_sum%2Ctemperature_2m_min" in item["href"] and "models=era5_land" in item["href"]
    provider.fetch(item, tmp_path / "weather" / "weather_skjern.csv")
    table = read_weather(tmp_path / "weather" / "weather_skjern.csv")
    assert table.index.strftime("%Y-%m-%d").tolist() == ["2020-01-01", "2020-01-02", "2020-01-03"]
    assert table["precipitation"].tolist()[:2] == [0.0, 4.2] and np.isnan(table["precipitation"].iloc[2])
    assert table["tmin"].tolist() == [-1.5, 0.5, 1.0] and table.attrs["latitude"] == 55.95
    n = len(server.requests)
    provider.fetch(item, tmp_path / "again.csv")  # served from the raw-response cache
    assert len(server.requests) == n and len(list((tmp_path / "cache" / "weather").glob("*.json"))) == 1


def test_open_meteo_says_why_it_refused_a_query(server, tmp_path):
    reason = "Parameter 'start_date' is out of allowed range from 1940-01-01 to 2026-12-20"
    server.routes["/v1/archive"] = lambda params: (
        400,
        json.dumps({"error": True, "reason": reason}).encode(),
        "application/json",
    )
    provider = get_provider("cdse", {}, settings(server.url, tmp_path))
    item = provider.search("weather", ["skjern"], dt.date(1900, 1, 1), dt.date(1900, 1, 3)).iloc[0].to_dict()
    with pytest.raises(ProductError) as err:
        provider.fetch(item, tmp_path / "weather" / "weather_skjern.csv")
    assert str(err.value) == f"{server.url}/v1/archive: Open-Meteo refused the query (HTTP 400): {reason}"
    assert [r["path"].split("?")[0] for r in server.requests] == ["/v1/archive"]  # a 400 is not retried
    assert not (tmp_path / "weather").exists() and not list((tmp_path / "cache").rglob("*.json"))
