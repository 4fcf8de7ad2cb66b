"""NASA's Common Metadata Repository: granule search (UMM-JSON, paged with CMR-Search-After) and catalog rows.

A search asks <cmr_url>/granules.umm_json for one collection (short name, version, provider), a temporal
range and a bounding box. CMR answers a page of `page_size` granules with the total in the CMR-Hits header
and, while more remain, a CMR-Search-After header that the next request sends back unchanged (CMR's
replacement of page_num paging, which it limits). Each granule's UMM-G lists its files: the "GET DATA"
RelatedUrls, and in DataGranule.ArchiveAndDistributionInformation their sizes and checksums.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import requests

from soilsat.acquire.download import RetryPolicy, TransferError, request

log = logging.getLogger(__name__)

GRANULES = "granules.umm_json"
ISO = "%Y-%m-%dT%H:%M:%SZ"
HALF_ORBIT = re.compile(r"_(?P<orbit>\d{5})_(?P<direction>[AD])_\d{8}T\d{6}_")
CRID = re.compile(r"_(?P<crid>[RTD]\d{5})_\d{3}")
TILE = re.compile(r"\.(?P<tile>h\d{2}v\d{2})\.|_(?P<scene>\d{3}[EW]\d{2}[NS])_")


@dataclasses.dataclass(frozen=True)
class GranuleQuery:
    """One collection over a period [start, end) and a lon/lat box (west, south, east, north)."""

    short_name: str
    version: str
    provider: str | None
    start: dt.datetime
    end: dt.datetime
    bbox: tuple[float, float, float, float] | None = None

    def params(self, page_size: int) -> list[tuple[str, str]]:
        """The query string of the search."""
        last = self.end - dt.timedelta(seconds=1)
        params = [
            ("short_name", self.short_name),
            ("version", self.version),
            ("temporal[]", f"{self.start.strftime(ISO)},{last.strftime(ISO)}"),
            ("sort_key[]", "start_date"),
            ("page_size", str(page_size)),
        ]
        if self.provider:
            params.append(("provider", self.provider))
        if self.bbox is not None:
            params.append(("bounding_box[]", ",".join(f"{v:.6f}" for v in self.bbox)))
        return params


def search(
    session: requests.Session, cmr_url: str, query: GranuleQuery, policy: RetryPolicy, page_size: int, max_results: int
) -> Iterator[dict]:
    """Every granule (UMM-JSON item) of a query, page after page; TransferError when CMR refuses the query or
    more than max_results granules match."""
    url = f"{cmr_url.rstrip('/')}/{GRANULES}"
    headers: dict[str, str] = {}
    seen = 0
    what = f"{query.short_name} version {query.version}" + (f" of {query.provider}" if query.provider else "")
    while True:
        try:
            resp = request(session, "GET", url, policy, params=query.params(page_size), headers=dict(headers))
        except TransferError as exc:
            raise TransferError(f"CMR search for {what}: {exc}", exc.status, exc.reason) from None
        hits = int(resp.headers.get("CMR-Hits", "0") or 0)
        if hits > max_results:
            raise TransferError(
                f"CMR search for {what}: {hits} granules match, more than "
                f"earthdata.max_results ({max_results}); narrow the period or the regions"
            )
        try:
            items = resp.json().get("items") or []
        except ValueError:
            raise TransferError(
                f"CMR search for {what}: the answer is not JSON ({resp.headers.get('Content-Type')})"
            ) from None
        yield from items
        seen += len(items)
        after = resp.headers.get("CMR-Search-After")
        if not items or not after or seen >= hits:
            return
        headers = {"CMR-Search-After": after}


@dataclasses.dataclass(frozen=True)
class GranuleFile:
    """One downloadable file of a granule: name, http(s) address, size (bytes) and checksum ('' when CMR has none)."""

    name: str
    href: str
    size: int | None
    checksum: str


def checksum_text(value: str, algorithm: str) -> str:
    """A catalog checksum: the hex MD5 as it is, other algorithms as '<algorithm>:<value>' (sha256:..., adler32:...)."""
    algo = algorithm.lower().replace("-", "")
    return value.lower() if algo == "md5" else f"{algo}:{value.lower()}"


def _size(entry: Mapping) -> int | None:
    """The file's size in bytes (SizeInBytes; a Size in MB is rounded, no byte count to check a download against)."""
    return int(entry["SizeInBytes"]) if entry.get("SizeInBytes") is not None else None


def granule_files(item: Mapping, suffixes: Sequence[str]) -> list[GranuleFile]:
    """The data files of a granule: its http(s) GET DATA links (not s3://) ending in one of the suffixes, with the
    size and checksum that ArchiveAndDistributionInformation gives for the same file name (or for the only file)."""
    umm = item.get("umm") or {}
    links = [
        u["URL"]
        for u in umm.get("RelatedUrls") or []
        if u.get("Type") == "GET DATA"
        and urlsplit(u.get("URL", "")).scheme in ("https", "http")
        and PurePosixPath(urlsplit(u["URL"]).path).name.endswith(tuple(suffixes))
    ]
    archive = (umm.get("DataGranule") or {}).get("ArchiveAndDistributionInformation") or []
    by_name = {a.get("Name"): a for a in archive}
    files = []
    for href in dict.fromkeys(links):
        name = PurePosixPath(urlsplit(href).path).name
        entry = by_name.get(name) or (archive[0] if len(archive) == 1 and len(links) == 1 else {})
        checksum = entry.get("Checksum") or {}
        text = checksum_text(checksum["Value"], checksum.get("Algorithm", "MD5")) if checksum.get("Value") else ""
        files.append(GranuleFile(name, href, _size(entry), text))
    return files


def footprint_wkt(umm: Mapping) -> str:
    """The granule's footprint as WKT: its first GPolygon, else its first bounding rectangle ('' when neither)."""
    geometry = ((umm.get("SpatialExtent") or {}).get("HorizontalSpatialDomain") or {}).get("Geometry") or {}
    polygons = geometry.get("GPolygons") or []
    if polygons:
        points = polygons[0]["Boundary"]["Points"]
        return "POLYGON((" + ",".join(f"{p['Longitude']} {p['Latitude']}" for p in points) + "))"
    boxes = geometry.get("BoundingRectangles") or []
    if boxes:
        b = boxes[0]
        w, s, e, n = (
            b["WestBoundingCoordinate"],
            b["SouthBoundingCoordinate"],
            b["EastBoundingCoordinate"],
            b["NorthBoundingCoordinate"],
        )
        return f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"
    return ""


def _times(umm: Mapping) -> tuple[str, str]:
    temporal = umm.get("TemporalExtent") or {}
    if "RangeDateTime" in temporal:
        span = temporal["RangeDateTime"]
        return span.get("BeginningDateTime", ""), span.get("EndingDateTime", span.get("BeginningDateTime", ""))
    single = temporal.get("SingleDateTime", "")
    return single, single


def catalog_rows(item: Mapping, source: str, suffixes: Sequence[str]) -> list[dict]:
    """One catalog row per data file of a granule (the columns of provider.CATALOG_COLUMNS but `regions`)."""
    umm = item.get("umm") or {}
    collection = umm.get("CollectionReference") or {}
    start, stop = _times(umm)
    platform = ";".join(p.get("ShortName", "") for p in umm.get("Platforms") or [])
    rows = []
    for f in granule_files(item, suffixes):
        orbit, tile, crid = HALF_ORBIT.search(f.name), TILE.search(f.name), CRID.search(f.name)
        rows.append(
            {
                "name": f.name,
                "source": source,
                "product_type": collection.get("ShortName", ""),
                "platform": platform,
                "sensing_start": start,
                "sensing_stop": stop,
                "orbit_direction": {"A": "ASCENDING", "D": "DESCENDING"}[orbit.group("direction")] if orbit else "",
                "relative_orbit": None,
                "absolute_orbit": int(orbit.group("orbit")) if orbit else None,
                "tile": (tile.group("tile") or tile.group("scene")) if tile else "",
                "processing_baseline": crid.group("crid") if crid else collection.get("Version", ""),
                "cloud_cover": umm.get("CloudCover"),
                "footprint_wkt": footprint_wkt(umm),
                "size": f.size,
                "checksum": f.checksum,
                "href": f.href,
            }
        )
    return rows
