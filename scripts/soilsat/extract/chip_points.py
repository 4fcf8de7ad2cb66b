"""The points of a point study on chips: every LUCAS point itself (not only those inside a region grid), each with
its chip in its own UTM zone (soilsat.chips), a region label and the batch of points one job reads.

A point inside a configured region keeps that region's name as its label (validation strata and maps by region
read it); any other point is labelled by its UTM zone (utm32n, utm21s). `row` and `col` are the point's pixel in
its chip. Batches are runs of `points_per_job` points ordered by UTM zone, then by the 100 km square of the zone
that holds the chip (about a Sentinel-2 tile), then by point id: a job's points share tiles, so the headers of a
tile's files are fetched once for several points, and a point keeps its batch while the point set stays the same.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from soilsat.chips import ChipShape, centre_pixel, chip_grids, chip_shape
from soilsat.grid import StudyGrid

log = logging.getLogger(__name__)

POINT_COLUMNS = ("point_id", "lon", "lat", "region", "row", "col", "epsg", "batch")
SQUARE_M = 100_000.0  # the side of the squares of a UTM zone that order the batches (a Sentinel-2 tile is 109.8 km)


def point_chip_shape(halo_m: float, mask_dilation_px: int, resolution: float) -> ChipShape:
    """The chip of every point: its pixel, widened by the resampling halo and Sentinel-2's mask dilation."""
    return chip_shape(1, [float(halo_m), float(mask_dilation_px) * float(resolution)], resolution)


def zone_label(epsg: int) -> str:
    """A UTM zone's label from its EPSG code: 32632 -> utm32n, 32721 -> utm21s."""
    if not (32601 <= epsg <= 32660 or 32701 <= epsg <= 32760):
        raise ValueError(f"EPSG:{epsg} is not a WGS 84 UTM zone")
    return f"utm{epsg % 100:02d}{'n' if epsg < 32700 else 's'}"


def region_labels(points: pd.DataFrame, grids: Mapping[str, StudyGrid], epsg: pd.Series) -> list[str]:
    """Each point's region: the first configured region grid holding it, else its UTM zone."""
    labels = [zone_label(int(e)) for e in epsg]
    for name, grid in grids.items():
        x, y = grid.to_grid_crs(points["lon"].to_numpy(), points["lat"].to_numpy())
        for i in [i for i, inside in enumerate(grid.contains(x, y)) if inside]:
            if labels[i].startswith("utm"):
                labels[i] = name
    return labels


def chip_points(
    samples: pd.DataFrame, grids: Mapping[str, StudyGrid], shape: ChipShape, points_per_job: int
) -> pd.DataFrame:
    """The points table of the chip route: the samples (point_id, lon, lat and their other columns) with POINT_COLUMNS
    added; ValueError naming a point given twice or without coordinates."""
    if points_per_job < 1:
        raise ValueError(f"chips.points_per_job must be at least 1, got {points_per_job}")
    table = samples.assign(point_id=samples["point_id"].astype(str))
    missing = table.loc[table["lon"].isna() | table["lat"].isna(), "point_id"].tolist()
    if missing:
        raise ValueError(f"points without coordinates: {', '.join(missing[:5])}")
    chips = chip_grids(table["point_id"].tolist(), table["lon"].tolist(), table["lat"].tolist(), shape)
    order = table.assign(
        epsg=[chips[p].epsg for p in table["point_id"]],
        square_x=[chips[p].x0 // SQUARE_M for p in table["point_id"]],
        square_y=[chips[p].y0 // SQUARE_M for p in table["point_id"]],
    ).sort_values(["epsg", "square_x", "square_y", "point_id"], kind="mergesort")
    table = table.loc[order.index].reset_index(drop=True)
    epsg = pd.Series(order["epsg"].to_numpy(), index=table.index)
    row, col = centre_pixel(shape)
    table["region"] = region_labels(table, grids, epsg)
    table["row"], table["col"], table["epsg"] = row, col, epsg
    table["batch"] = table.index // points_per_job
    log.info(
        "%d points in %d UTM zones, %d batches of up to %d points, chips of %d x %d pixels",
        len(table),
        epsg.nunique(),
        table["batch"].nunique(),
        points_per_job,
        shape.side,
        shape.side,
    )
    return table


def read_points(path: str) -> pd.DataFrame:
    """A points table written by chip_points (point ids as text)."""
    table = pd.read_csv(path, dtype={"point_id": str, "region": str})
    missing = [c for c in POINT_COLUMNS if c not in table]
    if missing:
        raise ValueError(f"{path}: not a chip points table (no columns {missing}); rerun rule chip_points")
    return table


def batch_points(points: pd.DataFrame, batch: int) -> pd.DataFrame:
    """The points of one batch; ValueError when it has none."""
    chosen = points[points["batch"] == int(batch)]
    if chosen.empty:
        raise ValueError(f"chip batch {batch} has no points (batches 0 to {int(points['batch'].max())})")
    return chosen.reset_index(drop=True)


def point_chips(points: pd.DataFrame, shape: ChipShape) -> dict[str, StudyGrid]:
    """Every point's chip, by point id."""
    return chip_grids(points["point_id"].tolist(), points["lon"].tolist(), points["lat"].tolist(), shape)
