"""The Sentinel-2 observations of a point study's chips: every item over every point it holds, read by byte ranges,
with what each point-observation cost on the wire and what downloading the whole products would have cost.

A point-observation is one point's chip from one item. The chips of one item are read in one
operation (soilsat.optical.chip_reads.l2a_chips: the item's files opened once, each chip's window
read from them), points in the order of `chips`. A point-observation's bytes are those GDAL fetched
while reading its chip (soilsat.transfers): a file's header, fetched for the first chip read from
it, counts for that chip only, and a block two chips share counts for the first that read it; the
bytes of an item's point-observations add up to what its files served. The whole-product cost of an
item is the sum of its assets' `file:size` (the STAC file extension), unknown (None) when an asset
does not state it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pandas as pd
import xarray as xr

from soilsat.grid import StudyGrid
from soilsat.optical.chip_reads import l2a_chips
from soilsat.optical.process import OpticalSettings
from soilsat.remote_files import S3Archive
from soilsat.stac.search import matches

COLUMNS = ("point", "item", "datetime", "bytes_read", "remote_reads", "valid_fraction")


@dataclasses.dataclass(frozen=True)
class ChipObservations:
    """The chips read (by point, then item id) and a table of their costs, one row per point-observation."""

    chips: dict[str, dict[str, xr.Dataset]]
    costs: pd.DataFrame
    whole_product_bytes: int | None

    def summary(self) -> dict[str, float | int | None]:
        """Totals: point-observations, bytes read (in all and per point-observation), whole-product bytes, ratio."""
        n = len(self.costs)
        read = int(self.costs["bytes_read"].sum()) if n else 0
        whole = self.whole_product_bytes
        return {
            "point_observations": n,
            "bytes_read": read,
            "bytes_per_observation": read / n if n else None,
            "bytes_whole_products": whole,
            "bytes_ratio": read / whole if whole else None,
        }


def item_bytes(item: Mapping) -> int | None:
    """The bytes of all of an item's assets by their file:size; None when any asset does not state it."""
    sizes = [asset.get("file:size") for asset in (item.get("assets") or {}).values()]
    if not sizes or any(s is None for s in sizes):
        return None
    return int(sum(sizes))


def read_observations(
    items: Sequence[Mapping],
    chips: Mapping[str, StudyGrid],
    lonlat: Mapping[str, tuple[float, float]],
    settings: OpticalSettings,
    s3: S3Archive | None = None,
    environ: Mapping[str, str] | None = None,
) -> ChipObservations:
    """Read every point's chip from every item whose footprint holds the point, in item order, all the chips of an
    item in one operation."""
    names = list(chips)
    paired = matches(list(items), names, [lonlat[n] for n in names])
    read: dict[str, dict[str, xr.Dataset]] = {n: {} for n in names}
    rows = []
    used = []
    for item in items:
        item_id = str(item["id"])
        if item_id not in paired:
            continue
        used.append(item)
        observed = l2a_chips(item, {name: chips[name] for name in paired[item_id]}, settings, s3=s3, environ=environ)
        for name, chip in observed.items():
            read[name][item_id] = chip
            rows.append(
                (
                    name,
                    item_id,
                    str(item["properties"]["datetime"]),
                    int(chip.attrs["bytes_read"]),
                    int(chip.attrs["remote_reads"]),
                    float(chip.attrs["valid_fraction"]),
                )
            )
    sizes = [item_bytes(i) for i in used]
    whole = None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)
    return ChipObservations(read, pd.DataFrame(rows, columns=list(COLUMNS)), whole)
