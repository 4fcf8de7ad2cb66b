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
- soil: one HWSD-v1.2-like raster per region, in EPSG:4326 on HWSD's global 30 arc-second lattice
  (926 m north-south, 926 m x cos(latitude) east-west: 518 m at 56 N), covering the study grid plus
  two cells; bands clay, silt, sand (% weight), organic_carbon (% weight) and base_saturation (%,
  synthetic). Like HWSD it maps soil mapping units and gives each the topsoil attributes of its dominant
  soil: the cells fall into a few units (Voronoi cells of random seeds in the study grid, one per 9 km2,
  2 to 6 a region), each unit's dominant soil is the SOIL_TYPES entry whose (clay, sand) is nearest the
  median truth texture of its pixels, and its values are that soil's table values with CLAY_BIAS = +3
  percentage points of clay taken from the sand. So the raster departs from the field as HWSD does:
  texture quantised to nine soil types, the variation within a unit lost, clay biased, organic carbon
  from the soil type rather than the land use. Measured against the truth's mean over each 30" cell
  wholly inside the study grid of the default demo world (config.yaml, 5 km regions): clay mean error
  +3.9 (skjern, 60 cells) and +2.3 points (duero, 48 cells), RMSE 4.6 and 6.0 points; on the 10 m
  study grid after the bilinear extraction, RMSE 5.0 and 7.8 (the 250 m block-mean raster this
  replaces: 0.2 and 0.4 at 30", 0.3 and 0.8 at 10 m).
- lucas: one LUCAS-2018-topsoil-like CSV for all regions (lucas/LUCAS_TOPSOIL_2018_demo.csv) (columns POINTID,
  NUTS_0, TH_LAT,
  TH_LONG, SURVEY_DATE dd-mm-yy, Elev, LC, LU, LC0_Desc, LC1_Desc, Depth, pH_H2O, OC (g/kg),
  CaCO3, N, Clay, Silt, Sand (%)). POINTID keeps the demo world's sample id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from scipy.spatial import cKDTree

from soilsat.demo.world import CORINE, RegionWorld
from soilsat.grid import StudyGrid
from soilsat.io import atomic_path, write_cog

DEM_RESOLUTION = 30.0
DEM_BUFFER_M = 1000.0
SOIL_CELL_DEG = 1.0 / 120.0  # HWSD v1.2: 30 arc-seconds
SOIL_BUFFER_CELLS = 2
SOIL_UNIT_AREA_M2 = 9.0e6
SOIL_UNITS_MAX = 6
SOIL_SEED = 30  # with the region's name and truth, seeds its mapping units
CLAY_BIAS = 3.0  # percentage points of clay, taken from the sand
LANDCOVER_NODATA = 0
VERTICAL_DATUM = "WGS 84 ellipsoid"
VERTICAL_CRS = "EPSG:4979"


def _entry(source: str, path: Path, root: Path, region: str | None = None) -> dict:
    data = path.read_bytes()
    entry: dict[str, str | int] = {"source": source, "name": path.name, "path": path.relative_to(root).as_posix()}
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
        rows, cols = grid.rowcol(x, y)
        row = int(np.clip(rows, 0, grid.height - 1))
        col = int(np.clip(cols, 0, grid.width - 1))
        elev = float(t["elevation"].values[row, col])
        frame = pd.DataFrame(
            {
                "date": pd.DatetimeIndex(t["time"].values).strftime("%Y-%m-%d"),
                "precipitation_mm": np.round(t["precipitation"].values.astype(float), 1),
                "tmin_c": np.round(t["tmin"].values.astype(float), 1),
                "tmean_c": np.round(t["tmean"].values.astype(float), 1),
                "tmax_c": np.round(t["tmax"].values.astype(float), 1),
            }
        )
        head = (
            f"# station_id: {station_id(region.spec.name)}\n"
            f"# name: {region.spec.name} demo weather station\n"
            f"# latitude: {region.spec.lat:.5f}\n# longitude: {region.spec.lon:.5f}\n"
            f"# elevation_m: {elev:.1f}\n# time: daily, local calendar day\n"
        )
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
    outer = StudyGrid(
        region=grid.region,
        epsg=grid.epsg,
        x0=float(x0),
        y0=float(y0),
        width=width,
        height=height,
        resolution=resolution,
    )
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
        write_cog(
            path,
            dem,
            outer,
            ["elevation"],
            tags={
                "VERTICAL_DATUM": VERTICAL_DATUM,
                "VERTICAL_CRS": VERTICAL_CRS,
                "VERTICAL_UNITS": "metre",
                "SOURCE": "soilsat demo world (synthetic DEM)",
            },
            band_tags=[{"units": "m", "long_name": "height above the WGS 84 ellipsoid"}],
        )
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
        profile = dict(
            driver="GTiff",
            width=grid.width,
            height=grid.height,
            count=1,
            dtype="int16",
            crs=grid.crs,
            transform=grid.transform,
            nodata=LANDCOVER_NODATA,
            compress="DEFLATE",
            tiled=True,
            blockxsize=256,
            blockysize=256,
        )
        with atomic_path(path) as tmp:
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(codes, 1)
                dst.set_band_description(1, "landcover")
                dst.update_tags(
                    CLASSIFICATION="CORINE Land Cover level 3 (CLC2018 codes)",
                    RESOLUTION_NOTE="10 m on the study grid, parcel-exact (see soilsat.demo.ancillary)",
                    SOURCE="soilsat demo world",
                )
                dst.update_tags(1, **{f"CLASS_{k}": v for k, v in CORINE.items()})
        out.append(_entry("landcover", path, dir, region.spec.name))
    return out


def base_saturation(clay: np.ndarray, climate: str) -> np.ndarray:
    """A plausible base saturation (%): leached sandy soils low, semi-arid clayey soils high."""
    offset = {"humid": 25.0, "semiarid": 62.0}.get(climate, 40.0)
    return np.clip(offset + 1.1 * clay, 5.0, 100.0)


@dataclasses.dataclass(frozen=True)
class SoilType:
    """A soil's topsoil (0-30 cm) attributes as HWSD lists them: texture and organic carbon, % weight."""

    clay: float
    silt: float
    sand: float
    organic_carbon: float


# Dominant soils a demo mapping unit may carry, with representative topsoil values.
SOIL_TYPES = {
    "Haplic Arenosol": SoilType(3.0, 7.0, 90.0, 0.5),
    "Haplic Podzol": SoilType(4.0, 14.0, 82.0, 1.8),
    "Dystric Cambisol": SoilType(9.0, 24.0, 67.0, 1.3),
    "Haplic Luvisol": SoilType(17.0, 43.0, 40.0, 1.0),
    "Calcaric Cambisol": SoilType(23.0, 35.0, 42.0, 0.8),
    "Chromic Luvisol": SoilType(27.0, 20.0, 53.0, 0.7),
    "Eutric Gleysol": SoilType(26.0, 50.0, 24.0, 2.4),
    "Calcic Luvisol": SoilType(31.0, 30.0, 39.0, 0.6),
    "Eutric Vertisol": SoilType(46.0, 32.0, 22.0, 0.9),
}


@dataclasses.dataclass(frozen=True)
class SoilMap:
    """A region's HWSD-like soil map: mapping units on a 30 arc-second grid and each unit's dominant soil."""

    grid: StudyGrid  # EPSG:4326, SOIL_CELL_DEG cells on HWSD's global lattice
    units: np.ndarray  # (y, x) mapping-unit index of every cell
    soils: tuple[str, ...]  # the dominant soil (a SOIL_TYPES key) of each unit
    climate: str

    def bands(self) -> np.ndarray:
        """The (band, y, x) float stack clay, silt, sand, organic_carbon, base_saturation of the map."""
        table = np.array([unit_attributes(SOIL_TYPES[name], self.climate) for name in self.soils])
        return np.moveaxis(table[self.units], -1, 0)


def soil_grid(grid: StudyGrid) -> StudyGrid:
    """The 30 arc-second cells (HWSD's global lattice) covering a study grid plus SOIL_BUFFER_CELLS on every side."""
    west, south, east, north = grid.lonlat_bounds()
    cells = 1.0 / SOIL_CELL_DEG
    col0 = int(np.floor(west * cells)) - SOIL_BUFFER_CELLS
    col1 = int(np.ceil(east * cells)) + SOIL_BUFFER_CELLS
    row0 = int(np.ceil(north * cells)) + SOIL_BUFFER_CELLS
    row1 = int(np.floor(south * cells)) - SOIL_BUFFER_CELLS
    return StudyGrid(
        region=grid.region,
        epsg=4326,
        x0=col0 / cells,
        y0=row0 / cells,
        width=col1 - col0,
        height=row0 - row1,
        resolution=SOIL_CELL_DEG,
    )


def pixel_cells(grid: StudyGrid, soil: StudyGrid) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the soil cell holding each study pixel's centre, as two (y, x) arrays."""
    lon, lat = grid.lonlat()
    rows = np.floor((soil.y0 - lat) / soil.resolution).astype(int)
    cols = np.floor((lon - soil.x0) / soil.resolution).astype(int)
    return rows, cols


def soil_units(rng: np.random.Generator, grid: StudyGrid, soil: StudyGrid) -> np.ndarray:
    """Mapping units of the soil cells: Voronoi cells of random seeds in the study grid, one per SOIL_UNIT_AREA_M2."""
    left, bottom, right, top = grid.bounds
    count = int(np.clip(round((right - left) * (top - bottom) / SOIL_UNIT_AREA_M2), 2, SOIL_UNITS_MAX))
    seeds = rng.uniform([left, bottom], [right, top], size=(count, 2))
    lon, lat = np.meshgrid(soil.x_coords(), soil.y_coords())
    x, y = grid.to_grid_crs(lon.ravel(), lat.ravel())
    _, unit = cKDTree(seeds).query(np.column_stack([x, y]))
    return unit.reshape(soil.shape).astype(np.int32)


def dominant_soil(clay: np.ndarray, sand: np.ndarray) -> str:
    """The soil type whose texture is nearest the median texture of a unit's pixels."""
    median = np.array([np.median(clay), np.median(sand)])
    distance = {name: np.hypot(*(median - [t.clay, t.sand])) for name, t in SOIL_TYPES.items()}
    return min(distance, key=distance.__getitem__)


def unit_attributes(soil: SoilType, climate: str) -> tuple[float, float, float, float, float]:
    """A unit's clay, silt, sand, organic carbon and base saturation: its dominant soil's, clay biased by CLAY_BIAS."""
    clay = soil.clay + CLAY_BIAS
    sand = soil.sand - CLAY_BIAS
    return clay, soil.silt, sand, soil.organic_carbon, float(base_saturation(np.array(clay), climate))


def soil_map(region: RegionWorld) -> SoilMap:
    """The HWSD-like soil map of one region of the demo world."""
    t = region.truth
    clay, sand = t["clay"].values, t["sand"].values
    rng = np.random.default_rng(
        [SOIL_SEED, zlib.crc32(region.spec.name.encode()), zlib.crc32(np.ascontiguousarray(clay).tobytes())]
    )
    soil = soil_grid(region.grid)
    units = soil_units(rng, region.grid, soil)
    rows, cols = pixel_cells(region.grid, soil)
    pixel_unit = units[rows, cols]
    soils = []
    for k in range(int(units.max()) + 1):
        inside = pixel_unit == k
        # A unit only in the buffer around the grid takes the region's dominant soil.
        soils.append(dominant_soil(clay[inside], sand[inside]) if inside.any() else dominant_soil(clay, sand))
    return SoilMap(grid=soil, units=units, soils=tuple(soils), climate=region.spec.climate)


def write_soil(world: list[RegionWorld], dir: Path) -> list[dict]:
    """One HWSD-like 30 arc-second soil raster per region (EPSG:4326); returns index entries."""
    dir = Path(dir)
    out = []
    for region in world:
        soil = soil_map(region)
        path = dir / f"soil_{region.spec.name}.tif"
        units = ["% weight", "% weight", "% weight", "% weight", "%"]
        write_cog(
            path,
            soil.bands(),
            soil.grid,
            ["clay", "silt", "sand", "organic_carbon", "base_saturation"],
            tags={
                "SOURCE": "soilsat demo world (HWSD-v1.2-like topsoil, 0-30 cm, dominant soil per unit)",
                "RESOLUTION": "30 arc-seconds",
                "MAPPING_UNITS": "; ".join(f"{k}: {name}" for k, name in enumerate(soil.soils)),
            },
            band_tags=[{"units": u} for u in units],
        )
        out.append(_entry("soil", path, dir, region.spec.name))
    return out


def _country(lon: float, lat: float) -> str:
    """A NUTS-0 code for the demo regions (coarse boxes; 'EU' elsewhere)."""
    boxes = {
        "DK": (8.0, 54.5, 15.3, 57.8),
        "ES": (-9.4, 36.0, 3.4, 43.8),
        "FR": (-4.8, 42.3, 8.2, 51.1),
        "DE": (5.9, 47.3, 15.0, 55.1),
        "PT": (-9.6, 36.9, -6.2, 42.2),
        "IT": (6.6, 36.6, 18.6, 47.1),
    }
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
        ph = np.clip(
            np.where(region.spec.climate == "semiarid", 7.6, 5.8) + 0.03 * s["clay"].to_numpy() + rng.normal(0, 0.3, n),
            3.5,
            9.5,
        )
        frames.append(
            pd.DataFrame(
                {
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
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, lineterminator="\n")
    return [_entry("lucas", path, root)]
