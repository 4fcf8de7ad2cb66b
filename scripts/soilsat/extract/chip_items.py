"""The catalogue items of the chip route: found by a STAC search over the points and period, or taken from a
product list (a GeoJSON FeatureCollection of STAC items), and kept when their footprint holds a point."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Mapping, Sequence

import pandas as pd
import requests

from soilsat.acquire.download import RetryPolicy
from soilsat.io import atomic_path
from soilsat.remote_files import S3Archive
from soilsat.stac.search import ItemSearch, matches, search_items

log = logging.getLogger(__name__)


def item_time(item: Mapping) -> pd.Timestamp:
    """When an item was sensed (its start_datetime, else its datetime), as naive UTC; ValueError naming the item."""
    properties = item.get("properties") or {}
    when = properties.get("start_datetime") or properties.get("datetime")
    if not when:
        raise ValueError(f"STAC item {item.get('id', '?')}: no datetime or start_datetime")
    stamp = pd.Timestamp(when)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


def holding_points(items: Sequence[Mapping], points: pd.DataFrame) -> list[dict]:
    """The items whose footprint holds at least one of the points, in their order."""
    lonlat = list(zip(points["lon"].astype(float), points["lat"].astype(float)))
    held = matches(items, points["point_id"].astype(str).tolist(), lonlat)
    return [dict(item) for item in items if str(item.get("id")) in held]


def search_point_items(
    api: str,
    collection: str,
    points: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    page_size: int,
    policy: RetryPolicy,
    session: requests.Session | None = None,
) -> list[dict]:
    """Every item of a collection over the points from the start of `start` to the end of `end`, holding a point."""
    search = ItemSearch(
        api=api,
        collections=(collection,),
        points=tuple(zip(points["lon"].astype(float), points["lat"].astype(float))),
        start=f"{start.isoformat()}T00:00:00Z",
        end=f"{end.isoformat()}T23:59:59Z",
        limit=page_size,
    )
    found = list(search_items(search, session or requests.Session(), policy))
    kept = holding_points(found, points)
    log.info("%s, collection %s: %d items, %d of them over a point", api, collection, len(found), len(kept))
    return kept


def listed_items(path: str | os.PathLike, points: pd.DataFrame, start: dt.date, end: dt.date) -> list[dict]:
    """The items of a product list (a GeoJSON FeatureCollection of STAC items) sensed in the period over a point;
    ValueError naming the file when it is not one."""
    try:
        with open(path) as f:
            collection = json.load(f)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the product list ({exc})") from None
    if not isinstance(collection, dict) or not isinstance(collection.get("features"), list):
        raise ValueError(f"{path}: the product list is not a GeoJSON FeatureCollection (no 'features' list)")
    first, last = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    during = [i for i in collection["features"] if first <= item_time(i) < last]
    kept = holding_points(during, points)
    log.info(
        "%s: %d items, %d in the period, %d over a point", path, len(collection["features"]), len(during), len(kept)
    )
    return kept


def write_items(path: str | os.PathLike, items: Sequence[Mapping]) -> None:
    """Write items as a GeoJSON FeatureCollection (atomically)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"type": "FeatureCollection", "features": list(items)}, indent=1))


def read_items(path: str | os.PathLike) -> list[dict]:
    """The items of a FeatureCollection written by write_items."""
    with open(path) as f:
        return list(json.load(f)["features"])


def s3_archive(section: Mapping) -> S3Archive:
    """The S3 archive of config section chips.s3 (the keys come from the environment when a read needs them)."""
    return S3Archive(
        endpoint=str(section["endpoint"]),
        https=bool(section["https"]),
        virtual_hosting=bool(section["virtual_hosting"]),
        region=str(section["region"]),
    )
