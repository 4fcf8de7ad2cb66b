"""Inputs the user downloads by hand (registration or licence needed): ISMN, CORINE, HWSD texture, WorldClim
climate, LUCAS.

Each is named in the config (`ismn.archive`, `landcover.path`, `soil.path`, `climate.path`, `lucas.path`);
search checks it exists and lists it, fetch delivers it in the form downstream reads:
the ISMN zip (only the configured networks and stations) with its probe table, rasters
clipped to the AOI plus margin, LUCAS as one normalised CSV.
"""

from __future__ import annotations

import logging
import math
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import rasterio
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from soilsat.acquire.aoi import aoi_bounds
from soilsat.acquire.catalog import md5sum
from soilsat.errors import ConfigError, ProductError
from soilsat.io import atomic_path

if TYPE_CHECKING:
    import pyproj

log = logging.getLogger(__name__)

SOIL_BANDS = ["clay", "silt", "sand", "organic_carbon", "base_saturation"]
CLIMATE_BANDS = ["temp", "preci"]
# Climate rasters are clipped two WorldClim cells (30 arc-seconds) wider, so that interpolating them onto a
# 90 m grid has neighbours at the edge.
CLIMATE_PAD_M = 2000.0
LUCAS_COLUMNS = ["point_id", "lat", "lon", "year", "clay", "silt", "sand", "oc"]

# What each kind needs, for the error a user sees when it is missing.
EXPECTED = {
    "ismn": ("ismn.archive", "an ISMN download (zip or folder, 'header + values' format) from ismn.earth"),
    "landcover": (
        "landcover.path",
        "CORINE Land Cover 2018 raster (U2018_CLC2018_V2020_20u1.tif) from land.copernicus.eu",
    ),
    "soil": ("soil.path", f"a soil-texture GeoTIFF from HWSD with bands {', '.join(SOIL_BANDS)}"),
    "climate": (
        "climate.path",
        "a GeoTIFF with bands temp (mean annual temperature, degC) and preci (annual precipitation, mm), e.g. "
        "WorldClim 2.1 BIO1 and BIO12 at 30 arc-seconds stacked, from worldclim.org",
    ),
    "lucas": (
        "lucas.path",
        ("a LUCAS topsoil table (2009 xlsx, 2015 csv + coordinates csv or point shapefile, or 2018 csv) from ESDAC"),
    ),
}


def user_path(kind: str, settings: Mapping) -> Path:
    """The configured file of a user-supplied source; ConfigError naming the key and the expected file if absent."""
    key, what = EXPECTED[kind]
    value = settings.get("archive" if kind == "ismn" else "path")
    if not value:
        raise ConfigError(f"config key {key} is not set: download {what} and name it there")
    path = Path(value).expanduser()
    if not path.exists():
        raise ConfigError(f"config key {key}: {path} not found; expected {what}")
    return path


def catalog(kind: str, settings: Mapping, regions: Sequence[Mapping]) -> pd.DataFrame:
    """The catalog of a user-supplied source: one row per delivered file."""
    path = user_path(kind, settings)
    checksum = md5sum(path) if path.is_file() else ""
    size = path.stat().st_size if path.is_file() else None
    if kind in ("landcover", "soil", "climate"):
        names = [(f"{kind}_{r['name']}.tif", r["name"]) for r in regions]
    elif kind == "ismn":
        names = [(f"{path.stem if path.is_file() else path.name}.zip", ";".join(r["name"] for r in regions))]
    else:
        names = [("lucas.csv", ";".join(r["name"] for r in regions))]
    return pd.DataFrame(
        [
            {
                "name": n,
                "source": kind,
                "product_type": "user-supplied",
                "regions": reg,
                "size": size,
                "checksum": checksum,
                "href": str(path.resolve()),
            }
            for n, reg in names
        ]
    )


def _verified(item: Mapping) -> Path:
    path = Path(item["href"])
    if not path.exists():
        raise ProductError(path, "listed in the catalog but no longer there")
    if item.get("checksum") and path.is_file() and md5sum(path) != item["checksum"]:
        raise ProductError(path, "changed since the search (checksum differs); run the search again")
    return path


def _keep_member(name: str, networks: Sequence[str] | None, stations: Sequence[str] | None) -> bool:
    """Whether an ISMN zip member belongs to the configured networks/stations (top-level files always do)."""
    parts = PurePosixPath(name).parts
    if len(parts) < 3 or not parts[-1].lower().endswith((".stm", ".csv")):
        return True
    folders = set(parts[:-1])
    return (not networks or bool(folders & set(networks))) and (not stations or bool(folders & set(stations)))


def fetch_ismn(item: Mapping, destination: Path, settings: Mapping) -> None:
    """The ISMN zip restricted to the configured networks and stations, and its probe table beside it."""
    from soilsat.acquire.ismn import probe_table

    source = _verified(item)
    networks, stations = settings.get("networks") or None, settings.get("stations") or None
    with atomic_path(destination) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
            if source.is_dir():
                members = [(p, p.relative_to(source).as_posix()) for p in sorted(source.rglob("*")) if p.is_file()]
                for path, name in members:
                    if _keep_member(name, networks, stations):
                        out.write(path, name)
            else:
                with zipfile.ZipFile(source) as zin:
                    for info in zin.infolist():
                        if not info.is_dir() and _keep_member(info.filename, networks, stations):
                            out.writestr(info, zin.read(info))
        probes = probe_table(tmp, networks, stations, settings["depth_to"])
        if probes.empty:
            raise ProductError(
                source,
                f"no soil-moisture sensor at 0-{settings['depth_to']} m in networks {networks} "
                f"and stations {stations} (config keys ismn.networks, ismn.stations)",
            )
        with atomic_path(destination.with_name(destination.stem + "_probes.csv")) as table:
            probes.to_csv(table, index=False)
    log.info("ISMN: %d sensors of %d stations", len(probes), probes["station"].nunique())


def clip_raster(
    source: Path, destination: Path, region: Mapping, margin_m: float, band_names: Sequence[str] | None = None
) -> None:
    """The part of a raster covering a region's AOI plus margin, in the raster's own CRS and pixels."""
    try:
        src = rasterio.open(source)
    except rasterio.errors.RasterioIOError as exc:
        raise ProductError(source, f"not a readable raster ({exc})") from None
    with src:
        aoi = aoi_bounds(region, margin_m)
        bounds = transform_bounds("EPSG:4326", src.crs, *aoi)
        have = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        uncovered = (
            f"does not cover region {region['name']}: the raster spans lon {have[0]:.4f}..{have[2]:.4f}, "
            f"lat {have[1]:.4f}..{have[3]:.4f}, the AOI plus {margin_m:g} m margin "
            f"lon {aoi[0]:.4f}..{aoi[2]:.4f}, "
            f"lat {aoi[1]:.4f}..{aoi[3]:.4f}; supply a file that covers the region"
        )
        exact = from_bounds(*bounds, transform=src.transform)
        col, row = math.floor(exact.col_off), math.floor(exact.row_off)
        window = Window(
            col, row, math.ceil(exact.col_off + exact.width) - col, math.ceil(exact.row_off + exact.height) - row
        )
        try:
            window = window.intersection(Window(0, 0, src.width, src.height))
        except rasterio.errors.WindowError:
            raise ProductError(source, uncovered) from None
        data = src.read(window=window)
        if data.size == 0:
            raise ProductError(source, uncovered)
        names = list(band_names or src.descriptions)
        profile = {
            "driver": "GTiff",
            "width": data.shape[2],
            "height": data.shape[1],
            "count": data.shape[0],
            "dtype": data.dtype,
            "crs": src.crs,
            "transform": src.window_transform(window),
            "nodata": src.nodata,
            "compress": "DEFLATE",
        }
        with atomic_path(destination) as tmp, rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data)
            for i, name in enumerate(names, start=1):
                if name:
                    dst.set_band_description(i, name)


def soil_band_names(path: Path, settings: Mapping) -> list[str]:
    """The soil raster's band names: `soil.bands` if given, else its band descriptions; all of SOIL_BANDS needed."""
    with rasterio.open(path) as src:
        names = list(settings.get("bands") or [(d or "").lower() for d in src.descriptions])
        if len(names) != src.count:
            raise ConfigError(f"config key soil.bands names {len(names)} bands; {path} has {src.count}")
    missing = [b for b in SOIL_BANDS if b not in names]
    if missing:
        raise ProductError(
            path, f"soil raster lacks band(s) {', '.join(missing)} (bands: {names}); name them in config key soil.bands"
        )
    return names


def climate_band_names(path: Path, settings: Mapping) -> list[str]:
    """The climate raster's band names: `climate.bands` if given, else its band descriptions; temp and preci
    needed."""
    with rasterio.open(path) as src:
        names = list(settings.get("bands") or [(d or "").lower() for d in src.descriptions])
        if len(names) != src.count:
            raise ConfigError(f"config key climate.bands names {len(names)} bands; {path} has {src.count}")
    missing = [b for b in CLIMATE_BANDS if b not in names]
    if missing:
        raise ProductError(
            path,
            f"climate raster lacks band(s) {', '.join(missing)} (bands: {names}); "
            "name them in config key climate.bands",
        )
    return names


def _lucas_frame(path: Path) -> pd.DataFrame:
    """The raw LUCAS table of a csv or xlsx file."""
    try:
        if path.suffix.lower() in (".xlsx", ".xls"):
            return pd.read_excel(path)
        return pd.read_csv(path, low_memory=False)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ProductError(path, f"not a readable LUCAS table ({type(exc).__name__}: {exc})") from None


def _with_coordinates(frame: pd.DataFrame, path: Path, coords: Path) -> pd.DataFrame:
    """The 2015 release: survey coordinates TH_LAT/TH_LONG joined from a separate point table."""
    if not coords.exists():
        raise ConfigError(
            f"config key lucas.coordinates: {coords} not found; expected the LUCAS point "
            "coordinates (POINT_ID, TH_LAT, TH_LONG) as CSV"
        )
    xy = pd.read_csv(coords, low_memory=False)
    key_t = next((c for c in ("POINTID", "POINT_ID", "Point_ID") if c in frame.columns), None)
    key_c = next((c for c in ("POINT_ID", "POINTID", "Point_ID") if c in xy.columns), None)
    if key_t is None or key_c is None:
        raise ProductError(coords if key_c is None else path, "lacks a point id column (POINTID or POINT_ID)")
    if not {"TH_LAT", "TH_LONG"} <= set(xy.columns):
        raise ProductError(coords, "lacks coordinate column(s) TH_LAT, TH_LONG")
    xy = xy.rename(columns={key_c: key_t})[[key_t, "TH_LAT", "TH_LONG"]]
    frame = frame.drop(columns=[c for c in ("TH_LAT", "TH_LONG") if c in frame.columns])
    return frame.merge(xy, on=key_t, how="left")


ID_COLUMNS = ("POINT_ID", "POINTID", "Point_ID")


def _id_text(values: pd.Series) -> pd.Series:
    """Point ids as text that matches across tables: 1, 1.0 and '1' all become '1'."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all() and (numbers % 1 == 0).all():
        return numbers.astype("int64").astype(str)
    return values.astype(str).str.strip()


def _points_crs(shp: Path) -> pyproj.CRS:
    """The CRS of a shapefile from its .prj; ProductError naming the file when absent or unknown."""
    import pyproj

    prj = shp.with_suffix(".prj")
    if not prj.exists():
        raise ProductError(
            shp,
            f"has no {prj.name} beside it: the CRS of the points is unknown "
            "(LUCAS ships them in EPSG:4326 or ETRS89-LAEA EPSG:3035)",
        )
    try:
        return pyproj.CRS.from_user_input(prj.read_text(errors="replace").strip())
    except pyproj.exceptions.CRSError as exc:
        raise ProductError(prj, f"unknown CRS, not a WKT pyproj can read ({exc})") from None


def read_points(shp: Path) -> pd.DataFrame:
    """A LUCAS point shapefile as (point_id, TH_LAT, TH_LONG) in EPSG:4326, reprojected from its .prj CRS."""
    import pyproj
    import shapefile

    if not shp.exists():
        raise ConfigError(
            f"config key lucas.points: {shp} not found; expected the LUCAS point shapefile "
            "(.shp with .shx, .dbf, .prj; a POINT_ID field)"
        )
    crs = _points_crs(shp)
    try:
        with shapefile.Reader(str(shp)) as reader:
            fields = [f[0] for f in reader.fields[1:]]
            key = next((c for c in ID_COLUMNS if c in fields), None)
            if key is None:
                raise ProductError(shp, f"lacks a point id field ({' or '.join(ID_COLUMNS[:2])}); fields: {fields}")
            rows = [
                (sr.record[key], *(sr.shape.points[0][:2] if sr.shape.points else (np.nan, np.nan)))
                for sr in reader.iterShapeRecords()
            ]
    except shapefile.ShapefileException as exc:
        raise ProductError(shp, f"not a readable shapefile ({exc})") from None
    ids, x, y = zip(*rows) if rows else ((), (), ())
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(
        np.asarray(x, float), np.asarray(y, float)
    )
    return pd.DataFrame(
        {
            "point_id": _id_text(pd.Series(ids, dtype=object)),
            "TH_LAT": np.asarray(lat, float),
            "TH_LONG": np.asarray(lon, float),
        }
    )


def _with_points(frame: pd.DataFrame, path: Path, shp: Path) -> pd.DataFrame:
    """The 2015 release: coordinates joined from the point shapefile; every table id must have a point."""
    key = next((c for c in ID_COLUMNS if c in frame.columns), None)
    if key is None:
        raise ProductError(path, "lacks a point id column (POINTID or POINT_ID)")
    points = read_points(shp).dropna(subset=["TH_LAT", "TH_LONG"]).drop_duplicates("point_id")
    ids = _id_text(frame[key])
    missing = sorted(set(ids) - set(points["point_id"]))
    if missing:
        raise ProductError(
            shp,
            f"has no point for {len(missing)} of the {ids.nunique()} point ids of {path.name}, "
            f"e.g. {', '.join(missing[:5])}; supply the shapefile of the same LUCAS release",
        )
    frame = frame.drop(columns=[c for c in ("TH_LAT", "TH_LONG") if c in frame.columns]).assign(_id=ids.to_numpy())
    merged = frame.merge(points.rename(columns={"point_id": "_id"}), on="_id", how="left")
    return merged.drop(columns="_id")


def read_lucas_any(settings: Mapping) -> pd.DataFrame:
    """A LUCAS topsoil release (2009 xlsx, 2015 csv + coordinates csv or points shapefile, 2018 csv), normalised."""
    from soilsat.acquire.tables import read_lucas

    path = user_path("lucas", settings)
    frame = _lucas_frame(path)
    if settings.get("coordinates") and settings.get("points"):
        raise ConfigError(
            "config keys lucas.coordinates and lucas.points are both set: name one source of the point coordinates"
        )
    if settings.get("coordinates"):
        frame = _with_coordinates(frame, path, Path(settings["coordinates"]).expanduser())
    if settings.get("points"):
        frame = _with_points(frame, path, Path(settings["points"]).expanduser())
    prefixes = settings.get("land_cover_prefixes") or []
    if prefixes:
        column = next((c for c in ("LC1", "LC") if c in frame.columns), None)
        if column is None:
            raise ProductError(path, "has no land-cover column (LC1 or LC) for config key lucas.land_cover_prefixes")
        frame = frame[frame[column].astype(str).str.startswith(tuple(prefixes))]
    with tempfile.TemporaryDirectory(prefix="soilsat-lucas-") as tmp:
        table_path = Path(tmp) / f"{path.stem}.csv"
        frame.to_csv(table_path, index=False)
        table = read_lucas(table_path, year=settings.get("year"))
    return table[LUCAS_COLUMNS]


def within_regions(table: pd.DataFrame, regions: Sequence[Mapping], margin_m: float) -> pd.DataFrame:
    """LUCAS points inside any region's AOI plus margin."""
    keep = np.zeros(len(table), dtype=bool)
    for r in regions:
        west, south, east, north = aoi_bounds(r, margin_m)
        keep |= table["lon"].between(west, east).to_numpy() & table["lat"].between(south, north).to_numpy()
    return table[keep].reset_index(drop=True)


def fetch(item: Mapping, destination: Path, settings: Mapping, regions: Sequence[Mapping], margin_m: float) -> None:
    """Deliver one user-supplied item into the ancillary folder."""
    kind = item["source"]
    if kind == "ismn":
        fetch_ismn(item, destination, settings)
        return
    if kind == "lucas":
        table = read_lucas_any(settings)
        if settings.get("clip_to_regions", True):
            table = within_regions(table, regions, margin_m)
        with atomic_path(destination) as tmp:
            table.to_csv(tmp, index=False)
        log.info("LUCAS: %d points", len(table))
        return
    source = _verified(item)
    region = next(r for r in regions if r["name"] == item["regions"])
    if kind == "climate":
        clip_raster(source, destination, region, margin_m + CLIMATE_PAD_M, climate_band_names(source, settings))
    else:
        names = soil_band_names(source, settings) if kind == "soil" else ["landcover"]
        clip_raster(source, destination, region, margin_m, names)
    log.info("%s of %s clipped from %s", kind, region["name"], source.name)
