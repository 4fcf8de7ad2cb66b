"""NASA Earthdata as a source: SMAP and MODIS granules searched in CMR, downloaded with an Earthdata Login.

A thin client on requests rather than earthaccess or python-cmr: earthaccess fixes its CMR and Earthdata
Login hosts (PROD or UAT), so it cannot be pointed at a test server, and its downloads neither resume a
`.part` file nor check CMR's size and checksum, and retry every error three times without Retry-After;
python-cmr pages with CMR-Search-After but calls requests.get without a timeout or retries and builds its
URL in a private method. The search itself is a dozen query parameters (soilsat.acquire.cmr); downloads
reuse soilsat.acquire.download (Range resume, backoff on 429/5xx and dropped connections, verification
before the file is moved into place), and Earthdata Login's token and redirect flows are
soilsat.acquire.earthdata_login.
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd
import requests

from soilsat.acquire import cmr
from soilsat.acquire.aoi import grid_bounds, regions_named
from soilsat.acquire.catalog import CATALOG_COLUMNS
from soilsat.acquire.download import CHUNK, RetryPolicy, TransferError, download, file_digest
from soilsat.acquire.earthdata_login import EarthdataCredentials, EarthdataSession, load_earthdata_credentials
from soilsat.errors import ConfigError, ProductError

log = logging.getLogger(__name__)

# The catalog source of each product (the names the readers of soilsat.nasa give their kinds).
SOURCE_PRODUCTS = {
    "smap_l1c_tb": "SPL1CTB_E",
    "smap_l2_sm_sp": "SPL2SMAP_S",
    "smap_l2_sm": "SPL2SMP_E",
    "smap_l3_sm": "SPL3SMP_E",
    "mcd12q2": "MCD12Q2",
    "mod09ga": "MOD09GA",
}
HASHLIB_ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")


def _adler32(path: Path) -> int:
    value = 1
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            value = zlib.adler32(block, value)
    return value


def checksum_verifier(checksum: str, destination: Path) -> tuple[str | None, Callable[[Path], None] | None]:
    """(md5, verify) for soilsat.acquire.download of a catalog checksum: an MD5 is checked by download itself,
    SHA-1/2 and Adler-32 by `verify`; an algorithm soilsat cannot compute is logged and only the size checked."""
    if not checksum:
        return None, None
    algorithm, sep, value = checksum.partition(":")
    if not sep:
        return checksum, None
    if algorithm in HASHLIB_ALGORITHMS:

        def verify(part: Path) -> None:
            got = file_digest(part, algorithm)
            if got != value.lower():
                raise ProductError(
                    destination, f"checksum mismatch: catalogue says {algorithm.upper()} {value}, download has {got}"
                )

        return None, verify
    if algorithm == "adler32":

        def verify(part: Path) -> None:
            got = _adler32(part)
            if value.lower() not in (f"{got:08x}", str(got)):
                raise ProductError(
                    destination, f"checksum mismatch: catalogue says Adler-32 {value}, download has {got:08x}"
                )

        return None, verify
    log.warning(
        "%s: CMR gives a %s checksum, which soilsat cannot compute; checking the size only", destination.name, algorithm
    )
    return None, None


class EarthdataClient:
    """CMR search and Earthdata Login downloads, with URLs and limits from the `earthdata:` config section."""

    def __init__(
        self,
        settings: Mapping,
        session: EarthdataSession | None = None,
        credentials: EarthdataCredentials | None = None,
    ):
        self.settings = settings
        self.policy = RetryPolicy.from_config(settings["retries"])
        self._search_session = requests.Session()
        self._session = session
        self._credentials = credentials

    def __repr__(self) -> str:
        return f"EarthdataClient(cmr_url={self.settings['cmr_url']!r})"

    def collection(self, short_name: str) -> Mapping:
        """The configured version and provider of a product."""
        known = self.settings["collections"]
        if short_name not in known:
            raise ConfigError(f"config key earthdata.collections: no collection {short_name!r}; known: {sorted(known)}")
        return known[short_name]

    def search(
        self,
        source: str,
        short_name: str,
        regions: Sequence[Mapping],
        start: dt.date,
        end: dt.date,
        margin_m: float = 0.0,
    ) -> pd.DataFrame:
        """The catalog of one product's files over each region's study grid and the period (inclusive dates)."""
        collection = self.collection(short_name)
        first = dt.datetime.combine(start, dt.time())
        last = dt.datetime.combine(end, dt.time()) + dt.timedelta(days=1)
        rows: dict[str, dict] = {}
        for region in regions:
            query = cmr.GranuleQuery(
                short_name,
                collection["version"],
                collection.get("provider") or None,
                first,
                last,
                grid_bounds(region, margin_m),
            )
            for item in cmr.search(
                self._search_session,
                self.settings["cmr_url"],
                query,
                self.policy,
                int(self.settings["page_size"]),
                int(self.settings["max_results"]),
            ):
                for row in cmr.catalog_rows(item, source, self.settings["file_suffixes"]):
                    kept = rows.setdefault(row["name"], row | {"_regions": []})
                    if region["name"] not in kept["_regions"]:
                        kept["_regions"].append(region["name"])
        if not rows:
            return pd.DataFrame(columns=CATALOG_COLUMNS)
        frame = pd.DataFrame(list(rows.values()))
        frame["regions"] = frame.pop("_regions").map(";".join)
        return frame.reindex(columns=CATALOG_COLUMNS).sort_values(["sensing_start", "name"]).reset_index(drop=True)

    @property
    def credentials(self) -> EarthdataCredentials:
        """The account's credentials (loaded on first use, so searches need none)."""
        if self._credentials is None:
            self._credentials = load_earthdata_credentials(self.settings["login_url"])
        return self._credentials

    @property
    def session(self) -> EarthdataSession:
        """The download session, which keeps Earthdata Login's cookies between downloads."""
        if self._session is None:
            self._session = EarthdataSession(
                self.settings["login_url"], self.credentials, self.settings["token_domains"]
            )
        return self._session

    def _auth(self, url: str) -> Callable[[bool], dict[str, str]]:
        """The auth callback of a download: the token's header, renewed never; the password's cookies, renewed once."""

        def headers(refresh: bool) -> dict[str, str]:
            if refresh and self.credentials.uses_token:
                raise TransferError(
                    f"Earthdata Login refused the token from {self.credentials.source} (HTTP 401): "
                    f"it may have expired (tokens last 60 days); generate a new one on your profile "
                    f"at {self.settings['login_url']}",
                    401,
                )
            if refresh:
                self.session.cookies.clear()  # log in anew through the redirect flow
            return self.session.auth_headers(url)

        return headers

    def download(self, item: Mapping, destination: Path) -> Path:
        """Download one catalog item, verified against CMR's size and checksum, into `destination` (unmodified)."""
        destination = Path(destination)
        size = int(float(item["size"])) if str(item.get("size") or "").strip() not in ("", "nan") else None
        md5, verify = checksum_verifier(str(item.get("checksum") or "").strip(), destination)
        try:
            return download(
                self.session,
                item["href"],
                destination,
                self.policy,
                md5=md5,
                size=size,
                auth=self._auth(item["href"]),
                verify=verify,
            )
        except TransferError as exc:
            if exc.status == 401 and not self.credentials.uses_token:
                raise TransferError(
                    f"{item['name']}: Earthdata Login refused the username and password from "
                    f"{self.credentials.source}" + (f": {exc.reason}" if exc.reason else ""),
                    401,
                    exc.reason,
                ) from None
            raise


class EarthdataProvider:
    """The provider of the Earthdata sources (SOURCE_PRODUCTS); settings are the config's `regions`, `grid` and
    `earthdata` sections."""

    def __init__(self, settings: Mapping, client: EarthdataClient | None = None):
        self.settings = settings
        self._client = client

    @property
    def client(self) -> EarthdataClient:
        """The Earthdata client (made on first use)."""
        if self._client is None:
            self._client = EarthdataClient(self.settings["earthdata"])
        return self._client

    def search(
        self, source: str, regions: Sequence[str], start: dt.date, end: dt.date, product_type: str | None = None
    ) -> pd.DataFrame:
        """Catalog of a source's files over the named regions and period (product_type: another short name)."""
        if source not in SOURCE_PRODUCTS:
            raise ConfigError(f"unknown Earthdata source {source!r}; known: {sorted(SOURCE_PRODUCTS)}")
        where = regions_named(self.settings["regions"], regions)
        return self.client.search(
            source, product_type or SOURCE_PRODUCTS[source], where, start, end, float(self.settings["grid"]["margin_m"])
        )

    def fetch(self, item: Mapping[str, str], destination: Path) -> None:
        """Download one catalog item to `destination`, verified, unmodified."""
        self.client.download(item, Path(destination))
        log.info("fetched %s (%d bytes)", Path(destination).name, Path(destination).stat().st_size)
