"""The raster index of a study: what each processed Sentinel-1/-2 COG holds, read from its tags once.

One rule writes it per source (results/<study>/index/<source>.csv); every extraction, map and training
job reads the table instead of reopening every raster for its tags.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import rasterio

from soilsat.sar.bands import backscatter_bands

log = logging.getLogger(__name__)

# The tag that holds each source's acquisition time.
TIME_TAGS = {"sentinel1": "sensing_start", "sentinel2": "sensing_time"}
COLUMNS = ["path", "product", "source", "region", "time", "orbit_direction", "relative_orbit", "valid_fraction"]


def index_rasters(paths: Sequence[str | os.PathLike], source: str) -> pd.DataFrame:
    """One row per processed raster of a source: path, product, region, acquisition time, orbit, valid fraction."""
    rows = []
    for path in paths:
        with rasterio.open(path) as src:
            tags = src.tags()
        if source == "sentinel2" and "valid_fraction" not in tags:
            raise ValueError(
                f"{path}: Sentinel-2 raster has no valid_fraction tag; reprocess it with the sentinel2 rule"
            )
        time = pd.Timestamp(tags[TIME_TAGS[source]])
        rows.append(
            {
                "path": str(path),
                "product": tags.get("product", os.path.basename(str(path))),
                "source": source,
                "region": tags["region"],
                "time": time.tz_localize(None) if time.tzinfo else time,
                "orbit_direction": tags.get("orbit_direction"),
                "relative_orbit": tags.get("relative_orbit"),
                "valid_fraction": float(tags["valid_fraction"]) if "valid_fraction" in tags else None,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def read_index(path: str | os.PathLike) -> pd.DataFrame:
    """A raster index written by index_rasters (times parsed, orbit fields as text)."""
    table = pd.read_csv(path, dtype={"orbit_direction": "string", "relative_orbit": "string"})
    table["time"] = pd.to_datetime(table["time"])
    return table.reindex(columns=COLUMNS)


def usable(index: pd.DataFrame, min_valid_fraction: float) -> pd.DataFrame:
    """The rasters whose valid fraction reaches `sentinel2.min_valid_fraction`; each dropped one is logged."""
    keep = index["valid_fraction"].isna() | (index["valid_fraction"] >= min_valid_fraction)
    for row in index[~keep].itertuples():
        log.info(
            "dropped Sentinel-2 product %s: valid fraction %.3f below sentinel2.min_valid_fraction %.3f",
            os.path.splitext(os.path.basename(str(row.path)))[0],
            row.valid_fraction,
            min_valid_fraction,
        )
    if not keep.all():
        log.info(
            "%d of %d Sentinel-2 products kept (sentinel2.min_valid_fraction %.3f)",
            int(keep.sum()),
            len(index),
            min_valid_fraction,
        )
    return index[keep].reset_index(drop=True)


def of_region(index: pd.DataFrame, region: str) -> pd.DataFrame:
    """The rasters of one region."""
    return index[index["region"] == region].reset_index(drop=True)


def backscatter_bands_of(path: str, polarisations: Sequence[str]) -> list[str]:
    """The backscatter band of each polarisation in a Sentinel-1 output (sigma0_VV or gamma0_VV, whichever the
    study's sentinel1.radiometry made), by its band names."""
    with rasterio.open(path) as src:
        names = list(src.descriptions)
    try:
        return backscatter_bands(names, polarisations)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def values_at(path: str, bands: Sequence[str], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Values of named bands at pixels, as (pixel, band)."""
    with rasterio.open(path) as src:
        names = list(src.descriptions)
        missing = [b for b in bands if b not in names]
        if missing:
            raise ValueError(f"{path}: raster lacks bands {missing}")
        data = src.read([names.index(b) + 1 for b in bands])
    return data[:, rows, cols].T
