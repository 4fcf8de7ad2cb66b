"""Daily weather from ERA5-Land hourly data of the Copernicus Climate Data Store, through `cdsapi`.

`weather.service: era5-land-cds` asks the CDS for hourly 2 m temperature and total
precipitation of `reanalysis-era5-land` in a small box around each region's point, one
request per calendar month of the period plus one for 00 UTC of the day after it, as
NetCDF. Each raw answer is kept under its request hash in `weather.cds.cache_dir` and never
requested again. The grid cell nearest to the point that has data (ERA5-Land is land only)
gives the daily table: tmin/tmean/tmax of 2 m temperature (degC) over the 24 hours of a UTC
day, and precipitation (mm). ERA5-Land accumulates precipitation from 00 UTC, so the value
at 00 UTC of D+1 is day D's 24 h total. The CDS answer carries no orography, so the table's
elevation is unknown (nan).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import cdsapi
import numpy as np
import pandas as pd
import xarray as xr

from soilsat.acquire.credentials import load_cds_key
from soilsat.acquire.download import RetryPolicy
from soilsat.errors import ProductError
from soilsat.io import atomic_path

log = logging.getLogger(__name__)

PRODUCT_TYPE = "era5-land-cds-daily"
# CDS request name -> NetCDF variable name, and the units the daily table assumes.
VARIABLES = {"2m_temperature": "t2m", "total_precipitation": "tp"}
UNITS = {"t2m": "K", "tp": "m"}
HOURS = tuple(f"{h:02d}:00" for h in range(24))
DATASET_DOIS = {"reanalysis-era5-land": "10.24381/cds.e2161bac"}


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One CDS request: some days of one calendar month, at some hours (UTC)."""

    year: int
    month: int
    days: tuple[int, ...]
    hours: tuple[str, ...] = HOURS

    @property
    def label(self) -> str:
        """The request's days (and hours unless all 24), for messages: 2020-03-01..31, 2020-04-01 00:00 UTC."""
        days = f"{self.days[0]:02d}" + (f"..{self.days[-1]:02d}" if len(self.days) > 1 else "")
        hours = "" if self.hours == HOURS else f" {','.join(self.hours)} UTC"
        return f"{self.year}-{self.month:02d}-{days}{hours}"


def chunks(start: dt.date, end: dt.date) -> list[Chunk]:
    """The requests of [start, end]: one per calendar month, then 00 UTC of the day after (the last day's total)."""
    out, day = [], start
    while day <= end:
        following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        last = min(end, following - dt.timedelta(days=1))
        out.append(Chunk(day.year, day.month, tuple(range(day.day, last.day + 1))))
        day = last + dt.timedelta(days=1)
    after = end + dt.timedelta(days=1)
    out.append(Chunk(after.year, after.month, (after.day,), ("00:00",)))
    return out


def area(lat: float, lon: float, margin_deg: float) -> list[float]:
    """The CDS `area` [north, west, south, east] of a box around a point."""
    return [
        round(min(lat + margin_deg, 90.0), 3),
        round(lon - margin_deg, 3),
        round(max(lat - margin_deg, -90.0), 3),
        round(lon + margin_deg, 3),
    ]


def box_wkt(box: Sequence[float]) -> str:
    """The WKT polygon of an [north, west, south, east] box."""
    n, w, s, e = box
    return f"POLYGON (({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))"


def cds_request(chunk: Chunk, box: Sequence[float]) -> dict:
    """The CDS request body of one chunk: hourly t2m and tp in the box, NetCDF."""
    return {
        "variable": list(VARIABLES),
        "year": f"{chunk.year}",
        "month": f"{chunk.month:02d}",
        "day": [f"{d:02d}" for d in chunk.days],
        "time": list(chunk.hours),
        "area": list(box),
        "data_format": "netcdf",
        "download_format": "unarchived",
    }


def request_key(dataset: str, request: Mapping) -> str:
    """The cache key of a request: a hash of the dataset and the request body."""
    text = json.dumps({"dataset": dataset, "request": request}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def process_url(settings: Mapping) -> str:
    """The CDS retrieve-API address of the configured dataset."""
    return f"{settings['cds']['url'].rstrip('/')}/retrieve/v1/processes/{settings['cds']['dataset']}"


def catalog(settings: Mapping, regions: Sequence[Mapping], start: dt.date, end: dt.date) -> pd.DataFrame:
    """One catalog row per region: weather_<region>.csv, the requested box and the CDS dataset it comes from."""
    margin = float(settings["cds"]["area_margin_deg"])
    rows = [
        {
            "name": f"weather_{r['name']}.csv",
            "source": "weather",
            "product_type": PRODUCT_TYPE,
            "sensing_start": start.isoformat(),
            "sensing_stop": end.isoformat(),
            "regions": r["name"],
            "footprint_wkt": box_wkt(area(r["lat"], r["lon"], margin)),
            "href": process_url(settings),
        }
        for r in regions
    ]
    return pd.DataFrame(rows)


class CdsClient:
    """The cdsapi client of one CDS address; the key is read and the client made on the first request."""

    def __init__(self, url: str, retries: RetryPolicy, environ: Mapping[str, str] | None = None):
        self.url, self._retries, self._environ = url, retries, environ
        self._client: cdsapi.Client | None = None
        self._key = ""

    def __repr__(self) -> str:
        return f"CdsClient({self.url!r})"

    def _connect(self, key: str) -> cdsapi.Client:
        """cdsapi's client, with its retries and its messages sent to soilsat's log."""
        # cdsapi's debug messages print its settings, key included: they are dropped.
        return cdsapi.Client(
            url=self.url,
            key=key,
            quiet=True,
            progress=False,
            timeout=self._retries.timeout_s,
            retry_max=self._retries.max_tries,
            sleep_max=self._retries.max_delay_s,
            info_callback=log.info,
            warning_callback=log.warning,
            error_callback=log.warning,
            debug_callback=lambda *args, **kwargs: None,
        )

    def retrieve(self, dataset: str, request: Mapping, target: Path, where: str) -> None:
        """Submit one request, wait for its job and download the result to `target`."""
        if not self._key:
            self._key = load_cds_key(self._environ)
        try:
            if self._client is None:
                self._client = self._connect(self._key)
            self._client.retrieve(dataset, dict(request), str(target))
        except Exception as exc:  # noqa: BLE001 - requests' errors, RuntimeErrors, AssertionErrors and LinkErrors occur
            text = " ".join(str(exc).split()).replace(self._key, "<CDS key>")[:800]
            raise ProductError(where, f"the Climate Data Store request failed: {type(exc).__name__}: {text}") from None


def open_response(path: Path) -> xr.Dataset:
    """The dataset of one CDS answer: a NetCDF, or the NetCDFs of a zip (the CDS may split by field type) merged."""
    if not zipfile.is_zipfile(path):
        with xr.open_dataset(path) as ds:
            return ds.load()
    parts = []
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(n for n in archive.namelist() if n.endswith(".nc")):
            member = Path(tmp) / f"{i}.nc"
            member.write_bytes(archive.read(name))
            with xr.open_dataset(member) as ds:
                parts.append(ds.load())
    if not parts:
        raise ValueError("a zip without NetCDF members")
    return xr.merge(parts, compat="override", join="outer", combine_attrs="drop_conflicts")


def _time_name(ds: xr.Dataset) -> str | None:
    """The time coordinate: `valid_time` in today's CDS NetCDF, `time` in the legacy CDS's."""
    return next((name for name in ("valid_time", "time") if name in ds.coords or name in ds.dims), None)


def _point_cell(t2m: np.ndarray, lats: np.ndarray, lons: np.ndarray, lat: float, lon: float) -> tuple[int, int] | None:
    """Indices of the grid cell nearest to (lat, lon) that has any data, None when none has."""
    has_data = np.isfinite(t2m).any(axis=0)
    if not has_data.any():
        return None
    dlon = (lons[None, :] - lon + 180.0) % 360.0 - 180.0
    dist = (lats[:, None] - lat) ** 2 + (dlon * np.cos(np.radians(lat))) ** 2
    i, j = np.unravel_index(np.argmin(np.where(has_data, dist, np.inf)), dist.shape)
    return int(i), int(j)


def point_series(ds: xr.Dataset, lat: float, lon: float, where: str) -> tuple[pd.DataFrame, float, float]:
    """Hourly t2m (K) and tp (m) of the nearest grid cell with data, indexed by UTC time, with the cell's lat/lon."""
    missing = [v for v in VARIABLES.values() if v not in ds.data_vars]
    if missing:
        raise ProductError(
            where,
            f"the CDS answer lacks variable(s) {', '.join(missing)} "
            f"(it has {', '.join(map(str, ds.data_vars)) or 'none'})",
        )
    time = _time_name(ds)
    if time is None or "latitude" not in ds.coords or "longitude" not in ds.coords:
        raise ProductError(
            where,
            f"the CDS answer lacks a valid_time/time, latitude or longitude coordinate "
            f"(it has {', '.join(map(str, ds.coords))})",
        )
    arrays = {}
    for name, unit in UNITS.items():
        var = ds[name].squeeze(
            [d for d in ds[name].dims if d not in (time, "latitude", "longitude") and ds.sizes[d] == 1]
        )
        if set(var.dims) != {time, "latitude", "longitude"}:
            raise ProductError(
                where, f"variable {name} has dimensions {var.dims}, expected {time}, latitude, longitude"
            )
        if var.attrs.get("units", unit) != unit:
            raise ProductError(where, f"variable {name} is in {var.attrs['units']!r}, expected {unit!r}")
        arrays[name] = var.transpose(time, "latitude", "longitude").to_numpy().astype(float)
    lats, lons = ds["latitude"].to_numpy().astype(float), ds["longitude"].to_numpy().astype(float)
    cell = _point_cell(arrays["t2m"], lats, lons, lat, lon)
    if cell is None:
        raise ProductError(where, "no grid cell of the requested area has 2 m temperature (ERA5-Land covers land only)")
    i, j = cell
    index = pd.DatetimeIndex(ds[time].to_numpy(), name="time")
    frame = pd.DataFrame({name: values[:, i, j] for name, values in arrays.items()}, index=index)
    return frame, float(lats[i]), float(lons[j])


def daily_table(hourly: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Daily precipitation (mm) and tmin/tmean/tmax (degC) over UTC days from hourly t2m (K) and accumulated tp (m).

    A day's temperatures need all 24 hours; its precipitation is the accumulation at 00 UTC of the next day.
    """
    hourly = hourly[~hourly.index.duplicated(keep="last")].sort_index()
    days = pd.date_range(start, end, freq="D")
    celsius = hourly["t2m"] - 273.15
    stats = celsius.groupby(celsius.index.floor("D")).agg(["min", "mean", "max", "count"]).reindex(days)
    complete = stats["count"].fillna(0).to_numpy() == 24
    if not complete.all():
        log.warning(
            "ERA5-Land: %d day(s) without 24 hourly temperatures left empty, first %s",
            int((~complete).sum()),
            days[~complete][0].date(),
        )
    # GRIB packing leaves accumulations a hair below zero on dry days.
    precip = np.clip(hourly["tp"].reindex(days + pd.Timedelta(days=1)).to_numpy() * 1000.0, 0.0, None)
    return pd.DataFrame(
        {
            "date": days.strftime("%Y-%m-%d"),
            "precipitation_mm": precip,
            **{f"t{stat}_c": np.where(complete, stats[stat].to_numpy(), np.nan) for stat in ("min", "mean", "max")},
        }
    )


def cached_answer(cache_dir: Path, key: str) -> Path | None:
    """The cached raw answer of a request, if there is one."""
    return next((p for p in (cache_dir / f"{key}.nc", cache_dir / f"{key}.zip") if p.is_file()), None)


def _read_answer(path: Path, where: str) -> xr.Dataset:
    """The dataset of a raw answer, or a ProductError naming it."""
    try:
        return open_response(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ProductError(
            where, f"the CDS answer is not readable NetCDF ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
        ) from None


def answer_series(
    client: CdsClient, dataset: str, request: Mapping, cache_dir: Path, where: str, lat: float, lon: float
) -> tuple[pd.DataFrame, float, float]:
    """The point series of one request's answer: from the cache, else retrieved, checked and cached with its request."""
    key = request_key(dataset, request)
    where = f"{where} (cache key {key})"
    cached = cached_answer(cache_dir, key)
    if cached is not None:
        origin = f"{where}, cached as {cached}"
        return point_series(_read_answer(cached, origin), lat, lon, origin)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for stale in cache_dir.glob(f".{key}.*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache_dir))
    try:
        answer = tmp / "answer"
        client.retrieve(dataset, request, answer, where)
        series = point_series(_read_answer(answer, where), lat, lon, where)
        with atomic_path(cache_dir / f"{key}.json") as sidecar:
            sidecar.write_text(json.dumps({"dataset": dataset, "request": request}, indent=1))
        os.replace(answer, cache_dir / f"{key}{'.zip' if zipfile.is_zipfile(answer) else '.nc'}")
        return series
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def hourly_point(
    settings: Mapping, region: Mapping, start: dt.date, end: dt.date, client: CdsClient
) -> tuple[pd.DataFrame, float, float]:
    """Hourly t2m/tp of the region's grid cell over the period and the next 00 UTC, month by month."""
    cds = settings["cds"]
    box = area(region["lat"], region["lon"], float(cds["area_margin_deg"]))
    frames, lat, lon = [], np.nan, np.nan
    for chunk in chunks(start, end):
        where = f"CDS {cds['dataset']} request {chunk.label} for {region['name']}"
        frame, lat, lon = answer_series(
            client, cds["dataset"], cds_request(chunk, box), Path(cds["cache_dir"]), where, region["lat"], region["lon"]
        )
        frames.append(frame)
    return pd.concat(frames), lat, lon


def citation(dataset: str) -> str:
    """The '# source' text: ERA5-Land's reference, the CDS dataset and the Copernicus attribution."""
    doi = f" (doi:{DATASET_DOIS[dataset]})" if dataset in DATASET_DOIS else ""
    return (
        f"ERA5-Land hourly reanalysis (Muñoz-Sabater et al. 2021, doi:10.5194/essd-13-4349-2021), "
        f"Copernicus Climate Data Store dataset {dataset}{doi}, daily over UTC days; "
        "contains modified Copernicus Climate Change Service information"
    )


def fetch(
    item: Mapping, destination: str | os.PathLike, settings: Mapping, region: Mapping, client: CdsClient | None = None
) -> None:
    """Write weather_<region>.csv from ERA5-Land with '#' metadata lines (latitude, longitude, elevation_m, source)."""
    start = dt.date.fromisoformat(str(item["sensing_start"])[:10])
    end = dt.date.fromisoformat(str(item["sensing_stop"])[:10])
    client = client or CdsClient(settings["cds"]["url"], RetryPolicy.from_config(settings["retries"]))
    hourly, lat, lon = hourly_point(settings, region, start, end, client)
    table = daily_table(hourly, start, end)
    if table[["precipitation_mm", "tmin_c", "tmean_c", "tmax_c"]].isna().all().all():
        raise ProductError(
            process_url(settings), f"the CDS answers hold no data for {region['name']} from {start} to {end}"
        )
    header = [
        f"# station_id: era5-land-{region['name']}",
        f"# latitude: {lat:.4f}",
        f"# longitude: {lon:.4f}",
        "# elevation_m: nan",
        "# time: daily, UTC days",
        f"# source: {citation(settings['cds']['dataset'])}",
    ]
    with atomic_path(destination) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        f.write("\n".join(header) + "\n")
        table.to_csv(f, index=False, float_format="%.2f")
    log.info("weather of %s from ERA5-Land (grid cell %.2f, %.2f): %d days", region["name"], lat, lon, len(table))
