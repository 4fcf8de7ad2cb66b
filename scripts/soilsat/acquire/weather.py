"""Daily weather at each region: Open-Meteo's historical archive (no key) or ERA5-Land from the CDS.

`weather.service` picks the source. `open-meteo` (the default) asks Open-Meteo for one small
JSON answer per point; its `era5_land` model serves ERA5-Land. `era5-land-cds` retrieves
ERA5-Land itself, the citable source, from the Copernicus Climate Data Store with `cdsapi`
(an account, the dataset's licence accepted and an API key; see `soilsat.acquire.era5`).
The delivered weather_<region>.csv has the same columns and '#' header lines either way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import requests

from soilsat.acquire import era5
from soilsat.acquire.download import RetryPolicy, TransferError, get_json
from soilsat.errors import ProductError
from soilsat.io import atomic_path

log = logging.getLogger(__name__)

DAILY = {
    "precipitation_sum": "precipitation_mm",
    "temperature_2m_min": "tmin_c",
    "temperature_2m_mean": "tmean_c",
    "temperature_2m_max": "tmax_c",
}


def query_url(settings: Mapping, lat: float, lon: float, start: dt.date, end: dt.date) -> str:
    """The archive query of daily precipitation and min/mean/max air temperature at one point."""
    params = {
        "latitude": f"{lat:.5f}",
        "longitude": f"{lon:.5f}",
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "daily": ",".join(DAILY),
        "timezone": "GMT",
    }
    if settings.get("model"):
        params["models"] = settings["model"]
    return f"{settings['url']}?{urlencode(params)}"


def catalog(settings: Mapping, regions: Sequence[Mapping], start: dt.date, end: dt.date) -> pd.DataFrame:
    """One catalog row per region: weather_<region>.csv and the query that makes it (of the configured service)."""
    if settings.get("service", "open-meteo") == "era5-land-cds":
        return era5.catalog(settings, regions, start, end)
    rows = [
        {
            "name": f"weather_{r['name']}.csv",
            "source": "weather",
            "product_type": "open-meteo-daily",
            "sensing_start": start.isoformat(),
            "sensing_stop": end.isoformat(),
            "regions": r["name"],
            "href": query_url(settings, r["lat"], r["lon"], start, end),
        }
        for r in regions
    ]
    return pd.DataFrame(rows)


def _cached_json(settings: Mapping, url: str, session: requests.Session) -> dict:
    """The answer to a query, from the raw-response cache when it has it."""
    cache = Path(settings["cache_dir"]) / f"{hashlib.sha1(url.encode()).hexdigest()[:16]}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    try:
        body = get_json(session, url, RetryPolicy.from_config(settings["retries"]))
    except TransferError as exc:
        if exc.reason:  # Open-Meteo answers a bad query with HTTP 400 and a JSON reason
            raise ProductError(
                url.split("?", 1)[0], f"Open-Meteo refused the query (HTTP {exc.status}): {exc.reason}"
            ) from None
        raise
    with atomic_path(cache) as tmp:
        tmp.write_text(json.dumps(body))
    return body


def to_table(body: Mapping, source: str) -> pd.DataFrame:
    """The daily table (date, precipitation_mm, tmin_c, tmean_c, tmax_c) of an Open-Meteo answer."""
    if body.get("error"):
        raise ProductError(source, f"Open-Meteo refused the query: {body.get('reason', 'no reason given')}")
    daily = body.get("daily") or {}
    missing = [k for k in ["time", *DAILY] if k not in daily]
    if missing:
        raise ProductError(source, f"Open-Meteo answer lacks daily variable(s) {', '.join(missing)}")
    table = pd.DataFrame(
        {
            "date": daily["time"],
            **{col: pd.to_numeric(pd.Series(daily[k]), errors="coerce") for k, col in DAILY.items()},
        }
    )
    if table.empty:
        raise ProductError(source, "Open-Meteo answer holds no days")
    return table


def fetch(
    item: Mapping,
    destination: str | os.PathLike,
    settings: Mapping,
    region: Mapping | None = None,
    session: requests.Session | None = None,
) -> None:
    """Write weather_<region>.csv from the item's service, with '#' lines: latitude, longitude, elevation_m, source."""
    if item.get("product_type") == era5.PRODUCT_TYPE:
        if region is None:
            raise ProductError(item["name"], "an ERA5-Land item needs its region's config")
        return era5.fetch(item, destination, settings, region)
    url = item["href"]
    body = _cached_json(settings, url, session or requests.Session())
    table = to_table(body, url.split("?", 1)[0])
    header = [
        f"# station_id: open-meteo-{item['regions']}",
        f"# latitude: {body.get('latitude')}",
        f"# longitude: {body.get('longitude')}",
        f"# elevation_m: {body.get('elevation')}",
        (
            f"# source: Open-Meteo historical weather API ({settings.get('model') or 'best match'}), "
            "ERA5-Land based; Copernicus Climate Change Service information"
        ),
    ]
    with atomic_path(destination) as tmp, open(tmp, "w", newline="") as f:
        f.write("\n".join(header) + "\n")
        table.to_csv(f, index=False, float_format="%.2f")
    log.info("weather of %s: %d days", item["regions"], len(table))
