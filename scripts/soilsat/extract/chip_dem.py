"""A chip's DEM read by byte ranges from the Copernicus DEM COG tiles, for a point no study DEM file covers.

The window of the GLO-30 tile(s) (GLO-90 where GLO-30 has no tile: soilsat.acquire.dem.tile_url)
over the chip plus `dem.margin_m` (the slopes, layover and shadow at the chip's edges) is read
through GDAL's /vsicurl/, its heights made ellipsoidal with the acquire stage's `to_ellipsoidal`,
and written as a small GeoTIFF for the chain. Every byte fetched is counted (soilsat.transfers), so
the DEM joins the chip's cost. A cell the chip itself lies in must have a tile (a missing one is an
error naming its URL); cells reached only by the margin may have none (sea).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import rasterio
import rasterio.merge
from rasterio.errors import RasterioIOError
from rasterio.io import DatasetReader
from rasterio.warp import transform_bounds

from soilsat.acquire.dem import NODATA, cells_for, mosaic_heights, tile_url
from soilsat.errors import ProductError
from soilsat.grid import StudyGrid
from soilsat.remote_files import gdal_path, remote_env
from soilsat.transfers import counting

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ChipDem:
    """A chip's DEM file and what reading it cost: bytes and ranges fetched, the tiles' URLs."""

    path: Path
    bytes_read: int
    remote_reads: int
    tiles: tuple[str, ...]


def lonlat_bounds(chip: StudyGrid, margin_m: float) -> tuple[float, float, float, float]:
    """The chip's bounds widened by `margin_m`, in lon/lat (west, south, east, north)."""
    left, bottom, right, top = chip.bounds
    box = (left - margin_m, bottom - margin_m, right + margin_m, top + margin_m)
    west, south, east, north = transform_bounds(chip.crs, "EPSG:4326", *box, densify_pts=21)
    return (west, south, east, north)


def _missing(exc: RasterioIOError) -> bool:
    """Whether GDAL's failure to open a remote file says it is not there (HTTP 403/404)."""
    text = str(exc)
    return any(word in text for word in ("404", "403", "does not exist", "No such file"))


def open_tile(url: str) -> DatasetReader | None:
    """The tile at `url` opened through /vsicurl/; None when the archive has none (403/404)."""
    try:
        return rasterio.open(gdal_path(url))
    except RasterioIOError as exc:
        if _missing(exc):
            return None
        raise ProductError(url, f"DEM tile unreadable ({exc})") from None


def _snap(value: float, origin: float, step: float, up: bool) -> float:
    """`value` moved to the nearest pixel edge of a grid (origin, step) above it (`up`) or below it."""
    steps = (value - origin) / step
    return origin + (math.ceil(steps - 1e-9) if up else math.floor(steps + 1e-9)) * step


def aligned_bounds(bounds: tuple[float, float, float, float], src: DatasetReader) -> tuple[float, float, float, float]:
    """`bounds` widened outward to the pixel edges of a tile's grid."""
    west, south, east, north = bounds
    t = src.transform
    dx, dy = t.a, -t.e
    return (
        _snap(west, t.c, dx, False),
        _snap(south, t.f, dy, False),
        _snap(east, t.c, dx, True),
        _snap(north, t.f, dy, True),
    )


def _sources(settings: Mapping, chip: StudyGrid, bounds: tuple[float, float, float, float]) -> list[DatasetReader]:
    """The open tiles over `bounds`; ProductError naming the URL of a missing tile of a cell the chip lies in."""
    own = set(cells_for(lonlat_bounds(chip, 0.0)))
    sources = []
    for lat, lon in cells_for(bounds):
        url = tile_url(settings, lat, lon)
        src = open_tile(url)
        if src is not None:
            sources.append(src)
        elif (lat, lon) in own:
            for s in sources:
                s.close()
            raise ProductError(
                url,
                f"no Copernicus DEM tile there (HTTP 403/404), and chip {chip.region} lies in its cell "
                f"(lat {lat}, lon {lon}): the terrain correction of its Sentinel-1 chips needs a DEM over the point",
            )
        else:
            log.info("chip %s: no DEM tile %s (sea); the margin there has no heights", chip.region, url)
    return sources


def read_chip_dem(settings: Mapping, chip: StudyGrid, folder: str | Path) -> ChipDem:
    """The chip's DEM (config section `dem`) read by ranges from the COG tiles, ellipsoidal when `geoid_grid` is
    set, written to `folder`/dem_<chip>.tif, with the bytes and ranges it cost."""
    bounds = lonlat_bounds(chip, float(settings["margin_m"]))
    urls = [tile_url(settings, lat, lon) for lat, lon in cells_for(bounds)]
    with remote_env([gdal_path(u) for u in urls], None), counting() as transfers:
        sources = _sources(settings, chip, bounds)
        try:
            finest = min(sources, key=lambda s: min(abs(v) for v in s.res))
            res = min(abs(v) for v in finest.res)
            mosaic, transform = rasterio.merge.merge(
                sources, bounds=aligned_bounds(bounds, finest), res=res, nodata=NODATA
            )
            crs = finest.crs
            tiles = tuple(str(s.name).removeprefix("/vsicurl/") for s in sources)
        finally:
            for s in sources:
                s.close()
    heights, datum_tags = mosaic_heights(mosaic, transform, crs, settings.get("geoid_grid"))
    path = Path(folder) / f"dem_{chip.region}.tif"
    profile = {
        "driver": "GTiff",
        "width": heights.shape[1],
        "height": heights.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": crs,
        "transform": transform,
        "nodata": np.nan,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(heights, 1)
        dst.update_tags(
            SOURCE="Copernicus DEM by byte ranges", TILES=" ".join(u.rsplit("/", 1)[-1] for u in tiles), **datum_tags
        )
    log.info(
        "chip %s: DEM of %d x %d pixels from %d tile(s), %d bytes in %d ranges",
        chip.region,
        heights.shape[0],
        heights.shape[1],
        len(tiles),
        transfers.nbytes,
        len(transfers.reads),
    )
    return ChipDem(path, transfers.nbytes, len(transfers.reads), tiles)
