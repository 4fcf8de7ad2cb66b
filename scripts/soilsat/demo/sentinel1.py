"""Sentinel-1 IW GRDH dual-polarisation SAFE products of the demo world, with their sigma0 truth.

Each scheduled pass of a region becomes one product: the pass is simulated (:mod:`soilsat.demo.sentinel1_pass`:
geometry on the DEM and the image formed from the truth), written as a zipped SAFE
(:mod:`soilsat.demo.sentinel1_safe`), and its noise-free sigma0 is kept as a truth COG on the study grid (in
the hilly region also its gamma0 and local incidence angle).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from soilsat.demo.sentinel1_pass import (
    SPECKLE_SEED_STREAM,
    PassGeometry,
    build_geometry,
    form_image,
    truth_gamma0,
    truth_sigma0,
)
from soilsat.demo.sentinel1_safe import PLATFORM, footprint_corners, product_files, product_info, write_zip
from soilsat.demo.world import RegionWorld, WorldSpec, default_workers, sentinel1_schedule
from soilsat.io import write_cog

log = logging.getLogger(__name__)


def write_product(
    region: RegionWorld,
    g: PassGeometry,
    row: pd.Series,
    index: int,
    spec: WorldSpec,
    archive_dir: Path,
    truth_dir: Path,
) -> dict:
    """Write one SAFE zip and its truth COG; return its catalogue record."""
    day = pd.Timestamp(row["date"]).normalize()
    info = product_info(g, day, int(row["relative_orbit"]), index)
    name = info.name
    truth = truth_sigma0(region, day, g.grid_incidence)
    rng = np.random.default_rng([spec.seed, SPECKLE_SEED_STREAM, index])
    dn = form_image(g, region, day, truth, rng, spec.speckle_looks)
    zip_path = Path(archive_dir) / "sentinel1" / f"{name}.zip"
    write_zip(zip_path, name, product_files(info, dn), day)
    data = zip_path.read_bytes()

    layers = [truth["VV"], truth["VH"], g.grid_incidence.astype(np.float32)]
    names = ["sigma0_VV", "sigma0_VH", "incidence_angle"]
    if g.grid_local_incidence is not None:  # the hilly region: the gamma0 terrain flattening recovers
        gamma = truth_gamma0(region, day, g.grid_local_incidence)
        layers += [gamma["VV"], gamma["VH"], g.grid_local_incidence.astype(np.float32)]
        names += ["gamma0_VV", "gamma0_VH", "local_incidence_angle"]
    write_cog(
        Path(truth_dir) / "sentinel1" / f"{name}_{region.spec.name}.tif",
        np.stack(layers),
        region.grid,
        names,
        tags={"product": name, "date": day.date().isoformat(), "orbit_direction": g.direction},
    )

    corners = footprint_corners(g)
    wkt = "POLYGON((" + ",".join(f"{lon:.6f} {lat:.6f}" for lon, lat in corners + corners[:1]) + "))"
    return {
        "source": "sentinel1",
        "name": name,
        "path": f"sentinel1/{name}.zip",
        "product_type": "IW_GRDH_1S",
        "platform": PLATFORM,
        "sensing_start": pd.Timestamp(info.time(g.t_first)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "sensing_stop": pd.Timestamp(info.time(g.t_last)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "orbit_direction": g.direction,
        "relative_orbit": info.relative_orbit,
        "absolute_orbit": info.absolute_orbit,
        "footprint_wkt": wkt,
        "region": region.spec.name,
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
    }


# What the forked workers of write_products share: read-only, set for the duration of one call.
_JOB_CONTEXT: dict = {}


def _one_product(job: tuple[int, dict]) -> dict:
    """Write one scheduled product in a worker; return its catalogue record."""
    index, row = job
    ctx = _JOB_CONTEXT
    region = ctx["regions"][row["region"]]
    geometry = ctx["geometries"][(row["region"], row["direction"])]
    return write_product(
        region, geometry, pd.Series(row), index, ctx["spec"], Path(ctx["archive_dir"]), Path(ctx["truth_dir"])
    )


def write_products(
    world: list[RegionWorld], spec: WorldSpec, archive_dir: Path, truth_dir: Path, workers: int | None = None
) -> list[dict]:
    """Write every scheduled Sentinel-1 product of the demo world; return one catalogue record each.

    `workers` processes (default: up to 2 of the CPUs this process may use) share the products; each
    product draws from its own seeded generator, so the archive does not depend on their number.
    """
    if workers is None:
        workers = default_workers()
    regions = {r.spec.name: r for r in world}
    schedule = sentinel1_schedule(spec)
    geometries: dict[tuple[str, str], PassGeometry] = {}
    for _, row in schedule.iterrows():
        key = (row["region"], row["direction"])
        if key not in geometries:
            geometries[key] = build_geometry(regions[row["region"]], row["direction"], pd.Timestamp(row["date"]))
    jobs = [(int(index), row) for index, row in zip(schedule.index, schedule.to_dict("records"))]
    _JOB_CONTEXT.update(
        regions=regions, geometries=geometries, spec=spec, archive_dir=str(archive_dir), truth_dir=str(truth_dir)
    )
    records = []
    try:
        if workers > 1 and len(jobs) > 1:
            import concurrent.futures as cf
            import multiprocessing as mp

            with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as ex:
                results = ex.map(_one_product, jobs, chunksize=2)
                for record in results:
                    records.append(record)
                    if len(records) % 10 == 0 or len(records) == len(jobs):
                        log.info("Sentinel-1 products written: %d of %d", len(records), len(jobs))
        else:
            for job in jobs:
                records.append(_one_product(job))
                if len(records) % 10 == 0 or len(records) == len(jobs):
                    log.info("Sentinel-1 products written: %d of %d", len(records), len(jobs))
    finally:
        _JOB_CONTEXT.clear()
    return records
