"""The study grid: one UTM grid at fixed resolution per region of a study."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyproj
from affine import Affine


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 / UTM zone containing a point."""
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


@dataclasses.dataclass(frozen=True)
class StudyGrid:
    """A north-up raster grid in a projected CRS; pixel (0, 0) is the top-left one."""

    region: str
    epsg: int
    x0: float
    y0: float
    width: int
    height: int
    resolution: float = 10.0

    @property
    def crs(self) -> str:
        return f"EPSG:{self.epsg}"

    @property
    def transform(self) -> Affine:
        return Affine(self.resolution, 0.0, self.x0, 0.0, -self.resolution, self.y0)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid CRS."""
        return (
            self.x0,
            self.y0 - self.height * self.resolution,
            self.x0 + self.width * self.resolution,
            self.y0,
        )

    def x_coords(self) -> np.ndarray:
        """Pixel-centre easting of each column."""
        return self.x0 + (np.arange(self.width) + 0.5) * self.resolution

    def y_coords(self) -> np.ndarray:
        """Pixel-centre northing of each row."""
        return self.y0 - (np.arange(self.height) + 0.5) * self.resolution

    def rowcol(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the pixels containing projected points (may fall outside)."""
        col = np.floor((np.asarray(x) - self.x0) / self.resolution).astype(int)
        row = np.floor((self.y0 - np.asarray(y)) / self.resolution).astype(int)
        return row, col

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether projected points fall inside the grid."""
        row, col = self.rowcol(x, y)
        return (row >= 0) & (row < self.height) & (col >= 0) & (col < self.width)

    def to_grid_crs(self, lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Project WGS 84 longitudes and latitudes into the grid CRS."""
        t = pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        return t.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))

    def lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """Longitude and latitude of every pixel centre, as (height, width) arrays."""
        xx, yy = np.meshgrid(self.x_coords(), self.y_coords())
        t = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        lon, lat = t.transform(xx, yy)
        return np.asarray(lon), np.asarray(lat)

    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees enclosing the grid."""
        t = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        return t.transform_bounds(*self.bounds, densify_pts=21)

    def footprint_wkt(self) -> str:
        """The grid's outline as a WGS 84 polygon in WKT."""
        w, s, e, n = self.lonlat_bounds()
        return f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def cf_grid_mapping(crs: str) -> dict[str, object]:
    """The attributes of a CF grid-mapping variable for a CRS (with its WKT, as GDAL and rioxarray read it)."""
    parsed = pyproj.CRS.from_user_input(crs)
    return {"long_name": "coordinate reference system", **parsed.to_cf(), "crs_wkt": parsed.to_wkt()}


def region_grid(
    region: str, lon: float, lat: float, size_m: float, margin_m: float, resolution: float = 10.0
) -> StudyGrid:
    """The study grid of a square region of interest centred on (lon, lat), plus a margin."""
    epsg = utm_epsg(lon, lat)
    t = pyproj.Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    cx, cy = t.transform(lon, lat)
    half = size_m / 2.0 + margin_m
    x0 = math.floor((cx - half) / resolution) * resolution
    y0 = math.ceil((cy + half) / resolution) * resolution
    n = int(round(2 * half / resolution))
    return StudyGrid(region=region, epsg=epsg, x0=x0, y0=y0, width=n, height=n, resolution=resolution)


def grid_from_config(region: dict, grid: dict) -> StudyGrid:
    """The study grid of one `regions:` entry under the `grid:` settings of a configuration."""
    return region_grid(
        region["name"], region["lon"], region["lat"], region["size_m"], grid["margin_m"], grid["resolution"]
    )


def coarsened(grid: StudyGrid, resolution: float) -> StudyGrid:
    """The study grid at a coarser pixel size, a whole multiple of its own: same corner, whole pixels only
    (a remainder at the right and bottom is left out); ValueError otherwise."""
    factor = int(round(resolution / grid.resolution))
    if factor < 1 or abs(factor * grid.resolution - resolution) > 1e-6 * resolution:
        raise ValueError(f"{resolution:g} m is not a whole multiple of the grid's {grid.resolution:g} m")
    if grid.width // factor < 1 or grid.height // factor < 1:
        raise ValueError(f"{resolution:g} m pixels are larger than region {grid.region}'s grid")
    return dataclasses.replace(
        grid, width=grid.width // factor, height=grid.height // factor, resolution=grid.resolution * factor
    )
