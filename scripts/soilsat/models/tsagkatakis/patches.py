"""The Tsagkatakis (2021) patches: 4-band tiles of a scene's fine grid with the in-situ values inside them.

A patch is a square tile of a region's fine grid (train.tsagkatakis.patch_size pixels, the paper: 256 x 256
at 1 km, cut down to the region) on one scene: sigma0 VV and VH (dB) and brightness temperatures H and V (K),
the 4 bands of section V-A. It is eligible when at least train.tsagkatakis.min_probes locations (fine pixels)
hold a probe with an in-situ value that day. With it go the SMAP L2 9 km soil moisture of each pixel's cell,
the index of that cell within the patch (the 9 km loss averages the prediction over it), and one entry per
probe: its pixel, location, in-situ value and the SMAP/Sentinel-1 L2 1 km soil moisture of its cell.
The patches dataset is CF NetCDF (datasets/patches.nc), the entries also as a table (patches.parquet).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from soilsat.cf_netcdf import DECIBEL
from soilsat.extract.cf import add_provenance
from soilsat.nasa import ease2
from soilsat.settings import Settings

if TYPE_CHECKING:
    from soilsat.models.tsagkatakis.scenes import FineRegion, Scene

log = logging.getLogger(__name__)

BANDS = ("sigma0_vv_db", "sigma0_vh_db", "tb_h", "tb_v")
BAND_ATTRS = {
    "sigma0_vv_db": {"units": DECIBEL, "long_name": "Sentinel-1 sigma0 VV of the fine pixel"},
    "sigma0_vh_db": {"units": DECIBEL, "long_name": "Sentinel-1 sigma0 VH of the fine pixel"},
    "tb_h": {"units": "K", "long_name": "SMAP L1C brightness temperature H of the fine pixel's 9 km cell"},
    "tb_v": {"units": "K", "long_name": "SMAP L1C brightness temperature V of the fine pixel's 9 km cell"},
}
ENTRY_COLUMNS = ["patch", "probe", "location", "row", "col", "observed", "spl2smap_s"]


@dataclasses.dataclass(frozen=True)
class PatchSettings(Settings):
    """Fine grid, sigma0 source and patches (config train.tsagkatakis)."""

    fine_resolution_m: float
    sigma0_source: str
    patch_size: int
    min_probes: int


@dataclasses.dataclass
class Patches:
    """Every eligible patch: inputs, the 9 km target and cells, and the probe entries."""

    inputs: np.ndarray  # (patch, 4, y, x): BANDS
    target: np.ndarray  # (patch, y, x): SMAP L2 9 km soil moisture of each pixel's cell
    cells: np.ndarray  # (patch, y, x): index of each pixel's 9 km cell within the patch (-1: no input)
    index: pd.DataFrame  # region, time, product, row, col (the patch's corner on the fine grid)
    entries: pd.DataFrame  # ENTRY_COLUMNS: the probes inside each patch

    def probe_grid(self, locations: Sequence[str] | None = None) -> np.ndarray:
        """(patch, y, x) in-situ soil moisture at the probes' pixels (probes of a pixel averaged), NaN elsewhere;
        only at `locations` when given."""
        grid = np.full(self.target.shape, np.nan, dtype=np.float32)
        rows = self.entries if locations is None else self.entries[self.entries["location"].isin(locations)]
        means = rows.groupby(["patch", "row", "col"])["observed"].mean()
        for (patch, row, col), value in means.items():
            grid[patch, row, col] = value
        return grid


def probe_cells(probes: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The M01 cell (rows, cols) of each probe of an in-situ dataset."""
    return ease2.lonlat_to_rowcol(ease2.GRIDS["M01"], probes["lon"].values, probes["lat"].values)


def tile_corners(shape: tuple[int, int], size: int) -> tuple[int, list[tuple[int, int]]]:
    """The tile side (patch_size cut down to the grid) and the corners of the whole tiles covering the grid."""
    tile = min(size, *shape)
    return tile, [(r, c) for r in range(0, shape[0] - tile + 1, tile) for c in range(0, shape[1] - tile + 1, tile)]


def cell_labels(m09: tuple[np.ndarray, np.ndarray], valid: np.ndarray) -> np.ndarray:
    """Each pixel's 9 km cell numbered 0.. within the tile, -1 where the pixel has no input."""
    key = np.where(valid, m09[0] * 10_000 + m09[1], -1)
    _, labels = np.unique(np.where(valid, key, key.max() + 1), return_inverse=True)
    return np.where(valid, labels.reshape(key.shape), -1).astype(np.int32)


def scene_patches(
    scene: Scene, region: FineRegion, probes: xr.Dataset, observed: np.ndarray, settings: PatchSettings
) -> list[dict]:
    """The eligible patches of one scene (`probes`: the region's probes, `observed`: their values that day)."""
    rows = probes["row"].values // region.factor
    cols = probes["col"].values // region.factor
    inside_grid = (rows < region.shape[0]) & (cols < region.shape[1]) & np.isfinite(observed)
    m01_rows, m01_cols = probe_cells(probes)
    baseline = scene.baseline(m01_rows, m01_cols)
    stack = np.stack([scene.sigma0_vv, scene.sigma0_vh, scene.tb_h, scene.tb_v]).astype(np.float32)
    valid = np.asarray(np.isfinite(stack).all(axis=0))
    tile, corners = tile_corners(region.shape, settings.patch_size)
    found = []
    for row0, col0 in corners:
        here = inside_grid & (rows >= row0) & (rows < row0 + tile) & (cols >= col0) & (cols < col0 + tile)
        locations = {(r, c) for r, c in zip(rows[here], cols[here])}
        if len(locations) < settings.min_probes:
            continue
        window = (slice(row0, row0 + tile), slice(col0, col0 + tile))
        entries = pd.DataFrame(
            {
                "probe": probes["probe"].values[here].astype(str),
                "location": [f"{region.name}:{r}:{c}" for r, c in zip(rows[here], cols[here])],
                "row": rows[here] - row0,
                "col": cols[here] - col0,
                "observed": observed[here],
                "spl2smap_s": baseline[here],
            }
        )
        found.append(
            {
                "region": region.name,
                "time": scene.time,
                "product": scene.product,
                "row": row0,
                "col": col0,
                "inputs": stack[(slice(None), *window)],
                "target": scene.smap_l2_sm[window].astype(np.float32),
                "cells": cell_labels((scene.m09[0][window], scene.m09[1][window]), valid[window]),
                "entries": entries,
            }
        )
    return found


def region_patches(
    scenes: Sequence[Scene], region: FineRegion, probes: xr.Dataset, settings: PatchSettings
) -> list[dict]:
    """The eligible patches of a region's scenes; a scene without an in-situ day is logged and skipped."""
    mine = probes.isel(probe=np.flatnonzero(probes["region"].values == region.name))
    days = mine["time"].to_index()
    found = []
    for scene in scenes:
        if scene.region != region.name:
            continue
        day = pd.Timestamp(scene.time).normalize()
        if day not in days:
            log.info("%s over %s: no in-situ day %s; skipped", scene.product, region.name, f"{day:%Y-%m-%d}")
            continue
        observed = mine["ssm"].sel(time=day).values
        found += scene_patches(scene, region, mine, observed, settings)
    return found


def stack_patches(found: Sequence[dict]) -> Patches:
    """Patches of equal size stacked into arrays."""
    if not found:
        raise ValueError(
            "no eligible patches: no tile holds train.tsagkatakis.min_probes probe locations with an in-situ value "
            "on a Sentinel-1 date with a SMAP pass"
        )
    shapes = {p["inputs"].shape for p in found}
    if len(shapes) > 1:
        raise ValueError(
            f"patches differ in size across regions ({sorted(shapes)}); set train.tsagkatakis.patch_size "
            "no larger than the smallest region's fine grid"
        )
    entries = pd.concat([p["entries"].assign(patch=i) for i, p in enumerate(found)], ignore_index=True)
    return Patches(
        inputs=np.stack([p["inputs"] for p in found]),
        target=np.stack([p["target"] for p in found]),
        cells=np.stack([p["cells"] for p in found]),
        index=pd.DataFrame([{k: p[k] for k in ("region", "time", "product", "row", "col")} for p in found]),
        entries=entries[ENTRY_COLUMNS],
    )


def patches_dataset(patches: Patches, fine_resolution_m: float, config_hash: str, products: Mapping) -> xr.Dataset:
    """The patches as a CF dataset: (patch, y, x) inputs, target and cells; the probe entries along `entry`."""
    dims = ("patch", "y", "x")
    data: dict[str, tuple] = {band: (dims, patches.inputs[:, i], BAND_ATTRS[band]) for i, band in enumerate(BANDS)} | {
        "smap_l2_sm": (
            dims,
            patches.target,
            {"units": "m3 m-3", "long_name": "SMAP L2 9 km soil moisture of the fine pixel's cell"},
        ),
        "coarse_cell": (
            dims,
            patches.cells,
            {"units": "1", "long_name": "index of the fine pixel's 9 km cell within the patch (-1: no input)"},
        ),
    }
    e = patches.entries
    data |= {
        "entry_patch": (
            "entry",
            e["patch"].to_numpy(np.int32),
            {"units": "1", "long_name": "patch of the probe entry"},
        ),
        "entry_row": (
            "entry",
            e["row"].to_numpy(np.int32),
            {"units": "1", "long_name": "row of the probe's pixel in the patch"},
        ),
        "entry_col": (
            "entry",
            e["col"].to_numpy(np.int32),
            {"units": "1", "long_name": "column of the probe's pixel in the patch"},
        ),
        "observed": (
            "entry",
            e["observed"].to_numpy(np.float32),
            {"units": "m3 m-3", "long_name": "in-situ soil moisture, daily mean"},
        ),
        "spl2smap_s": (
            "entry",
            e["spl2smap_s"].to_numpy(np.float32),
            {"units": "m3 m-3", "long_name": "SMAP/Sentinel-1 L2 1 km soil moisture of the probe's cell"},
        ),
    }
    index = patches.index
    coords = {
        "entry_probe": ("entry", e["probe"].to_numpy(str), {"long_name": "probe site of the entry"}),
        "entry_location": ("entry", e["location"].to_numpy(str), {"long_name": "region and fine pixel of the probe"}),
        "patch_region": ("patch", index["region"].to_numpy(str), {"long_name": "region of the patch"}),
        "patch_time": ("patch", pd.to_datetime(index["time"]).to_numpy(), {"long_name": "Sentinel-1 acquisition time"}),
        "patch_product": ("patch", index["product"].to_numpy(str), {"long_name": "product of the sigma0"}),
        "patch_row": (
            "patch",
            index["row"].to_numpy(np.int32),
            {"units": "1", "long_name": "first row of the patch on the fine grid"},
        ),
        "patch_col": (
            "patch",
            index["col"].to_numpy(np.int32),
            {"units": "1", "long_name": "first column of the patch on the fine grid"},
        ),
    }
    dataset = xr.Dataset(
        data,
        coords=coords,
        attrs={"title": "soilsat fusion patches (Tsagkatakis 2021)", "fine_resolution_m": float(fine_resolution_m)},
    )
    return add_provenance(dataset, config_hash, products)


def read_patches(dataset: xr.Dataset) -> Patches:
    """The Patches of a dataset written by patches_dataset."""
    inputs = np.stack([dataset[band].values for band in BANDS], axis=1).astype(np.float32)
    index = pd.DataFrame(
        {
            "region": dataset["patch_region"].values.astype(str),
            "time": pd.to_datetime(dataset["patch_time"].values),
            "product": dataset["patch_product"].values.astype(str),
            "row": dataset["patch_row"].values.astype(int),
            "col": dataset["patch_col"].values.astype(int),
        }
    )
    entries = pd.DataFrame(
        {
            "patch": dataset["entry_patch"].values.astype(int),
            "probe": dataset["entry_probe"].values.astype(str),
            "location": dataset["entry_location"].values.astype(str),
            "row": dataset["entry_row"].values.astype(int),
            "col": dataset["entry_col"].values.astype(int),
            "observed": dataset["observed"].values.astype(float),
            "spl2smap_s": dataset["spl2smap_s"].values.astype(float),
        }
    )
    return Patches(
        inputs=inputs,
        target=dataset["smap_l2_sm"].values.astype(np.float32),
        cells=dataset["coarse_cell"].values.astype(np.int32),
        index=index,
        entries=entries[ENTRY_COLUMNS],
    )


def entry_table(patches: Patches) -> pd.DataFrame:
    """The probe entries with their patch's region, time and product (patches.parquet)."""
    meta = patches.index.iloc[patches.entries["patch"]].reset_index(drop=True)
    return pd.concat([meta[["region", "time", "product"]], patches.entries.reset_index(drop=True)], axis=1)
