"""Rule chips_sentinel1: the Sentinel-1 VV/VH at one batch's points, from the chip of the product closest in time to
each bare-soil Sentinel-2 observation (the batch's requests; read by byte ranges, run through the study's chain with
the product's orbit file where one was fetched), and the bytes each point-observation cost (a rehearsal's from the
demo chip archive, served on a loopback HTTP server)."""

import json
from pathlib import Path

from soilsat.demo.chip_archive import served_items
from soilsat.extract.chip_items import read_items, s3_archive
from soilsat.extract.chip_points import batch_points, point_chip_shape, read_points
from soilsat.extract.chip_radar import radar_point_values
from soilsat.io import atomic_path
from soilsat.logs import to_file
from soilsat.sar.engine import set_threads

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    set_threads(snakemake.threads)
    points = batch_points(read_points(snakemake.input.points), int(snakemake.wildcards.batch))
    shape = point_chip_shape(params.chips["halo_m"], params.mask_dilation_px, params.resolution)
    wanted = json.loads(Path(snakemake.input.requests).read_text())
    orbits = {Path(path).stem: [path] for path in snakemake.input.get("orbits", [])}
    dems = sorted(str(p) for p in Path(snakemake.input.dem).glob("*.tif"))
    with served_items(read_items(snakemake.input.catalog), snakemake.input.get("served")) as items:
        values, costs = radar_point_values(
            items,
            wanted,
            points,
            shape,
            params.sentinel1,
            dems,
            s3=s3_archive(params.chips["s3"]),
            dem_settings=params.dem,
            orbit_files=orbits,
        )
    with atomic_path(snakemake.output.values) as tmp:
        values.to_parquet(tmp, index=False)
    with atomic_path(snakemake.output.costs) as tmp:
        costs.to_csv(tmp, index=False)
    log.info(
        "batch %s: %d Sentinel-1 point-observations from %d items", snakemake.wildcards.batch, len(values), len(wanted)
    )
