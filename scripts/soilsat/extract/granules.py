"""The granules of a fetched source: each catalog item with its file in the fetched folder, regions and times."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from soilsat.acquire.catalog import item_filename, read_catalog

COLUMNS = ["name", "path", "regions", "start", "stop"]


def _naive(value: str) -> pd.Timestamp:
    """A catalog time as a naive UTC timestamp."""
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def fetched(catalog: str | os.PathLike, folder: str | os.PathLike) -> pd.DataFrame:
    """One row per catalog item: name, its path in the folder fetch_ancillary wrote, regions (a list) and the
    sensing start and stop."""
    rows = [
        {
            "name": item["name"],
            "path": str(Path(folder) / item_filename(item)),
            "regions": [r for r in (item.get("regions") or "").split(";") if r],
            "start": _naive(item["sensing_start"]),
            "stop": _naive(item["sensing_stop"] or item["sensing_start"]),
        }
        for item in read_catalog(catalog)
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def of_region(table: pd.DataFrame, region: str) -> pd.DataFrame:
    """The granules that cover a region."""
    return table[table["regions"].map(lambda names: region in names)].reset_index(drop=True)
