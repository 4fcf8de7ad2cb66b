"""Searching a STAC API (Item Search, POST /search) for the items over a study's points and dates.

Written on `requests` and soilsat.acquire.download.request rather than pystac-client: an item
search is one POST and the `next` links after it, and every provider call of soilsat shares the
same retries (429 with Retry-After, 5xx, dropped connections) and error reasons, tested against
the loopback servers. The points go in as one MultiPoint `intersects` (a STAC API answers the
items whose footprint holds any of them); `matches` then pairs each item with the points its
footprint holds. A `next` link is followed as the API states it: GET of its href, or POST of its
body (merged into the search's body when `merge` is true), until a page has no `next` link.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping, Sequence

import requests
import shapely
from shapely.geometry import shape

from soilsat.acquire.download import RetryPolicy, TransferError, request

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ItemSearch:
    """One search: the API's root URL, the collections, the points (lon, lat), the datetime interval, page size."""

    api: str
    collections: tuple[str, ...]
    points: tuple[tuple[float, float], ...]
    start: str
    end: str
    limit: int = 100
    max_pages: int = 1000

    def body(self) -> dict:
        """The JSON body of the first POST /search."""
        if not self.points:
            raise ValueError("a STAC search needs at least one point")
        return {
            "collections": list(self.collections),
            "intersects": {"type": "MultiPoint", "coordinates": [list(p) for p in self.points]},
            "datetime": f"{self.start}/{self.end}",
            "limit": self.limit,
        }


def _page(session: requests.Session, method: str, url: str, body: dict | None, policy: RetryPolicy) -> dict:
    """One page of search results as JSON; TransferError naming the API when it is not a FeatureCollection."""
    if method == "POST":
        resp = request(session, "POST", url, policy, json=body)
    else:
        resp = request(session, "GET", url, policy)
    try:
        page = resp.json()
    except ValueError:
        raise TransferError(f"{url}: the STAC search answer is not JSON ({resp.headers.get('Content-Type')})") from None
    if not isinstance(page, dict) or not isinstance(page.get("features"), list):
        raise TransferError(f"{url}: the STAC search answer is not an ItemCollection (no 'features' list)")
    return page


def _next(page: Mapping, body: dict) -> tuple[str, str, dict | None] | None:
    """The method, URL and body of the page after `page` (None when it is the last)."""
    for link in page.get("links") or []:
        if link.get("rel") != "next" or not link.get("href"):
            continue
        method = str(link.get("method", "GET")).upper()
        if method == "POST":
            given = link.get("body") or {}
            return "POST", link["href"], ({**body, **given} if link.get("merge") else dict(given or body))
        return "GET", link["href"], None
    return None


def search_items(search: ItemSearch, session: requests.Session, policy: RetryPolicy) -> Iterator[dict]:
    """Every item the search finds, page after page, each once (by collection and id)."""
    url = search.api.rstrip("/") + "/search"
    body = search.body()
    step: tuple[str, str, dict | None] | None = ("POST", url, body)
    seen: set[tuple[str, str]] = set()
    pages = 0
    while step is not None:
        pages += 1
        if pages > search.max_pages:
            raise TransferError(f"{url}: more than {search.max_pages} pages of results; narrow the search")
        method, href, page_body = step
        page = _page(session, method, href, page_body, policy)
        for item in page["features"]:
            key = (str(item.get("collection", "")), str(item.get("id", "")))
            if key not in seen:
                seen.add(key)
                yield item
        step = _next(page, page_body or body)
        if not page["features"]:
            break
    log.info("%s: %d items in %d pages", url, len(seen), pages)


def matches(
    items: Sequence[Mapping], names: Sequence[str], points: Sequence[tuple[float, float]]
) -> dict[str, list[str]]:
    """The points (by name) each item's footprint holds, by item id; items holding none are left out."""
    lonlat = shapely.points([list(p) for p in points])
    out: dict[str, list[str]] = {}
    for item in items:
        geometry = item.get("geometry")
        if not geometry:
            continue
        footprint = shape(geometry)
        shapely.prepare(footprint)
        held = [n for n, inside in zip(names, shapely.covers(footprint, lonlat)) if inside]
        if held:
            out[str(item["id"])] = held
    return out
