"""Points on the study grids: the region, row and column of each probe or sample."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from soilsat.grid import StudyGrid

log = logging.getLogger(__name__)


def locate(points: pd.DataFrame, grids: Mapping[str, StudyGrid], id_column: str) -> pd.DataFrame:
    """Region, row and column of each point; points outside every grid are logged and dropped."""
    located = []
    for grid in grids.values():
        x, y = grid.to_grid_crs(points["lon"].to_numpy(), points["lat"].to_numpy())
        inside = grid.contains(x, y)
        row, col = grid.rowcol(x, y)
        part = points.loc[inside].copy()
        part["region"] = grid.region
        part["row"] = row[inside]
        part["col"] = col[inside]
        located.append(part)
    out = pd.concat(located, ignore_index=True).drop_duplicates(id_column)
    outside = sorted(set(points[id_column].astype(str)) - set(out[id_column].astype(str)))
    if outside:
        log.warning("%d points outside every region's study grid, excluded: %s", len(outside), ", ".join(outside))
    return out.sort_values(id_column).reset_index(drop=True)
