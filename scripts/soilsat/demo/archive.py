"""Write the demo world as a local archive in genuine formats, with its truth beside it."""

from __future__ import annotations

import logging
import multiprocessing
import os
from pathlib import Path

import pandas as pd
import xarray as xr

from soilsat.cf_netcdf import open_dataset, write_netcdf
from soilsat.demo import ancillary, ismn, reference_products, sentinel1, sentinel2
from soilsat.demo.world import RegionWorld, WorldSpec, default_workers, make_world, sentinel1_schedule

log = logging.getLogger(__name__)

# Versions of the soil-moisture products the demo world writes: CSM's reprocessing and the ESA CCI SM version
# of the thesis (config ecv_sm.version's default).
CSM_VERSION = "V1.1.1"
ECV_SM_VERSION = "05.2"

INDEX_COLUMNS = [
    "source",
    "name",
    "path",
    "product_type",
    "platform",
    "sensing_start",
    "sensing_stop",
    "orbit_direction",
    "relative_orbit",
    "absolute_orbit",
    "tile",
    "processing_baseline",
    "cloud_cover",
    "footprint_wkt",
    "regions",
    "size",
    "md5",
]


def write_truth(world: list[RegionWorld], truth_dir: Path) -> None:
    """Store each region's truth as NetCDF and the probe and sample tables as CSV."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    for region in world:
        encoding = {name: {"zlib": True, "complevel": 1} for name in region.truth.data_vars}
        encoding["sm"] = {
            "zlib": True,
            "complevel": 1,
            "dtype": "int16",
            "scale_factor": 1e-4,
            "_FillValue": -32768,
            "chunksizes": (1,) + region.grid.shape,
        }
        write_netcdf(region.truth, truth_dir / f"{region.spec.name}.nc", encoding)
    pd.concat([r.probes for r in world]).to_csv(truth_dir / "probes.csv", index=False)
    pd.concat([r.samples for r in world]).to_csv(truth_dir / "samples.csv", index=False)


def open_truth(truth_dir: str | os.PathLike, region: str) -> xr.Dataset:
    """Open one region's stored truth."""
    return open_dataset(Path(truth_dir) / f"{region}.nc")


def build_archive(
    spec: WorldSpec,
    archive_dir: Path,
    truth_dir: Path,
    sentinel2_levels: tuple[str, ...] = ("L2A", "L1C"),
    workers: int | None = None,
) -> pd.DataFrame:
    """Generate the world and write every product and table of the demo archive (Sentinel-2 at the given levels).

    `workers` processes write the Sentinel-1 and Sentinel-2 products (default: up to 2 CPUs).
    """
    if workers is None:
        workers = default_workers()
    archive_dir.mkdir(parents=True, exist_ok=True)
    log.info("generating the demo world: %d regions, %s to %s", len(spec.regions), spec.start, spec.end)
    world = make_world(spec, workers)
    truth_writer = _start_truth_writer(world, truth_dir) if workers > 1 else None
    if truth_writer is None:
        write_truth(world, truth_dir)
    try:
        index = _write_items(world, spec, archive_dir, truth_dir, sentinel2_levels, workers)
    except BaseException:
        if truth_writer is not None:
            truth_writer.terminate()
            truth_writer.join()
        raise
    if truth_writer is not None:
        truth_writer.join()
        if truth_writer.exitcode != 0:
            raise RuntimeError(
                f"writing the demo truth into {truth_dir} failed (exit code {truth_writer.exitcode}; "
                "its traceback is above)"
            )
    log.info("demo archive complete: %d items in %s", len(index), archive_dir)
    return index


def _write_items(
    world: list[RegionWorld],
    spec: WorldSpec,
    archive_dir: Path,
    truth_dir: Path,
    sentinel2_levels: tuple[str, ...],
    workers: int,
) -> pd.DataFrame:
    """Write the products and tables of the archive and its index."""
    rows: list[dict] = []
    log.info("writing Sentinel-1 GRD products")
    rows += sentinel1.write_products(world, spec, archive_dir, truth_dir, workers=workers)
    log.info("wrote %d Sentinel-1 products; writing Sentinel-2 products", len(rows))
    n = len(rows)
    rows += sentinel2.write_products(world, spec, archive_dir, truth_dir, levels=sentinel2_levels, workers=workers)
    log.info("wrote %d Sentinel-2 products; writing probes, weather and maps", len(rows) - n)
    rows.append(
        ismn.write_ismn_archive(world, spec, archive_dir / "ismn" / "demo_ismn_header_values.zip")
        | {"path": "ismn/demo_ismn_header_values.zip"}
    )
    rows += ancillary.write_weather(world, archive_dir)
    rows += ancillary.write_dem(world, archive_dir)
    rows += ancillary.write_landcover(world, archive_dir)
    rows += ancillary.write_soil(world, archive_dir)
    rows += ancillary.write_lucas(world, archive_dir)
    log.info("writing the soil-moisture products CSM and ECV_SM")
    rows += reference_products.write_csm(world, sentinel1_schedule(spec), archive_dir, CSM_VERSION, spec.seed)
    rows += reference_products.write_ecv_sm(world, archive_dir, ECV_SM_VERSION, spec.seed)
    index = pd.DataFrame(rows)
    if "region" in index:
        index["regions"] = index.pop("region")
    index = index.reindex(columns=INDEX_COLUMNS)
    index.to_csv(archive_dir / "index.csv", index=False)
    return index


def _start_truth_writer(world: list[RegionWorld], truth_dir: Path) -> multiprocessing.process.BaseProcess:
    """Write the truth in a forked process while the products are written: NetCDF compression is
    serial, and the product writers never read the truth files."""
    process = multiprocessing.get_context("fork").Process(
        target=write_truth, args=(world, truth_dir), name="demo-truth"
    )
    process.start()
    return process
