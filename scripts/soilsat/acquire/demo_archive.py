"""The demo provider (`provider: demo`): serves the local demo archive as a remote archive would."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from soilsat.acquire.catalog import CATALOG_COLUMNS, md5sum
from soilsat.acquire.sources import PRODUCT_SOURCES
from soilsat.errors import ProductError
from soilsat.io import atomic_path

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


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
