"""The demo world's climate raster: mean annual temperature and precipitation as WorldClim 2 gives them.

One GeoTIFF per region on the 30 arc-second lattice (WorldClim's 1 km, EPSG:4326) over the study grid and a
buffer, bands `temp` (degC, BIO1) and `preci` (mm per year, BIO12), as a user stacks them for Zhang et al.
(2022, Table 1). A cell's temperature is the climate's mean lowered by the lapse rate over the height of the
cell above the region's base elevation (its pixels' mean height; the region's mean outside the grid); its
precipitation is the climate's expected yearly total, raised by an orographic gain per metre.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soilsat.demo.ancillary import pixel_cells, soil_grid
from soilsat.demo.index_entry import file_entry
from soilsat.demo.world import CLIMATES, RegionWorld
from soilsat.grid import StudyGrid
from soilsat.io import write_cog

LAPSE_K_PER_M = -0.0065
OROGRAPHIC_PER_M = 0.0005
DAYS_PER_YEAR = 365.25


def yearly_precipitation(climate: str) -> float:
    """Expected yearly precipitation (mm) of a demo climate: mean wet-day probability x rain per wet day."""
    c = CLIMATES[climate]
    return DAYS_PER_YEAR * 0.5 * (c["p_wet_winter"] + c["p_wet_summer"]) * c["rain_mm"]


def cell_elevation(region: RegionWorld) -> tuple[np.ndarray, StudyGrid]:
    """Mean height of the study pixels in each 30 arc-second cell (the region's mean where a cell has none)."""
    grid = soil_grid(region.grid)
    rows, cols = pixel_cells(region.grid, grid)
    elevation = region.truth["elevation"].values.astype(np.float64)
    labels = (rows * grid.width + cols).ravel()
    count = np.bincount(labels, minlength=grid.width * grid.height)
    total = np.bincount(labels, weights=elevation.ravel(), minlength=grid.width * grid.height)
    mean = np.where(count > 0, total / np.maximum(count, 1), float(elevation.mean()))
    return mean.reshape(grid.shape), grid


def write_climate(world: list[RegionWorld], dir: Path) -> list[dict]:
    """One WorldClim-like climate raster per region under dir/climate; returns index entries."""
    dir = Path(dir)
    out = []
    for region in world:
        c = CLIMATES[region.spec.climate]
        elevation, grid = cell_elevation(region)
        above = elevation - c["elevation"]
        temp = c["t_mean"] + LAPSE_K_PER_M * above
        preci = yearly_precipitation(region.spec.climate) * (1.0 + OROGRAPHIC_PER_M * above)
        path = dir / "climate" / f"climate_{region.spec.name}.tif"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_cog(
            path,
            np.stack([temp, preci]),
            grid,
            ["temp", "preci"],
            tags={"SOURCE": "soilsat demo world (WorldClim-2-like BIO1 and BIO12)", "RESOLUTION": "30 arc-seconds"},
            band_tags=[{"units": "degC"}, {"units": "mm"}],
        )
        out.append(file_entry("climate", path, dir, region.spec.name))
    return out
