"""Rule chips_sentinel1: the Sentinel-1 VV/VH at one batch's points, from the chip of the product closest in time to
each bare-soil Sentinel-2 observation (read by byte ranges, run through the study's chain), and the bytes each
point-observation cost (a rehearsal's from the demo chip archive, served on a loopback HTTP server)."""

from pathlib import Path

import pandas as pd

from soilsat.demo.chip_archive import served_items
from soilsat.extract.chip_items import read_items, s3_archive
from soilsat.extract.chip_points import batch_points, point_chip_shape, read_points
from soilsat.extract.chip_radar import radar_point_values, radar_requests
from soilsat.extract.pairing import SampleSettings, usable_chips
from soilsat.io import atomic_path
from soilsat.logs import to_file
from soilsat.sar.engine import set_threads

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    set_threads(snakemake.threads)
    points = batch_points(read_points(snakemake.input.points), int(snakemake.wildcards.batch))
    shape = point_chip_shape(params.chips["halo_m"], params.mask_dilation_px, params.resolution)
    settings = SampleSettings.from_config(params.samples)
    optical = usable_chips(pd.read_parquet(snakemake.input.optical), params.min_valid_fraction)
    dems = sorted(str(p) for p in Path(snakemake.input.dem).glob("*.tif"))
    with served_items(read_items(snakemake.input.catalog), snakemake.input.get("served")) as items:
        wanted = radar_requests(optical, items, points, settings.sentinel1_pair_days)
        values, costs = radar_point_values(
            items,
            wanted,
            points,
            shape,
            params.sentinel1,
            dems,
            s3=s3_archive(params.chips["s3"]),
            dem_settings=params.dem,
        )
    with atomic_path(snakemake.output.values) as tmp:
        values.to_parquet(tmp, index=False)
    with atomic_path(snakemake.output.costs) as tmp:
        costs.to_csv(tmp, index=False)
    log.info(
        "batch %s: %d Sentinel-1 point-observations from %d items", snakemake.wildcards.batch, len(values), len(wanted)
    )
