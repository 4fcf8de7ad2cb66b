"""The yearly MODIS covariates of Zhang et al. (2022) on a covariate grid: MCD12Q2 phenology and MOD09GA mean EVI.

Each covariate pixel takes the 500 m MODIS pixel its centre falls in; a region over two sinusoidal tiles takes
each pixel from the first tile that has a value there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from soilsat.extract.covariates import EVI_MEAN, METRICS, PHENOLOGY
from soilsat.extract.granules import of_region
from soilsat.grid import StudyGrid
from soilsat.nasa import mcd12q2, mod09ga, modis_grid

log = logging.getLogger(__name__)


def tile_of(name: str) -> str:
    """The sinusoidal tile of a MODIS granule name (MCD12Q2.A2011001.h28v06.061....)."""
    return name.split(".")[2]


def merged(fields: Sequence[np.ndarray]) -> np.ndarray:
    """Fields of several tiles on one grid: each pixel from the first tile that has a value there."""
    out = np.full(fields[0].shape, np.nan, dtype=np.float32)
    for field in fields:
        out = np.where(np.isnan(out), field, out)
    return out


def modis_year(phenology: pd.DataFrame, reflectance: pd.DataFrame, grid: StudyGrid, year: int) -> np.ndarray:
    """(metric, y, x) of one year: MCD12Q2 cycle 1 and the mean cloud-free MOD09GA EVI, tile by tile."""
    out = np.full((len(METRICS), *grid.shape), np.nan, dtype=np.float32)
    files = phenology[phenology["start"].dt.year == year]
    if files.empty:
        log.warning("no MCD12Q2 granule of %d over region %s", year, grid.region)
    fields: dict[str, list[np.ndarray]] = {name: [] for name in PHENOLOGY}
    for path in files["path"]:
        data = mcd12q2.read_phenology(path)
        for name in PHENOLOGY:
            fields[name].append(modis_grid.to_study_grid(data[name], grid))
    for i, name in enumerate(PHENOLOGY):
        if fields[name]:
            out[i] = merged(fields[name])
    days = reflectance[reflectance["start"].dt.year == year]
    means = [
        modis_grid.to_study_grid(mod09ga.yearly_mean_evi(list(tile_files["path"]))[EVI_MEAN], grid)
        for _, tile_files in days.groupby(days["name"].map(tile_of))
    ]
    if means:
        out[-1] = merged(means)
    else:
        log.warning("no MOD09GA granule of %d over region %s", year, grid.region)
    return out


def modis_series(
    phenology: pd.DataFrame, reflectance: pd.DataFrame, grid: StudyGrid, years: Sequence[int]
) -> np.ndarray:
    """(year, metric, y, x) of the MODIS granules of a region (tables of soilsat.extract.granules.fetched)."""
    mine, days = of_region(phenology, grid.region), of_region(reflectance, grid.region)
    return np.stack([modis_year(mine, days, grid, year) for year in years])
