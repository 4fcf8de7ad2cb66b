"""Rule extract_windows: static covariate windows and yearly phenology at each LUCAS sample (Zhang 2022)."""

from pathlib import Path

from soilsat.acquire.tables import read_lucas
from soilsat.extract.cf import write_dataset
from soilsat.extract.samples import (
    covariate_windows,
    locate,
    raster_index,
    window_dataset,
    window_table,
    usable_optical,
    yearly_phenology,
)
from soilsat.grid import grid_from_config
from soilsat.logs import to_file

with to_file(snakemake.log[0]) as log:
    params = snakemake.params
    grids = {r["name"]: grid_from_config(r, params.grid) for r in params.regions}
    samples = locate(read_lucas(sorted(Path(snakemake.input.lucas).glob("*.csv"))[0]), grids, "point_id")
    sentinel2 = usable_optical(snakemake.input.sentinel2, params.min_valid_fraction)
    windows = covariate_windows(dict(zip(grids, snakemake.input.static)), samples, params.windows["size"])
    yearly = yearly_phenology(samples, raster_index(sentinel2, "sensing_time"))
    dataset = window_dataset(samples, windows, yearly, params.config_hash, {"sentinel2": sentinel2})
    write_dataset(dataset, window_table(dataset), snakemake.output.dataset, snakemake.output.table)
    log.info("window dataset: %d samples, %d x %d windows of %d covariates, %d years of phenology",
             dataset.sizes["sample"], dataset.sizes["wy"], dataset.sizes["wx"], dataset.sizes["covariate"], dataset.sizes["year"])
