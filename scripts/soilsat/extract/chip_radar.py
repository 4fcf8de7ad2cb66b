"""Sentinel-1 at the points of one batch, from their chips read by byte ranges: for each point's bare-soil
Sentinel-2 observations, the GRD product over the point closest in time within `sentinel1_pair_days` (the
pairing of soilsat.extract.samples), run through the study's chain on the point's chip (soilsat.sar.chip_reads),
and its VV/VH backscatter at the point's pixel, with what each point-observation cost on the wire."""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from rasterio.warp import transform_bounds

from soilsat.chips import ChipShape, centre_pixel
from soilsat.extract.chip_dem import ChipDem, read_chip_dem
from soilsat.extract.chip_items import item_time
from soilsat.extract.chip_optical import COST_COLUMNS
from soilsat.extract.chip_points import point_chips
from soilsat.extract.pairing import RADAR_COLUMNS, closest_positions, usable_rows
from soilsat.grid import StudyGrid
from soilsat.optical.chip_observations import item_bytes
from soilsat.remote_files import S3Archive
from soilsat.sar import graph
from soilsat.sar.bands import backscatter_bands
from soilsat.sar.chip_reads import s1_chips
from soilsat.sar.dem import declared_nodata
from soilsat.sar.engine import ChainSpec, chain_spec
from soilsat.stac.search import matches

log = logging.getLogger(__name__)


def _safe_folder(href: str) -> str | None:
    """The SAFE folder an href is or lies in (a path component ending in .SAFE, in any case, other than the
    manifest.safe file), else None."""
    parts = href.rstrip("/").split("/")
    for k in range(len(parts) - 1, -1, -1):
        name = parts[k]
        if name.upper().endswith(".SAFE") and name.lower() != "manifest.safe" and len(name) > len(".SAFE"):
            return "/".join(parts[: k + 1])
    return None


def safe_href(item: Mapping) -> str:
    """The href of a GRD item's SAFE folder: an asset that is the folder (href ending in .SAFE), else the folder of an
    asset inside it (CDSE's items list the SAFE's files, manifest.safe among them); ValueError naming the item."""
    hrefs = [str(asset.get("href") or "") for asset in (item.get("assets") or {}).values()]
    for href in hrefs:
        folder = _safe_folder(href)
        if folder is not None:
            return folder
    raise ValueError(
        f"STAC item {item.get('id', '?')}: no asset is a SAFE folder or a file in one (an href with .SAFE), "
        f"assets {sorted(item.get('assets') or {})}"
    )


def radar_requests(
    optical: pd.DataFrame, items: Sequence[Mapping], points: pd.DataFrame, pair_days: float
) -> dict[str, list[str]]:
    """The points to read from each item (by id): for every clear bare-soil optical row of a point, the item over the
    point closest in time within `pair_days`, as pair_observations will pair them."""
    names = points["point_id"].astype(str).tolist()
    held = matches(items, names, list(zip(points["lon"].astype(float), points["lat"].astype(float))))
    times = {str(i["id"]): item_time(i) for i in items}
    over: dict[str, list[str]] = {}
    for item_id, holders in held.items():
        for point in holders:
            over.setdefault(point, []).append(item_id)
    wanted: dict[str, set[str]] = {}
    for point, rows in usable_rows(optical).groupby(optical["point_id"].astype(str)):
        candidates = sorted(over.get(str(point), []), key=lambda i: times[i])
        found = closest_positions(
            np.array([times[i] for i in candidates], dtype="datetime64[ns]"),
            np.sort(rows["time"].to_numpy(dtype="datetime64[ns]")),
            pair_days,
        )
        for position in set(found) - {-1}:
            wanted.setdefault(candidates[position], set()).add(str(point))
    order = {n: i for i, n in enumerate(names)}
    return {i: sorted(wanted[i], key=order.__getitem__) for i in times if i in wanted}


@functools.lru_cache(maxsize=64)
def _dem_bounds(path: str) -> tuple[str, tuple[float, float, float, float]]:
    """A DEM file's CRS and bounds."""
    with rasterio.open(path) as src:
        return src.crs.to_string(), tuple(src.bounds)


def dem_covering(chip: StudyGrid, paths: Sequence[str | os.PathLike]) -> Path:
    """The first DEM file whose extent covers the chip; ValueError naming the chip and the files."""
    for path in paths:
        crs, (left, bottom, right, top) = _dem_bounds(str(path))
        x0, y0, x1, y1 = transform_bounds(chip.crs, crs, *chip.bounds, densify_pts=5)
        if left <= x0 and x1 <= right and bottom <= y0 and y1 <= top:
            return Path(path)
    raise ValueError(
        f"chip {chip.region}: none of the {len(paths)} DEM files ({', '.join(Path(p).name for p in paths[:5])}) "
        "covers it; the terrain correction of its Sentinel-1 chips needs a DEM over the point"
    )


class PointDems:
    """Each point's DEM: the first study DEM file covering its chip, else (with the `dem` settings) its own, read by
    byte ranges from the Copernicus DEM tiles into `folder`, once per point; its cost is handed out once."""

    def __init__(self, files: Sequence[str | os.PathLike], settings: Mapping | None, folder: str | os.PathLike):
        self.files, self.settings, self.folder = list(files), settings, Path(folder)
        self.read: dict[str, ChipDem] = {}
        self.charged: set[str] = set()

    def path(self, point: str, chip: StudyGrid) -> Path:
        """The DEM file of a point's chip; ValueError when no file covers it and no `dem` settings are given."""
        if point in self.read:
            return self.read[point].path
        try:
            return dem_covering(chip, self.files)
        except ValueError:
            if self.settings is None:
                raise
        self.read[point] = read_chip_dem(self.settings, chip, self.folder)
        return self.read[point].path

    def cost(self, point: str) -> tuple[int, int]:
        """(bytes, ranges) of the point's DEM reads not yet charged to an observation of it."""
        if point not in self.read or point in self.charged:
            return 0, 0
        self.charged.add(point)
        return self.read[point].bytes_read, self.read[point].remote_reads


def chip_chain(href: str, chip: StudyGrid, dem: Path, sentinel1: Mapping) -> ChainSpec:
    """The chain settings of the study's graph (config section sentinel1) for one product on one chip."""
    xml = graph.build_graph(href, f"{chip.region}.tif", chip, dem, sentinel1, declared_nodata(dem))
    where = f"the graph of {href} on chip {chip.region}"
    return chain_spec(graph.parse_graph(xml, where), xml, where)


def radar_point_values(
    items: Sequence[Mapping],
    wanted: Mapping[str, Sequence[str]],
    points: pd.DataFrame,
    shape: ChipShape,
    sentinel1: Mapping,
    dems: Sequence[str | os.PathLike],
    s3: S3Archive | None = None,
    environ: Mapping[str, str] | None = None,
    dem_settings: Mapping | None = None,
    orbit_files: Mapping[str, Sequence[str | os.PathLike]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, costs): the linear VV/VH (RADAR_COLUMNS) of each wanted point of each item, and COST_COLUMNS. A chip no
    file of `dems` covers gets its DEM by byte ranges (config section `dem` as `dem_settings`; its cost joins the
    point's first observation), else ValueError. Each item's chain applies its `orbit_files` (by item id; Apply-Orbit-
    File takes the annotation orbit for an item without, as the graph's continueOnFail allows)."""
    with tempfile.TemporaryDirectory(prefix="chip_dem_") as folder:
        return _radar_point_values(
            items,
            wanted,
            points,
            shape,
            sentinel1,
            PointDems(dems, dem_settings, folder),
            s3,
            environ,
            orbit_files or {},
        )


def _radar_point_values(
    items: Sequence[Mapping],
    wanted: Mapping[str, Sequence[str]],
    points: pd.DataFrame,
    shape: ChipShape,
    sentinel1: Mapping,
    dems: PointDems,
    s3: S3Archive | None,
    environ: Mapping[str, str] | None,
    orbit_files: Mapping[str, Sequence[str | os.PathLike]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """radar_point_values with each point's DEM from `dems`."""
    chips = point_chips(points, shape)
    row, col = centre_pixel(shape)
    records, costs = [], []
    for item in items:
        item_id = str(item["id"])
        if item_id not in wanted:
            continue
        href = safe_href(item)
        names = list(wanted[item_id])
        specs = [(chip_chain(href, chips[p], dems.path(p, chips[p]), sentinel1), chips[p]) for p in names]
        for point, chip in zip(names, s1_chips(href, specs, s3, environ, orbit_files.get(item_id, ()))):
            vv, vh = backscatter_bands([str(v) for v in chip.data_vars], ("VV", "VH"))
            when = pd.Timestamp(str(chip.attrs["sensing_start"]))
            when = when.tz_localize(None) if when.tzinfo else when
            records.append((point, when, item_id, chip[vv].values[row, col], chip[vh].values[row, col]))
            dem_bytes, dem_reads = dems.cost(point)
            costs.append(
                (
                    "sentinel1",
                    point,
                    item_id,
                    when,
                    chip.attrs["bytes_read"] + dem_bytes,
                    chip.attrs["remote_reads"] + dem_reads,
                    item_bytes(item),
                )
            )
    values = pd.DataFrame(records, columns=list(RADAR_COLUMNS))
    for pol in ("VV", "VH"):
        values[pol] = values[pol].astype(np.float32)
    table = pd.DataFrame(costs, columns=list(COST_COLUMNS))
    log.info("%d Sentinel-1 point-observations, %d bytes read", len(values), int(table["bytes_read"].sum()))
    return values, table
