"""The demo world's ancillary inputs in their usual formats.

- weather: one CSV per region, a daily record of one station at the region centre; the
  station id, latitude, longitude and elevation are '#' comment lines above the header.
- dem: one GeoTIFF per region, 30 m, the region's UTM CRS, the study grid plus 1 km on
  every side, heights above the WGS 84 ellipsoid (tags VERTICAL_DATUM, VERTICAL_CRS).
  The 10 m truth is mirrored beyond the grid edge (continuous heights) and block-averaged.
- landcover: one CORINE-coded raster per region (int16, nodata 0) on the study grid
  itself (10 m). CORINE's own 100 m (raster) / 25 ha (vector) resolution would merge the
  demo parcels (~250 m), so the demo ships the parcel-exact codes, as a rasterised CORINE
  vector layer at 10 m would look.
- soil: one HWSD-like raster per region at 250 m, grid-aligned so each cell is 25 x 25 study
  pixels (cells overhanging the grid edge average the pixels they cover); bands clay, silt,
  sand (% weight), organic_carbon (% weight) and base_saturation (%, synthetic).
- lucas: one LUCAS-2018-topsoil-like CSV for all regions (lucas/LUCAS_TOPSOIL_2018_demo.csv) (columns POINTID, NUTS_0, TH_LAT,
  TH_LONG, SURVEY_DATE dd-mm-yy, Elev, LC, LU, LC0_Desc, LC1_Desc, Depth, pH_H2O, OC (g/kg),
  CaCO3, N, Clay, Silt, Sand (%)). POINTID keeps the demo world's sample id.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio

from soilsat.demo.world import CORINE, RegionWorld
from soilsat.grid import StudyGrid
from soilsat.io import atomic_path, write_cog

DEM_RESOLUTION = 30.0
DEM_BUFFER_M = 1000.0
SOIL_RESOLUTION = 250.0
LANDCOVER_NODATA = 0
VERTICAL_DATUM = "WGS 84 ellipsoid"
VERTICAL_CRS = "EPSG:4979"


def _entry(source: str, path: Path, root: Path, region: str | None = None) -> dict:
    data = path.read_bytes()
    entry = {"source": source, "name": path.name, "path": path.relative_to(root).as_posix()}
    if region is not None:
        entry["region"] = region
    entry.update(size=len(data), md5=hashlib.md5(data).hexdigest())
    return entry


def station_id(region: str) -> str:
    return f"DEMO-{region.upper()}-01"


def write_weather(world: list[RegionWorld], dir: Path) -> list[dict]:
    """One daily weather-station CSV per region; returns index entries."""
    dir = Path(dir)
    out = []
    for region in world:
        t = region.truth
        grid = region.grid
        x, y = grid.to_grid_crs(region.spec.lon, region.spec.lat)
        row, col = grid.rowcol(x, y)
        row = int(np.clip(row, 0, grid.height - 1))
        col = int(np.clip(col, 0, grid.width - 1))
        elev = float(t["elevation"].values[row, col])
        frame = pd.DataFrame({
            "date": pd.DatetimeIndex(t["time"].values).strftime("%Y-%m-%d"),
            "precipitation_mm": np.round(t["precipitation"].values.astype(float), 1),
            "tmin_c": np.round(t["tmin"].values.astype(float), 1),
            "tmean_c": np.round(t["tmean"].values.astype(float), 1),
            "tmax_c": np.round(t["tmax"].values.astype(float), 1),
        })
        head = (f"# station_id: {station_id(region.spec.name)}\n"
                f"# name: {region.spec.name} demo weather station\n"
                f"# latitude: {region.spec.lat:.5f}\n# longitude: {region.spec.lon:.5f}\n"
                f"# elevation_m: {elev:.1f}\n# time: daily, local calendar day\n")
        path = dir / f"weather_{region.spec.name}.csv"
        with atomic_path(path) as tmp:
            tmp.write_text(head + frame.to_csv(index=False, lineterminator="\n"))
        out.append(_entry("weather", path, dir, region.spec.name))
    return out


def _outer_grid(grid: StudyGrid, resolution: float, buffer_m: float) -> tuple[StudyGrid, int, int, int, int]:
    """A coarser grid covering the study grid plus a buffer, whose edges fall on study-pixel edges.

    Returns the grid and the padding (left, top, right, bottom) in study pixels."""
    left, bottom, right, top = grid.bounds
    x0 = np.floor((left - buffer_m) / resolution) * resolution
    y0 = np.ceil((top + buffer_m) / resolution) * resolution
    x1 = np.ceil((right + buffer_m) / resolution) * resolution
    y1 = np.floor((bottom - buffer_m) / resolution) * resolution
    width = int(round((x1 - x0) / resolution))
    height = int(round((y0 - y1) / resolution))
    f = resolution / grid.resolution
    if abs(f - round(f)) > 1e-9:
        raise ValueError(f"resolution {resolution} is not a multiple of the study grid's {grid.resolution}")
    f = int(round(f))
    pad_left = int(round((left - x0) / grid.resolution))
    pad_top = int(round((y0 - top) / grid.resolution))
    pad_right = width * f - grid.width - pad_left
    pad_bottom = height * f - grid.height - pad_top
    outer = StudyGrid(region=grid.region, epsg=grid.epsg, x0=float(x0), y0=float(y0),
                      width=width, height=height, resolution=resolution)
    return outer, pad_left, pad_top, pad_right, pad_bottom


def _block_mean(a: np.ndarray, f: int) -> np.ndarray:
    h, w = a.shape
    blocks = a.reshape(h // f, f, w // f, f)
    with np.errstate(invalid="ignore"):
        return np.nanmean(blocks, axis=(1, 3))


def write_dem(world: list[RegionWorld], dir: Path) -> list[dict]:
    """One 30 m DEM GeoTIFF per region (ellipsoidal heights); returns index entries."""
    dir = Path(dir)
    out = []
    for region in world:
        outer, pl, pt, pr, pb = _outer_grid(region.grid, DEM_RESOLUTION, DEM_BUFFER_M)
        z = region.truth["elevation"].values.astype(np.float64)
        padded = np.pad(z, ((pt, pb), (pl, pr)), mode="symmetric")
        dem = _block_mean(padded, int(round(DEM_RESOLUTION / region.grid.resolution)))
        path = dir / f"dem_{region.spec.name}.tif"
        write_cog(path, dem, outer, ["elevation"],
                  tags={"VERTICAL_DATUM": VERTICAL_DATUM, "VERTICAL_CRS": VERTICAL_CRS,
                        "VERTICAL_UNITS": "metre", "SOURCE": "soilsat demo world (synthetic DEM)"},
                  band_tags=[{"units": "m", "long_name": "height above the WGS 84 ellipsoid"}])
        out.append(_entry("dem", path, dir, region.spec.name))
    return out


def write_landcover(world: list[RegionWorld], dir: Path) -> list[dict]:
    """One CORINE-coded land-cover raster per region on the 10 m study grid; returns index entries."""
    dir = Path(dir)
    out = []
    for region in world:
        grid = region.grid
        codes = region.truth["landcover"].values.astype(np.int16)
        path = dir / f"landcover_{region.spec.name}.tif"
        profile = dict(driver="GTiff", width=grid.width, height=grid.height, count=1, dtype="int16",
                       crs=grid.crs, transform=grid.transform, nodata=LANDCOVER_NODATA,
                       compress="DEFLATE", tiled=True, blockxsize=256, blockysize=256)
        with atomic_path(path) as tmp:
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(codes, 1)
                dst.set_band_description(1, "landcover")
                dst.update_tags(CLASSIFICATION="CORINE Land Cover level 3 (CLC2018 codes)",
                                RESOLUTION_NOTE="10 m on the study grid, parcel-exact (see soilsat.demo.ancillary)",
                                SOURCE="soilsat demo world")
                dst.update_tags(1, **{f"CLASS_{k}": v for k, v in CORINE.items()})
        out.append(_entry("landcover", path, dir, region.spec.name))
    return out


def base_saturation(clay: np.ndarray, climate: str) -> np.ndarray:
    """A plausible base saturation (%): leached sandy soils low, semi-arid clayey soils high."""
    offset = {"humid": 25.0, "semiarid": 62.0}.get(climate, 40.0)
    return np.clip(offset + 1.1 * clay, 5.0, 100.0)


def write_soil(world: list[RegionWorld], dir: Path) -> list[dict]:
    """One HWSD-like 250 m soil raster per region; returns index entries."""
    dir = Path(dir)
    out = []
    for region in world:
        outer, pl, pt, pr, pb = _outer_grid(region.grid, SOIL_RESOLUTION, 0.0)
        f = int(round(SOIL_RESOLUTION / region.grid.resolution))
        t = region.truth

        def agg(a: np.ndarray) -> np.ndarray:
            padded = np.pad(a.astype(np.float64), ((pt, pb), (pl, pr)), constant_values=np.nan)
            return _block_mean(padded, f)

        clay, sand = agg(t["clay"].values), agg(t["sand"].values)
        silt = 100.0 - clay - sand
        oc = agg(t["soc"].values) / 10.0  # g/kg -> % weight, as HWSD's T_OC
        bs = base_saturation(clay, region.spec.climate)
        path = dir / f"soil_{region.spec.name}.tif"
        units = ["% weight", "% weight", "% weight", "% weight", "%"]
        write_cog(path, np.stack([clay, silt, sand, oc, bs]), outer,
                  ["clay", "silt", "sand", "organic_carbon", "base_saturation"],
                  tags={"SOURCE": "soilsat demo world (HWSD-like topsoil, 0-30 cm)"},
                  band_tags=[{"units": u} for u in units])
        out.append(_entry("soil", path, dir, region.spec.name))
    return out


def _country(lon: float, lat: float) -> str:
    """A NUTS-0 code for the demo regions (coarse boxes; 'EU' elsewhere)."""
    boxes = {"DK": (8.0, 54.5, 15.3, 57.8), "ES": (-9.4, 36.0, 3.4, 43.8), "FR": (-4.8, 42.3, 8.2, 51.1),
             "DE": (5.9, 47.3, 15.0, 55.1), "PT": (-9.6, 36.9, -6.2, 42.2), "IT": (6.6, 36.6, 18.6, 47.1)}
    for code, (w, s, e, n) in boxes.items():
        if w <= lon <= e and s <= lat <= n:
            return code
    return "EU"


LUCAS_CROPS = {"B11": "Common wheat", "B13": "Barley", "B16": "Maize"}


LUCAS_NAME = "LUCAS_TOPSOIL_2018_demo.csv"


def write_lucas(world: list[RegionWorld], path: Path) -> list[dict]:
    """All regions' samples as one LUCAS-2018-topsoil-like CSV; returns its index entry (a list of one).

    `path` is either the CSV file (entry path relative to its folder) or an archive folder
    (the file goes to `<folder>/lucas/LUCAS_TOPSOIL_2018_demo.csv`, entry path relative to
    the folder), like the other writers of this module.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        root = path.parent
    else:
        root, path = path, path / "lucas" / LUCAS_NAME
    rng = np.random.default_rng([7919, len(world)] + [len(r.samples) for r in world])
    frames = []
    for region in world:
        s = region.samples
        n = len(s)
        codes = region.truth["landcover"].values[s["row"].to_numpy(), s["col"].to_numpy()]
        # Irrigated parcels grow maize; rain-fed ones wheat, barley or maize.
        lc = np.where(codes == 212, "B16", rng.choice(["B11", "B13", "B16"], size=n, p=[0.5, 0.3, 0.2]))
        elev = region.truth["elevation"].values[s["row"].to_numpy(), s["col"].to_numpy()]
        days = pd.Timestamp("2018-04-15") + pd.to_timedelta(rng.integers(0, 150, n), unit="D")
        ph = np.clip(np.where(region.spec.climate == "semiarid", 7.6, 5.8) + 0.03 * s["clay"].to_numpy()
                     + rng.normal(0, 0.3, n), 3.5, 9.5)
        frames.append(pd.DataFrame({
            "POINTID": s["point_id"].to_numpy(),
            "NUTS_0": _country(region.spec.lon, region.spec.lat),
            "TH_LAT": s["lat"].round(6).to_numpy(),
            "TH_LONG": s["lon"].round(6).to_numpy(),
            "SURVEY_DATE": days.strftime("%d-%m-%y"),
            "Elev": np.round(elev).astype(int),
            "LC": lc,
            "LU": "U111",
            "LC0_Desc": "Cropland",
            "LC1_Desc": [LUCAS_CROPS[c] for c in lc],
            "Depth": "0-20 cm",
            "pH_H2O": ph.round(2),
            "OC": s["oc"].to_numpy(),
            "CaCO3": np.where(ph > 7.2, rng.uniform(5, 120, n), 0.0).round(0),
            "N": (s["oc"].to_numpy() / rng.uniform(9, 12, n)).round(1),
            "Clay": s["clay"].to_numpy(),
            "Silt": s["silt"].to_numpy(),
            "Sand": s["sand"].to_numpy(),
        }))
    table = pd.concat(frames, ignore_index=True)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, lineterminator="\n")
    return [_entry("lucas", path, root)]
