"""Daily reference files kept as crops around each region, for the continental or global products (CSM, ECV_SM).

A catalog item is one daily file for one region: `<distribution name without .nc>_<region>.nc`. The
file is downloaded once into a cache (resumed and retried as every download is, and checked to be the
product before it is kept), each region's item crops its own window from it (every cell that overlaps
the region's AOI plus margins, in the product's own NetCDF layout), and the cached file is deleted once
the crops of every region it serves exist beside each other. The raw files are not kept: a CSM CEURO
tile holds 6832 x 4144 cells a day and an ECV_SM file the whole globe, while a study needs hundreds of
days of regions a few kilometres wide; a crop that goes missing is simply fetched again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import requests

from soilsat.acquire.aoi import Bounds
from soilsat.acquire.download import RetryPolicy, download
from soilsat.errors import ProductError
from soilsat.io import atomic_path
from soilsat.reference import latlon
from soilsat.reference.crop import copy_window
from soilsat.reference.ncfile import open_netcdf, read

log = logging.getLogger(__name__)


def crop_name(file_name: str, region: str) -> str:
    """The name of a region's crop of a distributed file: its stem, the region, .nc."""
    return f"{Path(file_name).stem}_{region}.nc"


def crop(source: str | os.PathLike, destination: str | os.PathLike, bounds: Bounds, cell: float) -> None:
    """Write the cells of `source` that overlap `bounds` to `destination` (atomically), in the source's layout."""
    west, south, east, north = bounds
    with open_netcdf(source) as nc:
        lat, lon = read(nc["lat"], source), read(nc["lon"], source)
    rows = latlon.window(lat, south, north, cell)
    cols = latlon.window(lon, west, east, cell)
    if rows.stop == rows.start or cols.stop == cols.start:
        covered = latlon.extent(lat, lon, cell)
        raise ProductError(
            source,
            f"does not cover lon {west:.4f}..{east:.4f}, lat {south:.4f}..{north:.4f} "
            f"(the file covers lon {covered[0]:.4f}..{covered[2]:.4f}, "
            f"lat {covered[1]:.4f}..{covered[3]:.4f})",
        )
    with atomic_path(destination) as tmp:
        copy_window(source, tmp, rows, cols)


def fetch_cropped(
    url: str,
    destination: Path,
    bounds: Bounds,
    cell: float,
    check: Callable[[Path], None],
    settings: Mapping,
    siblings: Sequence[Path],
    session: requests.Session | None = None,
) -> None:
    """Download `url` into settings['cache_dir'] (unless there), crop it to `destination`, and delete the
    download once every path of `siblings` (the crops of all regions it serves) exists."""
    raw = Path(settings["cache_dir"]) / Path(urlsplit(url).path).name

    def verified(part: Path) -> None:
        try:
            check(part)
        except ProductError as err:
            raise ProductError(raw, f"{err.problem} (downloaded from {url}; the download was deleted)") from None

    if not raw.exists():
        download(session or requests.Session(), url, raw, RetryPolicy.from_config(settings["retries"]), verify=verified)
    crop(raw, destination, bounds, cell)
    if all(Path(p).exists() for p in siblings):
        raw.unlink(missing_ok=True)
        log.info("%s: every region cropped, download deleted", raw.name)
