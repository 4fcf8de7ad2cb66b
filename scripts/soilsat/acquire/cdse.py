"""Copernicus Data Space Ecosystem: OData catalogue search and authenticated product downloads.

A thin client on requests rather than cdsetool: cdsetool (0.3) speaks OData, but its
downloader neither resumes a `.part` file by Range, nor verifies the catalogue's MD5,
nor lets us inject the backoff policy the tests need, and its query builder cannot split
date ranges past the catalogue's 10,000-result window. The OData queries themselves are
a few lines of string building (below).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import requests

from soilsat.acquire.download import RetryPolicy, TransferError, download, get_json
from soilsat.errors import ConfigError

log = logging.getLogger(__name__)

COLLECTIONS = {"IW_GRDH_1S": "SENTINEL-1", "AUX_POEORB": "SENTINEL-1", "AUX_RESORB": "SENTINEL-1",
               "S2MSI1C": "SENTINEL-2", "S2MSI2A": "SENTINEL-2"}
ISO = "%Y-%m-%dT%H:%M:%S.000Z"


def aoi_polygon(lon: float, lat: float, size_m: float, margin_m: float = 0.0) -> list[tuple[float, float]]:
    """Closed lon/lat ring of the square AOI (plus margin) around a centre, on a local spherical approximation."""
    half = (size_m / 2 + margin_m)
    dlat = half / 111_320.0
    dlon = half / (111_320.0 * max(math.cos(math.radians(lat)), 1e-6))
    ring = [(lon - dlon, lat - dlat), (lon + dlon, lat - dlat), (lon + dlon, lat + dlat), (lon - dlon, lat + dlat)]
    return ring + ring[:1]


def _wkt(ring: Sequence[tuple[float, float]]) -> str:
    return "POLYGON((" + ",".join(f"{x:.6f} {y:.6f}" for x, y in ring) + "))"


def _attr(kind: str, name: str, op: str, value: object) -> str:
    literal = f"'{value}'" if kind == "String" else (f"{value:.2f}" if kind == "Double" else f"{value}")
    return (f"Attributes/OData.CSC.{kind}Attribute/any(att:att/Name eq '{name}' and "
            f"att/OData.CSC.{kind}Attribute/Value {op} {literal})")


def odata_filter(
    product_type: str,
    start: dt.datetime,
    end: dt.datetime,
    ring: Sequence[tuple[float, float]] | None = None,
    orbit_direction: str | None = None,
    relative_orbits: Sequence[int] | None = None,
    cloud_cover_max: float | None = None,
    name_prefix: str | None = None,
) -> str:
    """The $filter of a product search: collection, type, sensing start in [start, end), AOI, orbit, clouds."""
    if product_type not in COLLECTIONS:
        raise ConfigError(f"CDSE product type {product_type!r} is not one of {sorted(COLLECTIONS)}")
    parts = [f"Collection/Name eq '{COLLECTIONS[product_type]}'",
             _attr("String", "productType", "eq", product_type),
             f"ContentDate/Start ge {start.strftime(ISO)}", f"ContentDate/Start lt {end.strftime(ISO)}"]
    if ring is not None:
        parts.append(f"OData.CSC.Intersects(area=geography'SRID=4326;{_wkt(ring)}')")
    if orbit_direction:
        parts.append(_attr("String", "orbitDirection", "eq", orbit_direction.upper()))
    if relative_orbits:
        parts.append("(" + " or ".join(_attr("Integer", "relativeOrbitNumber", "eq", int(o)) for o in relative_orbits) + ")")
    if cloud_cover_max is not None and product_type.startswith("S2"):
        parts.append(_attr("Double", "cloudCover", "le", float(cloud_cover_max)))
    if name_prefix:
        parts.append(f"startswith(Name,'{name_prefix}')")
    return " and ".join(parts)


def _footprint(text: str | None) -> str:
    """WKT of an OData Footprint ("geography'SRID=4326;POLYGON ((...))'")."""
    if not text:
        return ""
    body = text.split(";", 1)[-1] if "SRID=" in text else text
    return body.rstrip("'")


def catalog_row(product: Mapping, source: str, download_url: str) -> dict[str, object]:
    """One catalog row from one OData product (its Attributes expanded)."""
    attrs = {a["Name"]: a["Value"] for a in product.get("Attributes") or []}
    md5 = next((c["Value"] for c in product.get("Checksum") or [] if c.get("Algorithm") == "MD5"), "")
    platform = attrs.get("platformShortName", "")
    serial = attrs.get("platformSerialIdentifier", "")
    short = f"S{platform.split('-')[-1]}{serial}" if platform.startswith("SENTINEL-") else platform
    name = product["Name"]
    for suffix in (".SAFE", ".zip", ".EOF"):
        name = name.removesuffix(suffix)
    return {
        "name": name, "source": source, "product_type": attrs.get("productType", ""), "platform": short,
        "sensing_start": product["ContentDate"]["Start"], "sensing_stop": product["ContentDate"]["End"],
        "orbit_direction": attrs.get("orbitDirection", ""), "relative_orbit": attrs.get("relativeOrbitNumber"),
        "absolute_orbit": attrs.get("orbitNumber"), "tile": attrs.get("tileId", ""),
        "processing_baseline": attrs.get("processingBaseline", attrs.get("processorVersion", "")),
        "cloud_cover": attrs.get("cloudCover"), "footprint_wkt": _footprint(product.get("Footprint")),
        "size": product.get("ContentLength"), "checksum": md5,
        "href": f"{download_url.rstrip('/')}/Products({product['Id']})/$value",
    }


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
        params = {"$filter": filter_, "$top": str(top), "$skip": str(skip),
                  "$orderby": "ContentDate/Start asc", "$expand": "Attributes"}
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

    def search(self, source: str, product_type: str, regions: Sequence[Mapping], start: dt.date, end: dt.date,
               margin_m: float = 0.0) -> pd.DataFrame:
        """The catalog of one product type over each region's AOI and the period (inclusive dates)."""
        from soilsat.acquire.provider import CATALOG_COLUMNS

        first = dt.datetime.combine(start, dt.time())
        last = dt.datetime.combine(end, dt.time()) + dt.timedelta(days=1)
        where = {"orbit_direction": self.settings.get("orbit_direction"),
                 "relative_orbits": self.settings.get("relative_orbits"),
                 "cloud_cover_max": self.settings.get("cloud_cover_max")}
        rows: dict[str, dict] = {}
        for region in regions:
            ring = aoi_polygon(region["lon"], region["lat"], region.get("size_m", 5000), margin_m)
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
        return download(self.session, item["href"], destination, self.download_policy,
                        md5=item.get("checksum") or None, size=size, auth=self.tokens().headers, verify=verify)


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
