"""CSM, the CGLS Surface Soil Moisture 1 km V1 (Sentinel-1) daily NetCDF files, from the CLMS distribution at VITO.

The Copernicus Land Monitoring Service lists every file of a collection in a manifest, one URL a line
(https://globalland.vito.be/download/manifest/ssm_1km_v1_daily_netcdf/...); no account is needed. The
search reads the manifest and keeps, for each day of the period, the file of the configured version
(or the newest version listed for that day), one catalog row per region inside the file's tile. The
fetch keeps the region's crop (see soilsat.acquire.cropped).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import requests

from soilsat.acquire.aoi import aoi_bounds
from soilsat.acquire.cropped import crop_name, fetch_cropped
from soilsat.acquire.download import RetryPolicy, request
from soilsat.errors import ProductError
from soilsat.reference import cgls_ssm

log = logging.getLogger(__name__)

PRODUCT_TYPE = "SSM1km"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("V").split("."))


def manifest_files(text: str) -> pd.DataFrame:
    """The SSM 1 km files of a manifest: url, name, date, tile, version (other lines are left out)."""
    rows = []
    for line in text.splitlines():
        url = line.strip()
        parsed = cgls_ssm.parse_name(url.rsplit("/", 1)[-1]) if url.endswith(".nc") else None
        if parsed:
            rows.append({"url": url, "name": url.rsplit("/", 1)[-1], **parsed})
    return pd.DataFrame(rows, columns=["url", "name", "date", "tile", "version"])


def pick_versions(files: pd.DataFrame, version: str | None) -> pd.DataFrame:
    """Files of `version`, or, when it is None, the newest version of each day and tile."""
    if version:
        return files[files["version"] == version]
    newest = files.assign(key=files["version"].map(_version_key)).sort_values("key")
    return newest.drop_duplicates(["date", "tile"], keep="last").drop(columns="key")


def within(bounds: tuple[float, float, float, float], tile: str) -> bool:
    """Whether lon/lat bounds lie inside a tile of the product."""
    west, south, east, north = bounds
    t_west, t_south, t_east, t_north = cgls_ssm.TILES.get(tile, (0.0, 0.0, 0.0, 0.0))
    return t_west <= west and east <= t_east and t_south <= south and north <= t_north


def catalog(
    settings: Mapping,
    regions: Sequence[Mapping],
    start: dt.date,
    end: dt.date,
    margin_m: float,
    session: requests.Session | None = None,
) -> pd.DataFrame:
    """One row per daily file of the period and region inside its tile; href the file's URL in the manifest."""
    url = settings["manifest_url"]
    answer = request(session or requests.Session(), "GET", url, RetryPolicy.from_config(settings["retries"]))
    files = manifest_files(answer.text)
    if files.empty:
        raise ProductError(url, "the manifest lists no SSM 1km NetCDF file (is it the ssm_1km_v1_daily_netcdf one?)")
    in_period = files[(files["date"] >= pd.Timestamp(start)) & (files["date"] <= pd.Timestamp(end))]
    chosen = pick_versions(in_period, settings.get("version")).sort_values(["date", "tile"])
    if chosen.empty:
        listed = ", ".join(sorted(files["version"].unique()))
        of_version = f" of version {settings['version']}" if settings.get("version") else ""
        raise ProductError(
            url,
            f"lists no SSM 1km file{of_version} between {start} and {end} (versions listed: "
            f"{listed}; days {files['date'].min():%Y-%m-%d} to {files['date'].max():%Y-%m-%d})",
        )
    rows = []
    for region in regions:
        bounds = aoi_bounds(region, margin_m + settings["margin_m"])
        mine = chosen[[within(bounds, tile) for tile in chosen["tile"]]]
        if mine.empty:
            log.warning("CSM: region %s lies in no tile of the product (%s)", region["name"], ", ".join(cgls_ssm.TILES))
        for file in mine.itertuples():
            rows.append(
                {
                    "name": crop_name(file.name, region["name"]),
                    "source": "csm",
                    "product_type": PRODUCT_TYPE,
                    "platform": "Sentinel-1",
                    "sensing_start": f"{file.date:%Y-%m-%d}T00:00:00Z",
                    "sensing_stop": f"{file.date:%Y-%m-%d}T23:59:59Z",
                    "processing_baseline": file.version,
                    "tile": file.tile,
                    "regions": region["name"],
                    "href": file.url,
                }
            )
    log.info("CSM: %d daily files, %d crops", len(chosen), len(rows))
    return pd.DataFrame(rows)


def fetch(
    item: Mapping,
    destination: str | os.PathLike,
    settings: Mapping,
    region: Mapping,
    margin_m: float,
    study_regions: Sequence[Mapping],
    session: requests.Session | None = None,
) -> None:
    """Write the region's crop of the item's daily file to `destination`, in the product's own layout."""
    destination = Path(destination)
    file_name = item["href"].rsplit("/", 1)[-1]
    tile = (cgls_ssm.parse_name(file_name) or {}).get("tile", "")
    served = [r for r in study_regions if within(aoi_bounds(r, margin_m + settings["margin_m"]), tile)]
    siblings = [destination.with_name(crop_name(file_name, r["name"])) for r in served]
    fetch_cropped(
        item["href"],
        destination,
        aoi_bounds(region, margin_m + settings["margin_m"]),
        cgls_ssm.CELL_DEG,
        cgls_ssm.check,
        settings,
        siblings,
        session,
    )
