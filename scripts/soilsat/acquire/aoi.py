"""The regions of a study as areas of interest: picked by name, as lon/lat rings and bounds with a margin."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from soilsat.errors import ConfigError
from soilsat.grid import region_grid

Bounds = tuple[float, float, float, float]  # (west, south, east, north) in degrees


def regions_named(regions: Sequence[Mapping], names: Sequence[str]) -> list[Mapping]:
    """The configs of the named regions, in the order named; ConfigError listing the names not configured."""
    known = {r["name"]: r for r in regions}
    missing = [n for n in names if n not in known]
    if missing:
        raise ConfigError(f"config key regions: no region named {missing}")
    return [known[n] for n in names]


def aoi_polygon(lon: float, lat: float, size_m: float, margin_m: float = 0.0) -> list[tuple[float, float]]:
    """Closed lon/lat ring of the square AOI (plus margin) around a centre, on a local spherical approximation."""
    half = size_m / 2 + margin_m
    dlat = half / 111_320.0
    dlon = half / (111_320.0 * max(math.cos(math.radians(lat)), 1e-6))
    ring = [(lon - dlon, lat - dlat), (lon + dlon, lat - dlat), (lon + dlon, lat + dlat), (lon - dlon, lat + dlat)]
    return ring + ring[:1]


def _size_m(region: Mapping) -> float:
    """The side of a region's AOI in metres; the schema's default (5000) for a region built without the schema."""
    return region.get("size_m", 5000)


def region_polygon(region: Mapping, margin_m: float) -> list[tuple[float, float]]:
    """Closed lon/lat ring of a region's AOI plus margin."""
    return aoi_polygon(region["lon"], region["lat"], _size_m(region), margin_m)


def aoi_bounds(region: Mapping, margin_m: float) -> Bounds:
    """(west, south, east, north) in degrees of a region's AOI plus margin."""
    ring = region_polygon(region, margin_m)
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def grid_bounds(region: Mapping, margin_m: float) -> Bounds:
    """(west, south, east, north) in degrees of a region's study grid (AOI plus margin, snapped to the grid)."""
    grid = region_grid(region["name"], region["lon"], region["lat"], _size_m(region), margin_m)
    return grid.lonlat_bounds()
