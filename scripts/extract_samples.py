"""Rule extract_samples: bare-soil Sentinel-2 series with paired Sentinel-1 at each LUCAS sample (Tziolas 2020)."""

from pathlib import Path

from soilsat.acquire.tables import read_lucas
from soilsat.extract.cf import write_dataset
from soilsat.extract.samples import (
    bare_soil_observations,
    locate,
    raster_index,
    sample_dataset,
    sample_table,
    usable_optical,
)
from soilsat.grid import grid_from_config
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    grids = {r["name"]: grid_from_config(r, params.grid) for r in params.regions}
    lucas = sorted(Path(snakemake.input.lucas).glob("*.csv"))
    samples = locate(read_lucas(lucas[0]), grids, "point_id")
    log.info("%d LUCAS samples inside the study grids", len(samples))
    sentinel2 = usable_optical(snakemake.input.sentinel2, params.min_valid_fraction)
    observations = bare_soil_observations(
        samples,
        raster_index(sentinel2, "sensing_time"),
        raster_index(snakemake.input.sentinel1, "sensing_start"),
        pair_days=params.samples["sentinel1_pair_days"],
        outlier_sd=params.samples["outlier_sd"],
    )
    dataset = sample_dataset(samples, observations, params.config_hash,
                             {"sentinel1": snakemake.input.sentinel1, "sentinel2": sentinel2})
    write_dataset(dataset, sample_table(dataset), snakemake.output.dataset, snakemake.output.table)
