"""ERA5-Land weather through the real `cdsapi` client, against a loopback Climate Data Store on 127.0.0.1.

The server speaks the CDS retrieve API as cdsapi 0.7 (ecmwf-datastores-client) uses it:
POST /retrieve/v1/processes/{dataset}/execution, polls of /retrieve/v1/jobs/{id}, then
/retrieve/v1/jobs/{id}/results and the asset's href. It answers every request with a NetCDF
it writes with xarray from known hourly values, so the daily table can be checked exactly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import json
import logging
import tempfile
import threading
import urllib.parse
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from loopback import RETRIES, Served, run_server
from soilsat.acquire import era5
from soilsat.acquire.catalog import item_filename
from soilsat.acquire.credentials import load_cds_key
from soilsat.acquire.factory import get_provider
from soilsat.acquire.tables import read_weather
from soilsat.errors import ConfigError, ProductError

KEY = "0f3c9a4e-5b7d-4e21-9c1a-cds-test-key-7d1e"
REGION = {"name": "skjern", "lon": 8.99, "lat": 55.93, "size_m": 2000}
NEAREST = (55.9, 9.0)  # the ERA5-Land grid cell nearest to REGION


def day_temperature_c(day: pd.Timestamp) -> float:
    """The synthetic daily mean 2 m temperature (degC)."""
    return 5.0 + day.day_of_year % 7


def day_precipitation_mm(day: pd.Timestamp) -> float:
    """The synthetic daily precipitation total (mm)."""
    return 1.25 * (day.day_of_year % 4)


def hour_offset_c(hour: int) -> float:
    """The diurnal cycle: -5.75 degC at 00 UTC to +5.75 degC at 23 UTC, mean zero."""
    return (hour - 11.5) * 0.5


def cell_offset_k(lat: float, lon: float) -> float:
    """Zero at the grid cell nearest to REGION, at least 1 K elsewhere (so the chosen cell shows)."""
    return round(10 * abs(lat - NEAREST[0]) + 10 * abs(lon - NEAREST[1]), 6)


def hourly_values(times: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """t2m (K) and tp (m, accumulated since 00 UTC; at 00 UTC the previous day's total) at `times`."""
    t2m = np.array([273.15 + day_temperature_c(t.floor("D")) + hour_offset_c(t.hour) for t in times])
    tp = (
        np.array(
            [
                day_precipitation_mm(t.floor("D") - pd.Timedelta(days=1))
                if t.hour == 0
                else day_precipitation_mm(t.floor("D")) * t.hour / 24
                for t in times
            ]
        )
        / 1000.0
    )
    return t2m, tp


def grid_axis(low: float, high: float, descending: bool = False) -> np.ndarray:
    """The 0.1-degree ERA5-Land grid values within [low, high]."""
    values = np.round(np.arange(np.ceil(low * 10 - 1e-9), np.floor(high * 10 + 1e-9) + 1) / 10, 1)
    return values[::-1] if descending else values


class FakeCds(Served):
    """State of the loopback CDS: the accepted key, how jobs end, what the answers hold, and what was asked."""

    def __init__(self, key: str = KEY):
        self.key = key
        self.requests: list[dict] = []
        self.submitted: list[dict] = []
        self.jobs: dict[str, dict] = {}
        self.files: dict[str, bytes] = {}
        self.statuses = ["successful"]  # what a job's monitor reports poll after poll (the last repeats)
        self.fail: str | None = None  # a job's error message: jobs end "failed"
        self.drop: set[str] = set()  # variables left out of the answers
        self.time_name = "valid_time"  # "time": the legacy CDS's NetCDF
        self.split = False  # a zip of one NetCDF per field type, as the CDS sends mixed requests
        self.sea: set[tuple[float, float]] = set()  # grid cells without data
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def api(self) -> str:
        return f"{self.url}/api"

    def answer(self, inputs: dict) -> bytes:
        """The NetCDF (or zip of NetCDFs) answering a request's inputs."""
        times = pd.DatetimeIndex(
            [pd.Timestamp(f"{inputs['year']}-{inputs['month']}-{d} {h}") for d in inputs["day"] for h in inputs["time"]]
        )
        north, west, south, east = inputs["area"]
        lats, lons = grid_axis(south, north, descending=True), grid_axis(west, east)
        t2m, tp = hourly_values(times)
        offsets = np.array([[cell_offset_k(la, lo) for lo in lons] for la in lats])
        t2m_grid = t2m[:, None, None] + offsets[None]
        tp_grid = np.broadcast_to(tp[:, None, None], t2m_grid.shape).copy()
        for i, j in itertools.product(range(len(lats)), range(len(lons))):
            if (lats[i], lons[j]) in self.sea:
                t2m_grid[:, i, j] = tp_grid[:, i, j] = np.nan
        coords = {
            self.time_name: times,
            "latitude": lats,
            "longitude": lons,
            "number": 0,
            "expver": (self.time_name, np.full(len(times), "0001")),
        }
        fields = {
            "t2m": xr.DataArray(
                t2m_grid.astype(np.float32),
                dims=(self.time_name, "latitude", "longitude"),
                attrs={"units": "K", "long_name": "2 metre temperature"},
            ),
            "tp": xr.DataArray(
                tp_grid.astype(np.float32),
                dims=(self.time_name, "latitude", "longitude"),
                attrs={"units": "m", "long_name": "Total precipitation"},
            ),
        }
        fields = {k: v for k, v in fields.items() if k not in self.drop}
        if not self.split:
            return netcdf_bytes(xr.Dataset(fields, coords=coords))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            for name, step in (("t2m", "instant"), ("tp", "accum")):
                if name in fields:
                    archive.writestr(
                        f"data_stream-oper_stepType-{step}.nc",
                        netcdf_bytes(xr.Dataset({name: fields[name]}, coords=coords)),
                    )
        return buf.getvalue()


def netcdf_bytes(ds: xr.Dataset) -> bytes:
    """A dataset as NetCDF-4 bytes, as the CDS delivers it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answer.nc"
        ds.to_netcdf(path, engine="netcdf4")
        return path.read_bytes()


def _handler(state: FakeCds) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _send(self, code: int, body: bytes = b"", content_type: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, code: int, obj: object) -> None:
            self._send(code, json.dumps(obj).encode())

        def _authorised(self) -> bool:
            if self.headers.get("PRIVATE-TOKEN") == state.key:
                return True
            self._json(
                401, {"type": "authentication failed", "title": "Authentication failed", "detail": "invalid API token"}
            )
            return False

        def _job(self, job_id: str) -> dict:
            job = state.jobs[job_id]
            with state._lock:
                statuses = state.statuses[:-1] + ["failed" if job["fail"] else state.statuses[-1]]
                status = statuses[min(job["polls"], len(statuses) - 1)]
                job["polls"] += 1
            job["status"] = status
            monitor = f"{state.api}/retrieve/v1/jobs/{job_id}"
            return {
                "jobID": job_id,
                "status": status,
                "type": "process",
                "metadata": {"log": []},
                "links": [{"rel": "self", "href": monitor}, {"rel": "results", "href": f"{monitor}/results"}],
            }

        def _route(self, body: bytes = b"") -> None:
            state.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
            path = urllib.parse.urlsplit(self.path).path
            parts = path.strip("/").split("/")
            if path == "/api/catalogue/v1/messages":
                return self._json(200, {"messages": []})
            if parts[:1] == ["download"] and path in state.files:
                return self._send(200, state.files[path], "application/netcdf")
            if parts[:3] != ["api", "retrieve", "v1"]:
                return self._json(404, {"title": "not found"})
            if not self._authorised():
                return None
            if len(parts) == 5 and parts[3] == "processes":
                return self._json(200, {"id": parts[4], "links": []})
            if len(parts) == 6 and parts[3] == "processes" and parts[5] == "execution" and self.command == "POST":
                inputs = json.loads(body)["inputs"]
                state.submitted.append(inputs)
                job_id = f"job-{next(state._ids)}"
                state.jobs[job_id] = {"inputs": inputs, "polls": 0, "fail": state.fail}
                if not state.fail:
                    state.files[f"/download/{job_id}.nc"] = state.answer(inputs)
                return self._json(
                    201,
                    {
                        "jobID": job_id,
                        "status": "accepted",
                        "links": [{"rel": "monitor", "href": f"{state.api}/retrieve/v1/jobs/{job_id}"}],
                    },
                )
            if len(parts) >= 5 and parts[3] == "jobs" and parts[4] in state.jobs:
                if len(parts) == 5:
                    return self._json(200, self._job(parts[4]))
                job = state.jobs[parts[4]]
                if job["fail"]:
                    return self._json(
                        400, {"type": "job results failed", "title": "The job has failed", "traceback": job["fail"]}
                    )
                data = state.files[f"/download/{parts[4]}.nc"]
                return self._json(
                    200,
                    {
                        "asset": {
                            "value": {
                                "type": "application/netcdf",
                                "file:size": len(data),
                                "href": f"{state.url}/download/{parts[4]}.nc",
                            }
                        }
                    },
                )
            return self._json(404, {"title": "not found"})

        def do_GET(self) -> None:
            self._route()

        def do_HEAD(self) -> None:
            self._route()

        def do_POST(self) -> None:
            self._route(self.rfile.read(int(self.headers.get("Content-Length", 0))))

    return Handler


@contextlib.contextmanager
def serve_cds(key: str = KEY) -> Iterator[FakeCds]:
    """Run the loopback CDS in a thread for the duration of the block."""
    state = FakeCds(key)
    with run_server(state, _handler(state)):
        yield state


def weather_settings(api: str, cache: Path, **cds) -> dict:
    """A weather config section choosing ERA5-Land from the CDS at `api`."""
    return {
        "service": "era5-land-cds",
        "url": "http://127.0.0.1:9/unused",
        "model": None,
        "cache_dir": str(cache / "open-meteo"),
        "retries": RETRIES,
        "cds": {"url": api, "dataset": "reanalysis-era5-land", "area_margin_deg": 0.1, "cache_dir": str(cache / "cds")}
        | cds,
    }


def provider_for(api: str, tmp: Path):
    """The cdse provider with only what weather needs."""
    return get_provider(
        "cdse", {}, {"regions": [REGION], "grid": {"margin_m": 500}, "weather": weather_settings(api, tmp / "cache")}
    )


def weather_item(api: str, tmp: Path, start: dt.date, end: dt.date) -> tuple[object, dict]:
    """The provider and the weather catalog item of REGION over [start, end]."""
    provider = provider_for(api, tmp)
    return provider, provider.search("weather", ["skjern"], start, end).iloc[0].to_dict()


@pytest.fixture()
def cds(monkeypatch, tmp_path):
    monkeypatch.setenv("CDSAPI_KEY", KEY)
    monkeypatch.setenv("CDSAPI_RC", str(tmp_path / "no-cdsapirc"))
    with serve_cds() as state:
        yield state


def expected_days(start: str, end: str) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq="D", name="date")


def test_chunks_are_calendar_months_then_the_next_00_utc():
    got = era5.chunks(dt.date(2020, 1, 30), dt.date(2020, 3, 31))
    assert [(c.year, c.month, c.days[0], c.days[-1], len(c.hours)) for c in got] == [
        (2020, 1, 30, 31, 24),
        (2020, 2, 1, 29, 24),
        (2020, 3, 1, 31, 24),
        (2020, 4, 1, 1, 1),
    ]
    assert got[-1].hours == ("00:00",)
    december = era5.chunks(dt.date(2019, 12, 31), dt.date(2019, 12, 31))
    assert [(c.year, c.month, c.days) for c in december] == [(2019, 12, (31,)), (2020, 1, (1,))]


def test_daily_table_takes_the_next_00_utc_accumulation_and_needs_whole_days():
    times = pd.date_range("2020-06-01 00:00", "2020-06-03 00:00", freq="h")
    t2m, tp = hourly_values(times)
    hourly = pd.DataFrame({"t2m": t2m, "tp": tp}, index=times).drop(pd.Timestamp("2020-06-02 05:00"))
    table = era5.daily_table(hourly, dt.date(2020, 6, 1), dt.date(2020, 6, 2))
    day1, day2 = pd.Timestamp("2020-06-01"), pd.Timestamp("2020-06-02")
    assert table["precipitation_mm"].round(6).tolist() == [day_precipitation_mm(day1), day_precipitation_mm(day2)]
    assert day_precipitation_mm(day1) != day_precipitation_mm(day2)  # the values tell the days apart
    assert table.loc[0, ["tmin_c", "tmean_c", "tmax_c"]].round(6).tolist() == [
        day_temperature_c(day1) - 5.75,
        day_temperature_c(day1),
        day_temperature_c(day1) + 5.75,
    ]
    assert table.loc[1, ["tmin_c", "tmean_c", "tmax_c"]].isna().all()  # 23 hours only


def test_era5_land_weather_through_cdsapi_with_cached_months(cds, tmp_path, monkeypatch, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    cds.statuses = ["running", "successful"]  # one poll while the job runs
    provider = provider_for(cds.api, tmp_path)
    catalog = provider.search("weather", ["skjern"], dt.date(2020, 1, 30), dt.date(2020, 2, 2))
    item = catalog.iloc[0].to_dict()
    assert item_filename(item) == "weather_skjern.csv" and item["product_type"] == "era5-land-cds-daily"
    assert item["href"] == f"{cds.api}/retrieve/v1/processes/reanalysis-era5-land"
    assert item["footprint_wkt"].startswith("POLYGON ((8.89 55.83")
    assert cds.requests == []  # searching asks nothing
    out = tmp_path / "weather" / "weather_skjern.csv"
    provider.fetch(item, out)

    # Three requests: 30-31 January, 1-2 February, 3 February 00 UTC (the last day's precipitation).
    assert [(r["month"], r["day"], len(r["time"])) for r in cds.submitted] == [
        ("01", ["30", "31"], 24),
        ("02", ["01", "02"], 24),
        ("02", ["03"], 1),
    ]
    first = cds.submitted[0]
    assert first["variable"] == ["2m_temperature", "total_precipitation"] and first["data_format"] == "netcdf"
    assert first["area"] == [56.03, 8.89, 55.83, 9.09] and first["year"] == "2020"
    api_calls = [r for r in cds.requests if r["path"].startswith("/api/retrieve/")]
    assert api_calls and all(r["headers"].get("PRIVATE-TOKEN") == KEY for r in api_calls)
    assert sum(r["path"].startswith("/api/retrieve/v1/jobs/job-1") and "log=" in r["path"] for r in api_calls) >= 2

    table = read_weather(out)
    days = expected_days("2020-01-30", "2020-02-02")
    assert table.index.equals(days)
    assert table["precipitation"].tolist() == [day_precipitation_mm(d) for d in days]
    assert table["tmean"].tolist() == [day_temperature_c(d) for d in days]
    assert table["tmin"].tolist() == [day_temperature_c(d) - 5.75 for d in days]
    assert table["tmax"].tolist() == [day_temperature_c(d) + 5.75 for d in days]
    assert (table.attrs["latitude"], table.attrs["longitude"]) == NEAREST
    source = table.attrs["source"]
    assert "ERA5-Land" in source and "Muñoz-Sabater et al. 2021" in source and "10.5194/essd-13-4349-2021" in source
    assert "Copernicus Climate Change Service" in source and "reanalysis-era5-land" in source

    cached = sorted(p.name for p in (tmp_path / "cache" / "cds").iterdir())
    assert len([n for n in cached if n.endswith(".nc")]) == 3 and len([n for n in cached if n.endswith(".json")]) == 3
    assert not [n for n in cached if n.startswith(".")]
    # A second fetch is answered from the cache: no request at all, and no key needed.
    monkeypatch.delenv("CDSAPI_KEY")
    n = len(cds.requests)
    provider.fetch(item, tmp_path / "again.csv")
    assert len(cds.requests) == n and (tmp_path / "again.csv").read_bytes() == out.read_bytes()

    written = [out.read_text(encoding="utf-8")] + [
        p.read_bytes().decode("latin-1") for p in (tmp_path / "cache" / "cds").iterdir()
    ]
    captured = capfd.readouterr()
    assert not any(KEY in text for text in written + [caplog.text, captured.out, captured.err])


def test_zipped_answers_with_a_legacy_time_coordinate(cds, tmp_path):
    cds.split, cds.time_name = True, "time"
    provider, item = weather_item(cds.api, tmp_path, dt.date(2021, 12, 31), dt.date(2021, 12, 31))
    provider.fetch(item, tmp_path / "w.csv")
    table = read_weather(tmp_path / "w.csv")
    day = pd.Timestamp("2021-12-31")
    assert table["precipitation"].tolist() == [day_precipitation_mm(day)]
    assert table["tmean"].tolist() == [day_temperature_c(day)]
    assert [(r["year"], r["month"], r["day"], r["time"]) for r in cds.submitted][1] == ("2022", "01", ["01"], ["00:00"])
    assert len(list((tmp_path / "cache" / "cds").glob("*.zip"))) == 2


def test_sea_cells_are_passed_over_for_the_nearest_land_cell(cds, tmp_path):
    cds.sea = {NEAREST}
    provider, item = weather_item(cds.api, tmp_path, dt.date(2020, 7, 1), dt.date(2020, 7, 2))
    provider.fetch(item, tmp_path / "w.csv")
    table = read_weather(tmp_path / "w.csv")
    assert (table.attrs["latitude"], table.attrs["longitude"]) == (55.9, 8.9)
    days = expected_days("2020-07-01", "2020-07-02")
    assert table["tmean"].round(6).tolist() == [day_temperature_c(d) + cell_offset_k(55.9, 8.9) for d in days]


def test_a_failed_job_names_the_request_and_leaves_nothing(cds, tmp_path):
    cds.fail = "MARS returned no data, please check your selection"
    provider, item = weather_item(cds.api, tmp_path, dt.date(2020, 3, 1), dt.date(2020, 3, 5))
    out = tmp_path / "weather" / "weather_skjern.csv"
    with pytest.raises(ProductError, match=r"reanalysis-era5-land request 2020-03-01\.\.05 for skjern") as err:
        provider.fetch(item, out)
    assert "The job has failed" in str(err.value) and "MARS returned no data" in str(err.value)
    assert KEY not in str(err.value)
    assert not out.exists() and not list(out.parent.glob("*"))
    assert list((tmp_path / "cache" / "cds").iterdir()) == []


def test_an_answer_lacking_a_variable_is_refused_and_not_cached(cds, tmp_path):
    cds.drop = {"tp"}
    provider, item = weather_item(cds.api, tmp_path, dt.date(2020, 3, 1), dt.date(2020, 3, 5))
    out = tmp_path / "weather_skjern.csv"
    with pytest.raises(
        ProductError,
        match=r"request 2020-03-01\.\.05 for skjern \(cache key \w+\): "
        r"the CDS answer lacks variable\(s\) tp \(it has t2m\)",
    ):
        provider.fetch(item, out)
    assert not out.exists() and list((tmp_path / "cache" / "cds").iterdir()) == []


def test_a_wrong_key_is_refused_without_showing_it(cds, tmp_path, monkeypatch):
    monkeypatch.setenv("CDSAPI_KEY", "not-the-right-token-1234")
    provider, item = weather_item(cds.api, tmp_path, dt.date(2020, 3, 1), dt.date(2020, 3, 1))
    with pytest.raises(ProductError, match="Authentication failed") as err:
        provider.fetch(item, tmp_path / "w.csv")
    assert "not-the-right-token-1234" not in str(err.value) and not (tmp_path / "w.csv").exists()


def test_without_a_key_the_fetch_stops_before_any_request(cds, tmp_path, monkeypatch):
    monkeypatch.delenv("CDSAPI_KEY")
    monkeypatch.setenv("HOME", str(tmp_path))
    provider, item = weather_item(cds.api, tmp_path, dt.date(2020, 3, 1), dt.date(2020, 3, 1))
    with pytest.raises(ConfigError, match=r"no Climate Data Store API key .*CDSAPI_KEY.*no-cdsapirc"):
        provider.fetch(item, tmp_path / "w.csv")
    assert cds.requests == [] and not (tmp_path / "w.csv").exists()


def test_key_comes_from_the_environment_or_cdsapirc_and_never_in_the_old_form(tmp_path):
    rc = tmp_path / ".cdsapirc"
    rc.write_text("url: https://cds.climate.copernicus.eu/api\nkey: rc-token-5678\n")
    assert load_cds_key({"CDSAPI_KEY": "env-token-1234"}, str(rc)) == "env-token-1234"
    assert load_cds_key({"CDSAPI_RC": str(rc)}) == "rc-token-5678"
    assert load_cds_key({"CDSAPI_KEY": " "}, str(rc)) == "rc-token-5678"
    with pytest.raises(ConfigError, match="no Climate Data Store API key"):
        load_cds_key({}, str(tmp_path / "missing"))
    rc.write_text("url: https://cds.climate.copernicus.eu/api/v2\nkey: 12345:abcdef-old-secret\n")
    with pytest.raises(ConfigError, match="old 'UID:KEY' form") as err:
        load_cds_key({}, str(rc))
    assert "abcdef-old-secret" not in str(err.value)


def test_open_meteo_stays_the_default_service(tmp_path):
    settings = weather_settings("http://127.0.0.1:9/api", tmp_path)
    settings.pop("service")
    frame = get_provider("cdse", {}, {"regions": [REGION], "grid": {"margin_m": 500}, "weather": settings}).search(
        "weather", ["skjern"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)
    )
    assert frame["product_type"].tolist() == ["open-meteo-daily"]
