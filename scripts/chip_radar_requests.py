"""Rule chip_radar_requests: the Sentinel-1 products one batch reads, each with its points: for every clear bare-soil
Sentinel-2 observation of a point, the product over it closest in time within extract.samples.sentinel1_pair_days."""

import json

import pandas as pd

from soilsat.extract.chip_items import read_items
from soilsat.extract.chip_points import batch_points, read_points
from soilsat.extract.chip_radar import radar_requests
from soilsat.extract.pairing import SampleSettings, usable_chips
from soilsat.io import atomic_path
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    points = batch_points(read_points(snakemake.input.points), int(snakemake.wildcards.batch))
    settings = SampleSettings.from_config(params.samples)
    optical = usable_chips(pd.read_parquet(snakemake.input.optical), params.min_valid_fraction)
    wanted = radar_requests(optical, read_items(snakemake.input.catalog), points, settings.sentinel1_pair_days)
    with atomic_path(snakemake.output[0]) as tmp:
        tmp.write_text(json.dumps(wanted, indent=1) + "\n")
    log.info(
        "batch %s: %d Sentinel-1 products for %d point-observations",
        snakemake.wildcards.batch,
        len(wanted),
        sum(len(p) for p in wanted.values()),
    )
