"""The catalog format of the acquire stage: its columns, its table files, item file names and checksums."""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from soilsat.errors import ProductError
from soilsat.io import atomic_path

if TYPE_CHECKING:
    import pandas as pd

# Columns of every catalog table, whatever the provider.
CATALOG_COLUMNS = [
    "name",
    "source",
    "product_type",
    "platform",
    "sensing_start",
    "sensing_stop",
    "orbit_direction",
    "relative_orbit",
    "absolute_orbit",
    "tile",
    "processing_baseline",
    "cloud_cover",
    "footprint_wkt",
    "regions",
    "size",
    "checksum",
    "href",
]


def md5sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex MD5 digest of a file."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


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


def catalog_item(catalog: list[dict[str, str]], name: str, source: str | os.PathLike) -> dict[str, str]:
    """The row of a catalog named `name`; ProductError naming the catalog file when it has none."""
    item = next((row for row in catalog if row["name"] == name), None)
    if item is None:
        raise ProductError(source, f"no product {name} in the catalog")
    return item
