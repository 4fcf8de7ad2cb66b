"""Write the demo world as a local archive in genuine formats, with its truth beside it.

The archive holds what the configuration's methods read: the probe archive, weather, DEM, land-cover, soil and
LUCAS tables always, the Sentinel-1/2 products, the soil-moisture products CSM and ECV_SM, the climate raster
and the NASA products (SMAP, MODIS) only for the methods that read them, and of the expensive ones only the
dates they read: the SMAP half-orbits of the Sentinel-1 days, and MOD09GA on every `mod09ga_every_days`-th day
of each phenology year.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
from collections.abc import Collection, Hashable
from pathlib import Path

import pandas as pd
import xarray as xr

from soilsat.cf_netcdf import open_dataset, write_netcdf
from soilsat.demo import ancillary, climate, ismn, modis, reference_products, sentinel1, sentinel2, smap
from soilsat.demo.world import RegionWorld, WorldSpec, default_workers, make_world, sentinel1_schedule

log = logging.getLogger(__name__)

# Versions of the soil-moisture products the demo world writes: CSM's reprocessing and the ESA CCI SM version
# of the thesis (config ecv_sm.version's default).
CSM_VERSION = "V1.1.1"
ECV_SM_VERSION = "05.2"
# Sources written only for the methods that read them (every other source is always written).
OPTIONAL_SOURCES = frozenset(
    {"sentinel1", "sentinel2", "csm", "ecv_sm", "climate", *smap.SOURCES.values(), *modis.SOURCES.values()}
)
# The demo's SMAP cells average the truth over pixels this far apart (every 50 m), not over every 10 m pixel.
SMAP_SAMPLE_M = 50.0


@dataclasses.dataclass(frozen=True)
class Contents:
    """Which optional sources the archive holds, the years of the MODIS products and the MOD09GA sampling."""

    sources: frozenset[str] = frozenset({"sentinel1", "sentinel2", "csm", "ecv_sm"})
    modis_years: tuple[int, ...] = ()
    mod09ga_every_days: int = 30

    @classmethod
    def of(cls, sources: Collection[str], modis_years: Collection[int] = (), mod09ga_every_days: int = 30) -> Contents:
        """The contents of the sources the methods read (others than the optional ones are ignored)."""
        return cls(frozenset(sources) & OPTIONAL_SOURCES, tuple(sorted(modis_years)), int(mod09ga_every_days))

    def mod09ga_days(self) -> list[pd.Timestamp]:
        """The MOD09GA days: every mod09ga_every_days-th day of each MODIS year from its 1 January."""
        step = f"{self.mod09ga_every_days}D"
        return [d for y in self.modis_years for d in pd.date_range(f"{y}-01-01", f"{y}-12-31", freq=step)]


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
        encoding: dict[Hashable, dict[str, object]] = {
            name: {"zlib": True, "complevel": 1} for name in region.truth.data_vars
        }
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
    contents: Contents | None = None,
) -> pd.DataFrame:
    """Generate the world and write the products and tables of the demo archive (Sentinel-2 at the given levels,
    the optional sources of `contents`, by default the Sentinel products and CSM and ECV_SM).

    `workers` processes write the Sentinel-1 and Sentinel-2 products (default: up to 2 CPUs).
    """
    contents = contents or Contents()
    if workers is None:
        workers = default_workers()
    archive_dir.mkdir(parents=True, exist_ok=True)
    log.info("generating the demo world: %d regions, %s to %s", len(spec.regions), spec.start, spec.end)
    world = make_world(spec, workers)
    truth_writer = _start_truth_writer(world, truth_dir) if workers > 1 else None
    if truth_writer is None:
        write_truth(world, truth_dir)
    try:
        index = _write_items(world, spec, archive_dir, truth_dir, sentinel2_levels, workers, contents)
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
    contents: Contents,
) -> pd.DataFrame:
    """Write the products and tables of the archive and its index."""
    rows: list[dict] = []
    if "sentinel1" in contents.sources:
        log.info("writing Sentinel-1 GRD products")
        rows += sentinel1.write_products(world, spec, archive_dir, truth_dir, workers=workers)
        log.info("wrote %d Sentinel-1 products", len(rows))
    if "sentinel2" in contents.sources:
        n = len(rows)
        rows += sentinel2.write_products(world, spec, archive_dir, truth_dir, levels=sentinel2_levels, workers=workers)
        log.info("wrote %d Sentinel-2 products", len(rows) - n)
    log.info("writing probes, weather and maps")
    rows.append(
        ismn.write_ismn_archive(world, spec, archive_dir / "ismn" / "demo_ismn_header_values.zip")
        | {"path": "ismn/demo_ismn_header_values.zip"}
    )
    rows += ancillary.write_weather(world, archive_dir)
    rows += ancillary.write_dem(world, archive_dir)
    rows += ancillary.write_landcover(world, archive_dir)
    rows += ancillary.write_soil(world, archive_dir)
    rows += ancillary.write_lucas(world, archive_dir)
    if "csm" in contents.sources:
        log.info("writing the soil-moisture product CSM")
        rows += reference_products.write_csm(world, sentinel1_schedule(spec), archive_dir, CSM_VERSION, spec.seed)
    if "ecv_sm" in contents.sources:
        log.info("writing the soil-moisture product ECV_SM")
        rows += reference_products.write_ecv_sm(world, archive_dir, ECV_SM_VERSION, spec.seed)
    if "climate" in contents.sources:
        rows += climate.write_climate(world, archive_dir)
    rows += _write_nasa(world, spec, archive_dir, contents)
    index = pd.DataFrame(rows)
    if "region" in index:
        index["regions"] = index.pop("region")
    index = index.reindex(columns=INDEX_COLUMNS)
    index.to_csv(archive_dir / "index.csv", index=False)
    return index


def _write_nasa(world: list[RegionWorld], spec: WorldSpec, archive_dir: Path, contents: Contents) -> list[dict]:
    """The SMAP and MODIS files of the contents."""
    rows: list[dict] = []
    short_names = [short for short, source in smap.SOURCES.items() if source in contents.sources]
    if short_names:
        log.info("writing SMAP products %s", ", ".join(short_names))
        rows += smap.write_products(
            world, spec, archive_dir, spec.seed, short_names, sentinel1_days_only=True, sample_m=SMAP_SAMPLE_M
        )
    if "mcd12q2" in contents.sources:
        log.info("writing MCD12Q2 for %d years", len(contents.modis_years))
        rows += modis.write_mcd12q2(world, list(contents.modis_years), archive_dir, spec.seed)
    if "mod09ga" in contents.sources:
        days = contents.mod09ga_days()
        log.info("writing MOD09GA on %d days", len(days))
        rows += modis.write_mod09ga(world, days, archive_dir, spec.seed, spec.cloud_fraction)
    return rows


def _start_truth_writer(world: list[RegionWorld], truth_dir: Path) -> multiprocessing.process.BaseProcess:
    """Write the truth in a forked process while the products are written: NetCDF compression is
    serial, and the product writers never read the truth files."""
    process = multiprocessing.get_context("fork").Process(
        target=write_truth, args=(world, truth_dir), name="demo-truth"
    )
    process.start()
    return process
