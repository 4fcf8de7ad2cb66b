"""ECV_SM, the ESA CCI Soil Moisture COMBINED daily files, from the CEDA archive (anonymous HTTPS).

CEDA keeps every released version (the superseded v05.2 that Simonsen 2021 used included) under
<url>/v<version>/<year>/ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-<YYYYMMDD>000000-fv<version>.nc, one
global file a day. The layout is fixed, so the search writes the catalog without asking the server:
one row per day of the period and region. The fetch keeps the region's crop (see
soilsat.acquire.cropped); a day the version does not cover answers 404 and fails with that said.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import requests

from soilsat.acquire.aoi import aoi_bounds
from soilsat.acquire.cropped import crop_name, fetch_cropped
from soilsat.acquire.download import TransferError
from soilsat.errors import ProductError
from soilsat.reference import esacci_sm

PRODUCT_TYPE = "ESACCI-L3S-SSMV-COMBINED"


def file_url(settings: Mapping, day: pd.Timestamp) -> str:
    """The URL of one day's file of the configured version."""
    version = settings["version"]
    return f"{settings['url'].rstrip('/')}/v{version}/{day:%Y}/{esacci_sm.file_name(day, version)}"


def catalog(settings: Mapping, regions: Sequence[Mapping], start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per day of the period and region: the crop's name and the daily file's URL."""
    rows = []
    for day in pd.date_range(start, end, freq="D"):
        name = esacci_sm.file_name(day, settings["version"])
        for region in regions:
            rows.append(
                {
                    "name": crop_name(name, region["name"]),
                    "source": "ecv_sm",
                    "product_type": PRODUCT_TYPE,
                    "sensing_start": f"{day:%Y-%m-%d}T00:00:00Z",
                    "sensing_stop": f"{day:%Y-%m-%d}T23:59:59Z",
                    "processing_baseline": settings["version"],
                    "regions": region["name"],
                    "href": file_url(settings, day),
                }
            )
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
    siblings = [destination.with_name(crop_name(file_name, r["name"])) for r in study_regions]
    try:
        fetch_cropped(
            item["href"],
            destination,
            aoi_bounds(region, margin_m + settings["margin_m"]),
            esacci_sm.CELL_DEG,
            esacci_sm.check,
            settings,
            siblings,
            session,
        )
    except TransferError as err:
        if "HTTP 404" not in str(err):
            raise
        raise ProductError(
            item["href"],
            f"no such file at CEDA: ESA CCI SM COMBINED v{settings['version']} has no "
            f"file for {item['sensing_start'][:10]} (is the day inside the version's "
            "period?)",
        ) from None
