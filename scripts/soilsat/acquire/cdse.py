"""Copernicus Data Space Ecosystem: OData catalogue search and authenticated product downloads.

A thin client on requests rather than cdsetool: cdsetool (0.3) speaks OData, but its
downloader neither resumes a `.part` file by Range, nor verifies the catalogue's MD5,
nor lets us inject the backoff policy the tests need, and its query builder cannot split
date ranges past the catalogue's 10,000-result window. The OData queries themselves are
a few lines of string building (soilsat.acquire.odata).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import requests

from soilsat.acquire.aoi import region_polygon
from soilsat.acquire.catalog import CATALOG_COLUMNS
from soilsat.acquire.download import RetryPolicy, TransferError, download, get_json
from soilsat.acquire.odata import catalog_row, odata_filter

log = logging.getLogger(__name__)


class CdseClient:
    """The catalogue and download services of CDSE, with base URLs and limits from the `cdse:` config."""

    def __init__(self, settings: Mapping, session: requests.Session | None = None, tokens=None):
        self.settings = settings
        self.session = session or trusted_session(settings)
        # the download host's quota (429 without Retry-After) is waited out; the catalogue keeps its backoff
        self.download_policy = RetryPolicy.from_config(settings["retries"])
        self.policy = dataclasses.replace(self.download_policy, quota_wait_s=None, quota_tries=0)
        self._tokens = tokens

    def _products(self, filter_: str, skip: int, top: int, count: bool) -> dict:
        params = {
            "$filter": filter_,
            "$top": str(top),
            "$skip": str(skip),
            "$orderby": "ContentDate/Start asc",
            "$expand": "Attributes",
        }
        if count:
            params["$count"] = "true"
        return get_json(self.session, f"{self.settings['catalogue_url'].rstrip('/')}/Products", self.policy, params)

    def count(self, filter_: str) -> int:
        """How many products the catalogue holds for a filter."""
        page = self._products(filter_, 0, 1, True)
        if "@odata.count" not in page:
            raise TransferError(f"{self.settings['catalogue_url']}: the answer carries no @odata.count")
        return int(page["@odata.count"])

    def pages(self, filter_: str, total: int | None = None) -> Iterator[dict]:
        """Every product of a filter, page by page with $top/$skip (the catalogue's window must not be exceeded);
        the first page asks for the $count unless `total` is known."""
        top = int(self.settings["page_size"])
        skip = 0
        while True:
            page = self._products(filter_, skip, top, total is None)
            if total is None:
                total = int(page.get("@odata.count", 0))
            values = page.get("value", [])
            yield from values
            skip += len(values)
            if len(values) < top or skip >= total:
                return

    def search_window(self, product_type: str, start: dt.datetime, end: dt.datetime, **where) -> Iterator[dict]:
        """Products in [start, end): split in halves while a window holds more than the result limit."""
        filter_ = odata_filter(product_type, start, end, **where)
        limit = int(self.settings["max_results"])
        n = self.count(filter_)
        if n > limit:
            if end - start <= dt.timedelta(seconds=1):
                raise TransferError(f"CDSE: {n} products in one second at {start}; cannot split further")
            middle = start + (end - start) / 2
            middle = middle.replace(microsecond=0)
            log.info("CDSE: %d products from %s to %s exceed %d; splitting at %s", n, start, end, limit, middle)
            yield from self.search_window(product_type, start, middle, **where)
            yield from self.search_window(product_type, middle, end, **where)
            return
        yield from self.pages(filter_, total=n)

    def search(
        self,
        source: str,
        product_type: str,
        regions: Sequence[Mapping],
        start: dt.date,
        end: dt.date,
        margin_m: float = 0.0,
    ) -> pd.DataFrame:
        """The catalog of one product type over each region's AOI and the period (inclusive dates)."""
        first = dt.datetime.combine(start, dt.time())
        last = dt.datetime.combine(end, dt.time()) + dt.timedelta(days=1)
        where = {
            "orbit_direction": self.settings.get("orbit_direction"),
            "relative_orbits": self.settings.get("relative_orbits"),
            "cloud_cover_max": self.settings.get("cloud_cover_max"),
        }
        rows: dict[str, dict] = {}
        for region in regions:
            ring = region_polygon(region, margin_m)
            for product in self.search_window(product_type, first, last, ring=ring, **where):
                row = rows.setdefault(product["Id"], catalog_row(product, source, self.settings["download_url"]))
                row.setdefault("_regions", [])
                if region["name"] not in row["_regions"]:
                    row["_regions"].append(region["name"])
        frame = pd.DataFrame(list(rows.values()))
        if frame.empty:
            return pd.DataFrame(columns=CATALOG_COLUMNS)
        frame["regions"] = frame.pop("_regions").map(";".join)
        frame = frame.drop_duplicates("name")
        return frame.reindex(columns=CATALOG_COLUMNS).sort_values(["sensing_start", "name"]).reset_index(drop=True)

    def tokens(self):
        """The token manager (credentials loaded on first use, so searches need none), sharing the account's token
        with every other job through the token cache."""
        if self._tokens is None:
            from soilsat.acquire.credentials import FileTokens, TokenManager, load_credentials, token_cache_folder

            url = self.settings["token_url"]
            creds = load_credentials(url)
            cache = FileTokens(token_cache_folder(self.settings["token_cache"]), url, creds.username)
            self._tokens = TokenManager(self.session, url, self.settings["client_id"], creds, self.policy, cache)
        return self._tokens

    def download(self, item: Mapping, destination: Path, verify=None) -> Path:
        """Download one catalog item with the account's token, verified against its MD5 and size."""
        size = int(float(item["size"])) if str(item.get("size") or "").strip() else None
        return download(
            self.session,
            item["href"],
            destination,
            self.download_policy,
            md5=item.get("checksum") or None,
            size=size,
            auth=self.tokens().headers,
            verify=verify,
        )


class _TrustedSession(requests.Session):
    """Keeps the Authorization header across redirects inside the configured CDSE hosts."""

    trusted: tuple[str, ...] = ()

    def should_strip_auth(self, old_url: str, new_url: str) -> bool:
        """Strip only when leaving the trusted hosts (CDSE redirects downloads between its own hosts)."""
        new_host = urlparse(new_url).hostname or ""
        if any(new_host == h or new_host.endswith("." + h) for h in self.trusted):
            return False
        return super().should_strip_auth(old_url, new_url)


def trusted_session(settings: Mapping) -> requests.Session:
    """A session that trusts the domains of the configured CDSE URLs with the token."""
    session = _TrustedSession()
    hosts = {urlparse(settings[k]).hostname or "" for k in ("catalogue_url", "download_url")}
    session.trusted = tuple(sorted({".".join(h.split(".")[-3:]) for h in hosts if h}))
    return session
