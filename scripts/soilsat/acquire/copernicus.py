"""The real-data provider (`provider: cdse`): each source from where it really lives.

Sentinel-1/2 products and precise orbits come from the Copernicus Data Space Ecosystem,
weather from Open-Meteo or from ERA5-Land of the Climate Data Store, the DEM from the public
Copernicus DEM bucket, the CSM and ECV_SM soil-moisture products from the CLMS (VITO) and CEDA
archives, cropped to each region, SMAP and MODIS granules from NASA Earthdata (soilsat.acquire.earthdata), and
ISMN, CORINE, HWSD, WorldClim and LUCAS from the files the user downloaded (they need registration or a licence).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from soilsat.acquire import csm, dem, ecv_sm, userfiles, weather
from soilsat.acquire.aoi import regions_named
from soilsat.acquire.archives import check_safe_zip
from soilsat.acquire.catalog import CATALOG_COLUMNS
from soilsat.acquire.cdse import CdseClient
from soilsat.acquire.sources import ANCILLARY_SOURCES, EARTHDATA_SOURCES, PRODUCT_SOURCES
from soilsat.errors import ConfigError

if TYPE_CHECKING:
    from soilsat.acquire.earthdata import EarthdataProvider

log = logging.getLogger(__name__)

USER_SOURCES = ("ismn", "landcover", "soil", "climate", "lucas")


def every_nth_day(catalog: pd.DataFrame, every_days: int, start: dt.date) -> pd.DataFrame:
    """The catalog rows sensed on every `every_days`-th day from `start` (all rows for 1)."""
    if every_days <= 1 or catalog.empty:
        return catalog
    days = pd.to_datetime(catalog["sensing_start"], utc=True).dt.tz_localize(None).dt.normalize()
    offset = (days - pd.Timestamp(start)).dt.days
    return catalog[(offset % every_days == 0).to_numpy()]


class CopernicusProvider:
    """Search and fetch every source of a real study; settings are the config sections (see get_provider)."""

    def __init__(self, settings: Mapping, client: CdseClient | None = None, earthdata: EarthdataProvider | None = None):
        self.settings = settings
        self._client = client
        self._earthdata = earthdata

    @property
    def client(self) -> CdseClient:
        """The CDSE client (made on first use)."""
        if self._client is None:
            self._client = CdseClient(self.settings["cdse"])
        return self._client

    @property
    def earthdata(self) -> EarthdataProvider:
        """The NASA Earthdata provider of the SMAP and MODIS sources (made on first use)."""
        if self._earthdata is None:
            from soilsat.acquire.earthdata import EarthdataProvider

            self._earthdata = EarthdataProvider(self.settings)
        return self._earthdata

    @property
    def margin_m(self) -> float:
        """The study grid's margin around each AOI."""
        return float(self.settings["grid"]["margin_m"])

    def regions(self, names: Sequence[str]) -> list[Mapping]:
        """The configs of the named regions."""
        return regions_named(self.settings["regions"], names)

    def search(
        self, source: str, regions: Sequence[str], start: dt.date, end: dt.date, product_type: str | None = None
    ) -> pd.DataFrame:
        """Catalog of the items of `source` over the regions and period."""
        where = self.regions(regions)
        if source in PRODUCT_SOURCES:
            if not product_type:
                raise ConfigError(f"source {source}: a CDSE search needs a product type")
            frame = self.client.search(source, product_type, where, start, end, self.margin_m)
        elif source in EARTHDATA_SOURCES:
            frame = self.earthdata.search(source, regions, start, end)
            if source == "mod09ga":
                frame = every_nth_day(frame, int(self.settings["earthdata"]["mod09ga_every_days"]), start)
        elif source == "weather":
            frame = weather.catalog(self.settings["weather"], where, start, end)
        elif source == "dem":
            frame = dem.catalog(self.settings["dem"], where, self.margin_m)
        elif source == "csm":
            frame = csm.catalog(self.settings["csm"], where, start, end, self.margin_m)
        elif source == "ecv_sm":
            frame = ecv_sm.catalog(self.settings["ecv_sm"], where, start, end)
        elif source in USER_SOURCES:
            frame = userfiles.catalog(source, self.settings[source], where)
        else:
            raise ConfigError(f"unknown source {source!r}; known: {PRODUCT_SOURCES + ANCILLARY_SOURCES}")
        return frame.reindex(columns=CATALOG_COLUMNS).reset_index(drop=True)

    def fetch(self, item: Mapping[str, str], destination: Path) -> None:
        """Retrieve one catalog item to `destination`, verified."""
        source = item["source"]
        destination = Path(destination)
        if source in PRODUCT_SOURCES:
            self.client.download(item, destination, verify=check_safe_zip)
            log.info("fetched %s (%d bytes)", destination.name, destination.stat().st_size)
        elif source in EARTHDATA_SOURCES:
            self.earthdata.fetch(item, destination)
        elif source == "weather":
            weather.fetch(item, destination, self.settings["weather"], self.regions([item["regions"]])[0])
        elif source == "dem":
            region = self.regions([item["regions"]])[0]
            dem.fetch(item, destination, self.settings["dem"], region, self.margin_m)
        elif source in ("csm", "ecv_sm"):
            module = csm if source == "csm" else ecv_sm
            module.fetch(
                item,
                destination,
                self.settings[source],
                self.regions([item["regions"]])[0],
                self.margin_m,
                self.settings["regions"],
            )
        elif source in USER_SOURCES:
            names = [n for n in str(item.get("regions") or "").split(";") if n]
            userfiles.fetch(item, destination, self.settings[source], self.regions(names), self.margin_m)
        else:
            raise ConfigError(f"unknown source {source!r}")

    def fetch_orbit(self, item: Mapping[str, str], destination: Path) -> str:
        """The precise (else restituted) orbit file of one Sentinel-1 item, as `destination`."""
        from soilsat.acquire.orbits import fetch_orbit, fetch_orbit_asf

        if self.settings["orbits"]["source"] == "asf":
            return fetch_orbit_asf(item, destination, self.settings["orbits"])
        return fetch_orbit(self.client, item, destination, self.settings["orbits"])
