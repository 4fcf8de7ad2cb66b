"""Observation chips: a small study grid around each point of a point study, in the point's UTM zone.

A chip is what a point study reads instead of a region grid: the k x k window its models take
around the point's pixel, widened on every side by the halos of the filters that run on it
(Lee sigma's window, terrain correction's sampling support), in grid pixels. Chips lie on the
same pixel lattice as region grids (corners on whole multiples of the resolution in the UTM
zone), so a chip's pixels are the pixels a region grid over the point would have.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pyproj

from soilsat.grid import StudyGrid, utm_epsg


@dataclasses.dataclass(frozen=True)
class ChipShape:
    """The size of every chip of a study: the models' k x k window and the halo (grid pixels) on each side."""

    window: int
    halo: int
    resolution: float

    def __post_init__(self) -> None:
        if self.window < 1 or self.window % 2 == 0:
            raise ValueError(f"chip window must be an odd positive number of pixels, got {self.window}")
        if self.halo < 0:
            raise ValueError(f"chip halo must be >= 0 pixels, got {self.halo}")
        if not self.resolution > 0:
            raise ValueError(f"chip resolution must be positive, got {self.resolution}")

    @property
    def side(self) -> int:
        """Pixels along each side of a chip."""
        return self.window + 2 * self.halo

    @property
    def half(self) -> int:
        """Pixels between the point's pixel and a chip's edge."""
        return self.side // 2


def halo_pixels(halos_m: Iterable[float], resolution: float) -> int:
    """The grid pixels that cover the filters' halos (metres each, applied one after the other)."""
    total = sum(float(h) for h in halos_m)
    if total < 0:
        raise ValueError(f"halos must be >= 0 m, got {total:g} m in all")
    return int(math.ceil(total / resolution - 1e-9))


def chip_shape(window: int, halos_m: Sequence[float], resolution: float) -> ChipShape:
    """The chip of models taking `window` x `window` pixels after filters with halos `halos_m` (m) each."""
    return ChipShape(window=int(window), halo=halo_pixels(halos_m, resolution), resolution=float(resolution))


def chip_grid(name: str, lon: float, lat: float, shape: ChipShape) -> StudyGrid:
    """The chip of one point: `shape.side` pixels square in its UTM zone, the point in the centre pixel."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError(f"point {name}: ({lon}, {lat}) is not a longitude and latitude in degrees")
    epsg = utm_epsg(lon, lat)
    x, y = pyproj.Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    r = shape.resolution
    col, row = math.floor(x / r), math.floor(y / r)
    return StudyGrid(
        region=name,
        epsg=epsg,
        x0=(col - shape.half) * r,
        y0=(row + 1 + shape.half) * r,
        width=shape.side,
        height=shape.side,
        resolution=r,
    )


def chip_grids(
    names: Sequence[str], lon: Sequence[float], lat: Sequence[float], shape: ChipShape
) -> dict[str, StudyGrid]:
    """The chip of every point, by point name; ValueError for a name given twice."""
    if not len(names) == len(lon) == len(lat):
        raise ValueError(f"{len(names)} names for {len(lon)} longitudes and {len(lat)} latitudes")
    twice = sorted(n for n, count in collections.Counter(names).items() if count > 1)
    if twice:
        raise ValueError(f"point names given twice: {', '.join(twice[:5])}")
    return {n: chip_grid(n, float(x), float(y), shape) for n, x, y in zip(names, lon, lat)}


def centre_pixel(shape: ChipShape) -> tuple[int, int]:
    """Row and column of the point's pixel in its chip."""
    return shape.half, shape.half


def window_slices(shape: ChipShape) -> tuple[slice, slice]:
    """Rows and columns of the models' k x k window inside a chip (the chip without its halo)."""
    return slice(shape.halo, shape.halo + shape.window), slice(shape.halo, shape.halo + shape.window)


def point_in_chip(grid: StudyGrid, lon: float, lat: float) -> tuple[int, int]:
    """Row and column of a point's pixel in a chip (may lie outside it)."""
    x, y = grid.to_grid_crs(lon, lat)
    row, col = grid.rowcol(np.atleast_1d(x), np.atleast_1d(y))
    return int(row[0]), int(col[0])
