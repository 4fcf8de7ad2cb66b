"""The provider interface of the acquire stage: search a source into a catalog, fetch one item."""

from __future__ import annotations

import datetime as dt
import csv
import hashlib
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from soilsat.acquire.sources import PRODUCT_SOURCES
from soilsat.errors import ProductError
from soilsat.io import atomic_path

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

# Columns of every catalog table, whatever the provider.
CATALOG_COLUMNS = [
    "name", "source", "product_type", "platform", "sensing_start", "sensing_stop",
    "orbit_direction", "relative_orbit", "absolute_orbit", "tile", "processing_baseline",
    "cloud_cover", "footprint_wkt", "regions", "size", "checksum", "href",
]


class Provider(Protocol):
    """Where raw data come from."""

    def search(
        self, source: str, regions: Sequence[str], start: dt.date, end: dt.date, product_type: str | None = None
    ) -> pd.DataFrame:
        """Catalog of the items of `source` (of one product type, if given) over the regions and period."""

    def fetch(self, item: Mapping[str, str], destination: Path) -> None:
        """Retrieve one catalog item to `destination`, verified, unmodified."""


def md5sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex MD5 digest of a file."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class DemoProvider:
    """Serves the local demo archive as a remote archive would (catalog + verified copies)."""

    def __init__(self, archive_dir: str | os.PathLike):
        self.archive_dir = Path(archive_dir)

    def search(
        self, source: str, regions: Sequence[str], start: dt.date, end: dt.date, product_type: str | None = None
    ) -> pd.DataFrame:
        """Catalog of the items of `source` (of one product type, if given) over the regions and period."""
        import pandas as pd

        index_path = self.archive_dir / "index.csv"
        if not index_path.exists():
            raise ProductError(index_path, "the demo archive has no index; regenerate it with the demo_world rule")
        index = pd.read_csv(index_path, dtype={"relative_orbit": "Int64", "absolute_orbit": "Int64"})
        # Items without regions (a probe archive, a sample table) serve every region.
        covers = index["regions"].fillna("").map(lambda r: not r or bool(set(r.split(";")) & set(regions)))
        wanted = (index["source"] == source) & covers
        if product_type:
            wanted &= index["product_type"] == product_type
        items = index[wanted].copy()
        if source in PRODUCT_SOURCES:
            sensing = pd.to_datetime(items["sensing_start"], utc=True)
            first = pd.Timestamp(start, tz="UTC")
            last = pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)
            items = items[(sensing >= first) & (sensing < last)]
        items["checksum"] = items.pop("md5")
        items["href"] = [str((self.archive_dir / p).resolve()) for p in items["path"]]
        return items.reindex(columns=CATALOG_COLUMNS).sort_values(["sensing_start", "name"]).reset_index(drop=True)

    def fetch(self, item: Mapping[str, str], destination: Path) -> None:
        """Copy one archive item into place after checking its checksum."""
        source = Path(item["href"])
        if not source.exists():
            raise ProductError(source, "listed in the catalog but missing from the demo archive")
        with atomic_path(destination) as tmp:
            shutil.copyfile(source, tmp)
            got = md5sum(tmp)
            if got != item["checksum"]:
                raise ProductError(source, f"checksum mismatch: catalog says {item['checksum']}, file has {got}")
        log.info("fetched %s (%d bytes)", destination.name, destination.stat().st_size)


def get_provider(name: str, inputs: Mapping[str, str], settings: Mapping | None = None) -> Provider:
    """The provider named in the configuration, given the local inputs its rule declared.

    Real providers also take `settings`: the config's `regions`, `grid` and the sections
    of their sources (`cdse`, `orbits`, `ismn`, `weather`, `dem`, `landcover`, `soil`, `lucas`).
    """
    if name == "demo":
        return DemoProvider(inputs["archive"])
    if name == "cdse":
        from soilsat.acquire.copernicus import CopernicusProvider

        if settings is None:
            raise ValueError("provider 'cdse' needs the config settings of its sources")
        return CopernicusProvider(settings)
    raise ValueError(f"unknown provider {name!r}")


def item_filename(item: Mapping[str, str]) -> str:
    """The file name an ancillary catalog item is delivered under (its name; the demo's equal its href's)."""
    return item["name"] if Path(item["name"]).suffix else Path(item["href"]).name


def write_catalog(catalog: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a catalog table atomically."""
    with atomic_path(path) as tmp:
        catalog.to_csv(tmp, index=False)


def read_catalog(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a catalog table written by write_catalog (standard library only, for light fetch jobs)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
